"""The IDIOM before/after report over groups of memberships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.idiom.comparison import match_comparison
from scoring.idiom.groups import GroupColumns, GroupSettings, summarise_group
from scoring.idiom.inputs import check_options
from scoring.idiom.rules import DEFAULT_RULES, IdiomRules
from scoring.idiom.windows import EXCLUSION_REASONS, WINDOWS, compute_windows, public_members


@dataclass(frozen=True)
class IdiomReport:
    """An IDIOM report, ready to serialise.

    ``groups`` and ``totals`` are plain dicts in the API's shape (see `idiom_report`);
    ``members`` is the per-membership table behind them (not person-level output: the
    service does not return it).
    """

    as_of: date
    window_months: int
    counting: str
    group_by: tuple[str, ...]
    included: int
    excluded: dict[str, int]
    groups: list[dict[str, Any]]
    totals: dict[str, Any]
    warnings: list[str]
    comparison: dict[str, Any] | None
    members: pd.DataFrame = field(repr=False)
    rules_version: str = ""
    suppress_below: int = 5


def idiom_report(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                 offence_types: pd.DataFrame | pd.Series, *, as_of: date,
                 window_months: int | None = None, counting: str | None = None,
                 group_by: Sequence[str] = ("area",), population: pd.DataFrame | None = None,
                 rules: IdiomRules = DEFAULT_RULES, n_boot: int | None = None) -> IdiomReport:
    """The IDIOM before/after report, with time at liberty, intervals and a comparison group.

    Parameters
    ----------
    memberships, offences, custody, offence_types, as_of, window_months, counting
        As in `member_windows`. Filter memberships (cohort, area, dates) before calling.
    group_by : sequence of {"area", "cohort", "stream", "sex", "offence_group",
        "exit_reason"}
        With ``offence_group`` each membership contributes to every offence group (its
        offences of that group); a group row appears when it has any offence.
    population : DataFrame, optional
        ``person_id, date_of_birth, sex, deceased_on, adopted`` for everyone who could be a
        comparator (``adopted``: ever a member by ``as_of``); ``offences`` must then hold
        their offences too. When given, a matched comparison group is built
        (`scoring.comparison.match_comparison`).
    rules : IdiomRules
        ``idiom.yaml``: the default window and counting, the waiting period and proven
        outcomes, the small-group, suppression and days-at-liberty thresholds, the
        bootstrap (resamples, seed: the same data give the same interval, level) and the
        comparison's matching.
    n_boot : int, optional
        Fewer bootstrap resamples than the rules say (tests use it to run fast).

    Returns
    -------
    IdiomReport
        Each group (and ``totals``): ``key``, ``members``, ``people``, ``before``/``during``/
        ``after`` ``{"offences", "cost"}``, ``offence_reduction_pct``,
        ``cost_reduction_pct`` (1 dp; None when the before figure is 0), ``cost_saving``,
        ``at_liberty``, ``interval``, ``small_group``, ``suppress``, ``warnings`` and
        ``comparison`` (None without a population). Groups are sorted by key.

    Raises
    ------
    ValueError
        On a missing column, an unknown group key or counting rule, or a bad window.
    """
    group_by = tuple(group_by)
    window_months = rules.window_months if window_months is None else window_months
    counting = rules.counting if counting is None else counting
    n_boot = rules.bootstrap_resamples if n_boot is None else n_boot
    check_options(window_months=window_months, counting=counting, group_by=group_by,
                  rules=rules)
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    by_group = "offence_group" in group_by
    result = compute_windows(memberships, offences, custody, offence_types, as_of=as_of,
                             window_months=window_months, counting=counting,
                             by_offence_group=by_group, rules=rules)
    per = result.per
    included = per[per["included"].to_numpy(dtype=bool)].reset_index(drop=True)
    reasons = per["excluded_reason"].value_counts()
    excluded = {"total": int(len(per) - len(included))}
    excluded.update({r: int(reasons.get(r, 0)) for r in EXCLUSION_REASONS})

    comparison_summary = None
    comp_group = None
    if population is not None:
        matching = match_comparison(included, population, result.offences, as_of=as_of,
                                    window_months=window_months, counting=counting,
                                    by_offence_group=by_group, rules=rules)
        comparison_summary = matching.summary
        comp = matching.per_member.reindex(included["unit"])
        included["matched"] = comp["matched"].fillna(False).to_numpy(dtype=bool)
        for col in ("comp_before_offences", "comp_after_offences"):
            included[col] = comp[col].fillna(0.0).to_numpy(dtype=float)
        comp_group = matching.per_member_group

    units = included
    if by_group:
        units = _expand_by_offence_group(included, result.by_group, comp_group)

    settings = GroupSettings(n_boot=n_boot, level=rules.bootstrap_level,
                             small_group=rules.small_group, suppress_below=rules.suppress_below,
                             min_liberty_days=rules.min_liberty_days)
    rng = np.random.default_rng(rules.bootstrap_seed)
    with_comparison = population is not None
    groups = []
    if group_by and len(units):
        columns = GroupColumns.of(units)
        for label, positions in _group_positions(units, group_by):
            rows = columns.rows(positions)
            if by_group and not any(rows[f"{w}_offences"].sum() for w in WINDOWS):
                continue
            key = dict(zip(group_by, label, strict=True))
            groups.append(summarise_group(rows, key, rng, settings,
                                          with_comparison=with_comparison))
    totals = summarise_group(GroupColumns.of(included), {}, rng, settings,
                             with_comparison=with_comparison)

    warnings = _report_warnings(excluded, result.offences.unknown_types, included, groups,
                                min_liberty_days=rules.min_liberty_days,
                                suppress_below=rules.suppress_below,
                                comparison_summary=comparison_summary,
                                with_comparison=with_comparison)
    return IdiomReport(as_of=as_of, window_months=window_months, counting=counting,
                       group_by=group_by, included=int(len(included)), excluded=excluded,
                       groups=groups, totals=totals, warnings=warnings,
                       comparison=comparison_summary, members=public_members(per),
                       rules_version=rules.version, suppress_below=rules.suppress_below)


def _report_warnings(excluded: dict[str, int], unknown: dict[str, int], included: pd.DataFrame,
                     groups: list[dict[str, Any]], *, min_liberty_days: int, suppress_below: int,
                     comparison_summary: dict[str, Any] | None,
                     with_comparison: bool) -> list[str]:
    """What a reader of the whole report must know before quoting it."""
    warnings = []
    if excluded["total"]:
        parts = [f"{n} {r.replace('_', ' ')}" for r, n in excluded.items()
                 if r != "total" and n]
        warnings.append(f"{excluded['total']} membership(s) left out of the before/after "
                        f"comparison: {', '.join(parts)}")
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items()))
        warnings.append(f"offence types not in the cost table were costed at 0: {listed}")
    low = int((included["before_liberty_days"] < min_liberty_days).sum()
              + (included["after_liberty_days"] < min_liberty_days).sum())
    if low:
        warnings.append(f"{low} member window(s) had under {min_liberty_days} days at liberty: "
                        "compare offences per 365 days at liberty, not raw counts")
    if not with_comparison:
        warnings.append("no comparison group: people are often adopted at a peak of offending, "
                        "so part of any before/after fall is regression to the mean "
                        "(ask for comparison=true)")
    if any(g["suppress"] for g in groups):
        warnings.append(f"some groups have fewer than {suppress_below} people: marked "
                        "suppress=true")
    if comparison_summary is not None:
        warnings.extend(comparison_summary.get("warnings", []))
    return warnings


def _group_positions(units: pd.DataFrame, group_by: Sequence[str]
                     ) -> list[tuple[tuple[str | None, ...], np.ndarray]]:
    """Row positions of each group, keys as strings (None for missing), sorted by key."""
    indices = units.groupby(list(group_by), dropna=False, sort=False).indices
    items = []
    for raw, positions in indices.items():
        label = raw if isinstance(raw, tuple) else (raw,)
        clean = tuple(None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in label)
        items.append((clean, np.asarray(positions)))
    items.sort(key=lambda item: tuple("" if v is None else v for v in item[0]))
    return items


def _expand_by_offence_group(included: pd.DataFrame, by_group: pd.DataFrame | None,
                             comp_group: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (included membership, offence group seen among them), counts of that group.

    Every membership appears under every group (with zeros where it had none), so a group's
    members, days at liberty and rates cover the whole cohort, not only those who offended.
    """
    counts = by_group if by_group is not None else pd.DataFrame(columns=["unit", "offence_group"])
    counts = counts[counts["unit"].isin(included["unit"])]
    names = sorted(counts["offence_group"].astype(str).unique())
    if not names:
        return included.iloc[0:0].assign(offence_group=pd.Series(dtype=object))
    measure_cols = [f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost")]
    base = included.drop(columns=measure_cols)
    grid = base.merge(pd.DataFrame({"offence_group": names}), how="cross")
    grid = grid.merge(counts, on=["unit", "offence_group"], how="left")
    for col in measure_cols:
        kind = np.int64 if col.endswith("offences") else float
        grid[col] = grid[col].fillna(0).to_numpy(dtype=kind)
    if comp_group is not None:
        grid = grid.drop(columns=["comp_before_offences", "comp_after_offences"])
        grid = grid.merge(comp_group, on=["unit", "offence_group"], how="left")
        for col in ("comp_before_offences", "comp_after_offences"):
            grid[col] = grid[col].fillna(0.0).to_numpy(dtype=float)
    return grid
