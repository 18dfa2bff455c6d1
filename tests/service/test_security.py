"""Keys, area refusals and the audit trail. Who may use which route is the generated table
in test_access_table.py; this module checks what the table does not: how keys are
presented, revoked and expired, that a refusal reads like a missing record and is audited,
what an audit event holds, and that the trail is append-only."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.requests import Request

from models import AuditAction, AuditEvent, Role
from service.audit import Auditor
from service.security import Principal
from service.store import sessions as session_store
from service.store.sessions import Lifetimes
from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body


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


def test_area_scope_refusals_read_like_missing_records_and_are_audited(
        world: dict[str, int], anon_client: TestClient, make_key: KeyMaker,
        client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {make_key('offender_manager', areas=['BANES'])}",
               "X-Justification": "case review"}
    other = anon_client.get(f"/persons/{world['bristol']}", headers=headers)
    missing = anon_client.get("/persons/99999999", headers=headers)
    assert other.status_code == missing.status_code == 404  # existence does not leak
    assert other.json()["detail"].replace(str(world["bristol"]), "N") == \
        missing.json()["detail"].replace("99999999", "N")
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
    read = anon_client.get(f"/persons/{world['bristol']}",
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
    # On PostgreSQL this event is written by the person's read itself (one statement).
    assert (event["method"], event["status"], event["detail"], event["export_id"]) == (
        "GET", 200, None, None)
    assert event["request_id"] == read.headers["x-request-id"]
    assert event["key_id"] is not None and event["actor_subject"] is None
    actions = {e["action"] for e in events}
    assert {"collection", "consultation"} <= actions
    # person_id filter matches whole ids only
    other = client.get("/admin/audit", params={"person_id": world["banes"]}).json()["items"]
    assert all(world["banes"] in e["person_ids"] for e in other)


def test_an_audit_event_is_written_with_every_column_of_the_model(session: Session) -> None:
    # Auditor.record builds the row's values itself rather than through AuditEvent.
    request = Request({"type": "http", "method": "GET", "path": "/persons/7", "root_path": "",
                       "scheme": "http", "server": ("testserver", 80), "headers": [],
                       "query_string": b"", "state": {"request_id": "req-1"}})
    principal = Principal(key_id=None, name="Sam Smith", role=Role.offender_manager,
                          areas=None, subject="sub-1")
    event = Auditor(session=session, principal=principal, request=request).record(
        AuditAction.consultation, person_ids=[7, None, 7], justification="why")
    assert set(event) == set(AuditEvent.__table__.columns.keys())  # type: ignore[attr-defined]
    stored = session.get(AuditEvent, event["id"])
    assert stored is not None and stored.model_dump() == {
        **event, "at": stored.at, "action": AuditAction.consultation}
    assert (stored.route, stored.person_ids, stored.actor_name, stored.key_name,
            stored.request_id, stored.status) == ("/persons/7", [7], "Sam Smith", None,
                                                  "req-1", 200)
    assert abs((stored.at - event["at"]).total_seconds()) < 1


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


def test_console_sessions_are_for_an_all_areas_admin_only(session: Session, client: TestClient,
                                                          anon_client: TestClient,
                                                          make_key: KeyMaker) -> None:
    """Sessions of every area (who, their areas, the purpose they stated) cross area lines,
    like keys and the audit trail: an area-limited admin may neither list nor end them."""
    someone = session_store.start_session(session=session, lifetimes=Lifetimes(
        idle=timedelta(minutes=30), absolute=timedelta(hours=8)), who=session_store.Who(
        method="oidc", issuer="https://idp.example", subject="om-1", display_name="Om Banes",
        role=Role.offender_manager, areas=["BANES"]))
    row = session_store.live_session(session=session, token=someone, lifetimes=Lifetimes(
        idle=timedelta(minutes=30), absolute=timedelta(hours=8)))
    assert row is not None
    bristol_admin = {"Authorization": f"Bearer {make_key('admin', areas=['BRISTOL'])}"}
    listed = anon_client.get("/admin/sessions", headers=bristol_admin)
    assert listed.status_code == 403 and "Om Banes" not in listed.text
    assert anon_client.delete(f"/admin/sessions/{row.id}",
                              headers=bristol_admin).status_code == 403
    assert [s["id"] for s in client.get("/admin/sessions").json()["items"]] == [row.id]
    assert client.delete(f"/admin/sessions/{row.id}").json()["revoked_at"]
