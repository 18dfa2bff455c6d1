"""Threat, harm and risk: who is most likely to cause harm next.

* **Threat**: the probability of a new recorded offence within ``thr.horizon_months`` (12) of
  ``as_of``. From a trained ``ThreatModel`` when there is one (threat_source ``"model"``),
  else from the documented OGRS3-like rule in the configuration (``"rule_based"``).
* **Harm**: expected seriousness if they do offend: the recency-weighted mean catalogue
  ``harm_weight`` (days of imprisonment, Crime Harm Index style) of their offences, on the
  stated scale ``100 * ln(1 + days) / ln(1 + full_scale_days)``, capped at 100.
* **Risk** = threat x harm: the expected harm in the horizon, 0-100.

Degenerate answers: a person with no offence on or before ``as_of`` has threat 0, harm 0 and
risk 0: neither the model nor the rule is defined for people without a record, and this
service scores known offenders only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.catalogue import OffenceCatalogue
from scoring.config import ConfigError, ScoringConfig
from scoring.features import Basics, check_no_protected, copas_rate
from scoring.history import Snapshot

RULE_TERMS = ("age", "copas", "status", "offence")


class ModelMismatchError(ValueError):
    """A model's features do not match what this catalogue and configuration produce."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large ``|x|``."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def harm_scores(snap: Snapshot, *, catalogue: OffenceCatalogue,
                config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """Harm (0-100) and the underlying recency-weighted mean harm weight in days, shape (P,).

    Examples
    --------
    >>> import datetime as dt
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> from scoring.history import Snapshot
    >>> cat = load_catalogue()
    >>> rob = cat.table.index.get_loc("robbery_personal")
    >>> snap = Snapshot(dt.date(2024, 1, 1), 2, np.array([0]), np.array([30]),
    ...                 np.array([rob], dtype=np.int16), np.array([False]), np.array([-1]))
    >>> harm, days = harm_scores(snap, catalogue=cat, config=load_config())
    >>> harm.round(1).tolist(), days.tolist()
    ([68.6, 0.0], [365.0, 0.0])
    """
    rules = config.thr
    # One exp2 per distinct age in days, then a gather: ages repeat millions of times.
    ages = np.arange(int(snap.days_ago.max(initial=0)) + 1)
    weight = np.exp2(ages * (-1.0 / rules.harm_half_life_days))[snap.days_ago]
    total = np.bincount(snap.pidx, weights=weight, minlength=snap.n_people)
    weight *= catalogue.column("harm_weight").astype(float, copy=False)[snap.type_code]
    weighted = np.bincount(snap.pidx, weights=weight, minlength=snap.n_people)
    days = np.divide(weighted, total, out=np.zeros(len(total)), where=total > 0)
    scaled = 100.0 * np.log1p(days) / np.log1p(rules.harm_full_scale_days)
    return np.minimum(scaled, 100.0), days


def check_rule_terms(catalogue: OffenceCatalogue, config: ScoringConfig) -> None:
    """Raise ``ConfigError`` if the rule's offence terms name types the catalogue lacks."""
    unknown = sorted(set(config.thr.rule_based.offence_terms) - set(catalogue.offence_types))
    if unknown:
        raise ConfigError(f"thr.rule_based.offence_terms: not catalogue types: {unknown}")


@dataclass(frozen=True)
class RuleBasedThreat:
    """The fallback's probability and its additive logit terms, each of shape (P,)."""

    threat: np.ndarray
    intercept: float
    terms: dict[str, np.ndarray]


def rule_based_threat(b: Basics, *, catalogue: OffenceCatalogue,
                      config: ScoringConfig) -> RuleBasedThreat:
    """OGRS3-like one-year probability, without sex (see ``thr.rule_based`` in the config).

    ``p = sigmoid(intercept + age term + copas_multiplier * copas + status + offence term)``,
    where status is the first/repeat term by the count of recorded offences and the offence
    term is that of the latest offence's type. Threat is 0 where there is no record.
    """
    check_rule_terms(catalogue, config)
    rule = config.thr.rule_based
    has = b.n_offences > 0
    band = np.searchsorted(np.array(rule.age_bands), np.maximum(b.age_whole, rule.age_bands[0]),
                           side="right") - 1
    age = np.array(rule.age_terms)[band]
    copas = rule.copas_multiplier * copas_rate(b, config)
    status = np.where(b.n_offences > 1, rule.repeat_offence, rule.first_offence)
    per_type = np.array([rule.offence_terms.get(t, 0.0) for t in catalogue.offence_types])
    offence = per_type[np.maximum(b.latest_type, 0)]
    terms = {name: np.where(has, values, 0.0)
             for name, values in zip(RULE_TERMS, (age, copas, status, offence), strict=True)}
    logit = rule.intercept + np.sum([terms[t] for t in RULE_TERMS], axis=0)
    return RuleBasedThreat(np.where(has, sigmoid(logit), 0.0), rule.intercept, terms)


