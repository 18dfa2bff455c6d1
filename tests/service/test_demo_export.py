"""The demo written out as import files and loaded through HTTP gives the register the
direct loader writes: the files are exactly what the imports read."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role
from service.cli import main
from service.db import get_session, make_engine
from service.demo import DemoData, generate_demo, load_demo
from service.demo.export import FILES, export_demo
from service.main import app
from service.migrate import upgrade
from service.store.import_files import (
    CUSTODY_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OFFENCE_COLUMNS,
    PERSON_COLUMNS,
)
from service.store.keys import create_key
from tests.conftest import TEST_DATABASE, is_postgres
from tests.scratch import scratch_postgres

END = date(2025, 6, 30)
TABLES = {"persons": "persons", "offences": "offences", "custody": "custody_periods",
          "memberships": "cohort_memberships", "referrals": "referrals"}
# The business fields of each table, people named by PNC ID; timestamps, versions and ids
# are the database's own.
FIELDS = {
    "persons": ["pnc_id", "given_name", "family_name", "date_of_birth", "sex", "ethnicity",
                "home_area", "deceased_on"],
    "offences": ["offence_date", "offence_type", "ho_code", "domestic_abuse", "victim_ref",
                 "outcome", "outcome_date", "source", "source_ref"],
    "custody": ["start_on", "end_on", "reason", "sentence_months", "source", "source_ref"],
    "memberships": ["cohort", "stream", "area", "adopted_on", "exited_on", "exit_reason",
                    "offender_manager", "rag", "source", "source_ref"],
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(seed=11, people=1_000, end=END)


@pytest.fixture(scope="module")
def files(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return export_demo(demo, tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def imported_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A second empty, migrated database, for the files to be imported into."""
    if is_postgres():
        with scratch_postgres(TEST_DATABASE) as url:
            upgrade(url)
            eng = make_engine(url)
            yield eng
            eng.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('imported') / 'imported.db'}"
        upgrade(url)
        eng = make_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture(scope="module")
def direct(engine: Engine, demo: DemoData) -> Engine:
    """The module's database with the demo loaded directly (`iomscore demo`'s loader)."""
    load_demo(engine, demo)
    return engine


def _import_over_http(engine: Engine, files: dict[str, Path]) -> None:
    with Session(engine) as session:
        _, key = create_key(session=session, key_in=ApiKeyCreate(name="loader",
                                                                 role=Role.integration))

    def session_dep() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session_dep
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
            for kind in FILES:  # dependency order: the people first
                with files[kind].open("rb") as handle:
                    resp = client.post(f"/imports/{kind}",
                                       files={"file": (files[kind].name, handle)})
                assert resp.status_code == 200, (kind, resp.text[:1000])
                assert resp.json()["inserted"] == resp.json()["rows"], kind
    finally:
        app.dependency_overrides.pop(get_session, None)


def _register(engine: Engine) -> dict[str, pd.DataFrame]:
    """Each table's business fields, people by PNC ID, in a stable order."""
    frames = {}
    with engine.connect() as conn:
        for name, table in TABLES.items():
            if name == "referrals":
                frames[name] = pd.read_sql(f"SELECT id FROM {table}", conn)
                continue
            fields = FIELDS[name]
            if name == "persons":
                query = f"SELECT {', '.join(fields)} FROM persons"
            else:
                cols = ", ".join(f"t.{f}" for f in fields)
                query = (f"SELECT p.pnc_id, {cols} FROM {table} t "
                         "JOIN persons p ON p.id = t.person_id")
            frame = pd.read_sql(query, conn)
            key = ["pnc_id"] if name == "persons" else ["source", "source_ref"]
            frames[name] = frame.astype(str).sort_values(key).reset_index(drop=True)
    return frames


def test_exported_files_are_in_the_import_column_formats(files: dict[str, Path],
                                                         demo: DemoData) -> None:
    assert list(files) == ["persons", "offences", "custody", "memberships"]
    for kind, columns in (("persons", PERSON_COLUMNS), ("offences", OFFENCE_COLUMNS),
                          ("custody", CUSTODY_COLUMNS), ("memberships", MEMBERSHIP_COLUMNS)):
        header = files[kind].read_text().splitlines()[0].split(",")
        assert set(header) <= set(columns), kind
        assert header == [c for c in columns if c in header], kind  # the documented order
        assert len(files[kind].read_text().splitlines()) == demo.counts()[kind] + 1


def test_files_imported_over_http_give_the_directly_loaded_register(
        direct: Engine, imported_engine: Engine, demo: DemoData, files: dict[str, Path]) -> None:
    _import_over_http(imported_engine, files)
    loaded, imported = _register(direct), _register(imported_engine)
    assert {k: len(v) for k, v in imported.items()} == {k: len(v) for k, v in loaded.items()}
    assert len(loaded["memberships"]) > 5 and len(loaded["custody"]) > 50
    assert len(loaded["referrals"]) == 0  # the demo has none, so no file for them
    for name in FIELDS:
        pd.testing.assert_frame_equal(imported[name], loaded[name], obj=name)

    # Spot checks: a member's, a prisoner's and an offender's records, one person at a time.
    people = demo.persons.set_index("person_id")["pnc_id"]
    chosen = {people[int(demo.memberships["person_id"].iloc[0])],
              people[int(demo.custody["person_id"].iloc[-1])],
              people[int(demo.offences["person_id"].iloc[len(demo.offences) // 2])]}
    for pnc in chosen:
        for name in FIELDS:
            mine = imported[name][imported[name]["pnc_id"] == pnc].reset_index(drop=True)
            theirs = loaded[name][loaded[name]["pnc_id"] == pnc].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, theirs, obj=f"{name} of one person")


def test_sent_again_to_the_directly_loaded_register_nothing_changes(
        direct: Engine, client: TestClient, demo: DemoData, files: dict[str, Path]) -> None:
    for kind in FILES:
        resp = client.post(f"/imports/{kind}", content=files[kind].read_bytes(),
                           headers={"Content-Type": "text/csv"})
        assert resp.status_code == 200, (kind, resp.text[:1000])
        assert resp.json()["unchanged"] == demo.counts()[kind], kind


def test_the_demo_command_exports_instead_of_loading(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--export", str(tmp_path / "out"), "--people", "50"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["custody.csv", "memberships.csv", "offences.csv", "persons.csv"]
    assert "persons.csv: 50 rows" in capsys.readouterr().err
