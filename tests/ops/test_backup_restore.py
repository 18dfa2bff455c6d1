"""PostgreSQL backup and restore, as docs/operations.md describes: every row comes back."""

import subprocess
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models import AuditAction, AuditEvent, OffenceCreate, PersonCreate
from scoring.catalogue import load_catalogue
from service.db import make_engine
from service.store.offences import add_offence
from service.store.persons import create_person
from tests.factories import pnc_id

pytestmark = pytest.mark.postgres_only

TABLES = ("areas", "streams", "persons", "offences", "custody_periods", "cohort_memberships",
          "api_keys", "audit_events", "alembic_version")


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _libpq_args(url: str) -> list[str]:
    u = make_url(url)
    return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]


def test_dump_and_restore_into_an_empty_database(engine: Engine, database_url: str,
                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalogue = load_catalogue()
    with Session(engine) as session:
        for i in range(20):
            person = create_person(session=session, person_in=PersonCreate(
                pnc_id=pnc_id(), date_of_birth="1990-01-01", home_area="BRISTOL"))
            for day in range(1, 4):
                add_offence(session=session, person_id=person.id or 0, catalogue=catalogue,
                            offence_in=OffenceCreate(offence_date=f"2023-0{day}-1{i % 9}",
                                                     offence_type="shoplifting"))
        session.add(AuditEvent(action=AuditAction.collection, method="POST", route="/persons",
                               status=201, person_ids=[1]))
        session.commit()
    before = _counts(engine)
    dump = tmp_path / "iom.dump"
    url = make_url(database_url)
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), *_libpq_args(database_url),
                    url.database or ""], check=True)
    target = f"iomrestore_{uuid.uuid4().hex[:10]}"
    subprocess.run(["createdb", *_libpq_args(database_url), target], check=True)
    restored = make_engine(url.set(database=target).render_as_string(hide_password=False))
    try:
        subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", *_libpq_args(database_url),
                        "-d", target, str(dump)], check=True)
        assert _counts(restored) == before
        assert before["persons"] == 20 and before["offences"] == 60
        with restored.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("DELETE FROM audit_events"))
    finally:
        restored.dispose()
        subprocess.run(["dropdb", "--force", *_libpq_args(database_url), target], check=True)
