"""The demo's IOM cohorts: who qualifies for each stream, adoptions, re-adoptions, exits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.synthetic.draws import DAY_KEY
from scoring.synthetic.tables import probabilities
from service.demo import tables
from service.demo.common import COHORTS, EXIT_REASONS, LONG_CUSTODY_DAYS, RAGS


def _rolling_year_counts(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """For each row (sorted by person, day): that person's rows in the 365 days up to it."""
    key = person * DAY_KEY + day
    return np.arange(len(key)) - np.searchsorted(key, key - 364, side="left") + 1


def _stream_qualifiers(offences: pd.DataFrame, stream: str, types: pd.DataFrame, *,
                       start_day: int) -> pd.DataFrame:
    """Offences at which a person's last-12-months count reached the stream's threshold."""
    rule = tables.STREAMS[stream]
    if rule.offences is None:
        eligible = offences["domestic_abuse"].to_numpy()
    else:
        codes = types.index[types["offence_type"].isin(rule.offences)].to_numpy()
        eligible = np.isin(offences["type"].to_numpy(), codes)
    person = offences["person"].to_numpy()[eligible]
    day = offences["day"].to_numpy()[eligible]
    count = _rolling_year_counts(person, day)
    # A full year inside the window before adoption (IDIOM's "12 months before").
    qualifies = (count >= rule.threshold) & (day >= start_day + 365)
    return pd.DataFrame({"person": person[qualifies], "day": day[qualifies],
                         "count": count[qualifies]})


def draw_memberships(rng: np.random.Generator, persons: pd.DataFrame, offences: pd.DataFrame,
                     spells: pd.DataFrame, types: pd.DataFrame, *, start_day: int,
                     end_day: int) -> pd.DataFrame:
    """Adoptions at migration meetings when offending is high, exits, and some re-adoptions."""
    long_spells = spells.loc[spells["length"] > LONG_CUSTODY_DAYS, ["person", "start"]]
    frames = []
    for code, (stream, rule) in enumerate(tables.STREAMS.items()):  # a loop over 3 streams
        qualifiers = _stream_qualifiers(offences, stream, types, start_day=start_day)
        capacity = max(1, round(len(persons) * rule.per_100k / 100_000))
        first = _adopt(rng, qualifiers, capacity=capacity, end_day=end_day)
        first = _draw_exits(rng, first, long_spells, end_day=end_day)
        again = _readopt(rng, qualifiers, first, end_day=end_day)
        again = _draw_exits(rng, again, long_spells, end_day=end_day)
        both = pd.concat([first, again], ignore_index=True)
        both["stream"] = code
        picked = rng.choice(len(rule.cohorts), len(both), p=probabilities(rule.cohorts))
        both["cohort"] = np.array([COHORTS.index(c) for c in rule.cohorts])[picked]
        # RAG from how intense the offending was at adoption.
        both["rag"] = np.select([both["count"] >= 2 * rule.threshold,
                                 both["count"] > rule.threshold],
                                [RAGS.index("red"), RAGS.index("amber")], RAGS.index("green"))
        frames.append(both)
    memberships = pd.concat(frames, ignore_index=True)
    memberships["area"] = persons["area"].to_numpy()[memberships["person"].to_numpy()]
    memberships["manager"] = rng.integers(1, 13, len(memberships))
    return memberships.sort_values(["person", "adopted", "stream"],
                                   kind="stable").reset_index(drop=True)


def _meeting_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Days from the triggering offence to the migration meeting that adopts."""
    return rng.integers(7, 57, n)


def _adopt(rng: np.random.Generator, qualifiers: pd.DataFrame, *, capacity: int,
           end_day: int) -> pd.DataFrame:
    """The `capacity` most intense qualifiers, each adopted after one of their peaks."""
    q = qualifiers.assign(adopted=qualifiers["day"] + _meeting_delay(rng, len(qualifiers)),
                          draw=rng.random(len(qualifiers)))
    q = q[q["adopted"] <= end_day]
    peak = q.groupby("person")["count"].transform("max")
    # Any moment of high offending can be the trigger, so adoptions spread over the years.
    trigger = q.sort_values(["person", "draw"], kind="stable").drop_duplicates("person")
    trigger = trigger.assign(peak=peak.loc[trigger.index])
    trigger = trigger.sort_values(["peak", "draw"], ascending=[False, True], kind="stable")
    return trigger.head(capacity)[["person", "adopted", "count"]].reset_index(drop=True)


def _readopt(rng: np.random.Generator, qualifiers: pd.DataFrame, members: pd.DataFrame, *,
             end_day: int) -> pd.DataFrame:
    """People who left for a reason other than custody or a move and qualify again later."""
    back = members[members["exit_reason"].isin(
        [EXIT_REASONS.index(r) for r in ("rehabilitated", "no_longer_meets_criteria", "other")])]
    later = qualifiers.merge(back[["person", "exited"]], on="person")
    later = later[later["day"] >= later["exited"] + 90]
    later = later.sort_values(["person", "day"], kind="stable").drop_duplicates("person")
    later = later.assign(adopted=later["day"] + _meeting_delay(rng, len(later)))
    later = later[(later["adopted"] <= end_day) & (rng.random(len(later)) < 0.7)]
    return later[["person", "adopted", "count"]].reset_index(drop=True)


def _draw_exits(rng: np.random.Generator, members: pd.DataFrame, long_spells: pd.DataFrame, *,
                end_day: int) -> pd.DataFrame:
    """Add `exited` and `exit_reason` (-1 while still active).

    A sentence of over two years during the membership ends it at the next meeting;
    otherwise people stay a year or so and leave for the usual reasons.
    """
    members = members.reset_index(drop=True)
    stay = np.floor(rng.exponential(420.0, len(members))).astype(np.int64)
    planned = members["adopted"] + 90 + stay
    hits = members.reset_index().merge(long_spells, on="person")
    hits = hits[(hits["start"] >= hits["adopted"])
                & (hits["start"] < planned[hits["index"]].to_numpy())]
    custody_exit = (hits.groupby("index")["start"].min() + 28).reindex(members.index)
    custody = custody_exit.notna().to_numpy()
    exited = np.where(custody, custody_exit.fillna(0).to_numpy(np.int64), planned.to_numpy())
    usual = tables.EXIT_REASON_SHARES
    reason = np.array([EXIT_REASONS.index(r) for r in usual])[
        rng.choice(len(usual), len(members), p=probabilities(usual))]
    reason = np.where(custody, EXIT_REASONS.index("custody_over_2_years"), reason)
    active = exited > end_day
    return members.assign(exited=np.where(active, -1, exited),
                          exit_reason=np.where(active, -1, reason))
