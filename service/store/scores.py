"""Score runs and snapshots in the database."""

from datetime import date
from typing import Any

from sqlalchemy import desc, or_
from sqlmodel import Session, col, select

from models import Area, Person, RunStatus, ScoreRun, ScoreSnapshot
from service.deps import Paging
from service.errors import NotFound
from service.store.common import page, require_reference

ORDERABLE = ("risk", "rfg", "threat", "harm", "rfg_acquisitive", "rfg_domestic_abuse")


def create_run(*, session: Session, as_of: date, area: str | None) -> ScoreRun:
    """Queue a score run for everyone (or one home area) as of a date."""
    if area is not None:
        require_reference(session, Area, area, field="area")
    run = ScoreRun(as_of=as_of, area=area)
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


def latest_run(*, session: Session, area: str | None) -> ScoreRun:
    """The newest finished run covering the area (an all-areas run covers every area)."""
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
