"""The demo's people: who they are, their offending careers, deaths and identities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.identifiers import CHECK_LETTERS
from service.demo import tables
from service.demo.common import (
    CORE_RATE,
    CORE_SHARE,
    DAYS_PER_YEAR,
    EXIT_REASONS,
    MIN_AGE_DAYS,
    PNC_FIRST_YEAR,
    SEXES,
    TAIL_RATE,
    choose_per_group,
    coded,
    year_of,
)


def draw_people(rng: np.random.Generator, n: int, *, start_day: int,
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


def draw_deaths(rng: np.random.Generator, persons: pd.DataFrame, offences: pd.DataFrame,
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


def draw_identity(rng: np.random.Generator, persons: pd.DataFrame,
                   offences: pd.DataFrame) -> None:
    """PNC IDs (unique, valid check letters), ethnicity and synthetic names."""
    n = len(persons)
    first_day = offences.groupby("person")["day"].min().reindex(range(n)).to_numpy()
    low = np.maximum(year_of(persons["dob"].to_numpy()) + 10, PNC_FIRST_YEAR)
    high = np.maximum(year_of(first_day), low)
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
