"""Referrals, migration meetings and their decisions (adopt and exit write the register)."""

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models import (
    Area,
    CohortMembership,
    Decision,
    DecisionCreate,
    DecisionKind,
    DecisionRead,
    Meeting,
    MeetingCreate,
    MembershipCreate,
    Person,
    Referral,
    ReferralCreate,
    ReferralRead,
    ReferralStatus,
    ReferralWithdraw,
    Stream,
)
from models.enums import Cohort
from scoring.shortlist import ShortlistConfig
from scoring.uk_calendar import uk_today
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.scorer import Scorer
from service.store.common import (
    get_or_404,
    page,
    person_or_404,
    require_reference,
    versioned_update,
)

# The membership store's own checks, so an adopt obeys exactly the rules POST
# /cohort/memberships does, so the decision and the membership are written in one
# transaction (with the audit event that commits it).
from service.store.memberships import check_no_overlap, lock_person
from service.store.shortlists import entry_seen


def referral_read(referral: Referral) -> ReferralRead:
    """The API view of a referral (status: open until a meeting decides or it is withdrawn)."""
    status = (ReferralStatus.open if referral.closed_on is None
              else ReferralStatus.withdrawn if referral.withdrawal_reason is not None
              else ReferralStatus.decided)
    return ReferralRead(**referral.model_dump(), status=status)


def create_referral(*, session: Session, referral_in: ReferralCreate, area: str,
                    recorded_by: str) -> Referral:
    """Record a partner agency's referral into a stream."""
    person = person_or_404(session, referral_in.person_id)
    require_reference(session, Stream, referral_in.requested_stream, field="requested_stream")
    require_reference(session, Area, area, field="area")
    if referral_in.referred_on < person.date_of_birth:
        raise invalid_field(["body", "referred_on"],
                            "referred_on is before the person's date_of_birth")
    referral = Referral(**referral_in.model_dump(exclude={"area"}), area=area,
                        recorded_by=recorded_by)
    session.add(referral)
    session.flush()
    session.refresh(referral)
    return referral


def find_referrals(*, session: Session, paging: Paging, area: str | None = None,
                   status: ReferralStatus | None = None, stream: str | None = None,
                   person_id: int | None = None, areas: frozenset[str] | None = None,
                   ) -> tuple[list[Referral], int]:
    """Referrals by filter, in id order (`areas` limits to referrals into those areas of
    people living in them); an unknown area or stream is a 422, not an empty page."""
    if area is not None:
        require_reference(session, Area, area, field="area", where="query")
    if stream is not None:
        require_reference(session, Stream, stream, field="stream", where="query")
    query = select(Referral)
    closed: Any = Referral.closed_on
    if areas is not None:
        query = query.join(Person, col(Person.id) == col(Referral.person_id)).where(
            col(Referral.area).in_(sorted(areas)), col(Person.home_area).in_(sorted(areas)))
    withdrawn: Any = Referral.withdrawal_reason
    if status == ReferralStatus.open:
        query = query.where(closed.is_(None))
    elif status == ReferralStatus.decided:
        query = query.where(closed.is_not(None), withdrawn.is_(None))
    elif status == ReferralStatus.withdrawn:
        query = query.where(withdrawn.is_not(None))
    for column, value in ((Referral.area, area), (Referral.requested_stream, stream),
                          (Referral.person_id, person_id)):
        if value is not None:
            query = query.where(column == value)
    return page(session, query, paging, Referral.id)


def get_referral(session: Session, referral_id: int) -> Referral:
    return get_or_404(session, Referral, referral_id, what="referral")


