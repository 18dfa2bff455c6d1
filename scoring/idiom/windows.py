"""Before / during / after windows per membership, and the offences, cost and days at
liberty inside each, by whole-frame merges and masks (no loop over people).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.dates import NAT, add_months_to_day_numbers, day_number, from_day_numbers
from scoring.idiom.inputs import (
    PreparedOffences,
    check_options,
    custody_spells,
    prepare_memberships,
    prepare_offences,
)
from scoring.idiom.rules import DEFAULT_RULES, IdiomRules

WINDOWS = ("before", "during", "after")
EXCLUSION_REASONS = (
    "adopted_after_as_of",       # not yet a member on the report date
    "not_exited",                # still a member on the report date: no after window yet
    "after_window_not_ended",    # left, but the after window runs past the report date
    "waiting_period_not_ended",  # proven counting only: the waiting period has not passed
)


def window_bounds(adopted: np.ndarray, exited: np.ndarray, *, end_of_day: int,
                  window_months: int, waiting_months: int) -> dict[str, np.ndarray]:
    """Window start/end (half-open, clipped to the report date) and proven-outcome limits.

    ``adopted``/``exited`` are int64 day numbers (``exited`` may hold the missing value);
    ``end_of_day`` is ``as_of + 1``. An exit after ``as_of`` is not yet known on the report
    date and treated as no exit. Empty windows have ``start >= end``. ``{w}_limit`` is the
    day by which an outcome must have happened to count as proven (window end + the
    waiting period, ``waiting_months``).
    """
    a = np.asarray(adopted, dtype=np.int64)
    e = np.asarray(exited, dtype=np.int64)
    t = end_of_day
    has_exit = (e != NAT) & (e < t)
    x = np.where(has_exit, e, t)
    after_end = np.where(has_exit,
                         add_months_to_day_numbers(np.where(has_exit, e, 0), window_months), t)
    bounds = {
        "before_start": add_months_to_day_numbers(a, -window_months),
        "before_end": np.minimum(a, t),
        "during_start": a,
        "during_end": np.minimum(x, t),
        "after_start": np.where(has_exit, x, t),
        "after_end": np.minimum(after_end, t),
        "before_limit": add_months_to_day_numbers(a, waiting_months),
        "during_limit": add_months_to_day_numbers(x, waiting_months),
        "after_limit": add_months_to_day_numbers(after_end, waiting_months),
        "after_nominal_end": np.where(has_exit, after_end, NAT),
        "has_exit": has_exit,
    }
    return bounds


def window_counts(units: pd.DataFrame, offences: pd.DataFrame, *, end_of_day: int,
                  proven: bool, by_group: bool) -> pd.DataFrame:
    """Offences and cost per unit and window, by one merge and three masks.

    ``units`` has ``unit``, ``person_id`` and the ``window_bounds`` columns; ``offences`` is a
    ``PreparedOffences.frame``. Returns one row per unit (or per unit and offence group)
    with ``{w}_offences`` and ``{w}_cost``; units without offences are absent.
    """
    cols = ["unit", "person_id"] + [f"{w}_{s}" for w in WINDOWS for s in ("start", "end", "limit")]
    offs = offences[["person_id", "day", "cost", "offence_group", "is_proven", "outcome_day"]]
    joined = units[cols].merge(offs, on="person_id", how="inner")
    day = joined["day"].to_numpy()
    window = np.full(len(joined), -1, dtype=np.int64)
    for i, w in enumerate(WINDOWS):
        inside = (day >= joined[f"{w}_start"].to_numpy()) & (day < joined[f"{w}_end"].to_numpy())
        if proven:
            outcome = joined["outcome_day"].to_numpy()
            inside &= (joined["is_proven"].to_numpy() & (outcome < joined[f"{w}_limit"].to_numpy())
                       & (outcome < end_of_day))
        window[inside] = i
    keep = window >= 0
    kept = pd.DataFrame({"unit": joined["unit"].to_numpy()[keep], "window": window[keep],
                         "cost": joined["cost"].to_numpy()[keep]})
    keys = ["unit"]
    if by_group:
        kept["offence_group"] = joined["offence_group"].to_numpy()[keep]
        keys.append("offence_group")
    grouped = kept.groupby([*keys, "window"]).agg(offences=("cost", "size"), cost=("cost", "sum"))
    wide = grouped.unstack("window", fill_value=0)
    out = pd.DataFrame(index=wide.index)
    for i, w in enumerate(WINDOWS):
        for measure in ("offences", "cost"):
            col = (measure, i)
            values = wide[col].to_numpy() if col in wide.columns else np.zeros(len(out))
            out[f"{w}_{measure}"] = values.astype(np.int64 if measure == "offences" else float)
    return out


def custody_days(units: pd.DataFrame, spells: pd.DataFrame) -> pd.DataFrame:
    """Days in custody inside each window, per unit (units without custody are absent)."""
    cols = ["unit", "person_id"] + [f"{w}_{s}" for w in WINDOWS for s in ("start", "end")]
    joined = units[cols].merge(spells, on="person_id", how="inner")
    out = pd.DataFrame({"unit": joined["unit"].to_numpy()})
    cs, ce = joined["cs"].to_numpy(), joined["ce"].to_numpy()
    for w in WINDOWS:
        lo = np.maximum(joined[f"{w}_start"].to_numpy(), cs)
        hi = np.minimum(joined[f"{w}_end"].to_numpy(), ce)
        out[f"{w}_custody_days"] = np.clip(hi - lo, 0, None)
    return out.groupby("unit").sum()


@dataclass(frozen=True)
class MemberWindows:
    per: pd.DataFrame                 # one row per membership, int day columns
    by_group: pd.DataFrame | None     # (membership row, offence_group) counts, non-zero only
    offences: PreparedOffences


def compute_windows(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                    offence_types: pd.DataFrame | pd.Series, *, as_of: date, window_months: int,
                    counting: str, by_offence_group: bool,
                    rules: IdiomRules = DEFAULT_RULES) -> MemberWindows:
    check_options(window_months=window_months, counting=counting, rules=rules)
    per = prepare_memberships(memberships)
    prepared = prepare_offences(offences, offence_types, proven_outcomes=rules.proven_outcomes)
    t = day_number(as_of) + 1
    bounds = window_bounds(per["adopted"].to_numpy(), per["exited"].to_numpy(), end_of_day=t,
                           window_months=window_months, waiting_months=rules.waiting_months)
    for name, values in bounds.items():
        per[name] = values
    has_exit = bounds["has_exit"]
    after_end = bounds["after_nominal_end"]
    waiting_end = np.where(
        has_exit, add_months_to_day_numbers(np.where(has_exit, after_end, 0), rules.waiting_months),
        NAT)
    conditions = [
        per["adopted"].to_numpy() >= t,
        ~has_exit,
        has_exit & (after_end > t),
        has_exit & (waiting_end > t) & (counting == "proven"),
    ]
    reason = np.select(conditions, list(EXCLUSION_REASONS), default="")
    per["excluded_reason"] = pd.Series(reason, dtype=object).where(reason != "", None).to_numpy()
    per["included"] = reason == ""
    per["unit"] = np.arange(len(per))

    counts = window_counts(per, prepared.frame, end_of_day=t, proven=counting == "proven",
                           by_group=False)
    counts = counts.reindex(per["unit"], fill_value=0)
    for col in counts.columns:
        per[col] = counts[col].to_numpy()
    spells = custody_spells(custody, end_of_day=t)
    held = custody_days(per, spells).reindex(per["unit"], fill_value=0)
    for w in WINDOWS:
        days = np.clip(per[f"{w}_end"].to_numpy() - per[f"{w}_start"].to_numpy(), 0, None)
        per[f"{w}_days"] = days
        col = f"{w}_custody_days"
        in_custody = held[col].to_numpy() if col in held.columns else np.zeros(len(per), np.int64)
        per[f"{w}_liberty_days"] = np.clip(days - in_custody, 0, None)

    by_group = None
    if by_offence_group:
        by_group = window_counts(per, prepared.frame, end_of_day=t,
                                 proven=counting == "proven", by_group=True).reset_index()
    return MemberWindows(per=per, by_group=by_group, offences=prepared)


_PUBLIC_DATES = ("before_start", "before_end", "during_start", "during_end", "after_start",
                 "after_end")


def member_windows(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                   offence_types: pd.DataFrame | pd.Series, *, as_of: date,
                   window_months: int | None = None, counting: str = "recorded",
                   rules: IdiomRules = DEFAULT_RULES) -> pd.DataFrame:
    """Per membership: the three windows, inclusion, offences, cost and days at liberty.

    Parameters
    ----------
    memberships : DataFrame, shape (m, 9)
        ``membership_id, person_id, area, cohort, stream, sex, adopted_on, exited_on,
        exit_reason`` (``exited_on`` null while a member).
    offences : DataFrame, shape (n, 5)
        ``person_id, offence_date, offence_type, outcome, outcome_date``.
    custody : DataFrame, shape (c, 3)
        ``person_id, start_on, end_on`` (``end_on`` null while in custody).
    offence_types : DataFrame indexed by offence_type with ``unit_cost_gbp`` (and optionally
        ``offence_group``, ``harm_weight``), or a Series of unit costs.
    as_of : date
        Report date: offences up to and including it count.
    window_months : int
        Length of the before and after windows (default: ``rules.window_months``).
    counting : {"recorded", "proven"}
    rules : IdiomRules
        The waiting period and proven outcomes (``idiom.yaml``).

    Returns
    -------
    DataFrame, shape (m, ...)
        Membership columns, window starts/ends (half-open, clipped to ``as_of``; an empty
        window has start == end), ``included``, ``excluded_reason``, and per window
        ``{w}_offences``, ``{w}_cost``, ``{w}_days``, ``{w}_liberty_days``.

    Examples
    --------
    >>> ms = pd.DataFrame({"membership_id": [1], "person_id": [7], "area": ["BANES"],
    ...     "cohort": ["fixed"], "stream": ["nsac"], "sex": ["male"],
    ...     "adopted_on": [date(2021, 1, 31)], "exited_on": [date(2021, 7, 1)],
    ...     "exit_reason": ["rehabilitated"]})
    >>> offs = pd.DataFrame({"person_id": [7, 7], "offence_type": ["burglary", "burglary"],
    ...     "offence_date": [date(2020, 3, 1), date(2022, 6, 30)], "outcome": ["charge"] * 2,
    ...     "outcome_date": [None, None]})
    >>> custody = pd.DataFrame({"person_id": [], "start_on": [], "end_on": []})
    >>> row = member_windows(ms, offs, custody, pd.Series({"burglary": 100.0}),
    ...                      as_of=date(2023, 1, 1)).iloc[0]
    >>> str(row["before_start"].date()), int(row["before_offences"]), int(row["after_offences"])
    ('2020-01-31', 1, 1)
    """
    result = compute_windows(memberships, offences, custody, offence_types, as_of=as_of,
                             window_months=window_months or rules.window_months,
                             counting=counting, by_offence_group=False, rules=rules)
    return public_members(result.per)


def public_members(per: pd.DataFrame) -> pd.DataFrame:
    cols = ["membership_id", "person_id", "area", "cohort", "stream", "sex", "exit_reason",
            "included", "excluded_reason", *_PUBLIC_DATES]
    cols += [f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost", "days", "liberty_days")]
    out = per[cols].copy()
    out.insert(7, "adopted_on", from_day_numbers(per["adopted"].to_numpy()))
    out.insert(8, "exited_on", from_day_numbers(per["exited"].to_numpy()))
    for col in _PUBLIC_DATES:
        out[col] = from_day_numbers(per[col].to_numpy())
    return out
