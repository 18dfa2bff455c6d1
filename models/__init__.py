"""Table models and API schemas. Importing this package registers every table."""

from models.area import Area, AreaRead, Stream, StreamRead
from models.base import Page
from models.custody import CustodyCreate, CustodyPeriod, CustodyRead
from models.membership import (
    CohortMembership,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
)
from models.offence import Offence, OffenceCreate, OffenceRead
from models.person import Person, PersonCreate, PersonRead, PersonUpdate
from models.score import (
    PersonScoreRead,
    RunStatus,
    ScoreRun,
    ScoreRunCreate,
    ScoreRunRead,
    ScoreSnapshot,
    ScoreSnapshotRead,
)
from models.security import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    AuditAction,
    AuditEvent,
    AuditEventRead,
    Role,
)

__all__ = [
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyIssued",
    "ApiKeyRead",
    "AuditAction",
    "AuditEvent",
    "AuditEventRead",
    "PersonScoreRead",
    "Role",
    "RunStatus",
    "ScoreRun",
    "ScoreRunCreate",
    "ScoreRunRead",
    "ScoreSnapshot",
    "ScoreSnapshotRead",
    "Area",
    "AreaRead",
    "CohortMembership",
    "CustodyCreate",
    "CustodyPeriod",
    "CustodyRead",
    "MembershipCreate",
    "MembershipRead",
    "MembershipUpdate",
    "Offence",
    "OffenceCreate",
    "OffenceRead",
    "Page",
    "Person",
    "PersonCreate",
    "PersonRead",
    "PersonUpdate",
    "Stream",
    "StreamRead",
]