def withdraw_referral(*, session: Session, referral_id: int, withdrawal: ReferralWithdraw,
                      expected_version: int) -> Referral:
    """Withdraw an open referral (it leaves the open list from `withdrawn_on`); a referral a
    meeting has decided, or already withdrawn, cannot be (409)."""
    referral = get_referral(session, referral_id)
    if referral.closed_on is not None:
        raise Conflict(f"referral {referral_id} is already "
                       f"{'withdrawn' if referral.withdrawal_reason else 'decided'}")
    withdrawn_on = withdrawal.withdrawn_on or uk_today()
    if withdrawn_on < referral.referred_on:
        raise invalid_field(["body", "withdrawn_on"], "withdrawn_on is before referred_on")
    return versioned_update(session, Referral, referral_id, expected_version=expected_version,
                            values={"closed_on": withdrawn_on,
                                    "withdrawal_reason": withdrawal.reason},
                            what="referral")


def find_meetings(*, session: Session, paging: Paging, area: str | None = None,
                  from_: date | None = None, to: date | None = None,
                  areas: frozenset[str] | None = None) -> tuple[list[Meeting], int]:
    """Meetings by area and date (`from_` and `to` inclusive), newest first; `areas`
    limits to the caller's areas."""
    if area is not None:
        require_reference(session, Area, area, field="area", where="query")
    query = select(Meeting)
    if areas is not None:
        query = query.where(col(Meeting.area).in_(sorted(areas)))
    if area is not None:
        query = query.where(Meeting.area == area)
    if from_ is not None:
        query = query.where(Meeting.held_on >= from_)
    if to is not None:
        query = query.where(Meeting.held_on <= to)
    return page(session, query, paging, col(Meeting.held_on).desc(), col(Meeting.id).desc())


def create_meeting(*, session: Session, meeting_in: MeetingCreate, recorded_by: str) -> Meeting:
    """Record a migration meeting (area, date, agencies present)."""
    require_reference(session, Area, meeting_in.area, field="area")
    meeting = Meeting.model_validate(meeting_in, update={"recorded_by": recorded_by})
    session.add(meeting)
    session.commit()
    session.refresh(meeting)
    return meeting


def decision_read(decision: Decision, meeting: Meeting) -> DecisionRead:
    """The API view of a decision, with its meeting's date and area."""
    return DecisionRead(**decision.model_dump(), held_on=meeting.held_on, area=meeting.area)


def _active_membership(session: Session, *, person_id: int, stream: str,
                       on: date) -> CohortMembership | None:
    exited: Any = CohortMembership.exited_on
    return session.exec(select(CohortMembership).where(
        CohortMembership.person_id == person_id, CohortMembership.stream == stream,
        CohortMembership.adopted_on <= on, exited.is_(None) | (exited > on),
    ).order_by(CohortMembership.id)).first()  # type: ignore[arg-type]


