"""Test fixtures: a fresh, migrated database per test module; a rolled-back transaction per test.

The database comes from IOM_TEST_DATABASE: unset or `sqlite` for a temporary SQLite file,
or a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), in which case
each module gets its own scratch database on that server, dropped afterwards.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

# Tests send far more unauthenticated requests from one address than any person would; the
# throttle's own tests set their limit explicitly.
os.environ.setdefault("THROTTLE_MAX_FAILURES", "100000")

import pytest  # noqa: E402
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role
from service.config import get_settings
from service.db import get_engine, get_session, make_engine
from service.jobs import get_rescorer
from service.main import app
from service.migrate import upgrade
from service.store.keys import create_key
from tests.scratch import scratch_postgres

TEST_DATABASE = os.environ.get("IOM_TEST_DATABASE", "sqlite")

# CI shares two cores with the PostgreSQL server and other runs: a per-example deadline would
# fail a correct property on a slow tick, so none is set; a test sets a budget where it means one.
settings.register_profile("shared_machine", deadline=None)
settings.load_profile("shared_machine")


@contextmanager
def command_line_on(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The command line pointed at `url` (DATABASE_URL, with the cached settings and engine
    dropped), and its engine let go afterwards, so a scratch database can be dropped."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        yield url
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def is_postgres() -> bool:
    return TEST_DATABASE.startswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set IOM_TEST_DATABASE)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database for this test module (not yet migrated)."""
    if is_postgres():
        with scratch_postgres(TEST_DATABASE) as url:
            yield url
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on this module's database, migrated to head with Alembic."""
    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    The app's own commits only release savepoints, so tests never see each other's rows.
    """
    with engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint",
                     expire_on_commit=False) as sess:
            yield sess
        trans.rollback()


KeyMaker = Callable[..., str]


@pytest.fixture
def make_key(session: Session) -> KeyMaker:
    """Issue an API key in the test's database: make_key("analyst", areas=["BANES"])."""

    def issue(role: str = "admin", *, areas: list[str] | None = None,
              name: str = "test key", expires_at: datetime | None = None) -> str:
        _, full_key = create_key(session=session, key_in=ApiKeyCreate(
            name=name, role=Role(role), areas=areas, expires_at=expires_at))
        return full_key

    return issue


@pytest.fixture
def app_on_test_session(session: Session) -> Iterator[None]:
    """Route the app's database session to the test's session. The re-scoring a large
    import leaves for after its response is not run (its people's stored scores are gone,
    so theirs are computed on read): tests/service/test_current_scores.py runs it itself."""
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_rescorer] = lambda: lambda ids: None
    yield
    app.dependency_overrides.clear()


@pytest.fixture
def anon_client(app_on_test_session: None) -> Iterator[TestClient]:
    """An HTTP client on the app with no credentials."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client(app_on_test_session: None, make_key: KeyMaker) -> Iterator[TestClient]:
    """An HTTP client with an all-areas admin key and a justification on every request."""
    with TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}",
                                  "X-Justification": "automated test"}) as c:
        yield c
