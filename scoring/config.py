"""The RFG / THR scoring configuration: rules and weights as versioned data.

The default file is ``scoring/data/rfg_config.yaml``; it explains every default. A force
supplies its own file with the same keys (all required; unknown keys are refused so a typo
never silently falls back to a default). Every score records ``ScoringConfig.version``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scoring.paths import SCORING_CONFIG
from scoring.rules import RulesReader, load_rules

DEFAULT_CONFIG_PATH = SCORING_CONFIG

COMPONENTS = ("recency", "frequency", "gravity", "victims")
STREAMS = ("all", "acquisitive", "domestic_abuse")
GRAVITY_MEASURES = ("gravity_level", "harm_weight")
BAND_SCORES = ("rfg", "risk")
# The band names the API promises (models.enums.Band): a configuration names some of them,
# highest first, so a client can rely on the set.
BAND_NAMES = ("very_high", "high", "medium", "low")


class ConfigError(ValueError):
    """The scoring configuration is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class RfgConfig:
    """Recency, frequency, gravity and victims rules (see the YAML for the reasoning)."""

    lookback_months: int
    recency_half_life_days: float
    frequency_half_saturation: float
    gravity_measure: str
    gravity_points: dict[int, float]
    gravity_half_saturation: float
    victims_half_saturation: float
    weights: dict[str, dict[str, float]]  # stream -> component -> weight


@dataclass(frozen=True)
class EscalationConfig:
    """When offending counts as escalating."""

    recent_months: int
    prior_months: int
    min_recent_offences: int


# The threat-model families training compares (scoring/fitting.py).
MODEL_FAMILIES = ("logistic", "boosted")


@dataclass(frozen=True)
class TrainingConfig:
    """How the threat model is back-tested, fitted and monitored."""

    step_months: int
    min_history_months: int
    test_dates: int
    rows: str  # "recent_events" or "everyone"
    max_custody_share: float
    max_rows_per_date: int
    families: tuple[str, ...]
    regularisation_c: float
    boosting_max_iter: int
    calibration_folds: int
    isotonic_min_positives: int
    selection_threshold: float
    min_group_size: int
    seed: int


@dataclass(frozen=True)
class GateConfig:
    """When a trained candidate may replace the threat model in use (see the YAML)."""

    min_auc_gain: float
    max_ece: float
    ece_tolerance: float


@dataclass(frozen=True)
class RuleBasedConfig:
    """The OGRS3-like fallback threat used before any model is trained."""

    intercept: float
    copas_multiplier: float
    copas_offset_years: float
    first_offence: float
    repeat_offence: float
    age_bands: tuple[int, ...]
    age_terms: tuple[float, ...]
    offence_terms: dict[str, float]


@dataclass(frozen=True)
class ThrConfig:
    """Threat, harm and risk settings."""

    horizon_months: int
    windows_months: tuple[int, ...]
    harm_half_life_days: float
    harm_full_scale_days: float
    training: TrainingConfig
    gate: GateConfig
    rule_based: RuleBasedConfig


@dataclass(frozen=True)
class BandConfig:
    """Headline bands: ``levels`` are (name, minimum score), highest first, last minimum 0."""

    score: str
    levels: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ScoringConfig:
    """A loaded, validated configuration.

    Attributes
    ----------
    version : str
        Recorded next to every score computed with this configuration.
    source : str
        The file it was read from ("" when built from a mapping).
    """

    version: str
    rfg: RfgConfig
    escalation: EscalationConfig
    thr: ThrConfig
    bands: BandConfig
    source: str = ""


def _int(value: float) -> int:
    return int(value) if math.isfinite(value) else 0


