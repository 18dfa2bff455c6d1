"""Bulk imports of nightly PNC/Niche extracts: parse, check every row, then write all or nothing.

A file is read whole, every row is validated (the same models and catalogue rules as the
single-record API), existing rows are fetched in bulk by their business key, and only when
no row is bad are the inserts and updates written, in one transaction and in bulk.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import ValidationError
from sqlalchemy import Column, Table, bindparam, column, func, select, update
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.expression import TableClause
from sqlmodel import Session, SQLModel

from models import Area, Offence, OffenceCreate, Person, PersonCreate
from models.base import utcnow
from models.identifiers import canonical_pnc_id
from models.imports import ImportSummary
from scoring.catalogue import OffenceCatalogue
from service.errors import InvalidInput, PayloadTooLarge, invalid_field
from service.store.offences import MUTABLE_FIELDS, check_against_person, offence_values

ImportFormat = Literal["csv", "ndjson"]
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
# Columns a CSV header must have (for alternatives, at least one of each group).
PERSON_REQUIRED: tuple[tuple[str, ...], ...] = (("pnc_id",), ("date_of_birth",), ("home_area",))
OFFENCE_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("pnc_id", "person_id"), ("offence_date",), ("offence_type", "ho_code"), ("source",),
    ("source_ref",),
)
PERSON_FIELDS = tuple(f for f in PersonCreate.model_fields if f != "pnc_id")

# Ids are 32-bit integers in the database: a larger one is refused, never sent to it.
MAX_ID = 2**31 - 1
# Bind parameters per IN query on SQLite: well under its 32766 limit.
KEY_CHUNK = 5000
# Rows per executemany batch on SQLite: bounds the memory held per round trip.
WRITE_CHUNK = 5000


@dataclass(frozen=True)
class ImportFile:
    """A request body as received: its format (from Content-Type) and raw bytes."""

    format: ImportFormat
    data: bytes


@dataclass(frozen=True)
class _Row:
    line: int  # as in the file: CSV header is line 1
    values: dict[str, Any]


@dataclass
class _Errors:
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
              max_rows: int, errors: _Errors) -> Iterator[_Row]:
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
            yield _Row(start, values)
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
                 errors: _Errors) -> Iterator[_Row]:
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
            yield _Row(number, values)


def parse_rows(file: ImportFile, *, columns: dict[str, str], required: Sequence[Sequence[str]],
               max_rows: int, errors: _Errors) -> list[_Row]:
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

def _validate(model: type[M], row: _Row, values: dict[str, Any], errors: _Errors) -> M | None:
    """`model` built from `values`, or None with each field error recorded against the line."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            msg = str(err["msg"]).removeprefix("Value error, ")
            loc = err["loc"]
            column = str(loc[0]) if loc else _field_named_in(msg, model)
            errors.add(row.line, column, msg, str(err["type"]))
        return None


def _field_named_in(msg: str, model: type[SQLModel]) -> str | None:
    # Whole-record validators word their messages "<field> cannot ...": point at that field
    # ("give offence_type or ho_code" is about the offence type).
    first = msg.split(" ", 1)[0]
    if first in model.model_fields:
        return first
    return {"give": "offence_type"}.get(first)


