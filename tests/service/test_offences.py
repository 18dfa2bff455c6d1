"""Offences and custody through HTTP: catalogue mapping, date rules, idempotence, overlaps."""

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.factories import offence_body, person_body


def new_person(client: TestClient, **overrides: object) -> int:
    resp = client.post("/persons", json=person_body(**overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_offence_by_type_and_by_home_office_code(client: TestClient) -> None:
    pid = new_person(client)
    by_type = client.post(f"/persons/{pid}/offences", json=offence_body())
    assert by_type.status_code == 201, by_type.text
    assert by_type.json()["offence_type"] == "burglary_residential"
    by_code = client.post(f"/persons/{pid}/offences",
                          json=offence_body(offence_type=None, ho_code="034B"))
    assert by_code.status_code == 201, by_code.text
    assert by_code.json()["offence_type"] == "robbery_personal"
    listed = client.get(f"/persons/{pid}/offences").json()
    assert listed["total"] == 2


def test_unknown_or_contradictory_types_are_422(client: TestClient) -> None:
    pid = new_person(client)
    for body in (offence_body(offence_type="jaywalking"),
                 offence_body(offence_type=None, ho_code="999Q"),
                 offence_body(offence_type="rape", ho_code="39"),
                 offence_body(offence_type=None)):
        resp = client.post(f"/persons/{pid}/offences", json=body)
        assert resp.status_code == 422, body
        assert resp.json()["errors"]


def test_future_and_pre_birth_dates_are_422(client: TestClient) -> None:
    pid = new_person(client, date_of_birth="2000-06-01")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for body, field in ((offence_body(offence_date=tomorrow), "body"),
                        (offence_body(offence_date="1999-01-01"), "offence_date"),
                        (offence_body(offence_date="2020-01-10", outcome_date="2020-01-01"),
                         "body")):
        resp = client.post(f"/persons/{pid}/offences", json=body)
        assert resp.status_code == 422, body
        assert any(field in e["loc"] for e in resp.json()["errors"])


def test_resending_a_source_record_never_duplicates(client: TestClient) -> None:
    pid = new_person(client)
    body = offence_body(source="pnc", source_ref="PNC-0001")
    first = client.post(f"/persons/{pid}/offences", json=body)
    again = client.post(f"/persons/{pid}/offences", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    updated = client.post(f"/persons/{pid}/offences",
                          json={**body, "outcome": "conviction", "outcome_date": "2024-06-01"})
    assert updated.status_code == 200
    assert updated.json()["outcome"] == "conviction"
    assert client.get(f"/persons/{pid}/offences").json()["total"] == 1
    other = new_person(client)
    clash = client.post(f"/persons/{other}/offences", json=body)
    assert clash.status_code == 409


def test_offences_for_missing_person_are_404(client: TestClient) -> None:
    assert client.post("/persons/424242/offences", json=offence_body()).status_code == 404
    assert client.get("/persons/424242/offences").status_code == 404


def test_custody_spells_cannot_overlap(client: TestClient) -> None:
    pid = new_person(client)
    url = f"/persons/{pid}/custody"
    assert client.post(url, json={"start_on": "2020-01-01", "end_on": "2020-06-30"}
                       ).status_code == 201
    assert client.post(url, json={"start_on": "2020-06-30", "end_on": "2020-08-01"}
                       ).status_code == 409
    assert client.post(url, json={"start_on": "2019-12-01", "end_on": "2020-01-01"}
                       ).status_code == 409
    assert client.post(url, json={"start_on": "2021-01-01"}).status_code == 201
    # an open spell runs on: nothing after it may start
    assert client.post(url, json={"start_on": "2023-01-01", "end_on": "2023-02-01"}
                       ).status_code == 409
    spells = client.get(url).json()
    assert [s["end_on"] for s in spells["items"]] == ["2020-06-30", None]


def test_custody_date_rules(client: TestClient) -> None:
    pid = new_person(client, date_of_birth="2000-01-01")
    url = f"/persons/{pid}/custody"
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert client.post(url, json={"start_on": "2021-05-01", "end_on": "2021-04-01"}
                       ).status_code == 422
    assert client.post(url, json={"start_on": tomorrow}).status_code == 422
    assert client.post(url, json={"start_on": "1999-05-01"}).status_code == 422
