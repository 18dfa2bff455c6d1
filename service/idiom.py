"""The IDIOM report's parameters and file answers (CSV, XLSX), shared by the API and the
console.

Both take the same filters from a caller (query string or form); validating them in one
place keeps the console's report identical to GET /reports/idiom.
"""

from datetime import date

import pandas as pd
from fastapi import Response

from models.enums import Cohort, Counting
from scoring.catalogue import OffenceCatalogue
from scoring.idiom import GROUP_KEYS, IdiomReport, IdiomRules, report_notes, report_table
from scoring.uk_calendar import uk_today
from service.errors import invalid_field
from service.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Column, csv_table, to_xlsx
from service.security import Forbidden, Principal
from service.store.reports import IdiomParams


def idiom_params(principal: Principal, *, rules: IdiomRules, as_of: date | None,
                 cohort: Cohort | None, stream: str | None, area: str | None,
                 adopted_from: date | None, adopted_to: date | None,
                 group_by: list[str] | None, window_months: int | None,
                 counting: Counting | None, comparison: bool = False,
                 knowledge: str = "current") -> IdiomParams:
    """The report's parameters, validated (422 with the field at fault; 403 for an area
    outside the key's). The window and counting default to, and the window is bounded by,
    the IDIOM rules (``idiom.yaml``)."""
    months = rules.window_months if window_months is None else window_months
    try:
        rules.check_window(months)
    except ValueError as exc:
        raise invalid_field(["query", "window_months"], str(exc)) from None
    today = uk_today()
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
    return IdiomParams(as_of=as_of, window_months=months, counting=counting or rules.counting,
                       group_by=tuple(keys), cohort=cohort, stream=stream, area=area,
                       adopted_from=adopted_from, adopted_to=adopted_to,
                       comparison=comparison, scope=scope, rules=rules,
                       knowledge=knowledge)


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def idiom_file_response(report: IdiomReport, *, params: IdiomParams,
                        catalogue: OffenceCatalogue, fmt: str,
                        xlsx_type: str = XLSX_MEDIA_TYPE) -> Response:
    """The panel's table as a CSV or XLSX download, publication-safe (withheld figures
    blank, with the reason) and with every warning and what it was computed with."""
    table = report_table(report)
    notes = [("IDIOM report", ""), *report_notes(report),
             ("knowledge", params.knowledge),
             ("cost_table_version", catalogue.version), ("cost_table", catalogue.cost_table)]
    if fmt == "xlsx":
        columns = [Column(str(c), str(c), max(10, len(str(c)) + 2)) for c in table.columns]
        rows = [{str(c): (None if _cell(v) == "" else v) for c, v in row.items()}
                for row in table.astype(object).to_dict(orient="records")]
        body, media = to_xlsx(notes, [("IDIOM", columns, rows)]), xlsx_type
    else:
        body = csv_table(notes, [str(c) for c in table.columns],
                         [[_cell(v) for v in row] for row in table.astype(object).itertuples(
                             index=False)])
        media = CSV_MEDIA_TYPE
    filename = f"idiom_{params.as_of.isoformat()}.{fmt}"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Cost-Table-Version": catalogue.version})
