"""The `iomscore keys` commands and the session the command line's database work uses."""

import argparse
import sys


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


def keys_list(_args: argparse.Namespace) -> int:
    from sqlmodel import select

    from models import ApiKey

    with cli_session() as session:
        for key in session.exec(select(ApiKey).order_by(ApiKey.id)):  # type: ignore[arg-type]
            state = "revoked" if key.revoked_at else "active"
            areas = "ALL" if key.areas is None else ",".join(key.areas)
            print(f"{key.id}\t{key.prefix}\t{key.role.value}\t{areas}\t{state}\t{key.name}")
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
