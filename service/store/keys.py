"""API keys: issue (the full key is returned once), list, revoke."""

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from models import ApiKey, ApiKeyCreate, Area, Role
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.key_secrets import LAST_ADMIN_KEY, areas_refusal, new_key_material
from service.security import forget_key
from service.store.common import get_or_404, page


def create_key(*, session: Session, key_in: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Store a new key's hash; returns the row and the full key (never stored)."""
    if key_in.areas is not None:
        refusal = areas_refusal(key_in.areas, set(session.exec(select(Area.code)).all()))
        if refusal is not None:
            raise invalid_field(["body", "areas"], refusal)
    if key_in.expires_at is not None and key_in.expires_at.tzinfo is None:
        raise invalid_field(["body", "expires_at"], "needs a time zone",
                            detail="expires_at needs a time zone")
    full_key, prefix, secret_hash = new_key_material()
    key = ApiKey(name=key_in.name, role=key_in.role,
                 areas=None if key_in.areas is None else sorted(set(key_in.areas)),
                 prefix=prefix, secret_hash=secret_hash, expires_at=key_in.expires_at)
    session.add(key)
    session.commit()
    session.refresh(key)
    return key, full_key


def list_keys(*, session: Session, paging: Paging) -> tuple[list[ApiKey], int]:
    """Every key (hashes are never returned), oldest first."""
    return page(session, select(ApiKey), paging, ApiKey.id)


def revoke_key(*, session: Session, key_id: int, revoked_by: int | None = None) -> ApiKey:
    """Revoke a key from now on (idempotent: a revoked key keeps its first revocation time).

    Refused (409) for the caller's own key (`revoked_by`) and for the last working admin
    key: either would lock the administrators out of the service.
    """
    key = get_or_404(session, ApiKey, key_id, what="API key")
    if key.revoked_at is not None:
        return key
    if revoked_by is not None and key.id == revoked_by:
        raise Conflict("a key cannot revoke itself: revoke it with another admin key")
    now = datetime.now(UTC)
    if key.role == Role.admin:
        # Row locks on the admin keys, so two admins revoking each other at once cannot
        # both succeed on PostgreSQL (SQLite serialises writers anyway).
        admins = session.exec(select(ApiKey).where(
            ApiKey.role == Role.admin, col(ApiKey.revoked_at).is_(None)).with_for_update()).all()
        working = [k for k in admins if k.expires_at is None or k.expires_at > now]
        if all(k.id == key.id for k in working):
            raise Conflict(LAST_ADMIN_KEY)
    key.revoked_at = now
    session.add(key)
    session.commit()
    forget_key(key.prefix)
    session.refresh(key)
    return key
