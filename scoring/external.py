"""External evaluation: the threat models and the fallback on a force's own labelled cohort.

A force supplies people it knows the outcome for (e.g. a proven-reoffending extract): an
assessment date and whether they reoffended within the horizon. Each person is scored *as of
their own date* from the register (only what was on record by then), by every model version
and by the rule-based fallback, and the same figures as the internal back-test are worked out
(``scoring.governance.figures``: AUC, Brier, ECE, calibration table, rates by group). The
gate then also holds a candidate to the fallback (and the current model) on these figures.

Scoring loops over the cohort's distinct dates (at most a few hundred), never over people:
each date scores only that date's people, vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue
from scoring.config import GateConfig, ScoringConfig
from scoring.features import basics, build_features
from scoring.governance import Baseline, figures, gate_verdict
from scoring.history import prepare_custody, prepare_offences, prepare_people, snapshot
from scoring.rfg import rfg_arrays
from scoring.thr import ThreatModel, rule_based_threat, rule_based_version

RULE_BASED = "rule_based"
BASELINE = "baseline"


def threat_as_of_each_date(cohort: pd.DataFrame, offences: pd.DataFrame,
                           persons: pd.DataFrame, custody: pd.DataFrame | None, *,
                           models: dict[str, ThreatModel], catalogue: OffenceCatalogue,
                           config: ScoringConfig,
                           baseline: Baseline | None = None) -> dict[str, np.ndarray]:
    """Threat for each cohort row as of its ``assessed_on``, by the fallback, each model
    and (if given) the two-feature baseline.

    Parameters
    ----------
    cohort : DataFrame
        ``person_id`` and ``assessed_on`` (date), one row per assessment.
    offences, persons, custody : DataFrame
        The scoring frames for (at least) the cohort's people.
    models : dict
        Version -> model; each must use the features this catalogue and configuration make.

    Returns
    -------
    dict
        ``"rule_based"``, each model version and ``"baseline"`` -> probabilities, shape
        (len(cohort),). A person with nothing on record by their date gets 0 (as in
        scoring).
    """
    n = len(cohort)
    names = (RULE_BASED, *models, *((BASELINE,) if baseline is not None else ()))
    out = {name: np.zeros(n) for name in names}
    if n == 0:
        return out
    pid = cohort["person_id"].to_numpy()
    day = pd.to_datetime(cohort["assessed_on"]).dt.date.to_numpy()
    off_pid = offences["person_id"].to_numpy()
    cus_pid = custody["person_id"].to_numpy() if custody is not None else np.array([], int)
    per_pid = persons["person_id"].to_numpy()
    for as_of in sorted(set(day)):
        rows = np.flatnonzero(day == as_of)
        ids = np.unique(pid[rows])
        people = prepare_people(persons[np.isin(per_pid, ids)])
        arrays = prepare_offences(offences[np.isin(off_pid, ids)], people, catalogue)
        spells = prepare_custody(custody[np.isin(cus_pid, ids)] if custody is not None
                                 else None, people)
        snap = snapshot(arrays, people.n, as_of)
        rfg_all = rfg_arrays(snap, catalogue=catalogue, config=config, stream="all")
        b = basics(snap, people, catalogue, config, latest=rfg_all.latest_days)
        at = people.positions(pid[rows], "person_id")
        has = b.n_offences[at] > 0
        out[RULE_BASED][rows] = rule_based_threat(b, catalogue=catalogue,
                                                  config=config).threat[at]
        if baseline is not None:
            out[BASELINE][rows] = np.where(
                has, baseline.predict(b.age_whole[at], b.n_offences[at]), 0.0)
        if models:
            feats = build_features(snap, people, spells, catalogue=catalogue, config=config,
                                   rfg_all=rfg_all, history=b)
            matrix = feats.matrix[at]
            for version, model in models.items():
                out[version][rows] = np.where(has, model.predict(matrix), 0.0)
    return out


def external_figures(label: np.ndarray, threat: dict[str, np.ndarray], *,
                     groups: dict[str, np.ndarray], config: ScoringConfig,
                     rule_based: str) -> dict[str, dict[str, Any]]:
    """Figures per contender (``governance.figures``), keyed by version.

    ``threat["rule_based"]`` is filed under ``rule_based`` (the fallback's version) and
    ``threat["baseline"]`` under ``baseline``.
    """
    rules = config.thr.training
    y = np.asarray(label, dtype=np.int8)
    return {(rule_based if name == RULE_BASED else name):
            {"version": rule_based if name == RULE_BASED else name,
             **figures(y, p, groups=groups, threshold=rules.selection_threshold,
                       min_group_size=rules.min_group_size)}
            for name, p in threat.items()}


def evaluate_cohort(cohort: pd.DataFrame, offences: pd.DataFrame, persons: pd.DataFrame,
                    custody: pd.DataFrame | None, *, models: dict[str, ThreatModel],
                    catalogue: OffenceCatalogue, config: ScoringConfig,
                    monitoring: pd.DataFrame | None = None,
                    baseline: Baseline | None = None) -> dict[str, Any]:
    """The whole external evaluation of a cohort matched to the register.

    ``cohort`` has ``person_id``, ``assessed_on`` and ``reoffended`` (bool); ``monitoring``
    (``person_id``, ``sex``, ``ethnicity``) only splits the figures by group; ``baseline``
    (a card's two-feature baseline) is scored beside the models, under ``baseline``.

    Returns
    -------
    dict
        ``rows``, ``positives``, ``first_assessed_on``, ``last_assessed_on`` and
        ``figures``: version -> figures for the fallback and every model.

    Examples
    --------
    >>> import datetime as dt
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> from scoring.synthetic import synthetic_histories
    >>> data = synthetic_histories(300, seed=2)
    >>> cohort = pd.DataFrame({"person_id": [1, 2, 3, 4], "reoffended": [True, False] * 2,
    ...                        "assessed_on": [dt.date(2022, 1, 1)] * 4})
    >>> result = evaluate_cohort(cohort, data.offences, data.persons, data.custody, models={},
    ...                          catalogue=load_catalogue(), config=load_config())
    >>> result["rows"], list(result["figures"])
    (4, ['rule_based@2026.12-default-2'])
    """
    threat = threat_as_of_each_date(cohort, offences, persons, custody, models=models,
                                    catalogue=catalogue, config=config, baseline=baseline)
    groups: dict[str, np.ndarray] = {}
    if monitoring is not None:
        lookup = monitoring.drop_duplicates("person_id").set_index("person_id")
        groups = {c: lookup[c].reindex(cohort["person_id"].to_numpy()).to_numpy()
                  for c in ("sex", "ethnicity") if c in lookup.columns}
    label = cohort["reoffended"].to_numpy(dtype=bool)
    dates = pd.to_datetime(cohort["assessed_on"])
    return {"rows": int(len(cohort)), "positives": int(label.sum()),
            "first_assessed_on": None if dates.empty else dates.min().date().isoformat(),
            "last_assessed_on": None if dates.empty else dates.max().date().isoformat(),
            "horizon_months": config.thr.horizon_months,
            "figures": external_figures(label, threat, groups=groups, config=config,
                                        rule_based=rule_based_version(config))}


def external_verdict(evaluation_figures: dict[str, dict[str, Any]], candidate: str, *,
                     current: str | None, rule_based: str,
                     gate: GateConfig) -> dict[str, Any] | None:
    """The gate's checks on an external evaluation, or None if it did not score ``candidate``.

    The same rules as on the held-out later dates (``governance.gate_verdict``): the
    candidate must beat the fallback's AUC (and the current model's) and be no worse
    calibrated; each check's name starts ``external_``.

    Examples
    --------
    >>> g = GateConfig(min_auc_gain=0.01, max_ece=0.05, ece_tolerance=0.01)
    >>> figs = {"m1": {"comparable": True, "auc": 0.64, "ece": 0.13},
    ...         "rule_based@x": {"comparable": True, "auc": 0.71, "ece": 0.16}}
    >>> v = external_verdict(figs, "m1", current=None, rule_based="rule_based@x", gate=g)
    >>> v["passed"], v["reasons"][0]
    (False, "external cohort: AUC 0.640 does not beat the rule-based fallback's 0.710 by the \
0.010 required")
    """
    if candidate not in evaluation_figures or rule_based not in evaluation_figures:
        return None
    contenders = {"candidate": evaluation_figures[candidate],
                  "rule_based": evaluation_figures[rule_based]}
    if current is not None and current != candidate and current in evaluation_figures:
        contenders["current"] = {**evaluation_figures[current], "version": current}
    verdict = gate_verdict({"contenders": contenders}, gate)
    checks = [{**c, "check": f"external_{c['check']}", "text": f"external cohort: {c['text']}"}
              for c in verdict["checks"]]
    return {"passed": verdict["passed"], "checks": checks,
            "reasons": [c["text"] for c in checks if not c["passed"]]}

