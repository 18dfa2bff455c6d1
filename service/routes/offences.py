"""A person's offences and custody periods (person-level: audited, area-scoped); each write
re-scores the person's stored current score in its transaction."""

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from models import (
    AuditAction,
    CustodyCreate,
    CustodyRead,
    CustodyUpdate,
    OffenceCreate,
    OffenceRead,
    OffenceUpdate,
    Page,
)
from service.access import visible_person, visible_person_row
from service.audit import AuditDep, changed_fields
from service.consultation import Consultation, ConsultationDep
from service.current_scores import rescore
from service.deps import (
    CatalogueDep,
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
from service.store import custody as custody_store
from service.store import erasure
from service.store import offences as offence_store

router = APIRouter(prefix="/persons/{person_id}", tags=["offences"])


@router.post("/offences", status_code=status.HTTP_201_CREATED, response_model=OffenceRead,
             responses={200: {"model": OffenceRead,
                              "description": "Already recorded (same source and source_ref)"},
                        **responses(403, 404, 409, 422)})
def add_offence(_: PersonLevel, person_id: IdPath, offence_in: OffenceCreate,
                session: SessionDep, catalogue: CatalogueDep, scorer: ScorerDep,
                audit: AuditDep, response: Response) -> OffenceRead:
    """Record an offence (by offence_type or Home Office code); re-sending never duplicates."""
    visible_person(session, audit, person_id)
    offence, created = offence_store.add_offence(session=session, person_id=person_id,
                                                 offence_in=offence_in, catalogue=catalogue)
    if not created:
        response.status_code = status.HTTP_200_OK
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.collection if created else AuditAction.alteration,
                 person_ids=[person_id], status=response.status_code or 201,
                 detail=f"offence {offence.id}")
    return OffenceRead.model_validate(offence)


@router.get("/offences", response_model=Page[OffenceRead], responses=responses(403, 404, 422))
def list_offences(_: PersonLevel, person_id: IdPath, session: SessionDep, paging: PagingDep,
                  justification: Justification, audit: AuditDep) -> Page[OffenceRead]:
    """A person's offences, oldest first."""
    visible_person(session, audit, person_id)
    rows, total = offence_store.list_offences(session=session, person_id=person_id, paging=paging)
    audit.record(AuditAction.consultation, person_ids=[person_id], justification=justification,
                 detail="offences")
    return Page(items=[OffenceRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/offences/{offence_id}", response_model=OffenceRead,
            responses=responses(403, 404, 422))
async def get_offence(consultation: ConsultationDep, person_id: IdPath, offence_id: IdPath,
                      response: Response) -> OffenceRead:
    """One offence, with its ETag (send it as If-Match to correct it)."""
    offence = await run_in_threadpool(_consult_offence, consultation, person_id, offence_id)
    response.headers["ETag"] = etag(offence.version)
    return offence


def _consult_offence(consultation: Consultation, person_id: int,
                     offence_id: int) -> OffenceRead:
    visible_person_row(consultation.session, consultation.audit, person_id)
    offence = offence_store.get_offence(session=consultation.session, person_id=person_id,
                                        offence_id=offence_id)
    consultation.record([person_id], detail=f"offence {offence_id}")
    return OffenceRead.model_validate(offence)


@router.patch("/offences/{offence_id}", response_model=OffenceRead,
              responses=responses(403, 404, 412, 422, 428))
def update_offence(_: PersonLevel, person_id: IdPath, offence_id: IdPath,
                   changes: OffenceUpdate, session: SessionDep, catalogue: CatalogueDep,
                   scorer: ScorerDep, audit: AuditDep, expected_version: IfMatchDep,
                   response: Response) -> OffenceRead:
    """Correct an offence (outcome, outcome date, type or Home Office code, date, domestic
    abuse flag, victim ref); needs If-Match (412 if stale)."""
    visible_person(session, audit, person_id)
    offence = offence_store.update_offence(session=session, person_id=person_id,
                                           offence_id=offence_id, changes=changes,
                                           catalogue=catalogue,
                                           expected_version=expected_version)
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.alteration, person_ids=[person_id],
                 detail=f"offence {offence_id}: {changed_fields(changes)}")
    response.headers["ETag"] = etag(offence.version)
    return OffenceRead.model_validate(offence)


