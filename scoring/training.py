"""Training the threat model by back-testing on the stored histories themselves.

Rows are made the way scores are used. Scores are read at (monthly) migration meetings about
people with recent offending, so at back-test dates every ``step_months`` (a month) the rows
are the people with an offence, or a release from custody, since the previous date
(``rows: recent_events``; ``everyone`` takes everybody with a record). Each row has the
features as of that date (``scoring.features``, which sees only offences on or before it)
and the label "any offence in the following ``horizon_months``", i.e. dated in
``(as_of, as_of + horizon]``. Censoring: back-test dates stop ``horizon_months`` before the
data end, so no row has an incomplete follow-up; rows whose person is in custody for more
than ``max_custody_share`` of the follow-up, has died before its end or is under 10 are
dropped, each counted on the card. Every person's rows are weighted 1 / (their number of
rows in that year), so a prolific person counts once a year, not hundreds of times.

Validation is temporal: the last ``test_dates`` dates are held out (each person once, at
one of their rows there, drawn at random) and the model is fitted only on dates whose
follow-up ends on or before the first test date, so no training label overlaps the test
period. The family (logistic or additive boosted) is chosen by forward-chaining
cross-validation on the training dates and calibrated out of fold (``scoring.fitting``). The
model returned is that fit, a *candidate*: its card compares it on the held-out dates with
the model in use, the rule-based fallback and a two-feature baseline
(``scoring.governance``), with AUC / false positive rate / selection rate by sex and by
ethnicity when monitoring labels are supplied (they are never features), and carries the
promotion gate's verdict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig
from scoring.dates import add_months_to_date, as_date, day_number
from scoring.features import Basics, basics, build_features, check_no_protected, feature_specs
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

# What the card says of each family and each row rule.
ALGORITHMS = {
    "logistic": "L2 logistic regression (C={c}) on standardised features (log1p for counts)",
    "boosted": ("gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, {rounds} "
                "rounds), additive (each tree on one feature) and monotone increasing in every "
                "offence count"),
}
ROW_RULES = {
    "recent_events": ("at back-test dates every {step} month(s), the people with an offence "
                      "or a release from custody since the previous date (as at the next "
                      "migration meeting after it)"),
    "everyone": "at back-test dates every {step} month(s), everyone with a record",
}


class TrainingDataError(ValueError):
    """Too little history (or only one outcome) to train and validate a model."""


def backtest_dates(first: dt.date, data_end: dt.date, config: ScoringConfig) -> list[dt.date]:
    """As-of dates from ``min_history_months`` after ``first`` while labels are complete.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> dates = backtest_dates(dt.date(2015, 1, 31), dt.date(2019, 12, 31), load_config())
    >>> dates[0], dates[-1], len(dates)
    (datetime.date(2017, 1, 31), datetime.date(2018, 12, 31), 24)
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
    ``prior_offences`` feed the two-feature baseline of the comparison. ``dropped`` counts
    the rows censored, by reason (for the card).
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
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUp:
    """Per person, for the follow-up ``(as_of, as_of + horizon]``, shape (P,)."""

    reoffended: np.ndarray
    custody_share: np.ndarray  # share of the follow-up's days spent in custody
    died: np.ndarray


def follow_up(offences: Offences, custody: Custody, people: People, as_of: dt.date,
              horizon_months: int) -> FollowUp:
    """The label and the censoring facts of every person at one back-test date."""
    n = people.n
    cut = day_number(as_of)
    end = day_number(add_months_to_date(as_of, horizon_months))
    ahead = (offences.day > cut) & (offences.day <= end)
    reoffended = np.bincount(offences.pidx[ahead], minlength=n) > 0
    # In custody on [start, end_day); the follow-up's days are [cut + 1, end + 1).
    inside = np.clip(np.minimum(custody.end_day, end + 1)
                     - np.maximum(custody.start_day, cut + 1), 0, None)
    share = np.bincount(custody.pidx, weights=inside, minlength=n) / (end - cut)
    return FollowUp(reoffended, share, people.deceased_day <= end)


