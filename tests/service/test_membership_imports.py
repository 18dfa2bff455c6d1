"""Cohort memberships and referrals imported in bulk: the single-record rules (exits, streams,
areas, dates, no overlap within a stream), idempotence on (source, source_ref), updates."""

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import CohortMembership, Referral
from scoring.uk_calendar import uk_today
from tests.factories import membership_body, pnc_id
from tests.service.import_helpers import (
    NDJSON,
    counts,
    error_locs,
    error_types,
    import_people,
    person_id,
    post,
    to_csv,
    to_ndjson,
)

M_HEADER = ("pnc_id", "cohort", "stream", "area", "adopted_on", "exited_on", "exit_reason",
            "offender_manager", "rag", "source", "source_ref")
R_HEADER = ("pnc_id", "referring_agency", "requested_stream", "reason", "referred_on",
            "ogrs_score", "area", "source", "source_ref")
TOMORROW = (uk_today() + timedelta(days=1)).isoformat()


def member(pnc: str, ref: str, **kw: object) -> list[object]:
    values: dict[str, object] = {
        "pnc_id": pnc, "cohort": "fixed", "stream": "nsac", "area": "BRISTOL",
        "adopted_on": "2023-01-15", "exited_on": None, "exit_reason": None,
        "offender_manager": "OM-BRISTOL-07", "rag": "amber", "source": "iom", "source_ref": ref}
    values.update(kw)
    return [values[c] for c in M_HEADER]


def referral(pnc: str, ref: str, **kw: object) -> list[object]:
    values: dict[str, object] = {
        "pnc_id": pnc, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "persistent acquisitive offending", "referred_on": "2024-02-01",
        "ogrs_score": 75, "area": None, "source": "probation", "source_ref": ref}
    values.update(kw)
    return [values[c] for c in R_HEADER]


def memberships(session: Session) -> list[CohortMembership]:
    return list(session.exec(select(CohortMembership).where(CohortMembership.source == "iom")
                             .order_by(CohortMembership.source_ref)).all())


# --- memberships ----------------------------------------------------------------------------

def test_membership_import_resend_unchanged_and_an_exit_updates(client: TestClient,
                                                               session: Session) -> None:
    a, b = import_people(client)
    rows = [member(a, "M1"),
            member(a, "M2", stream="high_harm", cohort="flex", rag=None),  # another stream
            member(b, "M3", adopted_on="2021-01-01", exited_on="2022-01-01",
                   exit_reason="rehabilitated"),
            member(b, "M4", adopted_on="2022-01-01")]                   # from the day M3 ends
    first = post(client, "memberships", to_csv(M_HEADER, rows))
    assert first.status_code == 200, first.text
    assert first.json() == counts(4, 0, 0, rows=4)
    listed = client.get("/cohort/memberships", params={"person_id": person_id(client, a)})
    assert {m["source_ref"] for m in listed.json()["items"]} == {"M1", "M2"}
    assert post(client, "memberships", to_csv(M_HEADER, rows)).json() == counts(0, 0, 4, rows=4)

    rows[0] = member(a, "M1", exited_on="2024-06-01", exit_reason="no_longer_meets_criteria")
    assert post(client, "memberships", to_csv(M_HEADER, rows)).json() == counts(0, 1, 3, rows=4)
    m1 = memberships(session)[0]
    assert (m1.exited_on, m1.exit_reason, m1.version) == (date(2024, 6, 1),
                                                          "no_longer_meets_criteria", 2)


def test_membership_bad_rows_are_all_listed_and_nothing_is_written(
        client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)  # born 1990-04-01
    pid = person_id(client, a)
    made = client.post("/cohort/memberships", json=membership_body(pid, adopted_on="2015-01-01",
                                                                   stream="domestic_abuse",
                                                                   cohort="free"))
    assert made.status_code == 201, made.text
    rows = [
        member(a, "B1"),                                                  # 2 fine
        member(a, "B2", stream="high_harm", exited_on="2024-01-01"),     # 3 exit, no reason
        member(a, "B3", stream="high_harm", exit_reason="other"),        # 4 reason, no exit
        member(a, "B4", stream="burglary"),                              # 5 unknown stream
        member(a, "B5", stream="high_harm", area="ATLANTIS"),            # 6 unknown area
        member(a, "B6", stream="high_harm", adopted_on="1989-01-01",
               exited_on="1989-02-01", exit_reason="other"),             # 7 before birth
        member(a, "B7", adopted_on="2023-06-01"),                        # 8 overlaps line 2
        member(a, "B8", stream="domestic_abuse", adopted_on="2020-01-01"),  # 9 the API one
        member(a, "B9", stream="high_harm", cohort="fixed-ish"),         # 10 bad cohort
        member(a, "B10", stream="high_harm", adopted_on=TOMORROW),       # 11 future
        member(a, "B11", stream="high_harm", adopted_on="2020-01-01",
               exited_on="2019-01-01", exit_reason="other"),             # 12 exit before
        member(a, "B12", stream="high_harm", rag="purple"),              # 13 bad rag
    ]
    resp = post(client, "memberships", to_csv(M_HEADER, rows))
    assert error_types(resp) == [
        (3, "exit_reason", "value_error"), (4, "exit_reason", "value_error"),
        (5, "stream", "unknown_reference"), (6, "area", "unknown_reference"),
        (7, "adopted_on", "value_error"), (8, "adopted_on", "overlap"),
        (9, "adopted_on", "overlap"), (10, "cohort", "enum"),
        (11, "adopted_on", "value_error"), (12, "exited_on", "value_error"),
        (13, "rag", "enum"),
    ]
    errors = resp.json()["errors"]
    assert errors[5]["msg"] == ("overlaps the membership on line 2 (2023-01-15 to open) in "
                                "the same stream")
    assert errors[6]["msg"] == (f"overlaps membership {made.json()['id']} (2015-01-01 to "
                                "open) in the same stream")
    assert memberships(session) == []


