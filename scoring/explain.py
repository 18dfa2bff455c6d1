"""Plain-words explanations: the top contributing factors of each score, with their size.

Both parts are exact additive decompositions:

* **rfg**: the all-offence RFG score is ``sum(weight_c * component_c)``, so each component's
  contribution is ``weight_c * component_c`` in points of the 0-100 score (all >= 0).
* **threat**: the model's calibrated logit is a baseline (a person at the training means)
  plus one additive term per feature; the rule-based fallback's logit is its intercept plus
  its age, Copas, first/repeat and offence terms. Terms are grouped into factors and turned
  into percentage points of threat along the secant from the baseline probability to the
  person's, so the factors add up exactly to ``threat - baseline`` (in points).

Numbers are vectorised; only the chosen top factors are formatted as text, so ask for the
people you need (a shortlist, one person) rather than a whole force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue
from scoring.config import COMPONENTS, ScoringConfig
from scoring.features import DAYS_PER_YEAR, window_labels
from scoring.history import window_days
from scoring.rfg import gravity_values, recent_rows
from scoring.score import ScoreParts, compute_scores
from scoring.thr import RULE_TERMS, ThreatModel, sigmoid
from scoring.validation import ScoringInputError

EXPLANATION_COLUMNS = ("person_id", "part", "rank", "factor", "text", "contribution")


def _plural(n: float, word: str) -> str:
    k = int(round(n))
    return f"{k} {word}" + ("" if k == 1 else "s")


def _secant(logit: np.ndarray, baseline: float,
            link: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Percentage points of probability per unit of score, from the baseline to each person
    (any monotone ``link``: the logistic function or an isotonic calibration)."""
    p, p0 = link(logit), float(link(np.array([baseline]))[0])
    step = logit - baseline
    if link is sigmoid:
        tangent = p0 * (1 - p0)
    else:  # the isotonic map's local slope, which is only needed where the steps cancel
        h = 1e-3
        tangent = float(np.diff(link(np.array([baseline - h, baseline + h])))[0]) / (2 * h)
    safe = np.where(np.abs(step) > 1e-9, step, 1.0)
    return 100.0 * np.where(np.abs(step) > 1e-9, (p - p0) / safe, tangent)


