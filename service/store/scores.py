"""Score runs and snapshots in the database."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import desc, func, or_, text
from sqlmodel import Session, col, select

from models import Area, Person, RunStatus, ScoreRun, ScoreSnapshot
from service.deps import Paging
from service.errors import Conflict, NotFound
from service.store.common import page, require_reference

# An arbitrary constant naming the advisory lock that serialises queueing score runs.
_RUN_QUEUE_LOCK = 0x10D5C0E

def create_run(*, session: Session, as_of: date, area: str | None, max_active: int,
               stale_after: timedelta) -> ScoreRun:
    """Queue a score run for everyone (or one home area) as of a date.

    At most `max_active` runs may be queued or running (409 otherwise); one requested
    longer than `stale_after` ago is taken to have died with its worker.
    """
    if area is not None:
        require_reference(session, Area, area, field="area")
    if session.get_bind().dialect.name == "postgresql":
        # Serialise the count-and-insert across workers; SQLite's single writer does so.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _RUN_QUEUE_LOCK})
    run = ScoreRun(as_of=as_of, area=area)
    session.add(run)
    session.flush()
    since = datetime.now(UTC) - stale_after
    active = session.exec(select(func.count()).select_from(ScoreRun).where(
        col(ScoreRun.status).in_([RunStatus.queued, RunStatus.running]),
        col(ScoreRun.requested_at) > since)).one()
    if active > max_active:
        session.rollback()
        raise Conflict(f"{max_active} score runs are already queued or running; try again "
                       "when one has finished", headers={"Retry-After": "30"})
    session.commit()
    session.refresh(run)
    return run


def latest_run(*, session: Session, area: str | None) -> ScoreRun:
    """The newest finished run covering the area (an all-areas run covers every area); an
    unknown area is a 422."""
    if area is not None:
        require_reference(session, Area, area, field="area", where="query")
    query = select(ScoreRun).where(ScoreRun.status == RunStatus.done)
    if area is not None:
        query = query.where(or_(col(ScoreRun.area) == area, col(ScoreRun.area).is_(None)))
    run = session.exec(query.order_by(col(ScoreRun.finished_at).desc(),
                                      col(ScoreRun.id).desc())).first()
    if run is None:
        raise NotFound("no finished score run covers this area yet: POST /scores/runs")
    return run


def snapshot_page(*, session: Session, run: ScoreRun, paging: Paging, order_by: str,
                  area: str | None, areas: frozenset[str] | None
                  ) -> tuple[list[ScoreSnapshot], int]:
    """One page of a run's snapshot, highest first, limited to home areas the key may see."""
    column: Any = getattr(ScoreSnapshot, order_by)
    query = (select(ScoreSnapshot).join(Person, col(Person.id) == col(ScoreSnapshot.person_id))
             .where(ScoreSnapshot.run_id == run.id))
    if area is not None:
        query = query.where(Person.home_area == area)
    if areas is not None:
        query = query.where(col(Person.home_area).in_(sorted(areas)))
    return page(session, query, paging, desc(column), ScoreSnapshot.person_id)
