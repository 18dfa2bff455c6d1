"""`iomscore keys` and `changes prune` through the bare driver (issue 16) write the rows the
store writes and refuse what it refuses, on SQLite and PostgreSQL; on a database with no
schema they say so in one line."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from models import ApiKey, ApiKeyCreate, ChangesPruned, Person, Role
from service.cli import main
from service.config import get_settings
from service.security import principal_for_key
from service.store.keys import create_key
from tests.conftest import command_line_on
from tests.factories import pnc_id


@pytest.fixture
def db_env(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at this module's migrated database; its writes are real commits."""
    with command_line_on(database_url, monkeypatch) as url:
        yield url


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_a_key_issued_by_the_cli_is_the_row_the_store_writes(
        db_env: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, key, _ = cli(capsys, "keys", "create", "--role", "analyst", "--areas",
                       "BRISTOL,BANES,BRISTOL", "--name", "cli analyst")
    assert code == 0
    code, everywhere, _ = cli(capsys, "keys", "create", "--role", "integration")
    assert code == 0
    with Session(engine) as session:
        _, stored = create_key(session=session, key_in=ApiKeyCreate(
            name="store", role=Role.integration))
        rows = {k.prefix: k for k in session.exec(select(ApiKey)).all()}
        analyst = rows[key.split("_")[1]]
        assert (analyst.name, analyst.role, analyst.areas) == ("cli analyst", Role.analyst,
                                                               ["BANES", "BRISTOL"])
        assert analyst.created_at.tzinfo is not None
        assert abs(analyst.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert analyst.expires_at is None and analyst.revoked_at is None
        # All areas is stored as the store stores it (JSON null), and reads back alike.
        same = [rows[k.split("_")[1]] for k in (everywhere, stored)]
        assert [r.areas for r in same] == [None, None]
        # ...as JSON null, not SQL NULL, on either database.
        raw = [session.connection().execute(text(
            "SELECT areas IS NULL, CAST(areas AS TEXT) FROM api_keys WHERE prefix = :p"),
            {"p": r.prefix}).one() for r in same]
        assert raw[0] == raw[1] == (False, "null")
        principal = principal_for_key(session, key)
        assert principal is not None and principal.areas == {"BANES", "BRISTOL"}
        assert principal_for_key(session, everywhere) is not None
    assert cli(capsys, "keys", "revoke", str(analyst.id)) == (0, "", f"key {analyst.id} "
                                                             "revoked\n")
    assert cli(capsys, "keys", "revoke", str(analyst.id))[0] == 0  # idempotent
    with Session(engine) as session:
        assert principal_for_key(session, key) is None
        assert principal_for_key(session, everywhere) is not None


def test_the_cli_refuses_what_the_store_refuses(
        db_env: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "keys", "create", "--role", "admin", "--areas", "NOWHERE,BANES")
    assert (code, err) == (2, "error: unknown areas: NOWHERE\n")
    assert cli(capsys, "keys", "create", "--role", "admin", "--areas", ",")[0] == 2
    assert cli(capsys, "keys", "revoke", "999999")[2] == "error: API key 999999 not found\n"
    with Session(engine) as session:
        for key in session.exec(select(ApiKey).where(ApiKey.role == Role.admin,
                                                     col(ApiKey.revoked_at).is_(None))):
            key.revoked_at = datetime.now(UTC)
            session.add(key)
        session.commit()
    assert cli(capsys, "keys", "create", "--role", "admin", "--name", "last")[0] == 0
    _, listed, _ = cli(capsys, "keys", "list")
    last = [line for line in listed.splitlines() if line.endswith("\tactive\tlast")]
    code, _, err = cli(capsys, "keys", "revoke", last[0].split("\t")[0])
    assert code == 2 and "last working admin key" in err


def test_prune_from_the_cli_moves_the_watermark(
        db_env: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):  # three transactions, each one change-feed entry
        with Session(engine) as session:
            session.add(Person(pnc_id=pnc_id(), date_of_birth=date(1990, 1, 1),
                               home_area="BRISTOL"))
            session.commit()
    assert cli(capsys, "changes", "prune", "--older-than-days", "1")[2].startswith("0 ")
    with Session(engine) as session:
        conn = session.connection()
        total = conn.exec_driver_sql("SELECT count(*) FROM changes").scalar_one()
        # Back-date everything (the feed's own times) by two days.
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("UPDATE change_commits SET committed_at = committed_at "
                                 "- interval '2 days'")
        else:
            conn.exec_driver_sql("UPDATE changes SET at = datetime(at, '-2 days')")
        session.commit()
    code, _, err = cli(capsys, "changes", "prune", "--older-than-days", "1")
    with Session(engine) as session:
        left = session.connection().exec_driver_sql("SELECT count(*) FROM changes").scalar_one()
        mark = session.get(ChangesPruned, 1)
    # SQLite keeps the newest entry (its next seq is the largest plus one); PostgreSQL not.
    kept = 0 if engine.dialect.name == "postgresql" else 1
    assert (code, left, err.split()[0]) == (0, kept, str(total - kept))
    assert mark is not None and (mark.pos, mark.seq) > (0, 0)
    assert cli(capsys, "changes", "prune", "--older-than-days", "1")[2].startswith("0 ")
    with Session(engine) as session:
        again = session.get(ChangesPruned, 1)
        assert again is not None and (again.pos, again.seq) == (mark.pos, mark.seq)


@pytest.mark.parametrize("argv", [["keys", "list"], ["keys", "revoke", "1"],
                                  ["keys", "create", "--role", "admin"],
                                  ["changes", "prune", "--older-than-days", "30"]])
def test_a_database_without_a_schema_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str]) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    for name in ("empty.db", "missing.db"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / name}")
        get_settings.cache_clear()
        code, out, err = cli(capsys, *argv)
        assert (code, out) == (1, "")
        assert err == (f"iomscore {' '.join(argv[:2])}: the database has no schema: run "
                       "`iomscore migrate`\n")
    assert not (tmp_path / "missing.db").exists()
    get_settings.cache_clear()


@pytest.mark.postgres_only
def test_a_postgres_database_without_a_schema_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import TEST_DATABASE
    from tests.scratch import scratch_postgres

    with scratch_postgres(TEST_DATABASE) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        for argv in (["keys", "list"], ["keys", "create", "--role", "admin"],
                     ["keys", "revoke", "1"], ["changes", "prune", "--older-than-days", "1"]):
            code, out, err = cli(capsys, *argv)
            assert (code, out) == (1, ""), argv
            assert err.endswith("the database has no schema: run `iomscore migrate`\n"), err
    get_settings.cache_clear()
