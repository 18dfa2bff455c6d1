"""National-scale scoring: the same ``score_people`` on a Dask cluster, partitioned by person.

Every score depends on one person's rows only, so the engine splits the people into
``person_id`` ranges holding about as many persons each (``scoring.extracts.person_ranges``,
from the persons file's ids alone) and hands each range to a worker as one task. The worker
reads its own range from the Parquet files (Parquet statistics skip the row groups outside
it; in any other layout it scans the files and keeps its rows), scores it with the pandas
engine and writes its part of the output; only paths, the rules and a row count pass
through the scheduler. The answer is therefore identical to ``scoring.score.score_people``
on the whole data set, whatever the partitioning.

Files: the contract of ``scoring.extracts``; the output is a directory of
``part.NNNNN.parquet`` files in person order (read back as one frame, they are the pandas
engine's frame), one row per person with ``scoring.score.SCORE_COLUMNS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.allocator import keep_freed_memory
from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig
from scoring.dates import as_date
from scoring.extracts import PersonRange, person_ranges, read_extract, write_scores
from scoring.score import score_people
from scoring.thr import ThreatModel
from scoring.validation import ScoringInputError

if TYPE_CHECKING:
    from distributed import Client

PARTS_PER_THREAD = 2  # a few ranges a thread, so a slow one does not leave a core idle


def dask_setup(worker: object) -> None:
    """Run in each worker started with ``--preload scoring.dask_engine``: the scoring code
    is imported once, at start, and the worker keeps the memory it frees for its next
    partition (``scoring.allocator``; the nanny's ``MALLOC_TRIM_THRESHOLD_`` gives it back
    to the kernel instead: 1.7-1.8 s of page faults per 1M-person run on two workers,
    0.7-0.8 s with this)."""
    keep_freed_memory()


def score_range(paths: dict[str, str | None], person_range: PersonRange, output: str, *,
                as_of: dt.date, catalogue: OffenceCatalogue, config: ScoringConfig,
                model: ThreatModel | None) -> int:
    """One partition, run where it is scheduled: read the range, score it, write it."""
    custody = paths["custody"]
    scores = score_people(
        read_extract(str(paths["offences"]), "offences", person_range),
        read_extract(str(paths["persons"]), "persons", person_range),
        None if custody is None else read_extract(custody, "custody", person_range),
        as_of=as_of, catalogue=catalogue, config=config, model=model)
    return write_scores(scores, output)


@contextlib.contextmanager
def _scheduler(scheduler: str | Client | None) -> Iterator[Client | None]:
    from distributed import Client, default_client

    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
    elif scheduler is not None:
        yield scheduler
    else:
        try:
            yield default_client()
        except ValueError:  # no distributed client: this process, range by range
            yield None


def _threads(client: Client | None) -> int:
    if client is None:
        return 1
    return max(sum(client.nthreads().values()), 1)


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
        Parquet file or directory (see ``scoring.extracts``); every worker must see them
        at the same path (a shared or object-store file system on a real cluster).
    output_path : path
        A new or empty directory; one ``part.NNNNN.parquet`` per partition is written.
    as_of, catalogue, config, model
        As for ``scoring.score.score_people``.
    custody_path : path, optional
    scheduler : str or distributed.Client, optional
        A scheduler address (``"tcp://host:8786"``), a Client (e.g. on a ``LocalCluster``),
        or None for the current default client (this process alone if there is none).
    npartitions : int, optional
        Person ranges (default: ``PARTS_PER_THREAD`` per worker thread of the cluster).
    progress : callable(done, total, message), optional
        Called as partitions finish.

    Returns
    -------
    dict
        ``{"rows", "partitions", "seconds", "output"}``.

    Raises
    ------
    ScoringInputError
        If an input is not Parquet, lacks a contract column or breaks the scoring
        contract, or the output directory is not empty.
    """
    out = Path(output_path)
    if out.exists() and any(out.iterdir()):
        raise ScoringInputError(f"output directory {out} is not empty")
    started = time.perf_counter()
    day = as_date(as_of)
    paths = {"persons": os.fspath(persons_path), "offences": os.fspath(offences_path),
             "custody": None if custody_path is None else os.fspath(custody_path)}
    rules: dict[str, Any] = {"as_of": day, "catalogue": catalogue, "config": config,
                             "model": model}
    with _scheduler(scheduler) as client:
        ranges = person_ranges(persons_path,
                               npartitions or PARTS_PER_THREAD * _threads(client))
        out.mkdir(parents=True, exist_ok=True)
        outputs = [str(out / f"part.{i:05d}.parquet") for i in range(len(ranges))]
        total, rows = len(ranges), 0
        if client is None:
            for done, (person_range, output) in enumerate(zip(ranges, outputs, strict=True), 1):
                rows += score_range(paths, person_range, output, **rules)
                if progress is not None:
                    progress(done, total, "partitions scored")
        else:
            from distributed import as_completed

            shared = client.scatter(rules, broadcast=True)
            futures = [client.submit(score_range, paths, person_range, output, pure=False,
                                     **shared)
                       for person_range, output in zip(ranges, outputs, strict=True)]
            for done, future in enumerate(as_completed(futures), start=1):
                rows += int(future.result())
                if progress is not None:
                    progress(done, total, "partitions scored")
    return {"rows": rows, "partitions": total, "seconds": time.perf_counter() - started,
            "output": str(out)}
