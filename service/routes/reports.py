"""Reports: the IDIOM before/after view, with time at liberty, intervals and a comparison group."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from models.base import IsoDate
from models.enums import Cohort
from models.report import IdiomReportRead
from scoring.idiom import GROUP_KEYS
from service.deps import CatalogueDep, SessionDep
from service.errors import InvalidInput, responses
from service.security import CurrentPrincipal, Forbidden
from service.store import reports as store

router = APIRouter(prefix="/reports", tags=["reports"])


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