def _read_rfg(r: RulesReader, raw: object) -> RfgConfig:
    keys = ("lookback_months", "recency", "frequency", "gravity", "victims", "streams")
    sec = r.section(raw, "rfg", keys)
    rec = r.section(sec.get("recency", {}), "rfg.recency", ("half_life_days",))
    freq = r.section(sec.get("frequency", {}), "rfg.frequency", ("half_saturation",))
    grav = r.section(sec.get("gravity", {}), "rfg.gravity",
                     ("measure", "points", "half_saturation"))
    vic = r.section(sec.get("victims", {}), "rfg.victims", ("half_saturation",))
    measure = grav.get("measure")
    if "measure" in grav and measure not in GRAVITY_MEASURES:
        r.errors.append(f"rfg.gravity.measure: must be one of {GRAVITY_MEASURES} (got {measure!r})")
    points: dict[int, float] = {}
    raw_points = grav.get("points")
    if "points" in grav:
        if not isinstance(raw_points, Mapping) or sorted(raw_points) != [1, 2, 3, 4]:
            r.errors.append("rfg.gravity.points: must map each gravity level 1, 2, 3, 4 to points")
        else:
            points = {int(k): r.number(raw_points, k, "rfg.gravity.points", positive=True)
                      for k in (1, 2, 3, 4)}
            values = [points[k] for k in (1, 2, 3, 4)]
            if any(b < a for a, b in zip(values, values[1:], strict=False)):
                r.errors.append("rfg.gravity.points: must be non-decreasing in gravity level "
                                "(a more serious offence may never lower the score)")
    weights: dict[str, dict[str, float]] = {}
    streams = r.section(sec.get("streams", {}), "rfg.streams", STREAMS)
    for stream in STREAMS:
        if stream not in streams:
            continue
        spath = f"rfg.streams.{stream}"
        body = r.section(streams[stream], spath, ("weights",))
        wraw = r.section(body.get("weights", {}), f"{spath}.weights", COMPONENTS)
        w = {c: r.number(wraw, c, f"{spath}.weights", low=0) for c in COMPONENTS if c in wraw}
        total = sum(w.values())
        if len(w) == len(COMPONENTS) and math.isfinite(total) and abs(total - 1) > 1e-9:
            r.errors.append(f"{spath}.weights: must sum to 1 (got {total:g})")
        weights[stream] = w
    return RfgConfig(
        lookback_months=_int(r.number(sec, "lookback_months", "rfg", positive=True, integer=True)),
        recency_half_life_days=r.number(rec, "half_life_days", "rfg.recency", positive=True),
        frequency_half_saturation=r.number(freq, "half_saturation", "rfg.frequency",
                                           positive=True),
        gravity_measure=str(measure),
        gravity_points=points,
        gravity_half_saturation=r.number(grav, "half_saturation", "rfg.gravity", positive=True),
        victims_half_saturation=r.number(vic, "half_saturation", "rfg.victims", positive=True),
        weights=weights,
    )


def _read_escalation(r: RulesReader, raw: object) -> EscalationConfig:
    sec = r.section(raw, "escalation", ("recent_months", "prior_months", "min_recent_offences"))
    return EscalationConfig(
        recent_months=_int(r.number(sec, "recent_months", "escalation", positive=True,
                                    integer=True)),
        prior_months=_int(r.number(sec, "prior_months", "escalation", positive=True,
                                   integer=True)),
        min_recent_offences=_int(r.number(sec, "min_recent_offences", "escalation", low=1,
                                          integer=True)),
    )


def _read_training(r: RulesReader, raw: object) -> TrainingConfig:
    keys = ("step_months", "min_history_months", "test_dates", "rows", "max_custody_share",
            "max_rows_per_date", "families", "regularisation_c", "boosting_max_iter",
            "calibration_folds", "isotonic_min_positives", "selection_threshold",
            "min_group_size", "seed")
    p = "thr.training"
    sec = r.section(raw, p, keys)
    threshold = r.number(sec, "selection_threshold", p, positive=True)
    if threshold >= 1:
        r.errors.append(f"{p}.selection_threshold: must be below 1 (got {threshold:g})")
    share = r.number(sec, "max_custody_share", p, positive=True)
    if share > 1:
        r.errors.append(f"{p}.max_custody_share: must be at most 1 (got {share:g})")
    families = r.names(sec, "families", p)
    unknown = sorted(set(families) - set(MODEL_FAMILIES))
    if unknown or not families:
        r.errors.append(f"{p}.families: choose from {list(MODEL_FAMILIES)} (got "
                        f"{list(families)})")
    return TrainingConfig(
        step_months=_int(r.number(sec, "step_months", p, positive=True, integer=True)),
        min_history_months=_int(r.number(sec, "min_history_months", p, low=0, integer=True)),
        test_dates=_int(r.number(sec, "test_dates", p, positive=True, integer=True)),
        rows=r.choice(sec, "rows", p, ("recent_events", "everyone")),
        max_custody_share=share,
        max_rows_per_date=_int(r.number(sec, "max_rows_per_date", p, positive=True,
                                        integer=True)),
        families=families,
        regularisation_c=r.number(sec, "regularisation_c", p, positive=True),
        boosting_max_iter=_int(r.number(sec, "boosting_max_iter", p, positive=True,
                                        integer=True)),
        calibration_folds=_int(r.number(sec, "calibration_folds", p, low=2, integer=True)),
        isotonic_min_positives=_int(r.number(sec, "isotonic_min_positives", p, low=0,
                                             integer=True)),
        selection_threshold=threshold,
        min_group_size=_int(r.number(sec, "min_group_size", p, low=1, integer=True)),
        seed=_int(r.number(sec, "seed", p, low=0, integer=True)),
    )


