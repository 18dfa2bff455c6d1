"""The IDIOM report's parameters and CSV answer, shared by the API and the console.

Both take the same filters from a caller (query string or form); validating them in one
place keeps the console's report identical to GET /reports/idiom.
"""

from datetime import date

from fastapi import Response

from models.enums import Cohort, Counting
from scoring.catalogue import OffenceCatalogue
from scoring.idiom import GROUP_KEYS, IdiomReport
from service.errors import invalid_field
from service.security import Forbidden, Principal
from service.store.reports import IdiomParams, idiom_csv

# The report's windows: whole months, up to five years either side of membership.
MIN_WINDOW_MONTHS = 1
MAX_WINDOW_MONTHS = 60
DEFAULT_WINDOW_MONTHS = 12


def idiom_params(principal: Principal, *, as_of: date | None, cohort: Cohort | None,
                 stream: str | None, area: str | None, adopted_from: date | None,
                 adopted_to: date | None, group_by: list[str] | None, window_months: int,
                 counting: Counting, comparison: bool = False) -> IdiomParams:
    """The report's parameters, validated (422 with the field at fault; 403 for an area
    outside the key's)."""
    today = date.today()
    if as_of is None:
        as_of = today
    elif as_of > today:
        raise invalid_field(["query", "as_of"], "as_of cannot be in the future")
    if adopted_from and adopted_to and adopted_from > adopted_to:
        raise invalid_field(["query", "adopted_to"], "adopted_to is before adopted_from")
    keys = [k.strip() for item in (group_by or ["area"]) for k in item.split(",") if k.strip()]
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown or not keys:
        raise invalid_field(["query", "group_by"], f"group_by takes {', '.join(GROUP_KEYS)}")
    if len(set(keys)) != len(keys):
        raise invalid_field(["query", "group_by"], "group_by names a key twice")
    scope = None if principal.areas is None else tuple(sorted(principal.areas))
    if scope is not None and area is not None and area not in scope:
        raise Forbidden(f"this key may not see area {area}")
    return IdiomParams(as_of=as_of, window_months=window_months, counting=counting,
                       group_by=tuple(keys), cohort=cohort, stream=stream, area=area,
                       adopted_from=adopted_from, adopted_to=adopted_to,
                       comparison=comparison, scope=scope)


def idiom_csv_response(report: IdiomReport, *, params: IdiomParams,
                       catalogue: OffenceCatalogue) -> Response:
    """The panel's table as a CSV download, named by the report date."""
    filename = f"idiom_{params.as_of.isoformat()}.csv"
    return Response(idiom_csv(report), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Cost-Table-Version": catalogue.version})