@dataclass(frozen=True, eq=False)
class ThreatModel:
    """A trained additive threat model, stored as plain numbers (no pickle).

    The score is additive in the features: ``score = intercept + sum_j f_j(x_j)``, and the
    threat is a monotone map of it, so each feature's contribution is exact:

    * family ``logistic``: ``f_j = coef_j * z_j`` with ``z = (transform(x) - mean) / scale``
      (relative to a person at the training means);
    * family ``boosted``: ``f_j`` is a step function (``shapes[j]``: the upper edges of its
      steps and their values, centred on the training rows), read off a gradient-boosted
      model whose every tree splits on one feature only.

    Calibration is Platt scaling, ``logit = slope * score + offset``, or, when
    ``isotonic`` holds its points, a monotone piecewise-linear map from the score straight
    to the probability (``np.interp``).

    Attributes
    ----------
    version : str
    feature_names, transforms : tuple of str, length F
    mean, scale, coef : ndarray of float, shape (F,) (unused by ``boosted``)
    intercept : float
    calibration : (slope, offset), Platt scaling fitted out of fold ((1, 0) with isotonic)
    family : "logistic" or "boosted"
    shapes : tuple of (edges, values) per feature, for ``boosted``: the value for ``x`` is
        ``values[searchsorted(edges, x)]`` (so ``len(values) == len(edges) + 1``)
    isotonic : (scores, probabilities), increasing, or None
    card : dict
        The model card (training window, sample sizes, AUC, Brier, calibration, fairness).
    """

    version: str
    feature_names: tuple[str, ...]
    transforms: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration: tuple[float, float]
    card: dict[str, Any] = field(default_factory=dict, compare=False)
    family: str = "logistic"
    shapes: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    isotonic: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        check_no_protected(self.feature_names)
        if self.family == "boosted" and len(self.shapes) != len(self.feature_names):
            raise ValueError("a boosted model needs one shape per feature")

    def __eq__(self, other: object) -> bool:
        """Same parameters (the card is not compared)."""
        return isinstance(other, ThreatModel) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def check_features(self, names: tuple[str, ...]) -> None:
        """Raise ``ModelMismatchError`` unless ``names`` are the model's features, in order."""
        if tuple(names) != self.feature_names:
            missing = sorted(set(self.feature_names) - set(names))
            extra = sorted(set(names) - set(self.feature_names))
            raise ModelMismatchError(
                f"model {self.version} expects other features (missing {missing[:5]}, "
                f"unexpected {extra[:5]}): the catalogue's offence groups or the configured "
                "windows changed since training; retrain the model")

    def _transformed(self, matrix: np.ndarray, j: int) -> np.ndarray:
        column = np.asarray(matrix[:, j], dtype=float)
        return np.log1p(np.maximum(column, 0.0)) if self.transforms[j] == "log1p" else column

    def _term(self, matrix: np.ndarray, j: int) -> np.ndarray:
        """Feature j's share of the (Platt-scaled) score, shape (P,)."""
        slope = self.calibration[0]
        if self.family == "boosted":
            edges, values = self.shapes[j]
            return slope * values[np.searchsorted(edges, np.asarray(matrix[:, j], float))]
        multiplier = slope * self.coef[j] / self.scale[j]
        return multiplier * (self._transformed(matrix, j) - self.mean[j])

    @property
    def baseline_logit(self) -> float:
        """Score of a person at the training means (every contribution 0), on the scale
        ``link`` reads."""
        slope, offset = self.calibration
        return float(slope * self.intercept + offset)

    def link(self, score: np.ndarray) -> np.ndarray:
        """Probability from the score: the logistic function, or the isotonic map."""
        if self.isotonic is None:
            return sigmoid(score)
        xs, ys = self.isotonic
        return np.asarray(np.interp(np.asarray(score, dtype=float), xs, ys))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Each feature's additive share of the score, shape (P, F).

        ``link(baseline_logit + contributions.sum(axis=1))`` is the threat.
        """
        out = np.empty((matrix.shape[0], len(self.feature_names)), dtype=float)
        for j in range(len(self.feature_names)):
            out[:, j] = self._term(matrix, j)
        return out

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated probability, shape (P,), for a raw feature matrix of shape (P, F).

        Column by column, so a million people never need a second (P, F) matrix.
        """
        score = np.full(matrix.shape[0], self.baseline_logit)
        for j in range(len(self.feature_names)):
            score += self._term(matrix, j)
        return self.link(score)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (the card is stored beside them)."""
        out: dict[str, Any] = {
            "version": self.version, "feature_names": list(self.feature_names),
            "transforms": list(self.transforms), "mean": self.mean.tolist(),
            "scale": self.scale.tolist(), "coef": self.coef.tolist(),
            "intercept": self.intercept, "calibration": list(self.calibration)}
        if self.family != "logistic":  # a logistic model's file is as it always was
            out["family"] = self.family
            out["shapes"] = [{"edges": e.tolist(), "values": v.tolist()}
                             for e, v in self.shapes]
        if self.isotonic is not None:
            out["isotonic"] = {"scores": self.isotonic[0].tolist(),
                               "probabilities": self.isotonic[1].tolist()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], card: dict[str, Any] | None = None) -> ThreatModel:
        """Rebuild from ``to_dict`` output."""
        iso = data.get("isotonic")
        return cls(version=str(data["version"]),
                   feature_names=tuple(data["feature_names"]),
                   transforms=tuple(data["transforms"]),
                   mean=np.asarray(data["mean"], dtype=float),
                   scale=np.asarray(data["scale"], dtype=float),
                   coef=np.asarray(data["coef"], dtype=float),
                   intercept=float(data["intercept"]),
                   calibration=(float(data["calibration"][0]), float(data["calibration"][1])),
                   card=card or {}, family=str(data.get("family", "logistic")),
                   shapes=tuple((np.asarray(s["edges"], dtype=float),
                                 np.asarray(s["values"], dtype=float))
                                for s in data.get("shapes", [])),
                   isotonic=None if iso is None else (
                       np.asarray(iso["scores"], dtype=float),
                       np.asarray(iso["probabilities"], dtype=float)))


def risk_scores(threat: np.ndarray, harm: np.ndarray) -> np.ndarray:
    """Risk = threat (probability) x harm (0-100): expected harm in the horizon, 0-100.

    Examples
    --------
    >>> risk_scores(np.array([0.5, 0.0]), np.array([80.0, 90.0])).tolist()
    [40.0, 0.0]
    """
    return np.clip(threat * harm, 0.0, 100.0)


def rule_based_card(config: ScoringConfig, catalogue: OffenceCatalogue) -> dict[str, Any]:
    """The model card answer before any model is trained.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> rule_based_card(load_config(), load_catalogue())["threat_source"]
    'rule_based'
    """
    rule = config.thr.rule_based
    return {
        "threat_source": "rule_based",
        "model_version": rule_based_version(config),
        "config_version": config.version,
        "catalogue_version": catalogue.version,
        "horizon_months": config.thr.horizon_months,
        "description": (
            "No model has been trained. Threat is an OGRS3-like one-year logistic "
            "(Ministry of Justice public OGRS3 code) adapted for this service: sex is never "
            "used (each age term is the mean of OGRS3's male and female terms) and recorded "
            "offences stand in for sanctions. p = 1 / (1 + exp(-(intercept + age term + "
            "copas_multiplier * ln(offences / (offset + age - age at first offence)) + "
            "first/repeat term + latest offence type term))). It is not fitted to this "
            "force's data and has no measured accuracy here: train a model to get one."),
        "parameters": {
            "intercept": rule.intercept, "copas_multiplier": rule.copas_multiplier,
            "copas_offset_years": rule.copas_offset_years, "first_offence": rule.first_offence,
            "repeat_offence": rule.repeat_offence,
            "age_terms": dict(zip(map(str, rule.age_bands), rule.age_terms, strict=True)),
            "offence_terms": dict(rule.offence_terms),
        },
        "protected_characteristics_used": False,
    }


def rule_based_version(config: ScoringConfig) -> str:
    """The ``model_version`` recorded when the fallback made the threat."""
    return f"rule_based@{config.version}"


def model_card(model: ThreatModel | None, *, config: ScoringConfig,
               catalogue: OffenceCatalogue) -> dict[str, Any]:
    """What ``GET /model`` shows: the model's card, or the rule-based fallback's.

    The card always names the threat source and the versions; a model card also says
    whether the configuration or catalogue in use differ from those it was trained with.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> card = model_card(None, config=load_config(), catalogue=load_catalogue())
    >>> card["threat_source"], card["model_version"]
    ('rule_based', 'rule_based@2026.12-default-2')
    """
    if model is None:
        return rule_based_card(config, catalogue)
    card = dict(model.card)
    card.setdefault("threat_source", "model")
    card.setdefault("model_version", model.version)
    card["in_use_with"] = {
        "config_version": config.version, "catalogue_version": catalogue.version,
        "config_matches_training": card.get("config_version") == config.version,
        "catalogue_matches_training": card.get("catalogue_version") == catalogue.version,
    }
    return card
