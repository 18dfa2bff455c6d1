"""The iomscore command line: migrate builds the schema; openapi writes the contract."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect

from service.cli import main
from service.config import get_settings
from service.db import get_engine, make_engine


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_migrate_creates_every_table(sqlite_env: str) -> None:
    assert main(["migrate"]) == 0
    tables = set(inspect(make_engine(sqlite_env)).get_table_names())
    assert {"persons", "offences", "custody_periods", "cohort_memberships", "areas",
            "streams", "alembic_version"} <= tables
    assert main(["migrate"]) == 0  # idempotent


def test_openapi_command_writes_the_app_schema(tmp_path: Path) -> None:
    from service.main import app

    out = tmp_path / "openapi.yaml"
    assert main(["openapi", "--output", str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == app.openapi()


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
