"""The declared access of every route: the table test_access_table.py checks the app against.

One entry per (method, path template). A new route needs one line here: who may use it
(`roles`), whether it is person-level (`justification`), what a BRISTOL-only key gets
for the out-of-area person (`out`: 404, 403, or None for "answered, their rows left
out"), and how to call it for one side of the register (`call`).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.factories import membership_body, offence_body, person_body
from tests.service.access_register import AS_OF, Register, Side

ALL = frozenset({"admin", "offender_manager", "analyst", "integration"})
PERSON = frozenset({"admin", "offender_manager", "integration"})
IMPORT = frozenset({"admin", "integration"})
ADMIN = frozenset({"admin"})
HIDDEN, REFUSED, OMITTED = 404, 403, None

# Served without a key, so not in the table: the health check, the contract and its docs,
# and static files (the console's stylesheet; /docs/assets is a mount, not a route).
PUBLIC = frozenset({("GET", "/health"), ("GET", "/docs"), ("GET", "/redoc"),
                    ("GET", "/console/static/console.css")})


@dataclass(frozen=True)
class Call:
    """How to call a route: the URL (default: the path itself), query, body, headers."""

    url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    data: dict[str, Any] | None = None  # a form (the console's POSTs)
    headers: dict[str, str] = field(default_factory=dict)


Caller = Callable[[Register, Side], Call]


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    call: Caller
    ok: int = 200
    justification: bool = False
    out: int | None = None
    all_areas_only: bool = False
    console: bool = False
    unjustified: int = 422  # the console: 303 to the purpose form
    anonymous: int | None = None  # with no key or session: default 401 (console: 303)
    # The in-area call's answer to an all-area key names the out-of-area person too (a
    # list that spans areas), so a BRISTOL-only key's answer without them is an omission.
    spans: bool = False


def _fixed(url: str | None = None, **kw: Any) -> Caller:
    return lambda r, s: Call(url, **kw)


def _area(**params: Any) -> Caller:
    return lambda r, s: Call(params={"area": s.area, **params})


SHORTLIST = {"stream": "nsac", "as_of": AS_OF}
DELETE = {"reason": "recorded_in_error"}
V1 = {"If-Match": '"1"'}


def _ndjson(row: Callable[[Side], dict[str, Any]]) -> Caller:
    return lambda r, s: Call(content=(json.dumps(row(s)) + "\n").encode(),
                             headers={"Content-Type": "application/x-ndjson"})


def _ref(n: str) -> dict[str, str]:
    return {"source": "niche", "source_ref": f"TABLE-{n}"}


def _person_rule(path: str, **kw: Any) -> Rule:
    """A person-level read of one of the side's records (404 outside the key's areas)."""
    return Rule(PERSON, lambda r, s: Call(path.format(s=s)), justification=True, out=HIDDEN,
                **kw)


def _delete(path: str) -> Rule:
    return Rule(ADMIN, lambda r, s: Call(path.format(s=s), params=DELETE), ok=204,
                justification=True, out=HIDDEN)


def _patch(path: str, body: dict[str, Any]) -> Rule:
    return Rule(PERSON, lambda r, s: Call(path.format(s=s), json=body, headers=V1),
                out=HIDDEN)


API: dict[tuple[str, str], Rule] = {
    # reference data, the model, metrics: no person, every role
    ("GET", "/areas"): Rule(ALL, _fixed()),
    ("GET", "/streams"): Rule(ALL, _fixed()),
    ("GET", "/catalogue/offence-types"): Rule(ALL, _fixed()),
    ("GET", "/metrics"): Rule(ALL, _fixed()),
    ("GET", "/model"): Rule(ALL, _fixed()),
    ("GET", "/model/candidates"): Rule(ALL, _fixed()),
    ("GET", "/model/train/{job_id}"): Rule(ALL, lambda r, s: Call(
        f"/model/train/{r.training_job}")),
    # the model ranks every area: training, promotion and rollback take an all-areas admin
    ("POST", "/model/train"): Rule(ADMIN, _fixed(), ok=202, all_areas_only=True),
    # no saved version in this register: the role check is what is checked
    ("POST", "/model/{version}/promote"): Rule(ADMIN, _fixed("/model/v-none/promote"),
                                                 ok=404, all_areas_only=True),
    ("POST", "/model/rollback"): Rule(ADMIN, _fixed(), ok=409, all_areas_only=True),
    # a labelled cohort goes in, only figures come out: a BRISTOL-only key's upload matches
    # only BRISTOL people, so a cohort of the out-of-area person alone is, as for a PNC ID
    # not on file, "none of the cohort is on the register" (422), never echoed
    ("POST", "/model/evaluations"): Rule(ADMIN, lambda r, s: Call(
        content=f"pnc_id,assessed_on,reoffended\n{s.pnc},{AS_OF},yes\n".encode(),
        headers={"Content-Type": "text/csv"}), ok=201, out=422),
    ("GET", "/model/evaluations"): Rule(ALL, _fixed()),
    # no evaluation in this register: the role check is what is checked
    ("GET", "/model/evaluations/{evaluation_id}"): Rule(ALL, _fixed("/model/evaluations/999"),
                                                        ok=404),
    # people
    ("POST", "/persons"): Rule(PERSON, lambda r, s: Call(json=person_body(home_area=s.area)),
                               ok=201, out=REFUSED),
    ("GET", "/persons"): Rule(PERSON, _fixed(), justification=True, out=OMITTED,
                              spans=True),
    ("GET", "/persons/{person_id}"): _person_rule("/persons/{s.person}"),
    ("PATCH", "/persons/{person_id}"): _patch("/persons/{s.person}", {"given_name": "Sam"}),
    ("DELETE", "/persons/{person_id}"): _delete("/persons/{s.person}"),
    ("GET", "/persons/{person_id}/areas"): _person_rule("/persons/{s.person}/areas"),
    ("GET", "/persons/{person_id}/score"): _person_rule("/persons/{s.person}/score"),
    ("GET", "/persons/{person_id}/decisions"): _person_rule("/persons/{s.person}/decisions"),
    # offences and custody
    ("POST", "/persons/{person_id}/offences"): Rule(PERSON, lambda r, s: Call(
        f"/persons/{s.person}/offences", json=offence_body(offence_date="2024-02-02")),
        ok=201, out=HIDDEN),
    ("GET", "/persons/{person_id}/offences"): _person_rule("/persons/{s.person}/offences"),
    ("GET", "/persons/{person_id}/offences/{offence_id}"): _person_rule(
        "/persons/{s.person}/offences/{s.offence}"),
    ("PATCH", "/persons/{person_id}/offences/{offence_id}"): _patch(
        "/persons/{s.person}/offences/{s.offence}", {"victim_ref": "V1"}),
    ("DELETE", "/persons/{person_id}/offences/{offence_id}"): _delete(
        "/persons/{s.person}/offences/{s.offence}"),
    ("POST", "/persons/{person_id}/custody"): Rule(PERSON, lambda r, s: Call(
        f"/persons/{s.person}/custody", json={"start_on": "2020-01-01", "end_on": "2020-02-01"}),
        ok=201, out=HIDDEN),
    ("GET", "/persons/{person_id}/custody"): _person_rule("/persons/{s.person}/custody"),
    ("GET", "/persons/{person_id}/custody/{custody_id}"): _person_rule(
        "/persons/{s.person}/custody/{s.custody}"),
    ("PATCH", "/persons/{person_id}/custody/{custody_id}"): _patch(
        "/persons/{s.person}/custody/{s.custody}", {"reason": "remand"}),
    ("DELETE", "/persons/{person_id}/custody/{custody_id}"): _delete(
        "/persons/{s.person}/custody/{s.custody}"),
    # memberships: the out person's is recorded in BRISTOL, and still hidden
    ("POST", "/cohort/memberships"): Rule(PERSON, lambda r, s: Call(json=membership_body(
        s.person, stream="domestic_abuse", cohort="free")), ok=201, out=HIDDEN),
    ("GET", "/cohort/memberships"): Rule(PERSON, _fixed(), justification=True, out=OMITTED,
                                         spans=True),
    ("GET", "/cohort/memberships/{membership_id}"): _person_rule(
        "/cohort/memberships/{s.membership}"),
    ("PATCH", "/cohort/memberships/{membership_id}"): _patch(
        "/cohort/memberships/{s.membership}", {"rag": "red"}),
    ("DELETE", "/cohort/memberships/{membership_id}"): _delete(
        "/cohort/memberships/{s.membership}"),
    # imports: a row about the out person is refused as if they did not exist
    ("POST", "/imports/persons"): Rule(IMPORT, _ndjson(lambda s: {
        "pnc_id": s.pnc, "date_of_birth": "1990-04-01", "home_area": s.area}), out=422),
    ("POST", "/imports/offences"): Rule(IMPORT, _ndjson(lambda s: {
        "pnc_id": s.pnc, "offence_date": "2024-02-01", "offence_type": "other",
        **_ref("1")}), out=422),
    ("POST", "/imports/custody"): Rule(IMPORT, _ndjson(lambda s: {
        "pnc_id": s.pnc, "start_on": "2021-01-01", "end_on": "2021-02-01", **_ref("2")}),
        out=422),
    ("POST", "/imports/memberships"): Rule(IMPORT, _ndjson(lambda s: {
        "pnc_id": s.pnc, "cohort": "free", "stream": "domestic_abuse",
        "adopted_on": "2024-01-01", "area": "BRISTOL", **_ref("3")}), out=422),
    ("POST", "/imports/referrals"): Rule(IMPORT, _ndjson(lambda s: {
        "pnc_id": s.pnc, "referring_agency": "police", "requested_stream": "nsac",
        "reason": "test", "referred_on": "2024-01-01", **_ref("4")}), out=422),
    # scores
    ("POST", "/scores/runs"): Rule(IMPORT, lambda r, s: Call(
        json={"as_of": AS_OF, "area": s.area}), ok=202, out=REFUSED),
    ("GET", "/scores/runs/{run_id}"): Rule(ALL, lambda r, s: Call(f"/scores/runs/{s.run}"),
                                           out=HIDDEN),
    ("GET", "/scores"): Rule(PERSON, _area(), justification=True, out=REFUSED),
    # administration
    ("POST", "/admin/keys"): Rule(ADMIN, _fixed(json={"name": "new", "role": "analyst"}),
                                  ok=201, all_areas_only=True),
    ("GET", "/admin/keys"): Rule(ADMIN, _fixed(), all_areas_only=True),
    ("POST", "/admin/keys/{key_id}/revoke"): Rule(ADMIN, lambda r, s: Call(
        f"/admin/keys/{r.spare_key}/revoke"), all_areas_only=True),
    ("GET", "/admin/audit"): Rule(ADMIN, _fixed(), all_areas_only=True),
    # console sessions of every area (who, areas, stated purpose): like keys and the audit
    ("GET", "/admin/sessions"): Rule(ADMIN, _fixed(), all_areas_only=True),
    ("DELETE", "/admin/sessions/{session_id}"): Rule(ADMIN, lambda r, s: Call(
        f"/admin/sessions/{r.spare_session}"), all_areas_only=True),
    ("GET", "/admin/retention"): Rule(ADMIN, _fixed(), justification=True, out=OMITTED),
    # reports: aggregate, every role, only for the key's areas
    ("GET", "/reports/idiom"): Rule(ALL, _area(as_of=AS_OF), out=REFUSED),
    ("GET", "/reports/idiom.csv"): Rule(ALL, _area(as_of=AS_OF), out=REFUSED),
    ("GET", "/reports/idiom.xlsx"): Rule(ALL, _area(as_of=AS_OF), out=REFUSED),
    # shortlists: the out person is referred into BRISTOL and a BRISTOL member
    ("GET", "/shortlists/migration"): Rule(PERSON, _area(**SHORTLIST), spans=True,
                                           justification=True, out=REFUSED),
    ("GET", "/shortlists/migration.csv"): Rule(PERSON, _area(**SHORTLIST), spans=True,
                                               justification=True, out=REFUSED),
    ("GET", "/shortlists/migration.xlsx"): Rule(PERSON, _area(**SHORTLIST), spans=True,
                                                justification=True, out=REFUSED),
    ("GET", "/shortlists/migration/counts"): Rule(ALL, _area(**SHORTLIST), out=REFUSED),
    ("GET", "/shortlists/exits"): Rule(PERSON, _area(**SHORTLIST), justification=True,
                                       out=REFUSED),
    ("GET", "/shortlists/exits.csv"): Rule(PERSON, _area(**SHORTLIST), justification=True,
                                           out=REFUSED),
    ("GET", "/shortlists/exits.xlsx"): Rule(PERSON, _area(**SHORTLIST), justification=True,
                                            out=REFUSED),
    # referrals, meetings, decisions
    ("POST", "/referrals"): Rule(PERSON, lambda r, s: Call(json={
        "person_id": s.person, "referring_agency": "probation", "reason": "test",
        "requested_stream": "domestic_abuse", "referred_on": "2024-06-02"}), ok=201,
        out=HIDDEN),
    ("GET", "/referrals"): Rule(PERSON, _fixed(), justification=True, out=OMITTED,
                                spans=True),
    ("GET", "/referrals/{referral_id}"): _person_rule("/referrals/{s.referral}"),
    ("PATCH", "/referrals/{referral_id}"): _patch(
        "/referrals/{s.referral}", {"status": "withdrawn", "reason": "moved away"}),
    ("DELETE", "/referrals/{referral_id}"): _delete("/referrals/{s.referral}"),
    ("GET", "/meetings"): Rule(PERSON, _fixed(), out=OMITTED),
    ("POST", "/meetings"): Rule(PERSON, lambda r, s: Call(json={
        "area": s.area, "held_on": "2024-08-01"}), ok=201, out=REFUSED),
    ("GET", "/meetings/{meeting_id}"): Rule(PERSON, lambda r, s: Call(
        f"/meetings/{s.meeting}"), out=HIDDEN),
    # the BRISTOL meeting, about either person
    ("POST", "/meetings/{meeting_id}/decisions"): Rule(PERSON, lambda r, s: Call(
        f"/meetings/{r.sides['in'].meeting}/decisions", json={
            "person_id": s.person, "decision": "decline", "stream": "nsac",
            "rationale": "not now"}), ok=201, out=HIDDEN),
    # the side's own meeting: BRISTOL's lists both people's decisions
    ("GET", "/meetings/{meeting_id}/decisions"): _person_rule(
        "/meetings/{s.meeting}/decisions", spans=True),
    # the change feed
    ("GET", "/changes"): Rule(PERSON, _fixed(), justification=True, out=OMITTED,
                              spans=True),
    ("GET", "/changes/head"): Rule(PERSON, _fixed()),
}


def _console(roles: frozenset[str], call: Caller, **kw: Any) -> Rule:
    return Rule(roles, call, console=True, **{"unjustified": 303, **kw})


def _page(path: str, **params: Any) -> Caller:
    return lambda r, s: Call(path.format(s=s), params={
        k: v.format(s=s) if isinstance(v, str) else v for k, v in params.items()})


# The console signs in to a server-side session (service/console/session.py); a person-level
# page in a session with no stated purpose yet sends the browser (303) to the purpose form.
# Single sign-on is not configured here: its two routes are 404 to everyone (tests/console/
# test_sso.py runs them against a real provider).
NO_SSO = {"ok": 404, "anonymous": 404}
CONSOLE: dict[tuple[str, str], Rule] = {
    ("GET", "/console"): _console(ALL, _fixed(), ok=303, anonymous=303),
    ("GET", "/console/sign-in"): _console(ALL, _fixed(), anonymous=200),
    ("POST", "/console/sign-in"): _console(ALL, lambda r, s: Call(
        data={"api_key": r.keys["analyst", "all"]}), ok=303, anonymous=303),
    ("GET", "/console/sign-in/oidc"): _console(ALL, _fixed(), **NO_SSO),
    ("GET", "/console/sign-in/callback"): _console(ALL, _fixed(
        params={"code": "c", "state": "s"}), **NO_SSO),
    ("POST", "/console/sign-out"): _console(ALL, _fixed(data={}), ok=303, anonymous=303),
    ("GET", "/console/signed-out"): _console(ALL, _fixed(), anonymous=200),
    ("GET", "/console/purpose"): _console(ALL, _fixed()),
    ("POST", "/console/purpose"): _console(ALL, _fixed(data={"purpose": "case review"}),
                                           ok=303),
    ("GET", "/console/report"): _console(ALL, _area(as_of=AS_OF), out=REFUSED),
    ("GET", "/console/report.csv"): _console(ALL, _area(as_of=AS_OF), out=REFUSED),
    ("GET", "/console/model"): _console(ALL, _fixed()),
    ("GET", "/console/persons"): _console(PERSON, _fixed(), justification=True),
    ("POST", "/console/persons"): _console(PERSON, lambda r, s: Call(data={"pnc_id": s.pnc}),
                                           ok=303, justification=True, out=HIDDEN),
    ("GET", "/console/persons/{person_id}"): _console(
        PERSON, _page("/console/persons/{s.person}", as_of=AS_OF), justification=True,
        out=HIDDEN),
    # `show` lists the members (without it, just the filter form)
    ("GET", "/console/cohort"): _console(PERSON, _page("/console/cohort", show="1"),
                                         justification=True, out=OMITTED, spans=True),
    ("GET", "/console/meeting"): _console(PERSON, _page(
        "/console/meeting", area="{s.area}", meeting_id="{s.meeting}", **SHORTLIST),
        justification=True, out=REFUSED, spans=True),
    ("GET", "/console/meeting/export"): _console(PERSON, _page(
        "/console/meeting/export", area="{s.area}", kind="migration", format="csv",
        **SHORTLIST), justification=True, out=REFUSED, spans=True),
    ("POST", "/console/meetings"): _console(PERSON, lambda r, s: Call(data={
        "area": s.area, "held_on": "2024-08-01"}), ok=303, out=REFUSED),
    ("POST", "/console/meetings/{meeting_id}/decisions"): _console(PERSON, lambda r, s: Call(
        f"/console/meetings/{r.sides['in'].meeting}/decisions", data={
            "person_id": str(s.person), "decision": "decline", "stream": "nsac",
            "rationale": "not now"}), ok=303, justification=True, out=HIDDEN),
}
