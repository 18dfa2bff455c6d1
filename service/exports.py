"""Shortlist exports a meeting chair can circulate: CSV and real XLSX workbooks.

Both carry the same header block (area, stream, as-of date, generated time, criteria,
versions, export id) and the decision-support line, then the same rows in the same order
as the JSON response.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

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


def to_csv(header: Sequence[tuple[str, str]], columns: Sequence[Column],
           rows: Sequence[dict[str, Any]]) -> bytes:
    """The header block, a blank line, then the table (UTF-8 with BOM, so Excel reads it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for key, value in header:
        writer.writerow([key, value] if value else [key])
    writer.writerow([])
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([cell_text(row.get(c.key), c.kind) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


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
    wb = Workbook()
    for k, (name, columns, rows) in enumerate(sheets):
        _sheet(wb, name, header, columns, rows, first=k == 0)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
