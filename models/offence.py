"""Recorded offences: one row per offence a person is linked to, from PNC/Niche or the API."""

from datetime import date, datetime

from pydantic import model_validator
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_column, timestamp_field
from models.enums import Outcome
from scoring.uk_calendar import uk_today


class OffenceFields(SQLModel):
    offence_date: date
    domestic_abuse: bool = False
    victim_ref: str | None = Field(
        default=None, max_length=64, description="Pseudonymous victim key, for counting victims"
    )
    outcome: Outcome = Field(default=Outcome.pending, sa_column=enum_column(Outcome))
    outcome_date: date | None = None
    source: str = Field(default="api", max_length=32, regex=r"^[A-Za-z0-9_.-]+$")
    source_ref: str | None = Field(
        default=None, max_length=64, description="Unique per source: re-sending never duplicates"
    )


class Offence(OffenceFields, table=True):
    __tablename__ = "offences"
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        Index("ix_offences_person_id_offence_date", "person_id", "offence_date"),
        # Date ranges across an area (the console's monthly counts, reports).
        Index("ix_offences_offence_date", "offence_date"),
        # Shortlists find candidates from a stream's offence types in a look-back window;
        # what that read returns is in the key, so it never touches the table itself.
        Index("ix_offences_offence_type_offence_date", "offence_type", "offence_date",
              "person_id", "domestic_abuse"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", ondelete="CASCADE")
    offence_type: str = Field(max_length=64)
    ho_code: str | None = Field(default=None, max_length=16)
    recorded_at: datetime = timestamp_field()
    # Corrected after it is recorded (an outcome arrives, a type was wrong): updates are
    # versioned like every other record, with If-Match.
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = timestamp_field()


def _check_dates(offence_date: date | None, outcome_date: date | None) -> None:
    today = uk_today()
    if offence_date is not None and offence_date > today:
        raise ValueError("offence_date cannot be in the future")
    if outcome_date is not None:
        if outcome_date > today:
            raise ValueError("outcome_date cannot be in the future")
        if offence_date is not None and outcome_date < offence_date:
            raise ValueError("outcome_date cannot be before offence_date")


class OffenceCreate(OffenceFields):
    """An offence as sent: `offence_type` or a Home Office `ho_code`, mapped via the catalogue."""

    offence_type: str | None = Field(default=None, max_length=64)
    ho_code: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _checks(self) -> "OffenceCreate":
        if self.offence_type is None and self.ho_code is None:
            raise ValueError("give offence_type or ho_code")
        _check_dates(self.offence_date, self.outcome_date)
        return self


class OffenceUpdate(SQLModel):
    """A correction: the fields a PATCH may change; absent fields are left alone. A new
    `offence_type` or `ho_code` is mapped through the catalogue as on create; the merged
    record keeps the date rules (not in the future, not before birth, outcome after offence).
    """

    offence_date: date | None = None
    offence_type: str | None = Field(default=None, max_length=64)
    ho_code: str | None = Field(default=None, max_length=16)
    domestic_abuse: bool | None = None
    victim_ref: str | None = Field(default=None, max_length=64)
    outcome: Outcome | None = None
    outcome_date: date | None = None

    @model_validator(mode="after")
    def _checks(self) -> "OffenceUpdate":
        _check_dates(self.offence_date, self.outcome_date)
        return self


class OffenceRead(OffenceFields):
    id: int
    person_id: int
    offence_type: str
    ho_code: str | None
    recorded_at: datetime
    version: int
    updated_at: datetime
