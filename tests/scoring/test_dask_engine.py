"""The Dask engine on a real ``dask scheduler`` and two ``dask worker`` processes on loopback
gives exactly the pandas engine's frame, in person order, whatever the files' layout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from distributed import Client

from scoring.dask_engine import score_parquet
from scoring.history import ScoringInputError
from scoring.score import score_people
from tests.scoring.builders import AS_OF
from tests.scoring.test_extracts import assert_same_scores, write_kind

BIN = Path(sys.executable).parent
WORKERS = 2


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A scheduler and two one-thread workers, each its own process, as in production."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                "--no-dashboard", "--memory-limit", "0",
                                "--preload", "scoring.dask_engine"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
              for _ in range(WORKERS)]
    try:
        with Client(address, timeout=60) as c:
            c.wait_for_workers(WORKERS, timeout=60)
            yield c
            c.shutdown()  # scheduler and workers stop at once, not after a SIGTERM grace
    finally:
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def write_extracts(force, root: Path) -> dict[str, Path]:
    """Offences shuffled over three files with small row groups: no file, and no row group,
    holds one person range, so every worker must pick its rows out of all of them."""
    paths = {"persons": root / "persons.parquet", "offences": root / "offences",
             "custody": root / "custody.parquet"}
    write_kind(force.persons, "persons", paths["persons"], pa.date32(), shuffle_seed=1)
    paths["offences"].mkdir()
    shuffled = force.offences.sample(frac=1.0, random_state=2)
    for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        write_kind(shuffled.iloc[rows], "offences", paths["offences"] / f"{i}.parquet",
                   pa.timestamp("ms"), row_group_size=4_000)
    write_kind(force.custody, "custody", paths["custody"], pa.date32())
    return paths


def test_dask_equals_pandas(client: Client, force, model, cat, cfg, tmp_path: Path) -> None:
    paths = write_extracts(force, tmp_path)
    seen: list[int] = []
    summary = score_parquet(paths["persons"], paths["offences"], tmp_path / "out",
                            as_of=AS_OF, catalogue=cat, config=cfg, model=model,
                            custody_path=paths["custody"], scheduler=client, npartitions=5,
                            progress=lambda done, total, _: seen.append(done))
    assert summary["rows"] == len(force.persons) and summary["partitions"] == 5
    assert seen == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"part.{i:05d}.parquet" for i in range(5)]
    got = pd.read_parquet(tmp_path / "out")  # the parts in name order: person order
    expected = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                            catalogue=cat, config=cfg, model=model)
    assert_same_scores(got, expected)


def test_partitions_default_to_the_cluster_size(client: Client, force, cat, cfg,
                                                tmp_path: Path) -> None:
    paths = write_extracts(force, tmp_path)
    summary = score_parquet(paths["persons"], paths["offences"], tmp_path / "out",
                            as_of=AS_OF, catalogue=cat, config=cfg,
                            scheduler=client.scheduler.address)
    assert summary["partitions"] == 2 * WORKERS
    expected = score_people(force.offences, force.persons, as_of=AS_OF, catalogue=cat,
                            config=cfg)
    assert_same_scores(pd.read_parquet(tmp_path / "out"), expected)


def test_without_a_cluster_the_ranges_run_here(force, cat, cfg, tmp_path: Path) -> None:
    paths = write_extracts(force, tmp_path)
    summary = score_parquet(paths["persons"], paths["offences"], tmp_path / "out",
                            as_of=AS_OF, catalogue=cat, config=cfg, npartitions=3)
    assert summary["partitions"] == 3 and summary["rows"] == len(force.persons)
    expected = score_people(force.offences, force.persons, as_of=AS_OF, catalogue=cat,
                            config=cfg)
    assert_same_scores(pd.read_parquet(tmp_path / "out"), expected)


def test_a_bad_extract_fails_the_run(client: Client, force, cat, cfg, tmp_path: Path) -> None:
    paths = write_extracts(force, tmp_path)
    strangers = tmp_path / "strangers.parquet"
    write_kind(force.offences.assign(person_id=force.offences["person_id"] + 10**6),
               "offences", strangers, pa.date32())
    with pytest.raises(ScoringInputError, match="not in persons"):
        score_parquet(paths["persons"], strangers, tmp_path / "out", as_of=AS_OF,
                      catalogue=cat, config=cfg, scheduler=client, npartitions=2)


def test_output_directory_must_be_empty(client: Client, force, cat, cfg,
                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_text("x")
    with pytest.raises(ScoringInputError, match="not empty"):
        score_parquet(tmp_path / "p", tmp_path / "o", out, as_of=AS_OF, catalogue=cat,
                      config=cfg, scheduler=client)
