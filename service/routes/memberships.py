"""Cohort memberships: adopt, list, read, update (exits) with optimistic concurrency, delete."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from models import AuditAction, MembershipCreate, MembershipRead, MembershipUpdate, Page
from models.enums import Cohort
from service.access import (
    require_area,
    visible_membership,
    visible_person,
)
from service.audit import AuditDep, changed_fields
from service.consultation import Consultation, ConsultationDep
from service.deps import DeletionDep, IdPath, IdQuery, IfMatchDep, PagingDep, SessionDep, etag
from service.errors import responses
from service.security import Admin, Justification, PersonLevel
from service.store import erasure
from service.store import memberships as store

router = APIRouter(prefix="/cohort/memberships", tags=["cohort"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MembershipRead,
             responses=responses(403, 404, 409, 422))
def create_membership(membership_in: MembershipCreate, session: SessionDep, _: PersonLevel,
                      audit: AuditDep, response: Response) -> MembershipRead:
    """Adopt a person into a cohort stream (409 if it overlaps one of that stream)."""
    # The person must be visible to the key, not only the membership's area: otherwise a
    # back-dated membership in the key's area would bring anyone onto its lists.
    visible_person(session, audit, membership_in.person_id)
    require_area(audit, membership_in.area, field="area")
    membership = store.create_membership(session=session, membership_in=membership_in)
    audit.record(AuditAction.collection, person_ids=[membership.person_id], status=201,
                 detail=f"membership {membership.id}")
    response.headers["ETag"] = etag(membership.version)
    response.headers["Location"] = f"/cohort/memberships/{membership.id}"
    return MembershipRead.model_validate(membership)


@router.get("", response_model=Page[MembershipRead], responses=responses(403, 422))
def list_memberships(
    principal: PersonLevel,
    session: SessionDep,
    paging: PagingDep,
    justification: Justification,
    audit: AuditDep,
    active: Annotated[bool | None, Query(description="true: not yet exited")] = None,
    area: Annotated[str | None, Query()] = None,
    cohort: Annotated[Cohort | None, Query()] = None,
    stream: Annotated[str | None, Query()] = None,
    person_id: IdQuery = None,
) -> Page[MembershipRead]:
    """Memberships in the caller's areas, filtered by activity, area, cohort, stream, person."""
    rows, total = store.find_memberships(session=session, paging=paging, active=active,
                                         area=area, cohort=cohort, stream=stream,
                                         person_id=person_id, areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[r.person_id for r in rows],
                 justification=justification, detail="memberships")
    return Page(items=[MembershipRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/{membership_id}", response_model=MembershipRead,
            responses=responses(403, 404, 422))
async def get_membership(membership_id: IdPath, consultation: ConsultationDep,
                         response: Response) -> MembershipRead:
    """One membership, with its ETag."""
    membership = await run_in_threadpool(_consult_membership, consultation, membership_id)
    response.headers["ETag"] = etag(membership.version)
    return membership


def _consult_membership(consultation: Consultation, membership_id: int) -> MembershipRead:
    membership = visible_membership(consultation.session, consultation.audit, membership_id)
    consultation.record([membership.person_id], detail=f"membership {membership_id}")
    return MembershipRead.model_validate(membership)


@router.patch("/{membership_id}", response_model=MembershipRead,
              responses=responses(403, 404, 409, 412, 422, 428))
def update_membership(membership_id: IdPath, changes: MembershipUpdate, session: SessionDep,
                      _: PersonLevel, audit: AuditDep, expected_version: IfMatchDep,
                      response: Response) -> MembershipRead:
    """Update a membership, e.g. record its exit; needs If-Match (412 if stale)."""
    visible_membership(session, audit, membership_id)
    require_area(audit, changes.area, field="area")
    membership = store.update_membership(session=session, membership_id=membership_id,
                                         changes=changes, expected_version=expected_version)
    audit.record(AuditAction.alteration, person_ids=[membership.person_id],
                 detail=f"membership {membership_id}: {changed_fields(changes)}")
    response.headers["ETag"] = etag(membership.version)
    return MembershipRead.model_validate(membership)


@router.delete("/{membership_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(403, 404, 422))
def delete_membership(_: Admin, membership_id: IdPath, deletion: DeletionDep,
                      session: SessionDep, justification: Justification,
                      audit: AuditDep) -> Response:
    """Delete a membership recorded in error (admins); to record an exit, PATCH it instead.
    A decision that created it stays, unlinked."""
    membership = visible_membership(session, audit, membership_id)
    person_id = membership.person_id
    erasure.delete_membership(session=session, membership=membership,
                             reason=deletion.reason)
    audit.record(AuditAction.erasure, person_ids=[person_id], justification=justification,
                 status=204, detail=deletion.detail(f"membership {membership_id}"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