def _read_gate(r: RulesReader, raw: object) -> GateConfig:
    p = "thr.gate"
    sec = r.section(raw, p, ("min_auc_gain", "max_ece", "ece_tolerance"))
    max_ece = r.number(sec, "max_ece", p, positive=True)
    if max_ece >= 1:
        r.errors.append(f"{p}.max_ece: must be below 1 (got {max_ece:g})")
    return GateConfig(min_auc_gain=r.number(sec, "min_auc_gain", p, low=0),
                      max_ece=max_ece, ece_tolerance=r.number(sec, "ece_tolerance", p, low=0))


def _read_rule_based(r: RulesReader, raw: object) -> RuleBasedConfig:
    keys = ("intercept", "copas_multiplier", "copas_offset_years", "first_offence",
            "repeat_offence", "age_bands", "age_terms", "offence_terms")
    p = "thr.rule_based"
    sec = r.section(raw, p, keys)
    bands = sec.get("age_bands", [])
    terms = sec.get("age_terms", [])
    if not isinstance(bands, list) or not bands or not all(
            isinstance(b, int) and not isinstance(b, bool) for b in bands):
        r.errors.append(f"{p}.age_bands: must be a non-empty list of whole years")
        bands = []
    elif any(b >= a for a, b in zip(bands[1:], bands, strict=False)):
        r.errors.append(f"{p}.age_bands: must be strictly increasing")
    if not isinstance(terms, list) or not all(
            isinstance(t, int | float) and not isinstance(t, bool) for t in terms):
        r.errors.append(f"{p}.age_terms: must be a list of numbers")
        terms = []
    elif bands and len(terms) != len(bands):
        r.errors.append(f"{p}.age_terms: needs one term per age band ({len(bands)}), "
                        f"got {len(terms)}")
    offence_terms = sec.get("offence_terms", {})
    if not isinstance(offence_terms, Mapping):
        r.errors.append(f"{p}.offence_terms: must map offence types to numbers")
        offence_terms = {}
    return RuleBasedConfig(
        intercept=r.number(sec, "intercept", p),
        copas_multiplier=r.number(sec, "copas_multiplier", p),
        copas_offset_years=r.number(sec, "copas_offset_years", p, positive=True),
        first_offence=r.number(sec, "first_offence", p),
        repeat_offence=r.number(sec, "repeat_offence", p),
        age_bands=tuple(int(b) for b in bands),
        age_terms=tuple(float(t) for t in terms),
        offence_terms={str(k): r.number(offence_terms, k, f"{p}.offence_terms")
                       for k in offence_terms},
    )


def _read_thr(r: RulesReader, raw: object) -> ThrConfig:
    sec = r.section(raw, "thr", ("horizon_months", "features", "harm", "training", "gate",
                                 "rule_based"))
    feats = r.section(sec.get("features", {}), "thr.features", ("windows_months",))
    harm = r.section(sec.get("harm", {}), "thr.harm", ("half_life_days", "full_scale_days"))
    windows = feats.get("windows_months", [])
    if not isinstance(windows, list) or not windows or not all(
            isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in windows):
        r.errors.append("thr.features.windows_months: must be a non-empty list of whole months > 0")
        windows = []
    elif any(b <= a for a, b in zip(windows, windows[1:], strict=False)):
        r.errors.append("thr.features.windows_months: must be strictly increasing")
    return ThrConfig(
        horizon_months=_int(r.number(sec, "horizon_months", "thr", positive=True, integer=True)),
        windows_months=tuple(int(w) for w in windows),
        harm_half_life_days=r.number(harm, "half_life_days", "thr.harm", positive=True),
        harm_full_scale_days=r.number(harm, "full_scale_days", "thr.harm", positive=True),
        training=_read_training(r, sec.get("training", {})),
        gate=_read_gate(r, sec.get("gate", {})),
        rule_based=_read_rule_based(r, sec.get("rule_based", {})),
    )


