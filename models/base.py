"""Shared pieces of the table models: constraint naming, timestamps, pages."""

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator
from sqlalchemy import Column, DateTime, Enum
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from scoring.uk_calendar import utcnow as utcnow  # the one clock, for the models' timestamps

# Deterministic constraint names, so Alembic migrations can name what they drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    # Pydantic also reads numbers (and numeric strings) as Unix timestamps: "0" would be
    # 1970-01-01. Dates here are calendar dates written YYYY-MM-DD, nothing else.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("a date must be written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|z|[+-]\d{2}:?\d{2})?")


def _iso_datetime_only(value: Any) -> Any:
    # As for dates: a number, or a numeric string in a query ("?to=0.5"), would otherwise
    # be read as a Unix timestamp (365.25 became 1970-01-01T00:06:05 for a key's expiry).
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("a date-time must be written as ISO 8601 text, e.g. 2026-12-01T09:30Z")


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_only)]


def _utc_if_naive(value: datetime) -> datetime:
    # Stored timestamps are UTC; a search bound written without a zone ("from=2026-01-01")
    # is read as UTC rather than compared, unzoned, with zoned values. Values that are
    # stored (a key's expiry) stay strict and must name their zone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcSearchBound = Annotated[IsoDateTime, AfterValidator(_utc_if_naive)]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every database.

    PostgreSQL keeps the zone; SQLite hands back naive values, which are UTC here because
    only UTC is ever written. Either way the application sees an aware datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def timestamp_field() -> datetime:
    """A timezone-aware UTC timestamp column defaulting to now."""
    field: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                            nullable=False)
    return field


def enum_column(enum: type[StrEnum], *, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    """A VARCHAR column holding an enum's values (portable: no native PostgreSQL ENUM types)."""
    return Column(
        Enum(enum, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        nullable=nullable,
    )


# What an import's source column may hold (a system's short name: pnc, niche, a feed's name).
SOURCE_PATTERN = r"^[A-Za-z0-9_.-]+$"


class SourceFields(SQLModel):
    """Where a custody spell, membership or referral came from: `api` with no reference for
    one made through the API; an import's source system and its reference there, the key a
    re-sent row matches on ((source, source_ref) is unique)."""

    source: str = Field(default="api", max_length=32,
                        sa_column_kwargs={"server_default": "api"},
                        description="The system the record came from; api if made here")
    source_ref: str | None = Field(
        default=None, max_length=64,
        description="Its reference in that system (imports); unique per source")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching rows."""

    items: list[T]
    total: int
    limit: int
    offset: int
