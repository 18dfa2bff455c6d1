"""The change feed: one row per create, update or delete of a register record, written by
database triggers (so every write path is captured), read in commit order by `GET /changes`.

An entry names the record (entity and id), the person it is about, what happened and the
version it left; never what the record says. See docs/architecture.md ("The change feed").
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, enum_column


class ChangeEntity(StrEnum):
    person = "person"
    offence = "offence"
    custody = "custody"
    membership = "membership"
    referral = "referral"
    decision = "decision"


class ChangeOp(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    erase = "erase"  # a person's row was deleted: only erasure deletes a person


# The captured tables and what their entries are called (the migration's triggers use the
# same names; tests check every one of them has its three triggers).
CAPTURED_TABLES: dict[str, ChangeEntity] = {
    "persons": ChangeEntity.person,
    "offences": ChangeEntity.offence,
    "custody_periods": ChangeEntity.custody,
    "cohort_memberships": ChangeEntity.membership,
    "referrals": ChangeEntity.referral,
    "decisions": ChangeEntity.decision,
}


def _bigint_pk() -> Column:  # type: ignore[type-arg]
    # BIGSERIAL on PostgreSQL; the rowid on SQLite, one more than the largest in the table
    # (AUTOINCREMENT cost a fifth of the trigger's time), so pruning never deletes the
    # newest entry and a value is never handed out twice.
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)


class Change(SQLModel, table=True):
    """One change to one record. No foreign keys: entries outlive what they describe."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_xid_seq", "xid", "seq"),)

    # Statement order within the writing transaction (and, on SQLite, commit order).
    seq: int | None = Field(default=None, sa_column=_bigint_pk())
    # The writing transaction (PostgreSQL pg_current_xact_id(); 0 on SQLite).
    xid: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    entity: ChangeEntity = Field(sa_column=enum_column(ChangeEntity))
    entity_id: int
    person_id: int | None = None
    op: ChangeOp = Field(sa_column=enum_column(ChangeOp))
    version: int | None = None


class ChangeCommit(SQLModel, table=True):
    """PostgreSQL only: the commit position of each transaction that wrote changes.

    `pos` is handed out as the transaction commits, under a lock (the commit fence) held
    shared until the commit is visible; a reader takes the fence exclusively for a moment
    and returns only positions that were handed out before it, so no gap below a cursor
    ever fills in later (service/store/changes.py).
    """

    __tablename__ = "change_commits"

    xid: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    pos: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True,
                                                           unique=True))
    committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class ChangesPruned(SQLModel, table=True):
    """How far the feed has been pruned (one row once pruned): a cursor before it is 410."""

    __tablename__ = "changes_pruned"

    id: int = Field(default=1, primary_key=True)
    pos: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    pruned_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ChangeRead(SQLModel):
    """One entry of the feed: what changed, never what it says (read the record for that)."""

    cursor: str = Field(description="This entry's position; pass it as `after` to read on "
                                    "from here")
    at: datetime = Field(description="When the change was written (UTC)")
    entity: ChangeEntity
    id: int = Field(description="The record's id (for a person, the person id)")
    person_id: int | None = Field(description="The person the record is about (for a "
                                              "decision stripped by an erasure, the erased "
                                              "person); null only for changes to a decision "
                                              "already stripped")
    op: ChangeOp
    version: int | None = Field(description="The record's version after the change; null "
                                            "for delete and erase, and for decisions "
                                            "(which have no version)")


class ChangePage(SQLModel):
    """A page of the feed, oldest first."""

    items: list[ChangeRead]
    next_cursor: str = Field(description="Pass as `after` next time. It equals `after` when "
                                         "there is nothing new: wait, then poll again")


class ChangeHead(SQLModel):
    """Where the feed ends now."""

    next_cursor: str = Field(description="Pass as `after` to read every change from now on")
