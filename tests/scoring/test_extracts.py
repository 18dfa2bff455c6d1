"""Parquet extracts read Arrow-natively score exactly as the frames they were written from,
whatever the date type, row order and row grouping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring.extracts import person_ranges, read_extract
from scoring.history import ScoringInputError
from scoring.score import score_people
from tests.scoring.builders import AS_OF

DATES = {"persons": ["date_of_birth"], "offences": ["offence_date"],
         "custody": ["start_on", "end_on"]}


def write_kind(frame: pd.DataFrame, kind: str, path: Path, date_type: pa.DataType, *,
               shuffle_seed: int | None = None, row_group_size: int | None = None) -> None:
    """One kind of record as Parquet with its dates as ``date_type``, optionally shuffled."""
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(frame))
        frame = frame.iloc[order]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for column in DATES[kind]:
        table = table.set_column(table.schema.get_field_index(column), column,
                                 table[column].cast(date_type))
    pq.write_table(table, path, row_group_size=row_group_size)


def assert_same_scores(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        left, right = got[column], expected[column]
        if isinstance(right.dtype, pd.CategoricalDtype):
            left, right = left.astype(str), right.astype(str)
        np.testing.assert_array_equal(left.to_numpy(), right.to_numpy(), err_msg=column)


@pytest.mark.parametrize(("date_type", "shuffle_seed"), [
    (pa.date32(), None), (pa.timestamp("ms"), None), (pa.timestamp("ns"), None),
    (pa.timestamp("us"), 3), (pa.date32(), 5),
])
def test_any_date_type_and_row_order_scores_the_same(force, model, cat, cfg, tmp_path: Path,
                                                     date_type, shuffle_seed) -> None:
    frames = {"persons": force.persons, "offences": force.offences, "custody": force.custody}
    for kind, frame in frames.items():
        write_kind(frame, kind, tmp_path / f"{kind}.parquet", date_type,
                   shuffle_seed=shuffle_seed, row_group_size=7_000)
    read = {kind: read_extract(tmp_path / f"{kind}.parquet", kind) for kind in frames}
    assert read["offences"]["offence_date"].dtype.kind == "M"
    assert isinstance(read["offences"]["offence_type"].dtype, pd.CategoricalDtype)
    got = score_people(read["offences"], read["persons"], read["custody"], as_of=AS_OF,
                       catalogue=cat, config=cfg, model=model)
    expected = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                            catalogue=cat, config=cfg, model=model)
    assert_same_scores(got, expected)


def test_a_person_range_reads_only_its_people(force, tmp_path: Path) -> None:
    path = tmp_path / "offences.parquet"
    write_kind(force.offences, "offences", path, pa.date32(), shuffle_seed=1,
               row_group_size=5_000)
    ranges = person_ranges(_persons(force, tmp_path), 4)
    assert len(ranges) == 4 and ranges[0].low is None and ranges[-1].high is None
    pieces = [read_extract(path, "offences", r) for r in ranges]
    for r, piece in zip(ranges, pieces, strict=True):
        ids = piece["person_id"]
        assert r.low is None or (ids >= r.low).all()
        assert r.high is None or (ids < r.high).all()
    assert sum(len(p) for p in pieces) == len(force.offences)
    people = [len(read_extract(_persons(force, tmp_path), "persons", r)) for r in ranges]
    assert sum(people) == len(force.persons) and max(people) - min(people) <= 1


def _persons(force, tmp_path: Path) -> Path:
    path = tmp_path / "persons.parquet"
    if not path.exists():
        write_kind(force.persons, "persons", path, pa.date32(), shuffle_seed=2)
    return path


def test_bad_extracts_are_refused_with_their_reason(force, cat, cfg, tmp_path: Path) -> None:
    no_dob = tmp_path / "no_dob.parquet"
    pq.write_table(pa.table({"person_id": [1]}), no_dob)
    with pytest.raises(ScoringInputError, match="persons lacks column.*date_of_birth"):
        read_extract(no_dob, "persons")
    with pytest.raises(ScoringInputError, match="cannot read Parquet"):
        read_extract(tmp_path / "missing.parquet", "offences")
    aware = tmp_path / "aware.parquet"
    write_kind(force.persons.head(3), "persons", aware, pa.timestamp("us", tz="UTC"))
    with pytest.raises(ScoringInputError, match="timezone"):
        score_people(force.offences.head(0), read_extract(aware, "persons"), as_of=AS_OF,
                     catalogue=cat, config=cfg)


def test_a_dictionary_encoded_type_is_checked_like_a_string(cat, cfg, tmp_path: Path) -> None:
    """offence_type arrives as a categorical: unknown and null types are still refused,
    and categories nobody uses do not count as unknown."""
    persons = pd.DataFrame({"person_id": [1], "date_of_birth": pd.to_datetime(["1990-01-01"])})

    def offences(*types: str | None) -> pd.DataFrame:
        kinds = pd.Categorical(list(types), categories=["shoplifting", "not_a_type"])
        return pd.DataFrame({"person_id": [1] * len(types),
                             "offence_date": pd.to_datetime(["2024-01-01"] * len(types)),
                             "offence_type": kinds})

    assert score_people(offences("shoplifting"), persons, as_of=AS_OF, catalogue=cat,
                        config=cfg)["offences_to_date"].tolist() == [1]
    with pytest.raises(ScoringInputError, match="not in catalogue.*not_a_type"):
        score_people(offences("shoplifting", "not_a_type"), persons, as_of=AS_OF,
                     catalogue=cat, config=cfg)
    with pytest.raises(ScoringInputError, match="offence_type has nulls"):
        score_people(offences("shoplifting", None), persons, as_of=AS_OF, catalogue=cat,
                     config=cfg)
