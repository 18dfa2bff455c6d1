"""Training jobs in the database: queue one (never two at once), read one."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from models import RunStatus, TrainingJob
from service.errors import Conflict

# An arbitrary constant naming the advisory lock that serialises queueing training jobs.
_TRAINING_QUEUE_LOCK = 0x7A1E0B


def create_job(*, session: Session, stale_after: timedelta, lock_held: bool) -> TrainingJob:
    """Queue a training job, or 409 while another is queued or running.

    `lock_held` says whether a training (perhaps the CLI's) holds the model folder's lock
    now; a job requested longer than `stale_after` ago is taken to have died with its worker.
    """
    busy = Conflict("a threat model is already being trained; try again when it has "
                    "finished", headers={"Retry-After": "60"})
    if lock_held:
        raise busy
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _TRAINING_QUEUE_LOCK})
    since = datetime.now(UTC) - stale_after
    active = session.exec(select(func.count()).select_from(TrainingJob).where(
        col(TrainingJob.status).in_([RunStatus.queued, RunStatus.running]),
        col(TrainingJob.requested_at) > since)).one()
    if active:
        session.rollback()
        raise busy
    job = TrainingJob()
    session.add(job)
    session.flush()
    return job
