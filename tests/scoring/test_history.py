"""Input contract: dates, windows, and the errors a bad frame gets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scoring.dates import add_months_to_date, as_date
from scoring.history import (
    ScoringInputError,
    day_numbers,
    prepare_offences,
    prepare_people,
    window_days,
)
from scoring.rfg import rfg_scores
from scoring.score import score_people
from tests.scoring.builders import AS_OF, make_offences, make_persons


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
    (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
    (dt.date(2024, 3, 31), -1, dt.date(2024, 2, 29)),
    (dt.date(2024, 6, 30), -24, dt.date(2022, 6, 30)),
    (dt.date(2024, 12, 15), 1, dt.date(2025, 1, 15)),
])
def test_calendar_month_arithmetic(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months_to_date(day, months) == expected


def test_windows_are_the_last_n_months_ending_on_as_of() -> None:
    # (2023-06-30, 2024-06-30]: 2023-07-01 is in, 2023-06-30 is out.
    limit = window_days(dt.date(2024, 6, 30), 12)
    assert (dt.date(2024, 6, 30) - dt.date(2023, 7, 1)).days < limit
    assert (dt.date(2024, 6, 30) - dt.date(2023, 6, 30)).days == limit


def test_as_of_accepts_dates_and_refuses_times() -> None:
    assert as_date("2024-06-30") == as_date(pd.Timestamp("2024-06-30")) == AS_OF
    assert as_date(dt.datetime(2024, 6, 30)) == AS_OF
    with pytest.raises(ScoringInputError, match="calendar date"):
        as_date(dt.datetime(2024, 6, 30, 12, 0))
    with pytest.raises(ScoringInputError, match="YYYY-MM-DD"):
        as_date("30/06/2024")


@pytest.mark.parametrize("values", [
    pd.Series([dt.date(2024, 6, 30), dt.date(1969, 12, 31)]),
    pd.Series(pd.to_datetime(["2024-06-30", "1969-12-31"])),
    pd.Series(np.array(["2024-06-30", "1969-12-31"], dtype="datetime64[s]")),
    pd.Series(pd.to_datetime(["2024-06-30 23:59", "1969-12-31 01:00"])),
])
def test_day_numbers_from_any_date_representation(values: pd.Series) -> None:
    assert day_numbers(values, "x").tolist() == [19904, -1]


def test_offence_dates_as_python_dates_score_like_timestamps(cat, cfg) -> None:
    stamps = make_offences((1, 10, "shoplifting"), (1, 400, "burglary_residential"))
    dates = stamps.assign(offence_date=stamps["offence_date"].dt.date)
    a = rfg_scores(stamps, as_of=AS_OF, catalogue=cat, config=cfg)
    b = rfg_scores(dates, as_of=AS_OF, catalogue=cat, config=cfg)
    pd.testing.assert_frame_equal(a, b)


def test_missing_columns_unknown_types_and_nulls_are_refused(cat) -> None:
    people = prepare_people(make_persons((1, dt.date(1990, 1, 1))))
    good = make_offences((1, 10, "shoplifting"))
    with pytest.raises(ScoringInputError, match="lacks column.*offence_type"):
        prepare_offences(good.drop(columns="offence_type"), people, cat)
    with pytest.raises(ScoringInputError, match="not in catalogue.*'mugging'"):
        prepare_offences(good.assign(offence_type="mugging"), people, cat)
    with pytest.raises(ScoringInputError, match="null dates"):
        prepare_offences(good.assign(offence_date=pd.NaT), people, cat)
    with pytest.raises(ScoringInputError, match="not in persons: \\[9\\]"):
        prepare_offences(good.assign(person_id=9), people, cat)
    with pytest.raises(ScoringInputError, match="integers"):
        prepare_offences(good.assign(person_id="1"), people, cat)
    with pytest.raises(ScoringInputError, match="domestic_abuse has nulls"):
        prepare_offences(good.assign(domestic_abuse=[None]), people, cat)


def test_duplicate_people_and_missing_birth_dates_are_refused() -> None:
    with pytest.raises(ScoringInputError, match="duplicate person_id.*\\[3\\]"):
        prepare_people(make_persons((3, dt.date(1990, 1, 1)), (3, dt.date(1991, 1, 1))))
    with pytest.raises(ScoringInputError, match="date_of_birth has null"):
        prepare_people(make_persons((3, None)))


def test_large_sparse_person_ids_map_like_dense_ones(cat, cfg) -> None:
    ids = [7, 2**40, 123_456_789]
    persons = make_persons(*((i, dt.date(1990, 1, 1)) for i in ids))
    offences = make_offences(*((i, 5, "shoplifting") for i in ids))
    out = score_people(offences, persons, as_of=AS_OF, catalogue=cat, config=cfg)
    assert out["person_id"].tolist() == sorted(ids)
    assert (out["offences_to_date"] == 1).all()


def test_optional_columns_default_to_no_abuse_and_no_victims(cat, cfg) -> None:
    full = make_offences((1, 10, "violence_with_injury"))
    bare = full[["person_id", "offence_date", "offence_type"]]
    out = rfg_scores(bare, as_of=AS_OF, catalogue=cat, config=cfg, stream="domestic_abuse")
    assert out.loc[0, "score"] == 0.0
    assert rfg_scores(bare, as_of=AS_OF, catalogue=cat, config=cfg).loc[0, "victims"] == 0.0
