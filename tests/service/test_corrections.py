"""The register changes after it is written: offences corrected, records recorded in error
deleted, referrals withdrawn, and each change shows in what is computed from the register."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AuditAction, AuditEvent
from scoring.uk_calendar import uk_today
from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body

AS_OF = "2024-06-30"
REASON = {"reason": "recorded_in_error"}


def _person(client: TestClient, **body: Any) -> int:
    resp = client.post("/persons", json=person_body(**body))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _offence(client: TestClient, pid: int, **body: Any) -> dict[str, Any]:
    resp = client.post(f"/persons/{pid}/offences", json=offence_body(**body))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _events(session: Session, action: AuditAction) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_an_offence_is_corrected_with_if_match(client: TestClient, session: Session) -> None:
    pid = _person(client)
    offence = _offence(client, pid, ho_code="28A", offence_type=None)
    url = f"/persons/{pid}/offences/{offence['id']}"
    read = client.get(url)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json()["offence_type"] == "burglary_residential"
    assert client.patch(url, json={"outcome": "conviction"}).status_code == 428
    fixed = client.patch(url, json={"outcome": "conviction", "outcome_date": "2024-05-01",
                                    "domestic_abuse": True, "victim_ref": "V-9"},
                         headers={"If-Match": '"1"'})
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["outcome"], body["outcome_date"], body["domestic_abuse"], body["version"]) \
        == ("conviction", "2024-05-01", True, 2)
    assert body["ho_code"] == "28A"  # untouched
    assert fixed.headers["etag"] == '"2"'
    assert client.patch(url, json={"outcome": "caution"},
                        headers={"If-Match": '"1"'}).status_code == 412
    retyped = client.patch(url, json={"offence_type": "shoplifting"},
                           headers={"If-Match": '"2"'}).json()
    # The old Home Office code says burglary: it cannot stay on a shoplifting.
    assert (retyped["offence_type"], retyped["ho_code"]) == ("shoplifting", None)
    coded = client.patch(url, json={"ho_code": "28A"}, headers={"If-Match": '"3"'}).json()
    assert coded["offence_type"] == "burglary_residential"
    events = _events(session, AuditAction.alteration)
    assert any(e.detail == f"offence {offence['id']}: domestic_abuse,outcome,outcome_date,"
                           "victim_ref" for e in events)


@pytest.mark.parametrize(("change", "field"), [
    ({"offence_date": "1989-01-01"}, "offence_date"),           # before birth (1990)
    ({"outcome_date": "2024-03-01"}, "outcome_date"),           # before the offence
    ({"offence_date": (uk_today() + timedelta(days=30)).isoformat()}, "body"),
    ({"offence_type": "no_such_type"}, "offence_type"),
    ({"ho_code": "ZZZ"}, "ho_code"),
    ({"outcome": None}, "outcome"),
    ({"offence_type": None, "ho_code": None}, "offence_type"),
])
def test_a_correction_keeps_the_rules(client: TestClient, change: dict[str, Any],
                                      field: str) -> None:
    pid = _person(client)
    offence = _offence(client, pid, offence_date="2024-03-10")
    resp = client.patch(f"/persons/{pid}/offences/{offence['id']}", json=change,
                        headers={"If-Match": '"1"'})
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"][0]["loc"]
    assert client.get(f"/persons/{pid}/offences/{offence['id']}").json()["version"] == 1


def test_correcting_an_outcome_to_a_conviction_makes_it_proven(client: TestClient) -> None:
    pid = _person(client, home_area="BANES")
    assert client.post("/cohort/memberships", json=membership_body(
        pid, area="BANES", adopted_on="2021-01-31", exited_on="2021-07-31",
        exit_reason="rehabilitated")).status_code == 201
    offence = _offence(client, pid, offence_date="2020-06-01", outcome="charge")
    params = {"as_of": "2023-06-01", "counting": "proven", "area": "BANES"}
    assert client.get("/reports/idiom", params=params).json()["totals"]["before"]["offences"] == 0
    fixed = client.patch(f"/persons/{pid}/offences/{offence['id']}",
                         json={"outcome": "conviction", "outcome_date": "2020-09-01"},
                         headers={"If-Match": '"1"'})
    assert fixed.status_code == 200, fixed.text
    assert client.get("/reports/idiom", params=params).json()["totals"]["before"]["offences"] == 1


def test_a_release_puts_the_person_back_on_the_shortlist(client: TestClient) -> None:
    pid = _person(client)
    for day in ("2024-01-10", "2024-02-01", "2024-03-01"):
        _offence(client, pid, offence_date=day)
    spell = client.post(f"/persons/{pid}/custody", json={"start_on": "2024-03-20"}).json()
    query = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}
    listed = client.get("/shortlists/migration", params=query).json()
    assert pid not in [c["person_id"] for c in listed["candidates"]]
    assert pid in [e["person_id"] for e in listed["excluded"]]
    released = client.patch(f"/persons/{pid}/custody/{spell['id']}", json={"end_on": "2024-05-01"},
                            headers={"If-Match": '"1"'})
    assert released.status_code == 200, released.text
    listed = client.get("/shortlists/migration", params=query).json()
    assert pid in [c["person_id"] for c in listed["candidates"]]


def test_deletes_need_an_admin_and_a_reason(client: TestClient, make_key: KeyMaker,
                                            session: Session) -> None:
    pid = _person(client)
    offence = _offence(client, pid)
    url = f"/persons/{pid}/offences/{offence['id']}"
    manager = {"Authorization": f"Bearer {make_key('offender_manager')}",
               "X-Justification": "test"}
    assert client.delete(url, params=REASON, headers=manager).status_code == 403
    missing = client.delete(url)
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["query", "reason"]
    other = client.delete(url, params={"reason": "other"})
    assert other.status_code == 422 and other.json()["errors"][0]["loc"] == ["query", "note"]
    gone = client.delete(url, params={"reason": "other", "note": "duplicate of a Niche record"})
    assert gone.status_code == 204 and gone.content == b""
    assert client.get(url).status_code == 404
    assert client.delete(url, params=REASON).status_code == 404
    erasures = _events(session, AuditAction.erasure)
    assert [e.detail for e in erasures if e.person_ids == [pid]] == [
        f"offence {offence['id']} deleted (other: duplicate of a Niche record)"]


def test_custody_memberships_and_referrals_recorded_in_error(client: TestClient) -> None:
    pid = _person(client)
    spell = client.post(f"/persons/{pid}/custody", json={"start_on": "2024-01-10"}).json()
    url = f"/persons/{pid}/custody/{spell['id']}"
    assert client.delete(url, params=REASON).status_code == 204
    assert client.get(url).status_code == 404
    # With the spell gone, a spell over the same dates no longer overlaps anything.
    again = client.post(f"/persons/{pid}/custody", json={"start_on": "2024-01-10"})
    assert again.status_code == 201

    membership = client.post("/cohort/memberships", json=membership_body(pid)).json()
    url = f"/cohort/memberships/{membership['id']}"
    assert client.delete(url, params=REASON).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/cohort/memberships", params={"person_id": pid}).json()["total"] == 0

    referral = client.post("/referrals", json={
        "person_id": pid, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "prolific", "referred_on": "2024-05-01"}).json()
    url = f"/referrals/{referral['id']}"
    assert client.get(url).headers["etag"] == '"1"'
    assert client.delete(url, params=REASON).status_code == 204
    assert client.get(url).status_code == 404


def test_a_withdrawn_referral_leaves_the_open_list(client: TestClient) -> None:
    pid = _person(client)
    referral = client.post("/referrals", json={
        "person_id": pid, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "prolific", "referred_on": "2024-05-01"}).json()
    url = f"/referrals/{referral['id']}"
    body = {"status": "withdrawn", "reason": "moved to another force", "withdrawn_on": "2024-06-01"}
    assert client.patch(url, json=body).status_code == 428
    assert client.patch(url, json={**body, "withdrawn_on": "2024-04-01"},
                        headers={"If-Match": '"1"'}).status_code == 422
    withdrawn = client.patch(url, json=body, headers={"If-Match": '"1"'})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["closed_on"]) == ("withdrawn",
                                                                          "2024-06-01")
    assert client.patch(url, json=body, headers={"If-Match": '"2"'}).status_code == 409
    status = {s: [r["id"] for r in client.get("/referrals", params={
        "person_id": pid, "status": s}).json()["items"]] for s in ("open", "decided", "withdrawn")}
    assert status == {"open": [], "decided": [], "withdrawn": [referral["id"]]}
    query = {"area": "BRISTOL", "stream": "nsac"}
    before = client.get("/shortlists/migration", params={**query, "as_of": "2024-05-15"}).json()
    after = client.get("/shortlists/migration", params={**query, "as_of": "2024-06-15"}).json()
    assert pid in [c["person_id"] for c in before["candidates"]]  # on referral alone
    assert pid not in [c["person_id"] for c in after["candidates"]]


def test_meetings_are_listed_by_area_and_date(client: TestClient, make_key: KeyMaker) -> None:
    made = {}
    held = (("BRISTOL", "2024-03-01"), ("BRISTOL", "2024-05-01"), ("BANES", "2024-04-01"))
    for area, day in held:
        resp = client.post("/meetings", json={"area": area, "held_on": day,
                                              "agencies": ["police"]})
        made[(area, day)] = resp.json()["id"]
    bristol = client.get("/meetings", params={"area": "BRISTOL", "from": "2024-01-01",
                                              "to": "2024-12-31"}).json()
    mine = [m["id"] for m in bristol["items"] if m["id"] in made.values()]
    assert mine == [made[("BRISTOL", "2024-05-01")], made[("BRISTOL", "2024-03-01")]]
    april = client.get("/meetings", params={"from": "2024-04-01", "to": "2024-04-30"}).json()
    assert made[("BANES", "2024-04-01")] in [m["id"] for m in april["items"]]
    banes = {"Authorization": f"Bearer {make_key('offender_manager', areas=['BANES'])}"}
    seen = client.get("/meetings", headers=banes).json()["items"]
    assert {m["area"] for m in seen} == {"BANES"}
    assert client.get("/meetings", params={"area": "NOWHERE"}).status_code == 422
