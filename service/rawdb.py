"""The database through its bare driver (sqlite3, psycopg), for command-line reads that
must start fast (issue 16): SQLAlchemy, the models and FastAPI cost about half a second to
import, more than a `migrate` that has nothing to do or a `keys list` takes in all."""

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The DB-API connection of either driver: both have execute() returning a cursor.
RawConnection = Any


def supported(database_url: str) -> bool:
    """Whether `connect` can open this URL (a SQLite file or PostgreSQL through psycopg)."""
    return _sqlite_file(database_url) is not None or database_url.startswith(
        ("postgresql+psycopg://", "postgresql://"))


def _sqlite_file(database_url: str) -> str | None:
    if not database_url.startswith("sqlite:///") or "?" in database_url:
        return None
    name = database_url.removeprefix("sqlite:///")
    return None if name in ("", ":memory:") else name


class NoSchema(Exception):
    """The database is not there or has not been migrated."""


@contextmanager
def connect(database_url: str, *, write: bool = False) -> Iterator[RawConnection]:
    """A connection to a database `supported` names (ValueError otherwise), read-only
    unless `write`; NoSchema if a table it reads or writes is missing.

    A SQLite file that is not there is not created (NoSchema). A writer commits at the end
    of the block, or rolls back if it raises; on SQLite it takes the write lock first
    (BEGIN IMMEDIATE), as SQLAlchemy's sessions there serialise writers.
    """
    name = _sqlite_file(database_url)
    try:
        if name is not None:
            with _sqlite(name, write) as conn:
                yield conn
            return
        if not supported(database_url):
            raise ValueError("not a SQLite file or a PostgreSQL URL")
        with _postgres(database_url, write) as pg:
            yield pg
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) or "unable to open" in str(exc):
            raise NoSchema(str(exc)) from exc
        raise
    except Exception as exc:
        if type(exc).__name__ == "UndefinedTable":  # psycopg's, not imported on SQLite
            raise NoSchema(str(exc)) from exc
        raise


@contextmanager
def _sqlite(name: str, write: bool) -> Iterator[sqlite3.Connection]:
    mode = "rw" if write else "ro"
    conn = sqlite3.connect(Path(name).resolve().as_uri() + f"?mode={mode}", uri=True,
                           isolation_level=None)
    try:
        if write:  # as service.db's engine: foreign keys enforced, a busy writer waited for
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("BEGIN IMMEDIATE")
        yield conn
        if write:
            conn.execute("COMMIT")
    finally:
        conn.close()  # uncommitted work is rolled back


@contextmanager
def _postgres(database_url: str, write: bool) -> Iterator[RawConnection]:
    import psycopg

    # libpq reads SQLAlchemy's URL once the driver name is taken out of the scheme.
    conninfo = "postgresql://" + database_url.split("://", 1)[1]
    with psycopg.connect(conninfo, connect_timeout=10) as pg:  # commits unless it raised
        pg.read_only = not write
        yield pg


def execute(conn: RawConnection, sql: str, params: Sequence[object] = ()) -> Any:
    """Run `sql`, written with ? placeholders, on either driver; the cursor."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, params)
    return conn.execute(sql.replace("?", "%s"), params)


def is_sqlite(conn: RawConnection) -> bool:
    return isinstance(conn, sqlite3.Connection)


def timestamp(conn: RawConnection, when: datetime) -> object:
    """A UTC time as models.base.UTCDateTime stores it: SQLAlchemy's text on SQLite."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f") if is_sqlite(conn) else when


def json_value(conn: RawConnection, value: object) -> object:
    """A value for a JSON column as SQLAlchemy's JSON type writes it (None as JSON null)."""
    import json

    if is_sqlite(conn):
        return json.dumps(value)
    from psycopg.types.json import Json

    return Json(value)
