"""Training that matches how scores are used: rows at recent offences and releases, weighted
per person and year, censored; two model families chosen by forward-chaining validation;
the boosted one additive, so its explanations stay exact."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from scoring.config import DEFAULT_CONFIG_PATH, ConfigError, config_from_mapping
from scoring.explain import explanations_from_parts
from scoring.features import feature_specs
from scoring.fitting import fit_boosted, monotone_in_counts
from scoring.score import compute_scores
from scoring.synthetic import SyntheticData, synthetic_histories
from scoring.thr import ThreatModel
from scoring.training import build_training_set, train_threat_model
from tests.scoring.builders import make_custody, make_offences, make_persons


def config_with(**training):
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["thr"]["training"].update(training)
    return config_from_mapping(raw)


@pytest.fixture(scope="module")
def small_force() -> SyntheticData:
    return synthetic_histories(1500, seed=3, start="2016-01-01", end="2024-12-31",
                               mean_offences=8.0)


@pytest.fixture(scope="module")
def boosted(small_force: SyntheticData, cat) -> ThreatModel:
    return train_threat_model(small_force.offences, small_force.persons, small_force.custody,
                              catalogue=cat, config=config_with(families=["boosted"]))


def test_rows_are_recent_offences_and_releases_and_censored(cat) -> None:
    born = dt.date(1990, 1, 1)
    persons = make_persons(*((i, born) for i in range(1, 6)))
    offences = make_offences(
        (1, dt.date(2019, 1, 1), "shoplifting"), (1, dt.date(2022, 1, 15), "shoplifting"),
        (2, dt.date(2019, 1, 1), "shoplifting"),                   # nothing recent
        (3, dt.date(2019, 1, 1), "shoplifting"),                   # released in January
        (4, dt.date(2022, 1, 10), "burglary_residential"),          # then inside for a year
        (5, dt.date(2022, 1, 20), "shoplifting"),
        (5, dt.date(2024, 1, 1), "shoplifting"),
    )
    custody = make_custody((3, dt.date(2019, 3, 1), dt.date(2022, 1, 20)),
                           (4, dt.date(2022, 1, 25), dt.date(2023, 1, 25)))
    cfg = config_with(min_history_months=36)
    ts = build_training_set(offences, persons, custody, catalogue=cat, config=cfg)
    february = ts.as_of_dates.index(dt.date(2022, 2, 1))
    rows = ts.date_index == february
    assert sorted(ts.person_ids[rows].tolist()) == [1, 3, 5]
    assert ts.dropped["in_custody_for_most_of_follow_up"] >= 1  # person 4, in February
    assert all(d <= dt.date(2023, 1, 1) for d in ts.as_of_dates)  # follow-up complete
    everyone = build_training_set(offences, persons, custody, catalogue=cat,
                                  config=config_with(min_history_months=36, rows="everyone"))
    assert 2 in everyone.person_ids[everyone.date_index == february].tolist()


def test_training_rows_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="families"):
        config_with(families=["neural"])
    with pytest.raises(ConfigError, match="rows"):
        config_with(rows="sometimes")


def test_the_boosted_model_is_additive_monotone_and_explained_exactly(
        boosted: ThreatModel, small_force: SyntheticData, cat, cfg) -> None:
    assert boosted.family == "boosted"
    selection = boosted.card["model_selection"]
    assert selection["chosen"] == "boosted" and list(selection["families"]) == ["boosted"]
    assert selection["calibration_method"] in ("isotonic", "platt")
    assert "additive" in boosted.card["algorithm"]
    parts = compute_scores(small_force.offences, small_force.persons, small_force.custody,
                           as_of=dt.date(2024, 6, 30), catalogue=cat, config=cfg,
                           model=boosted)
    people = np.flatnonzero(parts.basics.n_offences > 0)[:60]
    frame = explanations_from_parts(parts, catalogue=cat, config=cfg, top=100, people=people)
    threat = frame[frame["part"] == "threat"].groupby("person_id")["contribution"].sum()
    base = float(boosted.link(np.array([boosted.baseline_logit]))[0])
    np.testing.assert_allclose(threat.to_numpy(), 100 * (parts.threat[people] - base),
                               rtol=1e-7, atol=1e-7)
    # More offences of any kind never lowers the threat.
    assert parts.features is not None
    matrix = parts.features.matrix[people].copy()
    before = boosted.predict(matrix)
    counts = monotone_in_counts(boosted.feature_names).astype(bool)
    matrix[:, counts] += 3
    assert (boosted.predict(matrix) >= before - 1e-12).all()
    again = ThreatModel.from_dict(boosted.to_dict())
    assert again == boosted and again.family == "boosted"


def test_the_family_is_chosen_by_forward_chaining_validation(model: ThreatModel) -> None:
    selection = model.card["model_selection"]
    families = selection["families"]
    assert set(families) == {"logistic", "boosted"}
    best = max(f["mean_auc"] for f in families.values())
    assert families[selection["chosen"]]["mean_auc"] >= best - 0.002
    assert model.family == selection["chosen"]
    assert all(f["folds"] >= 2 for f in families.values())
    sampling = model.card["sampling"]
    assert sampling["rows"] == "recent_events"
    assert {"in_custody_for_most_of_follow_up", "died_during_follow_up",
            "under_10"} <= set(sampling["rows_dropped"])
    assert "once a year" in sampling["weighting"]


def test_protected_characteristics_are_refused_by_every_family(cat, cfg) -> None:
    names = tuple(s.name for s in feature_specs(cat, cfg))[:2] + ("ethnicity",)
    rng = np.random.default_rng(0)
    x = rng.poisson(1.0, (200, 3)).astype(float)
    y = (rng.random(200) < 0.5).astype(int)
    with pytest.raises(ValueError, match="protected characteristic"):
        fit_boosted(x, y, np.ones(200), names=names, transforms=("log1p",) * 3, config=cfg)
