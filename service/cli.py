"""The `iomscore` command line: migrate, serve, demo data, OpenAPI export."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from service.config import get_settings

Handler = Callable[[argparse.Namespace], int]


def _migrate(_args: argparse.Namespace) -> int:
    from service.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    _migrate(args)
    uvicorn.run("service.main:app", host=args.host, port=args.port, workers=args.workers,
                log_level=get_settings().log_level.lower())
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from service.main import app

    text = yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
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


