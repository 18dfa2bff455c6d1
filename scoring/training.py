"""Training the threat model by back-testing on the stored histories themselves.

At as_of dates every ``step_months`` through the history, each person with a record is a
row: features as of that date (``scoring.features``, which sees only offences on or before
it) and the label "any offence in the following ``horizon_months``", i.e. dated in
``(as_of, as_of + horizon]``. People in custody for that whole follow-up (a period covering
every day of it) are excluded, not counted as successes; so are people who died before its
end and anyone under 10 on the as_of date.

Validation is temporal: the last ``test_dates`` dates are held out and the model is fitted
only on dates whose follow-up ends on or before the first test date, so no training label
overlaps the test period. The model returned is that fit, a *candidate*: its card compares
it on the held-out dates with the model in use, the rule-based fallback and a two-feature
baseline (``scoring.governance``), with AUC / false positive rate / selection rate by sex and
by ethnicity when monitoring labels are supplied (they are never features), and carries the
promotion gate's verdict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import GroupKFold

from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig
from scoring.dates import add_months_to_date, as_date, day_number
from scoring.features import basics, build_features, check_no_protected, feature_specs
from scoring.governance import (
    auc,
    calibration_table,
    figures,
    fit_baseline,
    gate_verdict,
    group_metrics,
)
from scoring.history import (
    Custody,
    Offences,
    People,
    prepare_custody,
    prepare_offences,
    prepare_people,
    snapshot,
)
from scoring.rfg import rfg_arrays
from scoring.thr import ThreatModel, rule_based_threat, rule_based_version

Progress = Callable[[int, int, str], None]


class TrainingDataError(ValueError):
    """Too little history (or only one outcome) to train and validate a model."""


def backtest_dates(first: dt.date, data_end: dt.date, config: ScoringConfig) -> list[dt.date]:
    """As-of dates from ``min_history_months`` after ``first`` while labels are complete.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> dates = backtest_dates(dt.date(2015, 1, 31), dt.date(2019, 12, 31), load_config())
    >>> dates[0], dates[-1], len(dates)
    (datetime.date(2017, 1, 31), datetime.date(2018, 10, 31), 8)
    """
    rules = config.thr.training
    start = add_months_to_date(first, rules.min_history_months)
    dates: list[dt.date] = []
    k = 0
    while True:
        day = add_months_to_date(start, k * rules.step_months)
        if add_months_to_date(day, config.thr.horizon_months) > data_end:
            return dates
        dates.append(day)
        k += 1


@dataclass(frozen=True)
class TrainingSet:
    """Back-test rows, shape (R, F) for ``matrix`` and (R,) for the rest.

    ``date_index`` points into ``as_of_dates``; ``rule_based`` is the fallback's prediction
    for the same row, kept to compare against on held-out dates; ``age`` (whole years) and
    ``prior_offences`` feed the two-feature baseline of the comparison.
    """

    as_of_dates: list[dt.date]
    date_index: np.ndarray
    person_ids: np.ndarray
    matrix: np.ndarray
    label: np.ndarray
    rule_based: np.ndarray
    feature_names: tuple[str, ...]
    transforms: tuple[str, ...]
    age: np.ndarray
    prior_offences: np.ndarray


def _labels(offences: Offences, custody: Custody, people: People, as_of: dt.date,
            horizon_months: int) -> tuple[np.ndarray, np.ndarray]:
    """(reoffended, excluded) per person for the follow-up ``(as_of, as_of + horizon]``."""
    n = people.n
    cut = day_number(as_of)
    end = day_number(add_months_to_date(as_of, horizon_months))
    ahead = (offences.day > cut) & (offences.day <= end)
    reoffended = np.bincount(offences.pidx[ahead], minlength=n) > 0
    covers = (custody.start_day <= cut + 1) & (custody.end_day > end)
    excluded = np.bincount(custody.pidx[covers], minlength=n) > 0
    excluded |= people.deceased_day <= end
    return reoffended, excluded


def build_training_set(offences: pd.DataFrame, persons: pd.DataFrame,
                       custody: pd.DataFrame | None = None, *, catalogue: OffenceCatalogue,
                       config: ScoringConfig, data_end: dt.date | str | None = None,
                       progress: Progress | None = None) -> TrainingSet:
    """Features and labels at every back-test date.

    Parameters
    ----------
    offences, persons, custody : DataFrame
        The scoring frames (``scoring.history``); ``custody`` may be None.
    data_end : date, optional
        The last day the data cover (default: the latest offence date).
    progress : callable(done, total, message), optional

    Raises
    ------
    TrainingDataError
        If the history is too short for any back-test date.
    """
    people = prepare_people(persons)
    arrays = prepare_offences(offences, people, catalogue)
    spells = prepare_custody(custody, people)
    if arrays.n == 0:
        raise TrainingDataError("no offences to learn from")
    first = dt.date(1970, 1, 1) + dt.timedelta(days=int(arrays.day.min()))
    end = as_date(data_end) if data_end is not None else (
        dt.date(1970, 1, 1) + dt.timedelta(days=int(arrays.day.max())))
    dates = backtest_dates(first, end, config)
    if not dates:
        raise TrainingDataError(
            f"history {first}..{end} is too short: it needs "
            f"{config.thr.training.min_history_months} months before the first back-test date "
            f"and {config.thr.horizon_months} months of follow-up after it")
    rules = config.thr.training
    rng = np.random.default_rng(rules.seed)
    specs = feature_specs(catalogue, config)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("date", "pid", "x", "y", "rule",
                                                          "age", "prior")}
    for i, as_of in enumerate(dates):
        if progress is not None:
            progress(i, len(dates), f"back-test features as of {as_of}")
        snap = snapshot(arrays, people.n, as_of)
        rfg_all = rfg_arrays(snap, catalogue=catalogue, config=config, stream="all")
        b = basics(snap, people, catalogue, config, latest=rfg_all.latest_days)
        reoffended, excluded = _labels(arrays, spells, people, as_of, config.thr.horizon_months)
        rows = np.flatnonzero((b.n_offences > 0) & (b.age_whole >= 10) & ~excluded)
        if len(rows) > rules.max_rows_per_date:
            rows = np.sort(rng.choice(rows, rules.max_rows_per_date, replace=False))
        if len(rows) == 0:
            continue
        feats = build_features(snap, people, spells, catalogue=catalogue, config=config,
                               rfg_all=rfg_all, history=b)
        parts["date"].append(np.full(len(rows), i))
        parts["pid"].append(people.ids[rows])
        parts["x"].append(feats.matrix[rows].astype(np.float32))
        parts["y"].append(reoffended[rows].astype(np.int8))
        parts["rule"].append(rule_based_threat(b, catalogue=catalogue, config=config)
                             .threat[rows])
        parts["age"].append(b.age_whole[rows].astype(np.float32))
        parts["prior"].append(b.n_offences[rows].astype(np.int32))
    if progress is not None:
        progress(len(dates), len(dates), "back-test features done")
    if not parts["x"]:
        raise TrainingDataError("no eligible people at any back-test date")
    names = tuple(s.name for s in specs)
    check_no_protected(names)
    return TrainingSet(dates, np.concatenate(parts["date"]), np.concatenate(parts["pid"]),
                       np.concatenate(parts["x"]), np.concatenate(parts["y"]),
                       np.concatenate(parts["rule"]), names, tuple(s.transform for s in specs),
                       np.concatenate(parts["age"]), np.concatenate(parts["prior"]))


def _transform(matrix: np.ndarray, transforms: tuple[str, ...]) -> np.ndarray:
    x = np.array(matrix, dtype=float, copy=True)
    logged = np.array([t == "log1p" for t in transforms])
    x[:, logged] = np.log1p(np.maximum(x[:, logged], 0.0))
    return x


def fit_threat_model(ts: TrainingSet, rows: np.ndarray, config: ScoringConfig, *,
                     version: str = "unversioned") -> ThreatModel:
    """Fit the standardised L2 logistic regression and its out-of-fold Platt calibration.

    Parameters
    ----------
    ts : TrainingSet
    rows : ndarray of bool, shape (R,)
        The rows to fit on.
    """
    rules = config.thr.training
    y = ts.label[rows]
    if len(np.unique(y)) < 2:
        raise TrainingDataError("the training rows have only one outcome")
    x = _transform(ts.matrix[rows], ts.transforms)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature contributes nothing
    z = (x - mean) / scale
    groups = ts.date_index[rows]

    def fit(zz: np.ndarray, yy: np.ndarray) -> LogisticRegression:
        return LogisticRegression(C=rules.regularisation_c, max_iter=1000).fit(zz, yy)

    n_folds = min(rules.calibration_folds, len(np.unique(groups)))
    if n_folds >= 2:
        out_of_fold = np.zeros(len(y))
        for train, held in GroupKFold(n_splits=n_folds).split(z, y, groups):
            if len(np.unique(y[train])) < 2:
                raise TrainingDataError("a calibration fold has only one outcome")
            out_of_fold[held] = fit(z[train], y[train]).decision_function(z[held])
        platt = LogisticRegression(C=np.inf, max_iter=1000).fit(out_of_fold[:, None], y)
        calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    else:
        calibration = (1.0, 0.0)
    model = fit(z, y)
    return ThreatModel(version=version, feature_names=ts.feature_names,
                       transforms=ts.transforms, mean=mean, scale=scale,
                       coef=model.coef_[0].astype(float), intercept=float(model.intercept_[0]),
                       calibration=calibration)


def _window(ts: TrainingSet, rows: np.ndarray) -> dict[str, Any]:
    used = np.unique(ts.date_index[rows])
    return {"first_as_of": ts.as_of_dates[used[0]].isoformat(),
            "last_as_of": ts.as_of_dates[used[-1]].isoformat(),
            "dates": len(used), "rows": int(rows.sum()),
            "people": int(len(np.unique(ts.person_ids[rows]))),
            "positives": int(ts.label[rows].sum())}


def temporal_split(ts: TrainingSet, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row masks: test = last ``test_dates`` dates; train labels end before it."""
    n_test = config.thr.training.test_dates
    if len(ts.as_of_dates) <= n_test:
        raise TrainingDataError(
            f"{len(ts.as_of_dates)} back-test dates: need more than test_dates={n_test}")
    first_test = ts.as_of_dates[-n_test]
    horizon = config.thr.horizon_months
    train_dates = [i for i, d in enumerate(ts.as_of_dates)
                   if add_months_to_date(d, horizon) <= first_test]
    if not train_dates:
        raise TrainingDataError("no back-test date ends its follow-up before the test period")
    train = np.isin(ts.date_index, train_dates)
    test = ts.date_index >= len(ts.as_of_dates) - n_test
    return train, test


