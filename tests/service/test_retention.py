"""The retention review through HTTP: who is due as of a date, for admins, audited."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AuditAction, AuditEvent
from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body

URL = "/admin/retention"


def _person(client: TestClient, area: str = "BRISTOL", **body: str) -> int:
    resp = client.post("/persons", json=person_body(home_area=area, **body))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _offence(client: TestClient, pid: int, day: str) -> None:
    assert client.post(f"/persons/{pid}/offences",
                       json=offence_body(offence_date=day)).status_code == 201


def test_who_is_due_for_review(client: TestClient, session: Session) -> None:
    quiet, recent, inside, member, dead, elsewhere = (
        _person(client), _person(client), _person(client), _person(client),
        _person(client, deceased_on="2023-01-01"), _person(client, area="BANES"))
    _offence(client, quiet, "2017-05-01")
    _offence(client, recent, "2022-01-01")
    _offence(client, inside, "2015-01-01")
    spell = client.post(f"/persons/{inside}/custody", json={"start_on": "2015-02-01"})
    assert spell.status_code == 201
    _offence(client, member, "2016-01-01")
    assert client.post("/cohort/memberships", json=membership_body(
        member, adopted_on="2016-02-01")).status_code == 201
    _offence(client, dead, "2022-06-01")
    _offence(client, elsewhere, "2010-01-01")

    body = client.get(URL, params={"as_of": "2024-06-30", "limit": 500}).json()
    assert body["rule_version"] and body["quiet_years"] == 6
    rows = {r["person_id"]: r for r in body["items"]}
    assert quiet in rows and dead in rows and elsewhere in rows
    assert recent not in rows and inside not in rows and member not in rows
    assert (rows[quiet]["last_offence_on"], rows[quiet]["review_due_on"],
            rows[quiet]["reason"]) == ("2017-05-01", "2023-05-01", "quiet_period")
    assert rows[dead]["reason"] == "deceased" and rows[dead]["deceased_on"] == "2023-01-01"
    # As of an earlier date the quiet person was not yet due.
    earlier = client.get(URL, params={"as_of": "2023-04-30", "limit": 500}).json()
    assert quiet not in {r["person_id"] for r in earlier["items"]}

    banes = {"Authorization": f"Bearer {make_banes_admin(client)}"}
    seen = client.get(URL, params={"as_of": "2024-06-30"}, headers=banes).json()["items"]
    assert {r["home_area"] for r in seen} == {"BANES"}

    events = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.consultation,
        AuditEvent.detail == "retention review as of 2024-06-30")).all()
    assert any(quiet in e.person_ids for e in events)


def make_banes_admin(client: TestClient) -> str:
    resp = client.post("/admin/keys", json={"name": "banes admin", "role": "admin",
                                            "areas": ["BANES"]})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["key"])


def test_the_review_is_for_admins_and_never_in_the_future(client: TestClient,
                                                          make_key: KeyMaker) -> None:
    manager = {"Authorization": f"Bearer {make_key('offender_manager')}", "X-Justification": "t"}
    assert client.get(URL, headers=manager).status_code == 403
    future = client.get(URL, params={"as_of": "2999-01-01"})
    assert future.status_code == 422 and future.json()["errors"][0]["loc"] == ["query", "as_of"]
    assert client.get(URL).status_code == 200
