"""Bulk imports of the records kept about people, keyed on (source, source_ref): custody
spells, cohort memberships and referrals; all rows or none.

The same path for each kind: every row is checked with the single-record API's rules, the
people named are read (and row-locked) in bulk, stored records are fetched by key, the
no-overlap rules are checked against both the stored records and the other rows of the
file, and only when no row is bad are the inserts and updates written, set-wise. A re-sent
row is unchanged; a changed one (a custody release that has since arrived) is an update
that bumps the record's version.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session, SQLModel

from models import Area, CohortMembership, CustodyPeriod, ErasedKind, Referral, Stream
from models.base import utcnow
from models.imports import CustodyImport, ImportSummary, MembershipImport, ReferralImport
from service.errors import Conflict
from service.frames import table_of
from service.store.erasure import ErasedKeys
from service.store.import_files import (
    CUSTODY_COLUMNS,
    CUSTODY_REQUIRED,
    MEMBERSHIP_COLUMNS,
    MEMBERSHIP_REQUIRED,
    REFERRAL_COLUMNS,
    REFERRAL_REQUIRED,
    ImportFile,
    RowErrors,
    parse_rows,
)
from service.store.import_people import People, RecordRow, check_keyed_rows
from service.store.import_writes import (
    begin_writing,
    insert_new,
    rows_by_key,
    same_values,
    stored_by_source,
    update_rows,
)
from service.store.imports import RefusalHook

Key = tuple[str, str]


@dataclass(frozen=True)
class Context:
    """What a kind's row checks need beyond the row and its person."""

    areas: frozenset[str]
    streams: frozenset[str]
    allowed_areas: frozenset[str] | None
    recorded_by: str


@dataclass(frozen=True)
class Overlap:
    """No two of a person's records in one group (the person; or person and stream) may
    overlap in time. `half_open`: [start, end) (memberships); else [start, end] (custody)."""

    group: tuple[str, ...]
    start: str
    end: str
    half_open: bool
    what: str
    scope: str = ""  # said after the other record: " in the same stream"


@dataclass
class _Span:
    start: date
    end: date | None
    line: int | None  # None: a stored record no row of the file changes
    record_id: int | None

    def __str__(self) -> str:
        return f"{self.start} to {self.end or 'open'}"


class RecordKind:
    """One kind of record an import writes: its file, its rules, its table."""

    name: str  # in messages: "custody row(s) are invalid"
    model: type[SQLModel]
    table_model: type[SQLModel]
    columns: dict[str, str]
    required: tuple[tuple[str, ...], ...]
    erased: ErasedKind
    fields: tuple[str, ...]  # compared when re-sent, and updated
    fixed: tuple[str, ...] = ()  # stored once, never changed by a re-sent row
    keep_if_absent: tuple[str, ...] = ()  # not given: the stored value stays
    area_column: str | None = None
    extra: tuple[str, ...] = ()  # further stored columns `frozen` reads
    overlap: Overlap | None = None

    def values(self, item: RecordRow, person: Row[Any], ctx: Context,
               errors: RowErrors) -> dict[str, Any] | None:
        """The record's values from a row, or None with its row errors recorded."""
        raise NotImplementedError

    def frozen(self, stored: Row[Any]) -> str | None:
        """Why a stored record may no longer change, if it may not."""
        return None

    def new_row(self, values: dict[str, Any], now: datetime, ctx: Context) -> dict[str, Any]:
        return dict(values, version=1, updated_at=now)

    @property
    def table(self) -> Table:
        return table_of(self.table_model)


