"""IDIOM report: windows, exclusion, costs, grouping, proven counting, time at liberty,
intervals and the panel table (the comparison group: test_idiom_comparison.py)."""

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.idiom import (
    DEFAULT_RULES,
    idiom_report,
    member_windows,
    member_windows_reference,
    report_table,
)
from tests.scoring.builders import COSTS, NO_CUSTODY, TYPES

AS_OF = date(2023, 6, 30)


def memberships(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"area": "BANES", "cohort": "fixed", "stream": "nsac", "sex": "male",
            "exited_on": None, "exit_reason": None}
    out = []
    for i, row in enumerate(rows):
        full = {**base, "membership_id": i + 1, "person_id": i + 1, **row}
        if full["exited_on"] is not None and full["exit_reason"] is None:
            full["exit_reason"] = "rehabilitated"
        out.append(full)
    return pd.DataFrame(out)


def offences(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """(person_id, offence_date, offence_type[, outcome, outcome_date])"""
    out = []
    for row in rows:
        person, day, kind = row[:3]
        outcome = row[3] if len(row) > 3 else "charge"
        outcome_on = row[4] if len(row) > 4 else None
        out.append({"person_id": person, "offence_date": day, "offence_type": kind,
                    "outcome": outcome, "outcome_date": outcome_on})
    if not out:
        return pd.DataFrame(columns=["person_id", "offence_date", "offence_type", "outcome",
                                     "outcome_date"])
    return pd.DataFrame(out)


def custody(*rows: tuple[int, date, date | None]) -> pd.DataFrame:
    return pd.DataFrame([{"person_id": p, "start_on": s, "end_on": e} for p, s, e in rows])


def one(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


# ------------------------------------------------------------------ windows


def test_windows_are_half_open_with_month_end_arithmetic() -> None:
    # Adopted 31 March, left 31 August; with 1-month windows: before = [28 Feb, 31 Mar),
    # during = [31 Mar, 31 Aug), after = [31 Aug, 30 Sep) (31 Aug + 1 month = 30 Sep).
    ms = memberships({"adopted_on": date(2021, 3, 31), "exited_on": date(2021, 8, 31)})
    offs = offences(
        (1, date(2021, 2, 27), "burglary"),   # outside: before the before window
        (1, date(2021, 2, 28), "burglary"),   # before (first day)
        (1, date(2021, 3, 30), "robbery"),    # before (last day)
        (1, date(2021, 3, 31), "assault"),    # during (adoption day)
        (1, date(2021, 8, 30), "assault"),    # during (last day)
        (1, date(2021, 8, 31), "burglary"),   # after (exit day)
        (1, date(2021, 9, 29), "robbery"),    # after (last day)
        (1, date(2021, 9, 30), "robbery"),    # outside: the after window has ended
    )
    row = one(member_windows(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, window_months=1))
    assert row["before_start"] == pd.Timestamp("2021-02-28")
    assert row["after_end"] == pd.Timestamp("2021-09-30")
    assert (row["before_offences"], row["during_offences"], row["after_offences"]) == (2, 2, 2)
    assert (row["before_cost"], row["during_cost"], row["after_cost"]) == (6000.0, 600.0, 6000.0)
    assert (row["before_days"], row["during_days"], row["after_days"]) == (31, 153, 30)
    assert bool(row["included"])


def test_twelve_month_windows_from_a_leap_day() -> None:
    ms = memberships({"adopted_on": date(2020, 2, 29), "exited_on": date(2021, 1, 31)})
    offs = offences((1, date(2019, 2, 27), "burglary"), (1, date(2019, 2, 28), "burglary"),
                    (1, date(2022, 1, 30), "burglary"), (1, date(2022, 1, 31), "burglary"))
    row = one(member_windows(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF))
    # before = [2019-02-28, 2020-02-29); after = [2021-01-31, 2022-01-31)
    assert row["before_start"] == pd.Timestamp("2019-02-28")
    assert (row["before_offences"], row["after_offences"]) == (1, 1)
    assert (row["before_days"], row["after_days"]) == (366, 365)


# ------------------------------------------------------------------ exclusion


def test_exclusion_reasons_are_counted_and_boundaries_exact() -> None:
    ms = memberships(
        {"adopted_on": date(2020, 1, 10), "exited_on": date(2022, 1, 31)},  # after ends 27 Feb
        {"adopted_on": date(2020, 1, 10), "exited_on": date(2022, 2, 1)},   # after ends 28 Feb
        {"adopted_on": date(2020, 1, 10)},                                  # still a member
        {"adopted_on": date(2022, 3, 1)},                                   # adopted later
        {"adopted_on": date(2020, 1, 10), "exited_on": date(2022, 3, 1)},   # exit after as_of
    )
    # 31 Jan 2022 + 1 month = 28 Feb: the after window [31 Jan, 28 Feb) has ended on 27 Feb.
    report = idiom_report(ms, offences(), NO_CUSTODY, COSTS, as_of=date(2022, 2, 27),
                          window_months=1, n_boot=10)
    assert report.included == 1
    assert report.excluded == {"total": 4, "adopted_after_as_of": 1, "not_exited": 2,
                               "after_window_not_ended": 1, "waiting_period_not_ended": 0}
    assert "4 membership(s) left out" in report.warnings[0]
    members = report.members.set_index("membership_id")
    assert pd.isna(members.loc[1, "excluded_reason"])
    assert members.loc[2, "excluded_reason"] == "after_window_not_ended"
    assert members.loc[5, "excluded_reason"] == "not_exited"  # the exit is not known yet


def test_exit_on_the_report_date_leaves_the_after_window_open() -> None:
    ms = memberships({"adopted_on": date(2020, 1, 1), "exited_on": AS_OF})
    report = idiom_report(ms, offences(), NO_CUSTODY, COSTS, as_of=AS_OF, n_boot=10)
    assert report.excluded["after_window_not_ended"] == 1


# ------------------------------------------------------------------ costs and totals


def test_costs_come_from_the_table_and_unknown_types_cost_nothing_with_a_warning() -> None:
    ms = memberships({"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    offs = offences((1, date(2020, 6, 1), "robbery"), (1, date(2020, 7, 1), "robbery"),
                    (1, date(2020, 8, 1), "mystery"), (1, date(2021, 7, 1), "assault"))
    report = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, n_boot=10)
    t = report.totals
    assert t["before"] == {"offences": 3, "cost": 10000.0}
    assert t["after"] == {"offences": 1, "cost": 300.0}
    assert t["offence_reduction_pct"] == pytest.approx(66.7)
    assert t["cost_reduction_pct"] == pytest.approx(97.0)
    assert t["cost_saving"] == 9700.0
    assert any("mystery (1)" in w for w in report.warnings)


def test_no_offences_before_means_reduction_undefined_not_nan() -> None:
    ms = memberships({"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    report = idiom_report(ms, offences((1, date(2021, 7, 1), "assault")), NO_CUSTODY, COSTS,
                          as_of=AS_OF, n_boot=10)
    assert report.totals["offence_reduction_pct"] is None
    assert report.totals["interval"]["offence_reduction_pct"] is None
    assert "no offences before: reduction undefined" in report.totals["warnings"]


# ------------------------------------------------------------------ grouping


def _grouping_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    ms = memberships(
        {"area": "BANES", "sex": "female", "adopted_on": date(2021, 1, 1),
         "exited_on": date(2021, 6, 1)},
        {"area": "BANES", "sex": "male", "adopted_on": date(2021, 1, 1),
         "exited_on": date(2021, 6, 1), "exit_reason": "custody_over_2_years"},
        {"area": "BRISTOL", "sex": "male", "adopted_on": date(2021, 1, 1),
         "exited_on": date(2021, 6, 1)},
    )
    offs = offences(
        (1, date(2020, 5, 1), "burglary"), (1, date(2020, 6, 1), "assault"),
        (1, date(2021, 8, 1), "assault"),
        (2, date(2020, 5, 1), "robbery"), (2, date(2020, 5, 2), "robbery"),
        (3, date(2020, 5, 1), "burglary"), (3, date(2021, 9, 1), "burglary"),
    )
    return ms, offs


def test_group_by_area_and_sex() -> None:
    ms, offs = _grouping_data()
    report = idiom_report(ms, offs, NO_CUSTODY, TYPES, as_of=AS_OF, group_by=("area", "sex"),
                          n_boot=10)
    got = {(g["key"]["area"], g["key"]["sex"]): (g["members"], g["before"]["offences"],
                                                 g["after"]["offences"], g["before"]["cost"])
           for g in report.groups}
    assert got == {("BANES", "female"): (1, 2, 1, 1300.0), ("BANES", "male"): (1, 2, 0, 10000.0),
                   ("BRISTOL", "male"): (1, 1, 1, 1000.0)}
    assert [g["key"] for g in report.groups][0] == {"area": "BANES", "sex": "female"}
    assert report.totals["before"] == {"offences": 5, "cost": 12300.0}
    assert all(g["suppress"] and g["small_group"] for g in report.groups)


def test_group_by_exit_reason() -> None:
    ms, offs = _grouping_data()
    report = idiom_report(ms, offs, NO_CUSTODY, TYPES, as_of=AS_OF, group_by=("exit_reason",),
                          n_boot=10)
    got = {g["key"]["exit_reason"]: g["members"] for g in report.groups}
    assert got == {"custody_over_2_years": 1, "rehabilitated": 2}


def test_group_by_offence_group_counts_each_membership_in_every_group() -> None:
    ms, offs = _grouping_data()
    report = idiom_report(ms, offs, NO_CUSTODY, TYPES, as_of=AS_OF,
                          group_by=("area", "offence_group"), n_boot=10)
    got = {(g["key"]["area"], g["key"]["offence_group"]):
           (g["members"], g["before"]["offences"], g["after"]["offences"])
           for g in report.groups}
    # Member 1 contributes to both groups; BRISTOL has no violence at all, so no row.
    assert got == {("BANES", "acquisitive"): (2, 3, 0), ("BANES", "violence"): (2, 1, 1),
                   ("BRISTOL", "acquisitive"): (1, 1, 1)}
    assert sum(g["before"]["offences"] for g in report.groups) == \
        report.totals["before"]["offences"]


# ------------------------------------------------------------------ proven counting


def test_proven_counts_convictions_and_cautions_within_the_waiting_period() -> None:
    # after window [2021-06-01, 2022-06-01); proven if the outcome is before 2022-12-01.
    ms = memberships({"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    offs = offences(
        (1, date(2020, 3, 1), "burglary", "conviction", date(2020, 9, 1)),
        (1, date(2020, 3, 2), "burglary", "charge", None),
        (1, date(2020, 3, 3), "burglary", "community_resolution", date(2020, 4, 1)),
        (1, date(2021, 7, 1), "robbery", "conviction", date(2022, 11, 30)),   # in time
        (1, date(2021, 7, 2), "robbery", "caution", date(2021, 8, 1)),
        (1, date(2021, 7, 3), "robbery", "conviction", date(2022, 12, 1)),    # too late
        (1, date(2021, 7, 4), "robbery", "conviction", None),                 # no date
    )
    recorded = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, n_boot=10)
    proven = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, counting="proven",
                          n_boot=10)
    assert (recorded.totals["before"]["offences"], recorded.totals["after"]["offences"]) == (3, 4)
    assert (proven.totals["before"]["offences"], proven.totals["after"]["offences"]) == (1, 2)
    assert proven.totals["after"]["cost"] == 10000.0


def test_proven_needs_the_waiting_period_to_have_passed_and_the_outcome_known() -> None:
    ms = memberships({"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    offs = offences((1, date(2021, 7, 1), "robbery", "conviction", date(2022, 9, 1)))
    # The after window's last day is 31 May 2022; the waiting period's is 30 Nov 2022.
    early = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=date(2022, 11, 29),
                         counting="proven", n_boot=10)
    assert early.excluded["waiting_period_not_ended"] == 1 and early.included == 0
    recorded = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=date(2022, 11, 29), n_boot=10)
    assert recorded.included == 1
    ready = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=date(2022, 11, 30),
                         counting="proven", n_boot=10)
    assert ready.included == 1 and ready.totals["after"]["offences"] == 1
    rows = member_windows(ms, offs, NO_CUSTODY, COSTS, as_of=date(2022, 8, 31),
                          counting="proven")
    assert one(rows)["after_offences"] == 0  # the conviction is not known on 31 August


# ------------------------------------------------------------------ time at liberty


def test_days_at_liberty_and_rates_use_custody() -> None:
    # after window [2021-06-01, 2022-06-01) = 365 days; in custody 1 Jul - 8 Oct (99 days)
    # and again from 1 Mar 2022 with no release (92 days to the window end).
    ms = memberships({"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)},
                     {"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    offs = offences((1, date(2020, 3, 1), "burglary"), (1, date(2020, 4, 1), "burglary"),
                    (1, date(2021, 6, 10), "burglary"),
                    (2, date(2020, 3, 1), "burglary"))
    cust = custody((1, date(2021, 7, 1), date(2021, 10, 8)), (1, date(2022, 3, 1), None),
                   (1, date(2021, 9, 1), date(2021, 9, 5)),  # overlapping record: merged
                   (2, date(2020, 1, 1), date(2023, 1, 1)))  # person 2 held throughout
    rows = member_windows(ms, offs, cust, COSTS, as_of=AS_OF).set_index("membership_id")
    assert rows.loc[1, "after_days"] == 365
    assert rows.loc[1, "after_liberty_days"] == 365 - 99 - 92
    assert rows.loc[2, "after_liberty_days"] == 0
    assert rows.loc[2, "before_days"] == 366  # 2020 is a leap year
    assert rows.loc[2, "before_liberty_days"] == 0
    report = idiom_report(ms, offs, cust, COSTS, as_of=AS_OF, n_boot=10)
    lib = report.totals["at_liberty"]
    assert lib["after"]["days"] == 174
    assert lib["after"]["offences_per_365_days"] == round(365 * 1 / 174, 2)
    assert lib["before"]["days"] == 366
    assert lib["before"]["offences_per_365_days"] == round(365 * 3 / 366, 2)
    assert lib["after"]["members_under_min_days"] == 1
    assert lib["before"]["members_under_min_days"] == 1
    assert any("under 90 days at liberty" in w for w in report.totals["warnings"])


# ------------------------------------------------------------------ intervals and flags


def _cohort(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ms = memberships(*[{"adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)}
                       for _ in range(n)])
    rows = []
    for person in range(1, n + 1):
        rows += [(person, date(2020, 1, 5) + timedelta(days=int(d)), "burglary")
                 for d in rng.integers(0, 300, rng.poisson(6))]
        rows += [(person, date(2021, 6, 5) + timedelta(days=int(d)), "burglary")
                 for d in rng.integers(0, 300, rng.poisson(3))]
    return ms, offences(*rows)


def test_interval_is_reproducible_and_contains_the_estimate() -> None:
    ms, offs = _cohort(40)
    seeded = replace(DEFAULT_RULES, bootstrap_seed=3)
    a = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, rules=seeded)
    b = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, rules=seeded)
    lo, hi = a.totals["interval"]["offence_reduction_pct"]
    assert a.totals["interval"] == b.totals["interval"]
    assert lo < a.totals["offence_reduction_pct"] < hi
    assert 20 < hi - lo < 60  # ~40 members: the interval is wide and honest about it
    assert not a.totals["small_group"] and not a.totals["suppress"]


def test_small_groups_are_flagged_and_single_members_get_no_interval() -> None:
    ms, offs = _cohort(1)
    report = idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF)
    t = report.totals
    assert t["small_group"] and t["suppress"]
    assert t["interval"]["offence_reduction_pct"] is None
    assert "one member: no interval" in t["warnings"]


def test_bad_options_raise_with_the_reason() -> None:
    ms, offs = _cohort(2)
    with pytest.raises(ValueError, match="cannot group by postcode"):
        idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, group_by=("postcode",))
    with pytest.raises(ValueError, match="counting must be one of"):
        idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, counting="charged")
    with pytest.raises(ValueError, match="window_months"):
        idiom_report(ms, offs, NO_CUSTODY, COSTS, as_of=AS_OF, window_months=0)
    with pytest.raises(ValueError, match="lacks column"):
        idiom_report(ms.drop(columns=["sex"]), offs, NO_CUSTODY, COSTS, as_of=AS_OF)


