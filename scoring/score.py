"""Scoring everyone at once: RFG by stream, threat, harm, risk, band and escalation.

``score_people`` is what the API's batch run, the CLI and the Dask engine all call, so one
person's score is the same whichever way it was asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue
from scoring.config import STREAMS, ScoringConfig, band_codes
from scoring.dates import as_date, day_number
from scoring.features import Basics, Features, basics, build_features
from scoring.history import (
    Custody,
    Offences,
    People,
    Snapshot,
    prepare_custody,
    prepare_offences,
    prepare_people,
    snapshot,
    window_days,
)
from scoring.rfg import RfgArrays, constant_category, rfg_arrays, span_months
from scoring.thr import (
    RuleBasedThreat,
    ThreatModel,
    harm_scores,
    risk_scores,
    rule_based_threat,
    rule_based_version,
)

SCORE_COLUMNS = (
    "person_id", "as_of", "recency", "frequency", "gravity", "victims", "rfg",
    "rfg_acquisitive", "rfg_domestic_abuse", "threat", "harm", "risk", "escalating",
    "threat_source", "band", "offences_to_date", "config_version", "catalogue_version",
    "model_version",
)


@dataclass(frozen=True)
class ScoreParts:
    """Everything a score run computed, kept so explanations reuse it (arrays of shape (P,))."""

    as_of: dt.date
    people: People
    snap: Snapshot
    custody: Custody
    rfg: dict[str, RfgArrays]
    basics: Basics
    features: Features | None
    model: ThreatModel | None
    rule: RuleBasedThreat | None
    threat: np.ndarray
    harm: np.ndarray
    harm_days: np.ndarray
    risk: np.ndarray
    assessed: np.ndarray  # bool: threat was assessed (a record, alive on as_of)


def compute_scores(offences: pd.DataFrame, persons: pd.DataFrame,
                   custody: pd.DataFrame | None = None, *, as_of: dt.date | str,
                   catalogue: OffenceCatalogue, config: ScoringConfig,
                   model: ThreatModel | None = None) -> ScoreParts:
    """The arrays behind ``score_people`` (see there for the parameters)."""
    people = prepare_people(persons)
    day = as_date(as_of)
    # Victim refs older than the longest window are never compared, so they are not hashed.
    since = day_number(day) - window_days(day, span_months(config))
    return scores_from_arrays(people, prepare_offences(offences, people, catalogue,
                                                       victims_since=since),
                              prepare_custody(custody, people), as_of=day,
                              catalogue=catalogue, config=config, model=model)


def scores_from_arrays(people: People, offences: Offences, spells: Custody, *, as_of: dt.date,
                       catalogue: OffenceCatalogue, config: ScoringConfig,
                       model: ThreatModel | None = None) -> ScoreParts:
    """``compute_scores`` from inputs already validated into arrays (``scoring.history``):
    the whole kernel, with no frame in it (``scoring.person`` feeds one person's rows here)."""
    day = as_of
    snap = snapshot(offences, people.n, day)
    streams = {s: rfg_arrays(snap, catalogue=catalogue, config=config, stream=s)
               for s in STREAMS}
    history = basics(snap, people, catalogue, config, latest=streams["all"].latest_days)
    # Threat is defined for living people with a record (see the docstring).
    assessed = (history.n_offences > 0) & (people.deceased_day > day_number(day))
    feats = None
    rule = None
    if model is not None:
        feats = build_features(snap, people, spells, catalogue=catalogue, config=config,
                               rfg_all=streams["all"], history=history)
        model.check_features(feats.names)
        threat = np.where(assessed, model.predict(feats.matrix), 0.0)
    else:
        rule = rule_based_threat(history, catalogue=catalogue, config=config)
        threat = np.where(assessed, rule.threat, 0.0)
    harm, harm_days = harm_scores(snap, catalogue=catalogue, config=config)
    return ScoreParts(day, people, snap, spells, streams, history, feats, model, rule, threat,
                      harm, harm_days, risk_scores(threat, harm), assessed)


def frame_from_parts(parts: ScoreParts, *, catalogue: OffenceCatalogue,
                     config: ScoringConfig) -> pd.DataFrame:
    """The one-row-per-person result frame (columns ``SCORE_COLUMNS``)."""
    n = parts.people.n
    everything = parts.rfg["all"]
    source = "model" if parts.model is not None else "rule_based"
    version = parts.model.version if parts.model is not None else rule_based_version(config)
    band_source = everything.score if config.bands.score == "rfg" else parts.risk
    levels = [name for name, _ in config.bands.levels]
    frame = pd.DataFrame({
        "person_id": parts.people.ids,
        "as_of": np.full(n, parts.as_of, dtype=object),
        "recency": everything.recency,
        "frequency": everything.frequency,
        "gravity": everything.gravity,
        "victims": everything.victims,
        "rfg": everything.score,
        "rfg_acquisitive": parts.rfg["acquisitive"].score,
        "rfg_domestic_abuse": parts.rfg["domestic_abuse"].score,
        "threat": parts.threat,
        "harm": parts.harm,
        "risk": parts.risk,
        "escalating": everything.escalating,
        "threat_source": pd.Categorical.from_codes(
            np.full(n, 0 if source == "model" else 1, dtype=np.int8),
            categories=["model", "rule_based"]),
        "band": pd.Categorical.from_codes(band_codes(band_source, config), categories=levels),
        "offences_to_date": parts.basics.n_offences,
        "config_version": constant_category(config.version, n),
        "catalogue_version": constant_category(catalogue.version, n),
        "model_version": constant_category(version, n),
    })
    return frame


def score_people(offences: pd.DataFrame, persons: pd.DataFrame,
                 custody: pd.DataFrame | None = None, *, as_of: dt.date | str,
                 catalogue: OffenceCatalogue, config: ScoringConfig,
                 model: ThreatModel | None = None) -> pd.DataFrame:
    """Score every person in ``persons`` as of a date.

    Parameters
    ----------
    offences : DataFrame, shape (N, 5)
        ``person_id``, ``offence_date``, ``offence_type``, ``domestic_abuse``, ``victim_ref``.
        Only offences dated on or before ``as_of`` count.
    persons : DataFrame, shape (P, >=2)
        ``person_id``, ``date_of_birth`` (other columns, such as sex or ethnicity, are
        never read).
    custody : DataFrame, optional
        ``person_id``, ``start_on``, ``end_on`` (null while in custody).
    as_of : date or "YYYY-MM-DD"
    catalogue : OffenceCatalogue
    config : ScoringConfig
    model : ThreatModel, optional
        The trained threat model; without one threat is the rule-based fallback.

    Returns
    -------
    DataFrame, shape (P, 19)
        One row per person sorted by ``person_id``, columns ``SCORE_COLUMNS``: the
        all-offence RFG components and score (0-100), the acquisitive and domestic-abuse
        RFG scores, ``threat`` (probability 0-1), ``harm`` and ``risk`` (0-100),
        ``escalating``, ``threat_source`` ("model" or "rule_based"), ``band`` (from the
        configured score), ``offences_to_date`` and the configuration, catalogue and model
        versions. People with no offence on or before ``as_of`` get zeros, not escalating.
        People recorded as deceased (``deceased_on`` on or before ``as_of``) keep their RFG,
        a record of what they did, but threat, and so risk, is 0.

    Raises
    ------
    ScoringInputError
        If a frame breaks the input contract.
    ModelMismatchError
        If ``model`` was trained on other features (catalogue groups or windows changed).

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> persons = pd.DataFrame({"person_id": [1, 2],
    ...     "date_of_birth": pd.to_datetime(["1995-05-01", "1980-01-01"])})
    >>> offences = pd.DataFrame({"person_id": [1, 1],
    ...     "offence_date": pd.to_datetime(["2024-05-01", "2024-06-01"]),
    ...     "offence_type": ["burglary_residential", "burglary_residential"],
    ...     "domestic_abuse": [False, False], "victim_ref": [None, None]})
    >>> out = score_people(offences, persons, as_of="2024-06-30", catalogue=load_catalogue(),
    ...                    config=load_config())
    >>> out[["person_id", "rfg", "threat", "harm", "risk"]].round(2).to_numpy().tolist()
    [[1.0, 56.0, 0.2, 65.23, 12.88], [2.0, 0.0, 0.0, 0.0, 0.0]]
    >>> out.loc[0, "threat_source"], out.loc[0, "band"]
    ('rule_based', 'high')
    """
    parts = compute_scores(offences, persons, custody, as_of=as_of, catalogue=catalogue,
                           config=config, model=model)
    return frame_from_parts(parts, catalogue=catalogue, config=config)
