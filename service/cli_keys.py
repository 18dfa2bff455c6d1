"""The `iomscore keys` commands and the session the command line's database work uses."""

import argparse
import json
import sys

from service.config import get_settings
from service.rawdb import connect, supported


def cli_session():  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from service.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def parse_areas(text: str) -> list[str] | None:
    return None if text.strip().upper() == "ALL" else [a.strip() for a in text.split(",")
                                                        if a.strip()]


def issue_key(*, role: str, areas: list[str] | None, name: str) -> str:
    """Create an API key in the configured database and return the full key."""
    from models import ApiKeyCreate, Role
    from service.store.keys import create_key

    with cli_session() as session:
        _, full_key = create_key(session=session, key_in=ApiKeyCreate(
            name=name, role=Role(role), areas=areas))
    return full_key


def keys_create(args: argparse.Namespace) -> int:
    from service.errors import DomainError

    try:
        full_key = issue_key(role=args.role, areas=parse_areas(args.areas), name=args.name)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(full_key)  # stdout carries only the key, so scripts can capture it
    return 0


def _areas(value: str | list[str] | None) -> str:
    # A JSON column: SQLite hands back its text, psycopg the decoded list (or JSON null).
    areas = json.loads(value) if isinstance(value, str) else value
    return "ALL" if areas is None else ",".join(areas)


def keys_list(_args: argparse.Namespace) -> int:
    # The bare driver, not the models and the store: listing starts in a third of the time.
    url = get_settings().database_url
    if not supported(url):
        print("iomscore keys list: give a SQLite file or PostgreSQL DATABASE_URL",
              file=sys.stderr)
        return 2
    with connect(url) as conn:
        rows = conn.execute("SELECT id, prefix, role, areas, revoked_at, name FROM api_keys "
                            "ORDER BY id").fetchall()
    for key_id, prefix, role, areas, revoked_at, name in rows:
        state = "revoked" if revoked_at else "active"
        print(f"{key_id}\t{prefix}\t{role}\t{_areas(areas)}\t{state}\t{name}")
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    from service.errors import Conflict, NotFound
    from service.store.keys import revoke_key

    with cli_session() as session:
        try:
            revoke_key(session=session, key_id=args.key_id)
        except (NotFound, Conflict) as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
    print(f"key {args.key_id} revoked", file=sys.stderr)
    return 0