def _rows_by_key(conn: Connection, cols: Sequence[Any], key: Column[Any], keys: Iterable[Any],
                 *where: Any) -> list[Row[Any]]:
    """The rows whose `key` is one of `keys` (and match `where`), without a query per key.

    PostgreSQL joins on unnest() of one array parameter: a single round trip whose plan (index
    probes or a hash join) stays good when the table was just bulk-loaded and has no fresh
    statistics; an IN list of parameters there is searched linearly per row. SQLite indexes an
    IN list itself, so it gets chunked IN queries.
    """
    ordered = sorted(set(keys))
    if not ordered:
        return []
    table = key.table
    if conn.dialect.name == "postgresql":
        wanted = func.unnest(bindparam("keys", ordered, type_=postgresql.ARRAY(key.type))
                             ).table_valued("value").render_derived("wanted")
        query = (select(*cols).select_from(table.join(wanted, key == wanted.c.value))
                 .where(*where))
        return list(conn.execute(query).all())
    rows: list[Row[Any]] = []
    for start in range(0, len(ordered), KEY_CHUNK):
        chunk = ordered[start:start + KEY_CHUNK]
        rows.extend(conn.execute(select(*cols).where(key.in_(chunk), *where)).all())
    return rows


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]],
                key: tuple[str, ...]) -> set[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT (key) DO NOTHING, in key order; the keys actually inserted.

    A concurrent import may have inserted some of the same keys since they were read: those
    are skipped here rather than failing, and the caller re-reads them. Key order gives every
    import the same lock order, so two of them cannot deadlock.
    """
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    returning = [table.c[k] for k in key]
    if conn.dialect.name == "postgresql":
        columns = list(rows[0])
        staged = _pg_stage(conn, table, columns, rows, "new")
        from_staged = (postgresql.insert(table)
                       .from_select(columns, select(*(staged.c[c] for c in columns))
                                    .order_by(*(staged.c[k] for k in key)))
                       .on_conflict_do_nothing(index_elements=list(key)).returning(*returning))
        return {tuple(r) for r in conn.execute(from_staged)}
    stmt = (sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
            .returning(*returning))
    done: set[tuple[Any, ...]] = set()
    for start in range(0, len(rows), WRITE_CHUNK):
        result = conn.execute(stmt, rows[start:start + WRITE_CHUNK])
        done.update(tuple(r) for r in result.all())
    return done


def _update_rows(conn: Connection, table: Table, rows: list[dict[str, Any]],
                 columns: Sequence[str], *, bump_version: bool = False) -> None:
    """Set `columns` from each row on the stored row with its `id`, in bulk and in id order."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: r["id"])  # one lock order for every import: no deadlocks
    bump: dict[str, Any] = (
        {"version": table.c.version + 1, "updated_at": utcnow()} if bump_version else {})
    if conn.dialect.name == "postgresql":
        staged = _pg_stage(conn, table, ["id", *columns], rows, "changed")
        # UPDATE ... FROM locks rows in join order; lock them in id order first instead.
        conn.execute(select(table.c.id).where(table.c.id.in_(select(staged.c.id)))
                     .order_by(table.c.id).with_for_update())
        conn.execute(update(table).where(table.c.id == staged.c.id)
                     .values({**{c: staged.c[c] for c in columns}, **bump}))
        return
    stmt = (update(table).where(table.c.id == bindparam("row_id"))
            .values({**{c: bindparam(f"v_{c}") for c in columns}, **bump}))
    params = [{"row_id": r["id"], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    for start in range(0, len(params), WRITE_CHUNK):
        conn.execute(stmt, params[start:start + WRITE_CHUNK])


def _pg_stage(conn: Connection, table: Table, columns: Sequence[str],
              rows: list[dict[str, Any]], suffix: str) -> TableClause:
    """Rows COPYed into a temporary table with `table`'s column types (PostgreSQL only).

    COPY is several times faster than multi-row INSERTs; the set-based INSERT ... SELECT or
    UPDATE ... FROM that follows then runs inside the server.
    """
    name = f"import_{table.name}_{suffix}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    # Dropped first: inside a test's outer transaction ON COMMIT has not happened yet.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "
                         f"SELECT {quoted} FROM {table.name} WITH NO DATA")
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_plain(row[c]) for c in columns])
    return sql_table(name, *(column(c) for c in columns))


def _plain(value: Any) -> Any:
    # Enum columns store the value; COPY must not depend on how the driver adapts enums.
    return value.value if isinstance(value, Enum) else value


