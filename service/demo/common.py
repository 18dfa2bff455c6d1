"""What the demo generator's stages share: day arithmetic, codes, vectorised helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.enums import Cohort, ExitReason, Outcome, Rag
from service.demo import tables

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
DAY_KEY = 1_000_000

SEXES = list(tables.SEX_SHARES)
OUTCOME_CODES = [*tables.OUTCOMES, Outcome.pending.value]
PENDING = len(OUTCOME_CODES) - 1
EXIT_REASONS = [r.value for r in ExitReason]
COHORTS = [c.value for c in Cohort]
RAGS = [r.value for r in Rag]


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


def lognormal_days(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.ceil(rng.lognormal(np.log(median), sigma)).astype(np.int64)


def year_of(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days).astype("datetime64[Y]").astype(np.int64) + 1970
