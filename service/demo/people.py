"""The demo's people as the register knows them: home areas, deaths and identities.

Who they are as offenders (sex, age, career, rate, profile) is the offending model's part,
``scoring.synthetic.careers``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.identifiers import CHECK_LETTERS
from scoring.synthetic.careers import SEXES, draw_ethnicity
from scoring.synthetic.draws import coded
from scoring.synthetic.tables import probabilities
from service.demo import tables
from service.demo.common import EXIT_REASONS, PNC_FIRST_YEAR, year_of


def draw_areas(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each person's home area (a position in ``tables.AREA_SHARES``)."""
    return rng.choice(len(tables.AREA_SHARES), n, p=probabilities(tables.AREA_SHARES))


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
    persons["ethnicity"] = draw_ethnicity(rng, n)
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
