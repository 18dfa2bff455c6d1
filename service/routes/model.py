"""The threat model: its card, training in the background, candidates, promotion, rollback.

Nothing replaces the model in use without beating it on later dates it never saw (the gate
in the scoring configuration); an admin may override a rejection with a reason, audited.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response, status

from models import (
    AuditAction,
    ModelCandidateList,
    PromoteRequest,
    PromotionRead,
    TrainingJob,
    TrainingJobRead,
)
from models.score import ModelCard
from scoring.governance import comparison_summary
from service.audit import AuditDep
from service.config import Settings
from service.deps import IdPath, ScorerDep, SessionDep, SettingsDep
from service.errors import responses
from service.jobs import TrainingSchedulerDep
from service.scorer import Scorer, get_scorer_for
from service.security import Admin
from service.store import training_jobs as store
from service.store.common import get_or_404
from service.training import (
    REQUESTER_FIELDS,
    list_candidates,
    promote_version,
    rollback,
    training_running,
    undo,
)

router = APIRouter(tags=["model"])

VersionPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                  description="A saved model version")]


def current_card(scorer: Scorer) -> dict[str, Any]:
    """The card in use, with its comparison on held-out later dates as a short table."""
    card = scorer.card()
    if "comparison" in card:
        card["comparison_summary"] = comparison_summary(card["comparison"])
    return card


@router.get("/model", response_model=ModelCard)
def get_model_card(scorer: ScorerDep) -> dict[str, Any]:
    """The threat model's card (internal back-test, comparison with the fallback and the
    baseline on later dates, calibration, fairness by group) or the fallback's."""
    return current_card(scorer)


@router.post("/model/train", status_code=status.HTTP_202_ACCEPTED,
             response_model=TrainingJobRead, responses=responses(403, 409, 422))
def train_model(_: Admin, session: SessionDep, scorer: ScorerDep, settings: SettingsDep,
                schedule: TrainingSchedulerDep, audit: AuditDep,
                response: Response) -> TrainingJobRead:
    """Train a candidate in the background on the register by back-testing; poll the job.
    It becomes current only if it passes the gate (seconds to minutes)."""
    job = store.create_job(session=session, stale_after=settings.training_job_stale_after,
                           lock_held=training_running(settings.model_dir))
    event = audit.record(AuditAction.alteration, status=202,
                         detail=f"training job {job.id} queued: the candidate becomes "
                                "current only if it passes the gate")
    assert job.id is not None
    schedule(job.id, scorer, settings.model_dir,
             {name: getattr(event, name) for name in REQUESTER_FIELDS})
    response.headers["Location"] = f"/model/train/{job.id}"
    return TrainingJobRead.model_validate(job)


@router.get("/model/train/{job_id}", response_model=TrainingJobRead,
            responses=responses(404, 422))
def get_training_job(job_id: IdPath, session: SessionDep) -> TrainingJobRead:
    """A training job's status; when done, the candidate, the gate's verdict and whether it
    became current."""
    return TrainingJobRead.model_validate(get_or_404(session, TrainingJob, job_id,
                                                     what="training job"))


@router.get("/model/candidates", response_model=ModelCandidateList)
def get_model_candidates(scorer: ScorerDep, settings: SettingsDep) -> dict[str, Any]:
    """Every saved version (current, candidate, rejected or retired) with its comparison
    on held-out later dates and the gate's verdict and reasons."""
    return {"current": scorer.model_version, "items": list_candidates(settings.model_dir)}


def _audited(audit: AuditDep, settings: Settings, change: dict[str, Any],
             justification: str | None, detail: str) -> None:
    try:
        audit.record(AuditAction.alteration, justification=justification, detail=detail)
    except Exception:  # no change without its record: put the previous model back
        undo(settings.model_dir, change)
        raise


@router.post("/model/{version}/promote", response_model=PromotionRead,
             responses=responses(403, 404, 409, 422))
def promote_model(_: Admin, version: VersionPath, scorer: ScorerDep, settings: SettingsDep,
                  audit: AuditDep,
                  body: Annotated[PromoteRequest | None, Body()] = None) -> dict[str, Any]:
    """Make a saved version current: a candidate, or an earlier model (a rollback). One the
    gate rejected needs `force=true` and a `reason`, which the audit event keeps."""
    request = body or PromoteRequest()
    change = promote_version(settings.model_dir, version, scorer=scorer, force=request.force,
                             reason=request.reason)
    forced = " (forced past the gate)" if change["forced"] else ""
    _audited(audit, settings, change, request.reason,
             f"model {version} made current{forced}; previous: "
             f"{change['previous'] or 'rule-based fallback'}")
    return {**change, "card": model_card_now(scorer, settings)}


@router.post("/model/rollback", response_model=PromotionRead,
             responses=responses(403, 409, 422))
def rollback_model(_: Admin, scorer: ScorerDep, settings: SettingsDep,
                   audit: AuditDep) -> dict[str, Any]:
    """Make the previous current model (or the rule-based fallback) current again."""
    change = rollback(settings.model_dir, scorer=scorer)
    _audited(audit, settings, change, None,
             f"model rollback: {change['current'] or 'rule-based fallback'} made current; "
             f"previous: {change['previous']}")
    return {**change, "card": model_card_now(scorer, settings)}


def model_card_now(scorer: Scorer, settings: Settings) -> dict[str, Any]:
    """The card of the model the marker names now (this worker's scorer reloads it)."""
    fresh = get_scorer_for(scorer.catalogue, settings.scoring_config_path, settings.model_dir)
    return current_card(fresh)
