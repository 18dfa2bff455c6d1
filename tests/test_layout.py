"""Project layout rules: scoring stays pure, the Dockerfile is well formed."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_SCORING = {"fastapi", "sqlmodel", "sqlalchemy", "service", "models", "starlette",
                        "pydantic_settings", "psycopg"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_scoring_imports_no_web_or_database_code() -> None:
    offenders = {}
    for path in (ROOT / "scoring").rglob("*.py"):
        bad = _imported_roots(path) & FORBIDDEN_IN_SCORING
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_models_import_only_models_pydantic_and_sqlalchemy() -> None:
    """...and, of the scoring library, only the UK calendar (the standard library alone),
    so a record's "not in the future" is the same day as the scores' "today"."""
    allowed = {"models", "sqlmodel", "sqlalchemy", "pydantic", "datetime", "enum", "typing",
               "re", "__future__", "collections"}
    for path in (ROOT / "models").rglob("*.py"):
        scoring = {m for m in _imported_modules(path) if m.split(".")[0] == "scoring"}
        assert scoring <= {"scoring.uk_calendar"}, path
        assert _imported_roots(path) - {"scoring"} <= allowed, path
    calendar = _imported_roots(ROOT / "scoring" / "uk_calendar.py")
    assert calendar <= {"datetime", "zoneinfo"}


def test_dockerfile_is_well_formed() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [ln.split()[0] for ln in lines if ln and not ln.startswith("#")]
    assert instructions[0] == "FROM"
    known = {"FROM", "RUN", "COPY", "WORKDIR", "ENV", "EXPOSE", "CMD", "USER", "ARG",
             "HEALTHCHECK", "LABEL", "ENTRYPOINT"}
    assert set(instructions) <= known | {"&&", "\\"}
    cmd = next(ln for ln in lines if ln.startswith("CMD"))
    assert "iomscore" in cmd and "serve" in cmd
    assert "USER" in instructions, "the service must not run as root"
