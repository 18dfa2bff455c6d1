"""Threat-model features: what the record says about a person as of a date.

Only criminal history, age and custody go in: counts per catalogue ``offence_group`` in
non-overlapping windows, domestic-abuse offences, the all-offence RFG components, age band,
age at first offence, the OGRS3-style Copas rate and time at liberty. Sex, ethnicity and
any other protected or proxy characteristic are never features: the persons frame is read
for ``date_of_birth`` only, and ``check_no_protected`` guards every feature list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig
from scoring.dates import day_number, year_month_day
from scoring.history import NEVER, Custody, People, Snapshot, select, window_days
from scoring.rfg import RfgArrays, latest_days, recent_rows

# The OGRS3 age bands, with the under-18 bands merged (IOM adults are mostly over 18).
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "age_under_18"), (18, "age_18_20"), (21, "age_21_24"), (25, "age_25_29"),
    (30, "age_30_34"), (35, "age_35_39"), (40, "age_40_49"), (50, "age_50_plus"),
)
# Never a model input (shared/design.md; Durham HART's lesson on postcode as a proxy).
PROTECTED = frozenset({"sex", "gender", "ethnicity", "ethnic_group", "race", "religion",
                       "nationality", "postcode", "home_area", "area", "name", "given_name",
                       "family_name"})
DAYS_PER_YEAR = 365.25


def check_no_protected(names: tuple[str, ...] | list[str]) -> None:
    """Raise if any feature name is, or is built from, a protected characteristic.

    Examples
    --------
    >>> check_no_protected(["age_18_20", "copas_rate"])
    >>> check_no_protected(["sex_male"])
    Traceback (most recent call last):
    ...
    ValueError: protected characteristic used as a feature: ['sex_male']
    """
    bad = [n for n in names
           if any(n == p or n.startswith(p + "_") or n.endswith("_" + p) for p in PROTECTED)]
    if bad:
        raise ValueError(f"protected characteristic used as a feature: {bad}")


def offence_groups(catalogue: OffenceCatalogue) -> tuple[str, ...]:
    """The catalogue's offence groups, sorted (one set of count features each)."""
    return tuple(sorted(set(catalogue.column("offence_group"))))


