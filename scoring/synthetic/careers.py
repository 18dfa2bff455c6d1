"""Who the synthetic people are, and the shape of their offending careers inside the window.

A small persistent core offends at a high personal rate over long careers; the long tail
offends rarely over short ones (both rates lognormal across people, so heavy-tailed).
Careers start when the window opens (many were already offending) or later, never before
age 10, and end; the rate falls with age (the age-crime curve). Each person has an
offending profile (the mix of offence types they mostly commit). Sex and ethnicity are
monitoring labels: sex shapes the profile (sexual offending by women is rare), ethnicity
shapes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import scoring.synthetic.tables as tables
from scoring.synthetic.draws import DAYS_PER_YEAR, choose_per_group

SEXES = list(tables.SEX_SHARES)
ETHNICITIES = list(tables.ETHNICITY_SHARES)
# The codes a record can hold: ETHNICITIES without None (never recorded).
RECORDED_ETHNICITIES = [c for c in ETHNICITIES if c is not None]


def draw_careers(rng: np.random.Generator, n: int, *, start_day: int,
                 end_day: int) -> pd.DataFrame:
    """One row per person (index 0..n-1): sex and date of birth, core or tail, profile,
    offending rate (offences a year) and career start and end days.

    ``sex`` and ``profile`` are positions in SEXES and ``tables.PROFILES``.
    """
    core = rng.random(n) < tables.CORE_SHARE
    # Ages at `end`: 12 and over, most in their 20s and 30s.
    age_years = np.minimum(12 + rng.gamma(2.0, 9.0, n), 85.0)
    dob = end_day - np.floor(age_years * DAYS_PER_YEAR).astype(np.int64) - rng.integers(0, 365, n)
    first_possible = np.maximum(start_day, dob + tables.MIN_AGE_DAYS)
    span = end_day - first_possible
    # Many were already offending when the window opens (the core nearly always).
    already = rng.random(n) < np.where(core, 0.8, 0.35)
    career_start = first_possible + np.where(
        already, 0, np.floor(rng.random(n) * span * 0.95).astype(np.int64))
    career_years = rng.exponential(np.where(core, 8.0, 2.0))
    career_end = np.minimum(career_start + np.floor(career_years * DAYS_PER_YEAR).astype(np.int64),
                            end_day)
    core_rate, tail_rate = tables.CORE_RATE, tables.TAIL_RATE
    rate = np.where(core, rng.lognormal(np.log(core_rate[0]), core_rate[1], n),
                    rng.lognormal(np.log(tail_rate[0]), tail_rate[1], n))
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
        "sex": sex,
        "dob": dob,
        "core": core,
        "profile": profile,
        "rate": rate,
        "career_start": career_start,
        "career_end": career_end,
    })


def draw_ethnicity(rng: np.random.Generator, n: int) -> np.ndarray:
    """Positions in ETHNICITIES; see `recorded_ethnicity` for the codes a record holds."""
    return rng.choice(len(ETHNICITIES), n, p=tables.probabilities(tables.ETHNICITY_SHARES))


def recorded_ethnicity(drawn: np.ndarray) -> np.ndarray:
    """`draw_ethnicity`'s positions as positions in RECORDED_ETHNICITIES (-1: never recorded)."""
    lookup = np.array([RECORDED_ETHNICITIES.index(c) if c is not None else -1
                       for c in ETHNICITIES])
    return lookup[drawn]
