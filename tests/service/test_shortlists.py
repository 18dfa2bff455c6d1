"""Shortlists through HTTP: eligibility, exclusions with reasons, ranking, referrals,
exports equal to the JSON, reproducibility, roles, areas and the audit trail."""

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AuditAction, AuditEvent
from scoring.shortlist import DEFAULT_PATH
from scoring.uk_calendar import uk_today
from service.config import get_settings
from service.exports import (
    CANDIDATE_COLUMNS,
    DECISION_SUPPORT,
    EXCLUDED_COLUMNS,
    EXIT_COLUMNS,
    cell_text,
)
from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body

AS_OF = "2024-06-30"


def offender(client: TestClient, dates: list[str], *, area: str = "BRISTOL",
             offence_type: str = "burglary_residential", dob: str = "1995-01-01",
             **offence: Any) -> int:
    resp = client.post("/persons", json=person_body(home_area=area, date_of_birth=dob))
    assert resp.status_code == 201, resp.text
    pid = int(resp.json()["id"])
    for day in dates:
        resp = client.post(f"/persons/{pid}/offences", json=offence_body(
            offence_date=day, offence_type=offence_type, **offence))
        assert resp.status_code == 201, resp.text
    return pid


def shortlist(client: TestClient, **params: Any) -> dict[str, Any]:
    query = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF, **params}
    resp = client.get("/shortlists/migration", params=query)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def ids(body: dict[str, Any]) -> list[int]:
    return [c["person_id"] for c in body["candidates"]]


def test_eligibility_needs_a_qualifying_offence_in_the_window(client: TestClient) -> None:
    many = offender(client, ["2024-01-10", "2024-03-01", "2024-06-01"])
    one = offender(client, ["2023-02-01"])
    old = offender(client, ["2021-01-10"])  # outside the 24-month look-back
    violent = offender(client, ["2024-05-01"], offence_type="violence_with_injury")
    body = shortlist(client)
    assert ids(body) == [many, one]
    assert old not in ids(body) and violent not in ids(body)
    top = body["candidates"][0]
    assert top["rank"] == 1 and top["pnc_id"] and top["name"] == "Alex Example"
    assert top["age"] == 29 and top["offences_12m"] == 3 and top["last_offence_on"] == "2024-06-01"
    assert top["reasons"][0].startswith("3 neighbourhood-crime offences in the 24 months")
    assert any(r.startswith("score factor:") for r in top["reasons"])
    assert body["criteria"]["rfg_column"] == "rfg_acquisitive"
    assert body["versions"]["shortlist"] and body["model_version"] and body["config_version"]
    high_harm = shortlist(client, stream="high_harm")
    assert ids(high_harm) == [many, violent] or set(ids(high_harm)) >= {violent}
    assert one not in ids(high_harm)  # burglary is not a high-harm offence here


def test_domestic_abuse_stream_needs_flagged_offences(client: TestClient) -> None:
    da = offender(client, ["2024-02-01", "2024-04-01"], offence_type="violence_without_injury",
                  domestic_abuse=True, victim_ref="V1")
    serial = offender(client, ["2024-03-01"], offence_type="violence_without_injury",
                      domestic_abuse=True, victim_ref="V2")
    offender(client, ["2024-03-01"], offence_type="violence_without_injury")
    client.post(f"/persons/{serial}/offences", json=offence_body(
        offence_date="2024-05-01", offence_type="stalking_harassment", domestic_abuse=True,
        victim_ref="V3"))
    body = shortlist(client, stream="domestic_abuse")
    assert set(ids(body)) == {da, serial}
    flags = {c["person_id"]: c["flags"] for c in body["candidates"]}
    assert "serial_perpetrator" in flags[serial] and "serial_perpetrator" not in flags[da]


