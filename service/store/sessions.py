"""Console sessions kept in the database: start, find a live one, touch, end, list, and the
sign-in attempts of the OpenID Connect flow.

The browser holds a random token; only its SHA-256 is stored, so a copy of the table signs
no one in. Ending a session (sign-out, an admin's revocation) stamps `revoked_at`, and every
request looks the row up, so it ends at once.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from models import ApiKey, ConsoleSession, Role, SignInAttempt
from models.base import utcnow
from service.deps import Paging
from service.store.common import get_or_404, page

# last_seen_at is written at most this often: idle expiry needs no finer grain, and a
# write on every page would cost every request a commit.
TOUCH_EVERY = timedelta(minutes=1)
# A sign-in left half-way at the provider is forgotten after this long.
ATTEMPT_LIFETIME = timedelta(minutes=10)
# Sessions past their lifetime are kept this long (who was signed in when, for an
# investigation), then deleted at a later sign-in; the audit keeps what each person did.
ENDED_KEPT = timedelta(days=90)


def token_hash(token: str) -> str:
    """The stored form of a session token or a sign-in state (256 random bits: a fast hash
    is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lasts: idle, and at most."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Who:
    """Who a new session is for."""

    method: str  # "oidc" or "key"
    display_name: str
    role: Role
    areas: list[str] | None
    key_id: int | None = None
    issuer: str | None = None
    subject: str | None = None


def start_session(*, session: Session, who: Who, lifetimes: Lifetimes) -> str:
    """Store a new session and return its token (for the cookie; never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.exec(delete(ConsoleSession)  # type: ignore[call-overload]
                 .where(col(ConsoleSession.expires_at) < now - ENDED_KEPT))
    session.add(ConsoleSession(
        token_hash=token_hash(token), method=who.method, key_id=who.key_id,
        issuer=who.issuer, subject=who.subject, display_name=who.display_name[:200],
        role=who.role, areas=None if who.areas is None else sorted(set(who.areas)),
        created_at=now, last_seen_at=now, expires_at=now + lifetimes.absolute))
    session.commit()
    return token


def live_session(*, session: Session, token: str, lifetimes: Lifetimes,
                 now: datetime | None = None) -> ConsoleSession | None:
    """The session a token opens, or None if it is unknown, ended, idle too long or past
    its lifetime; a key's session also ends with its key. Touches `last_seen_at`."""
    row = session.exec(select(ConsoleSession)
                       .where(ConsoleSession.token_hash == token_hash(token))).first()
    now = now or utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now \
            or row.last_seen_at + lifetimes.idle <= now:
        return None
    if row.key_id is not None:
        key = session.get(ApiKey, row.key_id)
        if key is None or key.revoked_at is not None \
                or (key.expires_at is not None and key.expires_at <= now):
            return None
        # The key's role and areas as they are now, not as they were at sign-in.
        row.role, row.areas = key.role, key.areas
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def end_session(*, session: Session, row: ConsoleSession) -> ConsoleSession:
    """End a session at once (sign-out, revocation); ending one already ended is a no-op."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def revoke_session(*, session: Session, session_id: int) -> ConsoleSession:
    """An admin's revocation of one session (404 if there is none)."""
    return end_session(session=session, row=get_or_404(session, ConsoleSession, session_id,
                                                       what="session"))


def list_sessions(*, session: Session, paging: Paging,
                  live_only: bool) -> tuple[list[ConsoleSession], int]:
    """Sessions, newest first; `live_only` leaves out those ended or past their lifetime."""
    query = select(ConsoleSession)
    if live_only:
        query = query.where(col(ConsoleSession.revoked_at).is_(None),
                            col(ConsoleSession.expires_at) > utcnow())
    return page(session, query, paging, col(ConsoleSession.id).desc())


def set_purpose(*, session: Session, row: ConsoleSession, purpose: str) -> None:
    """Keep the purpose the person stated for this session."""
    row.purpose = purpose
    session.add(row)
    session.commit()


def start_attempt(*, session: Session, state: str, nonce: str, code_verifier: str,
                  next_url: str) -> None:
    """Remember a sign-in sent to the provider (and forget those left long ago)."""
    session.exec(delete(SignInAttempt)  # type: ignore[call-overload]
                 .where(col(SignInAttempt.created_at) < utcnow() - ATTEMPT_LIFETIME))
    session.add(SignInAttempt(state_hash=token_hash(state), nonce=nonce,
                              code_verifier=code_verifier, next_url=next_url))
    session.commit()


def take_attempt(*, session: Session, state: str) -> SignInAttempt | None:
    """The sign-in a callback's state belongs to, used once (None if unknown or stale)."""
    row = session.exec(select(SignInAttempt)
                       .where(SignInAttempt.state_hash == token_hash(state))).first()
    if row is None:
        return None
    session.delete(row)
    session.commit()
    return row if utcnow() - row.created_at < ATTEMPT_LIFETIME else None
