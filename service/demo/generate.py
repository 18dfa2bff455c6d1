"""Generate a synthetic force area: people, offence histories, custody and IOM memberships.

Pure numpy/pandas and vectorised end to end (no loop runs per person), so a million people
take seconds. Dates are handled as int64 day numbers (days since 1970-01-01) until the
frames are built. Every random draw comes from a child of one ``SeedSequence(seed)``, one
child per stage, so a given (seed, end, people, years, offences_per_person) always gives
identical frames, and changing one stage does not reshuffle the others.

The shape that matters for scoring: each person has a constant personal offending rate,
heavy-tailed across people (most offend once, a small persistent core many times), so
past offending predicts future offending, as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models.enums import Cohort, ExitReason, Outcome, Rag
from models.identifiers import CHECK_LETTERS
from service.demo import tables

DEFAULT_SEED = 20221109  # the IDIOM data date of seed 002 (9 Nov 2022)
SOURCE = "demo"
EPOCH = np.datetime64("1970-01-01", "D")
DAYS_PER_YEAR = 365.25
# Ten full calendar years (3,653 days at most) plus one: nobody offends before age 10.
MIN_AGE_DAYS = 3654
# Share of people in the persistent core, and their offending rate (offences a year).
CORE_SHARE = 0.04
CORE_RATE, TAIL_RATE = (6.0, 0.5), (0.3, 1.0)  # lognormal (median, sigma)
LONG_CUSTODY_DAYS = 730  # "custody over 2 years" ends an IOM membership (seed 003)
PNC_FIRST_YEAR = 1975
# Every person gets a distinct 7-digit PNC serial, whatever the year.
MAX_PEOPLE = 9_999_999
# Day offsets far apart enough that (person, day) pairs sort as one int64 key.
_KEY = 1_000_000

SEXES = list(tables.SEX_SHARES)
OUTCOME_CODES = [*tables.OUTCOMES, Outcome.pending.value]
PENDING = len(OUTCOME_CODES) - 1
EXIT_REASONS = [r.value for r in ExitReason]
COHORTS = [c.value for c in Cohort]
RAGS = [r.value for r in Rag]


@dataclass(frozen=True)
class DemoData:
    """One synthetic force area, as frames shaped like the tables they load into.

    ``person_id`` runs 1..n in ``persons`` and is what the other frames refer to (the
    loader shifts it if the database already used those ids). Dates are ``datetime64``
    at midnight (calendar dates; NaT where the column is nullable and empty);
    ``recorded_at`` and ``created_at`` are UTC timestamps. Vocabulary columns are
    categoricals.
    """

    persons: pd.DataFrame
    offences: pd.DataFrame
    custody: pd.DataFrame
    memberships: pd.DataFrame
    seed: int
    end: date

    def __repr__(self) -> str:
        # Never the rows: even synthetic names and PNC IDs stay out of logs and tracebacks.
        return f"DemoData(seed={self.seed}, end={self.end}, counts={self.counts()})"

    def counts(self) -> dict[str, int]:
        """Row counts per frame, for summaries."""
        return {"persons": len(self.persons), "offences": len(self.offences),
                "custody": len(self.custody), "memberships": len(self.memberships)}


def generate_demo(*, seed: int = DEFAULT_SEED, people: int = 30_000, end: date | None = None,
                  years: int = 6, offences_per_person: float = 3.0) -> DemoData:
    """Generate a believable force area of `people` people over the `years` up to `end`.

    `end` (default today) is the last day anything happens; `offences_per_person` is the
    expected mean number of offences per person before custody removes some.
    Raises ValueError on sizes that cannot make sense or an `end` in the future.
    """
    end = date.today() if end is None else end
    if end > date.today():
        raise ValueError("end cannot be in the future")
    if not 1 <= people <= MAX_PEOPLE or years < 2 or offences_per_person < 1:
        raise ValueError(f"need 1 <= people <= {MAX_PEOPLE:,}, years >= 2 and "
                         "offences_per_person >= 1")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    end_day = int((np.datetime64(end, "D") - EPOCH).astype(np.int64))
    start_day = end_day - int(round(years * DAYS_PER_YEAR))
    offence_types = tables.offence_table()

    persons = _draw_people(rngs[0], people, start_day=start_day, end_day=end_day)
    offences = _draw_offences(rngs[1], persons, offence_types, mean=offences_per_person,
                              end_day=end_day)
    _draw_outcomes(rngs[2], offences, offence_types, end_day=end_day)
    spells = _draw_custody(rngs[3], offences, offence_types, end_day=end_day)
    offences, spells = _remove_offending_in_custody(offences, spells)
    _draw_domestic_abuse_and_victims(rngs[4], offences, persons, offence_types)
    memberships = _draw_memberships(rngs[5], persons, offences, spells, offence_types,
                                    start_day=start_day, end_day=end_day)
    _draw_deaths(rngs[6], persons, offences, spells, memberships, end_day=end_day)
    _draw_identity(rngs[7], persons, offences)
    return DemoData(
        persons=_persons_frame(persons, offences),
        offences=_offences_frame(offences, offence_types),
        custody=_custody_frame(spells),
        memberships=_memberships_frame(memberships),
        seed=seed,
        end=end,
    )


# --- vectorised helpers -------------------------------------------------------------------

def choose_per_group(rng: np.random.Generator, groups: np.ndarray,
                     probs: np.ndarray) -> np.ndarray:
    """One categorical draw per element, from the probability row of its group.

    groups : (n,) ints in [0, G); probs : (G, K) rows summing to 1. Returns (n,) ints in
    [0, K). One searchsorted over the rows laid end to end (row g spans (g, g + 1]), so
    the cost does not depend on the number of groups.
    """
    n_groups, k = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    u = groups + rng.random(len(groups))
    picked = np.searchsorted(flat, u, side="right") - groups * k
    return np.minimum(picked, k - 1)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array (cumcount)."""
    if len(groups) == 0:
        return np.zeros(0, np.int64)
    index = np.arange(len(groups))
    starts = np.r_[True, groups[1:] != groups[:-1]]
    return index - np.maximum.accumulate(np.where(starts, index, 0))


