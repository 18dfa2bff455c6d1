"""Shortlist exports a meeting chair can circulate: CSV and real XLSX workbooks.

Both carry the same notes (area, stream, as-of date, generated time, criteria, versions,
export id, the decision-support line) and the same rows in the same order as the JSON
response: in the CSV as comment lines over one plain table of candidates and excluded
people (a `section` column), in the XLSX above each sheet (Candidates, Excluded).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Response

from models import AuditAction
from service.audit import Auditor

if TYPE_CHECKING:
    from openpyxl import Workbook

DECISION_SUPPORT = "Decision support only: inclusion is decided by the partnership meeting"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    kind: str = "text"  # text, int, float, bool, date, list


CANDIDATE_COLUMNS = (
    Column("rank", "Rank", 6, "int"), Column("person_id", "Person id", 10, "int"),
    Column("pnc_id", "PNC ID", 15), Column("name", "Name", 24), Column("age", "Age", 6, "int"),
    Column("rfg", "RFG", 8, "float"), Column("threat", "Threat", 8, "float"),
    Column("harm", "Harm", 8, "float"), Column("risk", "Risk", 8, "float"),
    Column("escalating", "Escalating", 11, "bool"),
    Column("last_offence_on", "Last offence", 13, "date"),
    Column("offences_12m", "Offences (12 months)", 12, "int"),
    Column("referred_by", "Referred by", 16), Column("ogrs_score", "OGRS", 7, "float"),
    Column("flags", "Flags", 28, "list"), Column("reasons", "Reasons", 100, "list"),
)
EXCLUDED_COLUMNS = (
    Column("person_id", "Person id", 10, "int"), Column("pnc_id", "PNC ID", 15),
    Column("name", "Name", 24), Column("referred_by", "Referred by", 16),
    Column("reason_codes", "Reason codes", 20, "list"),
    Column("reasons", "Reasons", 100, "list"),
)
EXIT_COLUMNS = (
    Column("row", "Row", 6, "int"), Column("person_id", "Person id", 10, "int"),
    Column("pnc_id", "PNC ID", 15), Column("name", "Name", 24),
    Column("membership_id", "Membership", 11, "int"), Column("cohort", "Cohort", 8),
    Column("adopted_on", "Adopted", 12, "date"),
    Column("last_offence_on", "Last offence", 13, "date"),
    Column("offences_12m", "Offences (12 months)", 12, "int"),
    Column("rfg", "RFG", 8, "float"), Column("risk", "Risk", 8, "float"),
    Column("flags", "Flags", 28, "list"), Column("reasons", "Reasons", 100, "list"),
)
LIST_SEPARATOR = "; "


def header_block(listing: dict[str, Any], *, title: str, export_id: str) -> list[tuple[str, str]]:
    """The lines above the table: what the list is, when, under which rules and versions."""
    versions = listing["versions"]
    return [
        (title, ""),
        ("Area", listing["area"]),
        ("Stream", listing["stream"]),
        ("As of", _text(listing["as_of"])),
        ("Generated", _text(listing["generated_at"])),
        ("Criteria", json.dumps(listing["criteria"], sort_keys=True, default=str)),
        ("Versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("Export id", export_id),
        *([("Withheld", f"{listing['withheld']} rows about people outside the key's areas")]
          if listing.get("withheld") else []),
        (DECISION_SUPPORT, ""),
    ]


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def cell_text(value: Any, kind: str) -> str:
    """How a JSON value is written in the CSV (lists joined, booleans lower-case)."""
    if value is None:
        return ""
    if kind == "list":
        return LIST_SEPARATOR.join(str(v) for v in value)
    if kind == "bool":
        return "true" if value else "false"
    return _text(value)


COMMENT = "#"


def comment_lines(notes: Sequence[tuple[str, str]]) -> str:
    """Notes as CSV comment lines ("# key: value"), which `pandas.read_csv(comment="#")`
    and most CSV tools skip, so the table under them opens as a plain table."""
    lines = []
    for key, value in notes:
        text = f"{key}: {value}" if value else key
        lines.append(f"{COMMENT} " + " ".join(text.splitlines()) + "\n")
    return "".join(lines)


def csv_table(notes: Sequence[tuple[str, str]], columns: Sequence[str],
              rows: Sequence[Sequence[str]]) -> bytes:
    """Comment lines, then one header line and the rows (UTF-8, no BOM: the first line is a
    comment, and a BOM before it would hide the comment mark from a reader)."""
    buffer = io.StringIO()
    buffer.write(comment_lines(notes))
    # Every cell quoted: a value can never start a comment or break a row.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(list(columns))
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_csv(header: Sequence[tuple[str, str]],
           sections: Sequence[tuple[str, Sequence[Column], Sequence[dict[str, Any]]]]) -> bytes:
    """One plain table under comment lines: a `section` column says which list each row is
    from (candidates, excluded), and the columns are every section's, in order."""
    columns: list[Column] = []
    for _, section_columns, _ in sections:
        columns += [c for c in section_columns if c.key not in {k.key for k in columns}]
    rows = [[name.lower(), *(cell_text(row.get(c.key), c.kind) for c in columns)]
            for name, _, section_rows in sections for row in section_rows]
    return csv_table(header, ["section", *(c.key for c in columns)], rows)


