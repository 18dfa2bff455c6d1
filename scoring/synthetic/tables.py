"""The knobs of the one synthetic offending model: who offends, how much, what, and what
becomes of it.

Every figure here is invented: plausible in shape (mostly male, a small prolific core, long
sentences for rape and robbery, DA and sexual cases often ending in no further action), never
a statistic about real people. The offence *costs, gravity and harm* always come from the
catalogue; these tables only say how often each type is drawn. Used by the demo force area
(``service.demo``) and by ``synthetic_histories`` (tests, doctests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

# Ten full calendar years (3,653 days at most) plus one: nobody offends before age 10.
MIN_AGE_DAYS = 3654
# Share of people in the persistent core, and their offending rate (offences a year).
CORE_SHARE = 0.04
CORE_RATE, TAIL_RATE = (6.0, 0.5), (0.3, 1.0)  # lognormal (median, sigma)

# Recorded offenders are overwhelmingly male; a few records have no usable sex.
SEX_SHARES: dict[str, float] = {"male": 0.82, "female": 0.168, "unknown": 0.01, "other": 0.002}

# ONS 2021 codes (models.enums.ETHNICITY_CODES); None = never recorded.
ETHNICITY_SHARES: dict[str | None, float] = {
    "W1": 0.775, "W2": 0.005, "W3": 0.004, "W4": 0.001, "W9": 0.035,
    "A1": 0.008, "A2": 0.010, "A3": 0.003, "A4": 0.003, "A9": 0.005,
    "B1": 0.015, "B2": 0.025, "B9": 0.006,
    "M1": 0.018, "M2": 0.004, "M3": 0.005, "M9": 0.006,
    "O2": 0.003, "O9": 0.005, "NS": 0.040, None: 0.020,
}

# Offending profiles: what kind of offender a person mostly is. Shares for the long tail
# and for the persistent core (prolific offenders are mostly acquisitive, drug-linked).
PROFILES = ("acquisitive", "violent", "domestic", "sexual", "drugs", "general")
PROFILE_SHARES = {
    "tail": (0.28, 0.25, 0.12, 0.03, 0.10, 0.22),
    "core": (0.55, 0.13, 0.12, 0.00, 0.10, 0.10),
}
# Offenders are generalists: this share of anyone's offences comes from the general mix.
GENERALIST_SHARE = 0.25

# Per offence type: custody_rate = chance a conviction brings custody for a first offender
# (repeat convictions raise it); custody_days = median time actually served; contact = the
# offence has a person as victim; da_possible = can be flagged domestic abuse; outcome_group
# picks a row of OUTCOME_SHARES. The profile columns are relative weights of the type
# within each profile (each column is normalised when used).
_OFFENCE_ROWS: list[tuple[object, ...]] = [
    # type                     cust  days  contact da     outc     acq  vio  dom  sex  drg  gen
    ("burglary_residential",   0.35, 180,  False, False, "normal", 16,  1,   0,   0,   2,   5),
    ("robbery_personal",       0.55, 365,  True,  False, "normal", 5,   4,   0,   0,   2,   2),
    ("theft_from_person",      0.15, 60,   True,  False, "normal", 6,   1,   0,   0,   1,   3),
    ("theft_of_vehicle",       0.15, 90,   False, False, "normal", 7,   1,   0,   0,   1,   3),
    ("theft_from_vehicle",     0.10, 60,   False, False, "normal", 10,  1,   0,   0,   1,   4),
    ("violence_with_injury",   0.30, 180,  True,  True,  "normal", 2,   24,  22,  4,   4,   8),
    ("violence_without_injury", 0.08, 60,  True,  True,  "normal", 3,   30,  30,  5,   4,   10),
    ("rape",                   0.85, 1800, True,  True,  "hard",   0,   0,   1,   20,  0,   0.2),
    ("other_sexual",           0.30, 365,  True,  True,  "hard",   0,   1,   1,   60,  0,   1),
    ("homicide",               0.95, 4000, True,  True,  "normal", 0,   0.2, 0.1, 0,   0.1, 0),
    ("arson",                  0.35, 365,  False, True,  "normal", 0.5, 1,   1,   0,   0,   1),
    ("criminal_damage",        0.04, 45,   False, True,  "minor",  4,   10,  10,  0,   2,   10),
    ("shoplifting",            0.06, 30,   False, False, "minor",  26,  2,   0,   0,   6,   10),
    ("other_theft",            0.06, 45,   False, False, "minor",  10,  2,   0,   0,   2,   8),
    ("drugs_supply",           0.55, 540,  False, False, "normal", 1,   1,   0,   0,   30,  2),
    ("drugs_possession",       0.02, 30,   False, False, "minor",  6,   5,   2,   0,   40,  8),
    ("weapons",                0.25, 180,  False, False, "normal", 1,   6,   1,   0,   8,   3),
    ("public_order",           0.03, 30,   False, True,  "minor",  2,   12,  5,   2,   2,   8),
    ("fraud",                  0.12, 180,  False, False, "normal", 3,   0,   0,   0,   1,   5),
    ("stalking_harassment",    0.20, 120,  True,  True,  "hard",   0,   2,   20,  5,   0,   3),
    ("breach",                 0.25, 56,   False, True,  "normal", 5,   5,   13,  3,   4,   5),
    ("other",                  0.05, 60,   False, False, "minor",  2,   2,   1,   1,   1,   6),
]
_OFFENCE_COLUMNS = ["offence_type", "custody_rate", "custody_days", "contact", "da_possible",
                    "outcome_group", *PROFILES]

# A second homicide by one person is vanishingly rare: a later draw of a type listed here
# becomes the fallback type instead.
ONCE_ONLY = {"homicide": "violence_with_injury"}
# Charged and remanded in custody a few days after the offence (bail is all but never
# granted for murder), convicted at trial: the spell runs from the remand, not the verdict.
REMANDED = ("homicide",)
REMAND_AFTER_DAYS = 2

# Final outcomes by outcome_group. DA and sexual cases end in NFA far more often (evidential
# difficulty); volume offences get out-of-court disposals.
OUTCOMES = ("conviction", "caution", "community_resolution", "no_further_action", "charge",
            "summons", "arrest")
# Outcome codes are positions in OUTCOMES, and one more: a case not finished by the end
# (the register calls it "pending").
PENDING = len(OUTCOMES)
OUTCOME_SHARES: dict[str, tuple[float, ...]] = {
    "normal": (0.50, 0.06, 0.05, 0.33, 0.02, 0.02, 0.02),
    "hard":   (0.30, 0.03, 0.01, 0.60, 0.03, 0.01, 0.02),
    "minor":  (0.42, 0.13, 0.15, 0.22, 0.02, 0.04, 0.02),
}
# Median days from offence to each outcome (lognormal around it): the court takes months.
OUTCOME_DELAY_DAYS = {"conviction": 110, "caution": 10, "community_resolution": 3,
                      "no_further_action": 45, "charge": 2, "summons": 30, "arrest": 0.5}

# Chance that an offence of a DA-capable type is flagged DA, for a domestic-abuse profile
# and for everyone else.
DA_SHARE = {"domestic": 0.85, "other": 0.06}
# Share of domestic-abuse perpetrators with two or more victims (serial perpetrators).
SERIAL_DA_SHARE = 0.3


def offence_table() -> pd.DataFrame:
    """The per-offence-type parameters, one row per type, indexed by position."""
    return pd.DataFrame(_OFFENCE_ROWS, columns=_OFFENCE_COLUMNS)


def probabilities(shares: Mapping[Any, float] | Sequence[float]) -> np.ndarray:
    """Shares as a probability vector summing to 1 (the tables above are rounded by hand)."""
    values = np.asarray(list(shares.values()) if isinstance(shares, Mapping) else shares, float)
    return values / values.sum()