def import_records(kind: RecordKind, *, session: Session, file: ImportFile, max_rows: int,
                   allowed_areas: frozenset[str] | None = None,
                   on_refused: RefusalHook | None = None, restore_erased: bool = False,
                   recorded_by: str = "import") -> ImportSummary:
    """Insert or update `kind` records from a file, keyed on (source, source_ref); all rows
    or none.

    `allowed_areas` (None: all): a person living elsewhere is, to this caller, unknown, and
    `on_refused` is told their ids before the import fails; a record in an area outside
    them is a row error. A row for a deleted record, or about an erased person, is skipped
    (`skipped_erased`) unless `restore_erased`.
    """
    errors = RowErrors()
    rows = parse_rows(file, columns=kind.columns, required=kind.required, max_rows=max_rows,
                      errors=errors)
    checked = check_keyed_rows(kind.model, rows, errors)
    total = len(rows)
    del rows

    begin_writing(session)
    conn = session.connection()
    erased = ErasedKeys(session)
    gone = erased.among(kind.erased, [r.key for r in checked])
    skipped = 0
    if not restore_erased:
        gone_people = erased.among(ErasedKind.person,
                                   [(r.pnc_id,) for r in checked if r.pnc_id is not None])
        kept = [r for r in checked if r.key not in gone and (r.pnc_id,) not in gone_people]
        skipped, checked = len(checked) - len(kept), kept

    ctx = Context(areas=_codes(conn, Area), streams=_codes(conn, Stream),
                  allowed_areas=allowed_areas, recorded_by=recorded_by)
    people = People.read(conn, pncs=(r.pnc_id for r in checked if r.pnc_id is not None),
                         ids=(r.person_id for r in checked if r.person_id is not None),
                         allowed_areas=allowed_areas)
    if people.hidden and on_refused is not None:
        on_refused(sorted(people.hidden))
    people.lock(conn)

    valid: dict[Key, tuple[int, dict[str, Any], frozenset[str]]] = {}
    for item in checked:
        person = people.find(item.line, item.pnc_id, item.person_id, errors)
        if person is None:
            continue
        values = kind.values(item, person, ctx, errors)
        if values is None:
            continue
        values.update(person_id=person.id, source=item.key[0], source_ref=item.key[1])
        absent = frozenset(f for f in kind.keep_if_absent if getattr(item.record, f) is None)
        valid[item.key] = (item.line, values, absent)
    del checked

    table = kind.table
    names = dict.fromkeys(("id", "source", "source_ref", "person_id", *kind.fields,
                           *kind.fixed, *kind.extra, *filter(None, [kind.area_column])))
    stored = stored_by_source(conn, table, [table.c[n] for n in names], valid)
    changed = _compare(kind, valid, stored, ctx, errors)
    if kind.overlap is not None:
        _check_overlaps(conn, table, kind.overlap, valid, stored, errors)
    errors.raise_if_any(kind.name)

    if restore_erased:
        erased.forget(kind.erased, gone)
    now = utcnow()
    new = [kind.new_row(values, now, ctx) for key, (_, values, _) in valid.items()
           if key not in stored]
    inserted = insert_new(conn, table, new, ("source", "source_ref"))
    if len(inserted) != len(new):
        # The people were locked, so only a concurrent import giving one of these keys to
        # someone else can have got there first.
        session.rollback()
        raise Conflict(f"another import wrote some of these {kind.name} records at the same "
                       "time; send the file again")
    update_rows(conn, table, changed, kind.fields, bump_version=True)
    session.flush()
    summary = ImportSummary(inserted=len(inserted), updated=len(changed),
                            unchanged=len(valid) - len(inserted) - len(changed), rows=total,
                            skipped_erased=skipped)
    summary._person_ids = sorted({values["person_id"] for _, values, _ in valid.values()})
    summary._written_ids = sorted({*(valid[key][1]["person_id"] for key in inserted),
                                   *(row["person_id"] for row in changed)})
    return summary


def _codes(conn: Connection, model: type[Area] | type[Stream]) -> frozenset[str]:
    return frozenset(conn.execute(select(table_of(model).c.code)).scalars())


