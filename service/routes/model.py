"""The threat model: its card, training in the background, candidates, promotion, rollback.

Nothing replaces the model in use without beating it on later dates it never saw (the gate
in the scoring configuration); an admin may override a rejection with a reason, audited.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status
from sqlmodel import Session, col, select

from models import (
    AuditAction,
    ModelCandidateList,
    ModelEvaluation,
    ModelEvaluationList,
    ModelEvaluationRead,
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
from service.evaluation import (
    COHORT_COLUMNS,
    evaluation_read,
    latest_evaluation,
    read_cohort,
    run_evaluation,
)
from service.jobs import TrainingSchedulerDep
from service.routes.imports import ImportFileDep, _request_body
from service.scorer import Scorer, get_scorer_for
from service.security import Admin, ForceAdmin
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


def current_card(scorer: Scorer, session: Session) -> dict[str, Any]:
    """The card in use, with its comparison on held-out later dates as a short table and
    the latest external evaluation beside it."""
    card = scorer.card()
    if "comparison" in card:
        card["comparison_summary"] = comparison_summary(card["comparison"])
    latest = latest_evaluation(session)
    card["external_evaluation"] = None if latest is None else evaluation_read(latest)
    return card


@router.get("/model", response_model=ModelCard)
def get_model_card(scorer: ScorerDep, session: SessionDep) -> dict[str, Any]:
    """The threat model's card (internal back-test, comparison with the fallback and the
    baseline on later dates, calibration, fairness by group) or the fallback's, and the
    latest external evaluation (`external_evaluation`, null if none)."""
    return current_card(scorer, session)


@router.post("/model/train", status_code=status.HTTP_202_ACCEPTED,
             response_model=TrainingJobRead, responses=responses(403, 409, 422))
def train_model(_: ForceAdmin, session: SessionDep, scorer: ScorerDep, settings: SettingsDep,
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
             {name: event[name] for name in REQUESTER_FIELDS})
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
def get_model_candidates(scorer: ScorerDep, settings: SettingsDep,
                         session: SessionDep) -> dict[str, Any]:
    """Every saved version (current, candidate, rejected or retired) with its comparison
    on held-out later dates, the gate's verdict and reasons, and its verdict on the latest
    external evaluation (`external_gate`, null when no force cohort has been evaluated)."""
    return {"current": scorer.model_version,
            "items": list_candidates(settings.model_dir, scorer=scorer,
                                     evaluation=latest_evaluation(session))}


@router.post("/model/evaluations", status_code=status.HTTP_201_CREATED,
             response_model=ModelEvaluationRead, responses=responses(403, 413, 415, 422),
             openapi_extra=_request_body("cohort", COHORT_COLUMNS,
                                         "pnc_id,assessed_on,reoffended\n"
                                         "2019/0012345Z,2023-04-01,yes\n",
                                         '{"pnc_id": "2019/0012345Z", "assessed_on": '
                                         '"2023-04-01", "reoffended": true}\n'))
def create_evaluation(principal: Admin, file: ImportFileDep, session: SessionDep,
                      scorer: ScorerDep, settings: SettingsDep, audit: AuditDep,
                      response: Response,
                      source: Annotated[str | None, Query(max_length=200, description=(
                          "Where the cohort came from, e.g. 'proven reoffending 2023 Q2'"
                      ))] = None) -> dict[str, Any]:
    """External evaluation: upload a labelled cohort (PNC ID, assessment date, reoffended
    within 12 months) and get AUC, Brier, ECE, calibration and rates by group for the
    current model, each candidate and the fallback, each person scored as of their date
    from the register. Only the figures are kept; unknown PNC IDs are counted, not listed.
    The gate holds candidates to the fallback on the latest evaluation."""
    cohort = read_cohort(file, max_rows=settings.max_import_rows)
    evaluation, person_ids = run_evaluation(
        session, cohort, scorer=scorer, model_dir=settings.model_dir,
        uploaded_by=principal.name, source=source, areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=person_ids, status=201,
                 detail=f"external evaluation {evaluation.id}: {evaluation.cohort_rows} "
                        f"cohort rows, {evaluation.matched_rows} matched and scored")
    response.headers["Location"] = f"/model/evaluations/{evaluation.id}"
    return evaluation_read(evaluation)


@router.get("/model/evaluations", response_model=ModelEvaluationList)
def list_evaluations(session: SessionDep) -> dict[str, Any]:
    """Every external evaluation, newest first (aggregate figures only)."""
    rows = session.exec(select(ModelEvaluation).order_by(col(ModelEvaluation.id).desc())).all()
    return {"items": [evaluation_read(e) for e in rows]}


@router.get("/model/evaluations/{evaluation_id}", response_model=ModelEvaluationRead,
            responses=responses(404, 422))
def get_evaluation(evaluation_id: IdPath, session: SessionDep) -> dict[str, Any]:
    """One external evaluation."""
    return evaluation_read(get_or_404(session, ModelEvaluation, evaluation_id,
                                      what="external evaluation"))


def _audited(audit: AuditDep, settings: Settings, change: dict[str, Any],
             justification: str | None, detail: str) -> None:
    try:
        audit.record(AuditAction.alteration, justification=justification, detail=detail)
    except Exception:  # no change without its record: put the previous model back
        undo(settings.model_dir, change)
        raise


@router.post("/model/{version}/promote", response_model=PromotionRead,
             responses=responses(403, 404, 409, 422))
def promote_model(_: ForceAdmin, version: VersionPath, scorer: ScorerDep, settings: SettingsDep,
                  audit: AuditDep, session: SessionDep,
                  body: Annotated[PromoteRequest | None, Body()] = None) -> dict[str, Any]:
    """Make a saved version current: a candidate, or an earlier model (a rollback). One the
    gate rejected needs `force=true` and a `reason`, which the audit event keeps."""
    request = body or PromoteRequest()
    change = promote_version(settings.model_dir, version, scorer=scorer, force=request.force,
                             reason=request.reason, evaluation=latest_evaluation(session))
    forced = " (forced past the gate)" if change["forced"] else ""
    _audited(audit, settings, change, request.reason,
             f"model {version} made current{forced}; previous: "
             f"{change['previous'] or 'rule-based fallback'}")
    return {**change, "card": model_card_now(scorer, settings, session)}


@router.post("/model/rollback", response_model=PromotionRead,
             responses=responses(403, 409, 422))
def rollback_model(_: ForceAdmin, scorer: ScorerDep, settings: SettingsDep,
                   audit: AuditDep, session: SessionDep) -> dict[str, Any]:
    """Make the previous current model (or the rule-based fallback) current again."""
    change = rollback(settings.model_dir, scorer=scorer)
    _audited(audit, settings, change, None,
             f"model rollback: {change['current'] or 'rule-based fallback'} made current; "
             f"previous: {change['previous']}")
    return {**change, "card": model_card_now(scorer, settings, session)}


def model_card_now(scorer: Scorer, settings: Settings, session: Session) -> dict[str, Any]:
    """The card of the model the marker names now (this worker's scorer reloads it)."""
    fresh = get_scorer_for(scorer.catalogue, settings.scoring_config_path, settings.model_dir)
    return current_card(fresh, session)
