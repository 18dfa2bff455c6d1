"""People: create, read, search by PNC ID, update."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from models import Page, PersonCreate, PersonRead, PersonUpdate
from service.deps import IfMatchDep, PagingDep, SessionDep, etag
from service.errors import responses
from service.store import persons as store
from service.store.common import person_or_404

router = APIRouter(prefix="/persons", tags=["persons"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead,
             responses=responses(409, 422))
def create_person(person_in: PersonCreate, session: SessionDep, response: Response) -> PersonRead:
    """Add a person to the register (PNC ID validated and stored in canonical form)."""
    person = store.create_person(session=session, person_in=person_in)
    response.headers["ETag"] = etag(person.version)
    response.headers["Location"] = f"/persons/{person.id}"
    return PersonRead.model_validate(person)


@router.get("", response_model=Page[PersonRead], responses=responses(422))
def list_persons(
    session: SessionDep,
    paging: PagingDep,
    pnc_id: Annotated[str | None, Query(description="Full or short form PNC ID")] = None,
    home_area: Annotated[str | None, Query()] = None,
) -> Page[PersonRead]:
    """List people, optionally by PNC ID or home area."""
    rows, total = store.find_persons(session=session, paging=paging, pnc_id=pnc_id,
                                     home_area=home_area)
    return Page(items=[PersonRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/{person_id}", response_model=PersonRead, responses=responses(404))
def get_person(person_id: int, session: SessionDep, response: Response) -> PersonRead:
    """One person, with an ETag for later updates."""
    person = person_or_404(session, person_id)
    response.headers["ETag"] = etag(person.version)
    return PersonRead.model_validate(person)


@router.patch("/{person_id}", response_model=PersonRead,
              responses=responses(404, 412, 422, 428))
def update_person(person_id: int, changes: PersonUpdate, session: SessionDep,
                  expected_version: IfMatchDep, response: Response) -> PersonRead:
    """Change a person's details; needs If-Match with the ETag last read (412 if stale)."""
    person = store.update_person(session=session, person_id=person_id, changes=changes,
                                 expected_version=expected_version)
    response.headers["ETag"] = etag(person.version)
    return PersonRead.model_validate(person)
