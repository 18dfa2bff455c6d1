"""Custody periods: time a person spent in prison or on remand (not at liberty)."""

from datetime import date, datetime

from pydantic import model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import SourceFields, timestamp_field
from scoring.uk_calendar import uk_today


class CustodyFields(SQLModel):
    start_on: date
    end_on: date | None = Field(default=None, description="Null while still in custody")
    reason: str | None = Field(default=None, max_length=200)
    sentence_months: int | None = Field(
        default=None, ge=1, le=1200,
        description="The custodial sentence in months, where known (null on remand or if "
                    "not known). Exit reviews list members serving over 24 months.")


class CustodyPeriod(CustodyFields, SourceFields, table=True):
    __tablename__ = "custody_periods"
    # A unique index, not a constraint: SQLite adds an index without rebuilding the table.
    __table_args__ = (Index("ix_custody_periods_source_source_ref", "source", "source_ref",
                            unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", index=True, ondelete="CASCADE")
    recorded_at: datetime = timestamp_field()
    # A spell changes after it is recorded (the release date arrives later): updates are
    # versioned like every other record, with If-Match.
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = timestamp_field()


class CustodyCreate(CustodyFields):
    @model_validator(mode="after")
    def _checks(self) -> "CustodyCreate":
        _check_spell(self.start_on, self.end_on)
        return self


def _check_spell(start_on: date | None, end_on: date | None) -> None:
    if start_on is not None and start_on > uk_today():
        raise ValueError("start_on cannot be in the future")
    if end_on is not None and end_on > uk_today():
        raise ValueError("end_on is the actual release date and cannot be in the future")
    if start_on is not None and end_on is not None and end_on < start_on:
        raise ValueError("end_on cannot be before start_on")


class CustodyUpdate(SQLModel):
    """What a PATCH may change: a release (`end_on`), the sentence, a corrected start or
    reason; absent fields are left alone, `end_on: null` reopens the spell."""

    start_on: date | None = None
    end_on: date | None = None
    reason: str | None = Field(default=None, max_length=200)
    sentence_months: int | None = Field(default=None, ge=1, le=1200)

    @model_validator(mode="after")
    def _checks(self) -> "CustodyUpdate":
        _check_spell(self.start_on, self.end_on)
        return self


class CustodyRead(CustodyFields, SourceFields):
    id: int
    person_id: int
    recorded_at: datetime
    version: int
    updated_at: datetime
