"""Structure rules for the service: small modules, routes used only as routes, settings only
through dependencies."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def _modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imported(path: Path) -> set[str]:
    """Every module `path` imports, with `from x import y` also counted as x.y (y may be a
    module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_module_in_service_or_models_is_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules("service", "models")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_routes_are_imported_only_by_the_app() -> None:
    # Route modules are entry points, not a library: what two callers share lives in
    # deps, models, the store or a service module.
    offenders = {}
    for path in _modules("service", "models", "bench", "tests"):
        name = _name(path)
        if name.startswith("service.routes") or name == "service.main":
            continue
        routes = sorted(m for m in _imported(path)
                        if m.startswith("service.routes.") and m != "service.routes")
        if routes:
            offenders[str(path.relative_to(ROOT))] = routes
    assert offenders == {}


def _reads_settings_itself(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name) and node.id == "get_settings":
            found.append(f"line {node.lineno}: get_settings")
        elif isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            found.append(f"line {node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in ("environ", "getenv") for a in node.names):
            found.append(f"line {node.lineno}: from os import")
    return found


def test_store_modules_take_settings_as_arguments() -> None:
    offenders = {str(p.relative_to(ROOT)): found for p in _modules("service/store")
                 if (found := _reads_settings_itself(p))}
    assert offenders == {}


def test_the_app_and_command_line_load_no_heavy_numeric_libraries() -> None:
    """scikit-learn, scipy, dask and openpyxl load where they are used (training, batch
    runs, XLSX files), not when the app or the command line starts (issue 16): each costs
    up to a second of start-up on two cores."""
    import subprocess
    import sys

    heavy = ("sklearn", "scipy", "dask", "distributed", "openpyxl")
    probe = ("import sys, service.main, service.cli; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_the_commands_that_do_not_score_start_lean(tmp_path: Path) -> None:
    """`--help`, `migrate` on a database at head, the `keys` commands, `changes prune` and
    `openapi` with the document kept for this code start without SQLAlchemy, the models,
    FastAPI, authlib or pandas (issue 16: 0.5 s to start; those are about a second of
    imports on two cores)."""
    import os
    import subprocess
    import sys

    from service.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'lean.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    heavy = ("sqlalchemy", "sqlmodel", "alembic", "models", "fastapi", "starlette", "pandas",
             "numpy", "authlib", "service.db", "service.main", "service.security")
    commands = [["--help"], ["migrate"], ["keys", "create", "--role", "admin"],
                ["keys", "create", "--role", "analyst", "--areas", "BANES"], ["keys", "list"],
                ["keys", "revoke", "2"], ["changes", "prune", "--older-than-days", "1"],
                ["openapi", "--output", str(tmp_path / "openapi.yaml")]]
    subprocess.run([sys.executable, "-m", "service.cli", *commands[-1]], env=env, check=True)
    for argv in commands:
        probe = ("import contextlib, sys; from service.cli import main\n"
                 f"with contextlib.suppress(SystemExit): main({argv!r})\n"
                 f"print('loaded:', *(m for m in {heavy!r} if m in sys.modules))")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env=env, check=True)
        assert done.stdout.splitlines()[-1] == "loaded:", argv
    # Settings are read when a command runs: pydantic alone is most of what `--help` cost.
    probe = ("import contextlib, sys; from service.cli import main\n"
             "with contextlib.suppress(SystemExit): main(['--help'])\n"
             "print('loaded:', *(m for m in ('pydantic', 'service.config') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, check=True)
    assert done.stdout.splitlines()[-1] == "loaded:"
