"""Administration: API keys and the audit trail (admin role only)."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from models import ApiKeyCreate, ApiKeyIssued, ApiKeyRead, AuditEventRead, Page
from models.base import UtcSearchBound
from service.deps import IdPath, IdQuery, PagingDep, SessionDep
from service.errors import responses
from service.security import Admin
from service.store import audit as audit_store
from service.store import keys as key_store

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyIssued,
             responses=responses(403, 422))
def create_key(key_in: ApiKeyCreate, session: SessionDep, _: Admin) -> ApiKeyIssued:
    """Issue an API key; the full key is in this response only (just its hash is kept)."""
    key, full_key = key_store.create_key(session=session, key_in=key_in)
    return ApiKeyIssued(**ApiKeyRead.model_validate(key).model_dump(), key=full_key)


@router.get("/keys", response_model=Page[ApiKeyRead], responses=responses(403, 422))
def list_keys(_: Admin, session: SessionDep, paging: PagingDep) -> Page[ApiKeyRead]:
    """Every API key with its role, areas and state (never the secret)."""
    rows, total = key_store.list_keys(session=session, paging=paging)
    return Page(items=[ApiKeyRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyRead,
             responses=responses(403, 404, 409, 422))
def revoke_key(principal: Admin, key_id: IdPath, session: SessionDep) -> ApiKeyRead:
    """Revoke a key; it stops working at once. Not the caller's own key, nor the last
    working admin key (409: either would lock administrators out)."""
    return ApiKeyRead.model_validate(key_store.revoke_key(session=session, key_id=key_id,
                                                         revoked_by=principal.key_id))


@router.get("/audit", response_model=Page[AuditEventRead], responses=responses(403, 422))
def list_audit_events(
    _: Admin,
    session: SessionDep,
    paging: PagingDep,
    person_id: IdQuery = None,
    key: IdQuery = None,
    from_: Annotated[UtcSearchBound | None, Query(alias="from")] = None,
    to: Annotated[UtcSearchBound | None, Query()] = None,
) -> Page[AuditEventRead]:
    """The audit trail, by person, key and time (append-only: there is no way to change it)."""
    rows, total = audit_store.find_events(session=session, paging=paging, person_id=person_id,
                                          key_id=key, from_=from_, to=to)
    return Page(items=[AuditEventRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)
