"""API schema of an import's answer (POST /imports/...): no tables here."""

from pydantic import BaseModel, Field, PrivateAttr


class ImportSummary(BaseModel):
    """What an import did: every row of the file is exactly one of inserted, updated,
    unchanged or skipped_erased."""

    inserted: int = Field(description="New records written")
    updated: int = Field(description="Existing records whose content changed")
    unchanged: int = Field(description="Existing records already identical (a re-sent row)")
    skipped_erased: int = Field(default=0, description=(
        "Rows for records that were erased or deleted, not brought back (send "
        "restore_erased=true to bring them back)"))
    rows: int = Field(description="Data rows in the file")
    # The people the file touched, for the audit trail (never part of the response).
    _person_ids: list[int] = PrivateAttr(default_factory=list)

    @property
    def person_ids(self) -> list[int]:
        return self._person_ids
