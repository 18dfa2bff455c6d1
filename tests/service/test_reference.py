"""Reference data, health, body limits and the generic error model."""

import pytest
from fastapi.testclient import TestClient

from service.config import get_settings


def test_areas_and_streams(client: TestClient) -> None:
    areas = client.get("/areas").json()
    assert [a["code"] for a in areas] == ["BANES", "BRISTOL", "NORTH_SOMERSET", "SOMERSET_EAST",
                                          "SOMERSET_WEST", "SOUTH_GLOS"]
    assert {s["code"] for s in client.get("/streams").json()} == {
        "nsac", "high_harm", "domestic_abuse"}


def test_catalogue_lists_versioned_types_with_sources(client: TestClient) -> None:
    body = client.get("/catalogue/offence-types").json()
    assert body["version"]
    types = {t["offence_type"]: t for t in body["offence_types"]}
    assert types["robbery_personal"]["unit_cost_gbp"] == 11320
    assert types["robbery_personal"]["cost_confirmed"] is True
    assert types["burglary_residential"]["cost_confirmed"] is False
    assert "34B" in types["robbery_personal"]["ho_codes"]
    assert all(1 <= t["gravity"] <= 4 for t in types.values())
    assert all(t["gravity_source"].startswith("project default") for t in types.values())
    assert types["rape"]["harm_weight"] == 2555
    assert "Sherman, Neyroud & Neyroud 2016" in types["rape"]["harm_source"]
    assert types["fraud"]["harm_source"].startswith("project default")
    codes = {c["ho_code"]: c for c in body["ho_codes"]}
    assert codes["28E"]["offence_type"] == "burglary_residential"
    assert codes["28E"]["offence_subgroup"] == "Domestic burglary"
    assert (codes["28E"]["mapped_by"], codes["28E"]["harm_days"]) == ("subgroup", 273.5)
    assert codes["54"]["mapped_by"] == "override" and codes["54"]["mapping_note"]
    assert codes["AF"]["harm_days"] is None  # no CCHI figure for fraud
    subgroups = {s["offence_subgroup"]: s for s in body["ho_subgroups"]}
    assert subgroups["Shoplifting"]["harm_days"] == 1
    assert subgroups["Domestic burglary"]["chi_subgroup"] == "residential burglary"
    assert body["code_lists"][0]["licence"].startswith("MIT")


def test_health_checks_the_database(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok"}


def test_oversized_json_body_is_413_problem(client: TestClient) -> None:
    limit = get_settings().max_json_body_bytes
    resp = client.post("/persons", content=b"{" + b" " * limit + b"}",
                       headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 413


def test_malformed_json_is_422_problem(client: TestClient) -> None:
    resp = client.post("/persons", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["errors"]


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert client.get("/no-such-thing").headers["content-type"].startswith("application/problem")
    resp = client.delete("/areas")
    assert resp.status_code == 405
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.postgres_only  # SQLite stores NUL characters; PostgreSQL text cannot
def test_text_postgresql_cannot_store_is_422_not_500(client: TestClient) -> None:
    from tests.factories import person_body

    nul = client.post("/persons", json=person_body(given_name="A\u0000B"))
    assert nul.status_code == 422
    assert nul.headers["content-type"].startswith("application/problem+json")


def test_ids_beyond_the_columns_range_are_422(client: TestClient) -> None:
    huge = client.post("/cohort/memberships", json={
        "person_id": 572983086899, "cohort": "fixed", "stream": "nsac", "area": "BRISTOL",
        "adopted_on": "2024-01-01"})
    assert huge.status_code == 422
