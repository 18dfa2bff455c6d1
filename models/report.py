"""API schemas of the IDIOM report (GET /reports/idiom): no tables here."""

from datetime import date

from pydantic import BaseModel, Field

from models.enums import Cohort, Counting, GroupKey, Knowledge


class WindowFigures(BaseModel):
    offences: int
    cost: float


class LibertyWindow(BaseModel):
    window_days: int = Field(description="Days in the window, summed over members")
    days: int = Field(description="Days at liberty: window days minus days in custody")
    offences_per_365_days: float | None = Field(
        description="Offences per 365 days at liberty (null when never at liberty)")
    members_under_min_days: int = Field(
        description="Members with fewer than min_days days at liberty in this window")


class AtLiberty(BaseModel):
    before: LibertyWindow
    during: LibertyWindow
    after: LibertyWindow
    offence_rate_reduction_pct: float | None
    min_days: int


class Interval(BaseModel):
    level: float
    method: str
    offence_reduction_pct: list[float] | None
    cost_reduction_pct: list[float] | None


class GroupComparison(BaseModel):
    members_matched: int
    cohort_before: int
    cohort_after: int
    comparison_before: float = Field(description="Comparators' offences, averaged per member")
    comparison_after: float
    cohort_reduction_pct: float | None
    comparison_reduction_pct: float | None
    net_reduction_pct: float | None = Field(
        description="1 - (cohort after/before) / (comparison after/before), %")
    net_change_per_member: float | None = Field(
        description="Mean of (member change - comparator change) in offences")
    interval: list[float] | None
    net_change_interval: list[float] | None


class GroupFigures(BaseModel):
    key: dict[str, str | None]
    members: int
    people: int
    before: WindowFigures
    during: WindowFigures
    after: WindowFigures
    offence_reduction_pct: float | None = Field(description="(before - after) / before, %, 1 dp")
    cost_reduction_pct: float | None
    cost_saving: float
    at_liberty: AtLiberty
    interval: Interval
    small_group: bool
    suppress: bool = Field(description="Fewer than 5 people: suppress before publication")
    warnings: list[str]
    comparison: GroupComparison | None


class Balance(BaseModel):
    feature: str
    members_mean: float | None
    pool_mean: float | None
    matched_members_mean: float | None
    comparators_mean: float | None
    smd_before: float | None
    smd_after: float | None


class ComparisonParameters(BaseModel):
    """How the comparison group was matched."""

    k: int = Field(description="Comparators per member")
    caliper: float
    features: list[str] = Field(description="The features matched on")
    exact: list[str] = Field(description="Matched exactly")
    distance: str
    candidate_pool: str
    outcome: str


class ComparisonSummary(BaseModel):
    method: str
    parameters: ComparisonParameters
    candidates: int
    comparators: int
    members_matched: int
    members_unmatched: int
    mean_distance: float | None
    balance: list[Balance]
    warnings: list[str]
    overall: GroupComparison | None


class IdiomFilters(BaseModel):
    """The membership filters the report was asked for (null: not filtered)."""

    cohort: Cohort | None
    stream: str | None
    area: str | None
    adopted_from: date | None
    adopted_to: date | None


class IdiomExclusions(BaseModel):
    """Memberships left out of the before/after comparison, in all and by reason."""

    total: int
    adopted_after_as_of: int = Field(description="Not yet a member on the report date")
    not_exited: int = Field(description="Still a member on the report date: no after window")
    after_window_not_ended: int = Field(
        description="Left, but the after window runs past the report date")
    waiting_period_not_ended: int = Field(
        description="Proven counting only: the waiting period has not passed")


class IdiomReportRead(BaseModel):
    as_of: date
    window_months: int
    counting: Counting
    rules_version: str = Field(description="The IDIOM rules (idiom.yaml) version used")
    knowledge: Knowledge = Field(description=(
        "as_recorded: only what had been recorded by the end of as_of"))
    cost_table_version: str
    cost_table: str
    group_by: list[GroupKey]
    filters: IdiomFilters
    included: int
    excluded: IdiomExclusions
    groups: list[GroupFigures]
    totals: GroupFigures
    warnings: list[str]
    comparison: ComparisonSummary | None
