"""`upgrade` recognises a database already at head without Alembic, and only then."""

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from service import migrate
from service.migrate import alembic_config, database_revisions, script_head, upgrade


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert script_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def _script(folder: Path, revision: str, down: str | tuple[str, ...] | None,
            **extra: str) -> None:
    lines = [f"revision: str = {revision!r}", f"down_revision = {down!r}",
             *(f"{k} = {v}" for k, v in extra.items())]
    (folder / f"{revision}_x.py").write_text("\n".join(lines) + "\n")


def test_anything_but_one_plain_head_is_left_to_alembic(tmp_path: Path) -> None:
    _script(tmp_path, "a1", None)
    _script(tmp_path, "b2", "a1")
    assert script_head(tmp_path) == "b2"
    _script(tmp_path, "c3", "a1")  # two heads
    assert script_head(tmp_path) is None
    _script(tmp_path, "d4", ("b2", "c3"))  # a merge
    assert script_head(tmp_path) is None
    (tmp_path / "d4_x.py").unlink()
    (tmp_path / "c3_x.py").unlink()
    _script(tmp_path, "e5", "b2", branch_labels="('feature',)")
    assert script_head(tmp_path) is None
    (tmp_path / "e5_x.py").unlink()
    _script(tmp_path, "f6", "b2", depends_on="'a1'")
    assert script_head(tmp_path) is None
    (tmp_path / "f6_x.py").unlink()
    (tmp_path / "g7_x.py").write_text("revision = make_revision()\n")
    assert script_head(tmp_path) is None


def test_a_database_at_head_is_not_handed_to_alembic(
        database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    assert database_revisions(database_url) == {script_head()}

    def refuse(*_args: object) -> None:
        raise AssertionError("Alembic ran on a database at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    upgrade(database_url)


def test_a_database_behind_head_is_upgraded(database_url: str, engine: Engine) -> None:
    command.downgrade(alembic_config(database_url), "-1")
    behind = database_revisions(database_url)
    assert behind and behind != {script_head()}
    upgrade(database_url)
    assert database_revisions(database_url) == {script_head()}


def test_no_cheap_answer_sends_it_to_alembic(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "missing.db"
    assert database_revisions(f"sqlite:///{missing}") is None
    assert not missing.exists()  # the read-only check creates nothing
    assert database_revisions("sqlite:///:memory:") is None
    assert database_revisions("mysql://nobody@localhost/x") is None
    ran = []
    monkeypatch.setattr(command, "upgrade", lambda cfg, rev: ran.append(rev))
    upgrade(f"sqlite:///{missing}")
    monkeypatch.setattr(migrate, "script_head", lambda: None)
    upgrade(f"sqlite:///{missing}")
    assert ran == ["head", "head"]