def record_decision(*, session: Session, scorer: Scorer, config: ShortlistConfig,
                    meeting: Meeting, decision_in: DecisionCreate,
                    recorded_by: str) -> Decision:
    """Record a meeting's decision on a person, in one transaction with what it changes.

    adopt: a new membership (cohort, stream, the meeting's area, adopted on the meeting
    date); 409 if it overlaps one of that stream. exit: closes the person's active
    membership of the stream on the meeting date with the exit reason; 409 if there is none.
    Adopt, decline and exit close the person's open referrals for the stream in that area;
    defer leaves them open for the next meeting. The person's shortlist entry as of
    `shortlist_as_of` (default: the meeting date) is stored with the decision.
    """
    person = lock_person(session, decision_in.person_id)
    require_reference(session, Stream, decision_in.stream, field="stream")
    held_on, kind, today = meeting.held_on, decision_in.decision, uk_today()
    if kind in (DecisionKind.adopt, DecisionKind.exit) and held_on > today:
        raise invalid_field(["body", "decision"],
                            "a meeting dated in the future cannot adopt or exit yet")
    seen_as_of = decision_in.shortlist_as_of or min(held_on, today)
    entry = entry_seen(session=session, scorer=scorer, area=meeting.area,
                       stream=decision_in.stream, as_of=seen_as_of,
                       person_id=decision_in.person_id, exit_list=kind == DecisionKind.exit,
                       config=config)
    decision = Decision(**decision_in.model_dump(exclude={"shortlist_as_of"}),
                        meeting_id=meeting.id or 0, shortlist_entry=entry,
                        recorded_by=recorded_by)
    try:
        if kind == DecisionKind.adopt:
            try:
                membership_in = MembershipCreate(
                    person_id=decision_in.person_id, cohort=decision_in.cohort or Cohort.fixed,
                    stream=decision_in.stream, area=meeting.area, adopted_on=held_on)
            except ValidationError as exc:
                raise invalid_field(["body", "decision"], str(exc.errors()[0]["msg"])) from exc
            if held_on < person.date_of_birth:
                raise invalid_field(["body", "decision"],
                                    "the meeting is before the person's date_of_birth")
            check_no_overlap(session, person_id=decision_in.person_id,
                              stream=decision_in.stream, adopted_on=held_on, exited_on=None)
            membership = CohortMembership.model_validate(membership_in)
            session.add(membership)
            session.flush()
            decision.membership_id = membership.id
        elif kind == DecisionKind.exit:
            current = _active_membership(session, person_id=decision_in.person_id,
                                         stream=decision_in.stream, on=held_on)
            if current is None:
                raise Conflict(f"person {decision_in.person_id} has no active membership of "
                               f"stream {decision_in.stream} on {held_on} to exit")
            if held_on < current.adopted_on:
                raise invalid_field(["body", "decision"],
                                    "the meeting is before the membership's adoption")
            current.exited_on, current.exit_reason = held_on, decision_in.exit_reason
            current.version += 1
            session.add(current)
            decision.membership_id = current.id
        session.add(decision)
        session.flush()
        if kind != DecisionKind.defer:
            referrals = session.exec(select(Referral).where(
                Referral.person_id == decision_in.person_id,
                Referral.requested_stream == decision_in.stream,
                Referral.area == meeting.area,
                Referral.closed_on.is_(None))).all()  # type: ignore[union-attr]
            for referral in referrals:
                referral.closed_on, referral.decision_id = held_on, decision.id
                session.add(referral)
            if referrals:
                decision.referral_id = referrals[0].id
                session.add(decision)
        session.flush()
    except Exception:
        session.rollback()
        raise
    session.refresh(decision)
    return decision


def meeting_decisions(*, session: Session, meeting_id: int,
                      areas: frozenset[str] | None = None) -> tuple[list[Decision], int]:
    """A meeting's decisions in the order they were recorded, and how many were withheld.

    `areas` (None: all) keeps only decisions about people living in those areas: a meeting
    may decide on someone referred from elsewhere, and a key that may not see that person
    must not see them through the meeting either. The rest (and decisions about people
    since erased) are withheld: counted, never named.
    """
    rows = list(session.exec(select(Decision).where(Decision.meeting_id == meeting_id)
                             .order_by(col(Decision.id))).all())
    if areas is None:
        return rows, 0
    living = set(session.exec(select(Person.id).where(
        col(Person.id).in_(sorted({d.person_id for d in rows if d.person_id is not None})),
        col(Person.home_area).in_(sorted(areas)))).all())
    kept = [d for d in rows if d.person_id in living]
    return kept, len(rows) - len(kept)


def person_decisions(*, session: Session, person_id: int,
                     areas: frozenset[str] | None = None) -> list[tuple[Decision, Meeting]]:
    """Every decision about a person, oldest meeting first; `areas` (None: all) keeps
    those of meetings held in those areas."""
    query = (select(Decision, Meeting).join(Meeting, col(Meeting.id) == col(Decision.meeting_id))
             .where(Decision.person_id == person_id))
    if areas is not None:
        query = query.where(col(Meeting.area).in_(sorted(areas)))
    rows = session.exec(query.order_by(col(Meeting.held_on), col(Decision.id))).all()
    return [(d, m) for d, m in rows]


def meeting_or_404(session: Session, meeting_id: int) -> Meeting:
    """A meeting by id, or NotFound."""
    return get_or_404(session, Meeting, meeting_id, what="meeting")
