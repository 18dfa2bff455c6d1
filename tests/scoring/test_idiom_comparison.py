"""The IDIOM report's matched comparison group, on synthetic data with a known effect and
regression to the mean."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scoring.idiom import idiom_report, match_comparison
from scoring.idiom.windows import compute_windows
from tests.scoring.builders import COSTS, NO_CUSTODY, TYPES


def synthetic_population(effect: float, *, people: int = 12_000, seed: int = 0
                         ) -> tuple[pd.DataFrame, ...]:
    """Offending with a known cohort effect and regression to the mean.

    Each person offends as a Poisson process at their own rate (gamma distributed). People
    are adopted when their last 12 months were high (>= 6 offences), i.e. at a peak, so
    their offending would fall anyway. From adoption on, members' offences are thinned by
    `effect` (the true reduction). Non-members are untouched.
    """
    rng = np.random.default_rng(seed)
    start, end = np.datetime64("2016-01-01"), np.datetime64("2023-12-31")
    span = int((end - start).astype(int))
    rate = rng.gamma(0.7, 3.0, people)
    counts = rng.poisson(rate * span / 365.25)
    person = np.repeat(np.arange(people), counts)
    day = start + rng.integers(0, span, counts.sum())
    reference = np.datetime64("2019-06-01") + rng.integers(0, 730, people)
    recent = (day >= reference[person] - 365) & (day < reference[person])
    last_year = np.bincount(person[recent], minlength=people)
    adopted = (last_year >= 6) & (rng.random(people) < 0.3)
    exited = reference + rng.integers(90, 365, people)
    treated = adopted[person] & (day >= reference[person])
    keep = ~treated | (rng.random(len(day)) >= effect)
    person, day = person[keep], day[keep]
    offs = pd.DataFrame({"person_id": person, "offence_date": day,
                         "offence_type": rng.choice(np.array(COSTS.index), len(person)),
                         "outcome": "charge", "outcome_date": pd.NaT})
    idx = np.flatnonzero(adopted)
    ms = pd.DataFrame({"membership_id": idx, "person_id": idx, "area": "X", "cohort": "fixed",
                       "stream": "nsac", "sex": np.where(idx % 3 == 0, "female", "male"),
                       "adopted_on": reference[idx], "exited_on": exited[idx],
                       "exit_reason": "rehabilitated"})
    population = pd.DataFrame({
        "person_id": np.arange(people),
        "date_of_birth": np.datetime64("1985-01-01") + rng.integers(0, 7000, people),
        "sex": np.where(np.arange(people) % 3 == 0, "female", "male"),
        "deceased_on": pd.NaT, "adopted": adopted})
    return ms, offs, population


@pytest.mark.parametrize("effect", [0.3, 0.0])
def test_comparison_group_recovers_a_known_effect(effect: float) -> None:
    ms, offs, population = synthetic_population(effect)
    report = idiom_report(ms, offs, NO_CUSTODY, TYPES, as_of=date(2023, 12, 31),
                          population=population)
    net = report.totals["comparison"]
    lo, hi = net["interval"]
    assert lo <= 100 * effect <= hi, net
    assert hi - lo < 15
    # The naive before/after figure is inflated by regression to the mean.
    naive_lo, _ = report.totals["interval"]["offence_reduction_pct"]
    assert naive_lo > 100 * effect + 8
    summary = report.comparison
    assert summary is not None
    assert summary["members_matched"] >= 0.95 * report.included
    assert all(abs(b["smd_after"]) < 0.1 for b in summary["balance"])
    assert summary["balance"][0]["smd_before"] > 1  # members offended far more than the pool
    assert summary["parameters"]["k"] == 5


def test_comparison_matches_within_sex_and_month_and_skips_adopted_people() -> None:
    ms, offs, population = synthetic_population(0.3, people=3000, seed=1)
    windows = compute_windows(ms, offs, NO_CUSTODY, TYPES, as_of=date(2023, 12, 31),
                               window_months=12, counting="recorded", by_offence_group=False)
    included = windows.per[windows.per["included"]].reset_index(drop=True)
    matching = match_comparison(included, population, windows.offences,
                                as_of=date(2023, 12, 31))
    pairs = matching.pairs.merge(included[["unit", "sex"]], on="unit")
    comp = population.set_index("person_id").loc[pairs["comparator_id"]]
    assert (comp["sex"].to_numpy() == pairs["sex"].to_numpy()).all()
    assert not comp["adopted"].any()
    assert (pairs["distance"] <= 0.5).all()
    assert np.allclose(pairs.groupby("unit")["weight"].sum(), 1.0)


def test_comparison_by_offence_group_adds_up_to_the_total() -> None:
    ms, offs, population = synthetic_population(0.3, people=3000, seed=2)
    report = idiom_report(ms, offs, NO_CUSTODY, TYPES, as_of=date(2023, 12, 31),
                          population=population, group_by=("offence_group",), n_boot=50)
    total = report.totals["comparison"]
    assert sum(g["comparison"]["comparison_before"] for g in report.groups) == \
        pytest.approx(total["comparison_before"], abs=0.05)
    assert sum(g["comparison"]["cohort_after"] for g in report.groups) == total["cohort_after"]
