"""Referrals into IOM, migration meetings and the decisions they take."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from models import (
    AuditAction,
    DecisionCreate,
    DecisionRead,
    MeetingCreate,
    MeetingRead,
    Page,
    ReferralCreate,
    ReferralRead,
    ReferralStatus,
    ReferralWithdraw,
)
from models.base import IsoDate
from service.access import require_area, visible_person
from service.audit import AuditDep, Auditor
from service.consultation import Consultation, ConsultationDep
from service.deps import (
    DeletionDep,
    IdPath,
    IdQuery,
    IfMatchDep,
    PagingDep,
    ScorerDep,
    SessionDep,
    ShortlistConfigDep,
    etag,
)
from service.errors import NotFound, responses
from service.security import Admin, Justification, PersonLevel
from service.store import erasure
from service.store import meetings as store

router = APIRouter(tags=["meetings"])


def _visible_meeting(session: SessionDep, audit: Auditor, meeting_id: int) -> store.Meeting:
    meeting = store.meeting_or_404(session, meeting_id)
    if not audit.principal.can_see(meeting.area):
        raise NotFound(f"meeting {meeting_id} not found")
    return meeting


@router.post("/referrals", status_code=status.HTTP_201_CREATED, response_model=ReferralRead,
             responses=responses(403, 404, 422))
def create_referral(referral_in: ReferralCreate, session: SessionDep, principal: PersonLevel,
                    audit: AuditDep, response: Response) -> ReferralRead:
    """Record a partner agency's referral (professional judgement) into a stream."""
    person = visible_person(session, audit, referral_in.person_id)
    area = referral_in.area or person.home_area
    require_area(audit, area, field="area")
    referral = store.create_referral(session=session, referral_in=referral_in, area=area,
                                     recorded_by=principal.name)
    audit.record(AuditAction.collection, person_ids=[referral.person_id], status=201,
                 detail=f"referral {referral.id}")
    response.headers["Location"] = f"/referrals?person_id={referral.person_id}"
    return store.referral_read(referral)


@router.get("/referrals", response_model=Page[ReferralRead], responses=responses(403, 422))
def list_referrals(
    principal: PersonLevel, session: SessionDep, paging: PagingDep,
    justification: Justification, audit: AuditDep,
    area: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[ReferralStatus | None, Query(
        description="open: not yet decided by a meeting")] = None,
    stream: Annotated[str | None, Query(max_length=32)] = None,
    person_id: IdQuery = None,
) -> Page[ReferralRead]:
    """Referrals in the caller's areas, by area, status, stream and person."""
    rows, total = store.find_referrals(session=session, paging=paging, area=area, status=status,
                                       stream=stream, person_id=person_id,
                                       areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[r.person_id for r in rows],
                 justification=justification, detail="referrals")
    return Page(items=[store.referral_read(r) for r in rows], total=total, limit=paging.limit,
                offset=paging.offset)


def _visible_referral(session: SessionDep, audit: Auditor, referral_id: int) -> store.Referral:
    """The referral if the key may see its area and its person; 404 (audited) otherwise."""
    referral = store.get_referral(session, referral_id)
    if not audit.principal.can_see(referral.area):
        raise NotFound(f"referral {referral_id} not found")
    visible_person(session, audit, referral.person_id)
    return referral


@router.get("/referrals/{referral_id}", response_model=ReferralRead,
            responses=responses(403, 404, 422))
async def get_referral(consultation: ConsultationDep, referral_id: IdPath,
                       response: Response) -> ReferralRead:
    """One referral, with its ETag (send it as If-Match to withdraw it)."""
    referral = await run_in_threadpool(_consult_referral, consultation, referral_id)
    response.headers["ETag"] = etag(referral.version)
    return referral


def _consult_referral(consultation: Consultation, referral_id: int) -> ReferralRead:
    referral = _visible_referral(consultation.session, consultation.audit, referral_id)
    consultation.record([referral.person_id], detail=f"referral {referral_id}")
    return store.referral_read(referral)


@router.patch("/referrals/{referral_id}", response_model=ReferralRead,
              responses=responses(403, 404, 409, 412, 422, 428))
def withdraw_referral(_: PersonLevel, referral_id: IdPath, withdrawal: ReferralWithdraw,
                      session: SessionDep, audit: AuditDep, expected_version: IfMatchDep,
                      response: Response) -> ReferralRead:
    """Withdraw an open referral (`{"status": "withdrawn", "reason": ...}`): it leaves the
    open list and no meeting decides it; needs If-Match (412 if stale), 409 once decided."""
    _visible_referral(session, audit, referral_id)
    referral = store.withdraw_referral(session=session, referral_id=referral_id,
                                       withdrawal=withdrawal, expected_version=expected_version)
    audit.record(AuditAction.alteration, person_ids=[referral.person_id],
                 detail=f"referral {referral_id}: withdrawn")
    response.headers["ETag"] = etag(referral.version)
    return store.referral_read(referral)


