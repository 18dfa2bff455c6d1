"""The `iomscore keys` commands and the session the command line's database work uses.

The keys commands use the bare driver (service.rawdb), not the models and the store: those
cost more than a second of imports, more than issuing or revoking a key takes in all
(issue 16). They write the rows service.store.keys writes, and refuse what it refuses."""

import argparse
import json
import sys
from datetime import UTC, datetime

from service.key_secrets import LAST_ADMIN_KEY, areas_refusal, new_key_material
from service.rawdb import (
    NoSchema,
    RawConnection,
    connect,
    execute,
    is_sqlite,
    json_value,
    supported,
    timestamp,
)


class KeyRefused(Exception):
    """What the store would answer 404, 409 or 422: the message says why."""


def cli_session():  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from service.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def parse_areas(text: str) -> list[str] | None:
    return None if text.strip().upper() == "ALL" else [a.strip() for a in text.split(",")
                                                        if a.strip()]


def command_database_url(command: str) -> str | None:
    """DATABASE_URL if the bare driver can use it; None, having said why, if not."""
    # Imported here, when a command runs: pydantic is most of what `--help` would cost.
    from service.config import get_settings

    url = get_settings().database_url
    if supported(url):
        return url
    print(f"iomscore {command}: give a SQLite file or PostgreSQL DATABASE_URL", file=sys.stderr)
    return None


def no_schema(command: str) -> int:
    print(f"iomscore {command}: the database has no schema: run `iomscore migrate`",
          file=sys.stderr)
    return 1


def issue_key(*, role: str, areas: list[str] | None, name: str) -> str:
    """Create an API key in the configured database and return the full key (KeyRefused for
    an unknown area, as the store refuses one)."""
    from service.config import get_settings

    with connect(get_settings().database_url, write=True) as conn:
        if areas is not None:
            known = {code for (code,) in execute(conn, "SELECT code FROM areas").fetchall()}
            refusal = areas_refusal(areas, known)
            if refusal is not None:
                raise KeyRefused(refusal)
        full_key, prefix, secret_hash = new_key_material()
        execute(conn, "INSERT INTO api_keys (name, role, areas, prefix, secret_hash, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, role, json_value(conn, None if areas is None else sorted(set(areas))),
                 prefix, secret_hash, timestamp(conn, datetime.now(UTC))))
    return full_key


def keys_create(args: argparse.Namespace) -> int:
    if command_database_url("keys create") is None:
        return 2
    try:
        full_key = issue_key(role=args.role, areas=parse_areas(args.areas), name=args.name)
    except KeyRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NoSchema:
        return no_schema("keys create")
    print(full_key)  # stdout carries only the key, so scripts can capture it
    return 0


def _areas(value: str | list[str] | None) -> str:
    # A JSON column: SQLite hands back its text, psycopg the decoded list (or JSON null).
    areas = json.loads(value) if isinstance(value, str) else value
    return "ALL" if areas is None else ",".join(areas)


def keys_list(_args: argparse.Namespace) -> int:
    url = command_database_url("keys list")
    if url is None:
        return 2
    try:
        with connect(url) as conn:
            rows = conn.execute("SELECT id, prefix, role, areas, revoked_at, name "
                                "FROM api_keys ORDER BY id").fetchall()
    except NoSchema:
        return no_schema("keys list")
    for key_id, prefix, role, areas, revoked_at, name in rows:
        state = "revoked" if revoked_at else "active"
        print(f"{key_id}\t{prefix}\t{role}\t{_areas(areas)}\t{state}\t{name}")
    return 0


def _revoke(conn: RawConnection, key_id: int) -> None:
    """As service.store.keys.revoke_key: idempotent, never the last working admin key."""
    lock = "" if is_sqlite(conn) else " FOR UPDATE"  # SQLite: BEGIN IMMEDIATE serialises
    row = execute(conn, "SELECT role, revoked_at FROM api_keys WHERE id = ?" + lock,
                  (key_id,)).fetchone()
    if row is None:
        raise KeyRefused(f"API key {key_id} not found")
    role, revoked_at = row
    if revoked_at is not None:
        return
    now = timestamp(conn, datetime.now(UTC))
    if role == "admin":
        # The same row locks as the store takes, so two revocations cannot both succeed.
        working = {i for (i,) in execute(
            conn, "SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
                  "AND (expires_at IS NULL OR expires_at > ?) ORDER BY id" + lock,
            (now,)).fetchall()}
        if working <= {key_id}:
            raise KeyRefused(LAST_ADMIN_KEY)
    execute(conn, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, key_id))


def keys_revoke(args: argparse.Namespace) -> int:
    url = command_database_url("keys revoke")
    if url is None:
        return 2
    try:
        with connect(url, write=True) as conn:
            _revoke(conn, args.key_id)
    except KeyRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NoSchema:
        return no_schema("keys revoke")
    print(f"key {args.key_id} revoked", file=sys.stderr)
    return 0
