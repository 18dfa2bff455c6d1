"""The panel's table (the CSV export): one row per report group and a totals row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.idiom.report import IdiomReport


def _whole_pct(before: float, after: float) -> int | None:
    """Reduction in whole per cent, halves rounded up (as a spreadsheet shows it), computed
    from the counts so a 1-dp figure is never rounded twice."""
    if before <= 0:
        return None
    return int(np.floor(100.0 * (before - after) / before + 0.5))


def report_table(report: IdiomReport) -> pd.DataFrame:
    """The panel's table: one row per group and a totals row (the CSV export).

    Columns: the group keys, members, cost and offences in the before and after windows,
    the offence reduction in whole per cent (as IDIOM shows it), cost saving, the
    interval, the at-liberty rates, and the small-group and suppression markers.
    """
    w = report.window_months
    rows = []
    for g in [*report.groups, report.totals]:
        row: dict[str, Any] = {}
        if g is report.totals:
            for i, k in enumerate(report.group_by or ("group",)):
                row[k] = "Totals" if i == 0 else ""
        else:
            row.update(g["key"])
        interval = g["interval"]["offence_reduction_pct"] or [None, None]
        tail = round(g["interval"]["level"] * 100)
        row.update({
            "members": g["members"],
            f"cost_{w}m_before": g["before"]["cost"],
            f"cost_{w}m_after": g["after"]["cost"],
            f"offences_{w}m_before": g["before"]["offences"],
            f"offences_{w}m_after": g["after"]["offences"],
            "reducing_offending_pct": _whole_pct(g["before"]["offences"],
                                                 g["after"]["offences"]),
            "cost_saving": g["cost_saving"],
            f"reduction_{tail}_low": interval[0],
            f"reduction_{tail}_high": interval[1],
            "offences_per_365_at_liberty_before":
                g["at_liberty"]["before"]["offences_per_365_days"],
            "offences_per_365_at_liberty_after":
                g["at_liberty"]["after"]["offences_per_365_days"],
            "small_group": g["small_group"],
            "suppress": g["suppress"],
        })
        if g.get("comparison") is not None:
            row["net_of_comparison_pct"] = g["comparison"]["net_reduction_pct"]
        rows.append(row)
    return pd.DataFrame(rows)
