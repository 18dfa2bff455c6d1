"""Synthetic offending histories for tests, benchmarks and demos (no real person in them).

The generator is simple but has the structure the scores are meant to find: criminal
careers start at a steady rate (mostly in the teens and twenties), people differ in a
persistent propensity to offend (gamma distributed), offending falls with age after the
early twenties, careers end in desistance after five years on average (the rate drops by
85 %), a share
specialise in acquisitive, violent, domestic-abuse or drug offending, and custody stops
offending in the community. So past frequency and recency predict future offending, which
is what the threat model must learn. Fully vectorised: a million people in seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue, load_catalogue

# Offence-type mix per profile, as relative weights over catalogue types (others 0).
PROFILES: dict[str, dict[str, float]] = {
    "acquisitive": {"burglary_residential": 4, "shoplifting": 8, "other_theft": 5,
                    "theft_from_vehicle": 3, "theft_of_vehicle": 2, "theft_from_person": 1,
                    "robbery_personal": 1, "drugs_possession": 2, "breach": 2,
                    "criminal_damage": 1, "fraud": 1},
    "violent": {"violence_with_injury": 4, "violence_without_injury": 5, "public_order": 4,
                "criminal_damage": 3, "weapons": 1, "robbery_personal": 1, "breach": 1,
                "drugs_possession": 1, "other": 1},
    "domestic_abuse": {"violence_with_injury": 3, "violence_without_injury": 5,
                       "stalking_harassment": 4, "criminal_damage": 2, "breach": 2,
                       "other_sexual": 0.3, "rape": 0.1, "public_order": 1},
    "drugs": {"drugs_possession": 5, "drugs_supply": 2, "weapons": 1, "other_theft": 1,
              "public_order": 1, "violence_without_injury": 1},
    "mixed": {"shoplifting": 3, "other_theft": 2, "violence_without_injury": 2,
              "criminal_damage": 2, "public_order": 2, "drugs_possession": 2, "other": 1,
              "burglary_residential": 1, "fraud": 1, "violence_with_injury": 1,
              "homicide": 0.005, "arson": 0.1},
}
PROFILE_SHARES = {"acquisitive": 0.35, "violent": 0.2, "domestic_abuse": 0.15, "drugs": 0.1,
                  "mixed": 0.2}
DA_TYPES = ("violence_with_injury", "violence_without_injury", "stalking_harassment",
            "criminal_damage", "other_sexual", "rape", "breach")
ETHNICITY_SHARES = {"W1": 0.78, "W9": 0.05, "A2": 0.03, "A1": 0.02, "B1": 0.03, "B2": 0.02,
                    "M1": 0.03, "O9": 0.02, "NS": 0.02}


@dataclass(frozen=True)
class SyntheticData:
    """Frames in the scoring contract, plus monitoring labels kept apart from them."""

    persons: pd.DataFrame     # person_id, date_of_birth
    offences: pd.DataFrame    # person_id, offence_date, offence_type, domestic_abuse, victim_ref
    custody: pd.DataFrame     # person_id, start_on, end_on
    monitoring: pd.DataFrame  # person_id, sex, ethnicity (never a scoring input)


def synthetic_histories(n_people: int, *, start: str = "2015-01-01", end: str = "2024-12-31",
                        mean_offences: float = 10.0, seed: int = 0,
                        catalogue: OffenceCatalogue | None = None,
                        victims: bool = True) -> SyntheticData:
    """Generate ``n_people`` people with about ``mean_offences`` offences each.

    Parameters
    ----------
    n_people : int
    start, end : "YYYY-MM-DD"
        The period offences fall in (quarterly time steps).
    mean_offences : float
        Target mean offences per person over the period (before custody removes some).
    seed : int
    catalogue : OffenceCatalogue, optional
    victims : bool
        Give domestic-abuse offences a ``victim_ref`` (string building is the slowest step).

    Returns
    -------
    SyntheticData
        Offences sorted by person and date, as a database extract would be.

    Examples
    --------
    >>> data = synthetic_histories(200, seed=1)
    >>> sorted(data.offences.columns)
    ['domestic_abuse', 'offence_date', 'offence_type', 'person_id', 'victim_ref']
    >>> 5 < len(data.offences) / 200 < 15
    True
    """
    cat = catalogue or load_catalogue()
    rng = np.random.default_rng(seed)
    first = int(np.datetime64(start, "D").astype(np.int64))
    last = int(np.datetime64(end, "D").astype(np.int64))
    quarters = np.arange(first, last + 1, 91)
    ids = np.arange(1, n_people + 1, dtype=np.int64)

    # Careers start at a steady rate from six years before the data window to its end, so
    # the offending population (and the base rate) is roughly stationary over time.
    career = rng.integers(first - 6 * 365, last - 90, n_people)
    age_at_start = 12.0 + rng.gamma(2.0, 4.0, n_people).clip(0, 45)
    dob = (career - age_at_start * 365.25).astype(np.int64)
    propensity = rng.gamma(0.7, 1.0, n_people).clip(0, 6)
    desist = career + rng.exponential(5 * 365.25, n_people)
    profiles = np.array(list(PROFILE_SHARES))
    profile = rng.choice(len(profiles), n_people, p=list(PROFILE_SHARES.values()))

    # One custody spell for some, likelier for the prolific; no offending while inside.
    jailed = rng.random(n_people) < np.minimum(0.08 + 0.25 * propensity, 0.6)
    c_start = first + rng.integers(0, max(last - first, 1), n_people)
    c_len = np.exp(rng.normal(5.5, 0.8, n_people)).astype(np.int64).clip(14, 2000)
    c_end = c_start + c_len

    mid = quarters[None, :] + 45
    age_q = (mid - dob[:, None]) / 365.25
    rate = propensity[:, None] * np.exp(-np.maximum(age_q - 21.0, 0.0) / 12.0)
    rate *= np.where(mid > desist[:, None], 0.15, 1.0)
    rate *= mid >= career[:, None]
    inside = jailed[:, None] & (mid >= c_start[:, None]) & (mid < c_end[:, None])
    rate *= ~inside
    rate *= mean_offences * n_people / max(rate.sum(), 1e-9)
    counts = rng.poisson(rate)
    person_pos, quarter = np.nonzero(counts)
    reps = counts[person_pos, quarter]
    person_pos = np.repeat(person_pos, reps)
    offset = rng.integers(0, 91, len(person_pos))
    day = np.repeat(quarters[quarter], reps) + offset
    # np.nonzero is person-major, quarter-minor: only the days within a quarter need sorting,
    # and a stable sort on this nearly sorted key is fast (a full lexsort takes 20x longer).
    order = np.argsort(np.repeat(np.arange(len(reps)), reps) * 128 + offset, kind="stable")
    person_pos, day = person_pos[order], day[order]
    keep = (day <= last) & ~(jailed[person_pos] & (day >= c_start[person_pos])
                             & (day < c_end[person_pos]))
    person_pos, day = person_pos[keep], day[keep]

    types = np.array(cat.offence_types, dtype=object)
    mix = np.zeros((len(profiles), len(types)))
    for k, name in enumerate(profiles):
        for offence_type, weight in PROFILES[name].items():
            mix[k, cat.table.index.get_loc(offence_type)] = weight
    cumulative = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(person_pos))
    type_code = np.zeros(len(person_pos), dtype=np.int64)
    offender_profile = profile[person_pos]
    for k in range(len(profiles)):
        rows = offender_profile == k
        type_code[rows] = np.searchsorted(cumulative[k], u[rows], side="right")
    type_code = np.minimum(type_code, len(types) - 1)

    da_type = np.isin(types, DA_TYPES)[type_code]
    da_person = profiles[profile[person_pos]] == "domestic_abuse"
    domestic = da_type & (rng.random(len(person_pos)) < np.where(da_person, 0.9, 0.05))

    victim_ref = pd.Series(pd.NA, index=range(len(person_pos)), dtype="str")
    if victims and domestic.any():
        n_victims = 1 + rng.poisson(0.6, n_people)
        pick = rng.integers(0, 1 << 30, len(person_pos)) % n_victims[person_pos]
        rows = np.flatnonzero(domestic)
        victim_ref.iloc[rows] = ("V" + pd.Series(ids[person_pos[rows]]).astype(str) + "-"
                                 + pd.Series(pick[rows]).astype(str)).to_numpy()

    offences = pd.DataFrame({
        "person_id": ids[person_pos],
        "offence_date": day.astype("datetime64[D]").astype("datetime64[s]"),
        "offence_type": pd.Series(types[type_code], dtype="str"),
        "domestic_abuse": domestic,
        "victim_ref": victim_ref,
    })
    persons = pd.DataFrame({"person_id": ids,
                            "date_of_birth": dob.astype("datetime64[D]").astype("datetime64[s]")})
    jail_rows = np.flatnonzero(jailed & (c_start <= last))
    released = c_end[jail_rows] <= last
    custody = pd.DataFrame({
        "person_id": ids[jail_rows],
        "start_on": c_start[jail_rows].astype("datetime64[D]").astype("datetime64[s]"),
        "end_on": pd.Series(np.where(released, c_end[jail_rows], 0).astype("datetime64[D]")
                            .astype("datetime64[s]")).where(released),
    })
    eth = list(ETHNICITY_SHARES)
    monitoring = pd.DataFrame({
        "person_id": ids,
        "sex": np.where(rng.random(n_people) < 0.15, "female", "male"),
        "ethnicity": np.array(eth)[rng.choice(len(eth), n_people,
                                              p=list(ETHNICITY_SHARES.values()))],
    })
    return SyntheticData(persons, offences, custody, monitoring)


def as_of_default(data: SyntheticData) -> dt.date:
    """The latest synthetic offence date: a natural ``as_of`` for "now"."""
    return pd.Timestamp(data.offences["offence_date"].max()).date()
