"""A scratch PostgreSQL database, created for a test module or a benchmark and dropped after.

Kept with the tests, not in `service`, because creating and force-dropping databases is
development tooling only: the deployable package never needs it. The benchmarks (also
development tooling, run from the repository root) import it from here.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.db import make_engine


@contextmanager
def scratch_postgres(server_url: str, *, prefix: str = "iomtest") -> Iterator[str]:
    """The URL of a new, empty database on `server_url`'s server, dropped on exit."""
    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
