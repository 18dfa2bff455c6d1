"""What the synthetic model's stages share: day arithmetic, seeded stages, vectorised helpers.

Dates are int64 day numbers (days since 1970-01-01) until frames are built. No helper loops
over people: each works on whole arrays at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

# Day numbers count from here, as in scoring.dates.
EPOCH = np.datetime64("1970-01-01", "D")
DAYS_PER_YEAR = 365.25
# Day offsets far apart enough that (person, day) pairs sort as one int64 key.
DAY_KEY = 1_000_000


def stage_generators(seed: int, stages: int) -> list[np.random.Generator]:
    """One generator per stage, each from its own child of ``SeedSequence(seed)``.

    Child i does not depend on how many are spawned, so callers that need more stages
    than the offending model (the demo's register) share its first ones unchanged.
    """
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(stages)]


def as_dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Day numbers as datetime64[s] midnights (NaT where `missing`)."""
    values = (EPOCH + days.astype(np.int64)).astype("datetime64[s]")
    if missing is not None:
        values[missing] = np.datetime64("NaT")
    return values


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


def lognormal_days(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.ceil(rng.lognormal(np.log(median), sigma)).astype(np.int64)


def coded(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Strings like ``prefix + zero-padded number`` for a whole array at once ("D000000042")."""
    return prefix + pd.Series(numbers, dtype=np.int64).astype("str").str.zfill(width)


def victim_refs(victim: np.ndarray) -> pd.Series:
    """The pseudonymous reference ("V00000042") of each victim id 0, 1, ... in `victim`."""
    n_victims = int(victim.max()) + 1 if len(victim) else 0
    return coded("V", np.arange(1, n_victims + 1), max(8, len(str(n_victims))))


def strings(codes: np.ndarray, names: Sequence[str] | pd.Series) -> pd.Series:
    """``names[codes]`` as a "str" Series, missing where a code is -1.

    Built as an Arrow dictionary array and cast: ten times faster than from Python objects.
    """
    indices = pa.array(np.asarray(codes, np.int64), mask=np.asarray(codes) < 0)
    values = pa.array(list(names) if not isinstance(names, pd.Series) else names.to_numpy(object),
                      pa.large_string())
    return pd.Series(pd.array(pa.DictionaryArray.from_arrays(indices, values)
                              .cast(pa.large_string()), dtype="str"))
