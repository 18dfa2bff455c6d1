"""Reading the register into the scoring frames (pandas), fast on both databases.

On PostgreSQL the rows are streamed with ``COPY ... TO STDOUT`` into ``pandas.read_csv``,
which is several times faster than row-by-row fetching for millions of offences; on
SQLite ``pandas.read_sql`` is used. Either way the frames have the columns and dtypes the
``scoring`` package documents.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    CompoundSelect,
    Date,
    Select,
    Table,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from models import CohortMembership, CustodyPeriod, Offence, Person
from scoring.person import PersonRecord


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model (typed, for Core queries)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


DATE_COLUMNS = {
    "persons": ("date_of_birth", "deceased_on"),
    "offences": ("offence_date",),
    "custody": ("start_on", "end_on"),
    "memberships": ("adopted_on", "exited_on"),
}


@dataclass(frozen=True)
class Filters:
    """What to read: people in some areas, or some people; offences known by a time."""

    areas: Sequence[str] | None = None
    person_ids: Sequence[int] | None = None
    # knowledge=as_recorded: only rows recorded by this moment (design.md, "as-of").
    recorded_by: datetime | None = None
    # Offences dated after this day are never needed for an as-of computation.
    offences_until: date | None = None

    @property
    def few(self) -> bool:
        """A read for at most a few thousand people (one person's score, a shortlist's
        pool), where fetching plain rows beats COPY and read_sql's fixed costs."""
        return self.person_ids is not None and len(self.person_ids) <= FEW_PEOPLE


# Reads for up to this many people fetch plain rows (measured in docs/benchmarks.md,
# "Shortlists": 1,008 people's 7,669 offences 28 ms that way against 37 ms by COPY on
# PostgreSQL, 33 against 54 ms by read_sql on SQLite).
FEW_PEOPLE = 5_000
# Up to this many ids are bound as parameters; more are written into the SQL.
BOUND_IDS = 50


