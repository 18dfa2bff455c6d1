"""Per-person figures over sorted person-id arrays: counts and latest rows, and lookups
of one value per person for another set of ids (searchsorted, no per-person loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Latest:
    """Per person (sorted ids): how many rows, the latest day, and a value on that row."""

    ids: np.ndarray
    count: np.ndarray
    last_day: np.ndarray
    last_value: np.ndarray


def latest_per_person(ids: np.ndarray, days: np.ndarray, values: np.ndarray) -> Latest:
    # lexsort is stable: on a tie of days the row that came later wins, as a stable sort
    # followed by groupby().last() would pick.
    order = np.lexsort((days, ids))
    ids, days, values = ids[order], days[order], values[order]
    ends = np.flatnonzero(np.r_[ids[1:] != ids[:-1], True]) if len(ids) else np.array(
        [], dtype=np.int64)
    starts = np.r_[0, ends[:-1] + 1] if len(ends) else ends
    return Latest(ids=ids[ends], count=ends - starts + 1, last_day=days[ends],
                   last_value=values[ends])


def per_person(ids: np.ndarray, values: np.ndarray, wanted: np.ndarray,
                fill: Any) -> np.ndarray:
    """``values`` (one per sorted, unique ``ids``) looked up for ``wanted``; ``fill`` where
    absent."""
    at = np.searchsorted(ids, wanted)
    found = at < len(ids)
    found[found] = ids[at[found]] == wanted[found]
    out = np.full(len(wanted), fill, dtype=np.asarray(values).dtype if len(values) else
                  np.asarray([fill]).dtype)
    out[found] = np.asarray(values)[at[found]]
    return out

