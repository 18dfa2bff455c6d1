"""Why a person is excluded from a shortlist (a code each, put into words in one place),
and why a candidate is on it, in the words the meeting reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.dates import ages_on, calendar_days, iso_date
from scoring.shortlist.eligibility import active_on
from scoring.shortlist.lookups import Latest
from scoring.shortlist.rules import StreamRule

# Why a person is excluded, by code (what counts and filters use), and the one place each
# code is put into the words the meeting reads.
EXCLUSION_TEXT = {
    "active_member": "already an active member of {stream} (adopted {adopted})",
    "in_custody": "in custody on {as_of} (since {since})",
    "deceased": "deceased ({died})",
    "other_area": "home area is {area_then}, not {area}",
    "under_min_age": "aged {age} on {as_of}: under the minimum age of {min_age} for {stream}",
}
EXCLUSION_CODES = tuple(EXCLUSION_TEXT)


def exclusion_text(code: str, **values: object) -> str:
    """An exclusion reason in words."""
    return EXCLUSION_TEXT[code].format(**values)


Exclusions = dict[int, list[tuple[str, str]]]


def exclusion_reasons(pool_ids: np.ndarray, in_pool: np.ndarray, persons: pd.DataFrame,
                      custody: pd.DataFrame, memberships: pd.DataFrame, *, day: np.datetime64,
                      stream: str, area: str, include_other_areas: bool,
                      rule: StreamRule, referred: np.ndarray) -> Exclusions:
    """Every reason each pool member (``persons`` rows where ``in_pool``) is excluded, as
    (code, words): an active membership of the stream, custody on ``day``, death, a home
    area elsewhere, or an age under the stream's minimum (unless ``referred`` and at least
    its ``referred_min_age``)."""
    as_of_text = str(day)
    reasons: Exclusions = {}

    def add(pid: int, code: str, **values: object) -> None:
        reasons.setdefault(pid, []).append((code, exclusion_text(code, **values)))

    if len(memberships):
        m = memberships.loc[(memberships["stream"] == stream).to_numpy()
                            & memberships["person_id"].isin(pool_ids).to_numpy()]
        m = m.loc[active_on(m, "adopted_on", "exited_on", day)]
        for pid, adopted in zip(m["person_id"].tolist(), calendar_days(m["adopted_on"]),
                                strict=True):
            add(pid, "active_member", stream=stream, adopted=adopted)
    if len(custody):
        c = custody.loc[custody["person_id"].isin(pool_ids).to_numpy()]
        c = c.loc[active_on(c, "start_on", "end_on", day)]
        for pid, start in zip(c["person_id"].tolist(), calendar_days(c["start_on"]),
                              strict=True):
            add(pid, "in_custody", as_of=as_of_text, since=start)
    if "deceased_on" in persons:
        died = calendar_days(persons["deceased_on"])[in_pool]
        dead = ~np.isnat(died) & (died <= day)
        for pid, d in zip(pool_ids[dead].tolist(), died[dead], strict=True):
            add(pid, "deceased", died=d)
    if not include_other_areas:
        home = persons["home_area"].to_numpy(dtype=object)[in_pool]
        away = home != area
        for pid, elsewhere in zip(pool_ids[away].tolist(), home[away], strict=True):
            add(pid, "other_area", area_then=elsewhere, area=area)
    ages = ages_on(calendar_days(persons["date_of_birth"])[in_pool], day)
    transition = np.isin(pool_ids, referred) & (
        ages >= (rule.referred_min_age if rule.referred_min_age is not None else rule.min_age))
    young = (ages < rule.min_age) & ~transition
    for pid, age in zip(pool_ids[young].tolist(), ages[young].tolist(), strict=True):
        add(pid, "under_min_age", age=age, as_of=as_of_text, min_age=rule.min_age,
            stream=stream)
    return reasons


def candidate_reasons(lid: np.ndarray, meets_rule: np.ndarray, escalating: np.ndarray,
                      q: Latest, serial: dict[int, int], ref_rows: dict[int, Any], *,
                      rule: StreamRule, day: np.datetime64,
                      stream: str) -> tuple[list[list[str]], list[list[str]]]:
    """Flags and reasons per listed candidate (``lid``), in order: the qualifying offences
    or the referral that put them on the list, the OGRS note, escalation, serial victims.

    A loop over the listed candidates only (the limit, plus referrals), never the pool.
    """
    as_of_text = str(day)
    q_n = dict(zip(q.ids.tolist(), q.count.tolist(), strict=True))
    q_last = dict(zip(q.ids.tolist(), q.last_day, strict=True))
    q_type = dict(zip(q.ids.tolist(), q.last_value, strict=True))
    flags_out, reasons_out = [], []
    for pid, meets, esc in zip(lid.tolist(), meets_rule.tolist(), escalating.tolist(),
                               strict=True):
        why: list[str] = []
        flags: list[str] = []
        if meets:
            n = q_n[pid]
            why.append(f"{n} {rule.describe()} offence{'s' if n != 1 else ''} in the "
                       f"{rule.lookback_months} months to {as_of_text}, latest "
                       f"{q_type[pid]} on {q_last[pid]}")
        else:
            why.append(f"does not meet the {stream} criteria; listed on referral")
            flags.append("below_criteria")
        if pid in ref_rows:
            ref = ref_rows[pid]
            flags.append("referred")
            why.append(f"referred by {ref['referring_agency']} on "
                       f"{iso_date(ref['referred_on'])}: {ref['reason']}")
            ogrs = ref["ogrs_score"]
            if rule.ogrs_threshold is not None and ogrs is not None and not pd.isna(ogrs):
                above = float(ogrs) >= rule.ogrs_threshold
                if above:
                    flags.append("ogrs_high")
                why.append(f"OGRS {float(ogrs):g} supplied by probation "
                           f"({'at or above' if above else 'below'} the threshold "
                           f"{rule.ogrs_threshold:g})")
        if esc:
            flags.append("escalating")
        victims = serial.get(pid, 0)
        if rule.serial_victims and victims >= rule.serial_victims:
            flags.append("serial_perpetrator")
            why.append(f"{victims} victims of domestic abuse in the window")
        flags_out.append(flags)
        reasons_out.append(why)
    return flags_out, reasons_out
