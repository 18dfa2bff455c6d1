"""Reductions, rates and percentile-bootstrap intervals for the IDIOM groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reduction_pct(before: float, after: float) -> float | None:
    """Reduction from before to after, % (positive = fewer); None when before is 0."""
    if before <= 0:
        return None
    return round(100.0 * float(before - after) / float(before), 1) + 0.0


def rate_per_365(offences: float, days: float) -> float | None:
    return None if days <= 0 else round(365.0 * float(offences) / float(days), 2)


def net_reduction_pct(mb: float, ma: float, cb: float, ca: float) -> float | None:
    """Reduction net of the comparison: 1 - (cohort after/before) / (comparison after/before)."""
    if mb <= 0 or cb <= 0 or ca <= 0:
        return None
    return round(100.0 * (1.0 - float(ma / mb) / float(ca / cb)), 1) + 0.0


def percentile_interval(samples: np.ndarray, level: float,
                        digits: int = 1) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return [round(float(lo), digits) + 0.0, round(float(hi), digits) + 0.0]


def bootstrap_sums(arrays: Sequence[np.ndarray], rng: np.random.Generator,
                   n_boot: int) -> list[np.ndarray]:
    """Sums of each array over `n_boot` resamples of its rows (same resample for all)."""
    n = len(arrays[0])
    sums = [np.empty(n_boot) for _ in arrays]
    chunk = max(1, 4_000_000 // max(n, 1))  # bound memory: chunk x n indices at a time
    for lo in range(0, n_boot, chunk):
        hi = min(n_boot, lo + chunk)
        idx = rng.integers(0, n, size=(hi - lo, n))
        for out, arr in zip(sums, arrays, strict=True):
            out[lo:hi] = arr[idx].sum(axis=1)
    return sums


def reduction_samples(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, 100.0 * (before - after) / before, np.nan)
