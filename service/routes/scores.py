"""Scores: one person's as of any date, and batch snapshots (the model: `routes/model.py`)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from models import (
    AuditAction,
    Person,
    PersonScoreRead,
    ScoreRun,
    ScoreRunCreate,
    ScoreRunRead,
    ScoreSnapshotRead,
)
from models.base import IsoDate
from models.enums import Knowledge, ScoreColumn
from models.score import ScoreSnapshotPage
from scoring.uk_calendar import uk_today
from service.access import require_area_visible, seen_person_row, visible_person_row
from service.audit import AuditDep
from service.consultation import Consultation, ConsultationDep
from service.current_scores import person_with_stored
from service.deps import (
    IdPath,
    PagingDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
)
from service.errors import NotFound, responses
from service.jobs import RunSchedulerDep
from service.scorer import Scorer, person_score
from service.security import BatchRunner, CurrentPrincipal, Justification, PersonLevel
from service.store import scores as store
from service.store.common import get_or_404

router = APIRouter(tags=["scores"])


@router.get("/persons/{person_id}/score", response_model=PersonScoreRead,
            responses=responses(403, 404, 422))
async def get_person_score(
    consultation: ConsultationDep, person_id: IdPath, scorer: ScorerDep,
    as_of: Annotated[IsoDate | None, Query(description="Default: today")] = None,
    knowledge: Annotated[Knowledge, Query(
        description="current: all known now about that date; as_recorded: only what had "
                    "been recorded by the end of as_of")] = Knowledge.current,
) -> dict[str, Any] | Response:
    """RFG, THR and band as of a date, with the factors that made them (decision support)."""
    return await run_in_threadpool(_consult_score, consultation, person_id, scorer,
                                   as_of, knowledge == Knowledge.as_recorded)


def _consult_score(consultation: Consultation, person_id: int, scorer: Scorer,
                   as_of: date | None, as_recorded: bool) -> dict[str, Any] | Response:
    session = consultation.session
    today = uk_today()
    day = as_of or today
    stored = None
    if day == today and not as_recorded:
        # Today's score as the last write about them stored it, read with the person row.
        found, stored = person_with_stored(session.connection(), person_id, scorer, today)
        row = seen_person_row(consultation.audit, found, person_id)
    else:
        row = visible_person_row(session, consultation.audit, person_id)
    result: dict[str, Any] | Response
    if stored is not None:
        result = Response(content=stored, media_type="application/json")
    else:
        result = person_score(session=session, person_id=person_id, as_of=day, scorer=scorer,
                              as_recorded=as_recorded, person=Person.model_validate(row))
    consultation.record([person_id], detail=f"score as of {day}")
    return result


@router.post("/scores/runs", status_code=status.HTTP_202_ACCEPTED, response_model=ScoreRunRead,
             responses=responses(403, 409, 422))
def start_score_run(principal: BatchRunner, run_in: ScoreRunCreate, session: SessionDep,
                    scorer: ScorerDep, schedule: RunSchedulerDep, settings: SettingsDep,
                    response: Response) -> ScoreRunRead:
    """Score everyone (or one area) as of a date in the background; poll the run's status.
    An area-limited key names one of its areas (403 otherwise)."""
    require_area_visible(principal, run_in.area, loc=("body", "area"))
    run = store.create_run(session=session, as_of=run_in.as_of or uk_today(),
                           area=run_in.area, max_active=settings.max_active_score_runs,
                           stale_after=settings.score_run_stale_after)
    assert run.id is not None
    schedule(run.id, scorer)
    response.headers["Location"] = f"/scores/runs/{run.id}"
    return ScoreRunRead.model_validate(run)


@router.get("/scores/runs/{run_id}", response_model=ScoreRunRead, responses=responses(404, 422))
def get_score_run(principal: CurrentPrincipal, run_id: IdPath,
                  session: SessionDep) -> ScoreRunRead:
    """A score run's status, size, duration and the versions it used (a run of one area
    outside the key's areas is 404)."""
    run = get_or_404(session, ScoreRun, run_id, what="score run")
    if run.area is not None and not principal.can_see(run.area):
        raise NotFound(f"score run {run_id} not found")
    return ScoreRunRead.model_validate(run)


@router.get("/scores", response_model=ScoreSnapshotPage, responses=responses(403, 404, 422))
def list_scores(
    principal: PersonLevel, session: SessionDep, paging: PagingDep,
    justification: Justification, audit: AuditDep,
    area: Annotated[str | None, Query()] = None,
    order_by: Annotated[ScoreColumn, Query()] = ScoreColumn.risk,
) -> ScoreSnapshotPage:
    """The latest snapshot, highest first: what the scores said on the day of that run;
    people living outside the key's areas are left out (an area outside them is 403)."""
    if area is not None:
        require_area_visible(principal, area)
    run = store.latest_run(session=session, area=area)
    rows, total = store.snapshot_page(session=session, run=run, paging=paging,
                                      order_by=order_by, area=area, areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[r.person_id for r in rows],
                 justification=justification, detail=f"scores run {run.id}")
    items = [ScoreSnapshotRead(**r.model_dump(), as_of=run.as_of) for r in rows]
    return ScoreSnapshotPage(items=items, total=total, limit=paging.limit,
                             offset=paging.offset, run=ScoreRunRead.model_validate(run))
