"""Deletions and erasure (DPA 2018 Part 3 s.47): why a record went, and how an erased record
is recognised if an old extract sends it again, without keeping what it said."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.base import enum_column, timestamp_field


class DeletionReason(StrEnum):
    recorded_in_error = "recorded_in_error"
    retention_review = "retention_review"
    court_order = "court_order"
    other = "other"


class ErasedKind(StrEnum):
    person = "person"    # recognised by PNC ID
    offence = "offence"  # recognised by (source, source_ref), as are the three below
    custody = "custody"
    membership = "membership"
    referral = "referral"


class ErasedRecord(SQLModel, table=True):
    """A salted hash of an erased record's natural key, and nothing else: enough for an
    import to skip a re-sent row, too little to say who or what it was."""

    __tablename__ = "erased_records"

    id: int | None = Field(default=None, primary_key=True)
    kind: ErasedKind = Field(sa_column=enum_column(ErasedKind))
    key_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    reason: DeletionReason = Field(sa_column=enum_column(DeletionReason))
    erased_at: datetime = timestamp_field()


class ErasureSalt(SQLModel, table=True):
    """The database's own random salt for `ErasedRecord.key_hash` (one row, made by the
    migration), so the hashes cannot be matched against PNC IDs computed elsewhere."""

    __tablename__ = "erasure_salt"

    id: int = Field(default=1, primary_key=True)
    salt: str = Field(sa_column=Column(String(64), nullable=False))
