"""Who an import row is about: a person named by PNC ID or person id, found in bulk, and
only among the people the caller's areas include (anyone else is, to them, unknown)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Row

from models import Person
from models.identifiers import canonical_pnc_id
from service.deps import MAX_ID
from service.frames import table_of
from service.store.import_files import FileRow, RowErrors, validate_row
from service.store.import_writes import lock_rows, rows_by_key


@dataclass
class RecordRow:
    """A row that passed the checks needing no database: its record, and its person."""

    line: int
    record: Any  # the kind's row schema (OffenceCreate, CustodyImport, ...)
    pnc_id: str | None
    person_id: int | None

    @property
    def key(self) -> tuple[str, str]:
        """The row's (source, source_ref)."""
        return str(self.record.source), str(self.record.source_ref)


def check_keyed_rows(model: Any, rows: list[FileRow], errors: RowErrors) -> list[RecordRow]:
    """The rows of a file keyed on (source, source_ref) that pass every check needing no
    database (the reference present and not repeated, a person named, the row valid for
    `model`); the others' errors recorded."""
    first_line: dict[tuple[str, str], int] = {}
    checked: list[RecordRow] = []
    for row in rows:
        ok = True
        for name in ("source", "source_ref"):
            if row.values.get(name) in (None, ""):
                # Without a reference a re-sent file would duplicate every record.
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
        pnc, person_id, key_ok = person_key(row, errors)
        body = {k: v for k, v in row.values.items() if k not in ("pnc_id", "person_id")}
        record = validate_row(model, row, body, errors)
        if record is not None and ok and key_ok:
            checked.append(RecordRow(row.line, record, pnc, person_id))
    return checked


def person_key(row: FileRow, errors: RowErrors) -> tuple[str | None, int | None, bool]:
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


@dataclass
class People:
    """The people an import's rows name, read with one query per kind of key.

    Rows are `(id, pnc_id, date_of_birth, home_area)`. People whose home area is outside
    `allowed_areas` are left out, as if unknown, and their ids kept in `hidden` (for the
    audit trail of refusals).
    """

    by_pnc: dict[str, Row[Any]] = field(default_factory=dict)
    by_id: dict[int, Row[Any]] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)

    @classmethod
    def read(cls, conn: Connection, *, pncs: Iterable[str], ids: Iterable[int],
             allowed_areas: frozenset[str] | None) -> "People":
        """The people with these PNC IDs or ids (`allowed_areas` None: every area)."""
        people = cls()
        persons = table_of(Person)
        cols = (persons.c.id, persons.c.pnc_id, persons.c.date_of_birth, persons.c.home_area)

        def visible(found: Iterable[Row[Any]]) -> Iterator[Row[Any]]:
            for r in found:
                if allowed_areas is None or r.home_area in allowed_areas:
                    yield r
                else:
                    people.hidden.add(r.id)

        people.by_pnc = {r.pnc_id: r for r in visible(rows_by_key(conn, cols, persons.c.pnc_id,
                                                                    pncs))}
        people.by_id = {r.id: r for r in visible(rows_by_key(conn, cols, persons.c.id, ids))}
        return people

    def lock(self, conn: Connection) -> None:
        """Row-lock everyone found until the transaction ends, as a single-record write
        about a person does, so no other write about them can slip between an import's
        checks and its writes."""
        lock_rows(conn, table_of(Person), {*(r.id for r in self.by_pnc.values()),
                                            *self.by_id})

    def find(self, line: int, pnc_id: str | None, person_id: int | None,
             errors: RowErrors) -> Row[Any] | None:
        """The person a row names, or None with the row error recorded."""
        person = None
        if pnc_id is not None:
            person = self.by_pnc.get(pnc_id)
            if person is None:
                errors.add(line, "pnc_id", "no person with this PNC ID; import the person "
                                           "first", "unknown_person")
                return None
        if person_id is not None:
            other = self.by_id.get(person_id)
            if other is None:
                errors.add(line, "person_id", "no person with this id", "unknown_person")
                return None
            if person is not None and other.id != person.id:
                errors.add(line, "person_id", "pnc_id and person_id name different people",
                           "value_error")
                return None
            person = other
        return person