def test_ranking_and_stable_ties(client: TestClient) -> None:
    a = offender(client, ["2024-05-01"])
    b = offender(client, ["2024-05-01"])  # the same history: the same score as a
    c = offender(client, ["2024-04-01", "2024-05-01", "2024-06-01"])
    for rank_by in ("risk", "rfg"):
        body = shortlist(client, rank_by=rank_by)
        assert ids(body) == [c, a, b]
        assert [x["rank"] for x in body["candidates"]] == [1, 2, 3]
        key = "risk" if rank_by == "risk" else "rfg"
        values = [x[key] for x in body["candidates"]]
        assert values == sorted(values, reverse=True)
    assert ids(shortlist(client, limit=2)) == [c, a]


def test_exclusions_are_listed_with_reasons(client: TestClient) -> None:
    member = offender(client, ["2024-05-01"])
    jailed = offender(client, ["2024-05-01"])
    dead = offender(client, ["2024-05-01"])
    free = offender(client, ["2024-05-01"])
    assert client.post("/cohort/memberships", json=membership_body(member)).status_code == 201
    assert client.post(f"/persons/{jailed}/custody",
                       json={"start_on": "2024-06-10"}).status_code == 201
    assert client.patch(f"/persons/{dead}", json={"deceased_on": "2024-06-15"},
                        headers={"If-Match": '"1"'}).status_code == 200
    body = shortlist(client)
    assert ids(body) == [free]
    why = {e["person_id"]: " | ".join(e["reasons"]) for e in body["excluded"]}
    assert "already an active member of nsac" in why[member]
    assert f"in custody on {AS_OF}" in why[jailed]
    assert "deceased (2024-06-15)" in why[dead]
    # A year earlier none of that had happened yet (memberships adopted 2023-01-15 aside).
    earlier = shortlist(client, as_of="2024-06-05")
    assert set(ids(earlier)) == {jailed, dead, free}


def test_open_referrals_are_listed_whatever_their_score(client: TestClient) -> None:
    scorer = offender(client, ["2024-05-01", "2024-06-01"])
    quiet = offender(client, [])  # no offences at all
    elsewhere = offender(client, ["2024-05-01"], area="BANES")
    for pid in (quiet, elsewhere):
        resp = client.post("/referrals", json={
            "person_id": pid, "referring_agency": "probation", "requested_stream": "nsac",
            "reason": "professional judgement", "referred_on": "2024-06-01",
            "ogrs_score": 80, "area": "BRISTOL"})
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] == "open"
    body = shortlist(client, limit=1)
    assert ids(body) == [scorer, quiet]  # the referral is listed outside the limit
    entry = body["candidates"][1]
    assert entry["referred_by"] == "probation" and "referred" in entry["flags"]
    assert "ogrs_high" in entry["flags"] and "below_criteria" in entry["flags"]
    assert any("professional judgement" in r for r in entry["reasons"])
    other = {e["person_id"]: e for e in body["excluded"]}[elsewhere]
    assert "home area is BANES, not BRISTOL" in other["reasons"]
    assert other["referred_by"] == "probation"
    wider = shortlist(client, include_other_areas="true")
    assert elsewhere in ids(wider)
    # Before the referral date the referral did not exist.
    assert ids(shortlist(client, as_of="2024-05-31")) == [scorer]
    open_list = client.get("/referrals", params={"area": "BRISTOL", "status": "open"}).json()
    assert {r["person_id"] for r in open_list["items"]} == {quiet, elsewhere}


def test_same_as_of_gives_the_same_list(client: TestClient) -> None:
    a = offender(client, ["2024-05-01"])
    b = offender(client, ["2024-03-01", "2024-06-01"])
    before = shortlist(client)
    # Later offending (after as_of) must not change the list for that date.
    client.post(f"/persons/{a}/offences", json=offence_body(offence_date="2024-08-01"))
    client.post(f"/persons/{a}/offences", json=offence_body(offence_date="2024-09-01"))
    after = shortlist(client)
    assert before["candidates"] == after["candidates"] and ids(after) == [b, a]


def read_export(text: str) -> tuple[list[str], pd.DataFrame]:
    """An export's comment lines, and its table as pandas opens it (every cell as text)."""
    notes = [line[2:] for line in text.splitlines() if line.startswith("# ")]
    table = pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False)
    return notes, table


