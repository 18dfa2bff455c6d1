"""Console sign-in sessions (server-side) and the failed-sign-in counters of the throttle."""

from datetime import datetime

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, enum_column, timestamp_field
from models.security import Role


class ConsoleSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "console_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # "oidc" (a person through the identity provider) or "key" (an API key pasted in).
    method: str = Field(max_length=8)
    key_id: int | None = Field(default=None, index=True)
    issuer: str | None = Field(default=None, max_length=300)
    subject: str | None = Field(default=None, max_length=300)
    display_name: str = Field(max_length=200)
    role: Role = Field(sa_column=enum_column(Role))
    # Area codes the person may see; null means every area.
    areas: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = timestamp_field()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why this person is using person-level data, asked once per session (never in a URL).
    purpose: str | None = Field(default=None, max_length=1000)


class ConsoleSessionRead(SQLModel):
    id: int
    method: str
    key_id: int | None
    issuer: str | None
    subject: str | None
    display_name: str
    role: Role
    areas: list[str] | None
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    purpose: str | None


class SignInAttempt(SQLModel, table=True):
    """An OpenID Connect sign-in under way: what the callback must check (state, nonce,
    PKCE verifier), keyed by a hash of the state, deleted when used."""

    __tablename__ = "sign_in_attempts"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_url: str = Field(max_length=2000)
    created_at: datetime = timestamp_field()


class ThrottleCount(SQLModel, table=True):
    """Failures from one client in one time window (shared by every worker)."""

    __tablename__ = "throttle_counts"

    client: str = Field(sa_column=Column(String(100), primary_key=True))
    window_start: int = Field(primary_key=True)
    failures: int = 0
