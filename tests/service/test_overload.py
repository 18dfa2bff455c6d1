"""Under overload and faults the service answers problem+json, never a plain-text 500:
an exhausted pool is 503 with Retry-After, a second training 409, score runs bounded."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role, RunStatus, ScoreRun
from service.config import get_settings
from service.db import get_session
from service.deps import get_catalogue
from service.main import app
from service.observability import JsonFormatter
from service.store.keys import create_key
from service.training import training_lock


def test_an_exhausted_pool_is_a_503_problem_with_retry_after(engine: Engine,
                                                             database_url: str) -> None:
    with Session(engine) as setup:
        _, key = create_key(session=setup, key_in=ApiKeyCreate(name="pool", role=Role.admin))
    tiny = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)

    def session_on_tiny() -> Iterator[Session]:
        with Session(tiny) as s:
            yield s

    app.dependency_overrides[get_session] = session_on_tiny
    held = tiny.connect()  # e.g. a long training holding the only connection
    try:
        with TestClient(app, headers={"X-API-Key": key}) as client:
            resp = client.get("/areas")
            assert resp.status_code == 503, resp.text
            assert resp.headers["retry-after"]
            assert resp.headers["content-type"].startswith("application/problem+json")
            held.close()
            assert client.get("/areas").status_code == 200
    finally:
        held.close()
        app.dependency_overrides.clear()
        tiny.dispose()


def test_a_second_concurrent_training_is_refused(model_dir: Path, client: TestClient) -> None:
    with training_lock(model_dir):  # another worker is training
        resp = client.post("/model/train")
    assert resp.status_code == 409, resp.text
    assert resp.headers["retry-after"]
    assert "already being trained" in resp.json()["detail"]


def test_score_runs_are_bounded_and_stale_ones_do_not_block(client: TestClient,
                                                            session: Session) -> None:
    settings = get_settings()
    busy = [ScoreRun(as_of=datetime.now(UTC).date(), status=RunStatus.running)
            for _ in range(settings.max_active_score_runs)]
    session.add_all(busy)
    session.commit()
    resp = client.post("/scores/runs", json={})
    assert resp.status_code == 409, resp.text
    assert resp.headers["retry-after"]
    long_ago = datetime.now(UTC) - settings.score_run_stale_after - timedelta(minutes=1)
    for run in busy:  # their worker died: they stay "running" but must not block for ever
        run.requested_at = long_ago
        session.add(run)
    session.commit()
    assert client.post("/scores/runs", json={}).status_code == 202


def test_an_unexpected_fault_is_a_problem_with_the_request_id_and_no_data_logged(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("cannot read 1998/0001234Z Zebedee Quixotic")

    app.dependency_overrides[get_catalogue] = broken
    caplog.set_level(logging.INFO)
    try:
        resp = client.get("/catalogue/offence-types", headers={"X-Request-ID": "fault-1"})
    finally:
        app.dependency_overrides.pop(get_catalogue, None)
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["x-request-id"] == "fault-1"
    body = resp.json()
    assert body["status"] == 500 and "fault-1" in body["detail"]
    assert "Zebedee" not in resp.text and "Traceback" not in resp.text
    lines = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "RuntimeError" in lines and "broken" in lines  # where it happened, for the fix
    assert "Zebedee" not in lines and "1998/0001234Z" not in lines
