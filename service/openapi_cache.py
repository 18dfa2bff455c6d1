"""`iomscore openapi` without building the app when nothing the document is built from has
changed.

Building the app imports nearly the whole service (pandas with it), and FastAPI then
derives the schema field by field through pydantic: about 2 s on the project's two cores,
where a command that does not score should start in 0.5 s (issue 16). The document is a
function of the code and of the packages that turn it into a schema, so it is kept under a
digest of both: every Python source of service/, models/ and scoring/ (the routes, their
schemas and what those import), the versions of those packages, and Python's. A changed
file or an upgraded package gives a new digest, and the app is built again.
"""

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("service", "models", "scoring")
# What turns the routes into the document, and what writes it.
PACKAGES = ("fastapi", "starlette", "pydantic", "pydantic-core", "sqlmodel", "pyyaml")


def digest(root: Path = ROOT) -> str:
    """A digest of everything the OpenAPI document is built from (see the module's doc)."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256(sys.version.encode())
    for package in PACKAGES:
        try:
            h.update(f"\0{package}={version(package)}".encode())
        except PackageNotFoundError:
            h.update(f"\0{package} absent".encode())
    for path in sorted(p for source in SOURCES for p in (root / source).rglob("*.py")):
        h.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "iomscore"


def build_yaml() -> str:
    """The document from the app itself, as YAML."""
    import yaml

    from service.main import app

    # libyaml's dumper writes the same text as the pure-Python one, eight times faster.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(app.openapi(), Dumper=dumper, sort_keys=False, allow_unicode=True)


def openapi_yaml() -> str:
    """The app's OpenAPI document as YAML: from the cache when the digest matches, else
    built (and kept: a cache that cannot be written only costs the next run the build)."""
    cached = cache_dir() / f"openapi-{digest()[:32]}.yaml"
    try:
        return cached.read_text()
    except OSError:
        pass
    text = build_yaml()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(cached)  # whole or not at all, for a run reading it meanwhile
    except OSError:
        pass
    return text
