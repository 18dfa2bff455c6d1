"""The `iomscore` command line: migrate, serve, demo data, OpenAPI export."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from service.config import get_settings
from service.demo.generate import DEFAULT_SEED

Handler = Callable[[argparse.Namespace], int]


def _migrate(_args: argparse.Namespace) -> int:
    from service.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    _migrate(args)
    # uvicorn's own access log prints raw paths and query strings (which can hold a PNC
    # ID); the app logs requests itself, by route template.
    uvicorn.run("service.main:app", host=args.host, port=args.port, workers=args.workers,
                log_level=get_settings().log_level.lower(), access_log=False,
                log_config=None)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.db import get_engine
    from service.demo import DemoDataExists, count_persons, generate_demo, load_demo
    from service.migrate import upgrade

    upgrade(get_settings().database_url)
    engine = get_engine()
    if args.if_empty and count_persons(engine):
        print("demo data not loaded: the register already holds people", file=sys.stderr)
    else:
        try:
            counts = load_demo(engine, generate_demo(seed=args.seed, people=args.people))
        except (DemoDataExists, ValueError) as exc:
            print(f"iomscore demo: {exc}", file=sys.stderr)
            return 1
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        print(f"demo data loaded (seed {args.seed}): {summary}", file=sys.stderr)
    # Every route but /health needs a key: hand the person trying the demo one that works.
    print("admin API key for the demo (send as 'Authorization: Bearer <key>'):",
          file=sys.stderr)
    print(issue_key(role="admin", areas=None, name="demo admin"))
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from service.main import app

    text = yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0


def _session():  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from service.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def _parse_areas(text: str) -> list[str] | None:
    return None if text.strip().upper() == "ALL" else [a.strip() for a in text.split(",")
                                                        if a.strip()]


def issue_key(*, role: str, areas: list[str] | None, name: str) -> str:
    """Create an API key in the configured database and return the full key."""
    from models import ApiKeyCreate, Role
    from service.store.keys import create_key

    with _session() as session:
        _, full_key = create_key(session=session, key_in=ApiKeyCreate(
            name=name, role=Role(role), areas=areas))
    return full_key


def _keys_create(args: argparse.Namespace) -> int:
    from service.errors import DomainError

    try:
        full_key = issue_key(role=args.role, areas=_parse_areas(args.areas), name=args.name)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(full_key)  # stdout carries only the key, so scripts can capture it
    return 0


def _keys_list(_args: argparse.Namespace) -> int:
    from sqlmodel import select

    from models import ApiKey

    with _session() as session:
        for key in session.exec(select(ApiKey).order_by(ApiKey.id)):  # type: ignore[arg-type]
            state = "revoked" if key.revoked_at else "active"
            areas = "ALL" if key.areas is None else ",".join(key.areas)
            print(f"{key.id}\t{key.prefix}\t{key.role.value}\t{areas}\t{state}\t{key.name}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from service.errors import NotFound
    from service.store.keys import revoke_key

    with _session() as session:
        try:
            revoke_key(session=session, key_id=args.key_id)
        except NotFound as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
    print(f"key {args.key_id} revoked", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="iomscore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        handler=_migrate)

    serve = sub.add_parser("serve", help="migrate, then run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command",
                                                                          required=True)
    create = keys.add_parser("create", help="issue a key and print it on stdout")
    create.add_argument("--role", required=True,
                        choices=["admin", "offender_manager", "analyst", "integration"])
    create.add_argument("--areas", default="ALL", help="ALL or comma-separated area codes")
    create.add_argument("--name", default="cli")
    create.set_defaults(handler=_keys_create)
    keys.add_parser("list", help="list keys (never the secrets)").set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id", type=int)
    revoke.set_defaults(handler=_keys_revoke)

    demo = sub.add_parser("demo", help="migrate, then load a synthetic force area")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--people", type=int, default=30_000)
    demo.add_argument("--if-empty", action="store_true",
                      help="do nothing (and succeed) if the register already holds people")
    demo.set_defaults(handler=_demo)

    openapi = sub.add_parser("openapi", help="write the app's OpenAPI document as YAML")
    openapi.add_argument("--output", default="openapi.yaml", help="file, or - for stdout")
    openapi.set_defaults(handler=_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the `iomscore` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())


