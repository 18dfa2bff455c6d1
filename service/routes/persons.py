"""People: create, read, search by PNC ID, update, erase (person-level: audited, area-scoped)."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from models import (
    AuditAction,
    Page,
    Person,
    PersonAreaRead,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)
from service.access import consulted_person, require_area, visible_person, visible_person_row
from service.audit import AuditDep, changed_fields
from service.consultation import Consultation, ConsultationDep
from service.current_scores import rescore
from service.deps import (
    DeletionDep,
    IdPath,
    IfMatchDep,
    PagingDep,
    ScorerDep,
    SessionDep,
    etag,
)
from service.errors import responses
from service.security import Admin, Justification, PersonLevel
from service.store import areas as area_store
from service.store import erasure
from service.store import persons as store

router = APIRouter(prefix="/persons", tags=["persons"])

OptionalJustification = Annotated[str | None, Header(alias="X-Justification", max_length=1000)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead,
             responses=responses(403, 409, 422))
def create_person(person_in: PersonCreate, session: SessionDep, principal: PersonLevel,
                  scorer: ScorerDep, audit: AuditDep, response: Response,
                  justification: OptionalJustification = None) -> PersonRead:
    """Add a person to the register (PNC ID validated and stored in canonical form); a PNC
    ID already on file is 409, naming the person only to a key that may see them."""
    require_area(audit, person_in.home_area, field="home_area")
    person = store.create_person(session=session, person_in=person_in, areas=principal.areas)
    rescore(session, scorer, [person.id])
    audit.record(AuditAction.collection, person_ids=[person.id], status=201,
                 justification=justification)
    response.headers["ETag"] = etag(person.version)
    response.headers["Location"] = f"/persons/{person.id}"
    return PersonRead.model_validate(person)


@router.get("", response_model=Page[PersonRead], responses=responses(403, 422))
def list_persons(
    principal: PersonLevel,
    session: SessionDep,
    paging: PagingDep,
    justification: Justification,
    audit: AuditDep,
    pnc_id: Annotated[str | None, Query(description="Full or short form PNC ID")] = None,
    home_area: Annotated[str | None, Query()] = None,
) -> Page[PersonRead]:
    """List people in the caller's areas, optionally by PNC ID or home area."""
    rows, total = store.find_persons(session=session, paging=paging, pnc_id=pnc_id,
                                     home_area=home_area, areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[r.id for r in rows],
                 justification=justification)
    return Page(items=[PersonRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/{person_id}", response_model=PersonRead, responses=responses(403, 404, 422))
async def get_person(person_id: IdPath, consultation: ConsultationDep,
                     response: Response) -> PersonRead:
    """One person, with an ETag for later updates."""
    person = await run_in_threadpool(_consult_person, consultation, person_id)
    response.headers["ETag"] = etag(person.version)
    return person


def _consult_person(consultation: Consultation, person_id: int) -> PersonRead:
    person = consulted_person(consultation.session, consultation.audit, person_id,
                              justification=consultation.justification)
    return PersonRead.model_validate(person)


@router.patch("/{person_id}", response_model=PersonRead,
              responses=responses(403, 404, 412, 422, 428))
def update_person(person_id: IdPath, changes: PersonUpdate, session: SessionDep, _: PersonLevel,
                  scorer: ScorerDep, audit: AuditDep, expected_version: IfMatchDep,
                  response: Response,
                  justification: OptionalJustification = None) -> PersonRead:
    """Change a person's details; needs If-Match with the ETag last read (412 if stale)."""
    visible_person(session, audit, person_id)
    require_area(audit, changes.home_area, field="home_area")
    person = store.update_person(session=session, person_id=person_id, changes=changes,
                                 expected_version=expected_version)
    if changes.model_fields_set & {"date_of_birth", "deceased_on"}:
        rescore(session, scorer, [person_id])
    audit.record(AuditAction.alteration, person_ids=[person_id], justification=justification,
                 detail=f"fields: {changed_fields(changes)}")
    response.headers["ETag"] = etag(person.version)
    return PersonRead.model_validate(person)


@router.get("/{person_id}/areas", response_model=list[PersonAreaRead],
            responses=responses(403, 404, 422))
async def list_areas_lived_in(consultation: ConsultationDep,
                              person_id: IdPath) -> list[PersonAreaRead]:
    """Every area the person has lived in, with dates, oldest first; the last is the current
    home area. Shortlists as of a day use the area of that day."""
    return await run_in_threadpool(_consult_areas, consultation, person_id)


def _consult_areas(consultation: Consultation, person_id: int) -> list[PersonAreaRead]:
    row = visible_person_row(consultation.session, consultation.audit, person_id)
    history = area_store.area_history(consultation.session, Person.model_validate(row))
    consultation.record([person_id], detail="areas")
    return history


@router.delete("/{person_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(403, 404, 422))
def erase_person(_: Admin, person_id: IdPath, deletion: DeletionDep, session: SessionDep,
                 justification: Justification, audit: AuditDep) -> Response:
    """Erase a person and everything about them (admins; DPA 2018 s.47): offences, custody,
    memberships, referrals, score snapshots. Meeting decisions about them stay, stripped of
    the person, the rationale and the stored shortlist entry. Their PNC ID and offence
    references are kept only as salted hashes, so a re-import of an old extract skips them
    (`skipped_erased`) unless it asks for them back. The reason and justification go into
    the audit event, written in the same transaction."""
    visible_person(session, audit, person_id)
    erasure.erase_person(session=session, person_id=person_id, reason=deletion.reason)
    audit.record(AuditAction.erasure, person_ids=[person_id], justification=justification,
                 status=204, detail=deletion.detail(f"person {person_id}"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
