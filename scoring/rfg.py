"""Recency, frequency, gravity (and victims): who has offended most, most recently, most seriously.

Per person, as of a date, over the offences dated on or before ``as_of`` only:

* ``recency = 100 * 0.5 ** (days since the latest offence / half_life_days)``
* ``frequency = 100 * n / (n + half_saturation)``, ``n`` = offences in the look-back window
* ``gravity = 100 * S / (S + half_saturation)``, ``S`` = summed gravity points (or harm
  weights) of the offences in the window
* ``victims = 100 * v / (v + half_saturation)``, ``v`` = distinct ``victim_ref`` in the window
* ``score`` = the stream's weighted sum of the four (weights sum to 1), so 0-100.

Every component is a non-decreasing function of counts, sums and the latest date, so a more
recent, an additional or a more serious offence never lowers any of them, and input order
cannot matter (gravity is summed from per-level counts, so even the float sum is exact for
whole-number points). Degenerate answers: a person with no offence in the stream on or
before ``as_of`` scores 0 on every component and is not escalating; an empty window gives 0
frequency, gravity and victims while recency still reflects older offending.

Streams: ``"all"``; ``"acquisitive"`` (catalogue ``neighbourhood_crime`` types only);
``"domestic_abuse"`` (offences flagged ``domestic_abuse`` only; RFGV-style victims weight).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue
from scoring.config import STREAMS, ScoringConfig
from scoring.dates import as_date
from scoring.history import (
    Snapshot,
    prepare_offences,
    prepare_people,
    select,
    snapshot,
    window_days,
)
from scoring.validation import ScoringInputError

RFG_COLUMNS = ("recency", "frequency", "gravity", "victims", "score")


def gravity_values(catalogue: OffenceCatalogue, config: ScoringConfig) -> np.ndarray:
    """Per catalogue row, the seriousness the gravity component sums, shape (T,).

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> cat = load_catalogue()
    >>> values = gravity_values(cat, load_config())
    >>> float(values[cat.table.index.get_loc("robbery_personal")])
    8.0
    """
    if config.rfg.gravity_measure == "harm_weight":
        return catalogue.column("harm_weight").astype(float)
    points = config.rfg.gravity_points
    return np.array([points[int(level)] for level in catalogue.column("gravity")], dtype=float)


def stream_mask(snap: Snapshot, catalogue: OffenceCatalogue, stream: str) -> np.ndarray | None:
    """Rows of the snapshot in ``stream`` (None for every row)."""
    if stream == "all":
        return None
    if stream == "acquisitive":
        return catalogue.column("neighbourhood_crime").astype(bool, copy=False)[snap.type_code]
    if stream == "domestic_abuse":
        return snap.domestic_abuse
    raise ScoringInputError(f"stream must be one of {STREAMS}, got {stream!r}")


def saturating(x: np.ndarray, half: float) -> np.ndarray:
    """``100 * x / (x + half)``: 0 at 0, 50 at ``half``, approaching 100."""
    return 100.0 * x / (x + half)


@dataclass(frozen=True)
class RfgArrays:
    """One stream's components and their raw inputs, each of shape (P,).

    ``latest_days`` is -1 where the person has no offence in the stream.
    """

    stream: str
    recency: np.ndarray
    frequency: np.ndarray
    gravity: np.ndarray
    victims: np.ndarray
    score: np.ndarray
    escalating: np.ndarray
    latest_days: np.ndarray
    n_window: np.ndarray
    gravity_sum: np.ndarray
    n_victims: np.ndarray


def _group_max(pidx: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=values.dtype)
    np.maximum.at(out, pidx, values)
    return out


def span_months(config: ScoringConfig) -> int:
    """The longest window any score looks at: rows older than this only feed recency."""
    return max(config.rfg.lookback_months,
               config.escalation.recent_months + config.escalation.prior_months,
               *config.thr.windows_months)


def recent_rows(snap: Snapshot, config: ScoringConfig) -> Snapshot:
    """The snapshot's rows inside ``span_months`` (shared by every windowed computation)."""
    return snap.within(window_days(snap.as_of, span_months(config)))


