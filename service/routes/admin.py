"""Administration: API keys, console sessions, the audit trail (admins with an all-areas key)
and the retention review (admins, within their areas)."""

from datetime import UTC, date, datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, status

from models import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    AuditAction,
    AuditEventRead,
    ConsoleSessionRead,
    Page,
)
from models.base import IsoDate, UtcSearchBound
from models.enums import RetentionActivity
from models.retention import RetentionCandidate, RetentionReviewRead
from scoring.uk_calendar import uk_today
from service.audit import AuditDep
from service.deps import IdPath, IdQuery, PagingDep, RetentionRuleDep, SessionDep
from service.errors import invalid_field, responses
from service.security import Admin, ForceAdmin, Justification
from service.store import audit as audit_store
from service.store import keys as key_store
from service.store import retention as retention_store
from service.store import sessions as session_store

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyIssued,
             responses=responses(403, 422))
def create_key(_: ForceAdmin, key_in: ApiKeyCreate, session: SessionDep) -> ApiKeyIssued:
    """Issue an API key; the full key is in this response only (just its hash is kept)."""
    key, full_key = key_store.create_key(session=session, key_in=key_in)
    return ApiKeyIssued(**ApiKeyRead.model_validate(key).model_dump(), key=full_key)


@router.get("/keys", response_model=Page[ApiKeyRead], responses=responses(403, 422))
def list_keys(_: ForceAdmin, session: SessionDep, paging: PagingDep) -> Page[ApiKeyRead]:
    """Every API key with its role, areas and state (never the secret)."""
    rows, total = key_store.list_keys(session=session, paging=paging)
    return Page(items=[ApiKeyRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyRead,
             responses=responses(403, 404, 409, 422))
def revoke_key(principal: ForceAdmin, key_id: IdPath, session: SessionDep) -> ApiKeyRead:
    """Revoke a key; it stops working at once. Not the caller's own key, nor the last
    working admin key (409: either would lock administrators out)."""
    return ApiKeyRead.model_validate(key_store.revoke_key(session=session, key_id=key_id,
                                                         revoked_by=principal.key_id))


@router.get("/sessions", response_model=Page[ConsoleSessionRead], responses=responses(403, 422))
def list_sessions(_: ForceAdmin, session: SessionDep, paging: PagingDep,
                  live: bool = True) -> Page[ConsoleSessionRead]:
    """Console sessions of every area (so an all-areas admin key only), newest first: who,
    role, areas, purpose, expiry (`live=false` includes ended ones). Never the session
    token: only its hash is kept."""
    rows, total = session_store.list_sessions(session=session, paging=paging, live_only=live)
    return Page(items=[ConsoleSessionRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.delete("/sessions/{session_id}", response_model=ConsoleSessionRead,
               responses=responses(403, 404, 422))
def revoke_session(_: ForceAdmin, session_id: IdPath, session: SessionDep) -> ConsoleSessionRead:
    """End a console session at once (its next page asks the browser to sign in again);
    an all-areas admin key only."""
    return ConsoleSessionRead.model_validate(
        session_store.revoke_session(session=session, session_id=session_id))


@router.get("/audit", response_model=Page[AuditEventRead], responses=responses(403, 422))
def list_audit_events(
    _: ForceAdmin,
    session: SessionDep,
    paging: PagingDep,
    person_id: IdQuery = None,
    key: IdQuery = None,
    actor: Annotated[str | None, Query(max_length=300, description=(
        "The identity provider's subject of a person signed in to the console"))] = None,
    from_: Annotated[UtcSearchBound | None, Query(alias="from")] = None,
    to: Annotated[UtcSearchBound | None, Query()] = None,
) -> Page[AuditEventRead]:
    """The audit trail, by person, key or signed-in person, and time (append-only: there is
    no way to change it)."""
    rows, total = audit_store.find_events(session=session, paging=paging, person_id=person_id,
                                          key_id=key, actor=actor, from_=from_, to=to)
    return Page(items=[AuditEventRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


def _day(value: object) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()  # type: ignore[arg-type]


@router.get("/retention", response_model=RetentionReviewRead, responses=responses(403, 422))
def retention_review(
    principal: Admin, session: SessionDep, paging: PagingDep, rule: RetentionRuleDep,
    justification: Justification, audit: AuditDep,
    as_of: Annotated[IsoDate | None, Query(description="Default: today")] = None,
) -> RetentionReviewRead:
    """People due for a records review under the force's retention rule (by default, an
    indicative six years with no offence, custody or active membership; deaths are listed
    too), oldest activity first. It lists; it never deletes: each erasure is a separate,
    audited DELETE /persons/{id} with reason retention_review."""
    today = uk_today()
    day = as_of or today
    if day > today:
        raise invalid_field(["query", "as_of"], "as_of cannot be in the future")
    areas = None if principal.areas is None else sorted(principal.areas)
    due = retention_store.people_due(session=session, rule=rule, as_of=day, areas=areas)
    page = due.iloc[paging.offset:paging.offset + paging.limit]
    items = [RetentionCandidate(
        person_id=int(row.person_id), home_area=str(row.home_area),
        last_offence_on=_day(row.last_offence_on), last_custody_on=_day(row.last_custody_on),
        last_membership_on=_day(row.last_membership_on),
        last_activity_on=_day(row.last_activity_on), review_due_on=_day(row.review_due_on),
        deceased_on=_day(row.deceased_on), reason=row.reason,
    ) for row in page.itertuples(index=False)]
    audit.record(AuditAction.consultation, person_ids=[i.person_id for i in items],
                 justification=justification, detail=f"retention review as of {day}")
    return RetentionReviewRead(as_of=day, rule_version=rule.version,
                               quiet_years=rule.quiet_years,
                               activity=[RetentionActivity(a) for a in rule.activity],
                               generated_at=datetime.now(UTC), total=len(due),
                               limit=paging.limit, offset=paging.offset, items=items)
