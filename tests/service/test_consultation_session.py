"""Consultations on PostgreSQL as the service runs them: sessions on the engine, not on a
test transaction. A read's audit event commits as its INSERT runs (no BEGIN, no COMMIT
round trip), a write still commits with its event, and a pool whose connections died
(a database restart) recovers without the ping on every checkout."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role
from service.db import get_session, make_engine
from service.main import app
from service.store.keys import create_key
from tests.factories import person_body

pytestmark = pytest.mark.postgres_only

APP_NAME = "iom-consultation-test"
READ = {"X-Justification": "consultation session test"}


def _engine(database_url: str, **kwargs: Any) -> Engine:
    return make_engine(f"{database_url}?application_name={APP_NAME}", **kwargs)


@pytest.fixture
def served(engine: Engine, database_url: str) -> Iterator[tuple[TestClient, Engine, list]]:
    """The app on its own engine (sessions as get_session makes them), an admin key, and
    a list of (statement start, autocommit) for every audit INSERT it runs."""
    with Session(engine) as setup:
        _, key = create_key(session=setup, key_in=ApiKeyCreate(name="consult", role=Role.admin))
    # Connections count as in steady use however slow the machine running this is.
    app_engine = _engine(database_url, ping_after_idle_s=3600.0)
    inserts: list[tuple[str, bool]] = []

    @event.listens_for(app_engine, "before_cursor_execute")
    def watch(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # GET /persons/{id} reads the person and writes its event in one WITH statement.
        if "INSERT INTO audit_events" in statement:
            inserts.append((statement[:30], conn.connection.dbapi_connection.autocommit))

    def session_on_engine() -> Iterator[Session]:
        with Session(app_engine, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session_on_engine
    try:
        with TestClient(app, headers={"X-API-Key": key}) as client:
            yield client, app_engine, inserts
    finally:
        app.dependency_overrides.clear()
        app_engine.dispose()


def _audited(engine: Engine, person_id: int) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, status, detail, person_ids "
                                 "FROM audit_events ORDER BY id")).all()
    return [(str(r.action), r.status, r.detail) for r in rows if person_id in r.person_ids]


def test_a_read_audits_in_autocommit_and_a_write_in_its_transaction(
        served: tuple[TestClient, Engine, list], engine: Engine) -> None:
    client, app_engine, inserts = served
    created = client.post("/persons", json=person_body())
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert inserts[-1][1] is False  # the new person and its event: one transaction

    inserts.clear()
    assert client.get(f"/persons/{person_id}", headers=READ).json() == created.json()
    assert client.get(f"/persons/{person_id}/score", headers=READ).status_code == 200
    assert client.get(f"/persons/{person_id}/areas", headers=READ).status_code == 200
    assert [autocommit for _, autocommit in inserts] == [True, True, True]
    # Committed: another connection sees every event.
    assert [a for a, _, _ in _audited(engine, person_id)] == [
        "collection", "consultation", "consultation", "consultation"]

    inserts.clear()
    changed = client.patch(f"/persons/{person_id}", json={"given_name": "Sam"},
                           headers={"If-Match": created.headers["etag"]})
    assert changed.status_code == 200, changed.text
    assert [autocommit for _, autocommit in inserts] == [False]
    # The pool's connections went back to transactions after the consultations.
    with app_engine.connect() as conn:
        assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]


def test_a_refused_read_is_audited_on_the_same_path(
        served: tuple[TestClient, Engine, list], engine: Engine) -> None:
    client, _, inserts = served
    person_id = client.post("/persons", json=person_body(home_area="BRISTOL")).json()["id"]
    with Session(engine) as setup:
        _, other = create_key(session=setup, key_in=ApiKeyCreate(
            name="elsewhere", role=Role.offender_manager, areas=["SOMERSET_EAST"]))
    for _ in range(2):  # the first reads the new key's row, in a transaction
        inserts.clear()
        resp = client.get(f"/persons/{person_id}", headers={**READ, "X-API-Key": other})
        assert resp.status_code == 404
    # The read (which writes no event for a person outside the key's areas), then the
    # refusal's event: both in autocommit.
    assert inserts and all(autocommit for _, autocommit in inserts)
    assert _audited(engine, person_id)[-1] == ("consultation", 404,
                                                "refused: outside the key's areas")


def _kill_pooled_connections(engine: Engine) -> None:
    """What a database restart does to the pool: every idle connection is gone."""
    with engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name"), {"name": APP_NAME}).scalar_one()
    assert killed >= 1


def test_dead_connections_give_one_503_with_retry_after_then_recover(
        served: tuple[TestClient, Engine, list], engine: Engine) -> None:
    client, _, _ = served
    person_id = client.post("/persons", json=person_body()).json()["id"]
    assert client.get(f"/persons/{person_id}", headers=READ).status_code == 200
    _kill_pooled_connections(engine)
    first = client.get(f"/persons/{person_id}", headers=READ)
    assert first.status_code == 503  # the connection was in steady use: no ping
    assert first.headers["retry-after"] == "5"
    # SQLAlchemy dropped the whole pool on that disconnect: the next request connects.
    assert client.get(f"/persons/{person_id}", headers=READ).status_code == 200


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced(
        engine: Engine, database_url: str) -> None:
    pinged = _engine(database_url, ping_after_idle_s=0.0)
    try:
        with pinged.connect() as conn:
            conn.execute(text("SELECT 1"))
        _kill_pooled_connections(engine)
        with pinged.connect() as conn:  # the ping found it dead; a new one was made
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        pinged.dispose()