def previous_max_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Max of `values` over the earlier rows of the same group (sorted), else INT64 min."""
    out = np.full(len(values), np.iinfo(np.int64).min)
    if len(values) == 0:
        return out
    low = values.min()
    span = int(values.max() - low) + 1
    # Offsetting each group above the last lets one running max serve every group.
    lifted = (values - low) + groups.astype(np.int64) * span
    running = np.maximum.accumulate(lifted)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    prev = np.r_[0, running[:-1]] - groups.astype(np.int64) * span + low
    return np.where(starts, out, prev)


def coded(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Strings like ``prefix + zero-padded number`` for a whole array at once ("D000000042")."""
    return prefix + pd.Series(numbers, dtype=np.int64).astype("str").str.zfill(width)


def _lognormal_days(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.ceil(rng.lognormal(np.log(median), sigma)).astype(np.int64)


def _year_of(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days).astype("datetime64[Y]").astype(np.int64) + 1970


# --- stages -------------------------------------------------------------------------------

def _draw_people(rng: np.random.Generator, n: int, *, start_day: int,
                 end_day: int) -> pd.DataFrame:
    """Who they are, and the shape of their offending career inside the window."""
    core = rng.random(n) < CORE_SHARE
    # Ages at `end`: 12 and over, most in their 20s and 30s.
    age_years = np.minimum(12 + rng.gamma(2.0, 9.0, n), 85.0)
    dob = end_day - np.floor(age_years * DAYS_PER_YEAR).astype(np.int64) - rng.integers(0, 365, n)
    first_possible = np.maximum(start_day, dob + MIN_AGE_DAYS)
    span = end_day - first_possible
    # Many were already offending when the window opens (the core nearly always).
    already = rng.random(n) < np.where(core, 0.8, 0.35)
    career_start = first_possible + np.where(
        already, 0, np.floor(rng.random(n) * span * 0.95).astype(np.int64))
    career_years = rng.exponential(np.where(core, 8.0, 2.0))
    career_end = np.minimum(career_start + np.floor(career_years * DAYS_PER_YEAR).astype(np.int64),
                            end_day)
    rate = np.where(core, rng.lognormal(np.log(CORE_RATE[0]), CORE_RATE[1], n),
                    rng.lognormal(np.log(TAIL_RATE[0]), TAIL_RATE[1], n))
    # Offending falls away with age (the age-crime curve).
    rate *= np.clip(np.exp(-(age_years - 30.0) / 25.0), 0.15, 1.0)
    profile_probs = np.array([tables.probabilities(tables.PROFILE_SHARES["tail"]),
                              tables.probabilities(tables.PROFILE_SHARES["core"])])
    profile = choose_per_group(rng, core.astype(np.int64), profile_probs)
    # Sexual offending by women is rare: move those profiles to violence.
    sex = rng.choice(len(tables.SEX_SHARES), n, p=tables.probabilities(tables.SEX_SHARES))
    female_sexual = (sex == SEXES.index("female")) & (profile == tables.PROFILES.index("sexual"))
    profile = np.where(female_sexual, tables.PROFILES.index("violent"), profile)
    return pd.DataFrame({
        "area": rng.choice(len(tables.AREA_SHARES), n, p=tables.probabilities(tables.AREA_SHARES)),
        "sex": sex,
        "dob": dob,
        "core": core,
        "profile": profile,
        "rate": rate,
        "career_start": career_start,
        "career_end": career_end,
    })


def _draw_offences(rng: np.random.Generator, persons: pd.DataFrame, types: pd.DataFrame, *,
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
    person, offset = np.divmod(np.sort(person * _KEY + offset), _KEY)
    day = first + offset
    # Types and delays are drawn after sorting: they depend only on the person.
    profile = persons["profile"].to_numpy()[person]
    general = tables.PROFILES.index("general")
    profile = np.where(rng.random(len(person)) < tables.GENERALIST_SHARE, general, profile)
    weights = types[list(tables.PROFILES)].to_numpy(float).T  # (profiles, types)
    offence_type = choose_per_group(rng, profile, weights)
    # Records reach the system (nightly PNC extract) a few days after the offence.
    recorded = np.minimum(day + rng.geometric(0.3, len(day)) - 1, end_day)
    return pd.DataFrame({"person": person, "day": day, "type": offence_type,
                         "recorded_day": recorded})


def _draw_outcomes(rng: np.random.Generator, offences: pd.DataFrame, types: pd.DataFrame, *,
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
    medians = np.array([tables.OUTCOME_DELAY_DAYS[o] for o in tables.OUTCOMES])
    day = offences["day"].to_numpy()
    outcome_day = day + _lognormal_days(rng, medians[final], 0.6)
    outcome_day = np.where(final == tables.OUTCOMES.index("arrest"), day, outcome_day)
    # Cases not finished by `end`: a court case shows as charged, anything else pending.
    charge_day = day + _lognormal_days(rng, np.full(len(day), 2.0), 0.6)
    late = outcome_day > end_day
    charged = late & (final == conviction) & (charge_day <= end_day)
    outcome = np.where(late, np.where(charged, tables.OUTCOMES.index("charge"), PENDING), final)
    offences["outcome"] = outcome
    offences["outcome_day"] = np.where(charged, charge_day, outcome_day)


def _draw_custody(rng: np.random.Generator, offences: pd.DataFrame, types: pd.DataFrame, *,
                  end_day: int) -> pd.DataFrame:
    """Custody spells from convictions; repeat convictions make custody likelier and longer.

    Spells of one person never overlap: a spell starting on or before the end of any
    earlier one (including one already dropped) is dropped.
    """
    conviction = tables.OUTCOMES.index("conviction")
    convicted = np.flatnonzero(offences["outcome"].to_numpy() == conviction)
    person = offences["person"].to_numpy()[convicted]
    kind = offences["type"].to_numpy()[convicted]
    prior = rank_within(person)
    chance = np.minimum(types["custody_rate"].to_numpy()[kind] * (1 + 0.3 * prior), 0.95)
    sent = rng.random(len(convicted)) < chance
    median = types["custody_days"].to_numpy(float)[kind] * (1 + 0.1 * prior)
    length = _lognormal_days(rng, median, 0.6)
    spells = pd.DataFrame({
        "person": person, "start": offences["outcome_day"].to_numpy()[convicted],
        "length": length, "origin": convicted,
    })[sent]
    spells = spells.sort_values(["person", "start"], kind="stable").reset_index(drop=True)
    spells["end"] = spells["start"] + spells["length"]
    earlier_end = previous_max_within(spells["person"].to_numpy(), spells["end"].to_numpy())
    spells = spells[spells["start"].to_numpy() > earlier_end].reset_index(drop=True)
    spells["ongoing"] = spells["end"] > end_day
    return spells


def _remove_offending_in_custody(offences: pd.DataFrame, spells: pd.DataFrame
                                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop offences dated inside a custody spell, then spells whose offence was dropped.

    People in prison do not burgle houses; dropping (rather than moving) keeps each
    person's rate honest. A dropped spell frees no offences: it only makes the data thinner.
    """
    if spells.empty:
        return offences, spells
    person, day = offences["person"].to_numpy(), offences["day"].to_numpy()
    spell_key = spells["person"].to_numpy() * _KEY + spells["start"].to_numpy()
    # Spells do not overlap, so only the latest one starting by the offence can contain it.
    at = np.searchsorted(spell_key, person * _KEY + day, side="right") - 1
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


def _draw_domestic_abuse_and_victims(rng: np.random.Generator, offences: pd.DataFrame,
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


def _rolling_year_counts(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """For each row (sorted by person, day): that person's rows in the 365 days up to it."""
    key = person * _KEY + day
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


def _draw_memberships(rng: np.random.Generator, persons: pd.DataFrame, offences: pd.DataFrame,
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
        picked = rng.choice(len(rule.cohorts), len(both), p=tables.probabilities(rule.cohorts))
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
        rng.choice(len(usual), len(members), p=tables.probabilities(usual))]
    reason = np.where(custody, EXIT_REASONS.index("custody_over_2_years"), reason)
    active = exited > end_day
    return members.assign(exited=np.where(active, -1, exited),
                          exit_reason=np.where(active, -1, reason))


def _draw_deaths(rng: np.random.Generator, persons: pd.DataFrame, offences: pd.DataFrame,
                 spells: pd.DataFrame, memberships: pd.DataFrame, *, end_day: int) -> None:
    """Add `deceased` (-1 if alive): a few members leave the cohort by dying, a few others die.

    Death always comes after the person's last offence, outcome and custody, so no record
    postdates it.
    """
    n = len(persons)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, offences["person"].to_numpy(),
                  np.maximum(offences["day"].to_numpy(), offences["outcome_day"].to_numpy()))
    spell_end = np.where(spells["ongoing"].to_numpy(), np.iinfo(np.int64).max,
                         spells["end"].to_numpy())
    np.maximum.at(last, spells["person"].to_numpy(), spell_end)
    deceased = np.full(n, -1, np.int64)

    member = memberships["person"].to_numpy()
    only_one = np.bincount(member, minlength=n)[member] == 1
    left = memberships["exit_reason"].to_numpy()
    ordinary = (left >= 0) & (left != EXIT_REASONS.index("custody_over_2_years"))
    dies = ordinary & only_one & (memberships["exited"].to_numpy() > last[member]) \
        & (rng.random(len(memberships)) < 0.04)
    memberships.loc[dies, "exit_reason"] = EXIT_REASONS.index("deceased")
    deceased[member[dies]] = memberships["exited"].to_numpy()[dies]

    others = (np.bincount(member, minlength=n) == 0) & (last < end_day) & (rng.random(n) < 0.004)
    gap = end_day - np.where(others, last, end_day - 1)
    deceased = np.where(others, last + 1 + np.floor(rng.random(n) * gap).astype(np.int64),
                        deceased)
    persons["deceased"] = deceased


def _draw_identity(rng: np.random.Generator, persons: pd.DataFrame,
                   offences: pd.DataFrame) -> None:
    """PNC IDs (unique, valid check letters), ethnicity and synthetic names."""
    n = len(persons)
    first_day = offences.groupby("person")["day"].min().reindex(range(n)).to_numpy()
    low = np.maximum(_year_of(persons["dob"].to_numpy()) + 10, PNC_FIRST_YEAR)
    high = np.maximum(_year_of(first_day), low)
    # The PNC record was created on the first arrest, possibly years before the window.
    year = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    serial = rng.choice(9_999_999, n, replace=False) + 1
    check = np.array(list(CHECK_LETTERS))[((year % 100) * 10_000_000 + serial) % 23]
    persons["pnc_id"] = (coded("", year, 4) + coded("/", serial, 7) + check).to_numpy()
    codes = list(tables.ETHNICITY_SHARES)
    codes_shares = tables.ETHNICITY_SHARES
    persons["ethnicity"] = rng.choice(len(codes), n, p=tables.probabilities(codes_shares))
    sex = persons["sex"].to_numpy()
    male = sex == SEXES.index("male")
    female = sex == SEXES.index("female")
    n_male, n_female = len(tables.GIVEN_NAMES["male"]), len(tables.GIVEN_NAMES["female"])
    pick = rng.random(n)
    # Indexes into male names followed by female names; unknown/other sex: either list.
    index = np.where(male, np.floor(pick * n_male),
                     np.where(female, n_male + np.floor(pick * n_female),
                              np.floor(pick * (n_male + n_female)))).astype(np.int64)
    family = rng.integers(0, len(tables.FAMILY_NAMES), n)
    named = rng.random(n) >= tables.NAMELESS_SHARE
    persons["given"] = np.where(named, index, -1)
    persons["family"] = np.where(named, family, -1)


# --- frames -------------------------------------------------------------------------------

def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Day numbers as datetime64[s] midnights (NaT where `missing`)."""
    values = (EPOCH + days.astype(np.int64)).astype("datetime64[s]")
    if missing is not None:
        values[missing] = np.datetime64("NaT")
    return values


def _categorical(codes: np.ndarray, categories: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories))


def _persons_frame(persons: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    codes = [c for c in tables.ETHNICITY_SHARES if c is not None]
    ethnicity_codes = np.array([codes.index(c) if c is not None else -1
                                for c in tables.ETHNICITY_SHARES])
    created = offences.groupby("person")["recorded_day"].min().reindex(
        range(len(persons))).to_numpy()
    given = tables.GIVEN_NAMES["male"] + tables.GIVEN_NAMES["female"]
    return pd.DataFrame({
        "person_id": np.arange(1, len(persons) + 1),
        "pnc_id": persons["pnc_id"],
        "given_name": _categorical(persons["given"].to_numpy(), given),
        "family_name": _categorical(persons["family"].to_numpy(), tables.FAMILY_NAMES),
        "date_of_birth": _dates(persons["dob"].to_numpy()),
        "sex": _categorical(persons["sex"].to_numpy(), SEXES),
        "ethnicity": _categorical(ethnicity_codes[persons["ethnicity"].to_numpy()], codes),
        "home_area": _categorical(persons["area"].to_numpy(), list(tables.AREA_SHARES)),
        "deceased_on": _dates(persons["deceased"].to_numpy(), persons["deceased"].to_numpy() < 0),
        "created_at": pd.DatetimeIndex(_dates(created)).tz_localize("UTC"),
    })


def _offences_frame(offences: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    n = len(offences)
    victim = offences["victim"].to_numpy()
    n_victims = int(victim.max()) + 1 if n else 0
    # One string per victim, shared by all their offences (a categorical, so cheap).
    refs = coded("V", np.arange(1, n_victims + 1), max(8, len(str(n_victims))))
    victim_ref = pd.Categorical.from_codes(victim, categories=refs)
    pending = offences["outcome"].to_numpy() == PENDING
    return pd.DataFrame({
        "person_id": offences["person"].to_numpy() + 1,
        "offence_date": _dates(offences["day"].to_numpy()),
        "offence_type": _categorical(offences["type"].to_numpy(), types["offence_type"].tolist()),
        "domestic_abuse": offences["domestic_abuse"].to_numpy(),
        "victim_ref": victim_ref,
        "outcome": _categorical(offences["outcome"].to_numpy(), OUTCOME_CODES),
        "outcome_date": _dates(offences["outcome_day"].to_numpy(), pending),
        "source": SOURCE,
        "source_ref": coded("D", np.arange(1, n + 1), 9),
        "recorded_at": pd.DatetimeIndex(_dates(offences["recorded_day"].to_numpy()))
        .tz_localize("UTC"),
    })


def _custody_frame(spells: pd.DataFrame) -> pd.DataFrame:
    ongoing = spells["ongoing"].to_numpy()
    return pd.DataFrame({
        "person_id": spells["person"].to_numpy() + 1,
        "start_on": _dates(spells["start"].to_numpy()),
        "end_on": _dates(spells["end"].to_numpy(), ongoing),
        "reason": "sentence",
        # The demo's spell is the whole term, so "over 2 years" agrees with the membership
        # exits drawn above (LONG_CUSTODY_DAYS).
        "sentence_months": np.ceil(spells["length"].to_numpy() / 30.4375).astype(np.int64),
    })


def _memberships_frame(members: pd.DataFrame) -> pd.DataFrame:
    areas = list(tables.AREA_SHARES)
    active = members["exited"].to_numpy() < 0
    return pd.DataFrame({
        "person_id": members["person"].to_numpy() + 1,
        "cohort": _categorical(members["cohort"].to_numpy(), COHORTS),
        "stream": _categorical(members["stream"].to_numpy(), list(tables.STREAMS)),
        "area": _categorical(members["area"].to_numpy(), areas),
        "adopted_on": _dates(members["adopted"].to_numpy()),
        "exited_on": _dates(members["exited"].to_numpy(), active),
        "exit_reason": _categorical(members["exit_reason"].to_numpy(), EXIT_REASONS),
        # A team post, not a person's name: "OM-BRISTOL-07".
        "offender_manager": ("OM-" + pd.Series(np.array(areas)[members["area"].to_numpy()])
                             + coded("-", members["manager"].to_numpy(), 2)),
        "rag": _categorical(members["rag"].to_numpy(), RAGS),
    })
