"""The panel's table (the CSV and XLSX exports): one row per report group and a totals row,
safe to publish: figures of groups too small to show are withheld, and so is a second
group's where the first could be worked out from the totals by subtraction."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scoring.idiom.report import IdiomReport

# What a withheld cell says, and why, in the table's `withheld` column.
WITHHELD_SMALL = "fewer than {n} people"
WITHHELD_COMPLEMENT = "withheld so a smaller group cannot be worked out from the totals"


def _pct(before: float, after: float) -> float | None:
    """Reduction in per cent to one decimal, from the counts (never rounded twice)."""
    if before <= 0:
        return None
    return round(100.0 * (before - after) / before, 1)


def withheld_groups(report: IdiomReport) -> dict[int, str]:
    """Positions in ``report.groups`` whose figures must not be published, and why.

    A group under the threshold is withheld. If what is withheld adds up to fewer people
    than the threshold while the totals are shown, subtracting the shown groups from the
    totals would reveal it: the smallest shown groups are withheld too until it does not.
    With ``offence_group`` a member counts in several groups, so the subtraction is only
    approximate, and the rule errs on the safe side.
    """
    n = report.suppress_below
    withheld = {i: WITHHELD_SMALL.format(n=n) for i, g in enumerate(report.groups)
                if g["suppress"]}
    if not withheld or report.totals["suppress"]:
        return withheld
    shown = sorted((g["people"], i) for i, g in enumerate(report.groups) if i not in withheld)
    while shown and sum(report.groups[i]["people"] for i in withheld) < n:
        _, i = shown.pop(0)
        withheld[i] = WITHHELD_COMPLEMENT
    return withheld


def report_table(report: IdiomReport) -> pd.DataFrame:
    """The panel's table: one row per group and a totals row, publication-safe.

    Columns: the group keys, members, cost and offences in the before and after windows,
    the offence reduction in per cent (one decimal), cost saving, the interval, the
    at-liberty rates, the small-group marker, and ``withheld``: empty, or why the row's
    figures are blank.
    """
    w = report.window_months
    withheld = withheld_groups(report)
    rows = []
    for pos, g in enumerate([*report.groups, report.totals]):
        is_total = pos == len(report.groups)
        row: dict[str, Any] = {}
        if is_total:
            for i, k in enumerate(report.group_by or ("group",)):
                row[k] = "Totals" if i == 0 else ""
        else:
            row.update(g["key"])
        interval = g["interval"]["offence_reduction_pct"] or [None, None]
        tail = round(g["interval"]["level"] * 100)
        why = (WITHHELD_SMALL.format(n=report.suppress_below) if is_total and g["suppress"]
               else withheld.get(pos, ""))
        figures: dict[str, Any] = {
            f"cost_{w}m_before": g["before"]["cost"],
            f"cost_{w}m_after": g["after"]["cost"],
            f"offences_{w}m_before": g["before"]["offences"],
            f"offences_{w}m_after": g["after"]["offences"],
            "reducing_offending_pct": _pct(g["before"]["offences"], g["after"]["offences"]),
            "cost_saving": g["cost_saving"],
            f"reduction_{tail}_low": interval[0],
            f"reduction_{tail}_high": interval[1],
            "offences_per_365_at_liberty_before":
                g["at_liberty"]["before"]["offences_per_365_days"],
            "offences_per_365_at_liberty_after":
                g["at_liberty"]["after"]["offences_per_365_days"],
        }
        if g.get("comparison") is not None:
            figures["net_of_comparison_pct"] = g["comparison"]["net_reduction_pct"]
        if why:
            figures = dict.fromkeys(figures)
        row.update({"members": None if why else g["members"], **figures,
                    "small_group": g["small_group"], "withheld": why})
        rows.append(row)
    table = pd.DataFrame(rows)
    # Whole numbers stay whole even with blanks in the column.
    for column in ("members", f"offences_{w}m_before", f"offences_{w}m_after"):
        table[column] = pd.array(table[column].to_numpy(dtype=object), dtype="Int64")
    return table


def report_notes(report: IdiomReport) -> list[tuple[str, str]]:
    """What the table was computed with, and every warning, as (label, text) lines for the
    export's notes (CSV comment lines, the XLSX Notes sheet)."""
    notes = [("as_of", str(report.as_of)), ("window_months", str(report.window_months)),
             ("counting", report.counting), ("rules_version", report.rules_version),
             ("suppression", f"figures withheld for groups of fewer than "
                             f"{report.suppress_below} people")]
    notes += [("warning", text) for text in report.warnings]
    for g in report.groups:
        notes += [("warning", f"{_key_text(g['key'])}: {text}") for text in g["warnings"]
                  if not g["suppress"]]
    return notes


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in key.items()) or "all"

