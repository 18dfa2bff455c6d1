"""Table models and API schemas. Importing this package registers every table."""

from models.area import Area, AreaRead, Stream, StreamRead
from models.base import Page
from models.change import (
    CAPTURED_TABLES,
    Change,
    ChangeCommit,
    ChangeEntity,
    ChangeHead,
    ChangeOp,
    ChangePage,
    ChangeRead,
    ChangesPruned,
)
from models.custody import CustodyCreate, CustodyPeriod, CustodyRead, CustodyUpdate
from models.erasure import DeletionReason, ErasedKind, ErasedRecord, ErasureSalt
from models.meeting import (  # migration meetings: referrals, meetings, decisions
    Decision,
    DecisionCreate,
    DecisionKind,
    DecisionRead,
    ExitCandidate,
    ExitReviewRead,
    Meeting,
    MeetingCreate,
    MeetingRead,
    Referral,
    ReferralCreate,
    ReferralRead,
    ReferralStatus,
    ReferralWithdraw,
    ShortlistCandidate,
    ShortlistExcluded,
    ShortlistRead,
    ShortlistVersions,
)
from models.membership import (
    CohortMembership,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
)
from models.offence import Offence, OffenceCreate, OffenceRead, OffenceUpdate
from models.person import (
    Person,
    PersonArea,
    PersonAreaRead,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)
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
from models.sessions import (  # console sign-in sessions, the sign-in throttle
    ConsoleSession,
    ConsoleSessionRead,
    SignInAttempt,
    ThrottleCount,
)
from models.training import (  # training jobs and the model registry
    ModelCandidateList,
    ModelCandidateRead,
    PromoteRequest,
    PromotionRead,
    TrainingJob,
    TrainingJobRead,
)

__all__ = [
    "CAPTURED_TABLES", "Change", "ChangeCommit", "ChangeEntity", "ChangeHead", "ChangeOp",
    "ChangePage", "ChangeRead", "ChangesPruned",
    "Decision", "DecisionCreate", "DecisionKind", "DecisionRead", "Meeting", "MeetingCreate",
    "MeetingRead", "Referral", "ReferralCreate", "ReferralRead", "ReferralStatus",
    "ReferralWithdraw", "DeletionReason", "ErasedKind", "ErasedRecord", "ErasureSalt",
    "OffenceUpdate", "PersonArea", "PersonAreaRead",
    "ExitCandidate", "ExitReviewRead", "ShortlistCandidate",
    "ShortlistExcluded", "ShortlistRead", "ShortlistVersions",
    "ModelCandidateList", "ModelCandidateRead", "PromoteRequest", "PromotionRead",
    "TrainingJob", "TrainingJobRead",
    "ConsoleSession", "ConsoleSessionRead", "SignInAttempt", "ThrottleCount",
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
    "CustodyUpdate",
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
