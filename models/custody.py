"""Custody periods: time a person spent in prison or on remand (not at liberty)."""

from datetime import date, datetime

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class CustodyFields(SQLModel):
    start_on: date
    end_on: date | None = Field(default=None, description="Null while still in custody")
    reason: str | None = Field(default=None, max_length=200)
    sentence_months: int | None = Field(
        default=None, ge=1, le=1200,
        description="The custodial sentence in months, where known (null on remand or if "
                    "not known). Exit reviews list members serving over 24 months.")


class CustodyPeriod(CustodyFields, table=True):
    __tablename__ = "custody_periods"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", index=True, ondelete="CASCADE")
    recorded_at: datetime = timestamp_field()


class CustodyCreate(CustodyFields):
    @model_validator(mode="after")
    def _checks(self) -> "CustodyCreate":
        if self.start_on > date.today():
            raise ValueError("start_on cannot be in the future")
        if self.end_on is not None and self.end_on > date.today():
            raise ValueError("end_on is the actual release date and cannot be in the future")
        if self.end_on is not None and self.end_on < self.start_on:
            raise ValueError("end_on cannot be before start_on")
        return self


class CustodyRead(CustodyFields):
    id: int
    person_id: int
    recorded_at: datetime
