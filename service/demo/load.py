"""Write a generated demo data set into the register, fast and all-or-nothing.

One transaction: either the whole force area is there or none of it. PostgreSQL gets
COPY (psycopg, through the raw DBAPI connection); SQLite gets executemany on its cursor.
Both skip the ORM, so values are turned into the exact text SQLAlchemy itself would store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, inspect, select, text
from sqlmodel import SQLModel

# Importing models registers every table, so replace= finds all that hold people.
from models import Area, Stream
from service.bulk import write_frame
from service.demo.generate import DemoData
from service.demo.tables import AREA_NAMES, STREAM_NAMES

# Rows per COPY write: bounds memory when a benchmark loads millions of offences.


class DemoDataExists(RuntimeError):
    """The database already holds people; demo data would mix with them."""


def count_persons(engine: Engine) -> int:
    """How many people the register holds (0 on a fresh database)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM persons")).scalar_one())


def load_demo(engine: Engine, data: DemoData, *, replace: bool = False) -> dict[str, int]:
    """Write `data` in one transaction and return the row counts written.

    Refuses (DemoDataExists) when persons exist, unless `replace`, which first deletes
    every person and everything that refers to them (offences, custody, memberships and
    any other table with a foreign key to a person), keeping reference data.
    """
    with engine.begin() as conn:
        existing = int(conn.execute(text("SELECT COUNT(*) FROM persons")).scalar_one())
        if existing and not replace:
            raise DemoDataExists(
                f"the database already holds {existing} persons; demo data is only loaded "
                "into an empty register (use --if-empty to skip, or load with replace=True)")
        if existing:
            _delete_people(conn)
        _ensure_reference_data(conn)
        offset = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM persons")).scalar_one())
        postgres = conn.dialect.name == "postgresql"
        # PostgreSQL reads the zone from the text; SQLAlchemy's SQLite text has none.
        zone = "+00:00" if postgres else ""
        for table, frame in table_frames(data, person_offset=offset, zone=zone).items():
            write_frame(conn, table, frame)
        if postgres:
            # Ids were given explicitly: move the sequence past them for the API's inserts.
            conn.execute(text("SELECT setval(pg_get_serial_sequence('persons', 'id'), "
                              "(SELECT MAX(id) FROM persons))"))
        # Fresh statistics, so the planners see the loaded sizes (SQLite has none until
        # ANALYZE runs, and then picks indexes blind).
        for table in ("persons", "offences", "custody_periods", "cohort_memberships"):
            conn.execute(text(f"ANALYZE {table}"))
    return data.counts()


# --- shaping rows -------------------------------------------------------------------------