def evaluate(ts: TrainingSet, model: ThreatModel, rows: np.ndarray, config: ScoringConfig,
             monitoring: pd.DataFrame | None = None) -> dict[str, Any]:
    """Held-out figures for the model and the rule-based fallback on the same rows."""
    y = ts.label[rows]
    p = model.predict(ts.matrix[rows])
    rule = ts.rule_based[rows]
    rules = config.thr.training
    result: dict[str, Any] = {
        "model": {"auc": auc(y, p), "brier": float(brier_score_loss(y, p))},
        "rule_based": {"auc": auc(y, rule), "brier": float(brier_score_loss(y, rule))},
        "calibration": calibration_table(y, p),
        "selection_threshold": rules.selection_threshold,
    }
    for column, labels in _monitoring_labels(ts, rows, monitoring).items():
        result[f"by_{column}"] = group_metrics(y, p, labels,
                                               threshold=rules.selection_threshold,
                                               min_group_size=rules.min_group_size)
    return result


def _monitoring_labels(ts: TrainingSet, rows: np.ndarray,
                       monitoring: pd.DataFrame | None) -> dict[str, np.ndarray]:
    if monitoring is None:
        return {}
    lookup = monitoring.drop_duplicates("person_id").set_index("person_id")
    return {column: lookup[column].reindex(ts.person_ids[rows]).to_numpy()
            for column in ("sex", "ethnicity") if column in lookup.columns}