def _threat_factors(parts: ScoreParts, catalogue: OffenceCatalogue,
                    config: ScoringConfig) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(factor keys, contributions in points (P, K), baseline probability in % (P,))."""
    if parts.model is not None and parts.features is not None:
        model: ThreatModel = parts.model
        contrib = model.contributions(parts.features.matrix)
        keys = list(dict.fromkeys(s.factor for s in parts.features.specs))
        which = np.array([keys.index(s.factor) for s in parts.features.specs])
        grouped = np.zeros((contrib.shape[0], len(keys)))
        for j, k in enumerate(which):
            grouped[:, k] += contrib[:, j]
        baseline = model.baseline_logit
        link: Callable[[np.ndarray], np.ndarray] = model.link
    else:
        assert parts.rule is not None
        keys = [f"rule:{t}" for t in RULE_TERMS]
        grouped = np.column_stack([parts.rule.terms[t] for t in RULE_TERMS])
        baseline = parts.rule.intercept
        link = sigmoid
    logit = baseline + grouped.sum(axis=1)
    points = grouped * _secant(logit, baseline, link)[:, None]
    has = parts.assessed
    points[~has] = 0.0  # not assessed (no record, deceased): threat is 0, nothing to explain
    base = np.where(has, 100.0 * float(link(np.array([baseline]))[0]), 0.0)
    return keys, points, base


def _window_type_counts(parts: ScoreParts, catalogue: OffenceCatalogue,
                        config: ScoringConfig) -> np.ndarray:
    snap = recent_rows(parts.snap, config)
    inside = snap.days_ago < window_days(parts.as_of, config.rfg.lookback_months)
    t = len(catalogue.offence_types)
    return np.bincount(snap.pidx[inside] * t + snap.type_code[inside],
                       minlength=parts.people.n * t).reshape(parts.people.n, t)


def _lookups(catalogue: OffenceCatalogue, config: ScoringConfig) -> dict[str, np.ndarray]:
    return {"values": gravity_values(catalogue, config),
            "labels": catalogue.column("label")}


def _rfg_text(key: str, i: int, parts: ScoreParts, type_counts: np.ndarray,
              catalogue: OffenceCatalogue, config: ScoringConfig,
              lookups: dict[str, np.ndarray] | None = None) -> str:
    a = parts.rfg["all"]
    months = config.rfg.lookback_months
    if key == "recency":
        if a.latest_days[i] < 0:
            return "no offences on record"
        day = parts.as_of - dt.timedelta(days=int(a.latest_days[i]))
        return f"latest offence {_plural(a.latest_days[i], 'day')} ago ({day.isoformat()})"
    if key == "frequency":
        return f"{_plural(a.n_window[i], 'offence')} in the last {months} months"
    if key == "gravity":
        lookups = lookups or _lookups(catalogue, config)
        values, labels = lookups["values"], lookups["labels"]
        counts = type_counts[i]
        order = np.argsort(-(counts * values), kind="stable")
        listed = ", ".join(f"{counts[t]} x {labels[t]}" for t in order[:3] if counts[t] > 0)
        unit = "days of harm" if config.rfg.gravity_measure == "harm_weight" else "gravity points"
        return (f"{a.gravity_sum[i]:g} {unit} in the last {months} months"
                + (f" ({listed})" if listed else ""))
    return f"{_plural(a.n_victims[i], 'distinct victim')} in the last {months} months"


def _threat_text(key: str, i: int, parts: ScoreParts, catalogue: OffenceCatalogue,
                 config: ScoringConfig) -> str:
    b = parts.basics
    a = parts.rfg["all"]
    months = config.rfg.lookback_months
    if key.startswith("group:"):
        group = key.split(":", 1)[1]
        assert parts.features is not None
        labels = window_labels(config)
        names = [f"count_{group}_{w}" for w in labels]
        counts = [int(parts.features.column(n)[i]) for n in names]
        edges = (0, *config.thr.windows_months)
        spans = [f"in the last {edges[1]} months",
                 *(f"{lo}-{hi} months ago" for lo, hi in zip(edges[1:], edges[2:], strict=False)),
                 f"over {edges[-1]} months ago"]
        said = [f"{c} {s}" for c, s in zip(counts, spans, strict=True) if c]
        word = group.replace("_", " ")
        return f"{word} offences: " + (", ".join(said) if said else "none")
    if key == "domestic_abuse":
        assert parts.features is not None
        n = int(parts.features.column(
            f"count_domestic_abuse_0_{config.thr.windows_months[-1]}m")[i])
        return (f"{_plural(n, 'domestic abuse offence')} in the last "
                f"{config.thr.windows_months[-1]} months")
    if key == "rfg_recency":
        return "RFG recency: " + _rfg_text("recency", i, parts, np.zeros((1, 1)), catalogue,
                                           config)
    if key == "rfg_frequency":
        return f"RFG frequency: {_plural(a.n_window[i], 'offence')} in the last {months} months"
    if key == "rfg_gravity":
        return f"RFG gravity: {a.gravity_sum[i]:g} points in the last {months} months"
    if key == "rfg_victims":
        return f"RFG victims: {_plural(a.n_victims[i], 'distinct victim')}"
    if key in ("age", "rule:age"):
        return f"age {int(b.age_whole[i])}"
    if key == "age_at_first_offence":
        return f"first recorded offence at age {b.age_at_first[i]:.0f}"
    if key in ("copas_rate", "rule:copas"):
        years = max(b.first_days[i], 0) / DAYS_PER_YEAR
        return (f"offending rate: {_plural(b.n_offences[i], 'offence')} "
                f"over {years:.1f} years since the first")
    if key == "custody_now":
        if parts.features is not None and bool(parts.features.custody.in_custody[i]):
            return f"in custody on {parts.as_of.isoformat()}"
        assert parts.features is not None
        return (f"{int(parts.features.custody.liberty_days_12m[i])} days at liberty in the "
                "last 12 months")
    if key == "custody_history":
        assert parts.features is not None
        return f"{_plural(parts.features.custody.periods[i], 'custody period')} so far"
    if key == "rule:status":
        return ("repeat offender (2 or more recorded offences)" if b.n_offences[i] > 1
                else "one recorded offence")
    if key == "rule:offence":
        return f"latest offence: {catalogue.column('label')[int(b.latest_type[i])]}"
    return key


def _top(values: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each person's ``top`` largest ``|values|`` (non-zero only)."""
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    rows = np.repeat(np.arange(values.shape[0]), order.shape[1])
    cols = order.ravel()
    keep = np.abs(values[rows, cols]) > 1e-12
    return rows[keep], cols[keep]


Factor = tuple[int, str, int, str, str, float]  # one row of EXPLANATION_COLUMNS


