"""Custody spells change after they are recorded: a release, a sentence, a corrected start,
each a versioned PATCH with If-Match, audited, with the no-overlap rule still holding."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AuditAction, AuditEvent
from scoring.uk_calendar import uk_today
from tests.conftest import KeyMaker
from tests.factories import offence_body, person_body


def _person(client: TestClient, area: str = "BRISTOL") -> int:
    return int(client.post("/persons", json=person_body(home_area=area)).json()["id"])


def _open_spell(client: TestClient, pid: int, start_on: str = "2024-01-10") -> dict:
    resp = client.post(f"/persons/{pid}/custody", json={"start_on": start_on})
    assert resp.status_code == 201, resp.text
    assert resp.headers["etag"] == '"1"'
    assert resp.headers["location"] == f"/persons/{pid}/custody/{resp.json()['id']}"
    return dict(resp.json())


def test_a_release_closes_the_spell_with_if_match(client: TestClient, session: Session) -> None:
    pid = _person(client)
    spell = _open_spell(client, pid)
    url = f"/persons/{pid}/custody/{spell['id']}"
    read = client.get(url)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json()["end_on"] is None
    assert client.patch(url, json={"end_on": "2024-06-01"}).status_code == 428
    released = client.patch(url, json={"end_on": "2024-06-01", "sentence_months": 10},
                            headers={"If-Match": '"1"'})
    assert released.status_code == 200, released.text
    body = released.json()
    assert (body["end_on"], body["sentence_months"], body["version"]) == ("2024-06-01", 10, 2)
    assert released.headers["etag"] == '"2"'
    stale = client.patch(url, json={"end_on": "2024-06-02"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.get(url).json()["end_on"] == "2024-06-01"
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.alteration)).all()
    assert any(e.detail == f"custody {spell['id']}: end_on,sentence_months"
               and e.person_ids == [pid] for e in events)


def test_the_changed_spell_keeps_the_date_and_overlap_rules(client: TestClient) -> None:
    pid = _person(client)
    first = client.post(f"/persons/{pid}/custody",
                        json={"start_on": "2022-01-01", "end_on": "2022-06-30"}).json()
    second = _open_spell(client, pid, "2023-03-01")
    url = f"/persons/{pid}/custody/{second['id']}"
    match = {"If-Match": '"1"'}
    before_start = client.patch(url, json={"end_on": "2023-02-01"}, headers=match)
    assert before_start.status_code == 422
    assert before_start.json()["errors"][0]["loc"] == ["body", "end_on"]
    future = (uk_today() + timedelta(days=2)).isoformat()
    assert client.patch(url, json={"end_on": future}, headers=match).status_code == 422
    overlap = client.patch(url, json={"start_on": "2022-05-01"}, headers=match)
    assert overlap.status_code == 409 and str(first["id"]) in overlap.json()["detail"]
    assert client.patch(url, json={"start_on": None}, headers=match).status_code == 422
    # A corrected start that overlaps nothing but itself is fine.
    moved = client.patch(url, json={"start_on": "2023-02-15"}, headers=match)
    assert moved.status_code == 200 and moved.json()["start_on"] == "2023-02-15"


def test_a_spell_is_reached_only_through_its_own_person_and_area(
        client: TestClient, anon_client: TestClient, make_key: KeyMaker) -> None:
    pid, other = _person(client), _person(client)
    spell = _open_spell(client, pid)
    assert client.get(f"/persons/{other}/custody/{spell['id']}").status_code == 404
    banes = {"X-API-Key": make_key("offender_manager", areas=["BANES"]),
             "X-Justification": "x", "If-Match": '"1"'}
    url = f"/persons/{pid}/custody/{spell['id']}"
    assert anon_client.get(url, headers=banes).status_code == 404
    assert anon_client.patch(url, json={"end_on": "2024-02-01"}, headers=banes).status_code == 404
    analyst = {"X-API-Key": make_key("analyst"), "If-Match": '"1"'}
    assert anon_client.patch(url, json={"end_on": "2024-02-01"},
                             headers=analyst).status_code == 403


def test_a_release_puts_the_person_back_on_the_shortlist(client: TestClient) -> None:
    pid = _person(client)
    for day in ("2024-02-01", "2024-03-01"):
        client.post(f"/persons/{pid}/offences", json=offence_body(offence_date=day))
    spell = _open_spell(client, pid, "2024-03-10")
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": "2024-06-30"}

    def listed() -> tuple[set[int], set[int]]:
        body = client.get("/shortlists/migration", params=params).json()
        return ({c["person_id"] for c in body["candidates"]},
                {e["person_id"] for e in body["excluded"]})

    candidates, excluded = listed()
    assert pid in excluded and pid not in candidates  # in custody on as_of
    resp = client.patch(f"/persons/{pid}/custody/{spell['id']}", json={"end_on": "2024-05-01"},
                        headers={"If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    candidates, excluded = listed()
    assert pid in candidates and pid not in excluded
