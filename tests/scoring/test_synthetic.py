"""synthetic_histories: the one synthetic offending model in the scoring contract's frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from scoring.catalogue import load_catalogue
from scoring.synthetic import SyntheticData, as_of_default, synthetic_histories

START, END = "2018-01-01", "2023-12-31"


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return synthetic_histories(3_000, start=START, end=END, mean_offences=6.0, seed=5)


def test_frames_have_the_contract_columns_and_types(data: SyntheticData) -> None:
    dtypes = {name: {column: str(dtype) for column, dtype in frame.dtypes.items()}
              for name, frame in dataclasses.asdict(data).items()}
    assert dtypes == {
        "persons": {"person_id": "int64", "date_of_birth": "datetime64[s]"},
        "offences": {"person_id": "int64", "offence_date": "datetime64[s]",
                     "offence_type": "str", "domestic_abuse": "bool", "victim_ref": "str"},
        "custody": {"person_id": "int64", "start_on": "datetime64[s]",
                    "end_on": "datetime64[s]"},
        "monitoring": {"person_id": "int64", "sex": "str", "ethnicity": "str"},
    }
    assert data.persons["person_id"].tolist() == list(range(1, 3_001))
    assert data.monitoring["person_id"].tolist() == list(range(1, 3_001))


def test_everyone_offends_in_the_window_sorted_as_an_extract(data: SyntheticData) -> None:
    offences = data.offences
    assert set(offences["person_id"]) == set(data.persons["person_id"])
    assert offences["offence_date"].min() >= pd.Timestamp(START)
    assert as_of_default(data) <= pd.Timestamp(END).date()
    key = offences["person_id"].to_numpy() * 10**6 + (
        offences["offence_date"].to_numpy().astype("datetime64[D]").astype(np.int64))
    assert (np.diff(key) >= 0).all()
    assert set(offences["offence_type"]) <= set(load_catalogue().offence_types)
    assert 4.0 < len(offences) / len(data.persons) < 6.0  # custody removes some


def test_nobody_offends_in_custody_and_open_spells_have_no_end(data: SyntheticData) -> None:
    custody = data.custody
    assert custody["end_on"].isna().any() and custody["end_on"].notna().any()
    spells = custody.assign(end_on=custody["end_on"].fillna(pd.Timestamp(END)))
    joined = data.offences[["person_id", "offence_date"]].merge(spells, on="person_id")
    inside = (joined["offence_date"] >= joined["start_on"]) & (
        joined["offence_date"] <= joined["end_on"])
    assert not inside.any()


def test_domestic_abuse_has_victims_and_the_flag_can_drop_them(data: SyntheticData) -> None:
    da = data.offences[data.offences["domestic_abuse"]]
    assert len(da) > 0 and da["victim_ref"].notna().all()
    assert (da.groupby("person_id")["victim_ref"].nunique() >= 2).any()
    plain = synthetic_histories(3_000, start=START, end=END, mean_offences=6.0, seed=5,
                                victims=False)
    assert plain.offences["victim_ref"].isna().all()
    pd.testing.assert_frame_equal(plain.offences.drop(columns="victim_ref"),
                                  data.offences.drop(columns="victim_ref"))


def test_the_same_seed_gives_the_same_histories(data: SyntheticData) -> None:
    again = synthetic_histories(3_000, start=START, end=END, mean_offences=6.0, seed=5)
    for name in ("persons", "offences", "custody", "monitoring"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(data, name))
    other = synthetic_histories(3_000, start=START, end=END, mean_offences=6.0, seed=6)
    assert not other.offences.equals(data.offences)


def test_sizes_that_cannot_make_sense_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="n_people"):
        synthetic_histories(0)
    with pytest.raises(ValueError, match="mean_offences"):
        synthetic_histories(10, mean_offences=0.5)
    with pytest.raises(ValueError, match="start before end"):
        synthetic_histories(10, start="2024-01-01", end="2023-01-01")
    catalogue = load_catalogue()
    smaller = dataclasses.replace(catalogue, table=catalogue.table.drop(index="shoplifting"))
    with pytest.raises(ValueError, match="shoplifting"):
        synthetic_histories(10, catalogue=smaller)
