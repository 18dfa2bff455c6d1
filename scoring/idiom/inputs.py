"""The IDIOM report's inputs, checked and normalised: memberships, offences with their
cost, harm and group, and custody spells merged per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.dates import NAT, nat_day_numbers
from scoring.idiom.rules import COUNTING, DEFAULT_RULES, IdiomRules
from scoring.validation import check_frame, check_unique

GROUP_KEYS = ("area", "cohort", "stream", "sex", "offence_group", "exit_reason")
MEMBERSHIP_COLUMNS = ("membership_id", "person_id", "area", "cohort", "stream", "sex",
                      "adopted_on", "exited_on", "exit_reason")
OFFENCE_COLUMNS = ("person_id", "offence_date", "offence_type", "outcome", "outcome_date")
CUSTODY_COLUMNS = ("person_id", "start_on", "end_on")
UNKNOWN_GROUP = "unknown"


def check_options(*, window_months: int, counting: str, group_by: Sequence[str] = (),
                  rules: IdiomRules = DEFAULT_RULES) -> None:
    if not isinstance(window_months, int | np.integer):
        raise ValueError("window_months must be a whole number")
    rules.check_window(int(window_months))
    if counting not in COUNTING:
        raise ValueError(f"counting must be one of {', '.join(COUNTING)}")
    unknown = [k for k in group_by if k not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; "
                         f"choose from {', '.join(GROUP_KEYS)}")
    if len(set(group_by)) != len(group_by):
        raise ValueError("group_by names a key twice")


def _offence_table(offence_types: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Normalise the catalogue argument: a DataFrame with unit_cost_gbp, offence_group, harm."""
    if isinstance(offence_types, pd.Series):
        table = offence_types.rename("unit_cost_gbp").to_frame()
    else:
        check_frame(offence_types, ["unit_cost_gbp"], "offence_types")
        table = offence_types
    out = pd.DataFrame(index=table.index.astype(str))
    out["unit_cost_gbp"] = pd.to_numeric(table["unit_cost_gbp"]).to_numpy(dtype=float)
    out["offence_group"] = (table["offence_group"].astype(str).to_numpy()
                            if "offence_group" in table else UNKNOWN_GROUP)
    out["harm_weight"] = (pd.to_numeric(table["harm_weight"]).to_numpy(dtype=float)
                          if "harm_weight" in table else 0.0)
    return out


@dataclass(frozen=True)
class PreparedOffences:
    """Offences as arrays the window code uses: one row per offence."""

    frame: pd.DataFrame  # person_id, day, cost, harm, offence_group, is_proven, outcome_day
    unknown_types: dict[str, int]


def prepare_offences(offences: pd.DataFrame, offence_types: pd.DataFrame | pd.Series, *,
                     proven_outcomes: frozenset[str] = DEFAULT_RULES.proven_outcomes,
                     ) -> PreparedOffences:
    """Attach unit cost, harm and offence group; flag proven outcomes (``proven_outcomes``,
    from ``idiom.yaml``).

    An offence type missing from the cost table costs 0 and is reported in
    ``unknown_types`` (the report turns that into a warning rather than failing).
    """
    check_frame(offences, OFFENCE_COLUMNS, "offences")
    table = _offence_table(offence_types)
    types = offences["offence_type"].astype(str).to_numpy()
    pos = table.index.get_indexer(types)
    known = pos >= 0
    safe = np.where(known, pos, 0)
    cost = np.where(known, table["unit_cost_gbp"].to_numpy()[safe], 0.0) if len(table) else \
        np.zeros(len(types))
    harm = np.where(known, table["harm_weight"].to_numpy()[safe], 0.0)
    group = np.where(known, table["offence_group"].to_numpy(dtype=object)[safe], UNKNOWN_GROUP)
    outcome_day = nat_day_numbers(offences["outcome_date"])
    outcome = offences["outcome"].astype(str).to_numpy()
    is_proven = np.isin(outcome, sorted(proven_outcomes)) & (outcome_day != NAT)
    frame = pd.DataFrame({
        "person_id": offences["person_id"].to_numpy(dtype=np.int64),
        "day": nat_day_numbers(offences["offence_date"]),
        "cost": cost.astype(float),
        "harm": harm.astype(float),
        "offence_group": group.astype(object),
        "is_proven": is_proven,
        "outcome_day": outcome_day,
    })
    if (frame["day"] == NAT).any():
        raise ValueError("every offence needs an offence_date")
    unknown = pd.Series(types[~known]).value_counts()
    return PreparedOffences(frame=frame,
                            unknown_types={str(k): int(v) for k, v in unknown.items()})


def custody_spells(custody: pd.DataFrame, *, end_of_day: int) -> pd.DataFrame:
    """Custody spells as half-open [start, end) day ranges, overlaps merged per person.

    The release day counts as at liberty. An open spell (no ``end_on``), or one ending
    after ``as_of``, runs to the end of ``as_of``; spells starting after ``as_of`` are unknown
    on the report date and ignored.
    """
    check_frame(custody, CUSTODY_COLUMNS, "custody")
    start = nat_day_numbers(custody["start_on"])
    end = nat_day_numbers(custody["end_on"])
    end = np.where(end == NAT, end_of_day, np.minimum(end, end_of_day))
    frame = pd.DataFrame({"person_id": custody["person_id"].to_numpy(dtype=np.int64),
                          "cs": start, "ce": end})
    frame = frame[(frame["cs"] != NAT) & (frame["cs"] < end_of_day) & (frame["ce"] > frame["cs"])]
    if frame.empty:
        return frame
    frame = frame.sort_values(["person_id", "cs"], kind="stable")
    reach = frame.groupby("person_id")["ce"].cummax()
    prev_reach = reach.groupby(frame["person_id"]).shift(1)
    new_block = prev_reach.isna() | (frame["cs"] > prev_reach)
    block = new_block.to_numpy().cumsum()
    merged = frame.groupby(block).agg(person_id=("person_id", "first"), cs=("cs", "min"),
                                      ce=("ce", "max"))
    return merged.reset_index(drop=True)


def prepare_memberships(memberships: pd.DataFrame) -> pd.DataFrame:
    check_frame(memberships, MEMBERSHIP_COLUMNS, "memberships")
    m = memberships.reset_index(drop=True)
    check_unique(m["membership_id"], "membership_id must be unique")
    out = pd.DataFrame({
        "membership_id": m["membership_id"].to_numpy(),
        "person_id": m["person_id"].to_numpy(dtype=np.int64),
    })
    for key in ("area", "cohort", "stream", "sex", "exit_reason"):
        out[key] = m[key].astype(object).where(m[key].notna(), None).to_numpy()
    out["adopted"] = nat_day_numbers(m["adopted_on"])
    out["exited"] = nat_day_numbers(m["exited_on"])
    if (out["adopted"] == NAT).any():
        raise ValueError("every membership needs adopted_on")
    ex = out["exited"].to_numpy()
    if ((ex != NAT) & (ex < out["adopted"].to_numpy())).any():
        raise ValueError("exited_on cannot be before adopted_on")
    return out
