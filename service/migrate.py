"""Run Alembic migrations from code (for `iomscore migrate`, `serve` and the tests).

Alembic (which brings Mako), SQLAlchemy and the models cost about half a second to import
(issue 16: a command that does not score starts in 0.5 s). Most runs find the database
already at the newest revision (every `serve` start, `migrate` in a deployment script), so
`upgrade` first compares the database's `alembic_version` with the head read from the
migration scripts' source, through the bare database driver, and runs Alembic only when
they differ or when either cannot be told that cheaply.
"""

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.rawdb import connect, supported

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
_HEADER = ("revision", "down_revision", "branch_labels", "depends_on")


def alembic_config(database_url: str | None = None) -> "Config":
    """An Alembic config pointing at this project's migrations, for `database_url` if given."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini")) if (ROOT / "alembic.ini").exists() else Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def _header(path: Path) -> dict[str, Any] | None:
    values = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _HEADER:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    return values


def script_head(versions: Path = VERSIONS) -> str | None:
    """The single head revision of the scripts in `versions`, read from their source.

    None where that needs Alembic's own reading: a merge revision, a branch label or a
    dependency, a file that does not state its revision as a plain string, two heads.
    """
    revisions: set[str] = set()
    parents: set[str | None] = set()
    for path in versions.glob("*.py"):
        header = _header(path)
        if (header is None or not isinstance(header.get("revision"), str)
                or header.get("branch_labels") or header.get("depends_on")
                or not isinstance(header.get("down_revision"), str | None)):
            return None
        revisions.add(header["revision"])
        parents.add(header["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def database_revisions(database_url: str) -> set[str] | None:
    """The revisions in the database's `alembic_version` table, read with the bare driver;
    None for another dialect, a database or table that is not there, or any other failure
    to read it (Alembic then decides)."""
    if not supported(database_url):
        return None
    try:
        with connect(database_url) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except Exception:  # noqa: BLE001 - whatever stops the cheap read, Alembic then decides
        return None
    return {str(row[0]) for row in rows}


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest)."""
    if database_url is None:
        from service.config import get_settings

        database_url = get_settings().database_url
    if revision == "head":
        head = script_head()
        if head is not None and database_revisions(database_url) == {head}:
            return
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)
