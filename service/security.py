"""API-key authentication, roles and area scope.

Keys look like ``iom_<prefix>_<secret>``. The prefix finds the row; only a SHA-256 hash of
the secret is stored (the secret is 256 random bits, so a slow password hash adds nothing).
"""

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from models import ApiKey, Role
from service.config import Settings
from service.deps import SessionDep, SettingsDep
from service.errors import DomainError
from service.key_secrets import hash_secret
from service.oidc import SignInFailed, provider_for
from service.throttle import check_failure, throttle_for

log = logging.getLogger(__name__)

PERSON_LEVEL_ROLES = frozenset({Role.admin, Role.offender_manager, Role.integration})
IMPORT_ROLES = frozenset({Role.admin, Role.integration})


class Unauthenticated(DomainError):
    status, title, slug = 401, "Unauthenticated", "unauthenticated"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key (or the person, signed in through the identity provider),
    its role and the areas it may see (None: all)."""

    key_id: int | None
    name: str
    role: Role
    areas: frozenset[str] | None
    # The identity provider's subject of a person (None for a key): what the audit names.
    subject: str | None = None

    def can_see(self, area: str | None) -> bool:
        return self.areas is None or (area is not None and area in self.areas)


def _parse_key(raw: str) -> tuple[str, str] | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "iom" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class _KeyRow:
    """What a key check needs from its row, and when it was read (time.monotonic())."""

    key_id: int
    name: str
    role: Role
    areas: frozenset[str] | None
    secret_hash: str
    revoked_at: datetime | None
    expires_at: datetime | None
    read_at: float


# Key rows read by this process, by prefix: only keys that exist, so no larger than the
# key table. Revoking through this process drops its entry at once (`forget_key`).
_key_rows: dict[str, _KeyRow] = {}


def forget_key(prefix: str) -> None:
    """Drop a key's cached row (after a revocation), so the next request reads it again."""
    _key_rows.pop(prefix, None)


def _key_row(session: Session, prefix: str, max_age: float) -> _KeyRow | None:
    cached = _key_rows.get(prefix)
    if cached is not None and time.monotonic() - cached.read_at < max_age:
        return cached
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None:
        forget_key(prefix)
        return None
    row = _KeyRow(key_id=key.id or 0, name=key.name, role=key.role,
                  areas=None if key.areas is None else frozenset(key.areas),
                  secret_hash=key.secret_hash, revoked_at=key.revoked_at,
                  expires_at=key.expires_at, read_at=time.monotonic())
    if max_age > 0:
        _key_rows[prefix] = row
    return row


def _checked(key: _KeyRow | None, secret: str) -> Principal | None:
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        return None
    now = datetime.now(UTC)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return Principal(key_id=key.key_id, name=key.name, role=key.role, areas=key.areas)


def principal_for_cached_key(raw_key: str, *, max_age: float) -> Principal | None:
    """As `principal_for_key`, from a row this process read within `max_age` seconds only
    (no I/O); None when there is no such row or the key fails its checks."""
    parsed = _parse_key(raw_key)
    if parsed is None or max_age <= 0:
        return None
    prefix, secret = parsed
    cached = _key_rows.get(prefix)
    if cached is None or time.monotonic() - cached.read_at >= max_age:
        return None
    return _checked(cached, secret)


def principal_for_key(session: Session, raw_key: str, *,
                      max_age: float = 0.0) -> Principal | None:
    """The principal for a presented key, or None if it is unknown, revoked or expired.

    ``max_age`` (seconds) lets a row this process read that recently stand in for a fresh
    read; the secret, revocation and expiry are checked against it every time.
    """
    parsed = _parse_key(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    return _checked(_key_row(session, prefix, max_age), secret)


_bearer = HTTPBearer(auto_error=False, description=(
    "Authorization: Bearer <API key>, or an access token from the force's identity provider "
    "where the service is configured for them"))
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                               description="The API key, as an alternative to Bearer")


def _looks_like_jwt(raw: str) -> bool:
    return raw.count(".") == 2 and not raw.startswith("iom_")


def principal_for_access_token(settings: Settings, raw: str) -> Principal | None:
    """The system an identity provider's JWT access token names, with the role and areas
    its claims map to; None if the token is not valid or the API takes none (a token whose
    claims map to no role or no areas is refused with 403)."""
    provider = provider_for(settings)
    if provider is None or provider.api_audience is None:
        return None
    try:
        claims = provider.validate_access_token(raw)
    except SignInFailed as exc:
        log.warning("access token refused: %s", exc.detail)
        return None
    mapping = provider.mapping
    role, areas = mapping.role(claims), mapping.areas(claims)
    if role is None or areas == frozenset():
        raise Forbidden("the identity provider's token maps to no role or no areas here")
    return Principal(key_id=None, name=mapping.display_name(claims), role=role, areas=areas,
                     subject=str(claims["sub"]))


