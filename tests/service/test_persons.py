"""People through HTTP: validation, canonical PNC IDs, conflicts, search, optimistic updates."""

from datetime import timedelta

from fastapi.testclient import TestClient

from scoring.uk_calendar import uk_today
from tests.factories import person_body

PROBLEM = "application/problem+json"


def create(client: TestClient, **overrides: object) -> dict:
    resp = client.post("/persons", json=person_body(**overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_stores_canonical_pnc_id_from_short_form(client: TestClient) -> None:
    person = create(client, pnc_id="79/123456T")
    assert person["pnc_id"] == "1979/0123456T"
    got = client.get(f"/persons/{person['id']}")
    assert got.status_code == 200
    assert got.json()["pnc_id"] == "1979/0123456T"
    assert got.headers["etag"] == '"1"'


def test_wrong_check_letter_is_422_with_field_detail(client: TestClient) -> None:
    resp = client.post("/persons", json=person_body(pnc_id="1979/0123456A"))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith(PROBLEM)
    problem = resp.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["loc"] == ["body", "pnc_id"]
    assert "expected T" in problem["errors"][0]["msg"]


def test_duplicate_pnc_id_in_another_form_is_409(client: TestClient) -> None:
    create(client, pnc_id="1979/0123456T")
    resp = client.post("/persons", json=person_body(pnc_id="79/123456T"))
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith(PROBLEM)


def test_unknown_area_sex_ethnicity_and_future_birth_are_422(client: TestClient) -> None:
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    cases = {
        "home_area": {"home_area": "ATLANTIS"},
        "sex": {"sex": "m"},
        "ethnicity": {"ethnicity": "ZZ"},
        "date_of_birth": {"date_of_birth": tomorrow},
    }
    for field, override in cases.items():
        resp = client.post("/persons", json=person_body(**override))
        assert resp.status_code == 422, field
        locs = [e["loc"] for e in resp.json()["errors"]]
        assert any(field in loc or loc == ["body"] for loc in locs), (field, locs)


def test_missing_person_is_404_problem(client: TestClient) -> None:
    resp = client.get("/persons/999999")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert resp.json()["instance"] == "/persons/999999"


def test_find_by_pnc_id_short_or_full(client: TestClient) -> None:
    target = create(client, pnc_id="79/123456T")
    create(client)
    for form in ("79/123456T", "1979/0123456T", " 1979/0123456t "):
        page = client.get("/persons", params={"pnc_id": form}).json()
        assert page["total"] == 1
        assert page["items"][0]["id"] == target["id"]
    assert client.get("/persons", params={"pnc_id": "nonsense"}).status_code == 422


def test_list_is_paginated_with_total(client: TestClient) -> None:
    ids = [create(client, home_area="BANES")["id"] for _ in range(5)]
    first = client.get("/persons", params={"home_area": "BANES", "limit": 2}).json()
    second = client.get("/persons", params={"home_area": "BANES", "limit": 2, "offset": 2}).json()
    assert first["total"] == 5
    assert [p["id"] for p in first["items"] + second["items"]] == ids[:4]
    assert client.get("/persons", params={"limit": 100000}).status_code == 422


def test_patch_needs_current_etag(client: TestClient) -> None:
    person = create(client)
    url = f"/persons/{person['id']}"
    assert client.patch(url, json={"given_name": "Sam"}).status_code == 428
    ok = client.patch(url, json={"given_name": "Sam"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.json()["given_name"] == "Sam"
    assert ok.headers["etag"] == '"2"'
    stale = client.patch(url, json={"given_name": "Jo"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.get(url).json()["given_name"] == "Sam"


def test_patch_validates_the_merged_record(client: TestClient) -> None:
    person = create(client, date_of_birth="1990-01-01")
    url = f"/persons/{person['id']}"
    resp = client.patch(url, json={"deceased_on": "1980-01-01"}, headers={"If-Match": '"1"'})
    assert resp.status_code == 422
    resp = client.patch(url, json={"home_area": None}, headers={"If-Match": '"1"'})
    assert resp.status_code == 422
    resp = client.patch(url, json={"deceased_on": "2024-02-02"}, headers={"If-Match": '"1"'})
    assert resp.status_code == 200
    assert resp.json()["deceased_on"] == "2024-02-02"

