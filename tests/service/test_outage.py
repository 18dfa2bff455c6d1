"""Database outage: 503 with Retry-After, /health says so, and recovery needs no restart."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role
from service.db import get_session, make_engine
from service.main import app
from service.store.keys import create_key
from tests.conftest import is_postgres


def _unreachable_url(tmp_dir: str) -> str:
    if is_postgres():
        return "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    return f"sqlite:///{tmp_dir}/no/such/dir/db.sqlite"


def test_outage_then_recovery(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as setup:  # committed for real: this module's database is its own
        _, real_key = create_key(session=setup, key_in=ApiKeyCreate(name="outage",
                                                                    role=Role.admin))
    down = make_engine(_unreachable_url(str(tmp_path)))
    current: dict[str, Engine] = {"engine": down}

    def session_on_current() -> Iterator[Session]:
        with Session(current["engine"]) as s:
            yield s

    app.dependency_overrides[get_session] = session_on_current
    try:
        with TestClient(app, headers={"X-API-Key": real_key}) as client:
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
            assert health.headers["retry-after"]
            resp = client.get("/areas")
            assert resp.status_code == 503
            assert resp.headers["retry-after"] == "5"
            assert resp.headers["content-type"].startswith("application/problem+json")
            current["engine"] = engine  # the database is back
            assert client.get("/health").status_code == 200
            assert client.get("/areas").status_code == 200
    finally:
        app.dependency_overrides.clear()
        down.dispose()


@pytest.mark.postgres_only  # SQLite runs in-process: no server-side statement to cancel
def test_statement_timeout_stops_runaway_queries() -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from tests.conftest import TEST_DATABASE

    engine = make_engine(TEST_DATABASE, statement_timeout_ms=200)
    try:
        with engine.connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        engine.dispose()
