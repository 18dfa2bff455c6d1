"""Access control and audit: roles x route families, area scope, keys, append-only audit."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body

ROLES = ["admin", "offender_manager", "analyst", "integration"]


@pytest.fixture
def world(client: TestClient) -> dict[str, int]:
    """One person in BRISTOL with an offence, custody spell and membership; one in BANES."""
    bristol = client.post("/persons", json=person_body(home_area="BRISTOL")).json()["id"]
    banes = client.post("/persons", json=person_body(home_area="BANES")).json()["id"]
    client.post(f"/persons/{bristol}/offences", json=offence_body())
    client.post(f"/persons/{bristol}/custody", json={"start_on": "2019-01-01",
                                                     "end_on": "2019-03-01"})
    membership = client.post("/cohort/memberships", json=membership_body(bristol)).json()["id"]
    banes_membership = client.post("/cohort/memberships",
                                   json=membership_body(banes, area="BANES")).json()["id"]
    return {"bristol": bristol, "banes": banes, "membership": membership,
            "banes_membership": banes_membership}


def _requests(w: dict[str, int]) -> dict[str, tuple[str, str, dict | None]]:
    p, m = w["bristol"], w["membership"]
    return {
        "reference": ("GET", "/areas", None),
        "catalogue": ("GET", "/catalogue/offence-types", None),
        "person read": ("GET", f"/persons/{p}", None),
        "person search": ("GET", "/persons", None),
        "person write": ("POST", "/persons", person_body()),
        "offence read": ("GET", f"/persons/{p}/offences", None),
        "offence write": ("POST", f"/persons/{p}/offences",
                          offence_body(offence_date="2024-05-05")),
        "custody read": ("GET", f"/persons/{p}/custody", None),
        "membership read": ("GET", f"/cohort/memberships/{m}", None),
        "membership list": ("GET", "/cohort/memberships", None),
        "idiom report": ("GET", "/reports/idiom", None),
        "shortlist counts": ("GET", "/shortlists/migration/counts",
                             {"area": "BRISTOL", "stream": "nsac"}),
        "shortlist": ("GET", "/shortlists/migration", {"area": "BRISTOL", "stream": "nsac"}),
        "person score": ("GET", f"/persons/{p}/score", None),
        "model card": ("GET", "/model", None),
        "admin keys": ("GET", "/admin/keys", None),
        "admin audit": ("GET", "/admin/audit", None),
    }


def _send(client: TestClient, method: str, url: str, body: dict | None,
          headers: dict[str, str]) -> Response:
    # A GET's "body" in the table is its query string.
    if method == "GET":
        return client.request(method, url, params=body, headers=headers)
    return client.request(method, url, json=body, headers=headers)


# Which role may use which route family (True: allowed). Analysts see no person-level data.
ALLOWED = {
    "reference": set(ROLES),
    "catalogue": set(ROLES),
    "person read": {"admin", "offender_manager", "integration"},
    "person search": {"admin", "offender_manager", "integration"},
    "person write": {"admin", "offender_manager", "integration"},
    "offence read": {"admin", "offender_manager", "integration"},
    "offence write": {"admin", "offender_manager", "integration"},
    "custody read": {"admin", "offender_manager", "integration"},
    "membership read": {"admin", "offender_manager", "integration"},
    "membership list": {"admin", "offender_manager", "integration"},
    "idiom report": set(ROLES),
    "shortlist counts": set(ROLES),
    "shortlist": {"admin", "offender_manager", "integration"},
    "person score": {"admin", "offender_manager", "integration"},
    "model card": set(ROLES),
    "admin keys": {"admin"},
    "admin audit": {"admin"},
}


@pytest.mark.parametrize("role", ROLES)
def test_role_by_route_family(role: str, world: dict[str, int], anon_client: TestClient,
                              make_key: KeyMaker) -> None:
    headers = {"Authorization": f"Bearer {make_key(role)}", "X-Justification": "test"}
    for family, (method, url, body) in _requests(world).items():
        resp = _send(anon_client, method, url, body, headers)
        if role in ALLOWED[family]:
            assert resp.status_code < 400, (role, family, resp.status_code, resp.text)
        else:
            assert resp.status_code == 403, (role, family, resp.status_code)
            assert resp.headers["content-type"].startswith("application/problem+json")


def test_every_route_but_health_needs_a_key(world: dict[str, int],
                                            anon_client: TestClient) -> None:
    assert anon_client.get("/health").status_code == 200
    for method, url, body in _requests(world).values():
        resp = _send(anon_client, method, url, body, {})
        assert resp.status_code == 401, url
        assert resp.headers["www-authenticate"] == "Bearer"


def test_x_api_key_header_works_and_bad_keys_do_not(anon_client: TestClient,
                                                    make_key: KeyMaker) -> None:
    key = make_key("analyst")
    assert anon_client.get("/areas", headers={"X-API-Key": key}).status_code == 200
    forged = key[:-4] + "AAAA"
    for bad in (forged, "iom_nope_nope", "garbage", ""):
        assert anon_client.get("/areas", headers={"X-API-Key": bad}).status_code == 401
    assert anon_client.get("/areas", headers={"Authorization": f"Basic {key}"}).status_code == 401


def test_revoked_and_expired_keys_are_refused(client: TestClient, anon_client: TestClient,
                                              make_key: KeyMaker) -> None:
    expired = make_key("admin", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert anon_client.get("/areas", headers={"X-API-Key": expired}).status_code == 401
    issued = client.post("/admin/keys", json={"name": "om", "role": "offender_manager",
                                              "areas": ["BRISTOL"]})
    assert issued.status_code == 201
    body = issued.json()
    assert body["key"].startswith("iom_") and body["areas"] == ["BRISTOL"]
    assert anon_client.get("/areas", headers={"X-API-Key": body["key"]}).status_code == 200
    assert client.post(f"/admin/keys/{body['id']}/revoke").json()["revoked_at"]
    assert anon_client.get("/areas", headers={"X-API-Key": body["key"]}).status_code == 401
    listed = client.get("/admin/keys").json()["items"]
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert client.post("/admin/keys", json={"name": "x", "role": "admin",
                                            "areas": ["NOWHERE"]}).status_code == 422


def test_key_expiry_must_be_a_date_time_not_a_number(client: TestClient) -> None:
    """Pydantic would read 365.25 as seconds after 1970: an expiry nobody meant."""
    for bad in (365.25, 0, True):
        resp = client.post("/admin/keys", json={"name": "x", "role": "admin", "expires_at": bad})
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["errors"][0]["loc"] == ["body", "expires_at"]
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    resp = client.post("/admin/keys", json={"name": "x", "role": "admin", "expires_at": later})
    assert resp.status_code == 201 and resp.json()["expires_at"]


def test_area_scope_hides_other_areas(world: dict[str, int], anon_client: TestClient,
                                      make_key: KeyMaker, client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {make_key('offender_manager', areas=['BANES'])}",
               "X-Justification": "case review"}
    own = anon_client.get(f"/persons/{world['banes']}", headers=headers)
    assert own.status_code == 200
    other = anon_client.get(f"/persons/{world['bristol']}", headers=headers)
    missing = anon_client.get("/persons/99999999", headers=headers)
    assert other.status_code == missing.status_code == 404  # existence does not leak
    assert anon_client.get(f"/persons/{world['bristol']}/offences",
                           headers=headers).status_code == 404
    assert anon_client.get(f"/cohort/memberships/{world['membership']}",
                           headers=headers).status_code == 404
    listed = anon_client.get("/persons", headers=headers).json()
    assert {p["home_area"] for p in listed["items"]} == {"BANES"}
    memberships = anon_client.get("/cohort/memberships", headers=headers).json()
    assert {m["area"] for m in memberships["items"]} == {"BANES"}
    write = anon_client.post("/persons", json=person_body(home_area="BRISTOL"), headers=headers)
    assert write.status_code == 403
    refused = client.get("/admin/audit", params={"person_id": world["bristol"]}).json()["items"]
    assert any(e["status"] == 404 and "outside" in e["detail"] for e in refused)


def test_person_level_reads_need_a_justification(world: dict[str, int],
                                                 anon_client: TestClient,
                                                 make_key: KeyMaker) -> None:
    headers = {"Authorization": f"Bearer {make_key('offender_manager')}"}
    resp = anon_client.get(f"/persons/{world['bristol']}", headers=headers)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["header", "x-justification"]
    blank = anon_client.get(f"/persons/{world['bristol']}",
                            headers={**headers, "X-Justification": "  "})
    assert blank.status_code == 422


def test_audit_records_who_what_and_why(world: dict[str, int], anon_client: TestClient,
                                        make_key: KeyMaker, client: TestClient) -> None:
    key = make_key("offender_manager", name="om smith")
    anon_client.get(f"/persons/{world['bristol']}",
                    headers={"X-API-Key": key, "X-Justification": "MAPPA level 2 review"})
    events = client.get("/admin/audit", params={"person_id": world["bristol"]}).json()["items"]
    consult = [e for e in events if e["key_name"] == "om smith"]
    assert len(consult) == 1
    event = consult[0]
    assert event["action"] == "consultation"
    assert event["route"] == "/persons/{person_id}"
    assert event["person_ids"] == [world["bristol"]]
    assert event["justification"] == "MAPPA level 2 review"
    assert event["role"] == "offender_manager"
    actions = {e["action"] for e in events}
    assert {"collection", "consultation"} <= actions
    # person_id filter matches whole ids only
    other = client.get("/admin/audit", params={"person_id": world["banes"]}).json()["items"]
    assert all(world["banes"] in e["person_ids"] for e in other)


def test_audit_rows_cannot_be_changed_or_deleted(world: dict[str, int],
                                                 session: Session) -> None:
    assert session.exec(text("SELECT count(*) FROM audit_events")).one()[0] > 0  # type: ignore[call-overload]
    for statement in ("UPDATE audit_events SET justification = 'edited'",
                      "DELETE FROM audit_events"):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.exec(text(statement))  # type: ignore[call-overload]
        nested.rollback()


def test_key_expiry_must_name_its_time_zone(client: TestClient) -> None:
    # A stored deadline without a zone is ambiguous; search bounds may omit it, this may not.
    resp = client.post("/admin/keys", json={"name": "x", "role": "admin",
                                            "expires_at": "2030-01-01T00:00:00"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == ["body", "expires_at"]
