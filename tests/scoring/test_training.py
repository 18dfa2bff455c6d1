"""Training by back-testing: labels and exclusions, the temporal split, the model card, the
trained model against the rule-based fallback on later dates, and the artefact store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from scoring.artefacts import (
    ModelStoreError,
    current_version,
    list_models,
    load_current_model,
    load_model,
    save_model,
)
from scoring.config import DEFAULT_CONFIG_PATH, config_from_mapping
from scoring.thr import ThreatModel
from scoring.training import TrainingDataError, build_training_set, temporal_split
from tests.scoring.builders import make_custody, make_offences, make_persons


def yearly_config():
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["thr"]["training"].update(step_months=12, min_history_months=0, test_dates=1)
    return config_from_mapping(raw)


def test_labels_and_exclusions_at_a_back_test_date(cat) -> None:
    # First offence 2020-01-01, data end 2022-01-01, yearly steps: dates 2020-01-01 and
    # 2021-01-01 (2021's follow-up ends exactly at the data end).
    born = dt.date(1990, 1, 1)
    persons = make_persons(*((i, born) for i in range(1, 8)),
                           (8, dt.date(2015, 1, 1)))
    persons["deceased_on"] = [None, None, None, None, dt.date(2020, 6, 1), None, None, None]
    d0 = dt.date(2020, 1, 1)
    offences = make_offences(
        (1, d0, "shoplifting"), (1, dt.date(2020, 12, 31), "shoplifting"),   # reoffends
        (2, d0, "shoplifting"),                                               # does not
        (3, d0, "shoplifting"), (3, dt.date(2020, 6, 1), "burglary_residential"),
        (4, d0, "shoplifting"), (4, dt.date(2020, 9, 1), "shoplifting"),
        (5, d0, "shoplifting"),
        (6, dt.date(2020, 3, 1), "shoplifting"),                              # no record yet
        (7, d0, "shoplifting"), (7, dt.date(2021, 1, 2), "shoplifting"),      # too late
        (8, d0, "shoplifting"), (8, dt.date(2020, 2, 1), "shoplifting"),      # aged 5
        (1, dt.date(2022, 1, 1), "shoplifting"),
    )
    custody = make_custody((3, dt.date(2020, 1, 2), dt.date(2021, 6, 1)),    # whole window
                           (4, dt.date(2020, 2, 1), dt.date(2020, 8, 1)))    # part of it
    ts = build_training_set(offences, persons, custody, catalogue=cat, config=yearly_config())
    assert ts.as_of_dates == [d0, dt.date(2021, 1, 1)]
    first = ts.date_index == 0
    got = dict(zip(ts.person_ids[first].tolist(), ts.label[first].tolist(), strict=True))
    assert got == {1: 1, 2: 0, 4: 1, 7: 0}
    assert set(ts.feature_names).isdisjoint({"sex", "ethnicity"})


def test_the_split_keeps_training_labels_out_of_the_test_period(model: ThreatModel, force,
                                                                cat, cfg) -> None:
    ts = build_training_set(force.offences, force.persons, force.custody, catalogue=cat,
                            config=cfg)
    train, test = temporal_split(ts, cfg)
    first_test = min(ts.as_of_dates[i] for i in np.unique(ts.date_index[test]))
    for i in np.unique(ts.date_index[train]):
        end = ts.as_of_dates[i].replace(year=ts.as_of_dates[i].year + 1)
        assert end <= first_test
    assert len(np.unique(ts.date_index[test])) == cfg.thr.training.test_dates
    assert not (train & test).any()


def test_monitoring_columns_on_persons_do_not_change_the_training_set(force, cat) -> None:
    cfg = yearly_config()
    small = force.persons[force.persons["person_id"] <= 300]
    offences = force.offences[force.offences["person_id"] <= 300]
    plain = build_training_set(offences, small, catalogue=cat, config=cfg)
    labelled = small.merge(force.monitoring, on="person_id")
    tagged = build_training_set(offences, labelled, catalogue=cat, config=cfg)
    np.testing.assert_array_equal(plain.matrix, tagged.matrix)
    np.testing.assert_array_equal(plain.label, tagged.label)


def test_too_little_history_is_refused(cat, cfg) -> None:
    offences = make_offences((1, dt.date(2024, 1, 1), "shoplifting"))
    persons = make_persons((1, dt.date(1990, 1, 1)))
    with pytest.raises(TrainingDataError, match="too short"):
        build_training_set(offences, persons, catalogue=cat, config=cfg)


def test_trained_model_beats_the_rule_based_fallback_on_later_dates(model: ThreatModel) -> None:
    held_out = model.card["evaluation"]
    assert held_out["model"]["auc"] > held_out["rule_based"]["auc"] + 0.01
    assert held_out["model"]["brier"] < held_out["rule_based"]["brier"]
    assert held_out["model"]["auc"] > 0.7
    train, test = held_out["train_window"], held_out["test_window"]
    assert train["last_as_of"] < test["first_as_of"]
    # calibrated: observed rates track predictions in the well-populated bins
    for row in held_out["calibration"]:
        if row["n"] >= 300:
            assert abs(row["mean_predicted"] - row["observed_rate"]) < 0.12, row


def test_model_card_has_the_figures_the_panel_asks_for(model: ThreatModel, cfg, cat) -> None:
    card = model.card
    assert card["model_version"] == model.version and model.version.startswith("threat-")
    assert card["config_version"] == cfg.version
    assert card["catalogue_version"] == cat.version
    for window in ("train_window", "test_window"):
        w = card["evaluation"][window]
        assert w["rows"] > 0 and w["people"] > 0 and 0 < w["positives"] < w["rows"]
    assert card["training_window"]["dates"] > card["evaluation"]["test_window"]["dates"]
    for split in ("by_sex", "by_ethnicity"):
        groups = card["evaluation"][split]
        assert {g["group"] for g in groups} >= ({"female", "male"} if split == "by_sex"
                                                else {"W1"})
        for g in groups:
            assert {"auc", "false_positive_rate", "selection_rate", "n",
                    "small_group"} <= set(g)
            assert 0 <= g["selection_rate"] <= 1
    json.dumps(card)  # serialisable as is


def test_models_are_saved_versioned_and_loaded(model: ThreatModel, tmp_path: Path,
                                               force, cat, cfg) -> None:
    assert load_current_model(tmp_path) is None
    folder = save_model(model, tmp_path)
    assert current_version(tmp_path) == model.version
    assert list_models(tmp_path) == [model.version]
    loaded = load_model(tmp_path)
    assert loaded == model and loaded.card["model_version"] == model.version
    with pytest.raises(ModelStoreError, match="already exists"):
        save_model(model, tmp_path)
    params = json.loads((folder / "model.json").read_text())
    params["coef"][0] += 1.0
    (folder / "model.json").write_text(json.dumps(params, indent=1, sort_keys=True))
    with pytest.raises(ModelStoreError, match="digest"):
        load_model(tmp_path)
    with pytest.raises(ModelStoreError, match="no model version"):
        load_model(tmp_path, "../etc")
