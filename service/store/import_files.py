"""Import files (nightly PNC/Niche extracts, CSV or NDJSON): their columns, and reading them
into rows, every row checked, with the problems in the problem+json `errors` shape."""

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import ValidationError
from sqlmodel import SQLModel

from models import PersonCreate
from service.errors import InvalidInput, PayloadTooLarge, invalid_field

ImportFormat = Literal["csv", "ndjson"]
# What a file's name says its format is, where nothing else does (an upload labelled
# application/octet-stream, a file on the command line).
FILE_EXTENSIONS: dict[str, ImportFormat] = {".csv": "csv", ".ndjson": "ndjson",
                                            ".jsonl": "ndjson"}


def detect_format(data: bytes) -> ImportFormat:
    """The format of a file sent without one (application/octet-stream): NDJSON if its
    first non-blank character opens a JSON object, CSV otherwise (a CSV header names
    columns, and no column name starts with `{`)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return "ndjson" if head.startswith(b"{") else "csv"
M = TypeVar("M", bound=SQLModel)

# Column -> description; these dicts are also the OpenAPI documentation of the request bodies.
PERSON_COLUMNS: dict[str, str] = {
    "pnc_id": "Required. PNC ID, full YYYY/NNNNNNNC or short YY/NNNNNNC; the key re-imports "
              "match on (stored in canonical form)",
    "given_name": "Optional",
    "family_name": "Optional",
    "date_of_birth": "Required. ISO date YYYY-MM-DD, not in the future",
    "sex": "male, female, other or unknown (default unknown)",
    "ethnicity": "Optional ONS 2021 code (e.g. W1, B2, NS)",
    "home_area": "Required. An area code from GET /areas",
    "deceased_on": "Optional ISO date, not before date_of_birth",
}
OFFENCE_COLUMNS: dict[str, str] = {
    "pnc_id": "The person's PNC ID (full or short form); or give person_id",
    "person_id": "The person's id in this service; or give pnc_id",
    "offence_date": "Required. ISO date, not in the future nor before the person's birth",
    "offence_type": "Catalogue key (GET /catalogue/offence-types); or give ho_code",
    "ho_code": "Home Office offence code, mapped through the catalogue; or give offence_type",
    "domestic_abuse": "true/false, 1/0 or yes/no (default false)",
    "victim_ref": "Optional pseudonymous victim key",
    "outcome": "arrest, charge, summons, conviction, caution, community_resolution, "
               "no_further_action or pending (default pending)",
    "outcome_date": "Optional ISO date, not before offence_date",
    "source": "Required. The system the extract came from (e.g. pnc, niche)",
    "source_ref": "Required. The record's reference in that system; (source, source_ref) is "
                  "the key re-imports match on",
}
_PERSON_REF: dict[str, str] = {
    "pnc_id": OFFENCE_COLUMNS["pnc_id"],
    "person_id": OFFENCE_COLUMNS["person_id"],
}
_SOURCE_REF: dict[str, str] = {
    "source": OFFENCE_COLUMNS["source"],
    "source_ref": OFFENCE_COLUMNS["source_ref"],
}
CUSTODY_COLUMNS: dict[str, str] = {
    **_PERSON_REF,
    "start_on": "Required. ISO date the spell began, not in the future nor before the person's "
                "birth. A person's spells may not overlap (stored ones, or other rows of the "
                "file)",
    "end_on": "ISO release date, not in the future nor before start_on; empty while still in "
              "custody (a later file that sets it updates the spell)",
    "reason": "Optional, e.g. remand or sentence",
    "sentence_months": "Optional custodial sentence in months, 1 to 1200",
    **_SOURCE_REF,
}
MEMBERSHIP_COLUMNS: dict[str, str] = {
    **_PERSON_REF,
    "cohort": "Required. fixed, flex or free",
    "stream": "Required. A stream code from GET /streams; a re-sent row cannot change it",
    "area": "Required. The managing area, from GET /areas",
    "adopted_on": "Required. ISO date, not in the future nor before the person's birth. A "
                  "person's memberships of one stream may not overlap (stored ones, or other "
                  "rows of the file)",
    "exited_on": "Optional ISO date, not in the future nor before adopted_on; needs "
                 "exit_reason",
    "exit_reason": "custody_over_2_years, rehabilitated, no_longer_meets_criteria, "
                   "moved_area, deceased or other; only with exited_on",
    "offender_manager": "Optional: a team post (e.g. OM-BRISTOL-07), not a person's name",
    "rag": "Optional: red, amber or green",
    **_SOURCE_REF,
}
REFERRAL_COLUMNS: dict[str, str] = {
    **_PERSON_REF,
    "referring_agency": "Required, e.g. probation, mental health, police",
    "requested_stream": "Required. A stream code from GET /streams",
    "reason": "Required. Why the agency refers the person",
    "referred_on": "Required. ISO date, not in the future nor before the person's birth",
    "ogrs_score": "Optional OGRS 2-year %, 0 to 100",
    "area": "Optional meeting area from GET /areas; default the person's home area (a "
            "re-sent row without it keeps the stored area)",
    **_SOURCE_REF,
}
# Columns a CSV header must have (for alternatives, at least one of each group).
PERSON_REQUIRED: tuple[tuple[str, ...], ...] = (("pnc_id",), ("date_of_birth",), ("home_area",))
OFFENCE_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("pnc_id", "person_id"), ("offence_date",), ("offence_type", "ho_code"), ("source",),
    ("source_ref",),
)
CUSTODY_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("pnc_id", "person_id"), ("start_on",), ("source",), ("source_ref",))
MEMBERSHIP_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("pnc_id", "person_id"), ("cohort",), ("stream",), ("area",), ("adopted_on",),
    ("source",), ("source_ref",))
REFERRAL_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("pnc_id", "person_id"), ("referring_agency",), ("requested_stream",), ("reason",),
    ("referred_on",), ("source",), ("source_ref",))
PERSON_FIELDS = tuple(f for f in PersonCreate.model_fields if f != "pnc_id")



@dataclass(frozen=True)
class ImportFile:
    """A request body as received: its format (from Content-Type) and raw bytes."""

    format: ImportFormat
    data: bytes


@dataclass(frozen=True)
class FileRow:
    line: int  # as in the file: CSV header is line 1
    values: dict[str, Any]


@dataclass
class RowErrors:
    """Row errors in the problem+json `errors` shape, collected until the whole file is read."""

    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def add(self, line: int, column: str | None, msg: str, kind: str = "value_error") -> None:
        loc: list[str | int] = ["body", line] if column is None else ["body", line, column]
        self.items.append((line, {"loc": loc, "msg": msg, "type": kind}))

    def lines(self) -> set[int]:
        return {line for line, _ in self.items}

    def raise_if_any(self, what: str) -> None:
        if not self.items:
            return
        bad = len(self.lines())
        ordered = [e for _, e in sorted(self.items, key=lambda item: item[0])]
        raise InvalidInput(f"{bad} {what} row(s) are invalid; nothing was imported",
                           errors=ordered)


# --- parsing --------------------------------------------------------------------------------

def _text(file: ImportFile) -> str:
    try:
        text = file.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.data[:exc.start].count(b"\n") + 1
        raise invalid_field(["body", line], "not valid UTF-8", type="encoding",
                            detail="the file is not UTF-8 text") from exc
    nul = text.find("\x00")
    if nul >= 0:  # no text column can store it (PostgreSQL refuses NUL in text)
        raise invalid_field(["body", text.count("\n", 0, nul) + 1], "NUL character",
                            type="encoding", detail="the file contains a NUL character")
    return text


def _too_many(max_rows: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"an import may have at most {max_rows} rows; split the file")


def _csv_rows(text: str, *, columns: dict[str, str], required: Sequence[Sequence[str]],
              max_rows: int, errors: RowErrors) -> Iterator[FileRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        head_errors = _header_errors(header, columns, required)
        if head_errors:
            raise InvalidInput("the CSV header is not usable; nothing was imported",
                               errors=head_errors)
        count = 0
        while True:
            start = reader.line_num + 1  # a quoted field may span lines: report the first
            cells = next(reader, None)
            if cells is None:
                return
            if not cells or cells == [""]:
                continue  # blank line
            count += 1
            if count > max_rows:
                raise _too_many(max_rows)
            if len(cells) != len(header):
                errors.add(start, None, f"expected {len(header)} fields, found {len(cells)}",
                           "csv_fields")
                continue
            # An empty cell means "not given", so optional columns fall back to their default.
            values = {h: c.strip() for h, c in zip(header, cells, strict=True) if c.strip()}
            yield FileRow(start, values)
    except csv.Error as exc:
        raise invalid_field(["body", reader.line_num], f"malformed CSV: {exc}",
                            type="csv_syntax",
                            detail="the CSV is malformed; nothing was imported") from exc


def _header_errors(header: list[str], columns: dict[str, str],
                   required: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in header:
        if name not in columns:
            # A misspelt column silently ignored would lose that field for every row.
            errors.append({"loc": ["body", 1, name or "(blank)"],
                           "msg": f"unknown column; expected some of {', '.join(columns)}",
                           "type": "unknown_column"})
        elif name in seen:
            errors.append({"loc": ["body", 1, name], "msg": "column appears twice",
                           "type": "duplicate_column"})
        seen.add(name)
    for group in required:
        if not seen.intersection(group):
            errors.append({"loc": ["body", 1, group[0]],
                           "msg": "missing column" + (f" (or {' or '.join(group[1:])})"
                                                      if len(group) > 1 else ""),
                           "type": "missing_column"})
    return errors


def _ndjson_rows(text: str, *, columns: dict[str, str], max_rows: int,
                 errors: RowErrors) -> Iterator[FileRow]:
    count = 0
    # Split on newlines only, so line numbers match what any editor shows for the file.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        count += 1
        if count > max_rows:
            raise _too_many(max_rows)
        try:
            values = json.loads(line)
        except ValueError as exc:
            errors.add(number, None, f"not valid JSON: {exc.args[0] if exc.args else exc}",
                       "json_invalid")
            continue
        if not isinstance(values, dict):
            errors.add(number, None, "each line must be a JSON object", "json_type")
            continue
        bad = False
        for key, value in values.items():
            if key not in columns:
                errors.add(number, key, "unknown field", "unknown_column")
                bad = True
            elif isinstance(value, str) and "\x00" in value:
                errors.add(number, key, "NUL character", "encoding")
                bad = True
        if not bad:
            yield FileRow(number, values)


def parse_rows(file: ImportFile, *, columns: dict[str, str], required: Sequence[Sequence[str]],
               max_rows: int, errors: RowErrors) -> list[FileRow]:
    """The data rows of a CSV or NDJSON file; per-row syntax problems go to `errors`.

    Raises PayloadTooLarge past `max_rows` and InvalidInput for a file that cannot be read at
    all (bad encoding, unusable CSV header, no rows).
    """
    text = _text(file)
    if file.format == "csv":
        rows = list(_csv_rows(text, columns=columns, required=required, max_rows=max_rows,
                              errors=errors))
    else:
        rows = list(_ndjson_rows(text, columns=columns, max_rows=max_rows, errors=errors))
    if not rows and not errors.items:
        raise invalid_field(["body"], "no data rows (a CSV needs a header line and at least "
                            "one row)", type="empty_file",
                            detail="the file has no data rows; nothing was imported")
    return rows


# --- validation -----------------------------------------------------------------------------

def validate_row(model: type[M], row: FileRow, values: dict[str, Any],
                 errors: RowErrors) -> M | None:
    """`model` built from `values`, or None with each field error recorded against the line."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            msg = str(err["msg"]).removeprefix("Value error, ")
            loc = err["loc"]
            column = str(loc[0]) if loc else field_named_in(msg, model)
            errors.add(row.line, column, msg, str(err["type"]))
        return None


def field_named_in(msg: str, model: type[SQLModel]) -> str | None:
    # Whole-record validators name the field at fault first: "<field> cannot ...", "give
    # offence_type or ho_code" (about the offence type), "an exit needs an exit_reason".
    for word in msg.replace(",", " ").split():
        if word in model.model_fields:
            return word
    return None
