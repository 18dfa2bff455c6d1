"""API-key authentication, roles and area scope.

Keys look like ``iom_<prefix>_<secret>``. The prefix finds the row; only a SHA-256 hash of
the secret is stored (the secret is 256 random bits, so a slow password hash adds nothing).
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from models import ApiKey, Role
from service.deps import SessionDep
from service.errors import DomainError

log = logging.getLogger(__name__)

PERSON_LEVEL_ROLES = frozenset({Role.admin, Role.offender_manager, Role.integration})
IMPORT_ROLES = frozenset({Role.admin, Role.integration})


class Unauthenticated(DomainError):
    status, title, slug = 401, "Unauthenticated", "unauthenticated"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its role and the areas it may see (None: all)."""

    key_id: int
    name: str
    role: Role
    areas: frozenset[str] | None

    def can_see(self, area: str | None) -> bool:
        return self.areas is None or (area is not None and area in self.areas)


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_material() -> tuple[str, str, str]:
    """A fresh key: (full key to hand out once, prefix, hash of the secret)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"iom_{prefix}_{secret}", prefix, hash_secret(secret)


def _parse_key(raw: str) -> tuple[str, str] | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "iom" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def principal_for_key(session: Session, raw_key: str) -> Principal | None:
    """The principal for a presented key, or None if it is unknown, revoked or expired."""
    parsed = _parse_key(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        return None
    now = datetime.now(UTC)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return Principal(key_id=key.id or 0, name=key.name, role=key.role,
                     areas=None if key.areas is None else frozenset(key.areas))


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                               description="The API key, as an alternative to Bearer")


def authenticate(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    x_api_key: Annotated[str | None, Depends(_api_key_header)] = None,
) -> Principal:
    """The caller's principal from `Authorization: Bearer <key>` or `X-API-Key` (401 if none)."""
    raw = bearer.credentials if bearer is not None else x_api_key
    if not raw:
        raise Unauthenticated("send an API key as Authorization: Bearer <key> or X-API-Key",
                              headers={"WWW-Authenticate": "Bearer"})
    principal = principal_for_key(session, raw)
    if principal is None:
        raise Unauthenticated("the API key is unknown, revoked or expired",
                              headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


authenticate.checks_access = True  # type: ignore[attr-defined]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(roles: frozenset[Role], what: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only `roles` (403 otherwise)."""

    def check(principal: CurrentPrincipal) -> Principal:
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


def require_force_admin(principal: Admin) -> Principal:
    """Admins whose key is not limited to areas (403 otherwise): keys and the audit trail
    cross every area line (a key for any area, events about anyone)."""
    if principal.areas is not None:
        log.warning("refused: an area-limited admin key may not use force administration")
        raise Forbidden("an area-limited admin key may not manage keys or read the audit "
                        "trail; use a key for every area")
    return principal


require_force_admin.checks_access = True  # type: ignore[attr-defined]
ForceAdmin = Annotated[Principal, Depends(require_force_admin)]


def get_justification(
    x_justification: Annotated[str, Header(
        description="Why this person-level data is needed (recorded in the audit trail)",
        min_length=1, max_length=1000, pattern=r"\S")],
) -> str:
    """The caller's stated justification, required on person-level reads and exports."""
    return x_justification.strip()


Justification = Annotated[str, Depends(get_justification)]
