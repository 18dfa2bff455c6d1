"""Cohort memberships: a person adopted into a cohort stream, and their exit."""

from datetime import date, datetime

from pydantic import model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import SourceFields, enum_column, timestamp_field
from models.enums import Cohort, ExitReason, Rag
from scoring.uk_calendar import uk_today


def _check_exit(adopted_on: date | None, exited_on: date | None, reason: ExitReason | None) -> None:
    today = uk_today()
    if adopted_on is not None and adopted_on > today:
        raise ValueError("adopted_on cannot be in the future")
    if exited_on is not None and exited_on > today:
        raise ValueError("exited_on cannot be in the future")
    if adopted_on is not None and exited_on is not None and exited_on < adopted_on:
        raise ValueError("exited_on cannot be before adopted_on")
    if exited_on is not None and reason is None:
        raise ValueError("an exit needs an exit_reason")
    if exited_on is None and reason is not None:
        raise ValueError("exit_reason given without exited_on")


class MembershipFields(SQLModel):
    cohort: Cohort = Field(sa_column=enum_column(Cohort))
    stream: str = Field(foreign_key="streams.code", max_length=32)
    area: str = Field(foreign_key="areas.code", max_length=32)
    adopted_on: date
    exited_on: date | None = None
    exit_reason: ExitReason | None = Field(
        default=None, sa_column=enum_column(ExitReason, nullable=True)
    )
    offender_manager: str | None = Field(default=None, max_length=200)
    rag: Rag | None = Field(default=None, sa_column=enum_column(Rag, nullable=True))


class CohortMembership(MembershipFields, SourceFields, table=True):
    __tablename__ = "cohort_memberships"
    __table_args__ = (Index("ix_cohort_memberships_person_id_stream", "person_id", "stream"),
                      Index("ix_cohort_memberships_source_source_ref", "source", "source_ref",
                            unique=True))

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", ondelete="CASCADE")
    version: int = Field(default=1, nullable=False)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class MembershipCreate(MembershipFields):
    person_id: int = Field(ge=1, le=2_147_483_647)

    @model_validator(mode="after")
    def _checks(self) -> "MembershipCreate":
        _check_exit(self.adopted_on, self.exited_on, self.exit_reason)
        return self


class MembershipUpdate(SQLModel):
    """Fields a PATCH may change. The combined record is re-checked before it is written."""

    cohort: Cohort | None = None
    area: str | None = Field(default=None, max_length=32)
    adopted_on: date | None = None
    exited_on: date | None = None
    exit_reason: ExitReason | None = None
    offender_manager: str | None = Field(default=None, max_length=200)
    rag: Rag | None = None


class MembershipRead(MembershipFields, SourceFields):
    id: int
    person_id: int
    version: int
    created_at: datetime
    updated_at: datetime


def check_membership(adopted_on: date, exited_on: date | None, reason: ExitReason | None) -> None:
    """The exit rules on a whole record (used after a PATCH is merged)."""
    _check_exit(adopted_on, exited_on, reason)