def _section(table: pd.DataFrame, name: str, columns: Any) -> list[list[str]]:
    rows = table[table["section"] == name]
    return rows[[c.key for c in columns]].to_numpy().tolist()


def test_csv_export_equals_the_json(client: TestClient, session: Session) -> None:
    offender(client, ["2024-05-01"])
    offender(client, ["2024-02-01", "2024-06-01"])
    held = offender(client, ["2024-03-01"])
    assert client.post(f"/persons/{held}/custody", json={"start_on": "2024-06-01"}
                       ).status_code == 201
    referred = offender(client, ["2021-01-01"])
    # A '#' and a comma inside a cell must not cut the row short.
    assert client.post("/referrals", json={
        "person_id": referred, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "burglary #3 this year, escalating", "referred_on": "2024-06-01"}
    ).status_code == 201
    body = shortlist(client)
    resp = client.get("/shortlists/migration",
                      params={"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF,
                              "format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    notes, table = read_export(resp.content.decode("utf-8"))
    assert {"Area: BRISTOL", "Stream: nsac", f"As of: {AS_OF}", DECISION_SUPPORT} <= set(notes)
    assert any(n.startswith("Versions: ") for n in notes)
    assert any(n.startswith("Criteria: ") for n in notes)
    assert list(table["section"].unique()) == ["candidates", "excluded"]
    expected = [[cell_text(c.get(col.key), col.kind) for col in CANDIDATE_COLUMNS]
                for c in body["candidates"]]
    assert _section(table, "candidates", CANDIDATE_COLUMNS) == expected
    assert _section(table, "excluded", EXCLUDED_COLUMNS) == [
        [cell_text(e.get(col.key), col.kind) for col in EXCLUDED_COLUMNS]
        for e in body["excluded"]]
    export_id = resp.headers["x-export-id"]
    event = session.exec(select(AuditEvent).where(AuditEvent.export_id == export_id)).one()
    assert event.action == AuditAction.disclosure
    # The file names the excluded people too: they are disclosed as well.
    disclosed = sorted([*ids(body), *(e["person_id"] for e in body["excluded"])])
    assert event.person_ids == disclosed and event.justification == "automated test"


def test_xlsx_export_is_a_workbook_equal_to_the_json(client: TestClient) -> None:
    offender(client, ["2024-05-01"])
    offender(client, ["2024-02-01", "2024-06-01"])
    body = shortlist(client)
    resp = client.get("/shortlists/migration",
                      params={"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF,
                              "format": "xlsx"})
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    ws = wb["Candidates"]
    header = [(r[0], r[1]) for r in ws.iter_rows(min_row=1, max_row=9, max_col=2,
                                                  values_only=True)]
    assert ("Area", "BRISTOL") in header and ("As of", AS_OF) in header
    assert (DECISION_SUPPORT, None) in header
    top = 11
    assert ws.freeze_panes == f"A{top + 1}"
    assert ws.column_dimensions["D"].width == 24
    titles = [c.value for c in ws[top]][: len(CANDIDATE_COLUMNS)]
    assert titles == [c.title for c in CANDIDATE_COLUMNS]
    got = [list(r)[: len(CANDIDATE_COLUMNS)]
           for r in ws.iter_rows(min_row=top + 1, values_only=True)]
    assert len(got) == len(body["candidates"])
    for row, cand in zip(got, body["candidates"], strict=True):
        for value, col in zip(row, CANDIDATE_COLUMNS, strict=True):
            want = cand[col.key]
            if col.kind == "date":
                assert value.date().isoformat() == want  # a real date cell
            elif col.kind == "list":
                assert (value or "") == "; ".join(want)
            else:
                assert value == want, col.key
    assert "Excluded" in wb.sheetnames


def test_exit_review_lists_quiet_members(client: TestClient) -> None:
    quiet = offender(client, ["2022-01-01"])
    busy = offender(client, ["2024-05-01"])
    for pid in (quiet, busy):
        client.post("/cohort/memberships", json=membership_body(pid, adopted_on="2022-06-01"))
    body = client.get("/shortlists/exits", params={"area": "BRISTOL", "stream": "nsac",
                                                   "as_of": AS_OF}).json()
    assert [m["person_id"] for m in body["members"]] == [quiet]
    assert body["members"][0]["reasons"][0].startswith("no offence in the 12 months")
    csv_resp = client.get("/shortlists/exits", params={"area": "BRISTOL", "stream": "nsac",
                                                       "as_of": AS_OF, "format": "csv"})
    assert csv_resp.status_code == 200 and str(quiet) in csv_resp.text


def test_exit_review_exports_equal_the_json_cell_by_cell(client: TestClient) -> None:
    quiet = offender(client, ["2022-01-01"])
    never = offender(client, [])
    for pid in (quiet, never):
        client.post("/cohort/memberships", json=membership_body(pid, adopted_on="2022-02-25"))
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}
    members = client.get("/shortlists/exits", params=params).json()["members"]
    assert [m["adopted_on"] for m in members] == ["2022-02-25", "2022-02-25"]
    resp = client.get("/shortlists/exits", params={**params, "format": "csv"})
    assert resp.status_code == 200
    _, table = read_export(resp.content.decode("utf-8"))
    assert list(table.columns) == ["section", *(c.key for c in EXIT_COLUMNS)]
    assert _section(table, "exit review", EXIT_COLUMNS) == [
        [cell_text(m.get(c.key), c.kind) for c in EXIT_COLUMNS] for m in members]
    resp = client.get("/shortlists/exits", params={**params, "format": "xlsx"})
    assert resp.status_code == 200, resp.text
    ws = load_workbook(io.BytesIO(resp.content))["Exit review"]
    top = next(i for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
               if r[0] == EXIT_COLUMNS[0].title)
    got = [list(r)[: len(EXIT_COLUMNS)] for r in ws.iter_rows(min_row=top + 1, values_only=True)]
    assert len(got) == len(members)
    for row, member in zip(got, members, strict=True):
        for value, col in zip(row, EXIT_COLUMNS, strict=True):
            want = member[col.key]
            if col.kind == "date":
                assert (value.date().isoformat() if value else None) == want, col.key
            elif col.kind == "list":
                assert (value or "") == "; ".join(want), col.key
            else:
                assert value == want, col.key


def test_exit_review_lists_members_serving_long_sentences(client: TestClient) -> None:
    long_term = offender(client, ["2024-05-01"])
    short_term = offender(client, ["2024-05-01"])
    for pid, months in ((long_term, 30), (short_term, 6)):
        client.post("/cohort/memberships", json=membership_body(pid, adopted_on="2024-01-02"))
        resp = client.post(f"/persons/{pid}/custody", json={
            "start_on": "2024-06-01", "reason": "sentence", "sentence_months": months})
        assert resp.status_code == 201 and resp.json()["sentence_months"] == months
    body = client.get("/shortlists/exits", params={"area": "BRISTOL", "stream": "nsac",
                                                   "as_of": AS_OF}).json()
    assert [m["person_id"] for m in body["members"]] == [long_term]
    assert body["members"][0]["flags"] == ["long_custody"]
    assert body["criteria"]["long_sentence_months"] == 24
    bad = client.post(f"/persons/{long_term}/custody",
                      json={"start_on": "2020-01-01", "end_on": "2020-02-01",
                            "sentence_months": 0})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "sentence_months"]


