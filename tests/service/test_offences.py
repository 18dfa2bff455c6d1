"""Offences and custody through HTTP: catalogue mapping, date rules, idempotence, overlaps."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from scoring import uk_calendar
from scoring.uk_calendar import uk_today
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
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    for body, field in ((offence_body(offence_date=tomorrow), "body"),
                        (offence_body(offence_date="1999-01-01"), "offence_date"),
                        (offence_body(offence_date="2020-01-10", outcome_date="2020-01-01"),
                         "body")):
        resp = client.post(f"/persons/{pid}/offences", json=body)
        assert resp.status_code == 422, body
        assert any(field in e["loc"] for e in resp.json()["errors"])


def test_today_is_the_uk_date_on_a_host_that_keeps_utc(client: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """00:30 on 2 July in the UK is still 1 July in UTC: a night shift's offence and
    release of that day are today's, not the future, and today's score is as of 2 July."""
    pid = new_person(client, date_of_birth="2000-06-01")
    monkeypatch.setattr(uk_calendar, "utcnow",
                        lambda: datetime(2026, 7, 1, 23, 30, tzinfo=UTC))
    offence = client.post(f"/persons/{pid}/offences", json=offence_body(
        offence_date="2026-07-02"))
    assert offence.status_code == 201, offence.text
    spell = client.post(f"/persons/{pid}/custody", json={"start_on": "2026-06-20",
                                                         "end_on": "2026-07-02"})
    assert spell.status_code == 201, spell.text
    assert client.post(f"/persons/{pid}/offences", json=offence_body(
        offence_date="2026-07-03")).status_code == 422
    score = client.get(f"/persons/{pid}/score")
    assert score.status_code == 200, score.text
    assert score.json()["as_of"] == "2026-07-02"


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
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    assert client.post(url, json={"start_on": "2021-05-01", "end_on": "2021-04-01"}
                       ).status_code == 422
    assert client.post(url, json={"start_on": tomorrow}).status_code == 422
    assert client.post(url, json={"start_on": "1999-05-01"}).status_code == 422
