"""Held-out figures and the promotion gate: nothing replaces the threat model without beating it.

A trained model is a *candidate*. On back-test rows after its training cut-off (dates it
never saw) it is compared with the model in use (if any), the rule-based fallback and a
two-feature logistic baseline (age and number of prior recorded offences): AUC, Brier score,
expected calibration error (equal-width bins), a calibration table, and selection rate and
false positive rate by sex and by ethnicity (monitoring labels only, never inputs). The gate
(``thr.gate`` in the scoring configuration) turns those figures into a verdict with reasons
in words. Everything here works on plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import GateConfig

# scikit-learn is imported where a figure is computed or a baseline fitted, not at import:
# the app and the command line import this module for its summaries, and scikit-learn (with
# scipy) costs about a second of start-up.

# The contenders of a comparison, in the order tables show them.
CONTENDERS = ("candidate", "current", "rule_based", "baseline")
BASELINE_FEATURES = ("age", "log1p(prior_offences)")


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC, or None when the rows hold only one outcome."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Observed rate against mean predicted probability in equal-width probability bins.

    Examples
    --------
    >>> calibration_table(np.array([0, 1, 1]), np.array([0.05, 0.95, 0.9]), bins=2)
    [{'lower': 0.0, 'upper': 0.5, 'n': 1, 'mean_predicted': 0.05, 'observed_rate': 0.0}, \
{'lower': 0.5, 'upper': 1.0, 'n': 2, 'mean_predicted': 0.925, 'observed_rate': 1.0}]
    """
    which = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    out = []
    for k in range(bins):
        inside = which == k
        if inside.any():
            out.append({"lower": k / bins, "upper": (k + 1) / bins, "n": int(inside.sum()),
                        "mean_predicted": round(float(p[inside].mean()), 6),
                        "observed_rate": round(float(y[inside].mean()), 6)})
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Row-weighted mean |observed rate - mean prediction| over equal-width bins.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]),
    ...                            bins=2)
    0.175
    """
    table = calibration_table(np.asarray(y), np.asarray(p, dtype=float), bins)
    n = sum(row["n"] for row in table)
    gap = sum(row["n"] * abs(row["observed_rate"] - row["mean_predicted"]) for row in table)
    return round(gap / n, 6) if n else 0.0


def calibration_noise(table: list[dict[str, Any]]) -> float:
    """The ECE a perfectly calibrated model would show on these rows by chance alone.

    Each bin's observed rate strays from its mean prediction ``m`` by about
    ``sqrt(2 / pi) * sqrt(m (1 - m) / n)`` (the mean absolute deviation of a binomial rate),
    so a few hundred held-out rows show an ECE of several points even when the model is
    right: the gate allows for it rather than refuse good models on small forces.

    Examples
    --------
    >>> round(calibration_noise([{"n": 100, "mean_predicted": 0.5}]), 4)
    0.0399
    """
    n = sum(row["n"] for row in table)
    if not n:
        return 0.0
    spread = sum(row["n"] * np.sqrt(2 / np.pi) * np.sqrt(
        row["mean_predicted"] * (1 - row["mean_predicted"]) / row["n"]) for row in table)
    return round(float(spread / n), 6)


def group_metrics(y: np.ndarray, p: np.ndarray, groups: np.ndarray, *, threshold: float,
                  min_group_size: int) -> list[dict[str, Any]]:
    """AUC, false positive rate and selection rate per group label (for monitoring only)."""
    out = []
    labels = pd.Series(groups).fillna("not recorded").astype(str).to_numpy()
    for label in sorted(set(labels)):
        inside = labels == label
        yy, pp = y[inside], p[inside]
        selected = pp >= threshold
        negatives = yy == 0
        out.append({
            "group": label, "n": int(inside.sum()), "positives": int(yy.sum()),
            "auc": auc(yy, pp),
            "false_positive_rate": float(selected[negatives].mean()) if negatives.any()
            else None,
            "selection_rate": float(selected.mean()),
            "mean_predicted": float(pp.mean()), "observed_rate": float(yy.mean()),
            "small_group": bool(inside.sum() < min_group_size),
        })
    return out


def figures(y: np.ndarray, p: np.ndarray, *, groups: dict[str, np.ndarray], threshold: float,
            min_group_size: int) -> dict[str, Any]:
    """One contender's held-out figures: AUC, Brier, ECE, calibration and by-group rates."""
    from sklearn.metrics import brier_score_loss

    p = np.asarray(p, dtype=float)
    table = calibration_table(y, p)
    out: dict[str, Any] = {
        "comparable": True, "auc": auc(y, p), "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p), "ece_noise": calibration_noise(table),
        "calibration": table,
    }
    for column, labels in groups.items():
        out[f"by_{column}"] = group_metrics(y, p, labels, threshold=threshold,
                                            min_group_size=min_group_size)
    return out


