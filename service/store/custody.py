"""Custody periods: one person is never in two custody spells at once."""

from sqlmodel import Session, select

from models import CustodyCreate, CustodyPeriod
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.store.common import page, person_or_404


def _overlaps(a_start, a_end, b_start, b_end) -> bool:  # type: ignore[no-untyped-def]
    # Spells are closed intervals [start_on, end_on]; an open spell (end_on None) runs on.
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


def add_custody(*, session: Session, person_id: int, custody_in: CustodyCreate) -> CustodyPeriod:
    """Record a custody spell; overlapping another spell of the same person is a conflict."""
    person = person_or_404(session, person_id, for_update=True)
    if custody_in.start_on < person.date_of_birth:
        raise invalid_field(["body", "start_on"], "before date_of_birth",
                            detail="start_on is before the person's date_of_birth")
    spells = session.exec(select(CustodyPeriod).where(CustodyPeriod.person_id == person_id)).all()
    for spell in spells:
        if _overlaps(custody_in.start_on, custody_in.end_on, spell.start_on, spell.end_on):
            raise Conflict(f"overlaps custody period {spell.id} "
                           f"({spell.start_on} to {spell.end_on or 'open'})")
    spell = CustodyPeriod(person_id=person_id, **custody_in.model_dump())
    session.add(spell)
    session.commit()
    session.refresh(spell)
    return spell


def list_custody(*, session: Session, person_id: int, paging: Paging
                 ) -> tuple[list[CustodyPeriod], int]:
    """A person's custody spells, oldest first."""
    person_or_404(session, person_id)
    query = select(CustodyPeriod).where(CustodyPeriod.person_id == person_id)
    return page(session, query, paging, CustodyPeriod.start_on, CustodyPeriod.id)
