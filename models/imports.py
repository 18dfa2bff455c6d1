"""API schemas of imports (POST /imports/...): the answer, and the rows of each file kind;
no tables here."""

from pydantic import BaseModel, PrivateAttr, model_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from models.base import SOURCE_PATTERN
from models.custody import CustodyCreate
from models.meeting import ReferralCreate
from models.membership import MembershipFields, check_membership


class ImportSummary(BaseModel):
    """What an import did: every row of the file is exactly one of inserted, updated,
    unchanged or skipped_erased."""

    inserted: int = PydanticField(description="New records written")
    updated: int = PydanticField(description="Existing records whose content changed")
    unchanged: int = PydanticField(description="Existing records already identical (a re-sent row)")
    skipped_erased: int = PydanticField(default=0, description=(
        "Rows for records that were erased or deleted, not brought back (send "
        "restore_erased=true to bring them back)"))
    rows: int = PydanticField(description="Data rows in the file")
    # The people the file touched, for the audit trail (never part of the response).
    _person_ids: list[int] = PrivateAttr(default_factory=list)
    # Those of them whose records it inserted or changed (their stored scores are redone).
    _written_ids: list[int] = PrivateAttr(default_factory=list)

    @property
    def person_ids(self) -> list[int]:
        return self._person_ids

    @property
    def written_ids(self) -> list[int]:
        return self._written_ids


# --- row schemas: one row of an import file, checked as the single-record API checks ------

class ImportSource(SQLModel):
    """The key every imported record carries; the import insists on both (a re-sent file
    without them would duplicate every record)."""

    source: str | None = Field(default=None, max_length=32, regex=SOURCE_PATTERN)
    source_ref: str | None = Field(default=None, min_length=1, max_length=64)


class CustodyImport(CustodyCreate, ImportSource):
    """A custody row, less its person (named by pnc_id or person_id beside it)."""


class MembershipImport(MembershipFields, ImportSource):
    """A membership row, less its person."""

    @model_validator(mode="after")
    def _checks(self) -> "MembershipImport":
        check_membership(self.adopted_on, self.exited_on, self.exit_reason)
        return self


class ReferralImport(ReferralCreate, ImportSource):
    """A referral row, less its person (the person_id column is read with pnc_id)."""

    person_id: int | None = None  # type: ignore[assignment]
