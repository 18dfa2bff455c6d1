"""API schemas of the shortlists' aggregate counts: no tables here."""

from pydantic import BaseModel, Field

from models.meeting import ShortlistCountCriteria, ShortlistHead


class ExcludedByReason(BaseModel):
    """Excluded people per reason (a person excluded for two reasons counts under both)."""

    active_member: int = Field(description="Already an active member of the stream")
    in_custody: int = Field(description="In custody on as_of")
    deceased: int
    other_area: int = Field(description="Home area elsewhere (include_other_areas=false)")
    under_min_age: int = Field(description="Under the stream's minimum age, not referred "
                                           "as a transition case")


class ReferralCounts(BaseModel):
    open: int = Field(description="People with a referral to the stream open on as_of")
    listed: int = Field(description="Of those, listed as candidates")
    excluded: int = Field(description="Of those, excluded")


class ShortlistCounts(ShortlistHead):
    """A migration shortlist's aggregate counts: no person-level data."""

    criteria: ShortlistCountCriteria
    eligible: int = Field(description="Everyone the full list would rank (no limit)")
    eligible_on_criteria: int = Field(description="Eligible people who meet the criteria")
    eligible_on_referral_only: int = Field(
        description="Eligible people listed only because of an open referral")
    excluded: int
    excluded_by_reason: ExcludedByReason
    referrals: ReferralCounts