def test_as_recorded_lists_only_what_was_known_by_the_end_of_as_of(client: TestClient) -> None:
    """Everything here is recorded today: unknown at the end of yesterday, known today."""
    today, yesterday = uk_today().isoformat(), (uk_today() - timedelta(days=1)).isoformat()
    pid = offender(client, [(uk_today() - timedelta(days=30)).isoformat()])
    quiet = offender(client, ["2022-01-01"])
    client.post("/cohort/memberships", json=membership_body(quiet, adopted_on="2022-06-01"))
    current = shortlist(client, as_of=yesterday)
    assert pid in ids(current) and current["criteria"]["knowledge"] == "current"
    recorded = shortlist(client, as_of=yesterday, knowledge="as_recorded")
    assert recorded["candidates"] == [] and recorded["criteria"]["knowledge"] == "as_recorded"
    assert pid in ids(shortlist(client, as_of=today, knowledge="as_recorded"))
    counts = client.get("/shortlists/migration/counts", params={
        "area": "BRISTOL", "stream": "nsac", "as_of": yesterday, "knowledge": "as_recorded"})
    assert counts.status_code == 200 and counts.json()["eligible"] == 0
    exits = {k: client.get("/shortlists/exits", params={
        "area": "BRISTOL", "stream": "nsac", "as_of": yesterday, "knowledge": k}).json()
        for k in ("current", "as_recorded")}
    assert quiet in [m["person_id"] for m in exits["current"]["members"]]
    assert exits["as_recorded"]["members"] == []
    assert client.get("/shortlists/migration", params={
        "area": "BRISTOL", "stream": "nsac", "knowledge": "then"}).status_code == 422


