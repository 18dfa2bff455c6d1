"""API keys (stored only as hashes) and the append-only audit trail."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from models.base import IsoDateTime, UTCDateTime, enum_column, timestamp_field


class Role(StrEnum):
    admin = "admin"  # keys, configuration, catalogue; everything else too
    offender_manager = "offender_manager"  # person-level read and write
    analyst = "analyst"  # aggregate reports and counts only: never a person-level record
    integration = "integration"  # case-management tools: person-level read/write, imports


class AuditAction(StrEnum):
    """The kinds of processing DPA 2018 s.62 requires logs of."""

    collection = "collection"
    alteration = "alteration"
    consultation = "consultation"
    disclosure = "disclosure"
    erasure = "erasure"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: Role = Field(sa_column=enum_column(Role))
    # Area codes the key may see; null means every area.
    areas: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The public part of the key, used to find the row; the secret is only ever hashed.
    prefix: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    secret_hash: str = Field(max_length=128)
    created_at: datetime = timestamp_field()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    areas: list[str] | None = Field(default=None, description="Area codes; null or omitted: all")
    expires_at: IsoDateTime | None = None


class ApiKeyRead(SQLModel):
    id: int
    name: str
    role: Role
    areas: list[str] | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyRead):
    key: str = Field(description="The full key. Shown once: only its hash is stored.")


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field()
    key_id: int | None = Field(default=None, index=True)
    key_name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=32)
    # A person signed in through the identity provider: its subject and display name
    # (key_id and key_name stay empty); a key's events leave these empty.
    actor_subject: str | None = Field(default=None, max_length=300, index=True)
    actor_name: str | None = Field(default=None, max_length=200)
    action: AuditAction = Field(sa_column=enum_column(AuditAction))
    method: str = Field(max_length=8)
    route: str = Field(max_length=200)
    status: int
    person_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    export_id: str | None = Field(default=None, max_length=64)
    justification: str | None = Field(default=None, max_length=1000)
    request_id: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=1000)


class AuditEventRead(SQLModel):
    id: int
    at: datetime
    key_id: int | None
    key_name: str | None
    role: str | None
    actor_subject: str | None = None
    actor_name: str | None = None
    action: AuditAction
    method: str
    route: str
    status: int
    person_ids: list[int]
    export_id: str | None
    justification: str | None
    request_id: str | None
    detail: str | None
