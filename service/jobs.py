"""Running work after the response: score runs, training jobs and re-scoring after a large
import, outside the request."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends
from sqlmodel import Session

from service import current_scores
from service.db import get_engine
from service.deps import ScorerDep
from service.scorer import Scorer, SessionFactory, execute_run
from service.training import execute_training

log = logging.getLogger(__name__)


@contextmanager
def engine_session() -> Iterator[Session]:
    """A fresh session on the configured database (jobs outlive their request's session)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


RunScheduler = Callable[[int, Scorer], None]


def get_run_scheduler(background: BackgroundTasks) -> RunScheduler:
    """Schedule a score run to execute once the response has been sent."""

    def schedule(run_id: int, scorer: Scorer) -> None:
        background.add_task(execute_run, engine_session, run_id, scorer)

    return schedule


RunSchedulerDep = Annotated[RunScheduler, Depends(get_run_scheduler)]


TrainingScheduler = Callable[[int, Scorer, Path, dict[str, Any]], None]


def get_training_scheduler(background: BackgroundTasks) -> TrainingScheduler:
    """Schedule a training job to execute once the response has been sent."""

    def schedule(job_id: int, scorer: Scorer, model_dir: Path,
                 requested_by: dict[str, Any]) -> None:
        background.add_task(execute_training, engine_session, job_id, scorer, model_dir,
                            requested_by)

    return schedule


TrainingSchedulerDep = Annotated[TrainingScheduler, Depends(get_training_scheduler)]


Rescorer = Callable[[list[int]], None]


def get_rescorer(background: BackgroundTasks, scorer: ScorerDep) -> Rescorer:
    """For an import: re-score these people's stored current scores once the response has
    been sent (`service.current_scores.rescore`'s `later`)."""

    def schedule(person_ids: list[int]) -> None:
        background.add_task(rescore_after, engine_session, scorer, person_ids)

    return schedule


def rescore_after(sessions: SessionFactory, scorer: Scorer, person_ids: list[int]) -> None:
    """Re-score people after a response; on failure their rows stay absent, so their
    scores are computed on read until `iomscore rescore` stores them."""
    try:
        current_scores.refresh(sessions, scorer, person_ids=person_ids)
    except Exception:
        log.exception("re-scoring %s people after an import failed", len(person_ids))


RescorerDep = Annotated[Rescorer, Depends(get_rescorer)]