def test_roles_and_areas(client: TestClient, anon_client: TestClient,
                         make_key: KeyMaker) -> None:
    offender(client, ["2024-05-01"])
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}
    analyst = {"X-API-Key": make_key("analyst"), "X-Justification": "x"}
    assert anon_client.get("/shortlists/migration", params=params,
                           headers=analyst).status_code == 403
    banes = {"X-API-Key": make_key("offender_manager", areas=["BANES"]), "X-Justification": "x"}
    assert anon_client.get("/shortlists/migration", params=params,
                           headers=banes).status_code == 403
    assert anon_client.get("/shortlists/exits", params=params, headers=banes).status_code == 403
    bristol = {"X-API-Key": make_key("offender_manager", areas=["BRISTOL"]),
               "X-Justification": "x"}
    assert anon_client.get("/shortlists/migration", params=params,
                           headers=bristol).status_code == 200
    no_reason = {"X-API-Key": make_key("offender_manager")}
    assert anon_client.get("/shortlists/migration", params=params,
                           headers=no_reason).status_code == 422
    assert client.get("/shortlists/migration", params={**params, "stream": "nope"}
                      ).status_code == 422
    assert client.get("/shortlists/migration", params={**params, "area": "NOWHERE"}
                      ).status_code == 422


def test_counts_for_every_role_without_person_level_data(
        client: TestClient, anon_client: TestClient, make_key: KeyMaker,
        session: Session) -> None:
    listed = offender(client, ["2024-05-01"])
    offender(client, ["2024-02-01", "2024-06-01"])
    member = offender(client, ["2024-05-01"])
    jailed = offender(client, ["2024-05-01"])
    assert client.post("/cohort/memberships", json=membership_body(member)).status_code == 201
    assert client.post(f"/persons/{jailed}/custody",
                       json={"start_on": "2024-06-10"}).status_code == 201
    quiet = offender(client, [])
    assert client.post("/referrals", json={
        "person_id": quiet, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "professional judgement", "referred_on": "2024-06-01",
        "area": "BRISTOL"}).status_code == 201
    full = shortlist(client, limit=1)
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}
    audited = len(session.exec(select(AuditEvent)).all())
    for role in ("analyst", "offender_manager", "integration", "admin"):
        # No justification header: counts are not a person-level read.
        resp = anon_client.get("/shortlists/migration/counts", params=params,
                               headers={"X-API-Key": make_key(role)})
        assert resp.status_code == 200, (role, resp.text)
        body = resp.json()
        assert body["eligible"] == 3 and body["eligible_on_referral_only"] == 1
        assert body["eligible_on_criteria"] == 2
        assert body["excluded"] == 2 == len(full["excluded"])
        assert body["excluded_by_reason"] == {"active_member": 1, "in_custody": 1,
                                              "deceased": 0, "other_area": 0,
                                              "under_min_age": 0}
        assert body["referrals"] == {"open": 1, "listed": 1, "excluded": 0}
        assert body["versions"] == full["versions"] and "min_offences" in body["criteria"]
        assert "candidates" not in body and "excluded_people" not in body
        text = resp.text
        for pid in (listed, member, jailed, quiet):
            assert f'"person_id":{pid}' not in text and "Alex" not in text
    assert len(session.exec(select(AuditEvent)).all()) == audited  # nothing person-level
    analyst = {"X-API-Key": make_key("analyst"), "X-Justification": "x"}
    assert anon_client.get("/shortlists/migration", params=params,
                           headers=analyst).status_code == 403
    assert anon_client.get("/shortlists/exits", params=params,
                           headers=analyst).status_code == 403
    banes = {"X-API-Key": make_key("analyst", areas=["BANES"])}
    assert anon_client.get("/shortlists/migration/counts", params=params,
                           headers=banes).status_code == 403
    assert anon_client.get("/shortlists/migration/counts", params=params).status_code == 401
    assert client.get("/shortlists/migration/counts",
                      params={**params, "stream": "nope"}).status_code == 422
    # A day before the referral and the custody spell: no referral, nobody in custody.
    earlier = client.get("/shortlists/migration/counts",
                         params={**params, "as_of": "2024-05-31"}).json()
    assert earlier["referrals"]["open"] == 0 and earlier["excluded_by_reason"]["in_custody"] == 0


