"""Engine and session: one engine per database URL, sessions handed out per request."""

import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import event, exc
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


# A pooled connection idle longer than this is pinged before use. One in steady use is
# not: a ping on every checkout was a round trip in every request (docs/benchmarks.md,
# "Under load"). A connection that died while in use (the database restarted under load)
# fails its statement instead: SQLAlchemy then invalidates the whole pool, the request is
# answered 503 with Retry-After (service/errors.py) and the next one connects afresh.
PING_AFTER_IDLE_S = 2.0


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, after_s: float) -> None:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (or makes) another.
            raise exc.DisconnectionError() from error

    event.listen(engine, "checkout", ping)


def make_engine(url: str, *, statement_timeout_ms: int | None = None,
                random_page_cost: float = SSD_RANDOM_PAGE_COST,
                pool_timeout_s: float = 30.0,
                ping_after_idle_s: float = PING_AFTER_IDLE_S) -> Engine:
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
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_timeout=pool_timeout_s,
                           connect_args={"options": " ".join(options),
                                         "prepare_threshold": None})
    event.listen(engine, "checkin", _on_checkin)
    _ping_if_idle(engine, ping_after_idle_s)
    return engine


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


@lru_cache
def _autocommit(engine: Engine) -> Engine:
    # Same pool; a connection's isolation level is restored when it goes back to the pool.
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def get_consultation_session(session: Annotated[Session, Depends(get_session)]
                                   ) -> Session:
    """The request's session, for a consultation: a read whose only write is its audit
    event.

    On PostgreSQL each statement then commits as it runs, so the audit event's INSERT is
    durable when it returns, before the answer is sent, and the transaction's BEGIN and
    COMMIT round trips go (under read committed every statement reads its own snapshot
    in a transaction too). A session already in a transaction (the key check read the
    key table) or bound to a connection (tests run in one rolled-back transaction) is
    left as it is. Never for a route that writes anything but its audit event: a write
    and its event must commit together.
    """
    bind = session.bind
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" \
            and not session.in_transaction():
        session.bind = _autocommit(bind)
    return session