async def authenticate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    x_api_key: Annotated[str | None, Depends(_api_key_header)] = None,
) -> Principal:
    """The caller's principal from `Authorization: Bearer <key>` or `X-API-Key`, or a
    bearer access token from the identity provider where OIDC_API_AUDIENCE is set (401 if
    none; 429 once one address has failed too often).

    It runs on the event loop: a key whose row this worker read within
    API_KEY_CACHE_SECONDS is checked without I/O, and only a read of the key table, an
    identity provider's token or a failure goes to a worker thread (a hand-off per request
    cost under load: docs/benchmarks.md, "Under load"). It depends on as little as it can:
    FastAPI walks a dependency's whole tree wherever it is named (`CurrentPrincipal`), so
    the throttle is bound here, on a failure, rather than depended on.
    """
    raw = bearer.credentials if bearer is not None else x_api_key
    principal = None
    if raw:
        principal = principal_for_cached_key(raw, max_age=settings.api_key_cache_seconds)
        if principal is None:
            principal = await run_in_threadpool(
                _principal_from_store, session, settings, raw, bearer is not None)
    if principal is None:
        # Only failures are counted: a request with a good key writes nothing here.
        await run_in_threadpool(check_failure, throttle_for(session, settings), request)
        if not raw:
            raise Unauthenticated("send an API key as Authorization: Bearer <key> or "
                                  "X-API-Key", headers={"WWW-Authenticate": "Bearer"})
        raise Unauthenticated("the API key is unknown, revoked or expired",
                              headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


def _principal_from_store(session: Session, settings: Settings, raw: str,
                          bearer: bool) -> Principal | None:
    principal = principal_for_key(session, raw, max_age=settings.api_key_cache_seconds)
    if principal is None and bearer and _looks_like_jwt(raw):
        principal = principal_for_access_token(settings, raw)
    return principal


authenticate.checks_access = True  # type: ignore[attr-defined]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def authenticated(request: Request) -> Principal:
    """The principal `authenticate` found for this request; 401 where it has not run.

    `authenticate` is the dependency of every API router (service/main.py), and FastAPI
    solves a router's dependencies before a route's own, so it has run by the time a role
    check or an auditor asks. They take its answer from the request rather than depending
    on it again: FastAPI walks a dependency's whole tree (session, settings, both key
    headers) at every place it is named, even when its value is cached.
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated("send an API key as Authorization: Bearer <key> or X-API-Key",
                              headers={"WWW-Authenticate": "Bearer"})
    return principal


def require_roles(roles: frozenset[Role],
                  what: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits only `roles` (403 otherwise)."""

    # async: a check of the principal in hand, no I/O, so no hand-off to a worker thread
    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        if principal.role not in roles:
            log.warning("refused: role %s may not use %s", principal.role.value, what)
            raise Forbidden(f"role {principal.role.value} may not use {what}")
        return principal

    check.checks_access = True  # type: ignore[attr-defined]  # routes put it first (tests)
    return check


PersonLevel = Annotated[Principal, Depends(require_roles(PERSON_LEVEL_ROLES,
                                                          "person-level data"))]
Importer = Annotated[Principal, Depends(require_roles(IMPORT_ROLES, "imports"))]
Admin = Annotated[Principal, Depends(require_roles(frozenset({Role.admin}), "administration"))]
BatchRunner = Annotated[Principal, Depends(require_roles(IMPORT_ROLES, "batch score runs"))]


async def require_force_admin(principal: Admin) -> Principal:
    """Admins whose key is not limited to areas (403 otherwise): keys, console sessions, the
    audit trail and the threat model cross every area line (a key for any area, anyone's
    session and stated purpose, events about anyone, the model that ranks every area)."""
    if principal.areas is not None:
        log.warning("refused: an area-limited admin key may not use force administration")
        raise Forbidden("an area-limited admin key may not manage keys, console sessions or "
                        "the threat model, or read the audit trail; use a key for every area")
    return principal


require_force_admin.checks_access = True  # type: ignore[attr-defined]
ForceAdmin = Annotated[Principal, Depends(require_force_admin)]


JustificationHeader = Annotated[str, Header(
    description="Why this person-level data is needed (recorded in the audit trail)",
    min_length=1, max_length=1000, pattern=r"\S")]


async def get_justification(x_justification: JustificationHeader) -> str:
    """The caller's stated justification, required on person-level reads and exports."""
    return x_justification.strip()


Justification = Annotated[str, Depends(get_justification)]
