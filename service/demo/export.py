"""Write a generated demo data set out as import files (`iomscore demo --export DIR`).

One CSV per kind, in exactly the columns POST /imports/KIND reads, people named by PNC ID
(ids differ between databases). Loaded in order (persons, offences, custody, memberships)
through the imports, they give the register `load_demo` writes directly, bar the
timestamps an import sets itself (created_at, recorded_at, updated_at). The demo has no
referrals, so there is no referrals.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from service.demo.generate import DemoData
from service.store.import_files import (
    CUSTODY_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OFFENCE_COLUMNS,
    PERSON_COLUMNS,
)

# The import each file is for, in the order they load.
FILES = ("persons", "offences", "custody", "memberships")


def export_frames(data: DemoData) -> dict[str, pd.DataFrame]:
    """The data set as import files' rows: ISO dates, true/false, empty where missing."""
    pnc = data.persons.set_index("person_id")["pnc_id"]

    def named(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        out = pd.DataFrame({"pnc_id": pnc.loc[frame["person_id"]].to_numpy()}) \
            if "person_id" in frame else pd.DataFrame(index=range(len(frame)))
        for name in columns:
            if name in out or name not in frame or name == "person_id":
                continue
            values = frame[name].reset_index(drop=True)
            if values.dtype.kind == "M":
                out[name] = _date_text(values)
            elif values.dtype.kind == "b":
                out[name] = np.where(values.to_numpy(), "true", "false")
            else:
                out[name] = values.astype(object).where(values.notna(), None)
        return out

    persons = data.persons.drop(columns=["person_id"])
    return {
        "persons": named(persons, PERSON_COLUMNS),
        "offences": named(data.offences, OFFENCE_COLUMNS),
        "custody": named(data.custody, CUSTODY_COLUMNS),
        "memberships": named(data.memberships, MEMBERSHIP_COLUMNS),
    }


def export_demo(data: DemoData, directory: Path) -> dict[str, Path]:
    """Write persons.csv, offences.csv, custody.csv and memberships.csv into `directory`
    (made if missing); the paths written, by import kind, in load order."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, frame in export_frames(data).items():
        path = directory / f"{kind}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        written[kind] = path
    return written


def _date_text(values: pd.Series) -> pd.Series:
    days = values.to_numpy().astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype(object)
    text[np.isnat(days)] = None
    return pd.Series(text)
