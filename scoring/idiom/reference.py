"""The slow, obviously-correct twin of `scoring.idiom.windows.member_windows`: plain loops
over members, offences and custody days, for the tests and as the benchmark baseline.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from scoring.dates import add_months_to_date
from scoring.idiom.rules import DEFAULT_RULES, IdiomRules


def member_windows_reference(memberships: pd.DataFrame, offences: pd.DataFrame,
                             custody: pd.DataFrame, unit_costs: pd.Series, *, as_of: date,
                             window_months: int = 12, counting: str = "recorded",
                             rules: IdiomRules = DEFAULT_RULES) -> pd.DataFrame:
    """Slow, obviously-correct twin of `member_windows` (loops over members and offences).

    Kept for the tests (the two must agree on random data) and as the benchmark baseline.
    Returns ``membership_id``, ``included``, ``excluded_reason`` and per window
    ``{w}_offences``, ``{w}_cost``, ``{w}_days``, ``{w}_liberty_days``.
    """

    plus_months = add_months_to_date
    waiting, proven_outcomes = rules.waiting_months, rules.proven_outcomes

    def as_date(value: Any) -> date | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        return pd.Timestamp(value).date()

    end = as_of + timedelta(days=1)
    offences_of: dict[Any, list[dict[str, Any]]] = {}
    for o in offences.to_dict("records"):
        offences_of.setdefault(o["person_id"], []).append(o)
    spells_of: dict[Any, list[dict[str, Any]]] = {}
    for s in custody.to_dict("records"):
        spells_of.setdefault(s["person_id"], []).append(s)
    rows = []
    for m in memberships.to_dict("records"):
        adopted = as_date(m["adopted_on"])
        assert adopted is not None
        exited = as_date(m["exited_on"])
        if exited is not None and exited > as_of:
            exited = None
        windows: dict[str, tuple[date, date, date]] = {}  # start, end, proven limit
        windows["before"] = (plus_months(adopted, -window_months), min(adopted, end),
                             plus_months(adopted, waiting))
        during_end = exited if exited is not None else end
        windows["during"] = (adopted, min(during_end, end),
                             plus_months(during_end, waiting))
        if exited is not None:
            after_end = plus_months(exited, window_months)
            windows["after"] = (exited, min(after_end, end),
                                plus_months(after_end, waiting))
        else:
            windows["after"] = (end, end, plus_months(end, waiting))
        if adopted > as_of:
            reason = "adopted_after_as_of"
        elif exited is None:
            reason = "not_exited"
        elif plus_months(exited, window_months) > end:
            reason = "after_window_not_ended"
        elif counting == "proven" and plus_months(plus_months(exited, window_months),
                                                  waiting) > end:
            reason = "waiting_period_not_ended"
        else:
            reason = None
        row: dict[str, Any] = {"membership_id": m["membership_id"], "included": reason is None,
                               "excluded_reason": reason}
        spells = spells_of.get(m["person_id"], [])
        for w, (start, stop, limit) in windows.items():
            n, cost = 0, 0.0
            for o in offences_of.get(m["person_id"], []):
                day = as_date(o["offence_date"])
                assert day is not None
                if not start <= day < stop:
                    continue
                if counting == "proven":
                    outcome_on = as_date(o["outcome_date"])
                    if (o["outcome"] not in proven_outcomes or outcome_on is None
                            or outcome_on >= limit or outcome_on > as_of):
                        continue
                n += 1
                cost += float(unit_costs.get(o["offence_type"], 0.0))
            days = max(0, (stop - start).days)
            held = set()
            for s in spells:
                s_start = as_date(s["start_on"])
                s_end = as_date(s["end_on"]) or end
                if s_start is None or s_start > as_of:
                    continue
                s_end = min(s_end, end)
                d = max(s_start, start)
                while d < min(s_end, stop):
                    held.add(d)
                    d += timedelta(days=1)
            row.update({f"{w}_offences": n, f"{w}_cost": cost, f"{w}_days": days,
                        f"{w}_liberty_days": days - len(held)})
        rows.append(row)
    return pd.DataFrame(rows)
