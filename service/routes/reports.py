"""Reports: the IDIOM before/after view, with time at liberty, intervals and a comparison group."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from models.base import IsoDate
from models.enums import Cohort
from scoring.idiom import GROUP_KEYS
from service.deps import CatalogueDep, SessionDep
from service.errors import InvalidInput, responses
from service.security import CurrentPrincipal, Forbidden
from service.store import reports as store

router = APIRouter(prefix="/reports", tags=["reports"])


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


def _invalid(field: str, msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[{"loc": ["query", field], "msg": msg,
                                      "type": "value_error"}])


def idiom_params(
    principal: CurrentPrincipal,
    as_of: Annotated[IsoDate | None, Query(description="Report date (default today)")] = None,
    cohort: Annotated[Cohort | None, Query()] = None,
    stream: Annotated[str | None, Query(max_length=32)] = None,
    area: Annotated[str | None, Query(max_length=32)] = None,
    adopted_from: Annotated[IsoDate | None, Query(description="Adopted on or after")] = None,
    adopted_to: Annotated[IsoDate | None, Query(description="Adopted on or before")] = None,
    group_by: Annotated[list[str] | None, Query(
        description=f"One or more of {', '.join(GROUP_KEYS)} (repeat or comma-separate)")
    ] = None,
    window_months: Annotated[int, Query(ge=1, le=60)] = 12,
    counting: Annotated[Literal["recorded", "proven"], Query()] = "recorded",
    comparison: Annotated[bool, Query(description="Add a matched comparison group")] = False,
) -> store.IdiomParams:
    """Validate the report's query parameters (422 with the field at fault)."""
    today = date.today()
    if as_of is None:
        as_of = today
    elif as_of > today:
        raise _invalid("as_of", "as_of cannot be in the future")
    if adopted_from and adopted_to and adopted_from > adopted_to:
        raise _invalid("adopted_to", "adopted_to is before adopted_from")
    keys = [k.strip() for item in (group_by or ["area"]) for k in item.split(",") if k.strip()]
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown or not keys:
        raise _invalid("group_by", f"group_by takes {', '.join(GROUP_KEYS)}")
    if len(set(keys)) != len(keys):
        raise _invalid("group_by", "group_by names a key twice")
    scope = None if principal.areas is None else tuple(sorted(principal.areas))
    if scope is not None and area is not None and area not in scope:
        raise Forbidden(f"this key may not see area {area}")
    return store.IdiomParams(as_of=as_of, window_months=window_months, counting=counting,
                             group_by=tuple(keys), cohort=cohort, stream=stream, area=area,
                             adopted_from=adopted_from, adopted_to=adopted_to,
                             comparison=comparison, scope=scope)


IdiomParamsDep = Annotated[store.IdiomParams, Depends(idiom_params)]


@router.get("/idiom", response_model=IdiomReportRead,
            responses={200: {"content": {"text/csv": {}},
                             "description": "The report (JSON), or the panel's table (CSV)"},
                       **responses(403, 422)})
def idiom_report(
    params: IdiomParamsDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    format: Annotated[Literal["json", "csv"], Query(
        description="json: the full report; csv: the panel's table")] = "json",
) -> Any:
    """Offending and cost before, during and after cohort membership, IDIOM-style, and honestly."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    if format == "csv":
        filename = f"idiom_{params.as_of.isoformat()}.csv"
        return Response(store.idiom_csv(report), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "X-Cost-Table-Version": catalogue.version})
    payload = store.idiom_payload(report, params=params, catalogue=catalogue)
    return IdiomReportRead.model_validate(payload)
