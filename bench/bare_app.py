"""The load benchmark's yardstick: a bare FastAPI app that runs one PostgreSQL query a request.

No middleware, no key check, no audit: ``GET /persons/{id}`` reads one row through a
SQLAlchemy engine built the way the service builds its own (``service.db.make_engine``),
in a sync route (FastAPI's thread pool, as the service's routes run). Served by
``bench/bench_load.py`` with the same uvicorn options as the service, it is the practical
limit of this stack on the machine; the service's figures are read as a share of it.
"""

import os

from fastapi import FastAPI
from sqlalchemy import text

from service.db import make_engine

engine = make_engine(os.environ["DATABASE_URL"])
app = FastAPI()
_ONE_PERSON = text("SELECT id, pnc_id, home_area, version FROM persons WHERE id = :id")


@app.get("/persons/{person_id}")
def read_person(person_id: int) -> dict[str, object]:
    """One person's row, or an empty object."""
    with engine.connect() as conn:
        row = conn.execute(_ONE_PERSON, {"id": person_id}).first()
    return {} if row is None else dict(row._mapping)
