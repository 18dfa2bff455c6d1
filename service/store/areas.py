"""Where a person lived when: moves with dates, and the area of a day.

`persons.home_area` is the current area. Each move adds a `person_area_history` row for the
area left: [from_on, until_on). So the area someone lived in on day D is the area of their
earliest row with until_on > D, or their home_area if there is none. Under knowledge
`as_recorded` a move recorded after the cut-off is undone the same way: the earliest row
moved after D *or recorded after the cut-off* gives the area.
"""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import insert, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from models import Person, PersonArea, PersonAreaRead
from models.base import utcnow
from service.errors import invalid_field
from service.frames import ids_in, table_of

HISTORY = table_of(PersonArea)


def areas_then(conn: Connection, day: date, *, recorded_by: datetime | None = None,
               person_ids: Sequence[int] | None = None) -> dict[int, str]:
    """person_id -> the area lived in on `day`, for everyone whose home_area has changed
    since (or whose move was recorded after `recorded_by`). Moves are rare: a small read."""
    h = HISTORY.c
    moved = h.until_on > day
    if recorded_by is not None:
        moved = or_(moved, h.recorded_at > recorded_by)
    query = select(h.person_id, h.area).where(moved).order_by(h.person_id, h.until_on)
    if person_ids is not None:
        query = query.where(ids_in(h.person_id, sorted(set(person_ids))))
    then: dict[int, str] = {}
    for person_id, area in conn.execute(query):
        then.setdefault(int(person_id), str(area))
    return then


def record_move(session: Session, person: Person, *, to_area: str, moved_on: date) -> None:
    """Keep the area `person` is leaving, lived in until `moved_on`; the caller then sets
    home_area. A move cannot come before the last one, nor before the date of birth."""
    h = HISTORY.c
    last = session.connection().execute(
        select(h.until_on).where(h.person_id == person.id).order_by(h.until_on.desc())
        .limit(1)).scalar()
    if last is not None and moved_on < last:
        raise invalid_field(["body", "moved_on"], f"the last move was on {last}",
                            detail="moved_on cannot come before the person's last move")
    if moved_on < person.date_of_birth:
        raise invalid_field(["body", "moved_on"], "before date_of_birth")
    if to_area == person.home_area or moved_on == last:
        return  # not a move, or a same-day correction of where they moved to
    session.connection().execute(insert(HISTORY).values(
        person_id=person.id, area=person.home_area, from_on=last, until_on=moved_on,
        recorded_at=utcnow()))


def record_moves(conn: Connection, moves: Sequence[tuple[int, str]], *, moved_on: date) -> None:
    """Bulk form for imports: (person_id, area left) rows, each a move on `moved_on`. A
    person who already moved today keeps that one row (their area of the day before)."""
    if not moves:
        return
    h = HISTORY.c
    ids = sorted({pid for pid, _ in moves})
    last: dict[int, date] = {}
    for person_id, until_on in conn.execute(
            select(h.person_id, h.until_on).where(h.person_id.in_(ids))):
        last[int(person_id)] = max(until_on, last.get(int(person_id), until_on))
    now = utcnow()
    rows = [{"person_id": pid, "area": area, "from_on": last.get(pid), "until_on": moved_on,
             "recorded_at": now} for pid, area in moves if last.get(pid) != moved_on]
    if rows:
        conn.execute(insert(HISTORY), rows)


def area_history(session: Session, person: Person) -> list[PersonAreaRead]:
    """Every area the person lived in, oldest first, ending with the current one."""
    h = HISTORY.c
    rows = session.connection().execute(
        select(h.area, h.from_on, h.until_on).where(h.person_id == person.id)
        .order_by(h.until_on)).all()
    history = [PersonAreaRead(area=r.area, from_on=r.from_on, to_on=r.until_on) for r in rows]
    since = rows[-1].until_on if rows else None
    return [*history, PersonAreaRead(area=person.home_area, from_on=since, to_on=None)]
