"""Small builders for scoring frames, so tests state only what matters to them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

AS_OF = dt.date(2024, 6, 30)
# A three-type catalogue for the IDIOM report's tests: costs, groups and harm weights.
COSTS = pd.Series({"burglary": 1000.0, "robbery": 5000.0, "assault": 300.0})
TYPES = pd.DataFrame({"unit_cost_gbp": [1000.0, 5000.0, 300.0],
                      "offence_group": ["acquisitive", "acquisitive", "violence"],
                      "harm_weight": [365.0, 365.0, 180.0]}, index=COSTS.index)
NO_CUSTODY = pd.DataFrame({"person_id": pd.Series([], dtype="int64"), "start_on": [],
                           "end_on": []})
OFFENCE_COLUMNS = ["person_id", "offence_date", "offence_type", "domestic_abuse", "victim_ref"]


def days_before(days: int, as_of: dt.date = AS_OF) -> dt.date:
    return as_of - dt.timedelta(days=days)


def make_offences(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Rows of (person_id, offence_date or days before AS_OF, offence_type[, da[, victim]])."""
    out = []
    for row in rows:
        person, when, kind = row[:3]
        day = days_before(when) if isinstance(when, int) else when
        out.append({"person_id": person, "offence_date": day, "offence_type": kind,
                    "domestic_abuse": bool(row[3]) if len(row) > 3 else False,
                    "victim_ref": row[4] if len(row) > 4 else None})
    frame = pd.DataFrame(out, columns=OFFENCE_COLUMNS)
    frame["person_id"] = frame["person_id"].astype("int64")
    frame["offence_date"] = pd.to_datetime(frame["offence_date"])
    frame["domestic_abuse"] = frame["domestic_abuse"].astype(bool)
    frame["victim_ref"] = frame["victim_ref"].astype("object")
    return frame


def make_persons(*rows: tuple[int, dt.date], **extra: list[Any]) -> pd.DataFrame:
    """Rows of (person_id, date_of_birth); keyword lists add columns (e.g. sex=[...])."""
    frame = pd.DataFrame(rows, columns=["person_id", "date_of_birth"])
    frame["person_id"] = frame["person_id"].astype("int64")
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"])
    for name, values in extra.items():
        frame[name] = values
    return frame


def make_custody(*rows: tuple[int, dt.date, dt.date | None]) -> pd.DataFrame:
    """Rows of (person_id, start_on, end_on or None while in custody)."""
    frame = pd.DataFrame(rows, columns=["person_id", "start_on", "end_on"])
    frame["person_id"] = frame["person_id"].astype("int64")
    frame["start_on"] = pd.to_datetime(frame["start_on"])
    frame["end_on"] = pd.to_datetime(frame["end_on"])
    return frame