def table_frames(data: DemoData, *, person_offset: int = 0,
                 zone: str = "") -> dict[str, pd.DataFrame]:
    """The frames as the columns of each table, in insert order, values as database text.

    Dates become ISO text; timestamps the UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` text
    SQLAlchemy writes on SQLite, followed by `zone`; missing values None.
    ``person_offset`` shifts the demo's person ids past ids already used.
    """
    persons, offences = data.persons, data.offences
    custody, members = data.custody, data.memberships
    created = persons["created_at"]

    def _timestamp_text(values: pd.Series) -> np.ndarray:
        return _utc_text(values, zone)

    return {
        "persons": pd.DataFrame({
            "id": persons["person_id"] + person_offset,
            "pnc_id": _text(persons["pnc_id"]),
            "given_name": _text(persons["given_name"]),
            "family_name": _text(persons["family_name"]),
            "date_of_birth": _date_text(persons["date_of_birth"]),
            "sex": _text(persons["sex"]),
            "ethnicity": _text(persons["ethnicity"]),
            "home_area": _text(persons["home_area"]),
            "deceased_on": _date_text(persons["deceased_on"]),
            "version": 1,
            "created_at": _timestamp_text(created),
            # A death is the last change made to the record.
            "updated_at": _timestamp_text(_midnight_utc(persons["deceased_on"]).fillna(created)),
        }),
        "offences": pd.DataFrame({
            "person_id": offences["person_id"] + person_offset,
            "offence_date": _date_text(offences["offence_date"]),
            "offence_type": _text(offences["offence_type"]),
            "domestic_abuse": offences["domestic_abuse"],
            "victim_ref": _text(offences["victim_ref"]),
            "outcome": _text(offences["outcome"]),
            "outcome_date": _date_text(offences["outcome_date"]),
            "source": offences["source"],
            "source_ref": _text(offences["source_ref"]),
            "recorded_at": _timestamp_text(offences["recorded_at"]),
        }),
        "custody_periods": pd.DataFrame({
            "person_id": custody["person_id"] + person_offset,
            "start_on": _date_text(custody["start_on"]),
            "end_on": _date_text(custody["end_on"]),
            "reason": custody["reason"],
            "sentence_months": custody["sentence_months"],
            "source": custody["source"],
            "source_ref": _text(custody["source_ref"]),
            "recorded_at": _timestamp_text(_midnight_utc(custody["start_on"])),
        }),
        "cohort_memberships": pd.DataFrame({
            "person_id": members["person_id"] + person_offset,
            "cohort": _text(members["cohort"]),
            "stream": _text(members["stream"]),
            "area": _text(members["area"]),
            "adopted_on": _date_text(members["adopted_on"]),
            "exited_on": _date_text(members["exited_on"]),
            "exit_reason": _text(members["exit_reason"]),
            "offender_manager": _text(members["offender_manager"]),
            "rag": _text(members["rag"]),
            "source": members["source"],
            "source_ref": _text(members["source_ref"]),
            "version": 1,
            "created_at": _timestamp_text(_midnight_utc(members["adopted_on"])),
            "updated_at": _timestamp_text(
                _midnight_utc(members["exited_on"].fillna(members["adopted_on"]))),
        }),
    }


def _text(values: pd.Series) -> np.ndarray:
    """Strings (categorical or not) as an object array with None for missing."""
    out = values.astype(object).to_numpy(copy=True)
    out[pd.isna(out)] = None
    return out


def _date_text(values: pd.Series) -> np.ndarray:
    days = values.to_numpy().astype("datetime64[D]")
    out = np.datetime_as_string(days, unit="D").astype(object)
    out[np.isnat(days)] = None
    return out


def _midnight_utc(values: pd.Series) -> pd.Series:
    return values.dt.tz_localize("UTC")


def _utc_text(values: pd.Series, zone: str) -> np.ndarray:
    micro = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    iso = np.strings.replace(np.datetime_as_string(micro, unit="us"), "T", " ")
    return np.strings.add(iso, zone).astype(object)


# --- writing ------------------------------------------------------------------------------

# --- replace and reference data -----------------------------------------------------------

def _tables_holding_people(conn: Connection) -> list[Table]:
    """Tables that refer to persons (directly or through another such table), children first."""
    present = set(inspect(conn).get_table_names())
    holding = {"persons"}
    grew = True
    while grew:
        grew = False
        for table in SQLModel.metadata.tables.values():
            if table.name not in holding and any(
                    fk.column.table.name in holding for fk in table.foreign_keys):
                holding.add(table.name)
                grew = True
    return [t for t in reversed(SQLModel.metadata.sorted_tables)
            if t.name in holding and t.name in present]


def _delete_people(conn: Connection) -> None:
    for table in _tables_holding_people(conn):
        conn.execute(table.delete())


def _ensure_reference_data(conn: Connection) -> None:
    """Add any demo area or stream the database lacks (a force may have replaced them)."""
    areas = Area.__table__  # type: ignore[attr-defined]
    streams = Stream.__table__  # type: ignore[attr-defined]
    have_areas = set(conn.execute(select(areas.c.code)).scalars())
    missing_areas = [{"code": c, "name": n} for c, n in AREA_NAMES.items() if c not in have_areas]
    if missing_areas:
        conn.execute(areas.insert(), missing_areas)
    have_streams = set(conn.execute(select(streams.c.code)).scalars())
    missing_streams = [{"code": c, "name": n, "description": ""}
                       for c, n in STREAM_NAMES.items() if c not in have_streams]
    if missing_streams:
        conn.execute(streams.insert(), missing_streams)