@dataclass(frozen=True)
class Baseline:
    """The two-feature logistic baseline: age and log1p(prior recorded offences)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, age: np.ndarray, prior_offences: np.ndarray) -> np.ndarray:
        z = (_baseline_matrix(age, prior_offences) - self.mean) / self.scale
        return np.asarray(1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept))))

    def describe(self) -> dict[str, Any]:
        return {"features": list(BASELINE_FEATURES), "coef": self.coef.round(6).tolist(),
                "intercept": round(self.intercept, 6), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist()}

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> Baseline:
        """Rebuild from ``describe`` output (a card's ``baseline.parameters``)."""
        return cls(np.asarray(described["mean"], dtype=float),
                   np.asarray(described["scale"], dtype=float),
                   np.asarray(described["coef"], dtype=float), float(described["intercept"]))


def _baseline_matrix(age: np.ndarray, prior_offences: np.ndarray) -> np.ndarray:
    return np.column_stack([np.asarray(age, dtype=float),
                            np.log1p(np.maximum(np.asarray(prior_offences, dtype=float), 0))])


def fit_baseline(age: np.ndarray, prior_offences: np.ndarray, y: np.ndarray) -> Baseline:
    """Fit the baseline (unpenalised logistic regression on standardised inputs)."""
    from sklearn.linear_model import LogisticRegression

    x = _baseline_matrix(age, prior_offences)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    fit = LogisticRegression(C=np.inf, max_iter=1000).fit((x - mean) / scale, y)
    return Baseline(mean, scale, fit.coef_[0].astype(float), float(fit.intercept_[0]))


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def gate_verdict(comparison: dict[str, Any], gate: GateConfig) -> dict[str, Any]:
    """Whether the candidate may become current, each check and the reasons, in words.

    ``comparison["contenders"]`` holds ``figures`` per contender; a ``current`` that is
    missing or not comparable (other features) is not a hurdle.

    Examples
    --------
    >>> g = GateConfig(min_auc_gain=0.01, max_ece=0.05, ece_tolerance=0.01)
    >>> comp = {"contenders": {"candidate": {"comparable": True, "auc": 0.70, "ece": 0.02},
    ...                        "rule_based": {"comparable": True, "auc": 0.65, "ece": 0.04}}}
    >>> gate_verdict(comp, g)["passed"]
    True
    >>> comp["contenders"]["candidate"]["auc"] = 0.655
    >>> gate_verdict(comp, g)["reasons"]
    ["AUC 0.655 does not beat the rule-based fallback's 0.650 by the 0.010 required"]
    """
    contenders = comparison["contenders"]
    cand = contenders["candidate"]
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, text: str) -> None:
        checks.append({"check": name, "passed": passed, "text": text})

    hurdles = [("rule_based", "the rule-based fallback's")]
    current = contenders.get("current")
    if current is not None and current.get("comparable"):
        hurdles.append(("current", f"the current model's ({current.get('version')})"))
    for key, whose in hurdles:
        mine, theirs = cand.get("auc"), contenders[key].get("auc")
        if mine is None:
            check(f"auc_vs_{key}", False, "AUC could not be measured: the held-out rows "
                  "have only one outcome")
        elif theirs is None or mine >= theirs + gate.min_auc_gain:
            check(f"auc_vs_{key}", True, f"AUC {mine:.3f} beats {whose} {_num(theirs)} by at "
                  f"least {gate.min_auc_gain:.3f}")
        else:
            check(f"auc_vs_{key}", False, f"AUC {mine:.3f} does not beat {whose} "
                  f"{theirs:.3f} by the {gate.min_auc_gain:.3f} required")
    ece = float(cand["ece"])
    noise = float(cand.get("ece_noise") or 0.0)
    allowed = f"{gate.max_ece:.3f}" + (f" (+{noise:.3f} for chance on this many rows)"
                                       if noise else "")
    if ece <= gate.max_ece + noise:
        check("max_ece", True, f"calibration error {ece:.3f} is within {allowed}")
    else:
        check("max_ece", False, f"calibration error {ece:.3f} is above the {allowed} allowed")
    fallback_ece = float(contenders["rule_based"]["ece"])
    if ece <= fallback_ece + gate.ece_tolerance:
        check("ece_vs_rule_based", True, f"calibration error {ece:.3f} is no more than "
              f"{gate.ece_tolerance:.3f} above the rule-based fallback's {fallback_ece:.3f}")
    else:
        check("ece_vs_rule_based", False, f"calibration error {ece:.3f} is more than "
              f"{gate.ece_tolerance:.3f} above the rule-based fallback's {fallback_ece:.3f}")
    failed = [c["text"] for c in checks if not c["passed"]]
    return {"passed": not failed, "reasons": failed, "checks": checks,
            "rules": {"min_auc_gain": gate.min_auc_gain, "max_ece": gate.max_ece,
                      "ece_tolerance": gate.ece_tolerance}}


def comparison_summary(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per contender present: name, version, AUC, Brier, ECE (for tables)."""
    rows = []
    for name in CONTENDERS:
        c = comparison.get("contenders", {}).get(name)
        if c is None:
            continue
        rows.append({"contender": name, "version": c.get("version"),
                     "comparable": bool(c.get("comparable")), "auc": c.get("auc"),
                     "brier": c.get("brier"), "ece": c.get("ece")})
    return rows