def compare_candidate(candidate: ThreatModel, ts: TrainingSet, config: ScoringConfig, *,
                      current: ThreatModel | None = None,
                      monitoring: pd.DataFrame | None = None) -> dict[str, Any]:
    """The candidate against the current model, the fallback and the baseline, on the rows
    of ``ts`` after its temporal cut-off (``temporal_split``).

    The baseline (``scoring.governance``) is fitted on the rows before the cut-off. ``ts`` is
    the candidate's own back-test (it was fitted on the same earlier rows) or another
    force's, none of which it saw. A current model with other features is shown as not
    comparable. ``monitoring`` labels only split the figures by group.
    """
    train, test = temporal_split(ts, config)
    y = ts.label[test]
    rules = config.thr.training
    groups = _monitoring_labels(ts, test, monitoring)

    def fig(p: np.ndarray) -> dict[str, Any]:
        return figures(y, p, groups=groups, threshold=rules.selection_threshold,
                       min_group_size=rules.min_group_size)

    contenders: dict[str, dict[str, Any]] = {
        "candidate": {"version": candidate.version, **fig(candidate.predict(ts.matrix[test]))}}
    if current is not None and tuple(current.feature_names) == ts.feature_names:
        contenders["current"] = {"version": current.version,
                                 **fig(current.predict(ts.matrix[test]))}
    elif current is not None:
        contenders["current"] = {"version": current.version, "comparable": False,
                                 "note": "it uses other features (the catalogue or the "
                                         "configured windows changed): it cannot score now"}
    contenders["rule_based"] = {"version": rule_based_version(config),
                                **fig(ts.rule_based[test])}
    base = fit_baseline(ts.age[train], ts.prior_offences[train], ts.label[train])
    contenders["baseline"] = {
        "version": "baseline: logistic on age and prior recorded offences",
        **fig(base.predict(ts.age[test], ts.prior_offences[test])),
        "parameters": base.describe()}
    return {"cut_off": ts.as_of_dates[int(ts.date_index[test].min())].isoformat(),
            "train_window": _window(ts, train), "test_window": _window(ts, test),
            "selection_threshold": rules.selection_threshold, "ece_bins": 10,
            "contenders": contenders}