def _compare(kind: RecordKind, valid: dict[Key, tuple[int, dict[str, Any], frozenset[str]]],
             stored: dict[Key, Row[Any]], ctx: Context,
             errors: RowErrors) -> list[dict[str, Any]]:
    """The updates needed for rows already stored, or row errors where a stored record
    cannot take the row (another person's, outside the key's areas, fixed or frozen)."""
    changed = []
    for key, old in stored.items():
        line, values, absent = valid[key]
        if old.person_id != values["person_id"]:
            errors.add(line, "source_ref", "this source_ref is already recorded for another "
                                           "person", "conflict")
            continue
        area = kind.area_column
        if area and ctx.allowed_areas is not None and getattr(old, area) not in ctx.allowed_areas:
            errors.add(line, area, "the stored record is outside the key's areas",
                       "forbidden_area")
            continue
        for name in absent:
            values[name] = getattr(old, name)
        fixed = [name for name in kind.fixed if getattr(old, name) != values[name]]
        for name in fixed:
            errors.add(line, name, f"{name} cannot change; a new {name} is a new record "
                                   "(with its own source_ref)", "conflict")
        if fixed or same_values(old, values, kind.fields):
            continue
        reason = kind.frozen(old)
        if reason is not None:
            errors.add(line, "source_ref", reason, "conflict")
            continue
        changed.append(dict(values, id=old.id))
    return changed


def _check_overlaps(conn: Connection, table: Table, rule: Overlap,
                    valid: dict[Key, tuple[int, dict[str, Any], frozenset[str]]],
                    stored: dict[Key, Row[Any]], errors: RowErrors) -> None:
    """Row errors for rows overlapping another record of their group: a stored one, or
    another row of the file. A stored record the file re-sends is judged as the row has it."""
    bad = errors.lines()
    rows = {key: item for key, item in valid.items() if item[0] not in bad}
    replaced = {stored[key].id for key in rows if key in stored}
    groups: dict[tuple[Any, ...], list[_Span]] = defaultdict(list)
    cols = [table.c.id, table.c.person_id, *(table.c[g] for g in rule.group),
            table.c[rule.start], table.c[rule.end]]
    person_ids = {values["person_id"] for _, values, _ in rows.values()}
    for r in rows_by_key(conn, cols, table.c.person_id, person_ids):
        if r.id not in replaced:
            groups[tuple(getattr(r, g) for g in rule.group)].append(
                _Span(getattr(r, rule.start), getattr(r, rule.end), None, r.id))
    for key, (line, values, _) in rows.items():
        old = stored.get(key)
        groups[tuple(values[g] for g in rule.group)].append(
            _Span(values[rule.start], values[rule.end], line, old.id if old else None))

    reported: set[int] = set()

    def report(line: int, other: _Span) -> None:
        if line in reported:
            return
        reported.add(line)
        what = (f"the {rule.what} on line {other.line}" if other.line is not None
                else f"{rule.what} {other.record_id}")
        errors.add(line, rule.start, f"overlaps {what} ({other}){rule.scope}", "overlap")

    for spans in groups.values():
        # Sorted by start, a span overlaps an earlier one exactly when it starts before
        # the latest end so far (`reach`): one pass per person, however many records.
        spans.sort(key=lambda s: (s.start, s.line or 0))
        reach: _Span | None = None
        for span in spans:
            if reach is not None and (reach.end is None or span.start < reach.end
                                      or (not rule.half_open and span.start == reach.end)):
                if span.line is not None:
                    report(span.line, reach)
                elif reach.line is not None:
                    report(reach.line, span)
            if reach is None or (reach.end is not None
                                 and (span.end is None or span.end > reach.end)):
                reach = span


# --- the kinds --------------------------------------------------------------------------

def _before_birth(item: RecordRow, field: str, person: Row[Any], errors: RowErrors) -> bool:
    if getattr(item.record, field) < person.date_of_birth:
        errors.add(item.line, field, f"{field} is before the person's date_of_birth")
        return True
    return False


def _area_refused(item: RecordRow, area: str, ctx: Context, errors: RowErrors) -> bool:
    if area not in ctx.areas:
        errors.add(item.line, "area", f"unknown area {area!r}", "unknown_reference")
        return True
    if ctx.allowed_areas is not None and area not in ctx.allowed_areas:
        errors.add(item.line, "area", "outside the key's areas", "forbidden_area")
        return True
    return False


