"""Parquet extracts to the scoring frames, Arrow-native: no per-row Python.

File contract (a Parquet file, or a directory of them, any row order and row grouping):

* persons: ``person_id`` integer, ``date_of_birth`` date, optionally ``deceased_on`` (other
  columns, such as names, sex or ethnicity, are never read);
* offences: ``person_id``, ``offence_date``, ``offence_type`` string, optionally
  ``domestic_abuse`` bool and ``victim_ref`` string or null;
* custody (optional): ``person_id``, ``start_on``, ``end_on`` (null while in custody).

A date column may be Parquet ``date32``/``date64`` or a timezone-naive timestamp of any unit;
Arrow turns each into ``datetime64`` in one cast (pandas would hand ``date32`` over as a
``datetime.date`` object per row, and parsing those back cost more than the read).
``offence_type`` arrives dictionary-encoded, as a categorical (a few dozen strings, not ten
million). A timezone-aware timestamp is passed on as it is, so the scoring checks refuse it
with their usual message.

``person_range`` reads only the rows of one ``[low, high)`` range of ``person_id``: Parquet
statistics skip the row groups outside it, whatever the files' layout, which is how the Dask
engine's workers each read their own people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from scoring.validation import ScoringInputError, check_columns

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns, date columns)
    "persons": (("person_id", "date_of_birth"), ("deceased_on",),
                ("date_of_birth", "deceased_on")),
    "offences": (("person_id", "offence_date", "offence_type"),
                 ("domestic_abuse", "victim_ref"), ("offence_date",)),
    "custody": (("person_id", "start_on", "end_on"), (), ("start_on", "end_on")),
}
DICTIONARY_COLUMNS = ("offence_type",)


@dataclass(frozen=True)
class PersonRange:
    """``low <= person_id < high``; None leaves that end open."""

    low: int | None = None
    high: int | None = None

    def expression(self) -> ds.Expression | None:
        field = pc.field("person_id")
        parts = ([field >= self.low] if self.low is not None else []) + (
            [field < self.high] if self.high is not None else [])
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else parts[0] & parts[1]


def _dataset(path: str | Path, kind: str) -> ds.Dataset:
    try:
        return ds.dataset(str(path), format=ds.ParquetFileFormat(
            read_options={"dictionary_columns": list(DICTIONARY_COLUMNS)}))
    except (FileNotFoundError, pa.ArrowInvalid) as exc:
        raise ScoringInputError(f"{kind}: cannot read Parquet at {path} ({exc})") from exc


def _as_datetime(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_date32(kind):
        return column.cast(pa.timestamp("s"))
    if pa.types.is_date64(kind):
        return column.cast(pa.timestamp("ms"))
    return column  # timestamps (any unit) as they are; anything else fails the scoring checks


def read_extract(path: str | Path, kind: str, person_range: PersonRange | None = None
                 ) -> pd.DataFrame:
    """One extract as its scoring frame (see the module's contract).

    Parameters
    ----------
    path : path
        A Parquet file or a directory of Parquet files.
    kind : {"persons", "offences", "custody"}
    person_range : PersonRange, optional
        Only these people's rows.

    Returns
    -------
    DataFrame
        The contract's columns that the files hold, dates as ``datetime64``.

    Raises
    ------
    ScoringInputError
        If the path is not Parquet or lacks a required column.

    Examples
    --------
    >>> import tempfile, datetime as dt
    >>> import pyarrow.parquet as pq
    >>> folder = tempfile.mkdtemp()
    >>> pq.write_table(pa.table({"person_id": [2, 1], "date_of_birth": pa.array(
    ...     [dt.date(1990, 1, 2), dt.date(1985, 6, 1)], pa.date32()), "sex": ["F", "M"]}),
    ...     f"{folder}/persons.parquet")
    >>> frame = read_extract(f"{folder}/persons.parquet", "persons", PersonRange(low=2))
    >>> frame.dtypes.astype(str).to_dict(), frame["person_id"].tolist()
    ({'person_id': 'int64', 'date_of_birth': 'datetime64[s]'}, [2])
    """
    required, optional, dates = KINDS[kind]
    dataset = _dataset(path, kind)
    names = dataset.schema.names
    check_columns(names, required, kind, error=ScoringInputError)
    columns = [*required, *(c for c in optional if c in names)]
    table = dataset.to_table(columns=columns,
                             filter=person_range.expression() if person_range else None)
    for name in dates:
        if name in columns:
            table = table.set_column(table.schema.get_field_index(name), name,
                                     _as_datetime(table[name]))
    return table.to_pandas()


def person_ranges(persons_path: str | Path, parts: int) -> list[PersonRange]:
    """``parts`` ranges of ``person_id`` holding about as many persons each, in order.

    The first and last ranges are open, so a row whose person is outside every persons' row
    still reaches a partition (and fails the scoring check there, as it would in one piece).
    """
    table = _dataset(persons_path, "persons").to_table(columns=["person_id"])
    check_columns(table.schema.names, ("person_id",), "persons", error=ScoringInputError)
    ids = np.unique(table["person_id"].to_numpy())
    if len(ids) == 0 or parts <= 1:
        return [PersonRange()]
    cuts = np.unique(ids[np.linspace(0, len(ids), parts + 1).astype(np.int64)[1:-1]])
    bounds: list[int | None] = [None, *(int(c) for c in cuts), None]
    return [PersonRange(low, high) for low, high in zip(bounds, bounds[1:], strict=False)]


def write_scores(scores: pd.DataFrame, path: str | Path) -> int:
    """Write a ``score_people`` frame as the engines' Parquet output; returns its rows."""
    scores.to_parquet(path, index=False)
    return len(scores)
