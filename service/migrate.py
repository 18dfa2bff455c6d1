"""Run Alembic migrations from code (for `iomscore migrate`, `serve` and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at this project's migrations, for `database_url` if given."""
    cfg = Config(str(ROOT / "alembic.ini")) if (ROOT / "alembic.ini").exists() else Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)