def latest_days(snap: Snapshot, mask: np.ndarray | None = None) -> np.ndarray:
    """Days since each person's latest offence (in ``mask``), -1 where there is none."""
    never = np.iinfo(np.int64).max
    latest = np.full(snap.n_people, never, dtype=np.int64)
    if mask is None:
        np.minimum.at(latest, snap.pidx, snap.days_ago)
    else:  # a stream is a minority of rows: select them rather than pad the rest
        np.minimum.at(latest, *select(mask, snap.pidx, snap.days_ago))
    latest[latest == never] = -1
    return latest


def rfg_arrays(snap: Snapshot, *, catalogue: OffenceCatalogue, config: ScoringConfig,
               stream: str = "all") -> RfgArrays:
    """Vectorised RFG for every person of a snapshot (no per-person Python).

    Parameters
    ----------
    snap : Snapshot
        Offences on or before ``as_of`` (see ``scoring.history.snapshot``).
    catalogue, config : the offence catalogue and scoring configuration.
    stream : {"all", "acquisitive", "domestic_abuse"}

    Returns
    -------
    RfgArrays
    """
    rules = config.rfg
    weights = rules.weights[stream]
    n = snap.n_people
    latest = latest_days(snap, stream_mask(snap, catalogue, stream))
    has_any = latest >= 0
    recency = np.where(has_any, 100.0 * np.exp2(-np.maximum(latest, 0)
                                                / rules.recency_half_life_days), 0.0)

    recent = recent_rows(snap, config)
    mask = stream_mask(recent, catalogue, stream)
    if mask is None:
        pidx, days, types, victim = recent.pidx, recent.days_ago, recent.type_code, recent.victim
    else:
        pidx, days, types, victim = select(mask, recent.pidx, recent.days_ago,
                                           recent.type_code, recent.victim)
    in_window = days < window_days(snap.as_of, rules.lookback_months)
    wp, wt, wv = select(in_window, pidx, types, victim)
    n_window = np.bincount(wp, minlength=n)

    # Sum seriousness from per-(person, level) counts in a fixed level order: exact and
    # independent of input row order, unlike a float bincount over rows.
    values = gravity_values(catalogue, config)
    levels, level_of_type = np.unique(values, return_inverse=True)
    counts = np.bincount(wp * len(levels) + level_of_type[wt],
                         minlength=n * len(levels)).reshape(n, len(levels))
    gravity_sum = np.zeros(n, dtype=float)
    for k, level_value in enumerate(levels):
        gravity_sum += counts[:, k] * level_value

    named = wv >= 0
    if named.any():
        base = int(wv.max()) + 1
        # Distinct (person, victim) pairs: a sort and a neighbour comparison take a tenth of
        # np.unique's time (which hashes) on the 400,000 named rows of a million people.
        named_p, named_v = select(named, wp, wv)
        pairs = np.sort(named_p * base + named_v)
        first = np.ones(len(pairs), dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        n_victims = np.bincount(pairs[first] // base, minlength=n)
    else:
        n_victims = np.zeros(n, dtype=np.int64)

    frequency = saturating(n_window.astype(float), rules.frequency_half_saturation)
    gravity = saturating(gravity_sum, rules.gravity_half_saturation)
    victims = saturating(n_victims.astype(float), rules.victims_half_saturation)
    score = (weights["recency"] * recency + weights["frequency"] * frequency
             + weights["gravity"] * gravity + weights["victims"] * victims)
    escalating = _escalating(snap.as_of, pidx, days, values[types], n, config)
    return RfgArrays(stream, recency, frequency, gravity, victims, score, escalating,
                     latest, n_window, gravity_sum, n_victims)


def _escalating(as_of: dt.date, pidx: np.ndarray, days: np.ndarray, seriousness: np.ndarray,
                n: int, config: ScoringConfig) -> np.ndarray:
    """Escalation from the stream's rows inside ``span_months`` (which covers both windows)."""
    esc = config.escalation
    recent_end = window_days(as_of, esc.recent_months)
    prior_end = window_days(as_of, esc.recent_months + esc.prior_months)
    recent = days < recent_end
    prior = (days >= recent_end) & (days < prior_end)
    recent_p, recent_s = select(recent, pidx, seriousness)
    prior_p, prior_s = select(prior, pidx, seriousness)
    n_recent = np.bincount(recent_p, minlength=n)
    n_prior = np.bincount(prior_p, minlength=n)
    worst_recent = _group_max(recent_p, recent_s, n)
    worst_prior = _group_max(prior_p, prior_s, n)
    more_frequent = (n_recent >= esc.min_recent_offences) & (n_recent > n_prior)
    more_serious = (n_prior >= 1) & (worst_recent > worst_prior)
    return more_frequent | more_serious


def _frame(ids: np.ndarray, arrays: RfgArrays, as_of: dt.date, config: ScoringConfig,
           catalogue: OffenceCatalogue) -> pd.DataFrame:
    frame = pd.DataFrame({
        "person_id": ids,
        "recency": arrays.recency,
        "frequency": arrays.frequency,
        "gravity": arrays.gravity,
        "victims": arrays.victims,
        "score": arrays.score,
        "escalating": arrays.escalating,
    })
    frame.insert(1, "as_of", np.full(len(ids), as_of, dtype=object))
    frame.insert(2, "stream", constant_category(arrays.stream, len(ids)))
    frame["config_version"] = constant_category(config.version, len(ids))
    frame["catalogue_version"] = constant_category(catalogue.version, len(ids))
    return frame


def constant_category(value: str, n: int) -> pd.Categorical:
    """A categorical column holding one value ``n`` times (cheap at a million rows)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def rfg_scores(offences: pd.DataFrame, *, as_of: dt.date | str, catalogue: OffenceCatalogue,
               config: ScoringConfig, stream: str = "all",
               persons: pd.DataFrame | None = None) -> pd.DataFrame:
    """RFG per person as of a date, vectorised.

    Parameters
    ----------
    offences : DataFrame, shape (N, >=3)
        ``person_id``, ``offence_date``, ``offence_type`` and optionally ``domestic_abuse``,
        ``victim_ref`` (see ``scoring.history``). Offences after ``as_of`` are ignored.
    as_of : date or "YYYY-MM-DD"
    catalogue : OffenceCatalogue
    config : ScoringConfig
    stream : {"all", "acquisitive", "domestic_abuse"}
    persons : DataFrame, optional
        If given, exactly its people (``person_id``) are scored, those without offences
        scoring 0; otherwise everyone with an offence row.

    Returns
    -------
    DataFrame, shape (P, 11)
        One row per person, sorted by ``person_id``: ``person_id``, ``as_of``, ``stream``,
        ``recency``, ``frequency``, ``gravity``, ``victims``, ``score`` (floats, 0-100),
        ``escalating`` (bool), ``config_version``, ``catalogue_version``.

    Raises
    ------
    ScoringInputError
        If a frame breaks the input contract or ``stream`` is unknown.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> offences = pd.DataFrame({"person_id": [1, 1, 2],
    ...     "offence_date": pd.to_datetime(["2024-06-30", "2024-01-02", "2025-01-01"]),
    ...     "offence_type": ["burglary_residential", "shoplifting", "shoplifting"]})
    >>> out = rfg_scores(offences, as_of="2024-06-30", catalogue=load_catalogue(),
    ...                  config=load_config())
    >>> out[["person_id", "recency", "frequency", "gravity"]].round(1).to_numpy().tolist()
    [[1.0, 100.0, 33.3, 38.5], [2.0, 0.0, 0.0, 0.0]]
    """
    day = as_date(as_of)
    if stream not in STREAMS:
        raise ScoringInputError(f"stream must be one of {STREAMS}, got {stream!r}")
    people = prepare_people(persons, offences, birth_dates=False)
    snap = snapshot(prepare_offences(offences, people, catalogue), people.n, day)
    arrays = rfg_arrays(snap, catalogue=catalogue, config=config, stream=stream)
    return _frame(people.ids, arrays, day, config, catalogue)


# --- the slow, obviously-correct reference --------------------------------------------------


def _reference_one(rows: Iterable[tuple[dt.date, str, bool, object]], as_of: dt.date,
                   catalogue: OffenceCatalogue, config: ScoringConfig,
                   stream: str) -> dict[str, float | bool]:
    rules = config.rfg
    table = catalogue.table
    start = (pd.Timestamp(as_of) - pd.DateOffset(months=rules.lookback_months)).date()
    esc = config.escalation
    recent_start = (pd.Timestamp(as_of) - pd.DateOffset(months=esc.recent_months)).date()
    prior_start = (pd.Timestamp(as_of)
                   - pd.DateOffset(months=esc.recent_months + esc.prior_months)).date()

    def seriousness(offence_type: str) -> float:
        if rules.gravity_measure == "harm_weight":
            return float(table.loc[offence_type, "harm_weight"])
        return float(rules.gravity_points[int(table.loc[offence_type, "gravity"])])

    def in_stream(offence_type: str, domestic_abuse: bool) -> bool:
        if stream == "acquisitive":
            return bool(table.loc[offence_type, "neighbourhood_crime"])
        if stream == "domestic_abuse":
            return bool(domestic_abuse)
        return True

    kept = [(d, t, v) for d, t, da, v in rows if d <= as_of and in_stream(t, da)]
    if not kept:
        return {"recency": 0.0, "frequency": 0.0, "gravity": 0.0, "victims": 0.0,
                "score": 0.0, "escalating": False}
    latest = max(d for d, _, _ in kept)
    recency = 100.0 * 0.5 ** ((as_of - latest).days / rules.recency_half_life_days)
    window = [(d, t, v) for d, t, v in kept if d > start]
    n = len(window)
    total = sum(seriousness(t) for _, t, _ in window)
    victims = len({v for _, _, v in window if isinstance(v, str)})
    components = {
        "recency": recency,
        "frequency": 100.0 * n / (n + rules.frequency_half_saturation),
        "gravity": 100.0 * total / (total + rules.gravity_half_saturation),
        "victims": 100.0 * victims / (victims + rules.victims_half_saturation),
    }
    weights = rules.weights[stream]
    score = sum(weights[c] * components[c] for c in components)
    recent = [t for d, t, _ in kept if d > recent_start]
    prior = [t for d, t, _ in kept if prior_start < d <= recent_start]
    more_frequent = len(recent) >= esc.min_recent_offences and len(recent) > len(prior)
    more_serious = bool(prior) and bool(recent) and (
        max(map(seriousness, recent)) > max(map(seriousness, prior)))
    return {**components, "score": score, "escalating": more_frequent or more_serious}


def rfg_scores_reference(offences: pd.DataFrame, *, as_of: dt.date | str,
                         catalogue: OffenceCatalogue, config: ScoringConfig,
                         stream: str = "all",
                         persons: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same answer as ``rfg_scores``, one person at a time in plain Python.

    Written straight from the module's formulas to check the vectorised version (and as the
    benchmark's baseline); far too slow for real use.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> offences = pd.DataFrame({"person_id": [7], "offence_date": [dt.date(2024, 1, 1)],
    ...                          "offence_type": ["robbery_personal"]})
    >>> ref = rfg_scores_reference(offences, as_of="2024-01-01", catalogue=load_catalogue(),
    ...                            config=load_config())
    >>> round(float(ref.loc[0, "score"]), 2)   # 0.3*100 + 0.35*20 + 0.35*50
    54.5
    """
    day = as_date(as_of)
    ids = sorted(set(persons["person_id"]) if persons is not None
                 else set(offences["person_id"]))
    by_person: dict[int, list[tuple[dt.date, str, bool, object]]] = {int(i): [] for i in ids}
    has_da = "domestic_abuse" in offences.columns
    has_victim = "victim_ref" in offences.columns
    for row in offences.itertuples(index=False):
        offence_date = pd.Timestamp(row.offence_date).date()
        victim = row.victim_ref if has_victim else None
        by_person[int(row.person_id)].append(
            (offence_date, str(row.offence_type), bool(row.domestic_abuse) if has_da else False,
             victim if isinstance(victim, str) else None))
    records = [{"person_id": pid, **_reference_one(rows, day, catalogue, config, stream)}
               for pid, rows in by_person.items()]
    frame = pd.DataFrame.from_records(
        records, columns=["person_id", *RFG_COLUMNS[:4], "score", "escalating"])
    frame["person_id"] = frame["person_id"].astype(np.int64)
    frame["escalating"] = frame["escalating"].astype(bool)
    return frame
