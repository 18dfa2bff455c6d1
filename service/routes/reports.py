"""Reports: the IDIOM before/after view, with time at liberty, intervals and a comparison group."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from models.base import IsoDate
from models.enums import Cohort, Counting
from models.report import IdiomReportRead
from scoring.idiom import GROUP_KEYS
from service.deps import CatalogueDep, SessionDep
from service.errors import responses
from service.exports import csv_download
from service.idiom import (
    DEFAULT_WINDOW_MONTHS,
    MAX_WINDOW_MONTHS,
    MIN_WINDOW_MONTHS,
    idiom_csv_response,
    idiom_params,
)
from service.security import CurrentPrincipal
from service.store import reports as store
from service.store.reports import IdiomParams

router = APIRouter(prefix="/reports", tags=["reports"])


def idiom_query(
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
    window_months: Annotated[int, Query(ge=MIN_WINDOW_MONTHS, le=MAX_WINDOW_MONTHS)
                             ] = DEFAULT_WINDOW_MONTHS,
    counting: Annotated[Counting, Query()] = Counting.recorded,
    comparison: Annotated[bool, Query(description="Add a matched comparison group")] = False,
) -> IdiomParams:
    """Validate the report's query parameters (422 with the field at fault)."""
    return idiom_params(principal, as_of=as_of, cohort=cohort, stream=stream, area=area,
                        adopted_from=adopted_from, adopted_to=adopted_to, group_by=group_by,
                        window_months=window_months, counting=counting, comparison=comparison)


IdiomParamsDep = Annotated[IdiomParams, Depends(idiom_query)]


@router.get("/idiom", response_model=IdiomReportRead, responses=responses(403, 422))
def idiom_report(
    params: IdiomParamsDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    # ?format=csv still answers the table (older callers); the contract lists it as
    # GET /reports/idiom.csv, so a generated client gets JSON here and text there.
    format: Annotated[Literal["json", "csv"], Query(include_in_schema=False)] = "json",
) -> Any:
    """Offending and cost before, during and after cohort membership, IDIOM-style, and honestly."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    if format == "csv":
        return idiom_csv_response(report, params=params, catalogue=catalogue)
    payload = store.idiom_payload(report, params=params, catalogue=catalogue)
    return IdiomReportRead.model_validate(payload)


@router.get("/idiom.csv", response_class=Response, responses={
    **csv_download("The panel's table: one row per group and a totals row (the cost table's "
                   "version in X-Cost-Table-Version)"), **responses(403, 422)})
def idiom_report_csv(params: IdiomParamsDep, session: SessionDep,
                     catalogue: CatalogueDep) -> Response:
    """The IDIOM report's table as CSV, for the same query as GET /reports/idiom."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    return idiom_csv_response(report, params=params, catalogue=catalogue)