def _same(stored: Any, new: dict[str, Any], fields: Sequence[str]) -> bool:
    return all(getattr(stored, f) == new[f] for f in fields)


# --- persons --------------------------------------------------------------------------------

def import_persons(*, session: Session, file: ImportFile, max_rows: int,
                   allowed_areas: frozenset[str] | None = None) -> ImportSummary:
    """Insert or update people from an extract, keyed on PNC ID; all rows or none.

    `allowed_areas` (None: all) are the areas the caller may write: a row for another area,
    or for a person registered in one, is a row error.
    """
    errors = _Errors()
    rows = parse_rows(file, columns=PERSON_COLUMNS, required=PERSON_REQUIRED,
                      max_rows=max_rows, errors=errors)
    conn = session.connection()
    areas = set(conn.execute(select(_table(Area).c.code)).scalars())
    first_line: dict[str, int] = {}
    valid: dict[str, dict[str, Any]] = {}
    for row in rows:
        pnc = _canonical_or_none(row.values.get("pnc_id"))
        duplicate = False
        if pnc is not None and pnc in first_line:
            errors.add(row.line, "pnc_id", f"the same PNC ID is on line {first_line[pnc]}",
                       "duplicate")
            duplicate = True
        elif pnc is not None:
            first_line[pnc] = row.line
        person = _validate(PersonCreate, row, row.values, errors)
        if person is None or duplicate:
            continue
        if person.home_area not in areas:
            errors.add(row.line, "home_area", f"unknown area {person.home_area!r}",
                       "unknown_reference")
            continue
        if allowed_areas is not None and person.home_area not in allowed_areas:
            errors.add(row.line, "home_area", "outside the key's areas", "forbidden_area")
            continue
        valid[person.pnc_id] = person.model_dump()

    table = _table(Person)
    cols = [table.c.id, table.c.pnc_id, *(table.c[f] for f in PERSON_FIELDS)]
    stored = {r.pnc_id: r for r in _rows_by_key(conn, cols, table.c.pnc_id, valid)}
    if allowed_areas is not None:
        for pnc, row_line in first_line.items():
            if pnc in stored and stored[pnc].home_area not in allowed_areas:
                errors.add(row_line, "pnc_id", "this person is registered outside the key's "
                                               "areas", "forbidden_area")
    errors.raise_if_any("person")
    # Reads done: end that transaction so the writes start on fresh data (on SQLite a write
    # cannot follow a read snapshot another writer has since moved past).
    session.commit()

    conn = session.connection()
    now = utcnow()
    new = [dict(values, version=1, created_at=now, updated_at=now)
           for pnc, values in sorted(valid.items()) if pnc not in stored]
    inserted = _insert_new(conn, table, new, ("pnc_id",))
    raced = [pnc for pnc in valid if pnc not in stored and (pnc,) not in inserted]
    if raced:  # inserted by a concurrent import since the read: compare with what it wrote
        stored.update((r.pnc_id, r) for r in _rows_by_key(conn, cols, table.c.pnc_id, raced))
    changed = [dict(valid[pnc], id=stored[pnc].id) for pnc in valid
               if pnc in stored and not _same(stored[pnc], valid[pnc], PERSON_FIELDS)]
    _update_rows(conn, table, changed, PERSON_FIELDS, bump_version=True)
    session.commit()
    summary = ImportSummary(inserted=len(inserted), updated=len(changed),
                            unchanged=len(valid) - len(inserted) - len(changed), rows=len(rows))
    ids = _rows_by_key(session.connection(), [table.c.id, table.c.pnc_id], table.c.pnc_id, valid)
    summary._person_ids = sorted(r.id for r in ids)
    return summary