def ids_in(column: ColumnElement[Any], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)`` for any number of ids.

    A handful are bound as parameters. More (a shortlist's pool of a thousand people) are
    written into the SQL as one literal list: neither SQLite's cap on bound variables nor
    one driver parameter per id applies, the statement can go through PostgreSQL's
    ``COPY`` path as it is, and compiling it costs one string instead of SQLAlchemy
    rendering each value (milliseconds per thousand). The values are Python ints, so the
    text is safe to inline.
    """
    values = sorted({int(i) for i in ids})
    if len(values) <= BOUND_IDS:
        return column.in_(values)
    return column.op("IN")(literal_column("(" + ",".join(map(str, values)) + ")"))


def read_frame(conn: Connection, query: Select[Any], dates: Sequence[str] = (), *,
               few: bool = False) -> pd.DataFrame:
    """Run a query into a DataFrame (COPY on PostgreSQL, ``read_sql`` on SQLite, plain
    fetching when ``few``); ``dates`` columns become datetime64[ns]."""
    return _read(conn, query, dates, few=few)


def _days_of(values: Sequence[Any]) -> np.ndarray:
    """datetime64[ns] from the drivers' dates (date objects, or ISO text; None: NaT)."""
    present = next((v for v in values if v is not None), None)
    if isinstance(present, str):
        text = np.array(["NaT" if v is None else v[:10] for v in values], dtype="datetime64[D]")
        return text.astype("datetime64[ns]")
    # pyarrow converts date objects in C; numpy parses them one by one, ten times slower.
    days = pa.array(values, type=pa.date32()).to_numpy(zero_copy_only=False)
    return days.astype("datetime64[ns]")


def _whole_numbers(values: Sequence[Any]) -> np.ndarray | None:
    """int64 if every value is an int (not a bool), else None."""
    if not values or not isinstance(values[0], int) or isinstance(values[0], bool):
        return None
    numbers = np.array(values)  # inferred: a None or a float gives another dtype
    return numbers if numbers.dtype == np.int64 else None


def _fetch_columns(conn: Connection, query: Select[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The query's column names and its values column by column, as the driver gave them."""
    result = conn.execute(query)
    names = list(result.keys())
    # The driver's own tuples: SQLAlchemy's per-value result processing is most of the
    # cost of a few thousand rows, and the columns are converted by the caller anyway.
    rows = result.cursor.fetchall()
    result.close()
    return names, list(zip(*rows, strict=True)) if rows else [() for _ in names]


def _copy_csv(conn: Connection, query: Select[Any]) -> io.BytesIO:
    """PostgreSQL's ``COPY (query) TO STDOUT`` as CSV with a header, on the connection's own
    DBAPI connection (so it sees its transaction). Parameters are rendered as literals by
    SQLAlchemy's own quoting."""
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    buffer = io.BytesIO()
    raw: Any = conn.connection.dbapi_connection
    copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with raw.cursor() as cur, cur.copy(copy_sql) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    return buffer


def read_values(conn: Connection, query: Select[Any], *,
                ids: Sequence[str] = ()) -> pd.DataFrame:
    """Rows as object columns of plain strings and numbers, nothing inferred (the IDIOM
    report's reads: dates arrive as ISO text and scoring parses a whole column at once).

    COPY on PostgreSQL, where every value arrives as text and the ``ids`` columns are
    parsed back to int64; the driver's tuples on SQLite, which already gives numbers.
    """
    if conn.dialect.name == "postgresql":
        frame = pd.read_csv(_copy_csv(conn, query), dtype=object, keep_default_na=False,
                            na_values=[""])
        frame = frame.astype(object).where(frame.notna(), None)
        for name in ids:
            if name in frame:
                frame[name] = frame[name].astype(np.int64)
        return frame
    names, columns = _fetch_columns(conn, query)
    return pd.DataFrame({name: pd.Series(list(values), dtype=object)
                         for name, values in zip(names, columns, strict=True)})


def _read_few(conn: Connection, query: Select[Any], dates: Sequence[str]) -> pd.DataFrame:
    # Up to some thousands of rows (one person's history, a shortlist's pool): fetch the
    # driver's tuples and build each column as a numpy array of its final dtype. COPY,
    # read_sql and per-column pandas conversions have fixed costs that dominate here.
    names, columns = _fetch_columns(conn, query)
    data: dict[str, Any] = {}
    for name, values in zip(names, columns, strict=True):
        if name in dates:
            data[name] = _days_of(values)
        elif (numbers := _whole_numbers(values)) is not None:
            data[name] = numbers
        else:
            # An explicit object Series: pandas would otherwise infer its string dtype and
            # turn None (e.g. no victim_ref) into NaN.
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=names)


def _read(conn: Connection, query: Select[Any], dates: Sequence[str], *,
          few: bool = False) -> pd.DataFrame:
    if few:
        return _read_few(conn, query, dates)
    if conn.dialect.name == "postgresql":
        frame = pd.read_csv(_copy_csv(conn, query), keep_default_na=False, na_values=[""])
    else:
        frame = pd.read_sql(query, conn)
    for column in dates:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


PERSONS = table_of(Person)
OFFENCES = table_of(Offence)
CUSTODY = table_of(CustodyPeriod)
MEMBERSHIPS = table_of(CohortMembership)


def _person_scope(filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.areas is not None:
        clauses.append(PERSONS.c.home_area.in_(list(filters.areas)))
    if filters.person_ids is not None:
        clauses.append(ids_in(PERSONS.c.id, filters.person_ids))
    return clauses


def _of_people(query: Select[Any], table: Table, filters: Filters) -> Select[Any]:
    """A select over a per-person table (offences, custody) kept to the filters' people and
    to rows recorded by ``filters.recorded_by``."""
    person_id = table.c.person_id
    if filters.areas is None and filters.person_ids is not None:
        query = query.where(ids_in(person_id, filters.person_ids))  # no join needed
    elif scope := _person_scope(filters):
        query = query.join(PERSONS, PERSONS.c.id == person_id).where(*scope)
    if filters.recorded_by is not None:
        query = query.where(table.c.recorded_at <= filters.recorded_by)
    return query


def persons_frame(conn: Connection, filters: Filters = Filters()) -> pd.DataFrame:
    """person_id, date_of_birth, deceased_on, sex, ethnicity, home_area (monitoring columns
    are for fairness reporting; scoring never reads them)."""
    p = PERSONS.c
    query = (select(p.id.label("person_id"), p.date_of_birth, p.deceased_on, p.sex,
                    p.ethnicity, p.home_area)
             .where(*_person_scope(filters)).order_by(p.id))
    frame = _read(conn, query, DATE_COLUMNS["persons"], few=filters.few)
    frame["person_id"] = frame["person_id"].to_numpy().astype(np.int64)
    return frame


def offences_frame(conn: Connection, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per offence: person_id, offence_date, offence_type, domestic_abuse,
    victim_ref (what scoring reads; outcomes are the IDIOM report's, read there)."""
    o = OFFENCES.c
    query = _of_people(select(o.person_id, o.offence_date, o.offence_type, o.domestic_abuse,
                              o.victim_ref), OFFENCES, filters)
    if filters.offences_until is not None:
        query = query.where(o.offence_date <= filters.offences_until)
    frame = _read(conn, query.order_by(o.person_id, o.offence_date, o.id),
                  DATE_COLUMNS["offences"], few=filters.few)
    if filters.few:
        # Already plain numpy columns: the drivers give bools (or SQLite's 0/1) and None.
        frame["person_id"] = frame["person_id"].to_numpy().astype(np.int64)
        frame["domestic_abuse"] = frame["domestic_abuse"].to_numpy().astype(bool)
        return frame
    frame["domestic_abuse"] = frame["domestic_abuse"].astype(str).str.lower().isin(
        ["true", "t", "1"])
    frame["victim_ref"] = frame["victim_ref"].astype(object).where(frame["victim_ref"].notna(),
                                                                   None)
    return frame.astype({"person_id": "int64", "offence_type": "string"})


def custody_frame(conn: Connection, filters: Filters = Filters()) -> pd.DataFrame:
    """person_id, start_on, end_on (NaT while in custody), sentence_months (missing where
    not recorded)."""
    c = CUSTODY.c
    query = _of_people(select(c.person_id, c.start_on, c.end_on, c.sentence_months), CUSTODY,
                       filters)
    frame = _read(conn, query.order_by(c.person_id, c.start_on), DATE_COLUMNS["custody"],
                  few=filters.few)
    frame["person_id"] = frame["person_id"].to_numpy().astype(np.int64)
    return frame


def memberships_frame(conn: Connection, *, areas: Sequence[str] | None = None,
                      stream: str | None = None, active_on: date | None = None,
                      recorded_by: datetime | None = None) -> pd.DataFrame:
    """membership_id, person_id, cohort, stream, area, adopted_on, exited_on, exit_reason,
    sex (for the panel's breakdown by sex).

    ``active_on`` keeps memberships running at the end of that day (a cohort's size at most,
    so read as plain rows); ``recorded_by`` those created by then.
    """
    m = MEMBERSHIPS.c
    query = (select(m.id.label("membership_id"), m.person_id, m.cohort, m.stream, m.area,
                    m.adopted_on, m.exited_on, m.exit_reason, PERSONS.c.sex)
             .join(PERSONS, PERSONS.c.id == m.person_id))
    if areas is not None:
        query = query.where(m.area.in_(list(areas)))
    if stream is not None:
        query = query.where(m.stream == stream)
    if active_on is not None:
        query = query.where(m.adopted_on <= active_on,
                            or_(m.exited_on.is_(None), m.exited_on > active_on))
    if recorded_by is not None:
        query = query.where(m.created_at <= recorded_by)
    frame = _read(conn, query.order_by(m.id), DATE_COLUMNS["memberships"],
                  few=active_on is not None)
    return with_dtypes(frame, {"membership_id": np.int64, "person_id": np.int64})


def with_dtypes(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with these columns converted, column by column through numpy:
    DataFrame.astype costs milliseconds per call even on a handful of rows."""
    for column, dtype in dtypes.items():
        frame[column] = frame[column].to_numpy().astype(dtype)
    return frame


def _person_rows(as_recorded: bool) -> CompoundSelect:
    """One person's offences to a day and custody spells, as one statement: a request for
    one score then costs one round trip for its rows (both are read by their person_id
    indexes). Built once per variant, so no request pays for compiling it."""
    o, c = OFFENCES.c, CUSTODY.c
    offences = select(literal_column("0").label("kind"), o.id, o.offence_date.label("day"),
                      cast(null(), Date).label("end_on"), o.offence_type, o.domestic_abuse,
                      o.victim_ref).where(o.person_id == bindparam("person_id"),
                                          o.offence_date <= bindparam("until", type_=Date))
    custody = select(literal_column("1"), c.id, c.start_on, c.end_on, null(), null(), null()
                     ).where(c.person_id == bindparam("person_id"))
    if as_recorded:
        offences = offences.where(o.recorded_at <= bindparam("recorded_by"))
        custody = custody.where(c.recorded_at <= bindparam("recorded_by"))
    return union_all(offences, custody).order_by("kind", "day", "id")


PERSON_ROWS = {False: _person_rows(False), True: _person_rows(True)}


def person_record(conn: Connection, person: Person, *, offences_until: date,
                  recorded_by: datetime | None = None) -> PersonRecord:
    """One person's record for the lean score (``scoring.person``): their offences dated by
    ``offences_until`` and their custody spells (with ``recorded_by``, only rows recorded
    by then), in one query."""
    params: dict[str, Any] = {"person_id": person.id, "until": offences_until}
    if recorded_by is not None:
        params["recorded_by"] = recorded_by
    rows = conn.execute(PERSON_ROWS[recorded_by is not None], params).all()
    offences = [r for r in rows if r.kind == 0]
    custody = [r for r in rows if r.kind == 1]
    assert person.id is not None
    return PersonRecord(
        person_id=person.id, date_of_birth=person.date_of_birth,
        deceased_on=person.deceased_on,
        offence_dates=[r.day for r in offences],
        offence_types=[r.offence_type for r in offences],
        domestic_abuse=[r.domestic_abuse for r in offences],
        victim_refs=[r.victim_ref for r in offences],
        custody_starts=[r.day for r in custody], custody_ends=[r.end_on for r in custody])


def person_records(conn: Connection, ids: Sequence[int], today: date) -> list[PersonRecord]:
    """`person_record` for many people at once (everything known now, offences dated by
    `today`), in three queries: the same rows in the same order (offences by date then id,
    custody by start then id), so their scores are the one-person path's to the byte."""
    p, o, c = PERSONS.c, OFFENCES.c, CUSTODY.c
    people = conn.execute(select(p.id, p.date_of_birth, p.deceased_on)
                          .where(ids_in(p.id, ids)).order_by(p.id)).all()
    offences = conn.execute(
        select(o.person_id, o.offence_date, o.offence_type, o.domestic_abuse, o.victim_ref)
        .where(ids_in(o.person_id, ids), o.offence_date <= today)
        .order_by(o.person_id, o.offence_date, o.id)).all()
    custody = conn.execute(select(c.person_id, c.start_on, c.end_on)
                           .where(ids_in(c.person_id, ids))
                           .order_by(c.person_id, c.start_on, c.id)).all()
    by_offences = {k: list(g) for k, g in groupby(offences, key=lambda r: r[0])}
    by_custody = {k: list(g) for k, g in groupby(custody, key=lambda r: r[0])}
    records = []
    for person_id, born, died in people:
        done = by_offences.get(person_id, [])
        spells = by_custody.get(person_id, [])
        records.append(PersonRecord(
            person_id=person_id, date_of_birth=born, deceased_on=died,
            offence_dates=[r[1] for r in done], offence_types=[r[2] for r in done],
            domestic_abuse=[r[3] for r in done], victim_refs=[r[4] for r in done],
            custody_starts=[r[1] for r in spells], custody_ends=[r[2] for r in spells]))
    return records