def window_labels(config: ScoringConfig) -> tuple[str, ...]:
    """Names of the non-overlapping count windows, e.g. ``("0_6m", ..., "24m_plus")``."""
    edges = (0, *config.thr.windows_months)
    return (*(f"{a}_{b}m" for a, b in zip(edges, edges[1:], strict=False)),
            f"{edges[-1]}m_plus")


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: its name, the transform before standardising, its explanation factor."""

    name: str
    transform: str  # "log1p" or "none"
    factor: str


def feature_specs(catalogue: OffenceCatalogue, config: ScoringConfig) -> tuple[FeatureSpec, ...]:
    """Every feature, in matrix column order.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> specs = feature_specs(load_catalogue(), load_config())
    >>> specs[0].name, specs[0].factor, len(specs)
    ('count_acquisitive_0_6m', 'group:acquisitive', 54)
    """
    return _feature_specs(offence_groups(catalogue), window_labels(config),
                          config.thr.windows_months[-1])


# Built once per set of groups and windows: a one-person score with a trained model asks
# for them on every request, and building and checking the names cost a third of it.
@lru_cache(maxsize=16)
def _feature_specs(groups: tuple[str, ...], windows: tuple[str, ...],
                   domestic_abuse_months: int) -> tuple[FeatureSpec, ...]:
    specs = [FeatureSpec(f"count_{g}_{w}", "log1p", f"group:{g}")
             for g in groups for w in windows]
    specs.append(FeatureSpec(f"count_domestic_abuse_0_{domestic_abuse_months}m",
                             "log1p", "domestic_abuse"))
    specs += [FeatureSpec(f"rfg_{c}", "none", f"rfg_{c}")
              for c in ("recency", "frequency", "gravity", "victims")]
    specs += [FeatureSpec(name, "none", "age") for _, name in AGE_BANDS]
    specs += [
        FeatureSpec("age_at_first_offence", "none", "age_at_first_offence"),
        FeatureSpec("copas_rate", "none", "copas_rate"),
        FeatureSpec("liberty_days_12m", "none", "custody_now"),
        FeatureSpec("in_custody", "none", "custody_now"),
        FeatureSpec("custody_periods", "log1p", "custody_history"),
    ]
    names = [s.name for s in specs]
    check_no_protected(names)
    return tuple(specs)


@dataclass(frozen=True)
class Basics:
    """Per-person history facts the rule-based threat and the explanations need, shape (P,).

    ``n_offences`` counts offences on or before ``as_of``; where it is 0, ``first_days`` and
    ``latest_days`` are -1 and ``latest_type`` is -1.
    """

    as_of: dt.date
    n_offences: np.ndarray
    first_days: np.ndarray
    latest_days: np.ndarray
    latest_type: np.ndarray
    age_years: np.ndarray  # exact age in years (float), NaN when the birth date is unknown
    age_whole: np.ndarray  # completed years (int), -1 when unknown

    @property
    def age_at_first(self) -> np.ndarray:
        return np.where(self.n_offences > 0, self.age_years - self.first_days / DAYS_PER_YEAR,
                        self.age_years)


def completed_years(dob_day: np.ndarray, as_of: dt.date) -> np.ndarray:
    """Whole years of age on ``as_of`` (birthday arithmetic), -1 where ``dob_day`` is NEVER."""
    known = dob_day != NEVER
    years, months, days = year_month_day(np.where(known, dob_day, 0))
    before_birthday = (as_of.month < months) | ((as_of.month == months) & (as_of.day < days))
    return np.where(known, as_of.year - years - before_birthday, -1)


def basics(snap: Snapshot, people: People, catalogue: OffenceCatalogue, config: ScoringConfig,
           *, latest: np.ndarray | None = None) -> Basics:
    """Counts, first and latest offence, latest type and age, vectorised.

    ``latest`` (days since the latest offence, -1 if none) is reused when already known.
    """
    n = snap.n_people
    n_offences = np.bincount(snap.pidx, minlength=n)
    first = np.full(n, -1, dtype=np.int64)
    np.maximum.at(first, snap.pidx, snap.days_ago)
    if latest is None:
        latest = latest_days(snap)
    # The latest offence's type; ties on the day go to the most serious, then the higher
    # catalogue row, so input order never matters.
    gravity = catalogue.column("gravity").astype(np.int64, copy=False)
    order = np.lexsort((np.arange(len(gravity)), gravity))  # least serious first
    rank = np.argsort(order)
    on_latest = snap.days_ago == latest[snap.pidx]
    best = np.full(n, -1, dtype=np.int64)
    latest_p, latest_t = select(on_latest, snap.pidx, snap.type_code)
    np.maximum.at(best, latest_p, rank[latest_t])
    latest_type = np.where(best >= 0, order[np.maximum(best, 0)], -1)
    known = people.dob_day != NEVER
    age_years = np.where(known, (day_number(snap.as_of) - people.dob_day) / DAYS_PER_YEAR,
                         np.nan)
    return Basics(snap.as_of, n_offences, first, latest, latest_type, age_years,
                  completed_years(people.dob_day, snap.as_of))


def copas_rate(b: Basics, config: ScoringConfig) -> np.ndarray:
    """OGRS3-style ``ln(offences / (offset + age - age at first offence))``; 0 with no record."""
    offset = config.thr.rule_based.copas_offset_years
    span = offset + np.maximum(np.nan_to_num(b.age_years - b.age_at_first), 0.0)
    return np.where(b.n_offences > 0, np.log(np.maximum(b.n_offences, 1) / span), 0.0)


@dataclass(frozen=True)
class CustodyFacts:
    """Custody as of a date, shape (P,)."""

    liberty_days_12m: np.ndarray
    in_custody: np.ndarray
    periods: np.ndarray


def custody_facts(custody: Custody, n: int, as_of: dt.date) -> CustodyFacts:
    """Days at liberty in the last 12 months, in custody at the end of ``as_of``, periods so far.

    Only what was known on ``as_of`` is used: a period's release date counts only if it is
    on or before ``as_of`` (a later release is not yet known, so the person is in custody).
    """
    cut = day_number(as_of)
    span = window_days(as_of, 12)
    started = custody.start_day <= cut
    pidx = custody.pidx[started]
    start = custody.start_day[started]
    end = np.minimum(custody.end_day[started], cut + 1)  # in custody on [start, end)
    lo = np.maximum(start, cut + 1 - span)
    overlap = np.clip(end - lo, 0, None)
    custody_days = np.minimum(np.bincount(pidx, weights=overlap, minlength=n), span)
    inside = end > cut
    return CustodyFacts(
        liberty_days_12m=span - custody_days,
        in_custody=np.bincount(pidx[inside], minlength=n) > 0,
        periods=np.bincount(pidx, minlength=n),
    )


@dataclass(frozen=True)
class Features:
    """The model matrix and what it was built from.

    Attributes
    ----------
    specs : tuple of FeatureSpec, length F
    matrix : ndarray of float32, shape (P, F), column-major
        Raw (untransformed) values; column-major so each feature is one contiguous vector.
    """

    specs: tuple[FeatureSpec, ...]
    matrix: np.ndarray
    basics: Basics
    custody: CustodyFacts

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    @cached_property
    def _position(self) -> dict[str, int]:
        return {s.name: j for j, s in enumerate(self.specs)}

    def column(self, name: str) -> np.ndarray:
        """One feature for every person, shape (P,)."""
        return self.matrix[:, self._position[name]]


def _fill_group_counts(out: np.ndarray, snap: Snapshot, catalogue: OffenceCatalogue,
                       config: ScoringConfig) -> None:
    """Offences per offence group and non-overlapping window into ``out[:, :G*W]``."""
    groups = offence_groups(catalogue)
    group_of_type = np.searchsorted(np.array(groups, dtype=object),
                                    catalogue.column("offence_group"))
    n, g = snap.n_people, len(groups)
    edges = [window_days(snap.as_of, m) for m in config.thr.windows_months]
    w = len(edges) + 1
    # Most offences are old: count everything per (group, person) once, count the recent
    # windows on the (much smaller) recent rows, and take the oldest window as the remainder.
    # Group-major keys make each group's counts one contiguous vector.
    remainder = np.bincount(group_of_type[snap.type_code] * n + snap.pidx,
                            minlength=n * g).reshape(g, n)
    rows = recent_rows(snap, config)
    low = 0
    for k, high in enumerate(edges):
        inside = (rows.days_ago >= low) & (rows.days_ago < high)
        count = np.bincount(group_of_type[rows.type_code[inside]] * n + rows.pidx[inside],
                            minlength=n * g).reshape(g, n)
        remainder -= count
        for j in range(g):
            out[:, j * w + k] = count[j]
        low = high
    for j in range(g):
        out[:, j * w + w - 1] = remainder[j]


def build_features(snap: Snapshot, people: People, custody: Custody, *,
                   catalogue: OffenceCatalogue, config: ScoringConfig, rfg_all: RfgArrays,
                   history: Basics | None = None) -> Features:
    """The feature matrix for every person of a snapshot.

    Parameters
    ----------
    snap, people, custody : prepared inputs (``scoring.history``).
    rfg_all : RfgArrays
        The all-offence RFG for the same snapshot.
    history : Basics, optional
        Reused if already computed.

    Returns
    -------
    Features
    """
    specs = feature_specs(catalogue, config)
    b = history if history is not None else basics(snap, people, catalogue, config,
                                                   latest=rfg_all.latest_days)
    n = snap.n_people
    matrix = np.empty((n, len(specs)), dtype=np.float32, order="F")
    n_counts = len(offence_groups(catalogue)) * len(window_labels(config))
    _fill_group_counts(matrix, snap, catalogue, config)
    rows = recent_rows(snap, config)
    da_recent = rows.domestic_abuse & (rows.days_ago < window_days(
        snap.as_of, config.thr.windows_months[-1]))
    facts = custody_facts(custody, n, snap.as_of)
    band = np.searchsorted(np.array([low for low, _ in AGE_BANDS]),
                           np.nan_to_num(b.age_years), side="right") - 1
    rest = [np.bincount(rows.pidx[da_recent], minlength=n),
            rfg_all.recency, rfg_all.frequency, rfg_all.gravity, rfg_all.victims,
            *(band == k for k in range(len(AGE_BANDS))),
            np.nan_to_num(b.age_at_first), copas_rate(b, config),
            facts.liberty_days_12m, facts.in_custody, facts.periods]
    assert n_counts + len(rest) == len(specs), "feature columns out of step with feature_specs"
    for j, values in enumerate(rest, start=n_counts):
        matrix[:, j] = values
    return Features(specs=specs, matrix=matrix, basics=b, custody=facts)
