"""National-scale scoring: the same ``score_people`` on Dask, partitioned by person.

Every score depends on one person's rows only, so the engine gives persons, offences and
custody the same ``person_id`` divisions (``set_index`` with shared boundaries), scores each
partition with the pandas engine and writes the results. The answer is therefore identical
to ``scoring.score.score_people`` on the whole data set, whatever the partitioning.

File contract (Parquet; a file or a directory of files):

* persons: ``person_id`` int64, ``date_of_birth`` date (other columns ignored);
* offences: ``person_id`` int64, ``offence_date`` date, ``offence_type`` string,
  ``domestic_abuse`` bool, ``victim_ref`` string or null;
* custody (optional): ``person_id`` int64, ``start_on`` date, ``end_on`` date or null;
* output: a directory of ``part.N.parquet`` files, one row per person with
  ``scoring.score.SCORE_COLUMNS`` (``as_of`` a date).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, as_completed, default_client

from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig
from scoring.dates import as_date
from scoring.score import score_people
from scoring.thr import ThreatModel
from scoring.validation import ScoringInputError, check_columns

PERSON_COLUMNS = ["person_id", "date_of_birth"]
OFFENCE_COLUMNS = ["person_id", "offence_date", "offence_type", "domestic_abuse", "victim_ref"]
CUSTODY_COLUMNS = ["person_id", "start_on", "end_on"]


def _empty(columns: list[str]) -> pd.DataFrame:
    dtypes = {"person_id": "int64", "date_of_birth": "datetime64[s]",
              "offence_date": "datetime64[s]", "offence_type": "str", "domestic_abuse": "bool",
              "victim_ref": "str", "start_on": "datetime64[s]", "end_on": "datetime64[s]"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in columns})


def _score_partition(persons: pd.DataFrame, offences: pd.DataFrame,
                     custody: pd.DataFrame | None, *, as_of: dt.date,
                     catalogue: OffenceCatalogue, config: ScoringConfig,
                     model: ThreatModel | None) -> pd.DataFrame:
    """Score one partition (frames indexed by ``person_id``, as ``set_index`` left them)."""
    return score_people(offences.reset_index(), persons.reset_index(),
                        None if custody is None else custody.reset_index(), as_of=as_of,
                        catalogue=catalogue, config=config, model=model)


def person_divisions(person_ids: dd.Series, npartitions: int) -> tuple[int, ...]:
    """Shared ``person_id`` boundaries: equal-width, so no sort or quantile pass is needed."""
    low, high = dask.compute(person_ids.min(), person_ids.max())
    if pd.isna(low):
        return (0, 0)
    bounds = np.unique(np.linspace(int(low), int(high), npartitions + 1).astype(np.int64))
    if len(bounds) == 1:
        return (int(low), int(high))
    return tuple(int(b) for b in bounds)


def score_dask(persons: dd.DataFrame, offences: dd.DataFrame,
               custody: dd.DataFrame | None = None, *, as_of: dt.date | str,
               catalogue: OffenceCatalogue, config: ScoringConfig,
               model: ThreatModel | None = None, npartitions: int | None = None) -> dd.DataFrame:
    """Lazy ``score_people`` over Dask frames, partitioned by ``person_id``.

    Parameters
    ----------
    persons, offences, custody : dask.dataframe.DataFrame
        The scoring frames (custody optional).
    as_of, catalogue, config, model
        As for ``scoring.score.score_people``.
    npartitions : int, optional
        Partitions to score in (default: as many as ``offences`` has).

    Returns
    -------
    dask.dataframe.DataFrame
        One row per person, columns ``scoring.score.SCORE_COLUMNS``.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> persons = pd.DataFrame({"person_id": [1, 2],
    ...     "date_of_birth": pd.to_datetime(["1990-01-01", "1985-06-01"])})
    >>> offences = pd.DataFrame({"person_id": [1, 2, 2],
    ...     "offence_date": pd.to_datetime(["2024-05-01", "2024-01-01", "2024-06-01"]),
    ...     "offence_type": ["shoplifting", "burglary_residential", "robbery_personal"],
    ...     "domestic_abuse": [False] * 3, "victim_ref": [None] * 3})
    >>> lazy = score_dask(dd.from_pandas(persons, npartitions=1),
    ...                   dd.from_pandas(offences, npartitions=2), as_of="2024-06-30",
    ...                   catalogue=load_catalogue(), config=load_config())
    >>> lazy.compute(scheduler="sync")["rfg"].round(1).tolist()
    [34.7, 59.5]
    """
    day = as_date(as_of)
    for frame, columns, name in ((persons, PERSON_COLUMNS, "persons"),
                                 (offences, OFFENCE_COLUMNS[:3], "offences")):
        check_columns(frame.columns, columns, name, error=ScoringInputError)
    parts = npartitions or max(offences.npartitions, 1)
    divisions = person_divisions(persons["person_id"], parts)
    keep_offences = [c for c in OFFENCE_COLUMNS if c in offences.columns]
    by_person = {
        "persons": persons[PERSON_COLUMNS].set_index("person_id", divisions=divisions),
        "offences": offences[keep_offences].set_index("person_id", divisions=divisions),
    }
    if custody is not None:
        by_person["custody"] = custody[CUSTODY_COLUMNS].set_index("person_id",
                                                                  divisions=divisions)
    meta = score_people(_empty(keep_offences), _empty(PERSON_COLUMNS),
                        None if custody is None else _empty(CUSTODY_COLUMNS), as_of=day,
                        catalogue=catalogue, config=config, model=model)
    return dd.map_partitions(
        _score_partition, by_person["persons"], by_person["offences"],
        by_person.get("custody"), as_of=day, catalogue=catalogue, config=config, model=model,
        meta=meta, align_dataframes=False)


@contextlib.contextmanager
def _scheduler(scheduler: str | Client | None) -> Iterator[Client | None]:
    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
    elif scheduler is not None:
        yield scheduler
    else:
        try:
            yield default_client()
        except ValueError:  # no distributed client: dask's local threads
            yield None


def _write_part(frame: pd.DataFrame, path: str) -> int:
    frame.to_parquet(path, index=False)
    return len(frame)


def score_parquet(persons_path: str | Path, offences_path: str | Path,
                  output_path: str | Path, *, as_of: dt.date | str,
                  catalogue: OffenceCatalogue, config: ScoringConfig,
                  model: ThreatModel | None = None, custody_path: str | Path | None = None,
                  scheduler: str | Client | None = None, npartitions: int | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Score Parquet extracts on a ``distributed`` cluster and write Parquet results.

    Parameters
    ----------
    persons_path, offences_path : path
        Parquet file or directory (see the module's file contract).
    output_path : path
        A new or empty directory; one ``part.N.parquet`` per partition is written.
    as_of, catalogue, config, model
        As for ``scoring.score.score_people``.
    custody_path : path, optional
    scheduler : str or distributed.Client, optional
        A scheduler address (``"tcp://host:8786"``), a Client (e.g. on a ``LocalCluster``),
        or None for the current default client (dask's local threads if there is none).
    npartitions : int, optional
        Person partitions (default: the offences files' partition count).
    progress : callable(done, total, message), optional
        Called as partitions finish (per partition only with a distributed client).

    Returns
    -------
    dict
        ``{"rows", "partitions", "seconds", "output"}``.

    Raises
    ------
    ScoringInputError
        If an input lacks a contract column or the output directory is not empty.
    """
    out = Path(output_path)
    if out.exists() and any(out.iterdir()):
        raise ScoringInputError(f"output directory {out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    persons = dd.read_parquet(str(persons_path))
    offences = dd.read_parquet(str(offences_path))
    custody = dd.read_parquet(str(custody_path)) if custody_path is not None else None
    scored = score_dask(persons, offences, custody, as_of=as_of, catalogue=catalogue,
                        config=config, model=model, npartitions=npartitions)
    pieces = scored.to_delayed()
    writes = [dask.delayed(_write_part)(piece, str(out / f"part.{i}.parquet"))
              for i, piece in enumerate(pieces)]
    total = len(writes)
    rows = 0
    with _scheduler(scheduler) as client:
        if client is None:
            rows = sum(dask.compute(*writes))
            if progress is not None:
                progress(total, total, "scored")
        else:
            futures = client.compute(writes)
            for done, future in enumerate(as_completed(futures), start=1):
                rows += int(future.result())
                if progress is not None:
                    progress(done, total, "partitions scored")
    return {"rows": rows, "partitions": total, "seconds": time.perf_counter() - started,
            "output": str(out)}
