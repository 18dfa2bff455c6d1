"""Training, gating, promotion and rollback of the threat model (docs/operations.md).

Training makes a *candidate* (``scoring.train_threat_model``): it is saved beside the
others, compared on later dates it never saw, and made current only if it passes the gate
(``thr.gate`` in the scoring configuration). Otherwise it stays ``rejected`` until an admin
promotes it with ``force`` and a reason. Promotion and rollback rewrite the model folder's
``CURRENT`` marker, which every worker re-reads (``service.scorer.get_scorer_for``).
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from models import AuditAction, AuditEvent, ModelEvaluation, RunStatus, TrainingJob
from scoring import ModelStoreError, ThreatModel, TrainingDataError, list_models, load_model
from scoring.artefacts import (
    current_version,
    model_status,
    previous_current,
    promote,
    read_card,
    save_model,
)
from scoring.features import feature_specs
from scoring.governance import comparison_summary
from scoring.training import train_threat_model
from service.errors import Conflict, NotFound, invalid_field
from service.evaluation import external_gate, latest_evaluation
from service.frames import custody_frame, offences_frame, persons_frame
from service.scorer import Scorer, SessionFactory

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


class TrainingInProgress(RuntimeError):
    """Another training holds the model folder's lock."""


@contextmanager
def training_lock(model_dir: Path) -> Iterator[None]:
    """Hold the model folder's training lock, or raise TrainingInProgress at once.

    A file lock (not a thread lock) so that every worker process sharing the folder sees
    it; the operating system drops it if the holder dies.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / ".training.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise TrainingInProgress("a threat model is already being trained") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def training_running(model_dir: Path) -> bool:
    """Whether some process holds the training lock now."""
    try:
        with training_lock(model_dir):
            return False
    except TrainingInProgress:
        return True


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _current_model(model_dir: Path) -> ThreatModel | None:
    version = current_version(model_dir)
    if version is None:
        return None
    try:
        return load_model(model_dir, version)
    except ModelStoreError:  # compared as absent; scoring itself will report the damage
        log.exception("the current model %s cannot be loaded for the comparison", version)
        return None


def train_candidate(*, frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                    scorer: Scorer, model_dir: Path, external_on_file: bool = False,
                    progress: Progress | None = None) -> tuple[ThreatModel, bool]:
    """Train a candidate on the register's frames, save it, and promote it if the gate
    passes (and the model in use is still the one it was compared with).

    Where the force has supplied an external evaluation (``external_on_file``), a new
    candidate is never promoted here: it has not been scored on that cohort yet, and the
    gate holds it to the fallback there too (shared/design.md); it waits as a candidate
    until the cohort is evaluated again and an admin promotes it.

    Call it holding ``training_lock``. Sex and ethnicity go to the trainer only as
    monitoring labels for the by-group figures; they are never features (the library
    refuses them). Returns the candidate and whether it became current.
    """
    offences, persons, custody = frames
    current = _current_model(model_dir)
    model = train_threat_model(
        offences, persons[["person_id", "date_of_birth", "deceased_on"]], custody,
        catalogue=scorer.catalogue, config=scorer.config, current=current,
        monitoring=persons[["person_id", "sex", "ethnicity"]], progress=progress)
    save_model(model, model_dir, make_current=False)
    compared_with = None if current is None else current.version
    if not model.card["gate"]["passed"] or external_on_file:
        return model, False
    if current_version(model_dir) != compared_with:
        log.warning("model %s passed the gate against %s, but %s is current now: kept as a "
                    "candidate", model.version, compared_with, current_version(model_dir))
        return model, False
    promote(model_dir, model.version, at=_now(), reason="passed the gate")
    return model, True


# Why a candidate that passed on the held-out dates was not made current.
AWAITING_EXTERNAL = ("passed on the held-out dates; the force has an external evaluation on "
                     "file, which has not scored this candidate: evaluate the cohort again "
                     "(POST /model/evaluations), then promote it")

# What a job's own audit event copies from the request that queued it.
REQUESTER_FIELDS = ("key_id", "key_name", "role", "method", "route", "request_id")


def execute_training(sessions: SessionFactory, job_id: int, scorer: Scorer,
                     model_dir: Path, requested_by: dict[str, Any] | None = None) -> None:
    """Run a training job outside any request: read the register, train, gate, record.

    The register is read and that transaction ended before the fit, so no connection is
    held for the minutes it takes. A promotion by the gate is audited in the name of the
    key that queued the job (``requested_by``: ``REQUESTER_FIELDS`` of its audit event),
    in the transaction that records the job done. A failure records `failed` and the
    error's type (with the message only for TrainingDataError, whose messages are ours and
    quote no data).
    """
    started = time.perf_counter()
    try:
        with sessions() as session:
            job = session.get(TrainingJob, job_id)
            if job is None:
                return
            job.status, job.started_at = RunStatus.running, datetime.now(UTC)
            session.add(job)
            session.commit()
        with training_lock(model_dir):
            with sessions() as session:
                conn = session.connection()
                frames = offences_frame(conn), persons_frame(conn), custody_frame(conn)
                external = latest_evaluation(session) is not None
                session.commit()
            model, promoted = train_candidate(frames=frames, scorer=scorer,
                                              model_dir=model_dir, external_on_file=external)
        gate = model.card["gate"]
        with sessions() as session:
            job = session.get(TrainingJob, job_id, populate_existing=True)
            assert job is not None
            job.status, job.finished_at = RunStatus.done, datetime.now(UTC)
            job.duration_seconds = round(time.perf_counter() - started, 3)
            job.candidate_version, job.promoted = model.version, promoted
            job.gate_passed, job.gate_reasons = bool(gate["passed"]), list(gate["reasons"])
            if gate["passed"] and external:
                job.gate_reasons = [AWAITING_EXTERNAL]
            session.add(job)
            if promoted and requested_by is not None:
                session.add(AuditEvent(
                    **requested_by, action=AuditAction.alteration, status=200,
                    detail=f"training job {job_id}: model {model.version} passed the gate "
                           "and was made current"))
            session.commit()
        log.info("training job %s done: %s %s", job_id, model.version,
                 "promoted" if promoted else "not promoted")
    except Exception as exc:  # a failed job must say so rather than stay "running"
        log.exception("training job %s failed", job_id)
        error = (f"TrainingDataError: {exc}" if isinstance(exc, TrainingDataError)
                 else type(exc).__name__)
        _mark_failed(sessions, job_id, error[:500])


def _mark_failed(sessions: SessionFactory, job_id: int, error: str) -> None:
    try:
        with sessions() as session:
            job = session.get(TrainingJob, job_id)
            if job is not None:
                job.status, job.finished_at, job.error = RunStatus.failed, datetime.now(UTC), error
                session.add(job)
                session.commit()
    except Exception:  # the database itself is gone: the log line above is all we can do
        log.exception("could not record the failure of training job %s", job_id)


def candidate_entry(model_dir: Path, version: str, *, scorer: Scorer,
                    evaluation: ModelEvaluation | None = None) -> dict[str, Any]:
    """One saved version: status, comparison summary, the gate's verdict on the held-out
    dates and on the latest external evaluation (a candidate failing it is rejected)."""
    card = read_card(model_dir, version)
    comparison = card.get("comparison")
    gate = card.get("gate")
    status = model_status(model_dir, version, card=card)
    external = external_gate(evaluation, version, current=current_version(model_dir),
                             scorer=scorer)
    if status == "candidate" and external is not None and not external["passed"] \
            and any(c["check"] != "external_evaluated" for c in external["checks"]):
        status = "rejected"
    return {"version": version, "status": status,
            "trained_at": card.get("trained_at"),
            "cut_off": comparison.get("cut_off") if comparison else None,
            "comparison": comparison_summary(comparison) if comparison else [],
            "gate": None if gate is None else {"passed": gate["passed"],
                                               "reasons": gate["reasons"],
                                               "checks": gate.get("checks", [])},
            "external_gate": external}


def list_candidates(model_dir: Path, *, scorer: Scorer,
                    evaluation: ModelEvaluation | None = None) -> list[dict[str, Any]]:
    """Every saved version, newest first."""
    return [candidate_entry(model_dir, v, scorer=scorer, evaluation=evaluation)
            for v in reversed(list_models(model_dir))]


def _check_usable(model_dir: Path, version: str, scorer: Scorer) -> None:
    try:
        model = load_model(model_dir, version)
    except ModelStoreError as exc:
        raise NotFound(str(exc)) from exc
    names = tuple(s.name for s in feature_specs(scorer.catalogue, scorer.config))
    if model.feature_names != names:
        raise Conflict(f"model {version} uses other features than this catalogue and "
                       "configuration produce: it cannot score here")


def promote_version(model_dir: Path, version: str, *, scorer: Scorer, force: bool,
                    reason: str | None,
                    evaluation: ModelEvaluation | None = None) -> dict[str, Any]:
    """Make a saved version current (or refuse: 404 unknown, 409 rejected without force or
    already current, 422 force without a reason). Returns what changed.

    With an external evaluation on file, a candidate must also pass the gate on it (or
    have been scored by it at all): the latest evaluation decides, as for the card."""
    try:
        card = read_card(model_dir, version)
    except ModelStoreError as exc:
        raise NotFound(f"no model version {version!r}") from exc
    status = model_status(model_dir, version, card=card)
    if status == "current":
        raise Conflict(f"model {version} is already current")
    if force and not reason:
        raise invalid_field(["body", "reason"], "a forced promotion needs a reason")
    if status == "rejected" and not force:
        reasons = "; ".join(card["gate"]["reasons"])
        raise Conflict(f"the gate rejected model {version} ({reasons}); promote it with "
                       "force=true and a reason to override")
    external = None
    if status == "candidate":
        external = external_gate(evaluation, version, current=current_version(model_dir),
                                 scorer=scorer)
    refused_outside = external is not None and not external["passed"]
    if refused_outside and not force:
        assert external is not None
        raise Conflict(f"model {version} does not pass the gate on the latest external "
                       f"evaluation ({'; '.join(external['reasons'])}); promote it with "
                       "force=true and a reason to override")
    _check_usable(model_dir, version, scorer)
    forced = force and (status == "rejected" or refused_outside)
    previous = promote(model_dir, version, at=_now(), forced=forced, reason=reason)
    return {"current": version, "previous": previous, "forced": forced}


def rollback(model_dir: Path, *, scorer: Scorer) -> dict[str, Any]:
    """Make the previous current version (or the fallback) current again."""
    now = current_version(model_dir)
    if now is None:
        raise Conflict("the rule-based fallback is in use: there is nothing to roll back")
    target = previous_current(model_dir)
    if target is not None:
        _check_usable(model_dir, target, scorer)
    promote(model_dir, target, at=_now(), reason=f"rollback from {now}")
    return {"current": target, "previous": now, "forced": False}


def undo(model_dir: Path, change: dict[str, Any]) -> None:
    """Put the previous version back (when the audit event of a change could not commit)."""
    promote(model_dir, change["previous"], at=_now(), reason="undone: audit failed")