def _factor_rows(parts: ScoreParts, *, catalogue: OffenceCatalogue, config: ScoringConfig,
                 top: int, chosen: np.ndarray,
                 threat: tuple[list[str], np.ndarray, np.ndarray]) -> list[Factor]:
    """The top factors of the people at positions ``chosen``, by person then part then rank
    (``threat`` is ``_threat_factors``' answer, computed once by the caller)."""
    weights = config.rfg.weights["all"]
    a = parts.rfg["all"]
    rfg_points = np.column_stack([weights[c] * getattr(a, c) for c in COMPONENTS])[chosen]
    keys, threat_points, _ = threat
    threat_points = threat_points[chosen]
    type_counts = _window_type_counts(parts, catalogue, config)
    lookups = _lookups(catalogue, config)
    records: list[Factor] = []
    for part, values, names in (("rfg", rfg_points, list(COMPONENTS)),
                                ("threat", threat_points, keys)):
        rows, cols = _top(values, top)
        rank = np.zeros(len(rows), dtype=int)
        if len(rows):
            starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
            rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        for r, c, k in zip(rows, cols, rank, strict=True):
            i = int(chosen[r])
            key = names[c]
            text = (_rfg_text(key, i, parts, type_counts, catalogue, config, lookups)
                    if part == "rfg" else _threat_text(key, i, parts, catalogue, config))
            records.append((int(parts.people.ids[i]), part, int(k) + 1, key, text,
                            float(values[r, c])))
    return records


def explanations_from_parts(parts: ScoreParts, *, catalogue: OffenceCatalogue,
                            config: ScoringConfig, top: int = 5,
                            people: np.ndarray | None = None) -> pd.DataFrame:
    """Top factors per person for already computed scores (``scoring.score.compute_scores``).

    ``people`` optionally restricts to these row positions (default: everyone).
    """
    chosen = np.arange(parts.people.n) if people is None else np.asarray(people)
    records = _factor_rows(parts, catalogue=catalogue, config=config, top=top, chosen=chosen,
                           threat=_threat_factors(parts, catalogue, config))
    frame = pd.DataFrame.from_records(records, columns=list(EXPLANATION_COLUMNS))
    return frame.sort_values(["person_id", "part", "rank"], kind="stable").reset_index(drop=True)


def explain_people(offences: pd.DataFrame, persons: pd.DataFrame,
                   custody: pd.DataFrame | None = None, *, as_of: dt.date | str,
                   catalogue: OffenceCatalogue, config: ScoringConfig,
                   model: ThreatModel | None = None, person_ids: Any = None,
                   top: int = 5) -> pd.DataFrame:
    """The top contributing factors of the RFG and threat scores, in plain words.

    Parameters
    ----------
    offences, persons, custody, as_of, catalogue, config, model
        As for ``scoring.score.score_people``.
    person_ids : array_like of int, optional
        Explain only these people (recommended: text is formatted per factor).
    top : int
        Factors per part and person (factors contributing exactly 0 are left out).

    Returns
    -------
    DataFrame
        Long format, columns ``EXPLANATION_COLUMNS``: ``part`` is "rfg" (contribution in
        points of the 0-100 RFG score) or "threat" (percentage points of the probability,
        relative to the baseline person; see ``explain_person``); ``rank`` 1 is the largest
        ``|contribution|``.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> persons = pd.DataFrame({"person_id": [1], "date_of_birth": [dt.date(1990, 1, 1)]})
    >>> offences = pd.DataFrame({"person_id": [1, 1, 1],
    ...     "offence_date": [dt.date(2024, 5, 1), dt.date(2024, 6, 1), dt.date(2024, 6, 20)],
    ...     "offence_type": ["burglary_residential"] * 3})
    >>> out = explain_people(offences, persons, as_of="2024-06-30", catalogue=load_catalogue(),
    ...                      config=load_config())
    >>> row = out[out.part == "rfg"].iloc[0]
    >>> f"{row.text}: {row.contribution:+.0f}"
    'latest offence 10 days ago (2024-06-20): +29'
    """
    if person_ids is not None:
        wanted = np.unique(np.asarray(person_ids, dtype=np.int64))
        missing = np.setdiff1d(wanted, persons["person_id"].to_numpy())
        if len(missing):
            raise ScoringInputError(f"person_id(s) not in persons: {missing[:5].tolist()}")
        persons = persons[persons["person_id"].isin(wanted)]
        offences = offences[offences["person_id"].isin(wanted)]
        if custody is not None:
            custody = custody[custody["person_id"].isin(wanted)]
    parts = compute_scores(offences, persons, custody, as_of=as_of, catalogue=catalogue,
                           config=config, model=model)
    return explanations_from_parts(parts, catalogue=catalogue, config=config, top=top)


