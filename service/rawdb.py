"""The database through its bare driver (sqlite3, psycopg), for command-line reads that
must start fast (issue 16): SQLAlchemy, the models and FastAPI cost about half a second to
import, more than a `migrate` that has nothing to do or a `keys list` takes in all."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def connect(database_url: str) -> Iterator[RawConnection]:
    """A read-only connection to a database `supported` names (ValueError otherwise).

    A SQLite file that is not there is not created: opening it fails as reading a table of
    an empty database would.
    """
    name = _sqlite_file(database_url)
    if name is not None:
        conn = sqlite3.connect(Path(name).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()
        return
    if not supported(database_url):
        raise ValueError("not a SQLite file or a PostgreSQL URL")
    import psycopg

    # libpq reads SQLAlchemy's URL once the driver name is taken out of the scheme.
    conninfo = "postgresql://" + database_url.split("://", 1)[1]
    with psycopg.connect(conninfo, connect_timeout=10) as pg:
        pg.read_only = True
        yield pg