def train_threat_model(offences: pd.DataFrame, persons: pd.DataFrame,
                       custody: pd.DataFrame | None = None, *, catalogue: OffenceCatalogue,
                       config: ScoringConfig, data_end: dt.date | str | None = None,
                       monitoring: pd.DataFrame | None = None,
                       current: ThreatModel | None = None,
                       progress: Progress | None = None,
                       trained_at: dt.datetime | None = None) -> ThreatModel:
    """Back-test, fit a candidate on the dates before the cut-off, compare it on the later
    dates it never saw, apply the gate, and write the model card.

    Parameters
    ----------
    offences, persons, custody : DataFrame
        The scoring frames; ``persons`` is read for ``date_of_birth`` (and ``deceased_on``).
    data_end : date, optional
        Last day the data cover (default: latest offence date).
    monitoring : DataFrame, optional
        ``person_id`` with ``sex`` and/or ``ethnicity``: used only for the card's group
        figures, never as model input.
    current : ThreatModel, optional
        The model in use, compared on the same held-out rows (and a hurdle for the gate).
    progress : callable(done, total, message), optional
    trained_at : datetime, optional
        UTC training time for the card (default now).

    Returns
    -------
    ThreatModel
        The candidate, with ``card`` filled in (``comparison`` and the ``gate`` verdict
        included) and a content-derived ``version``. Its parameters are exactly the ones the
        held-out figures measure: it is not refitted on the held-out dates.

    Raises
    ------
    TrainingDataError
        If there is too little history for a temporal split, or only one outcome.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> from scoring.synthetic import synthetic_histories
    >>> data = synthetic_histories(400, seed=0, start="2016-01-01")
    >>> model = train_threat_model(data.offences, data.persons, data.custody,
    ...                            catalogue=load_catalogue(), config=load_config())
    >>> model.card["threat_source"], model.version.startswith("threat-")
    ('model', True)
    >>> sorted(model.card["comparison"]["contenders"]), type(model.card["gate"]["passed"])
    (['baseline', 'candidate', 'rule_based'], <class 'bool'>)
    """
    ts = build_training_set(offences, persons, custody, catalogue=catalogue, config=config,
                            data_end=data_end, progress=progress)
    train, test = temporal_split(ts, config)
    if progress is not None:
        progress(0, 2, "fitting on earlier dates")
    fitted = fit_threat_model(ts, train, config)
    digest = hashlib.sha256(json.dumps(fitted.to_dict(), sort_keys=True).encode()).hexdigest()
    stamp = (trained_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    version = f"threat-{stamp:%Y%m%dT%H%M%SZ}-{digest[:8]}"
    final = ThreatModel(version=version, feature_names=fitted.feature_names,
                        transforms=fitted.transforms, mean=fitted.mean, scale=fitted.scale,
                        coef=fitted.coef, intercept=fitted.intercept,
                        calibration=fitted.calibration)
    if progress is not None:
        progress(1, 2, "comparing on later dates")
    evaluation = evaluate(ts, final, test, config, monitoring)
    evaluation["train_window"] = _window(ts, train)
    evaluation["test_window"] = _window(ts, test)
    comparison = compare_candidate(final, ts, config, current=current, monitoring=monitoring)
    rules = config.thr.training
    card = {
        "threat_source": "model",
        "model_version": version,
        "trained_at": stamp.isoformat(),
        "config_version": config.version,
        "catalogue_version": catalogue.version,
        "horizon_months": config.thr.horizon_months,
        "algorithm": (f"L2 logistic regression (C={rules.regularisation_c}) on standardised "
                      "features (log1p for counts), Platt-calibrated on out-of-fold logits "
                      f"({rules.calibration_folds} folds grouped by as_of date)"),
        "label": ("any recorded offence dated in (as_of, as_of + horizon]; people in custody "
                  "for the whole follow-up, deceased before its end or under 10 excluded"),
        "features": list(ts.feature_names),
        "protected_characteristics_used": False,
        "evaluation": evaluation,
        "comparison": comparison,
        "gate": gate_verdict(comparison, config.thr.gate),
        "training_window": _window(ts, train),
        "back_test_step_months": rules.step_months,
    }
    if progress is not None:
        progress(2, 2, "done")
    return replace(final, card=card)
