"""Score runs and their snapshots: what the scores said, for everyone, on a given day.

Snapshots are kept (never overwritten) so "what did the score say on the day of the
meeting" can always be answered, with the versions that made the numbers.
"""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from models.base import Page, UTCDateTime, enum_column, timestamp_field
from models.enums import Band, FactorPart, Knowledge, ThreatSource


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ScoreRun(SQLModel, table=True):
    __tablename__ = "score_runs"

    id: int | None = Field(default=None, primary_key=True)
    as_of: date
    area: str | None = Field(default=None, foreign_key="areas.code", max_length=32)
    status: RunStatus = Field(default=RunStatus.queued, sa_column=enum_column(RunStatus))
    requested_at: datetime = timestamp_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    persons_scored: int | None = None
    duration_seconds: float | None = None
    config_version: str | None = Field(default=None, max_length=64)
    catalogue_version: str | None = Field(default=None, max_length=64)
    model_version: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)


class ScoreRunCreate(SQLModel):
    as_of: date | None = Field(default=None, description="Default: today")
    area: str | None = Field(default=None, max_length=32, description="Default: every area")


class ScoreRunRead(SQLModel):
    id: int
    as_of: date
    area: str | None
    status: RunStatus
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    persons_scored: int | None
    duration_seconds: float | None
    config_version: str | None
    catalogue_version: str | None
    model_version: str | None
    error: str | None


class ScoreValues(SQLModel):
    recency: float
    frequency: float
    gravity: float
    victims: float
    rfg: float
    rfg_acquisitive: float
    rfg_domestic_abuse: float
    threat: float
    harm: float
    risk: float
    escalating: bool
    threat_source: str = Field(max_length=16)
    band: str = Field(max_length=16)
    offences_to_date: int


class ScoreSnapshot(ScoreValues, table=True):
    __tablename__ = "score_snapshots"
    __table_args__ = (Index("ix_score_snapshots_run_id_risk", "run_id", "risk"),)

    run_id: int = Field(foreign_key="score_runs.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="persons.id", primary_key=True, ondelete="CASCADE")


class CurrentScore(ScoreValues, table=True):
    """Each person's score for one day (today, when it was written), kept up to date by
    every write that changes what it depends on (service/current_scores.py).

    Valid only for its `as_of` and its three versions: a new day, or another rules,
    catalogue or model version, makes it stale, and readers then compute.
    """

    __tablename__ = "current_scores"
    __table_args__ = (Index("ix_current_scores_as_of_risk", "as_of", "risk"),)

    person_id: int = Field(foreign_key="persons.id", primary_key=True, ondelete="CASCADE")
    as_of: date
    config_version: str = Field(max_length=64)
    catalogue_version: str = Field(max_length=64)
    model_version: str = Field(max_length=64)
    # GET /persons/{id}/score's answer (knowledge=current, default top) as JSON text, as
    # the route sends it: served as it is, with no kernel, model validation or encoding.
    body: str = Field(sa_type=Text)
    computed_at: datetime = Field(sa_type=UTCDateTime)


class ScoreSnapshotRead(ScoreValues):
    # Stored as text (the table is unchanged); the API names the closed sets.
    threat_source: ThreatSource  # type: ignore[assignment]
    band: Band  # type: ignore[assignment]
    run_id: int
    person_id: int
    as_of: date


class RfgComponents(SQLModel):
    recency: float
    frequency: float
    gravity: float
    victims: float
    score: float


class ThrValues(SQLModel):
    threat: float = Field(description="Probability of a new offence within 12 months")
    harm: float = Field(description="Expected seriousness if they offend, 0-100")
    risk: float = Field(description="threat x harm, 0-100")
    threat_source: ThreatSource = Field(
        description="model, or rule_based before any model is trained")
    baseline: float = Field(description=(
        "The threat of a baseline person (the average of the model's training population, "
        "or the rule's intercept), as a probability: threat = baseline + the threat "
        "factors' contributions / 100"))


class Factor(SQLModel):
    part: FactorPart = Field(description=(
        "rfg (points of the 0-100 score; they sum to the RFG score) or threat (percentage "
        "points relative to the baseline; they sum to 100 x (threat - baseline)). Past the "
        "top factors, one `other_factors` line carries the rest, so each part adds up"))
    factor: str
    text: str
    contribution: float
    display: str


class PersonScoreRead(SQLModel):
    person_id: int
    as_of: date
    knowledge: Knowledge
    rfg: RfgComponents
    rfg_by_stream: dict[str, float]
    thr: ThrValues
    band: Band
    escalating: bool
    offences_to_date: int
    explanation: list[Factor]
    config_version: str
    catalogue_version: str
    model_version: str


class ScoreSnapshotPage(Page[ScoreSnapshotRead]):
    run: ScoreRunRead


class ModelCard(BaseModel):
    model_config = {"extra": "allow"}

    threat_source: ThreatSource
    model_version: str
