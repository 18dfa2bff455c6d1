"""Reports: the IDIOM before/after view, with time at liberty, intervals and a comparison group."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from models.base import IsoDate
from models.enums import Cohort, Counting, Knowledge
from models.report import IdiomReportRead
from scoring.idiom import DEFAULT_RULES, GROUP_KEYS
from service.deps import IdiomRulesDep, ReportCatalogueDep, SessionDep
from service.errors import responses
from service.exports import csv_download, xlsx_download, xlsx_media_type
from service.idiom import idiom_file_response, idiom_params
from service.security import CurrentPrincipal
from service.store import reports as store
from service.store.reports import IdiomParams

router = APIRouter(prefix="/reports", tags=["reports"])


def idiom_query(
    principal: CurrentPrincipal,
    rules: IdiomRulesDep,
    as_of: Annotated[IsoDate | None, Query(description="Report date (default today)")] = None,
    cohort: Annotated[Cohort | None, Query()] = None,
    stream: Annotated[str | None, Query(max_length=32)] = None,
    area: Annotated[str | None, Query(max_length=32)] = None,
    adopted_from: Annotated[IsoDate | None, Query(description="Adopted on or after")] = None,
    adopted_to: Annotated[IsoDate | None, Query(description="Adopted on or before")] = None,
    group_by: Annotated[list[str] | None, Query(
        description=f"One or more of {', '.join(GROUP_KEYS)} (repeat or comma-separate)")
    ] = None,
    window_months: Annotated[int | None, Query(
        ge=DEFAULT_RULES.min_window_months, le=DEFAULT_RULES.max_window_months,
        description=f"Months before and after (default {DEFAULT_RULES.window_months}; the "
                    "range is the IDIOM rules', idiom.yaml)")] = None,
    counting: Annotated[Counting | None, Query(
        description=f"Default {DEFAULT_RULES.counting}")] = None,
    comparison: Annotated[bool, Query(description="Add a matched comparison group")] = False,
    knowledge: Annotated[Knowledge, Query(description=(
        "current: all known now about as_of; as_recorded: only what had been recorded by "
        "the end of as_of, so a published figure can be reproduced later"))
    ] = Knowledge.current,
) -> IdiomParams:
    """Validate the report's query parameters (422 with the field at fault)."""
    return idiom_params(principal, rules=rules, as_of=as_of, cohort=cohort, stream=stream,
                        area=area, adopted_from=adopted_from, adopted_to=adopted_to,
                        group_by=group_by, window_months=window_months, counting=counting,
                        comparison=comparison, knowledge=knowledge)


IdiomParamsDep = Annotated[IdiomParams, Depends(idiom_query)]


@router.get("/idiom", response_model=IdiomReportRead, responses=responses(403, 422))
def idiom_report(
    params: IdiomParamsDep,
    session: SessionDep,
    catalogue: ReportCatalogueDep,
    # ?format=csv still answers the table (older callers); the contract lists it as
    # GET /reports/idiom.csv, so a generated client gets JSON here and text there.
    format: Annotated[Literal["json", "csv"], Query(include_in_schema=False)] = "json",
) -> Any:
    """Offending and cost before, during and after cohort membership, IDIOM-style, and honestly."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    if format == "csv":
        return idiom_file_response(report, params=params, catalogue=catalogue, fmt="csv")
    payload = store.idiom_payload(report, params=params, catalogue=catalogue)
    return IdiomReportRead.model_validate(payload)


@router.get("/idiom.csv", response_class=Response, responses={
    **csv_download("The panel's table: one row per group and a totals row (the cost table's "
                   "version in X-Cost-Table-Version)"), **responses(403, 422)})
def idiom_report_csv(params: IdiomParamsDep, session: SessionDep,
                     catalogue: ReportCatalogueDep) -> Response:
    """The IDIOM report's table as CSV, for the same query as GET /reports/idiom."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    return idiom_file_response(report, params=params, catalogue=catalogue, fmt="csv")


@router.get("/idiom.xlsx", response_class=Response, responses={
    **xlsx_download("The panel's table as a workbook: the table under its notes (versions, "
                    "knowledge, warnings)"), **responses(403, 422)})
def idiom_report_xlsx(params: IdiomParamsDep, session: SessionDep,
                      catalogue: ReportCatalogueDep,
                      request: Request) -> Response:
    """The IDIOM report's table as XLSX, for the same query as GET /reports/idiom."""
    report = store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    return idiom_file_response(report, params=params, catalogue=catalogue, fmt="xlsx",
                               xlsx_type=xlsx_media_type(request.headers.get("accept")))
