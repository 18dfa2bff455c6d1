"""Cohort memberships: adopt, list, read, update (exits) with optimistic concurrency."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from models import CohortMembership, MembershipCreate, MembershipRead, MembershipUpdate, Page
from models.enums import Cohort
from service.deps import IfMatchDep, PagingDep, SessionDep, etag
from service.errors import responses
from service.store import memberships as store
from service.store.common import get_or_404

router = APIRouter(prefix="/cohort/memberships", tags=["cohort"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MembershipRead,
             responses=responses(409, 422))
def create_membership(membership_in: MembershipCreate, session: SessionDep,
                      response: Response) -> MembershipRead:
    """Adopt a person into a cohort stream (409 if it overlaps one of that stream)."""
    membership = store.create_membership(session=session, membership_in=membership_in)
    response.headers["ETag"] = etag(membership.version)
    response.headers["Location"] = f"/cohort/memberships/{membership.id}"
    return MembershipRead.model_validate(membership)


@router.get("", response_model=Page[MembershipRead], responses=responses(422))
def list_memberships(
    session: SessionDep,
    paging: PagingDep,
    active: Annotated[bool | None, Query(description="true: not yet exited")] = None,
    area: Annotated[str | None, Query()] = None,
    cohort: Annotated[Cohort | None, Query()] = None,
    stream: Annotated[str | None, Query()] = None,
    person_id: Annotated[int | None, Query()] = None,
) -> Page[MembershipRead]:
    """Memberships, filtered by activity, area, cohort, stream or person."""
    rows, total = store.find_memberships(session=session, paging=paging, active=active,
                                         area=area, cohort=cohort, stream=stream,
                                         person_id=person_id)
    return Page(items=[MembershipRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/{membership_id}", response_model=MembershipRead, responses=responses(404))
def get_membership(membership_id: int, session: SessionDep,
                   response: Response) -> MembershipRead:
    """One membership, with its ETag."""
    membership = get_or_404(session, CohortMembership, membership_id, what="membership")
    response.headers["ETag"] = etag(membership.version)
    return MembershipRead.model_validate(membership)


@router.patch("/{membership_id}", response_model=MembershipRead,
              responses=responses(404, 409, 412, 422, 428))
def update_membership(membership_id: int, changes: MembershipUpdate, session: SessionDep,
                      expected_version: IfMatchDep, response: Response) -> MembershipRead:
    """Update a membership, e.g. record its exit; needs If-Match (412 if stale)."""
    membership = store.update_membership(session=session, membership_id=membership_id,
                                         changes=changes, expected_version=expected_version)
    response.headers["ETag"] = etag(membership.version)
    return MembershipRead.model_validate(membership)
