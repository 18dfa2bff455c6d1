"""The panel's table is safe to publish: a group too small to show never has a figure in
it, and no withheld group can be worked out from the totals by subtraction."""

from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.idiom import idiom_report, report_table, withheld_groups
from tests.scoring.builders import COSTS, NO_CUSTODY

AREAS = ("A", "B", "C", "D", "E")
FIGURES = ("members", "cost_12m_before", "cost_12m_after", "offences_12m_before",
           "offences_12m_after", "reducing_offending_pct", "cost_saving")


def _cohort(sizes: list[int], offending: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, offences, pid = [], [], 0
    for area, size in zip(AREAS, sizes, strict=False):
        for _ in range(size):
            pid += 1
            rows.append({"membership_id": pid, "person_id": pid, "area": area,
                         "cohort": "fixed", "stream": "nsac", "sex": "male",
                         "adopted_on": date(2021, 1, 31), "exited_on": date(2021, 7, 31),
                         "exit_reason": "rehabilitated"})
            for k in range(offending[pid % len(offending)]):
                offences.append({"person_id": pid, "offence_date": date(2020, 3, 1 + k),
                                 "offence_type": "burglary_residential", "outcome": "charge",
                                 "outcome_date": None})
    offence_frame = pd.DataFrame(offences, columns=["person_id", "offence_date", "offence_type",
                                                    "outcome", "outcome_date"])
    return pd.DataFrame(rows), offence_frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(0, 9), min_size=1, max_size=5),
       offending=st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_no_withheld_figure_is_printed_or_derivable(sizes: list[int],
                                                     offending: list[int]) -> None:
    members, offences = _cohort(sizes, offending)
    if members.empty:
        return
    report = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=date(2023, 1, 1),
                          n_boot=5)
    table = report_table(report)
    groups, totals = table.iloc[:-1], table.iloc[-1]
    withheld = withheld_groups(report)
    for pos, group in enumerate(report.groups):
        row = groups.iloc[pos]
        if group["suppress"]:
            assert pos in withheld
        if pos in withheld:
            assert row["withheld"] and all(pd.isna(row[c]) for c in FIGURES)
        else:
            assert not row["withheld"] and row["members"] == group["members"]
    if report.totals["suppress"]:
        assert totals["withheld"] and all(pd.isna(totals[c]) for c in FIGURES)
    elif withheld:
        # Totals minus every shown group = the withheld groups together: never too few.
        hidden = sum(report.groups[i]["people"] for i in withheld)
        assert hidden >= report.suppress_below or len(withheld) == len(report.groups)


def test_a_single_small_group_takes_a_second_one_with_it() -> None:
    members, offences = _cohort([2, 30, 40], [1, 2])
    report = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=date(2023, 1, 1),
                          n_boot=5)
    table = report_table(report).set_index("area")
    assert table.loc["A", "withheld"] == "fewer than 5 people"
    assert table.loc["B", "withheld"].startswith("withheld so a smaller group")
    assert table.loc["C", "withheld"] == "" and table.loc["C", "members"] == 40
    assert table.loc["Totals", "members"] == 72
    assert table["reducing_offending_pct"].dropna().map(lambda v: round(v, 1) == v).all()
