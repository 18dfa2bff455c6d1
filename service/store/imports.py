"""Bulk imports of nightly PNC/Niche extracts: parse, check every row, then write all or nothing.

A file is read whole, every row is validated (the same models and catalogue rules as the
single-record API), existing rows are fetched in bulk by their business key, and only when
no row is bad are the inserts and updates written, in one transaction and in bulk.
"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session

from models import Area, ErasedKind, Offence, OffenceCreate, Person, PersonCreate
from models.base import utcnow
from models.identifiers import canonical_pnc_id
from models.imports import ImportSummary
from scoring.catalogue import OffenceCatalogue
from scoring.uk_calendar import uk_today
from service.frames import table_of
from service.store.areas import record_moves
from service.store.erasure import ErasedKeys
from service.store.import_files import (
    OFFENCE_COLUMNS,
    OFFENCE_REQUIRED,
    PERSON_COLUMNS,
    PERSON_FIELDS,
    PERSON_REQUIRED,
    ImportFile,
    RowErrors,
    parse_rows,
    validate_row,
)
from service.store.import_people import People, check_keyed_rows
from service.store.import_writes import (
    insert_new,
    rows_by_key,
    same_values,
    stored_by_source,
    update_rows,
)
from service.store.offences import (
    MUTABLE_FIELDS,
    catalogue_field,
    check_against_person,
    offence_values,
)

# Told the ids of registered people whose rows an area-limited caller may not write.
RefusalHook = Callable[[list[int]], None]


# --- persons --------------------------------------------------------------------------------

def import_persons(*, session: Session, file: ImportFile, max_rows: int,
                   allowed_areas: frozenset[str] | None = None,
                   on_refused: RefusalHook | None = None,
                   restore_erased: bool = False) -> ImportSummary:
    """Insert or update people from an extract, keyed on PNC ID; all rows or none.

    `allowed_areas` (None: all) are the areas the caller may write: a row for another area,
    or for a person registered in one, is a row error, and `on_refused` is told the ids of
    the registered people so refused before the import fails. A row for an erased person
    is skipped (`skipped_erased`) unless `restore_erased`, which brings them back.
    """
    errors = RowErrors()
    rows = parse_rows(file, columns=PERSON_COLUMNS, required=PERSON_REQUIRED,
                      max_rows=max_rows, errors=errors)
    conn = session.connection()
    areas = set(conn.execute(select(table_of(Area).c.code)).scalars())
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
        person = validate_row(PersonCreate, row, row.values, errors)
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

    erased = ErasedKeys(session)
    gone = erased.among(ErasedKind.person, [(pnc,) for pnc in valid])
    if not restore_erased:
        for (pnc,) in gone:
            del valid[pnc]
    table = table_of(Person)
    cols = [table.c.id, table.c.pnc_id, *(table.c[f] for f in PERSON_FIELDS)]
    stored = {r.pnc_id: r for r in rows_by_key(conn, cols, table.c.pnc_id, valid)}
    if allowed_areas is not None:
        refused = []
        for pnc, row_line in first_line.items():
            if pnc in stored and stored[pnc].home_area not in allowed_areas:
                errors.add(row_line, "pnc_id", "this person is registered outside the key's "
                                               "areas", "forbidden_area")
                refused.append(stored[pnc].id)
        if refused and on_refused is not None:
            on_refused(refused)
    errors.raise_if_any("person")
    # Reads done: end that transaction so the writes start on fresh data (on SQLite a write
    # cannot follow a read snapshot another writer has since moved past).
    session.commit()

    conn = session.connection()
    if restore_erased:
        erased.forget(ErasedKind.person, gone)
    now = utcnow()
    new = [dict(values, version=1, created_at=now, updated_at=now)
           for pnc, values in sorted(valid.items()) if pnc not in stored]
    inserted = insert_new(conn, table, new, ("pnc_id",))
    raced = [pnc for pnc in valid if pnc not in stored and (pnc,) not in inserted]
    if raced:  # inserted by a concurrent import since the read: compare with what it wrote
        stored.update((r.pnc_id, r) for r in rows_by_key(conn, cols, table.c.pnc_id, raced))
    changed = [dict(valid[pnc], id=stored[pnc].id) for pnc in valid
               if pnc in stored and not same_values(stored[pnc], valid[pnc], PERSON_FIELDS)]
    # A new home_area in an extract is a move on the day it arrives.
    record_moves(conn, [(row["id"], stored[row["pnc_id"]].home_area) for row in changed
                        if row["home_area"] != stored[row["pnc_id"]].home_area],
                 moved_on=uk_today())
    update_rows(conn, table, changed, PERSON_FIELDS, bump_version=True)
    session.flush()
    summary = ImportSummary(inserted=len(inserted), updated=len(changed),
                            unchanged=len(valid) - len(inserted) - len(changed), rows=len(rows),
                            skipped_erased=0 if restore_erased else len(gone))
    ids = rows_by_key(session.connection(), [table.c.id, table.c.pnc_id], table.c.pnc_id, valid)
    summary._person_ids = sorted(r.id for r in ids)
    summary._written_ids = sorted({*(r.id for r in ids if (r.pnc_id,) in inserted),
                                   *(row["id"] for row in changed)})
    return summary


def _canonical_or_none(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        return canonical_pnc_id(raw)
    except ValueError:
        return None


# --- offences -------------------------------------------------------------------------------

def import_offences(*, session: Session, file: ImportFile, catalogue: OffenceCatalogue,
                    max_rows: int, allowed_areas: frozenset[str] | None = None,
                    on_refused: RefusalHook | None = None,
                    restore_erased: bool = False) -> ImportSummary:
    """Insert or update offences from an extract, keyed on (source, source_ref); all or none.

    `allowed_areas` (None: all): a person living elsewhere is, to this caller, unknown;
    `on_refused` is told their ids before the import fails. A row for a deleted offence, or
    about an erased person, is skipped (`skipped_erased`) unless `restore_erased`.
    """
    errors = RowErrors()
    rows = parse_rows(file, columns=OFFENCE_COLUMNS, required=OFFENCE_REQUIRED,
                      max_rows=max_rows, errors=errors)
    checked = check_keyed_rows(OffenceCreate, rows, errors)
    total = len(rows)
    del rows  # a 100,000-row import holds several copies of the file: drop each when done

    erased = ErasedKeys(session)
    gone = erased.among(ErasedKind.offence, [r.key for r in checked])
    skipped = 0
    if not restore_erased:
        gone_people = erased.among(ErasedKind.person,
                                   [(r.pnc_id,) for r in checked if r.pnc_id is not None])
        kept = [r for r in checked
                if r.key not in gone and (r.pnc_id,) not in gone_people]
        skipped, checked = len(checked) - len(kept), kept

    conn = session.connection()
    people = People.read(conn, pncs=(r.pnc_id for r in checked if r.pnc_id is not None),
                         ids=(r.person_id for r in checked if r.person_id is not None),
                         allowed_areas=allowed_areas)
    if people.hidden and on_refused is not None:
        on_refused(sorted(people.hidden))

    valid: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for item in checked:
        person = people.find(item.line, item.pnc_id, item.person_id, errors)
        if person is None:
            continue
        try:
            values = offence_values(item.record, catalogue)
        except ValueError as exc:
            errors.add(item.line, catalogue_field(catalogue, item.record.ho_code), str(exc),
                       "unknown_reference")
            continue
        try:
            check_against_person(item.record, person.date_of_birth)
        except ValueError as exc:
            errors.add(item.line, "offence_date", str(exc))
            continue
        values["person_id"] = person.id
        valid[(values["source"], values["source_ref"])] = (item.line, values)
    del checked

    offences = table_of(Offence)
    ocols = (offences.c.id, offences.c.source, offences.c.source_ref, offences.c.person_id,
             *(offences.c[f] for f in MUTABLE_FIELDS))
    stored = _stored_offences(conn, offences, ocols, valid)
    changed = _compare_offences(valid, stored, errors)
    errors.raise_if_any("offence")
    session.commit()  # end the read transaction: see import_persons

    conn = session.connection()
    if restore_erased:
        erased.forget(ErasedKind.offence, gone)
    now = utcnow()
    new = [values for key, (_, values) in valid.items() if key not in stored]
    for values in new:
        values["recorded_at"] = now
    inserted = insert_new(conn, offences, new, ("source", "source_ref"))
    raced = [key for key in valid if key not in stored and key not in inserted]
    if raced:  # inserted by a concurrent import since the read: compare with what it wrote
        again = _stored_offences(conn, offences, ocols, {k: valid[k] for k in raced})
        changed += _compare_offences({k: valid[k] for k in raced}, again, errors)
        if errors.items:
            session.rollback()
            errors.raise_if_any("offence")
    update_rows(conn, offences, changed, MUTABLE_FIELDS, bump_version=True)
    session.flush()
    summary = ImportSummary(inserted=len(inserted), updated=len(changed),
                            unchanged=len(valid) - len(inserted) - len(changed), rows=total,
                            skipped_erased=skipped)
    summary._person_ids = sorted({values["person_id"] for _, values in valid.values()})
    summary._written_ids = sorted({*(valid[key][1]["person_id"] for key in inserted),
                                   *(row["person_id"] for row in changed)})
    return summary


def _stored_offences(conn: Connection, table: Table, cols: Sequence[Any],
                     wanted: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Row[Any]]:
    """Stored offences with these (source, source_ref) keys, by key."""
    return stored_by_source(conn, table, cols, wanted)


def _compare_offences(valid: dict[tuple[str, str], tuple[int, dict[str, Any]]],
                      stored: dict[tuple[str, str], Row[Any]],
                      errors: RowErrors) -> list[dict[str, Any]]:
    """The updates needed for rows already stored; a reference owned by another person is a
    row error (two people cannot share one source record)."""
    changed = []
    for key, old in stored.items():
        line, values = valid[key]
        if old.person_id != values["person_id"]:
            errors.add(line, "source_ref", "this source_ref is already recorded for another "
                                           "person", "conflict")
        elif not same_values(old, values, MUTABLE_FIELDS):
            changed.append(dict(values, id=old.id))
    return changed
