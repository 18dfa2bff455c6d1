"""Training jobs and the model registry's answers: candidates, the gate's verdict, promotion.

A training job runs in the background; its row says how far it got and, when done, which
candidate it produced, whether the gate passed it and whether it became current.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, enum_column, timestamp_field
from models.enums import ModelStatus
from models.score import RunStatus


class TrainingJob(SQLModel, table=True):
    __tablename__ = "training_jobs"

    id: int | None = Field(default=None, primary_key=True)
    status: RunStatus = Field(default=RunStatus.queued, sa_column=enum_column(RunStatus))
    requested_at: datetime = timestamp_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_seconds: float | None = None
    candidate_version: str | None = Field(default=None, max_length=64)
    gate_passed: bool | None = None
    promoted: bool | None = None
    # The gate's reasons for a rejection, in words (empty when it passed).
    gate_reasons: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=500)


class TrainingJobRead(SQLModel):
    id: int
    status: RunStatus
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    candidate_version: str | None = Field(description="The model the job trained (when done)")
    gate_passed: bool | None = Field(description="Whether the candidate passed the gate")
    promoted: bool | None = Field(description="Whether it became the current model")
    gate_reasons: list[str] | None = Field(description="Why the gate refused it, in words")
    error: str | None


class ContenderFigures(BaseModel):
    """One row of a comparison on the held-out later dates."""

    contender: str = Field(description="candidate, current, rule_based or baseline")
    version: str | None
    comparable: bool
    auc: float | None
    brier: float | None
    ece: float | None = Field(description="Expected calibration error, 10 equal-width bins")


class GateVerdict(BaseModel):
    model_config = {"extra": "allow"}

    passed: bool
    reasons: list[str]


class ModelCandidateRead(BaseModel):
    version: str
    status: ModelStatus
    trained_at: str | None
    cut_off: str | None = Field(description="First held-out date: it was fitted before it")
    comparison: list[ContenderFigures]
    gate: GateVerdict | None = Field(description="None for a model trained before the gate")
    external_gate: GateVerdict | None = Field(default=None, description=(
        "The gate on the latest external evaluation (POST /model/evaluations); None when "
        "the force has supplied none. A candidate it did not score fails it until the "
        "cohort is evaluated again"))


class ModelCandidateList(BaseModel):
    current: str = Field(description="The model_version in use (rule_based@... before any)")
    items: list[ModelCandidateRead] = Field(description="Every saved version, newest first")


class PromoteRequest(BaseModel):
    force: bool = Field(default=False, description=(
        "Promote a candidate the gate rejected (admin decision; needs a reason)"))
    reason: str | None = Field(default=None, min_length=3, max_length=500, description=(
        "Why: required with force, and kept in the audit event"))


class PromotionRead(BaseModel):
    current: str | None = Field(description="The version now in use (None: the fallback)")
    previous: str | None
    forced: bool
    card: dict[str, Any]


class ModelEvaluation(SQLModel, table=True):
    """An external evaluation: a force's labelled cohort, scored as of each person's date.

    Only aggregates are kept: the figures per model version and the fallback, the counts
    and who uploaded it. The cohort itself (PNC IDs, dates, outcomes) is not stored.
    """

    __tablename__ = "model_evaluations"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_field()
    uploaded_by: str = Field(max_length=200)
    source: str | None = Field(default=None, max_length=200)
    cohort_rows: int
    matched_rows: int
    unmatched_pnc_ids: int
    positives: int
    first_assessed_on: str | None = Field(default=None, max_length=10)
    last_assessed_on: str | None = Field(default=None, max_length=10)
    current_version: str = Field(max_length=64)
    # version -> figures (governance.figures) for the fallback and every model scored.
    figures: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ExternalFigures(BaseModel):
    """One model (or the fallback) on a force's own labelled cohort."""

    model_config = {"extra": "allow"}

    version: str
    auc: float | None
    brier: float | None
    ece: float | None = Field(description="Expected calibration error, 10 equal-width bins")


class ModelEvaluationRead(BaseModel):
    id: int
    created_at: datetime
    uploaded_by: str
    source: str | None
    cohort_rows: int = Field(description="Rows in the uploaded file")
    matched_rows: int = Field(description="Rows whose PNC ID is on the register (scored)")
    unmatched_pnc_ids: int = Field(description="Distinct PNC IDs not on the register "
                                               "(counted, never listed)")
    positives: int = Field(description="Matched rows that reoffended")
    first_assessed_on: str | None
    last_assessed_on: str | None
    current_version: str = Field(description="The model_version in use when it was run")
    figures: list[ExternalFigures] = Field(description=(
        "The fallback, the current model and each candidate on the cohort"))


class ModelEvaluationList(BaseModel):
    items: list[ModelEvaluationRead] = Field(description="Newest first")
