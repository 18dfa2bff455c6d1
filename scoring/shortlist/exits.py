"""The exits half of the migration meeting: current members whose record suggests a
review (no recent offending, a long custody, death).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from scoring.dates import as_day, calendar_days, iso_date, months_before
from scoring.shortlist.eligibility import active_on
from scoring.shortlist.rules import ShortlistConfig
from scoring.validation import check_frame

EXIT_COLUMNS = ("row", "person_id", "membership_id", "cohort", "adopted_on",
                "last_offence_on", "offences_12m", "rfg", "risk", "reasons", "flags")
MEMBERSHIP_COLUMNS = ("membership_id", "person_id", "cohort", "stream", "area", "adopted_on",
                      "exited_on")


def exit_review(
    scores: pd.DataFrame, offences: pd.DataFrame, persons: pd.DataFrame,
    custody: pd.DataFrame, memberships: pd.DataFrame, *, as_of: dt.date | str, area: str,
    stream: str, config: ShortlistConfig,
) -> pd.DataFrame:
    """Current members of a stream in an area whose record suggests an exit review.

    A member (membership of ``stream`` in ``area`` active on ``as_of``) is listed if they
    have had no offence in the ``no_offences_months`` to as_of (and were a member for that
    whole time), are in custody on as_of serving a sentence of more than
    ``long_sentence_months`` (``custody`` column ``sentence_months``, optional), are in
    custody on as_of with no sentence recorded and have been for at least
    ``custody_min_months``, or died. Columns ``EXIT_COLUMNS``, ordered by adoption date
    then membership id; members with no reason are left out (empty frame if none).

    Examples
    --------
    >>> from scoring.shortlist import load_shortlist_config
    >>> members = pd.DataFrame({"membership_id": [7], "person_id": [1], "cohort": ["fixed"],
    ...     "stream": ["nsac"], "area": ["X"], "adopted_on": pd.to_datetime(["2022-01-10"]),
    ...     "exited_on": pd.to_datetime([None])})
    >>> persons = pd.DataFrame({"person_id": [1], "deceased_on": pd.to_datetime([None])})
    >>> offences = pd.DataFrame({"person_id": [1], "offence_type": ["other"],
    ...     "offence_date": pd.to_datetime(["2022-03-01"])})
    >>> scores = pd.DataFrame({"person_id": [1], "rfg": [5.0], "risk": [0.1]})
    >>> custody = pd.DataFrame({"person_id": [], "start_on": [], "end_on": []})
    >>> out = exit_review(scores, offences, persons, custody, members, as_of="2024-06-30",
    ...     area="X", stream="nsac", config=load_shortlist_config())
    >>> out.loc[0, "reasons"]
    ['no offence in the 12 months to 2024-06-30 (last on 2022-03-01)']
    """
    config.rule(stream)
    check_frame(memberships, MEMBERSHIP_COLUMNS, "memberships")
    check_frame(offences, ("person_id", "offence_date"), "offences")
    check_frame(scores, ("person_id", "rfg", "risk"), "scores")
    day = as_day(as_of)
    m = memberships.loc[(memberships["stream"] == stream) & (memberships["area"] == area)]
    m = m.loc[active_on(m, "adopted_on", "exited_on", day)]
    m = m.assign(_adopted=calendar_days(m["adopted_on"])).sort_values(
        ["_adopted", "membership_id"], kind="stable")
    off = offences.loc[calendar_days(offences["offence_date"]) <= day] if len(offences) \
        else offences
    off_days = pd.Series(calendar_days(off["offence_date"]), index=off["person_id"].to_numpy())
    last_any = off_days.groupby(level=0).max()
    recent = (off_days > months_before(day, config.recent_months)).astype(np.int64).groupby(
        level=0).sum()
    quiet_start = months_before(day, config.no_offences_months)
    custody_start = months_before(day, config.custody_min_months)
    in_custody = _in_custody(custody, m["person_id"], day)
    died = _deaths(persons)
    s = scores.set_index("person_id")
    rows = []
    for mid, pid, cohort, adopted in zip(m["membership_id"], m["person_id"], m["cohort"],
                                         m["_adopted"], strict=True):
        pid = int(pid)
        last = last_any.get(pid)
        why, flags = _exit_reasons(last, adopted, in_custody.get(pid, (None, np.nan)),
                                   died.get(pid), config=config, day=day,
                                   quiet_start=quiet_start, custody_start=custody_start)
        if not why:
            continue
        rows.append({"person_id": pid, "membership_id": int(mid), "cohort": str(cohort),
                     "adopted_on": iso_date(adopted), "last_offence_on": iso_date(last),
                     "offences_12m": int(recent.get(pid, 0)),
                     "rfg": round(float(s["rfg"].get(pid, 0.0)), 1),
                     "risk": round(float(s["risk"].get(pid, 0.0)), 3),
                     "reasons": why, "flags": flags})
    out = pd.DataFrame(rows, columns=[c for c in EXIT_COLUMNS if c != "row"])
    out.insert(0, "row", np.arange(1, len(out) + 1, dtype=np.int64))
    return out


def _in_custody(custody: pd.DataFrame, person_ids: pd.Series,
                day: np.datetime64) -> dict[int, tuple[np.datetime64, float]]:
    """Per member in custody on ``day``: the spell's start and the sentence in months (NaN
    when not recorded)."""
    c = custody.loc[custody["person_id"].isin(person_ids)] if len(custody) else custody
    if not len(c):
        return {}
    c = c.loc[active_on(c, "start_on", "end_on", day)]
    sentence = (pd.to_numeric(c["sentence_months"], errors="coerce").to_numpy(dtype=float)
                if "sentence_months" in c else np.full(len(c), np.nan))
    return {int(p): (start, months) for p, start, months in zip(
        c["person_id"], calendar_days(c["start_on"]), sentence, strict=True)}


def _deaths(persons: pd.DataFrame) -> dict[int, np.datetime64]:
    if "deceased_on" not in persons:
        return {}
    dd = persons.loc[persons["deceased_on"].notna()]
    return dict(zip(dd["person_id"].astype(int), calendar_days(dd["deceased_on"]), strict=True))


def _exit_reasons(last: Any, adopted: np.datetime64,
                  custody: tuple[np.datetime64 | None, float], died: np.datetime64 | None, *,
                  config: ShortlistConfig, day: np.datetime64, quiet_start: np.datetime64,
                  custody_start: np.datetime64) -> tuple[list[str], list[str]]:
    """Reasons and flags for one member's exit review (empty: nothing to review)."""
    why, flags = [], []
    if (last is None or last <= quiet_start) and adopted <= quiet_start:
        seen = f"last on {np.datetime64(last, 'D')}" if last is not None else "none recorded"
        why.append(f"no offence in the {config.no_offences_months} months to {day} ({seen})")
        flags.append("no_recent_offending")
    start, sentence = custody
    if start is not None and not np.isnan(sentence):
        if sentence > config.long_sentence_months:
            why.append(f"in custody since {start}, serving {sentence:g} months (over "
                       f"{config.long_sentence_months} months is an exit reason)")
            flags.append("long_custody")
    elif start is not None and start <= custody_start:
        months = int((day - start).astype(int) // 30.44)
        why.append(f"in custody since {start} (about {months} months by {day}); no "
                   f"sentence is recorded: over {config.long_sentence_months} months "
                   "is an exit reason")
        flags.append("long_custody")
    if died is not None and died <= day:
        why.append(f"deceased ({died})")
        flags.append("deceased")
    return why, flags
