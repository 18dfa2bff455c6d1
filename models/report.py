"""API schemas of the IDIOM report (GET /reports/idiom): no tables here."""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field


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


class ComparisonSummary(BaseModel):
    method: str
    parameters: dict[str, Any]
    candidates: int
    comparators: int
    members_matched: int
    members_unmatched: int
    mean_distance: float | None
    balance: list[Balance]
    warnings: list[str]
    overall: GroupComparison | None


class IdiomReportRead(BaseModel):
    as_of: date
    window_months: int
    counting: Literal["recorded", "proven"]
    rules_version: str = Field(description="The IDIOM rules (idiom.yaml) version used")
    knowledge: Literal["current", "as_recorded"] = Field(description=(
        "as_recorded: only what had been recorded by the end of as_of"))
    cost_table_version: str
    cost_table: str
    group_by: list[str]
    filters: dict[str, Any]
    included: int
    excluded: dict[str, int]
    groups: list[GroupFigures]
    totals: GroupFigures
    warnings: list[str]
    comparison: ComparisonSummary | None