def _canonical_or_none(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        return canonical_pnc_id(raw)
    except ValueError:
        return None


# --- offences -------------------------------------------------------------------------------

@dataclass
class _OffenceRow:
    line: int
    offence: OffenceCreate
    pnc_id: str | None
    person_id: int | None


def _person_key(row: _Row, errors: _Errors) -> tuple[str | None, int | None, bool]:
    """(canonical pnc_id, person_id, ok) from a row that names its person one way or both."""
    raw_pnc, raw_id = row.values.get("pnc_id"), row.values.get("person_id")
    if raw_pnc is None and raw_id is None:
        errors.add(row.line, "pnc_id", "give pnc_id or person_id", "missing")
        return None, None, False
    pnc: str | None = None
    person_id: int | None = None
    ok = True
    if raw_pnc is not None:
        try:
            pnc = canonical_pnc_id(raw_pnc if isinstance(raw_pnc, str) else "")
        except ValueError as exc:
            errors.add(row.line, "pnc_id", str(exc))
            ok = False
    if raw_id is not None:
        text = str(raw_id) if isinstance(raw_id, int | str) and raw_id is not True else ""
        if text.strip().isdigit() and 0 < int(text) <= MAX_ID:
            person_id = int(text)
        else:
            errors.add(row.line, "person_id", f"must be a whole number from 1 to {MAX_ID}",
                       "int_parsing")
            ok = False
    return pnc, person_id, ok


def import_offences(*, session: Session, file: ImportFile, catalogue: OffenceCatalogue,
                    max_rows: int, allowed_areas: frozenset[str] | None = None) -> ImportSummary:
    """Insert or update offences from an extract, keyed on (source, source_ref); all or none.

    `allowed_areas` (None: all): a person living elsewhere is, to this caller, unknown.
    """
    errors = _Errors()
    rows = parse_rows(file, columns=OFFENCE_COLUMNS, required=OFFENCE_REQUIRED,
                      max_rows=max_rows, errors=errors)
    first_line: dict[tuple[str, str], int] = {}
    checked: list[_OffenceRow] = []
    for row in rows:
        ok = True
        for name in ("source", "source_ref"):
            if row.values.get(name) in (None, ""):
                # Without a reference a re-sent file would duplicate every offence.
                errors.add(row.line, name, "required for imports", "missing")
                ok = False
        ref = (str(row.values.get("source")), str(row.values.get("source_ref")))
        if ok and ref in first_line:
            errors.add(row.line, "source_ref",
                       f"the same source and source_ref are on line {first_line[ref]}",
                       "duplicate")
            ok = False
        elif ok:
            first_line[ref] = row.line
        pnc, person_id, key_ok = _person_key(row, errors)
        body = {k: v for k, v in row.values.items() if k not in ("pnc_id", "person_id")}
        offence = _validate(OffenceCreate, row, body, errors)
        if offence is not None and ok and key_ok:
            checked.append(_OffenceRow(row.line, offence, pnc, person_id))
    total = len(rows)
    del rows  # a 100,000-row import holds several copies of the file: drop each when done

    conn = session.connection()
    persons = _table(Person)
    pcols = (persons.c.id, persons.c.pnc_id, persons.c.date_of_birth, persons.c.home_area)

    def visible(found: Iterable[Row[Any]]) -> Iterator[Row[Any]]:
        return (r for r in found if allowed_areas is None or r.home_area in allowed_areas)

    by_pnc = {r.pnc_id: r for r in visible(_rows_by_key(
        conn, pcols, persons.c.pnc_id, (r.pnc_id for r in checked if r.pnc_id is not None)))}
    by_id = {r.id: r for r in visible(_rows_by_key(
        conn, pcols, persons.c.id, (r.person_id for r in checked if r.person_id is not None)))}

    valid: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for item in checked:
        person = _find_person(item, by_pnc, by_id, errors)
        if person is None:
            continue
        try:
            values = offence_values(item.offence, catalogue)
        except ValueError as exc:
            errors.add(item.line, _catalogue_field(item.offence, catalogue), str(exc),
                       "unknown_reference")
            continue
        try:
            check_against_person(item.offence, person.date_of_birth)
        except ValueError as exc:
            errors.add(item.line, "offence_date", str(exc))
            continue
        values["person_id"] = person.id
        valid[(values["source"], values["source_ref"])] = (item.line, values)
    del checked

    offences = _table(Offence)
    ocols = (offences.c.id, offences.c.source, offences.c.source_ref, offences.c.person_id,
             *(offences.c[f] for f in MUTABLE_FIELDS))
    stored = _stored_offences(conn, offences, ocols, valid)
    changed = _compare_offences(valid, stored, errors)
    errors.raise_if_any("offence")
    session.commit()  # end the read transaction: see import_persons

    conn = session.connection()
    now = utcnow()
    new = [values for key, (_, values) in valid.items() if key not in stored]
    for values in new:
        values["recorded_at"] = now
    inserted = _insert_new(conn, offences, new, ("source", "source_ref"))
    raced = [key for key in valid if key not in stored and key not in inserted]
    if raced:  # inserted by a concurrent import since the read: compare with what it wrote
        again = _stored_offences(conn, offences, ocols, {k: valid[k] for k in raced})
        changed += _compare_offences({k: valid[k] for k in raced}, again, errors)
        if errors.items:
            session.rollback()
            errors.raise_if_any("offence")
    _update_rows(conn, offences, changed, MUTABLE_FIELDS)
    session.commit()
    summary = ImportSummary(inserted=len(inserted), updated=len(changed),
                            unchanged=len(valid) - len(inserted) - len(changed), rows=total)
    summary._person_ids = sorted({values["person_id"] for _, values in valid.values()})
    return summary


def _find_person(item: _OffenceRow, by_pnc: dict[str, Row[Any]], by_id: dict[int, Row[Any]],
                 errors: _Errors) -> Row[Any] | None:
    person = None
    if item.pnc_id is not None:
        person = by_pnc.get(item.pnc_id)
        if person is None:
            errors.add(item.line, "pnc_id", "no person with this PNC ID; import the person "
                                            "first", "unknown_person")
            return None
    if item.person_id is not None:
        other = by_id.get(item.person_id)
        if other is None:
            errors.add(item.line, "person_id", "no person with this id", "unknown_person")
            return None
        if person is not None and other.id != person.id:
            errors.add(item.line, "person_id", "pnc_id and person_id name different people",
                       "value_error")
            return None
        person = other
    return person


def _catalogue_field(offence: OffenceCreate, catalogue: OffenceCatalogue) -> str:
    if offence.ho_code and catalogue.type_for_ho_code(offence.ho_code) is None:
        return "ho_code"
    return "offence_type"


def _stored_offences(conn: Connection, table: Table, cols: Sequence[Any],
                     wanted: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Row[Any]]:
    """Stored offences with these (source, source_ref) keys, by key."""
    by_source: dict[str, list[str]] = {}
    for source, ref in wanted:
        by_source.setdefault(source, []).append(ref)
    found: dict[tuple[str, str], Row[Any]] = {}
    for source, refs in by_source.items():
        found.update(((r.source, r.source_ref), r) for r in _rows_by_key(
            conn, cols, table.c.source_ref, refs, table.c.source == source))
    return found


def _compare_offences(valid: dict[tuple[str, str], tuple[int, dict[str, Any]]],
                      stored: dict[tuple[str, str], Row[Any]],
                      errors: _Errors) -> list[dict[str, Any]]:
    """The updates needed for rows already stored; a reference owned by another person is a
    row error (two people cannot share one source record)."""
    changed = []
    for key, old in stored.items():
        line, values = valid[key]
        if old.person_id != values["person_id"]:
            errors.add(line, "source_ref", "this source_ref is already recorded for another "
                                           "person", "conflict")
        elif not _same(old, values, MUTABLE_FIELDS):
            changed.append(dict(values, id=old.id))
    return changed