@router.delete("/referrals/{referral_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(403, 404, 422))
def delete_referral(_: Admin, referral_id: IdPath, deletion: DeletionDep, session: SessionDep,
                    justification: Justification, audit: AuditDep) -> Response:
    """Delete a referral recorded in error (admins); a decision taken on it stays, unlinked."""
    referral = _visible_referral(session, audit, referral_id)
    person_id = referral.person_id
    erasure.delete_referral(session=session, referral=referral, reason=deletion.reason)
    audit.record(AuditAction.erasure, person_ids=[person_id], justification=justification,
                 status=204, detail=deletion.detail(f"referral {referral_id}"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/meetings", response_model=Page[MeetingRead], responses=responses(403, 422))
def list_meetings(
    principal: PersonLevel, session: SessionDep, paging: PagingDep,
    area: Annotated[str | None, Query(max_length=32, examples=["BRISTOL"])] = None,
    from_: Annotated[IsoDate | None, Query(alias="from", description="Held on or after")] = None,
    to: Annotated[IsoDate | None, Query(description="Held on or before")] = None,
) -> Page[MeetingRead]:
    """Migration meetings in the caller's areas, newest first, by area and date."""
    rows, total = store.find_meetings(session=session, paging=paging, area=area, from_=from_,
                                      to=to, areas=principal.areas)
    return Page(items=[MeetingRead.model_validate(m) for m in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.post("/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingRead,
             responses=responses(403, 422))
def create_meeting(meeting_in: MeetingCreate, session: SessionDep, principal: PersonLevel,
                   audit: AuditDep, response: Response) -> MeetingRead:
    """Record a migration meeting: area, date and the agencies present."""
    require_area(audit, meeting_in.area, field="area")
    meeting = store.create_meeting(session=session, meeting_in=meeting_in,
                                   recorded_by=principal.name)
    response.headers["Location"] = f"/meetings/{meeting.id}"
    return MeetingRead.model_validate(meeting)


@router.get("/meetings/{meeting_id}", response_model=MeetingRead,
            responses=responses(403, 404, 422))
def get_meeting(meeting_id: IdPath, session: SessionDep, _: PersonLevel,
                audit: AuditDep) -> MeetingRead:
    """One meeting (404 outside the key's areas)."""
    return MeetingRead.model_validate(_visible_meeting(session, audit, meeting_id))


@router.post("/meetings/{meeting_id}/decisions", status_code=status.HTTP_201_CREATED,
             response_model=DecisionRead, responses=responses(403, 404, 409, 422))
def create_decision(principal: PersonLevel, meeting_id: IdPath, decision_in: DecisionCreate,
                    session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
                    audit: AuditDep, response: Response) -> DecisionRead:
    """Record a decision (adopt, decline, defer, exit); adopt and exit update the register in
    the same transaction, and the person's shortlist entry is stored with it."""
    meeting = _visible_meeting(session, audit, meeting_id)
    visible_person(session, audit, decision_in.person_id)
    decision = store.record_decision(session=session, scorer=scorer, config=rules, meeting=meeting,
                                     decision_in=decision_in, recorded_by=principal.name)
    audit.record(AuditAction.collection if decision_in.decision != "exit"
                 else AuditAction.alteration, person_ids=[decision.person_id], status=201,
                 detail=f"decision {decision.id} ({decision.decision}) at meeting {meeting_id}")
    response.headers["Location"] = f"/meetings/{meeting_id}/decisions"
    return store.decision_read(decision, meeting)


WITHHELD_HEADER = "X-Withheld-Count"


@router.get("/meetings/{meeting_id}/decisions", response_model=list[DecisionRead],
            responses={200: {"headers": {WITHHELD_HEADER: {
                "description": "Decisions left out: about people outside the key's areas, "
                               "or erased", "schema": {"type": "integer"}}}},
                       **responses(403, 404, 422)})
def list_meeting_decisions(principal: PersonLevel, meeting_id: IdPath, session: SessionDep,
                           justification: Justification, audit: AuditDep,
                           response: Response) -> list[DecisionRead]:
    """A meeting's decisions about people the key may see, with what the meeting saw; a
    meeting of another area is 404, and the decisions about people living outside the
    key's areas are left out, their number in X-Withheld-Count."""
    meeting = _visible_meeting(session, audit, meeting_id)
    rows, withheld = store.meeting_decisions(session=session, meeting_id=meeting_id,
                                             areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[d.person_id for d in rows],
                 justification=justification, detail=f"decisions of meeting {meeting_id}")
    response.headers[WITHHELD_HEADER] = str(withheld)
    return [store.decision_read(d, meeting) for d in rows]


@router.get("/persons/{person_id}/decisions", response_model=list[DecisionRead],
            responses=responses(403, 404, 422))
def list_person_decisions(person_id: IdPath, session: SessionDep, principal: PersonLevel,
                          justification: Justification, audit: AuditDep) -> list[DecisionRead]:
    """Every meeting decision about a person, oldest first (those of meetings held in
    areas outside the key's are left out)."""
    visible_person(session, audit, person_id)
    rows = store.person_decisions(session=session, person_id=person_id, areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[person_id], justification=justification,
                 detail="decisions")
    return [store.decision_read(d, m) for d, m in rows]
