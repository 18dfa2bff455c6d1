"""Cohort memberships: several streams at once, never two overlapping in one stream."""

from datetime import date
from typing import Any

from sqlmodel import Session, col, or_, select

from models import (
    Area,
    CohortMembership,
    MembershipCreate,
    MembershipUpdate,
    Person,
    Stream,
)
from models.membership import check_membership
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.store.common import get_or_404, page, require_reference, versioned_update


def check_no_overlap(session: Session, *, person_id: int, stream: str, adopted_on: date,
                      exited_on: date | None, exclude_id: int | None = None) -> None:
    """Conflict if [adopted_on, exited_on) overlaps another membership of the stream."""
    # Memberships are half-open [adopted_on, exited_on); an open one runs on. Two overlap
    # when each starts before the other ends.
    query = select(CohortMembership).where(
        CohortMembership.person_id == person_id,
        CohortMembership.stream == stream,
        or_(CohortMembership.exited_on.is_(None),  # type: ignore[union-attr]
            CohortMembership.exited_on > adopted_on),  # type: ignore[operator]
    )
    if exited_on is not None:
        query = query.where(CohortMembership.adopted_on < exited_on)
    if exclude_id is not None:
        query = query.where(CohortMembership.id != exclude_id)
    clash = session.exec(query).first()
    if clash is not None:
        raise Conflict(f"person {person_id} already has membership {clash.id} of stream "
                       f"{stream} from {clash.adopted_on} to {clash.exited_on or 'now'}")


def lock_person(session: Session, person_id: int) -> Person:
    """The person, row-locked for the rest of the transaction (422 if unknown)."""
    # Locking the person row serialises concurrent membership writes for one person on
    # PostgreSQL, so the overlap check cannot race; SQLite serialises writers anyway.
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise invalid_field(["body", "person_id"], f"person {person_id} not found")
    return person


def create_membership(*, session: Session, membership_in: MembershipCreate) -> CohortMembership:
    """Adopt a person into a cohort stream (409 if it overlaps a membership of that stream)."""
    person = lock_person(session, membership_in.person_id)
    require_reference(session, Stream, membership_in.stream, field="stream")
    require_reference(session, Area, membership_in.area, field="area")
    if membership_in.adopted_on < person.date_of_birth:
        raise invalid_field(["body", "adopted_on"],
                            "adopted_on is before the person's date_of_birth")
    check_no_overlap(session, person_id=person.id or 0, stream=membership_in.stream,
                      adopted_on=membership_in.adopted_on, exited_on=membership_in.exited_on)
    membership = CohortMembership.model_validate(membership_in)
    session.add(membership)
    session.flush()
    session.refresh(membership)
    return membership


def find_memberships(*, session: Session, paging: Paging, active: bool | None = None,
                     area: str | None = None, cohort: str | None = None,
                     stream: str | None = None, person_id: int | None = None,
                     areas: frozenset[str] | None = None,
                     ) -> tuple[list[CohortMembership], int]:
    """Memberships by filter, in id order. Active means not yet exited.

    `areas` limits the result to memberships in those areas of people living in them
    (None: all areas). An unknown area or stream is a 422, not an empty page.
    """
    if area is not None:
        require_reference(session, Area, area, field="area", where="query")
    if stream is not None:
        require_reference(session, Stream, stream, field="stream", where="query")
    query = select(CohortMembership)
    if areas is not None:
        query = query.join(Person, col(Person.id) == col(CohortMembership.person_id)).where(
            col(CohortMembership.area).in_(sorted(areas)),
            col(Person.home_area).in_(sorted(areas)))
    if active is not None:
        exited: Any = CohortMembership.exited_on
        query = query.where(exited.is_(None) if active else exited.is_not(None))
    for column, value in ((CohortMembership.area, area), (CohortMembership.cohort, cohort),
                          (CohortMembership.stream, stream),
                          (CohortMembership.person_id, person_id)):
        if value is not None:
            query = query.where(column == value)
    return page(session, query, paging, CohortMembership.id)


def update_membership(*, session: Session, membership_id: int, changes: MembershipUpdate,
                      expected_version: int) -> CohortMembership:
    """PATCH a membership (e.g. record the exit) if the caller read the current version."""
    current = get_or_404(session, CohortMembership, membership_id, what="membership")
    data = changes.model_dump(exclude_unset=True)
    for field in ("cohort", "area", "adopted_on"):
        if field in data and data[field] is None:
            raise invalid_field(["body", field], f"{field} cannot be removed")
    merged = current.model_dump() | data
    try:
        check_membership(merged["adopted_on"], merged["exited_on"], merged["exit_reason"])
    except ValueError as exc:
        field = "exit_reason" if "reason" in str(exc) else "exited_on"
        raise invalid_field(["body", field], str(exc)) from exc
    if "area" in data:
        require_reference(session, Area, data["area"], field="area")
    lock_person(session, current.person_id)
    check_no_overlap(session, person_id=current.person_id, stream=current.stream,
                      adopted_on=merged["adopted_on"], exited_on=merged["exited_on"],
                      exclude_id=membership_id)
    return versioned_update(session, CohortMembership, membership_id,
                            expected_version=expected_version, values=data, what="membership")