def test_panel_table_keeps_one_decimal_and_adds_a_totals_row() -> None:
    # 78 -> 37 is 52.56 %: 52.6; 693 -> 208 is 69.99 %: 70.0 (one person each, so the
    # suppression threshold is lowered to show the figures).
    ms = memberships({"area": "A", "adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)},
                     {"area": "B", "adopted_on": date(2021, 1, 1), "exited_on": date(2021, 6, 1)})
    rows = [(1, date(2020, 6, 1), "assault")] * 78 + [(1, date(2021, 7, 1), "assault")] * 37
    rows += [(2, date(2020, 6, 1), "assault")] * 693 + [(2, date(2021, 7, 1), "assault")] * 208
    report = idiom_report(ms, offences(*rows), NO_CUSTODY, COSTS, as_of=AS_OF, n_boot=10,
                          rules=replace(DEFAULT_RULES, suppress_below=1))
    table = report_table(report)
    assert list(table["area"]) == ["A", "B", "Totals"]
    assert list(table["reducing_offending_pct"]) == [52.6, 70.0, 68.2]
    assert list(table["withheld"]) == ["", "", ""]
    assert list(table["offences_12m_before"]) == [78, 693, 771]
    assert table["cost_12m_before"].iloc[-1] == 771 * 300.0


# ------------------------------------------------------------------ reference and properties


def _random_case(rng: np.random.Generator, n_members: int = 8, n_offences: int = 60,
                 n_people: int = 5) -> tuple[pd.DataFrame, ...]:
    start = date(2019, 1, 1)
    rows = []
    for _ in range(n_members):
        adopted = start + timedelta(days=int(rng.integers(0, 900)))
        exited = (adopted + timedelta(days=int(rng.integers(0, 400)))
                  if rng.random() < 0.8 else None)
        rows.append({"person_id": int(rng.integers(1, n_people + 1)), "adopted_on": adopted,
                     "exited_on": exited})
    ms = memberships(*rows)
    offs = []
    for _ in range(n_offences):
        day = start - timedelta(days=400) + timedelta(days=int(rng.integers(0, 2000)))
        outcome = str(rng.choice(["conviction", "caution", "charge"]))
        outcome_on = day + timedelta(days=int(rng.integers(0, 600)))
        offs.append((int(rng.integers(1, n_people + 1)), day,
                     str(rng.choice(["burglary", "robbery", "assault", "unknown_kind"])),
                     outcome, outcome_on if rng.random() < 0.8 else None))
    spells = []
    for _ in range(4):
        s = start + timedelta(days=int(rng.integers(-300, 1500)))
        e = s + timedelta(days=int(rng.integers(0, 300))) if rng.random() < 0.8 else None
        spells.append((int(rng.integers(1, n_people + 1)), s, e))
    return ms, offences(*offs), custody(*spells)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("counting", ["recorded", "proven"])
def test_vectorised_windows_agree_with_the_reference(seed: int, counting: str) -> None:
    ms, offs, cust = _random_case(np.random.default_rng(seed))
    as_of = date(2022, 3, 15)
    fast = member_windows(ms, offs, cust, COSTS, as_of=as_of, counting=counting,
                          window_months=6 + seed)
    slow = member_windows_reference(ms, offs, cust, COSTS, as_of=as_of, counting=counting,
                                    window_months=6 + seed)
    pd.testing.assert_frame_equal(fast[list(slow.columns)], slow, check_dtype=False)


_days_st = st.integers(min_value=0, max_value=1500)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), day=_days_st, before=st.integers(1, 11 * 30))
def test_property_outside_offences_change_nothing_and_before_offences_add_one(
        seed: int, day: int, before: int) -> None:
    ms, offs, cust = _random_case(np.random.default_rng(seed), n_members=4, n_offences=20)
    as_of = date(2022, 3, 15)
    base = member_windows(ms, offs, cust, COSTS, as_of=as_of)
    # Person 99 is in no membership: their offences can never change a figure.
    stranger = offences((99, date(2018, 1, 1) + timedelta(days=day), "robbery"))
    with_stranger = member_windows(ms, pd.concat([offs, stranger]), cust, COSTS, as_of=as_of)
    pd.testing.assert_frame_equal(base, with_stranger)
    # An offence before 2016 lies outside every window of every membership.
    ancient = offences((int(ms["person_id"].iloc[0]), date(2016, 1, 1), "robbery"))
    pd.testing.assert_frame_equal(
        base, member_windows(ms, pd.concat([offs, ancient]), cust, COSTS, as_of=as_of))
    # One more offence inside the first membership's before window: +1 there, nothing else.
    first = ms.iloc[0]
    extra_day = first["adopted_on"] - timedelta(days=before)
    extra = offences((int(first["person_id"]), extra_day, "burglary"))
    grown = member_windows(ms, pd.concat([offs, extra]), cust, COSTS, as_of=as_of)
    same_person = (ms["person_id"] == first["person_id"]).to_numpy()
    diff = grown["before_offences"].to_numpy() - base["before_offences"].to_numpy()
    assert (diff >= 0).all()
    assert diff[0] == 1
    assert (diff[~same_person] == 0).all()
    assert (grown["after_offences"].to_numpy()[~same_person]
            == base["after_offences"].to_numpy()[~same_person]).all()
