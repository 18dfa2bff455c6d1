"""The synthetic offending: offences, outcomes, custody (no offending while inside), domestic
abuse and victims, drawn for the people and careers of ``scoring.synthetic.careers``.

`draw_offending` runs the whole model, one seeded stage after another; the demo force area
(``service.demo``) and ``synthetic_histories`` both start from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import scoring.synthetic.tables as tables
from scoring.synthetic.careers import draw_careers
from scoring.synthetic.draws import (
    DAY_KEY,
    DAYS_PER_YEAR,
    choose_per_group,
    lognormal_days,
    previous_max_within,
    rank_within,
)

# Stages of the model, each drawing from its own generator: people and careers, offences,
# outcomes, custody, domestic abuse and victims.
MODEL_STAGES = 5


@dataclass(frozen=True)
class Offending:
    """The model's output as day numbers and codes, positions counting from 0.

    people: `draw_careers`'s frame (index = person). offences, sorted by person and day:
    person, day, type (row of `types`), recorded_day, outcome (position in
    ``tables.OUTCOMES``, or ``tables.PENDING``), outcome_day, domestic_abuse, victim (an
    id, -1 for none). spells, sorted by person and start, never overlapping: person, start,
    length, origin (the offence row convicted), end, ongoing (past the window's end).
    types: ``tables.offence_table()``.
    """

    people: pd.DataFrame
    offences: pd.DataFrame
    spells: pd.DataFrame
    types: pd.DataFrame


def draw_offending(rngs: Sequence[np.random.Generator], n: int, *, start_day: int,
                   end_day: int, mean: float) -> Offending:
    """People and everything they did from `start_day` to `end_day`, about `mean` offences
    each (before custody removes some); `rngs[:MODEL_STAGES]` drive the stages in order.

    Nothing here loops over people, so a million of them take seconds.
    """
    types = tables.offence_table()
    people = draw_careers(rngs[0], n, start_day=start_day, end_day=end_day)
    offences = draw_offences(rngs[1], people, types, mean=mean, end_day=end_day)
    draw_outcomes(rngs[2], offences, types, end_day=end_day)
    spells = draw_custody(rngs[3], offences, types, end_day=end_day)
    offences, spells = remove_offending_in_custody(offences, spells)
    draw_domestic_abuse_and_victims(rngs[4], offences, people, types)
    return Offending(people, offences, spells, types)


def draw_offences(rng: np.random.Generator, persons: pd.DataFrame, types: pd.DataFrame, *,
                  mean: float, end_day: int) -> pd.DataFrame:
    """Offence dates, types and the day each reached the system, sorted by person and date."""
    length = (persons["career_end"] - persons["career_start"] + 1).to_numpy()
    expected = persons["rate"].to_numpy() * length / DAYS_PER_YEAR
    # Everyone on file has offended at least once; scale the rest to hit the mean asked for.
    scale = (mean - 1.0) / max(expected.mean(), 1e-9)
    count = 1 + rng.poisson(scale * expected)
    person = np.repeat(np.arange(len(persons)), count)
    first = int(persons["career_start"].min())
    offset = (persons["career_start"].to_numpy()[person] - first
              + np.floor(rng.random(len(person)) * length[person]).astype(np.int64))
    # `person` is already in order: sorting the combined key orders the days within each.
    person, offset = np.divmod(np.sort(person * DAY_KEY + offset), DAY_KEY)
    day = first + offset
    # Types and delays are drawn after sorting: they depend only on the person.
    profile = persons["profile"].to_numpy()[person]
    general = tables.PROFILES.index("general")
    profile = np.where(rng.random(len(person)) < tables.GENERALIST_SHARE, general, profile)
    weights = types[list(tables.PROFILES)].to_numpy(float).T  # (profiles, types)
    offence_type = choose_per_group(rng, profile, weights)
    names = types["offence_type"].tolist()
    for once, fallback in tables.ONCE_ONLY.items():
        rows = np.flatnonzero(offence_type == names.index(once))
        again = rows[rank_within(person[rows]) > 0]
        offence_type[again] = names.index(fallback)
    # Records reach the system (nightly PNC extract) a few days after the offence.
    recorded = np.minimum(day + rng.geometric(0.3, len(day)) - 1, end_day)
    return pd.DataFrame({"person": person, "day": day, "type": offence_type,
                         "recorded_day": recorded})


def draw_outcomes(rng: np.random.Generator, offences: pd.DataFrame, types: pd.DataFrame, *,
                  end_day: int) -> None:
    """Add `outcome` and `outcome_day`: what became of each offence by `end`."""
    groups = list(tables.OUTCOME_SHARES)
    group = types["outcome_group"].map(groups.index).to_numpy()[offences["type"].to_numpy()]
    shares = np.array([tables.probabilities(tables.OUTCOME_SHARES[g]) for g in groups])
    final = choose_per_group(rng, group, shares)
    # Out-of-court disposals are for early offending; a fourth offence goes to court.
    conviction = tables.OUTCOMES.index("conviction")
    diversion = np.isin(final, [tables.OUTCOMES.index("caution"),
                                tables.OUTCOMES.index("community_resolution")])
    final = np.where(diversion & (rank_within(offences["person"].to_numpy()) >= 3),
                     conviction, final)
    remanded = _remanded(offences, types)
    final = np.where(remanded, conviction, final)
    medians = np.array([tables.OUTCOME_DELAY_DAYS[o] for o in tables.OUTCOMES])
    day = offences["day"].to_numpy()
    outcome_day = day + lognormal_days(rng, medians[final], 0.6)
    outcome_day = np.where(final == tables.OUTCOMES.index("arrest"), day, outcome_day)
    # Cases not finished by `end`: a court case shows as charged, anything else pending.
    charge_day = day + lognormal_days(rng, np.full(len(day), 2.0), 0.6)
    late = outcome_day > end_day
    charged = late & (final == conviction) & (charge_day <= end_day)
    outcome = np.where(late, np.where(charged, tables.OUTCOMES.index("charge"), tables.PENDING),
                       final)
    offences["outcome"] = outcome
    offences["outcome_day"] = np.where(charged, charge_day, outcome_day)


def draw_custody(rng: np.random.Generator, offences: pd.DataFrame, types: pd.DataFrame, *,
                 end_day: int) -> pd.DataFrame:
    """Custody spells from convictions; repeat convictions make custody likelier and longer.

    Spells of one person never overlap: a spell starting on or before the end of any
    earlier one (including one already dropped) is dropped.
    """
    conviction = tables.OUTCOMES.index("conviction")
    remanded = _remanded(offences, types)
    # A remanded case is in custody from the remand, whatever its outcome so far.
    convicted = np.flatnonzero((offences["outcome"].to_numpy() == conviction) | remanded)
    person = offences["person"].to_numpy()[convicted]
    kind = offences["type"].to_numpy()[convicted]
    prior = rank_within(person)
    chance = np.minimum(types["custody_rate"].to_numpy()[kind] * (1 + 0.3 * prior), 0.95)
    sent = (rng.random(len(convicted)) < chance) | remanded[convicted]
    median = types["custody_days"].to_numpy(float)[kind] * (1 + 0.1 * prior)
    length = lognormal_days(rng, median, 0.6)
    start = np.where(remanded[convicted],
                     offences["day"].to_numpy()[convicted] + tables.REMAND_AFTER_DAYS,
                     offences["outcome_day"].to_numpy()[convicted])
    spells = pd.DataFrame({
        "person": person, "start": start, "length": length, "origin": convicted,
        "remand": remanded[convicted],
    })[sent]
    spells["end"] = spells["start"] + spells["length"]
    # A remand spell always stands (one per person at most): other spells overlapping it go.
    rem = spells[spells["remand"]].set_index("person")
    rs = spells["person"].map(rem["start"]).to_numpy()
    re_ = spells["person"].map(rem["end"]).to_numpy()
    clash = ~spells["remand"].to_numpy() & (spells["start"].to_numpy() <= re_) \
        & (spells["end"].to_numpy() >= rs)
    spells = spells[~clash].drop(columns="remand")
    # By person and start: one stable sort on a combined key (a two-column sort is slower).
    key = spells["person"].to_numpy() * DAY_KEY + spells["start"].to_numpy()
    spells = spells.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    earlier_end = previous_max_within(spells["person"].to_numpy(), spells["end"].to_numpy())
    spells = spells[spells["start"].to_numpy() > earlier_end].reset_index(drop=True)
    spells["ongoing"] = spells["end"] > end_day
    return spells


def _remanded(offences: pd.DataFrame, types: pd.DataFrame) -> np.ndarray:
    kinds = types.index[types["offence_type"].isin(tables.REMANDED)].to_numpy()
    return np.isin(offences["type"].to_numpy(), kinds)


def remove_offending_in_custody(offences: pd.DataFrame, spells: pd.DataFrame
                                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop offences dated inside a custody spell, then spells whose offence was dropped.

    People in prison do not burgle houses; dropping (rather than moving) keeps each
    person's rate honest. A dropped spell frees no offences: it only makes the data thinner.
    """
    if spells.empty:
        return offences, spells
    person, day = offences["person"].to_numpy(), offences["day"].to_numpy()
    spell_key = spells["person"].to_numpy() * DAY_KEY + spells["start"].to_numpy()
    # Spells do not overlap, so only the latest one starting by the offence can contain it.
    at = np.searchsorted(spell_key, person * DAY_KEY + day, side="right") - 1
    found = at >= 0
    at = np.maximum(at, 0)
    inside = found & (spells["person"].to_numpy()[at] == person) \
        & (day <= spells["end"].to_numpy()[at])
    keep = ~inside
    spells = spells[keep[spells["origin"].to_numpy()]].reset_index(drop=True)
    # Renumber origins to the filtered offence rows.
    new_index = np.cumsum(keep) - 1
    spells["origin"] = new_index[spells["origin"].to_numpy()]
    return offences[keep].reset_index(drop=True), spells


def draw_domestic_abuse_and_victims(rng: np.random.Generator, offences: pd.DataFrame,
                                    persons: pd.DataFrame, types: pd.DataFrame) -> None:
    """Add `domestic_abuse` and `victim` (an int id, -1 for none).

    A DA perpetrator's victims follow one another in time (one relationship, then the
    next), so a serial perpetrator with enough DA offences shows every victim.
    """
    person = offences["person"].to_numpy()
    kind = offences["type"].to_numpy()
    domestic = persons["profile"].to_numpy() == tables.PROFILES.index("domestic")
    share = np.where(domestic[person], tables.DA_SHARE["domestic"], tables.DA_SHARE["other"])
    da = types["da_possible"].to_numpy(bool)[kind] & (rng.random(len(person)) < share)

    serial = domestic & (rng.random(len(persons)) < tables.SERIAL_DA_SHARE)
    victims = 1 + np.where(serial, rng.geometric(0.55, len(persons)), 0)
    da_person = person[da]
    da_count = np.bincount(da_person, minlength=len(persons))
    shown = np.minimum(victims, np.maximum(da_count, 1))
    which = rank_within(da_person) * shown[da_person] // np.maximum(da_count[da_person], 1)
    first_victim = np.cumsum(victims) - victims
    victim = np.full(len(person), -1, np.int64)
    victim[da] = first_victim[da_person] + which
    # Other offences against a person: usually a victim is recorded, a new one each time.
    contact = types["contact"].to_numpy(bool)[kind] & ~da & (rng.random(len(person)) < 0.7)
    victim[contact] = victims.sum() + np.arange(contact.sum())
    # Pseudonymous: shuffled ids hide the order victims were made in, which would
    # otherwise point back at the perpetrator.
    shuffled = rng.permutation(int(victim.max()) + 1 if len(victim) else 0)
    offences["domestic_abuse"] = da
    offences["victim"] = np.where(victim >= 0, shuffled[np.maximum(victim, 0)], -1)