def _stream_unknown(item: RecordRow, field: str, ctx: Context, errors: RowErrors) -> bool:
    stream = getattr(item.record, field)
    if stream not in ctx.streams:
        errors.add(item.line, field, f"unknown stream {stream!r}", "unknown_reference")
        return True
    return False


class CustodyKind(RecordKind):
    name = "custody"
    model = CustodyImport
    table_model = CustodyPeriod
    columns = CUSTODY_COLUMNS
    required = CUSTODY_REQUIRED
    erased = ErasedKind.custody
    fields = ("start_on", "end_on", "reason", "sentence_months")
    overlap = Overlap(("person_id",), "start_on", "end_on", half_open=False,
                      what="custody period")

    def values(self, item: RecordRow, person: Row[Any], ctx: Context,
               errors: RowErrors) -> dict[str, Any] | None:
        if _before_birth(item, "start_on", person, errors):
            return None
        return item.record.model_dump(include=set(self.fields))  # type: ignore[no-any-return]

    def new_row(self, values: dict[str, Any], now: datetime, ctx: Context) -> dict[str, Any]:
        return dict(values, version=1, recorded_at=now, updated_at=now)


class MembershipKind(RecordKind):
    name = "membership"
    model = MembershipImport
    table_model = CohortMembership
    columns = MEMBERSHIP_COLUMNS
    required = MEMBERSHIP_REQUIRED
    erased = ErasedKind.membership
    fields = ("cohort", "area", "adopted_on", "exited_on", "exit_reason", "offender_manager",
              "rag")
    fixed = ("stream",)
    area_column = "area"
    overlap = Overlap(("person_id", "stream"), "adopted_on", "exited_on", half_open=True,
                      what="membership", scope=" in the same stream")

    def values(self, item: RecordRow, person: Row[Any], ctx: Context,
               errors: RowErrors) -> dict[str, Any] | None:
        bad = [_stream_unknown(item, "stream", ctx, errors),
               _area_refused(item, item.record.area, ctx, errors),
               _before_birth(item, "adopted_on", person, errors)]
        if any(bad):
            return None
        return item.record.model_dump(  # type: ignore[no-any-return]
            include={*self.fields, *self.fixed})

    def new_row(self, values: dict[str, Any], now: datetime, ctx: Context) -> dict[str, Any]:
        return dict(values, version=1, created_at=now, updated_at=now)


class ReferralKind(RecordKind):
    name = "referral"
    model = ReferralImport
    table_model = Referral
    columns = REFERRAL_COLUMNS
    required = REFERRAL_REQUIRED
    erased = ErasedKind.referral
    fields = ("referring_agency", "requested_stream", "reason", "referred_on", "ogrs_score",
              "area")
    keep_if_absent = ("area",)
    area_column = "area"
    extra = ("closed_on", "withdrawal_reason")

    def values(self, item: RecordRow, person: Row[Any], ctx: Context,
               errors: RowErrors) -> dict[str, Any] | None:
        given = item.record.area
        bad = [_stream_unknown(item, "requested_stream", ctx, errors),
               given is not None and _area_refused(item, given, ctx, errors),
               _before_birth(item, "referred_on", person, errors)]
        if any(bad):
            return None
        values: dict[str, Any] = item.record.model_dump(include=set(self.fields))
        values["area"] = given or person.home_area  # the single-record route's default
        return values

    def frozen(self, stored: Row[Any]) -> str | None:
        if stored.closed_on is None:
            return None
        state = "withdrawn" if stored.withdrawal_reason is not None else "decided"
        return f"referral {stored.id} is already {state} and can no longer change"

    def new_row(self, values: dict[str, Any], now: datetime, ctx: Context) -> dict[str, Any]:
        return dict(values, recorded_by=ctx.recorded_by, version=1, created_at=now,
                    updated_at=now)


# What `import_records` is given, by the name routes and the command line use.
KINDS: dict[str, RecordKind] = {"custody": CustodyKind(), "memberships": MembershipKind(),
                                "referrals": ReferralKind()}
