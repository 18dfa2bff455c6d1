"""Custody periods: one person is never in two custody spells at once."""

from datetime import date

from sqlmodel import Session, select

from models import CustodyCreate, CustodyPeriod, CustodyUpdate
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.store.common import (
    page,
    person_or_404,
    persons_record_or_404,
    versioned_update,
)


def _overlaps(a_start, a_end, b_start, b_end) -> bool:  # type: ignore[no-untyped-def]
    # Spells are closed intervals [start_on, end_on]; an open spell (end_on None) runs on.
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


def _check_against_register(session: Session, *, person_id: int, start_on: date,
                            end_on: date | None, exclude_id: int | None = None) -> None:
    """422 before birth, 409 on overlap with another of the person's spells.

    The person row is locked first, so two writers cannot both pass the overlap check.
    """
    person = person_or_404(session, person_id, for_update=True)
    if start_on < person.date_of_birth:
        raise invalid_field(["body", "start_on"], "before date_of_birth",
                            detail="start_on is before the person's date_of_birth")
    spells = session.exec(select(CustodyPeriod).where(CustodyPeriod.person_id == person_id)).all()
    for spell in spells:
        if spell.id != exclude_id and _overlaps(start_on, end_on, spell.start_on, spell.end_on):
            raise Conflict(f"overlaps custody period {spell.id} "
                           f"({spell.start_on} to {spell.end_on or 'open'})")


def add_custody(*, session: Session, person_id: int, custody_in: CustodyCreate) -> CustodyPeriod:
    """Record a custody spell; overlapping another spell of the same person is a conflict."""
    _check_against_register(session, person_id=person_id, start_on=custody_in.start_on,
                            end_on=custody_in.end_on)
    spell = CustodyPeriod(person_id=person_id, **custody_in.model_dump())
    session.add(spell)
    session.flush()
    session.refresh(spell)
    return spell


def list_custody(*, session: Session, person_id: int, paging: Paging
                 ) -> tuple[list[CustodyPeriod], int]:
    """A person's custody spells, oldest first."""
    person_or_404(session, person_id)
    query = select(CustodyPeriod).where(CustodyPeriod.person_id == person_id)
    return page(session, query, paging, CustodyPeriod.start_on, CustodyPeriod.id)


def get_custody(*, session: Session, person_id: int, custody_id: int) -> CustodyPeriod:
    """One of a person's custody spells (404 if it is not theirs)."""
    return persons_record_or_404(session, CustodyPeriod, custody_id, person_id=person_id,
                                 what="custody period")


def update_custody(*, session: Session, person_id: int, custody_id: int,
                   changes: CustodyUpdate, expected_version: int) -> CustodyPeriod:
    """PATCH a spell (a release, a sentence, a corrected start) if the caller read the
    current version; the no-overlap and date rules hold for the spell as changed."""
    current = get_custody(session=session, person_id=person_id, custody_id=custody_id)
    data = changes.model_dump(exclude_unset=True)
    if "start_on" in data and data["start_on"] is None:
        raise invalid_field(["body", "start_on"], "start_on cannot be removed")
    start_on, end_on = data.get("start_on", current.start_on), data.get("end_on", current.end_on)
    if end_on is not None and end_on < start_on:
        raise invalid_field(["body", "end_on"], "end_on cannot be before start_on")
    _check_against_register(session, person_id=person_id, start_on=start_on, end_on=end_on,
                            exclude_id=custody_id)
    return versioned_update(session, CustodyPeriod, custody_id,
                            expected_version=expected_version, values=data,
                            what="custody period")
