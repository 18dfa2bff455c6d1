"""API schema of the retention review (GET /admin/retention): computed, never stored."""

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.enums import RetentionActivity, RetentionReason


class RetentionCandidate(SQLModel):
    person_id: int
    home_area: str
    last_offence_on: date | None
    last_custody_on: date | None = Field(description="End of the last spell (as_of if open)")
    last_membership_on: date | None = Field(description="Last exit (as_of if still active)")
    last_activity_on: date | None = Field(description="The latest activity the rule counts")
    review_due_on: date | None
    deceased_on: date | None
    reason: RetentionReason


class RetentionReviewRead(SQLModel):
    """People due for a records review under the force's retention rule, oldest activity
    first. The list supports a human review: nothing is deleted because a person is on it
    (an erasure is a separate, audited DELETE /persons/{id})."""

    as_of: date
    rule_version: str
    quiet_years: int
    activity: list[RetentionActivity]
    generated_at: datetime
    total: int
    limit: int
    offset: int
    items: list[RetentionCandidate]