def explain_person(offences: pd.DataFrame, persons: pd.DataFrame,
                   custody: pd.DataFrame | None = None, *, person_id: int,
                   as_of: dt.date | str, catalogue: OffenceCatalogue, config: ScoringConfig,
                   model: ThreatModel | None = None, top: int = 5) -> dict[str, Any]:
    """One person's explanation, shaped for an API response.

    Returns
    -------
    dict
        ``{"person_id", "as_of", "rfg": {"score", "unit", "factors"}, "threat": {"value",
        "source", "baseline", "unit", "factors"}, "config_version", "model_version"}``;
        each factor is ``{"factor", "text", "contribution", "display"}`` with ``display``
        like ``"3 x Burglary ... : +18"``.

    Raises
    ------
    ScoringInputError
        If ``person_id`` is not in ``persons``.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> persons = pd.DataFrame({"person_id": [5], "date_of_birth": [dt.date(2000, 3, 1)]})
    >>> offences = pd.DataFrame({"person_id": [5], "offence_date": [dt.date(2024, 6, 1)],
    ...                          "offence_type": ["robbery_personal"]})
    >>> out = explain_person(offences, persons, person_id=5, as_of="2024-06-30",
    ...                      catalogue=load_catalogue(), config=load_config())
    >>> out["threat"]["source"], [f["factor"] for f in out["rfg"]["factors"]]
    ('rule_based', ['recency', 'gravity', 'frequency'])
    """
    persons = persons[persons["person_id"] == person_id]
    if len(persons) == 0:
        raise ScoringInputError(f"person_id {person_id} not in persons")
    offences = offences[offences["person_id"] == person_id]
    if custody is not None:
        custody = custody[custody["person_id"] == person_id]
    parts = compute_scores(offences, persons, custody, as_of=as_of, catalogue=catalogue,
                           config=config, model=model)
    return person_explanation(parts, catalogue=catalogue, config=config, top=top)


def person_explanation(parts: ScoreParts, *, catalogue: OffenceCatalogue,
                       config: ScoringConfig, top: int = 5) -> dict[str, Any]:
    """``explain_person``'s answer from scores already computed for exactly one person
    (so a caller that also needs the score row computes once)."""
    if parts.people.n != 1:
        raise ScoringInputError(f"person_explanation needs one person, got {parts.people.n}")
    return person_explanations(parts, catalogue=catalogue, config=config, top=top)[0]


def person_explanations(parts: ScoreParts, *, catalogue: OffenceCatalogue,
                        config: ScoringConfig, top: int = 5) -> list[dict[str, Any]]:
    """``person_explanation``'s answer for each person of ``parts``, in their order, the
    factors of all of them computed at once (a nightly re-score of a whole force).

    Raises
    ------
    ScoringInputError
        If a person id appears twice (their factor rows could not be told apart).
    """
    ids = [int(i) for i in parts.people.ids]
    if len(set(ids)) != len(ids):
        raise ScoringInputError("person_explanations needs distinct person ids")
    model = parts.model
    # The factor rows as they are (already by part, then person, then rank), with no
    # DataFrame: for one person's request pandas' fixed costs were most of the time.
    threat = _threat_factors(parts, catalogue, config)
    _, points, baseline = threat
    records = _factor_rows(parts, catalogue=catalogue, config=config, top=top,
                           chosen=np.arange(parts.people.n), threat=threat)
    rows_of: dict[tuple[int, str], list[Factor]] = {}
    for record in records:
        rows_of.setdefault((record[0], record[1]), []).append(record)
    nonzero_threat = np.count_nonzero(points, axis=1)
    version = model.version if model is not None else f"rule_based@{config.version}"

    def factors(person_id: int, part: str, total: float, nonzero: int) -> list[dict[str, Any]]:
        rows = rows_of.get((person_id, part), [])
        shown = [{"factor": factor, "text": text, "contribution": round(value, 2),
                  "display": f"{text}: {value:+.0f}"} for _, _, _, factor, text, value in rows]
        # Everything past the top factors, as one line, so baseline + factors = the score.
        rest = total - float(np.sum([r[5] for r in rows]))
        if abs(rest) > 1e-9:
            text = _plural(max(nonzero - len(rows), 1), "other factor") + " together"
            shown.append({"factor": "other_factors", "text": text,
                          "contribution": round(rest, 2), "display": f"{text}: {rest:+.0f}"})
        return shown

    answers = []
    for i, person_id in enumerate(ids):
        rfg_score = float(parts.rfg["all"].score[i])
        threat_total = 100.0 * float(parts.threat[i]) - float(baseline[i])
        answers.append({
            "person_id": person_id,
            "as_of": parts.as_of.isoformat(),
            "rfg": {"score": rfg_score, "unit": "points of the 0-100 RFG score",
                    "factors": factors(person_id, "rfg", rfg_score, len(COMPONENTS))},
            "threat": {"value": float(parts.threat[i]),
                       "source": "model" if model is not None else "rule_based",
                       "baseline": round(float(baseline[i]) / 100.0, 4),
                       "unit": "percentage points of threat, relative to the baseline",
                       "factors": factors(person_id, "threat", threat_total,
                                          int(nonzero_threat[i]))},
            "config_version": config.version,
            "catalogue_version": catalogue.version,
            "model_version": version,
        })
    return answers