def test_a_resent_membership_cannot_change_stream_or_person(client: TestClient) -> None:
    a, b = import_people(client)
    assert post(client, "memberships", to_csv(M_HEADER, [member(a, "S1")])).status_code == 200
    resp = post(client, "memberships", to_csv(M_HEADER, [member(a, "S1", stream="high_harm"),
                                                         member(b, "S1", source="other")]))
    assert error_types(resp) == [(2, "stream", "conflict")]  # line 3: another key, fine
    assert error_types(post(client, "memberships", to_csv(M_HEADER, [member(b, "S1")]))) == [
        (2, "source_ref", "conflict")]


def test_memberships_by_ndjson_and_person_id(client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)
    pid = person_id(client, a)
    body = to_ndjson([{"person_id": pid, "cohort": "free", "stream": "domestic_abuse",
                       "area": "BANES", "adopted_on": "2024-02-02", "source": "iom",
                       "source_ref": f"N{pid}"}])
    assert post(client, "memberships", body, NDJSON).json() == counts(1, 0, 0, rows=1)
    (stored,) = [m for m in memberships(session) if m.person_id == pid]
    assert (stored.area, stored.offender_manager, stored.rag) == ("BANES", None, None)


# --- referrals ------------------------------------------------------------------------------

def test_referral_import_defaults_the_area_and_resends_unchanged(client: TestClient,
                                                                session: Session) -> None:
    a, b = import_people(client)
    rows = [referral(a, "R1"), referral(b, "R2", area="BANES", ogrs_score=None)]
    first = post(client, "referrals", to_csv(R_HEADER, rows))
    assert first.status_code == 200, first.text
    assert first.json() == counts(2, 0, 0, rows=2)
    got = client.get("/referrals", params={"person_id": person_id(client, a)}).json()["items"]
    assert [(r["area"], r["ogrs_score"], r["status"], r["source_ref"]) for r in got] == [
        ("BRISTOL", 75.0, "open", "R1")]
    assert got[0]["recorded_by"] == "test key"
    assert post(client, "referrals", to_csv(R_HEADER, rows)).json() == counts(0, 0, 2, rows=2)

    # The person moves; the re-sent referral without an area keeps the one it was given.
    pid = person_id(client, a)
    moved = client.patch(f"/persons/{pid}", json={"home_area": "SOUTH_GLOS"},
                         headers={"If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert post(client, "referrals", to_csv(R_HEADER, rows)).json() == counts(0, 0, 2, rows=2)
    rows[0] = referral(a, "R1", reason="now also domestic abuse concerns")
    assert post(client, "referrals", to_csv(R_HEADER, rows)).json() == counts(0, 1, 1, rows=2)
    stored = session.exec(select(Referral).where(Referral.source_ref == "R1")).one()
    assert (stored.area, stored.version, stored.reason) == (
        "BRISTOL", 2, "now also domestic abuse concerns")


def test_referral_bad_rows_are_all_listed(client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)
    rows = [
        referral(a, "F1"),                                  # 2 fine
        referral(a, "F2", requested_stream="nope"),         # 3 unknown stream
        referral(a, "F3", referred_on=TOMORROW),            # 4 future
        referral(a, "F4", referred_on="1980-01-01"),        # 5 before birth
        referral(a, "F5", area="ATLANTIS"),                 # 6 unknown area
        referral(a, "F6", ogrs_score=101),                  # 7 not a percentage
        referral(a, "F7", reason=None),                     # 8 no reason
        referral(pnc_id(), "F8"),                           # 9 unknown person
    ]
    assert error_types(post(client, "referrals", to_csv(R_HEADER, rows))) == [
        (3, "requested_stream", "unknown_reference"), (4, "referred_on", "value_error"),
        (5, "referred_on", "value_error"), (6, "area", "unknown_reference"),
        (7, "ogrs_score", "less_than_equal"), (8, "reason", "missing"),
        (9, "pnc_id", "unknown_person"),
    ]
    assert session.exec(select(Referral).where(Referral.source == "probation")).all() == []


def test_a_decided_or_withdrawn_referral_cannot_be_changed_by_a_resent_row(
        client: TestClient) -> None:
    (a,) = import_people(client, 1)
    assert post(client, "referrals", to_csv(R_HEADER, [referral(a, "W1")])).status_code == 200
    rid = client.get("/referrals", params={"person_id": person_id(client, a)}).json()[
        "items"][0]["id"]
    withdrawn = client.patch(f"/referrals/{rid}", headers={"If-Match": '"1"'},
                             json={"status": "withdrawn", "reason": "moved away"})
    assert withdrawn.status_code == 200, withdrawn.text
    same = post(client, "referrals", to_csv(R_HEADER, [referral(a, "W1")]))
    assert same.json() == counts(0, 0, 1, rows=1)
    changed = post(client, "referrals", to_csv(R_HEADER, [referral(a, "W1", ogrs_score=80)]))
    assert error_locs(changed) == [(2, "source_ref")]
    assert "withdrawn" in changed.json()["errors"][0]["msg"]
