"""Referrals into IOM, migration meetings, and the decisions a meeting takes on people."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import SourceFields, enum_column, timestamp_field
from models.enums import (
    CandidateFlag,
    Cohort,
    ExclusionCode,
    ExitFlag,
    ExitReason,
    Knowledge,
    RankBy,
    RfgColumn,
    ScoreColumn,
    ShortlistSection,
)
from scoring.uk_calendar import uk_today


class DecisionKind(StrEnum):
    adopt = "adopt"
    decline = "decline"
    defer = "defer"
    exit = "exit"


class ReferralStatus(StrEnum):
    open = "open"
    decided = "decided"
    withdrawn = "withdrawn"


# --- referrals -------------------------------------------------------------------------------

class ReferralFields(SQLModel):
    person_id: int = Field(foreign_key="persons.id", ondelete="CASCADE")
    referring_agency: str = Field(max_length=100, min_length=1,
                                  description="e.g. probation, mental health, police")
    requested_stream: str = Field(foreign_key="streams.code", max_length=32)
    reason: str = Field(max_length=2000, min_length=1)
    referred_on: date
    ogrs_score: float | None = Field(
        default=None, ge=0, le=100,
        description="OGRS 2-year % supplied by probation, where known (seed 002: 75)")


class Referral(ReferralFields, SourceFields, table=True):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_area_requested_stream", "area", "requested_stream"),
                      Index("ix_referrals_person_id", "person_id"),
                      Index("ix_referrals_source_source_ref", "source", "source_ref",
                            unique=True))

    id: int | None = Field(default=None, primary_key=True)
    area: str = Field(foreign_key="areas.code", max_length=32)
    # Set when a meeting decides (adopt, decline, exit): the date it left the open list.
    closed_on: date | None = None
    decision_id: int | None = None
    # Withdrawn by the referrer before a meeting decided (closed_on is the withdrawal date).
    withdrawal_reason: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=200)
    created_at: datetime = timestamp_field()
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = timestamp_field()


class ReferralCreate(ReferralFields):
    area: str | None = Field(default=None, max_length=32,
                             description="The meeting area; default: the person's home area")

    @model_validator(mode="after")
    def _not_future(self) -> "ReferralCreate":
        if self.referred_on > uk_today():
            raise ValueError("referred_on cannot be in the future")
        return self


class ReferralWithdraw(SQLModel):
    """PATCH body that withdraws an open referral (the referrer no longer asks for it)."""

    status: Literal[ReferralStatus.withdrawn]
    reason: str = Field(min_length=1, max_length=2000)
    withdrawn_on: date | None = Field(default=None, description="Default: today")

    @model_validator(mode="after")
    def _not_future(self) -> "ReferralWithdraw":
        if self.withdrawn_on is not None and self.withdrawn_on > uk_today():
            raise ValueError("withdrawn_on cannot be in the future")
        return self


class ReferralRead(ReferralFields, SourceFields):
    id: int
    area: str
    status: ReferralStatus
    closed_on: date | None
    decision_id: int | None
    withdrawal_reason: str | None
    recorded_by: str
    created_at: datetime
    version: int
    updated_at: datetime


# --- meetings --------------------------------------------------------------------------------

class MeetingFields(SQLModel):
    area: str = Field(foreign_key="areas.code", max_length=32)
    held_on: date
    agencies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False),
                                description="Agencies present (police, probation, health, ...)")


class Meeting(MeetingFields, table=True):
    __tablename__ = "meetings"

    id: int | None = Field(default=None, primary_key=True)
    recorded_by: str = Field(max_length=200)
    created_at: datetime = timestamp_field()


class MeetingCreate(MeetingFields):
    @model_validator(mode="after")
    def _agencies(self) -> "MeetingCreate":
        cleaned = [a.strip() for a in self.agencies]
        if any(not a or len(a) > 100 for a in cleaned):
            raise ValueError("each agency must be 1-100 characters")
        self.agencies = cleaned
        return self


class MeetingRead(MeetingFields):
    id: int
    recorded_by: str
    created_at: datetime


# --- decisions -------------------------------------------------------------------------------

class DecisionFields(SQLModel):
    person_id: int = Field(foreign_key="persons.id", ondelete="CASCADE")
    decision: DecisionKind = Field(sa_column=enum_column(DecisionKind))
    cohort: Cohort | None = Field(default=None, sa_column=enum_column(Cohort, nullable=True))
    stream: str = Field(foreign_key="streams.code", max_length=32)
    rationale: str = Field(min_length=1, max_length=4000)
    exit_reason: ExitReason | None = Field(
        default=None, sa_column=enum_column(ExitReason, nullable=True))


class Decision(DecisionFields, table=True):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_person_id", "person_id"),
                      Index("ix_decisions_meeting_id", "meeting_id"))

    id: int | None = Field(default=None, primary_key=True)
    # Null once the person is erased: the decision and its date stay, nothing identifies.
    person_id: int | None = Field(  # type: ignore[assignment]
        default=None, foreign_key="persons.id", ondelete="CASCADE")
    meeting_id: int = Field(foreign_key="meetings.id", ondelete="CASCADE")
    # The membership an adopt created or an exit closed.
    membership_id: int | None = Field(default=None, foreign_key="cohort_memberships.id")
    referral_id: int | None = Field(default=None, foreign_key="referrals.id")
    # What the meeting saw: the person's shortlist entry (score, reasons, flags, versions).
    shortlist_entry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = timestamp_field()


class DecisionCreate(DecisionFields):
    shortlist_as_of: date | None = Field(
        default=None, description="The as-of date of the shortlist the meeting used "
                                  "(default: the meeting date); its entry is stored")

    @model_validator(mode="after")
    def _checks(self) -> "DecisionCreate":
        if self.decision == DecisionKind.adopt and self.cohort is None:
            raise ValueError("an adopt decision needs a cohort")
        if self.decision == DecisionKind.exit and self.exit_reason is None:
            raise ValueError("an exit decision needs an exit_reason")
        if self.decision != DecisionKind.exit and self.exit_reason is not None:
            raise ValueError("exit_reason is only for exit decisions")
        return self


class ShortlistVersions(SQLModel):
    shortlist: str
    scoring_config: str
    catalogue: str
    model: str


class ShortlistEntry(BaseModel):
    """What the meeting saw of the person when it decided: their entry on the list (a
    candidate's or member's row, or why they were excluded or not listed) with the list's
    area, stream, date and versions. Stored with the decision as it was, so the row's
    other fields (rank, scores, criteria, ...) are kept whatever the list held then."""

    model_config = ConfigDict(extra="allow")

    person_id: int
    reasons: list[str]
    as_of: date
    area: str
    stream: str
    versions: ShortlistVersions
    # Last: in the class body the name `list` is the field from here on.
    list: ShortlistSection | None = Field(description="Where the person stood; null if "
                                                      "not on the list")


class DecisionRead(DecisionFields):
    person_id: int | None = Field(description="Null if the person has since been erased")  # type: ignore[assignment]
    id: int
    meeting_id: int
    held_on: date
    area: str
    membership_id: int | None
    referral_id: int | None
    shortlist_entry: ShortlistEntry | None
    recorded_by: str
    recorded_at: datetime


# --- shortlists (response schemas; computed, never stored except inside a decision) ----------

class ShortlistCandidate(SQLModel):
    rank: int
    person_id: int
    pnc_id: str
    name: str | None
    age: int
    rfg: float = Field(description="The stream's RFG (criteria.rfg_column)")
    threat: float
    harm: float
    risk: float
    escalating: bool
    last_offence_on: date | None
    offences_12m: int
    referred_by: str | None = Field(description="The referring agency, if on an open referral")
    referral_id: int | None
    ogrs_score: float | None
    reasons: list[str]
    flags: list[CandidateFlag]


class ShortlistExcluded(SQLModel):
    person_id: int
    pnc_id: str
    name: str | None
    referred_by: str | None
    reason_codes: list[ExclusionCode] = Field(description="Why, by code (one per reason)")
    reasons: list[str] = Field(description="The same reasons in words, and any open referral")


class ShortlistHead(SQLModel):
    """What every shortlist answer starts with: where, when, and the rules and versions."""

    as_of: date
    area: str
    stream: str
    generated_at: datetime
    config_version: str = Field(description="The scoring (RFG) configuration version")
    model_version: str
    versions: ShortlistVersions


class ShortlistCountCriteria(SQLModel):
    """The stream's rule and the list's settings, as the counts were made."""

    stream: str
    qualifying_offence: str = Field(description="The qualifying offence in words")
    min_offences: int
    lookback_months: int
    rfg_column: RfgColumn
    ogrs_threshold: float | None
    serial_victims: int | None
    include_other_areas: bool
    recent_months: int
    excluded_when: list[str]
    referrals: str
    knowledge: Knowledge


class ShortlistCriteria(ShortlistCountCriteria):
    """The rule and settings of a ranked list: the counts' and how it was ranked."""

    rank_by: RankBy
    rank_column: ScoreColumn = Field(description="The score the list is ordered by")
    limit: int | None


class ExitCriteria(SQLModel):
    """The exit review's rule, as the list was made."""

    stream: str
    no_offences_months: int
    long_sentence_months: int
    custody_min_months: int
    recent_months: int
    members: str
    knowledge: Knowledge


class ShortlistRead(ShortlistHead):
    criteria: ShortlistCriteria
    candidates: list[ShortlistCandidate]
    excluded: list[ShortlistExcluded]
    withheld: int = Field(default=0, description=(
        "Rows left out: about people living outside the key's areas (counted, not named)"))


class ExitCandidate(SQLModel):
    row: int
    person_id: int
    pnc_id: str
    name: str | None
    membership_id: int
    cohort: Cohort
    adopted_on: date
    last_offence_on: date | None
    offences_12m: int
    rfg: float
    risk: float
    reasons: list[str]
    flags: list[ExitFlag]


class ExitReviewRead(SQLModel):
    as_of: date
    area: str
    stream: str
    generated_at: datetime
    config_version: str
    model_version: str
    versions: ShortlistVersions
    criteria: ExitCriteria
    members: list[ExitCandidate]
    withheld: int = Field(default=0, description=(
        "Rows left out: about people living outside the key's areas (counted, not named)"))