@router.delete("/offences/{offence_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(403, 404, 422))
def delete_offence(_: Admin, person_id: IdPath, offence_id: IdPath, deletion: DeletionDep,
                   session: SessionDep, scorer: ScorerDep, justification: Justification,
                   audit: AuditDep) -> Response:
    """Delete an offence recorded in error (admins). One from an extract is remembered
    (as a salted hash only) so a re-import of that extract skips it."""
    visible_person(session, audit, person_id)
    offence = offence_store.get_offence(session=session, person_id=person_id,
                                        offence_id=offence_id)
    erasure.delete_offence(session=session, offence=offence, reason=deletion.reason)
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.erasure, person_ids=[person_id], justification=justification,
                 status=204, detail=deletion.detail(f"offence {offence_id}"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/custody", status_code=status.HTTP_201_CREATED, response_model=CustodyRead,
             responses=responses(403, 404, 409, 422))
def add_custody(_: PersonLevel, person_id: IdPath, custody_in: CustodyCreate,
                session: SessionDep, scorer: ScorerDep, audit: AuditDep,
                response: Response) -> CustodyRead:
    """Record a custody spell (end_on null while still in custody); no overlaps."""
    visible_person(session, audit, person_id)
    spell = custody_store.add_custody(session=session, person_id=person_id,
                                      custody_in=custody_in)
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.collection, person_ids=[person_id], status=201,
                 detail=f"custody {spell.id}")
    response.headers["ETag"] = etag(spell.version)
    response.headers["Location"] = f"/persons/{person_id}/custody/{spell.id}"
    return CustodyRead.model_validate(spell)


@router.get("/custody", response_model=Page[CustodyRead], responses=responses(403, 404, 422))
def list_custody(_: PersonLevel, person_id: IdPath, session: SessionDep, paging: PagingDep,
                 justification: Justification, audit: AuditDep) -> Page[CustodyRead]:
    """A person's custody spells, oldest first."""
    visible_person(session, audit, person_id)
    rows, total = custody_store.list_custody(session=session, person_id=person_id, paging=paging)
    audit.record(AuditAction.consultation, person_ids=[person_id], justification=justification,
                 detail="custody")
    return Page(items=[CustodyRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/custody/{custody_id}", response_model=CustodyRead,
            responses=responses(403, 404, 422))
async def get_custody(consultation: ConsultationDep, person_id: IdPath, custody_id: IdPath,
                      response: Response) -> CustodyRead:
    """One custody spell, with its ETag (send it as If-Match to record the release)."""
    spell = await run_in_threadpool(_consult_custody, consultation, person_id, custody_id)
    response.headers["ETag"] = etag(spell.version)
    return spell


def _consult_custody(consultation: Consultation, person_id: int,
                     custody_id: int) -> CustodyRead:
    visible_person_row(consultation.session, consultation.audit, person_id)
    spell = custody_store.get_custody(session=consultation.session, person_id=person_id,
                                      custody_id=custody_id)
    consultation.record([person_id], detail=f"custody {custody_id}")
    return CustodyRead.model_validate(spell)


@router.patch("/custody/{custody_id}", response_model=CustodyRead,
              responses=responses(403, 404, 409, 412, 422, 428))
def update_custody(_: PersonLevel, person_id: IdPath, custody_id: IdPath,
                   changes: CustodyUpdate, session: SessionDep, scorer: ScorerDep,
                   audit: AuditDep, expected_version: IfMatchDep,
                   response: Response) -> CustodyRead:
    """Record a release (`end_on`), a sentence or a corrected start; needs If-Match (412 if
    stale); spells still never overlap (409)."""
    visible_person(session, audit, person_id)
    spell = custody_store.update_custody(session=session, person_id=person_id,
                                         custody_id=custody_id, changes=changes,
                                         expected_version=expected_version)
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.alteration, person_ids=[person_id],
                 detail=f"custody {custody_id}: {changed_fields(changes)}")
    response.headers["ETag"] = etag(spell.version)
    return CustodyRead.model_validate(spell)


@router.delete("/custody/{custody_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(403, 404, 422))
def delete_custody(_: Admin, person_id: IdPath, custody_id: IdPath, deletion: DeletionDep,
                   session: SessionDep, scorer: ScorerDep, justification: Justification,
                   audit: AuditDep) -> Response:
    """Delete a custody spell recorded in error (admins)."""
    visible_person(session, audit, person_id)
    spell = custody_store.get_custody(session=session, person_id=person_id,
                                      custody_id=custody_id)
    erasure.delete_custody(session=session, spell=spell, reason=deletion.reason)
    rescore(session, scorer, [person_id])
    audit.record(AuditAction.erasure, person_ids=[person_id], justification=justification,
                 status=204, detail=deletion.detail(f"custody {custody_id}"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
