"""The cohort's monthly offending around adoption (months -12 to +12), for the report chart.

Month k of a membership is the calendar window ``[adopted_on + k months, adopted_on + k+1
months)`` (half-open, calendar arithmetic as everywhere else). A membership counts in month
k only if that whole month had passed by the report date, so recent adoptions do not drag
the later months down; the chart shows offences per observed member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.dates import add_months, calendar_days
from scoring.validation import check_frame

MONTHS = tuple(range(-12, 13))


@dataclass(frozen=True)
class MonthlyOffending:
    """Per month offset: members observed, offences, and offences per observed member."""

    months: tuple[int, ...]
    members: list[int]
    offences: list[int]
    per_member: list[float | None]


def monthly_offending(memberships: pd.DataFrame, offences: pd.DataFrame, *,
                      as_of: date) -> MonthlyOffending:
    """Offences by month relative to adoption.

    Parameters
    ----------
    memberships : DataFrame with ``membership_id``, ``person_id``, ``adopted_on``
    offences : DataFrame with ``person_id``, ``offence_date`` (recorded offences)
    as_of : the report date; months ending after it are not observed

    An empty cohort gives zeros and None rates (never NaN).
    """
    check_frame(memberships, ("person_id", "adopted_on"), "memberships")
    check_frame(offences, ("person_id", "offence_date"), "offences")
    adopted = calendar_days(memberships["adopted_on"])
    person = memberships["person_id"].to_numpy(dtype=np.int64)
    keep = adopted <= np.datetime64(as_of, "D")
    adopted, person = adopted[keep], person[keep]
    units = pd.DataFrame({"unit": np.arange(len(person)), "person_id": person})
    hits = offences[["person_id", "offence_date"]].copy()
    hits["person_id"] = hits["person_id"].astype(np.int64)
    hits["day"] = calendar_days(hits["offence_date"])
    pairs = units.merge(hits, on="person_id")
    unit = pairs["unit"].to_numpy(dtype=np.int64)
    day = pairs["day"].to_numpy().astype("datetime64[D]")
    last_day = np.datetime64(as_of, "D")
    members, counts, rates = [], [], []
    for k in MONTHS:
        start, end = add_months(adopted, k), add_months(adopted, k + 1)
        observed = np.asarray(end - np.timedelta64(1, "D") <= last_day, dtype=bool)
        inside = (day >= start[unit]) & (day < end[unit]) & observed[unit]
        n, c = int(observed.sum()), int(inside.sum())
        members.append(n)
        counts.append(c)
        rates.append(round(c / n, 3) if n else None)
    return MonthlyOffending(months=MONTHS, members=members, offences=counts, per_member=rates)
