"""Engine and session: one engine per database URL, sessions handed out per request."""

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from service.config import SSD_RANDOM_PAGE_COST, get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions lazily and breaks SAVEPOINT semantics; let SQLAlchemy
    # emit BEGIN itself (SQLAlchemy's documented recipe) and enforce foreign keys.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, *, statement_timeout_ms: int | None = None,
                random_page_cost: float = SSD_RANDOM_PAGE_COST,
                pool_timeout_s: float = 30.0) -> Engine:
    """Create an engine with the per-dialect settings this service relies on
    (``random_page_cost``: see ``Settings.db_random_page_cost``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               pool_timeout=pool_timeout_s)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options = [f"-c random_page_cost={float(random_page_cost)}"]
    if statement_timeout_ms:
        options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
    # psycopg prepares any statement run five times, and PostgreSQL may then plan it once
    # for all parameter values: the shortlist's date-bounded reads ran 60 % slower on such
    # a generic plan. Statements are not prepared; each is planned with its real values.
    # (Forcing custom plans server-side instead also re-planned every foreign-key check
    # of a bulk write: a score run's snapshot write took twice as long.)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         pool_timeout=pool_timeout_s,
                         connect_args={"options": " ".join(options),
                                       "prepare_threshold": None})


@lru_cache
def get_engine() -> Engine:
    """The engine for the configured DATABASE_URL."""
    settings = get_settings()
    return make_engine(settings.database_url,
                       statement_timeout_ms=settings.db_statement_timeout_ms,
                       random_page_cost=settings.db_random_page_cost,
                       pool_timeout_s=settings.db_pool_timeout_s)


async def get_session() -> AsyncIterator[Session]:
    """A session per request; the caller commits, anything uncommitted is rolled back.

    It runs on the event loop, not in a worker thread: making a session does no I/O, and
    neither does closing one with no transaction open (the usual end: the audit event
    committed it). A rollback, which talks to the database, goes to a worker thread. As a
    plain generator it cost two thread hand-offs per request (docs/benchmarks.md, "Under
    load").
    """
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    except Exception:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()