def recent_event(b: Basics, custody: Custody, n: int, since_days: int) -> np.ndarray:
    """Whether each person has an offence, or a release from custody, in the last
    ``since_days`` days up to ``b.as_of``, shape (P,)."""
    cut = day_number(b.as_of)
    offended = (b.n_offences > 0) & (b.latest_days >= 0) & (b.latest_days < since_days)
    released = (custody.end_day > cut - since_days) & (custody.end_day <= cut)
    return offended | (np.bincount(custody.pidx[released], minlength=n) > 0)


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
    dropped = {"in_custody_for_most_of_follow_up": 0, "died_during_follow_up": 0,
               "under_10": 0, "sampled_out": 0}
    for i, as_of in enumerate(dates):
        if progress is not None:
            progress(i, len(dates), f"back-test features as of {as_of}")
        snap = snapshot(arrays, people.n, as_of)
        rfg_all = rfg_arrays(snap, catalogue=catalogue, config=config, stream="all")
        b = basics(snap, people, catalogue, config, latest=rfg_all.latest_days)
        eligible = b.n_offences > 0
        if rules.rows == "recent_events":
            since = day_number(as_of) - day_number(
                dates[i - 1] if i else add_months_to_date(as_of, -rules.step_months))
            eligible &= recent_event(b, spells, people.n, since)
        after = follow_up(arrays, spells, people, as_of, config.thr.horizon_months)
        reoffended = after.reoffended
        young = eligible & (b.age_whole < 10)
        held = eligible & ~young & (after.custody_share > rules.max_custody_share)
        died = eligible & ~young & ~held & after.died
        dropped["under_10"] += int(young.sum())
        dropped["in_custody_for_most_of_follow_up"] += int(held.sum())
        dropped["died_during_follow_up"] += int(died.sum())
        rows = np.flatnonzero(eligible & ~young & ~held & ~died)
        if len(rows) > rules.max_rows_per_date:
            dropped["sampled_out"] += len(rows) - rules.max_rows_per_date
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
                       np.concatenate(parts["age"]), np.concatenate(parts["prior"]),
                       dropped)


def _window(ts: TrainingSet, rows: np.ndarray) -> dict[str, Any]:
    used = np.unique(ts.date_index[rows])
    return {"first_as_of": ts.as_of_dates[used[0]].isoformat(),
            "last_as_of": ts.as_of_dates[used[-1]].isoformat(),
            "dates": len(used), "rows": int(rows.sum()),
            "people": int(len(np.unique(ts.person_ids[rows]))),
            "positives": int(ts.label[rows].sum())}


def temporal_split(ts: TrainingSet, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row masks: test = one row per person (seeded draw) in the last
    ``test_dates`` dates (so the held-out figures count people, not visits); train = dates
    whose labels end before the first test date."""
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
    # One row per person, drawn at random (seeded): the held-out year then weighs people as
    # training does (1 a year), where their *first* row would favour reoffending (the rest
    # of their year is its follow-up).
    later = np.random.default_rng(config.thr.training.seed).permutation(
        np.flatnonzero(ts.date_index >= len(ts.as_of_dates) - n_test))
    _, pick = np.unique(ts.person_ids[later], return_index=True)
    test = np.zeros(len(ts.label), dtype=bool)
    test[later[pick]] = True
    return train, test


def evaluate(ts: TrainingSet, model: ThreatModel, rows: np.ndarray, config: ScoringConfig,
             monitoring: pd.DataFrame | None = None) -> dict[str, Any]:
    """Held-out figures for the model and the rule-based fallback on the same rows."""
    from sklearn.metrics import brier_score_loss  # not at import: see scoring.governance

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
    # The fitting code (and scikit-learn under it) loads when a model is trained, not when
    # the app or the command line imports this module for its other parts.
    from scoring.fitting import FittingError, choose_and_fit

    ts = build_training_set(offences, persons, custody, catalogue=catalogue, config=config,
                            data_end=data_end, progress=progress)
    train, test = temporal_split(ts, config)
    if progress is not None:
        progress(0, 2, "fitting on earlier dates")
    years = np.array([d.year for d in ts.as_of_dates])[ts.date_index[train]]
    try:
        fitted, selection = choose_and_fit(
            ts.matrix[train], ts.label[train].astype(int),
            ts.person_ids[train].astype(np.int64) * 10_000 + years, ts.date_index[train],
            ts.as_of_dates, names=ts.feature_names, transforms=ts.transforms, config=config)
    except FittingError as exc:
        raise TrainingDataError(str(exc)) from exc
    digest = hashlib.sha256(json.dumps(fitted.to_dict(), sort_keys=True).encode()).hexdigest()
    stamp = (trained_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    version = f"threat-{stamp:%Y%m%dT%H%M%SZ}-{digest[:8]}"
    final = replace(fitted, version=version)
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
        "algorithm": ALGORITHMS[final.family].format(c=rules.regularisation_c,
                                                     rounds=rules.boosting_max_iter)
        + f"; {selection['calibration_method']} calibration on out-of-fold scores",
        "model_family": final.family,
        "model_selection": selection,
        "label": ("any recorded offence dated in (as_of, as_of + horizon]"),
        "sampling": {
            "rows": rules.rows,
            "rule": ROW_RULES[rules.rows].format(step=rules.step_months),
            "weighting": "each row weighs 1 / (that person's rows in that calendar year): "
                         "every person counts once a year, however prolific",
            "held_out": "each person once, at one of their rows in the held-out dates "
                        "(a seeded draw)",
            "censoring": (f"no back-test date later than {config.thr.horizon_months} months "
                          "before the data end (every follow-up complete); rows dropped if "
                          f"the person was in custody for more than "
                          f"{rules.max_custody_share:.0%} of the follow-up, died before its "
                          "end or was under 10"),
            "rows_dropped": dict(ts.dropped),
        },
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
