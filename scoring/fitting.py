"""Fitting the threat model: two families, chosen by temporal cross-validation, calibrated
out of fold.

* ``logistic``: L2 logistic regression on standardised features (log1p for counts).
* ``boosted``: scikit-learn's ``HistGradientBoostingClassifier`` restricted to an additive
  form (``interaction_cst``: every tree splits on one feature only) and monotone increasing
  in every offence count. Being additive, it is a sum of one step function per feature,
  which is read off the fitted model exactly and stored as plain numbers
  (``ThreatModel.shapes``): each feature's contribution to a person's threat is then exact,
  as the explanation contract needs (scikit-learn has no TreeSHAP, and a surrogate's
  contributions would not add up to the threat). The read-off is checked against the
  fitted model's own scores.

Both families are fitted with row weights (``scoring.training``: 1 / rows of that person,
so a prolific person counts once, not hundreds of times). Folds chain forwards: each
validates on a later block of back-test dates and trains only on dates whose follow-up
ends before that block. The family with the best mean validation AUC wins (log loss breaks
a near tie); its out-of-fold scores calibrate the final fit, isotonic where there are
enough positives, else Platt scaling.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from scoring.config import ScoringConfig
from scoring.dates import add_months_to_date
from scoring.thr import ThreatModel, sigmoid

# Two families whose mean AUCs differ by less than this are a tie, settled by log loss.
AUC_TIE = 0.002
# Isotonic calibration is kept inside [floor, 1 - floor]: an empty lowest (or full highest)
# calibration step must not make anyone with a record certain either way.
ISOTONIC_FLOOR = 0.001


class FittingError(ValueError):
    """The rows cannot support a fit (one outcome only, or no fold)."""


def log_transform(matrix: np.ndarray, transforms: tuple[str, ...]) -> np.ndarray:
    x = np.array(matrix, dtype=float, copy=True)
    logged = np.array([t == "log1p" for t in transforms])
    x[:, logged] = np.log1p(np.maximum(x[:, logged], 0.0))
    return x


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, names: tuple[str, ...],
                 transforms: tuple[str, ...], config: ScoringConfig) -> ThreatModel:
    """The standardised L2 logistic regression, uncalibrated."""
    z = log_transform(x, transforms)
    mean = np.average(z, axis=0, weights=w)
    scale = np.sqrt(np.average((z - mean) ** 2, axis=0, weights=w))
    scale[scale == 0] = 1.0  # a constant feature contributes nothing
    fit = LogisticRegression(C=config.thr.training.regularisation_c, max_iter=1000).fit(
        (z - mean) / scale, y, sample_weight=w)
    return ThreatModel(version="unversioned", feature_names=names, transforms=transforms,
                       mean=mean, scale=scale, coef=fit.coef_[0].astype(float),
                       intercept=float(fit.intercept_[0]), calibration=(1.0, 0.0))


def monotone_in_counts(names: tuple[str, ...]) -> np.ndarray:
    """+1 (increasing) for every offence count feature, 0 for the rest."""
    return np.array([1 if n.startswith("count_") else 0 for n in names], dtype=np.int8)


def fit_boosted(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, names: tuple[str, ...],
                transforms: tuple[str, ...], config: ScoringConfig) -> ThreatModel:
    """The additive, count-monotone boosted model, read off as step functions."""
    rules = config.thr.training
    f = len(names)
    hgb = HistGradientBoostingClassifier(
        max_iter=rules.boosting_max_iter, learning_rate=0.1, max_leaf_nodes=8,
        l2_regularization=1.0, early_stopping=False, random_state=rules.seed,
        interaction_cst=[[j] for j in range(f)], monotonic_cst=monotone_in_counts(names))
    hgb.fit(x, y, sample_weight=w)
    return _read_off(hgb, x, w, names=names, transforms=transforms)


def _read_off(hgb: HistGradientBoostingClassifier, x: np.ndarray, w: np.ndarray, *,
              names: tuple[str, ...], transforms: tuple[str, ...]) -> ThreatModel:
    """One step function per feature: the model's score along each feature's bin edges
    with the other features held at a reference row (exact, because it is additive)."""
    # Splits fall only on the binning thresholds, so scoring one point per bin (its upper
    # edge, plus one beyond the last) gives each feature's whole function.
    thresholds = hgb._bin_mapper.bin_thresholds_
    reference = x[:1].astype(float)
    probes, owner = [], []
    for j, edges in enumerate(thresholds):
        points = np.append(edges, (edges[-1] if len(edges) else 0.0) + 1.0)
        block = np.repeat(reference, len(points), axis=0)
        block[:, j] = points
        probes.append(block)
        owner.append(np.full(len(points), j))
    base = float(hgb.decision_function(reference)[0])
    steps = hgb.decision_function(np.vstack(probes)) - base
    which = np.concatenate(owner)
    shapes, centre = [], 0.0
    for j, edges in enumerate(thresholds):
        values = steps[which == j]
        mean = float(np.average(values[np.searchsorted(edges, x[:, j])], weights=w))
        shapes.append((np.asarray(edges, dtype=float), values - mean))
        centre += mean
    f = len(names)
    model = ThreatModel(version="unversioned", feature_names=names, transforms=transforms,
                        mean=np.zeros(f), scale=np.ones(f), coef=np.zeros(f),
                        intercept=base + centre, calibration=(1.0, 0.0), family="boosted",
                        shapes=tuple(shapes))
    check = slice(0, min(len(x), 2000))
    if not np.allclose(score(model, x[check]), hgb.decision_function(x[check]), atol=1e-6):
        raise FittingError("the boosted model is not additive as read off: scikit-learn's "
                           "binning may have changed")
    return model


FAMILIES = {"logistic": fit_logistic, "boosted": fit_boosted}


def score(model: ThreatModel, matrix: np.ndarray) -> np.ndarray:
    """The additive score before calibration (the model's own link not applied)."""
    return model.baseline_logit + model.contributions(matrix).sum(axis=1)


def forward_folds(row_dates: np.ndarray, dates: list[dt.date], *, folds: int,
                  horizon_months: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validate) row masks: the dates split into ``folds + 1`` consecutive blocks;
    fold k validates on block k + 1 and trains on dates whose follow-up ends before it.

    Examples
    --------
    >>> days = [dt.date(2020, m, 1) for m in range(1, 13)] + [dt.date(2021, m, 1)
    ...                                                         for m in range(1, 13)]
    >>> rows = np.arange(24)
    >>> [(int(t.sum()), int(v.sum())) for t, v in forward_folds(rows, days, folds=2,
    ...                                                        horizon_months=3)]
    [(6, 8), (14, 8)]
    """
    used = np.unique(row_dates)
    blocks = np.array_split(used, folds + 1)
    out = []
    for block in blocks[1:]:
        if len(block) == 0:
            continue
        first = dates[int(block[0])]
        ends = np.array([add_months_to_date(dates[int(d)], horizon_months) <= first
                         for d in used])
        train = np.isin(row_dates, used[ends])
        validate = np.isin(row_dates, block)
        if train.any() and validate.any():
            out.append((train, validate))
    return out


def _fold_figures(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    p = np.clip(sigmoid(s), 1e-9, 1 - 1e-9)
    return (float(roc_auc_score(y, s, sample_weight=w)),
            float(log_loss(y, p, sample_weight=w, labels=[0, 1])))


def person_weights(person_year: np.ndarray) -> np.ndarray:
    """1 / (rows of that person in that year): each person weighs 1 a year, however many
    times they offended, as they would come up once at a year's meetings (and as the
    held-out year counts each person once).

    Examples
    --------
    >>> person_weights(np.array([7, 7, 7, 9])).tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 1.0]
    """
    _, inverse, counts = np.unique(person_year, return_inverse=True, return_counts=True)
    return np.asarray(1.0 / counts[inverse])


def choose_and_fit(x: np.ndarray, y: np.ndarray, person_year: np.ndarray,
                   row_dates: np.ndarray, dates: list[dt.date], *, names: tuple[str, ...],
                   transforms: tuple[str, ...],
                   config: ScoringConfig) -> tuple[ThreatModel, dict[str, Any]]:
    """Cross-validate each configured family forwards in time, fit the best on all rows and
    calibrate it on its out-of-fold scores in the latest fold (the nearest in time to the
    dates it will score, so a drifting base rate misleads it least). ``person_year`` keys
    each row's person and year: every fit, score and calibration weighs each person 1 a
    year (``person_weights``). Returns the model and
    what the card says."""
    rules = config.thr.training
    if len(np.unique(y)) < 2:
        raise FittingError("the training rows have only one outcome")
    # Each fold trains on dates whose follow-up ends before its validation block. A short
    # history may leave no such fold: then the gap goes (training labels overlap the
    # validation period in calendar time, though never its rows), and the card says so.
    for gap in (config.thr.horizon_months, 0):
        folds = [(t, v) for t, v in forward_folds(row_dates, dates,
                                                  folds=rules.calibration_folds,
                                                  horizon_months=gap)
                 if len(np.unique(y[t])) == 2 and len(np.unique(y[v])) == 2]
        if folds:
            break
    else:
        raise FittingError("too few back-test dates for a forward-chaining fold")
    held = folds[-1][1]
    results: dict[str, dict[str, Any]] = {}
    oof: dict[str, np.ndarray] = {}
    for family in rules.families:
        fit = FAMILIES[family]
        scores = np.zeros(len(y))
        per_fold = []
        for t, v in folds:
            model = fit(x[t], y[t], person_weights(person_year[t]), names=names,
                        transforms=transforms, config=config)
            scores[v] = score(model, x[v])
            per_fold.append(_fold_figures(y[v], scores[v], person_weights(person_year[v])))
        oof[family] = scores
        results[family] = {"folds": len(per_fold),
                           "auc": [round(a, 6) for a, _ in per_fold],
                           "log_loss": [round(b, 6) for _, b in per_fold],
                           "mean_auc": round(float(np.mean([a for a, _ in per_fold])), 6),
                           "mean_log_loss": round(float(np.mean([b for _, b in per_fold])), 6)}
    best_auc = max(r["mean_auc"] for r in results.values())
    tied = [f for f in rules.families if results[f]["mean_auc"] >= best_auc - AUC_TIE]
    chosen = min(tied, key=lambda f: results[f]["mean_log_loss"])
    final = FAMILIES[chosen](x, y, person_weights(person_year), names=names,
                             transforms=transforms, config=config)
    s, yy, ww = oof[chosen][held], y[held], person_weights(person_year[held])
    if int(yy.sum()) >= rules.isotonic_min_positives:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=ISOTONIC_FLOOR,
                                 y_max=1.0 - ISOTONIC_FLOOR).fit(s, yy, sample_weight=ww)
        final = replace(final, isotonic=(np.asarray(iso.X_thresholds_, dtype=float),
                                         np.asarray(iso.y_thresholds_, dtype=float)))
        method = "isotonic"
    else:
        platt = LogisticRegression(C=np.inf, max_iter=1000).fit(s[:, None], yy,
                                                                sample_weight=ww)
        slope, offset = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        final = replace(final, calibration=(slope, offset))
        method = "platt"
    return final, {"chosen": chosen, "families": results, "calibration_method": method,
                   "fold_gap_months": gap,
                   "calibration_rows": int(held.sum()),
                   "calibration_positives": int(yy.sum()),
                   "selection_rule": (f"best mean AUC over {len(folds)} forward-chaining folds; "
                                      f"within {AUC_TIE} the lower mean log loss")}