def _cell_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "list":
        return LIST_SEPARATOR.join(str(v) for v in value)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    return value


def _sheet(wb: Workbook, name: str, header: Sequence[tuple[str, str]],
           columns: Sequence[Column], rows: Sequence[dict[str, Any]], *, first: bool) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.active if first else wb.create_sheet()
    assert ws is not None
    ws.title = name
    bold = Font(bold=True)
    for i, (key, value) in enumerate(header, start=1):
        ws.cell(row=i, column=1, value=key).font = bold
        if value:
            ws.cell(row=i, column=2, value=value)
    top = len(header) + 2
    for j, column in enumerate(columns, start=1):
        cell = ws.cell(row=top, column=j, value=column.title)
        cell.font = bold
        ws.column_dimensions[get_column_letter(j)].width = column.width
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=top + 1):
        for j, column in enumerate(columns, start=1):
            cell = ws.cell(row=i, column=j, value=_cell_value(row.get(column.key), column.kind))
            if column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            elif column.kind == "list":
                cell.alignment = wrap
    # Freeze everything above the first data row, so the column titles stay in view.
    ws.freeze_panes = ws.cell(row=top + 1, column=1)
    ws.auto_filter.ref = f"A{top}:{get_column_letter(len(columns))}{max(top, top + len(rows))}"


def to_xlsx(header: Sequence[tuple[str, str]],
            sheets: Sequence[tuple[str, Sequence[Column], Sequence[dict[str, Any]]]]) -> bytes:
    """A workbook with one sheet per (name, columns, rows), each under the header block."""
    # Imported here: openpyxl's import is about 0.2 s that only a workbook download needs.
    from openpyxl import Workbook

    wb = Workbook()
    for k, (name, columns, rows) in enumerate(sheets):
        _sheet(wb, name, header, columns, rows, first=k == 0)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY_MEDIA_TYPE = "application/octet-stream"


def csv_download(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a CSV download (the 200 of a route's `responses=`).

    A string, not `format: binary`: openapi-python-client reads a text/* body as text, and
    a binary schema there makes it wrap that text as bytes, which fails. The raw bytes are
    always there as the response's content.
    """
    return {200: {"description": description, "content": {
        "text/csv": {"schema": {"type": "string"}}}}}


def xlsx_download(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for an XLSX download: the workbook, also as application/octet-stream.

    Generic clients know octet-stream as bytes and no spreadsheet type (openapi-python-
    client skips an operation whose only type it does not know), so both are listed; the
    server sends the workbook type unless the Accept header asks for octet-stream only
    (`xlsx_media_type`).
    """
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {
        XLSX_MEDIA_TYPE: binary, BINARY_MEDIA_TYPE: binary}}}


def xlsx_media_type(accept: str | None) -> str:
    """The workbook's Content-Type for this Accept header: the XLSX type, or octet-stream
    when the caller asked for that and not for the XLSX type."""
    ranges = {part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")}
    if BINARY_MEDIA_TYPE in ranges and XLSX_MEDIA_TYPE not in ranges:
        return BINARY_MEDIA_TYPE
    return XLSX_MEDIA_TYPE


def export_listing(listing: dict[str, Any], *, kind: str, fmt: str, audit: Auditor,
                   justification: str, person_ids: list[int],
                   xlsx_type: str = XLSX_MEDIA_TYPE) -> Response:
    """A shortlist or exit review as a CSV/XLSX download, audited as a disclosure."""
    export_id = uuid.uuid4().hex
    title = ("Migration meeting shortlist" if kind == "migration"
             else "Migration meeting exit review")
    header = header_block(listing, title=title, export_id=export_id)
    if kind == "migration":
        sheets = [("Candidates", CANDIDATE_COLUMNS, listing["candidates"]),
                  ("Excluded", EXCLUDED_COLUMNS, listing["excluded"])]
    else:
        sheets = [("Exit review", EXIT_COLUMNS, listing["members"])]
    if fmt == "csv":
        body, media = to_csv(header, sheets), CSV_MEDIA_TYPE
    else:
        body, media = to_xlsx(header, sheets), xlsx_type
    audit.record(AuditAction.disclosure, person_ids=person_ids, justification=justification,
                 export_id=export_id,
                 detail=f"{kind} shortlist {listing['area']}/{listing['stream']} as of "
                        f"{listing['as_of']} ({fmt})")
    name = f"{kind}_{listing['area']}_{listing['stream']}_{listing['as_of']}.{fmt}"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Export-Id": export_id})