def test_a_force_can_supply_its_own_shortlist_rules(
        client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    burglar = offender(client, ["2024-05-01"])
    thief = offender(client, ["2024-05-01"], offence_type="shoplifting")
    assert ids(shortlist(client)) == [burglar]
    rules = yaml.safe_load(DEFAULT_PATH.read_text())
    rules["version"] = "test-force-1"
    rules["streams"]["nsac"]["qualifying"] = {"offence_types": ["shoplifting"]}
    path = tmp_path / "our_shortlists.yaml"
    path.write_text(yaml.safe_dump(rules))
    monkeypatch.setenv("SHORTLIST_CONFIG_PATH", str(path))
    get_settings.cache_clear()
    try:
        assert get_settings().shortlist_config_path == path
        body = shortlist(client)
        assert ids(body) == [thief]
        assert body["versions"]["shortlist"] == "test-force-1"
        assert body["criteria"]["qualifying_offence"] == "(shoplifting)"
        counts = client.get("/shortlists/migration/counts", params={
            "area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}).json()
        assert counts["eligible"] == 1 and counts["versions"]["shortlist"] == "test-force-1"
    finally:
        monkeypatch.delenv("SHORTLIST_CONFIG_PATH")
        get_settings.cache_clear()
    assert ids(shortlist(client)) == [burglar]
    assert get_settings().shortlist_config_path == DEFAULT_PATH


def test_children_are_excluded_and_a_transition_referral_is_flagged(client: TestClient) -> None:
    child = offender(client, ["2024-01-10", "2024-03-01"], dob="2008-01-01")   # 16
    nearly = offender(client, ["2024-01-10"], dob="2007-03-01")                # 17
    resp = client.post("/referrals", json={
        "person_id": nearly, "referring_agency": "youth justice", "requested_stream": "nsac",
        "reason": "moving to adult services", "referred_on": "2024-06-01"})
    assert resp.status_code == 201, resp.text
    body = shortlist(client, limit=100)
    assert child not in ids(body)
    young = {e["person_id"]: e for e in body["excluded"]}[child]
    assert young["reason_codes"] == ["under_min_age"]
    assert young["reasons"] == ["aged 16 on 2024-06-30: under the minimum age of 18 for nsac"]
    flagged = {c["person_id"]: c for c in body["candidates"]}[nearly]
    assert "under_min_age_referred" in flagged["flags"] and flagged["age"] == 17
    assert all(c["age"] >= 18 or "under_min_age_referred" in c["flags"]
               for c in body["candidates"])
    counts = client.get("/shortlists/migration/counts", params={
        "area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}).json()
    assert counts["excluded_by_reason"]["under_min_age"] >= 1
