"""One report group's figures: counts, cost, days at liberty, intervals, warnings and the
comparison group's net change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.idiom.stats import (
    bootstrap_sums,
    net_reduction_pct,
    percentile_interval,
    rate_per_365,
    reduction_pct,
    reduction_samples,
)
from scoring.idiom.windows import WINDOWS


@dataclass(frozen=True)
class GroupSettings:
    n_boot: int
    level: float
    small_group: int
    suppress_below: int
    min_liberty_days: int


class GroupColumns:
    """A group's rows as numpy columns: indexing a DataFrame once per group is what made
    reports with many groups slow, so the report takes the arrays out once."""

    NAMES = ("person_id", "matched", "comp_before_offences", "comp_after_offences",
             *(f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost", "days",
                                                     "liberty_days")))

    def __init__(self, arrays: dict[str, np.ndarray], idx: np.ndarray | None = None) -> None:
        self._arrays = arrays
        self._idx = idx
        self._n = len(arrays["person_id"]) if idx is None else len(idx)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> GroupColumns:
        return cls({c: frame[c].to_numpy() for c in cls.NAMES if c in frame.columns})

    def rows(self, idx: np.ndarray) -> GroupColumns:
        return GroupColumns(self._arrays, idx if self._idx is None else self._idx[idx])

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._arrays[name]
        return values if self._idx is None else values[self._idx]


def summarise_group(rows: GroupColumns, key: dict[str, Any], rng: np.random.Generator,
                    s: GroupSettings, *, with_comparison: bool) -> dict[str, Any]:
    """One group's figures (rows: one per membership, or membership x offence group)."""
    members = len(rows)
    people = len(np.unique(rows["person_id"]))
    out: dict[str, Any] = {"key": key, "members": members, "people": people}
    totals = {}
    for w in WINDOWS:
        n = int(rows[f"{w}_offences"].sum())
        cost = float(rows[f"{w}_cost"].sum())
        totals[w] = (n, cost)
        out[w] = {"offences": n, "cost": round(cost, 2)}
    (nb, cb), (na, ca) = totals["before"], totals["after"]
    out["offence_reduction_pct"] = reduction_pct(nb, na)
    out["cost_reduction_pct"] = reduction_pct(cb, ca)
    out["cost_saving"] = round(cb - ca, 2)

    liberty: dict[str, Any] = {}
    for w in WINDOWS:
        days = int(rows[f"{w}_liberty_days"].sum())
        liberty[w] = {
            "window_days": int(rows[f"{w}_days"].sum()),
            "days": days,
            "offences_per_365_days": rate_per_365(totals[w][0], days),
            "members_under_min_days": int((rows[f"{w}_liberty_days"]
                                           < s.min_liberty_days).sum()),
        }
    rb, ra = liberty["before"]["offences_per_365_days"], liberty["after"]["offences_per_365_days"]
    liberty["offence_rate_reduction_pct"] = (None if rb is None or ra is None
                                             else reduction_pct(rb, ra))
    liberty["min_days"] = s.min_liberty_days
    out["at_liberty"] = liberty

    interval: dict[str, Any] = {
        "level": s.level,
        "method": f"percentile bootstrap over members ({s.n_boot} resamples)",
        "offence_reduction_pct": None, "cost_reduction_pct": None,
    }
    if members >= 2:
        b_n, a_n, b_c, a_c = bootstrap_sums(
            [rows[c].astype(float) for c in
             ("before_offences", "after_offences", "before_cost", "after_cost")], rng, s.n_boot)
        if nb > 0:
            interval["offence_reduction_pct"] = percentile_interval(
                reduction_samples(b_n, a_n), s.level)
        if cb > 0:
            interval["cost_reduction_pct"] = percentile_interval(
                reduction_samples(b_c, a_c), s.level)
    out["interval"] = interval

    out["small_group"] = members < s.small_group
    out["suppress"] = people < s.suppress_below
    warnings = []
    if members == 0:
        out["warnings"] = ["no memberships in the before/after comparison"]
        out["comparison"] = comparison_for_group(rows, rng, s) if with_comparison else None
        return out
    if out["small_group"]:
        warnings.append(f"fewer than {s.small_group} members: the reduction is uncertain "
                        "(see interval)")
    if out["suppress"]:
        warnings.append(f"fewer than {s.suppress_below} people: suppress before publication")
    if members == 1:
        warnings.append("one member: no interval")
    if nb == 0:
        warnings.append("no offences before: reduction undefined")
    low_after = liberty["after"]["members_under_min_days"]
    if low_after:
        warnings.append(f"{low_after} member(s) had under {s.min_liberty_days} days at "
                        "liberty after leaving: their low 'after' count reflects custody")
    out["warnings"] = warnings
    out["comparison"] = comparison_for_group(rows, rng, s) if with_comparison else None
    return out


def comparison_for_group(rows: GroupColumns, rng: np.random.Generator,
                         s: GroupSettings) -> dict[str, Any]:
    """Cohort change net of its matched comparison group's change, for one group."""
    matched = rows.rows(np.flatnonzero(rows["matched"].astype(bool)))
    mb = matched["before_offences"].astype(float)
    ma = matched["after_offences"].astype(float)
    cb = matched["comp_before_offences"].astype(float)
    ca = matched["comp_after_offences"].astype(float)
    out: dict[str, Any] = {
        "members_matched": len(matched),
        "cohort_before": int(mb.sum()), "cohort_after": int(ma.sum()),
        "comparison_before": round(float(cb.sum()), 2),
        "comparison_after": round(float(ca.sum()), 2),
        "cohort_reduction_pct": reduction_pct(mb.sum(), ma.sum()),
        "comparison_reduction_pct": reduction_pct(cb.sum(), ca.sum()),
        "net_reduction_pct": net_reduction_pct(mb.sum(), ma.sum(), cb.sum(), ca.sum()),
        "net_change_per_member": (round(float(((ma - mb) - (ca - cb)).mean()), 3)
                                  if len(matched) else None),
        "interval": None, "net_change_interval": None,
    }
    if len(matched) >= 2:
        sb, sa, scb, sca = bootstrap_sums([mb, ma, cb, ca], rng, s.n_boot)
        with np.errstate(divide="ignore", invalid="ignore"):
            net = np.where((sb > 0) & (scb > 0) & (sca > 0),
                           100.0 * (1.0 - (sa / sb) / (sca / scb)), np.nan)
        out["interval"] = percentile_interval(net, s.level)
        out["net_change_interval"] = percentile_interval(
            ((sa - sb) - (sca - scb)) / len(matched), s.level, digits=3)
    return out
