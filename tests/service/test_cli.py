"""The iomscore command line: migrate builds the schema; openapi writes the contract; train
makes a gated candidate."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect

from service.cli import main
from service.config import get_settings
from service.db import make_engine
from tests.conftest import command_line_on


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with command_line_on(f"sqlite:///{tmp_path / 'cli.db'}", monkeypatch) as url:
        yield url


def test_migrate_creates_every_table(sqlite_env: str) -> None:
    assert main(["migrate"]) == 0
    tables = set(inspect(make_engine(sqlite_env)).get_table_names())
    assert {"persons", "offences", "custody_periods", "cohort_memberships", "areas",
            "streams", "alembic_version"} <= tables
    assert main(["migrate"]) == 0  # idempotent


def test_openapi_command_writes_the_app_schema(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from service import openapi_cache
    from service.main import app

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "openapi.yaml"
    assert main(["openapi", "--output", str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == app.openapi()
    assert out.read_text() == (openapi_cache.ROOT / "openapi.yaml").read_text()
    # The second run reads the document kept for this code: the same text.
    monkeypatch.setattr(openapi_cache, "build_yaml", lambda: "built again")
    assert main(["openapi", "--output", str(out)]) == 0
    assert out.read_text() == (openapi_cache.ROOT / "openapi.yaml").read_text()


def test_the_kept_openapi_document_follows_every_source_file(tmp_path: Path) -> None:
    from service.openapi_cache import SOURCES, digest

    for source in SOURCES:
        (tmp_path / source / "sub").mkdir(parents=True)
        (tmp_path / source / "sub" / "a.py").write_text("x = 1\n")
    before = digest(tmp_path)
    assert digest(tmp_path) == before
    for source in SOURCES:
        (tmp_path / source / "sub" / "a.py").write_text("x = 2\n")
        assert digest(tmp_path) != before, source
        before = digest(tmp_path)


def test_keys_create_list_revoke(sqlite_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["keys", "create", "--role", "analyst", "--areas", "BANES,BRISTOL",
                 "--name", "panel analyst"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("iom_") and "\n" not in key
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "analyst\tBANES,BRISTOL\tactive\tpanel analyst" in listed
    assert key.split("_", 2)[2] not in listed  # the secret (which may hold "_") never shows
    key_id = listed.split("\t")[0]
    assert main(["keys", "revoke", key_id]) == 0
    main(["keys", "list"])
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "create", "--role", "admin", "--areas", "NOWHERE"]) == 2
    assert main(["keys", "revoke", "9999"]) == 2


def test_the_demo_trains_a_gated_candidate_in_the_background_and_evaluate_compares(
        sqlite_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from unittest import mock

    from sqlmodel import Session, select

    from models import Person, RunStatus, TrainingJob
    from scoring.artefacts import current_version, list_models
    from service import cli_model

    models = tmp_path / "models"
    monkeypatch.setenv("MODEL_DIR", str(models))
    get_settings.cache_clear()
    started = []
    real = cli_model.queue_background_training

    def keep(*args: object) -> object:
        started.append(real(*args))
        return started[-1]

    with mock.patch.object(cli_model, "queue_background_training", keep):
        assert main(["demo", "--people", "1500", "--seed", "7", "--train"]) == 0
    (process,) = started
    assert "training a candidate in the background (job 1)" in capsys.readouterr().err
    assert process.wait(timeout=600) == 0  # a separate process: the service did not wait
    with Session(make_engine(sqlite_env)) as session:
        job = session.get(TrainingJob, 1)
        assert job is not None and job.status == RunStatus.done
        (version,) = list_models(models)
        assert job.candidate_version == version
        assert (current_version(models) == version) == bool(job.gate_passed)
        pnc = session.exec(select(Person.pnc_id).limit(40)).all()

    cohort = tmp_path / "cohort.csv"
    cohort.write_text("pnc_id,assessed_on,reoffended\n" + "".join(
        f"{p},2025-0{1 + i % 6}-01,{'yes' if i % 3 else 'no'}\n" for i, p in enumerate(pnc)))
    assert main(["evaluate", "--cohort", str(cohort), "--source", "test cohort"]) == 0
    out = capsys.readouterr().out
    assert "external evaluation 1: 40 of 40 rows matched and scored" in out
    assert "rule_based@" in out and version in out and "AUC" in out
    assert main(["evaluate", "--cohort", str(tmp_path / "cohort.txt")]) == 2


def test_catalogue_import_writes_a_new_version_the_settings_can_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.catalogue import load_catalogue

    chi = tmp_path / "chi.csv"
    chi.write_text("ho_code,days\n28E,400\n8N,730\n")
    costs = tmp_path / "costs.csv"
    costs.write_text("offence_subgroup,cost_gbp\nShoplifting,150\n")
    out = tmp_path / "force" / "catalogue.yaml"
    out.parent.mkdir()
    assert main(["catalogue", "import", "--chi", str(chi), "--costs", str(costs),
                 "--output", str(out), "--version", "force-x-2027.1"]) == 0
    assert "catalogue force-x-2027.1 written" in capsys.readouterr().err
    monkeypatch.setenv("OFFENCE_CATALOGUE_PATH", str(out))
    get_settings.cache_clear()
    try:
        cat = load_catalogue(get_settings().offence_catalogue_path)
    finally:
        monkeypatch.delenv("OFFENCE_CATALOGUE_PATH")
        get_settings.cache_clear()
    assert cat.version == "force-x-2027.1"
    assert cat.codes.loc["8N", "harm_days"] == 730
    assert cat.table.loc["shoplifting", "unit_cost_gbp"] == 150
    assert out.read_text().startswith("# Written by `iomscore catalogue import`")
    # Without --base the catalogue in use is the base; without --version the new version
    # names the base's and a hash of the files.
    again = tmp_path / "again.yaml"
    monkeypatch.setenv("OFFENCE_CATALOGUE_PATH", str(out))
    get_settings.cache_clear()
    try:
        assert main(["catalogue", "import", "--chi", str(chi), "--output", str(again)]) == 0
    finally:
        get_settings.cache_clear()
    assert load_catalogue(again).version.startswith("force-x-2027.1+import-")


def test_catalogue_import_refuses_a_bad_file_naming_the_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chi = tmp_path / "chi.csv"
    chi.write_text("ho_code,days\n28E,400\n28X,1\n")
    out = tmp_path / "catalogue.yaml"
    assert main(["catalogue", "import", "--chi", str(chi), "--output", str(out)]) == 1
    assert "chi.csv: row 3: ho_code '28X' is not a Home Office code" in capsys.readouterr().err
    assert not out.exists()
    assert main(["catalogue", "import", "--output", str(out)]) == 2
