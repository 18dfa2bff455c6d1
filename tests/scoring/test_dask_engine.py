"""The Dask engine on a small in-process LocalCluster gives exactly the pandas answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from scoring.dask_engine import score_parquet
from scoring.history import ScoringInputError
from scoring.score import score_people
from tests.scoring.builders import AS_OF


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def write_extracts(force, root: Path) -> dict[str, Path]:
    """The file contract: dates as dates, offences split over several files."""
    paths = {"persons": root / "persons.parquet", "offences": root / "offences",
             "custody": root / "custody.parquet"}
    force.persons.assign(date_of_birth=force.persons["date_of_birth"].dt.date).to_parquet(
        paths["persons"])
    paths["offences"].mkdir()
    offences = force.offences.assign(offence_date=force.offences["offence_date"].dt.date)
    for i, rows in enumerate(np.array_split(np.arange(len(offences)), 3)):
        offences.iloc[rows].to_parquet(paths["offences"] / f"{i}.parquet")
    force.custody.assign(start_on=force.custody["start_on"].dt.date,
                         end_on=force.custody["end_on"].dt.date).to_parquet(paths["custody"])
    return paths


def test_dask_equals_pandas(client: Client, force, model, cat, cfg, tmp_path: Path) -> None:
    paths = write_extracts(force, tmp_path)
    seen: list[int] = []
    summary = score_parquet(paths["persons"], paths["offences"], tmp_path / "out",
                            as_of=AS_OF, catalogue=cat, config=cfg, model=model,
                            custody_path=paths["custody"], scheduler=client, npartitions=5,
                            progress=lambda done, total, _: seen.append(done))
    assert summary["rows"] == len(force.persons) and summary["partitions"] >= 2
    assert seen[-1] == summary["partitions"]
    got = pd.read_parquet(tmp_path / "out").sort_values("person_id").reset_index(drop=True)
    expected = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                            catalogue=cat, config=cfg, model=model)
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        left, right = got[column], expected[column]
        if isinstance(right.dtype, pd.CategoricalDtype):
            left, right = left.astype(str), right.astype(str)
        np.testing.assert_array_equal(left.to_numpy(), right.to_numpy(), err_msg=column)


def test_output_directory_must_be_empty(client: Client, force, cat, cfg,
                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_text("x")
    with pytest.raises(ScoringInputError, match="not empty"):
        score_parquet(tmp_path / "p", tmp_path / "o", out, as_of=AS_OF, catalogue=cat,
                      config=cfg, scheduler=client)