def _read_bands(r: RulesReader, raw: object) -> BandConfig:
    sec = r.section(raw, "bands", ("score", "levels"))
    score = sec.get("score")
    if "score" in sec and score not in BAND_SCORES:
        r.errors.append(f"bands.score: must be one of {BAND_SCORES} (got {score!r})")
    levels: list[tuple[str, float]] = []
    raw_levels = sec.get("levels", [])
    if not isinstance(raw_levels, list) or not raw_levels:
        r.errors.append("bands.levels: must be a non-empty list")
        raw_levels = []
    for i, item in enumerate(raw_levels):
        body = r.section(item, f"bands.levels[{i}]", ("name", "min"))
        name = str(body.get("name", ""))
        if name not in BAND_NAMES:
            r.errors.append(f"bands.levels[{i}].name: must be one of {BAND_NAMES} "
                            f"(got {name!r})")
        levels.append((name, r.number(body, "min", f"bands.levels[{i}]", low=0)))
    mins = [m for _, m in levels]
    if mins and (any(b >= a for a, b in zip(mins, mins[1:], strict=False)) or mins[-1] != 0):
        r.errors.append("bands.levels: minimums must fall strictly, highest first, ending at 0")
    return BandConfig(score=str(score), levels=tuple(levels))


def config_from_mapping(raw: object, *, source: str = "") -> ScoringConfig:
    """Validate a parsed configuration mapping.

    Parameters
    ----------
    raw : mapping
        The parsed YAML document.
    source : str, optional
        Where it came from, for messages and provenance.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    ConfigError
        Listing every missing, unknown or out-of-range setting.

    Examples
    --------
    >>> config_from_mapping({"version": "x"})
    Traceback (most recent call last):
    ...
    scoring.config.ConfigError: invalid scoring configuration: rfg: missing; ...
    """
    r = RulesReader(source)
    top = r.section(raw, "", ("version", "rfg", "escalation", "thr", "bands"))
    config = ScoringConfig(
        version=r.version(top),
        rfg=_read_rfg(r, top.get("rfg", {})),
        escalation=_read_escalation(r, top.get("escalation", {})),
        thr=_read_thr(r, top.get("thr", {})),
        bands=_read_bands(r, top.get("bands", {})),
        source=source,
    )
    r.check(ConfigError, "scoring configuration")
    return config


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> ScoringConfig:
    """Load and validate a scoring configuration file.

    Parameters
    ----------
    path : str or Path, optional
        A force's own file; the project default if omitted.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    ConfigError
        If the file is not valid YAML or any setting is missing, unknown or out of range.

    Examples
    --------
    >>> cfg = load_config()
    >>> cfg.rfg.lookback_months, cfg.rfg.weights["domestic_abuse"]["victims"]
    (24, 0.25)
    """
    return load_rules(path, config_from_mapping, error=ConfigError)


def band_for(scores: Any, config: ScoringConfig) -> np.ndarray:
    """Band names for an array of scores (0-100), highest level first.

    Parameters
    ----------
    scores : array_like, shape (n,)
    config : ScoringConfig

    Returns
    -------
    numpy.ndarray of str, shape (n,)

    Examples
    --------
    >>> band_for([80, 50, 10], load_config()).tolist()
    ['very_high', 'high', 'low']
    """
    names = np.array([name for name, _ in config.bands.levels], dtype=object)
    return names[band_codes(scores, config)]


def band_codes(scores: Any, config: ScoringConfig) -> np.ndarray:
    """Index into ``config.bands.levels`` for each score (0 = the highest band), shape (n,)."""
    values = np.asarray(scores, dtype=float)
    mins = np.array([m for _, m in config.bands.levels])
    # Levels fall, so a score's level is the count of levels whose minimum is above it.
    position = np.zeros(len(values), dtype=np.int8)
    for minimum in mins[:-1]:
        position += values < minimum
    return position
