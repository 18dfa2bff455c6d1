"""The promotion gate: a candidate trained on one force, judged on later dates of another.

Force B is drawn with other parameters than force A (another seed, more offences each).
The gate must accept A's candidate where B's outcomes follow the same kind of relation, and
refuse it where that relation is broken: outcomes shuffled across rows (no relation at all),
or drawn from the rule-based fallback's own probabilities (a force where the fallback is
right and the candidate, by construction, ranks worse than it).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from scoring.artefacts import (
    ModelStoreError,
    current_version,
    load_current_model,
    model_status,
    previous_current,
    promote,
    promotions,
    save_model,
)
from scoring.config import DEFAULT_CONFIG_PATH, ConfigError, config_from_mapping
from scoring.governance import (
    comparison_summary,
    expected_calibration_error,
    fit_baseline,
    gate_verdict,
)
from scoring.synthetic import SyntheticData, synthetic_histories
from scoring.thr import ThreatModel
from scoring.training import TrainingSet, build_training_set, compare_candidate


@pytest.fixture(scope="module")
def force_b() -> SyntheticData:
    return synthetic_histories(3000, seed=12, start="2016-01-01", end="2024-12-31",
                               mean_offences=12.0)


@pytest.fixture(scope="module")
def ts_b(force_b: SyntheticData, cat, cfg) -> TrainingSet:
    return build_training_set(force_b.offences, force_b.persons, force_b.custody,
                              catalogue=cat, config=cfg)


def test_the_candidates_own_card_compares_on_dates_it_never_saw(model: ThreatModel) -> None:
    comparison, gate = model.card["comparison"], model.card["gate"]
    assert comparison["train_window"]["last_as_of"] < comparison["cut_off"]
    assert comparison["test_window"]["first_as_of"] == comparison["cut_off"]
    assert model.card["training_window"] == comparison["train_window"]
    assert set(comparison["contenders"]) == {"candidate", "rule_based", "baseline"}
    for figures in comparison["contenders"].values():
        assert {"auc", "brier", "ece", "calibration", "by_sex", "by_ethnicity"} <= set(figures)
        assert {g["group"] for g in figures["by_sex"]} >= {"female", "male"}
        for g in figures["by_ethnicity"]:
            assert 0 <= g["selection_rate"] <= 1
    assert gate["passed"] and gate["reasons"] == []
    assert {c["check"] for c in gate["checks"]} == {"auc_vs_rule_based", "max_ece",
                                                    "ece_vs_rule_based"}


def test_gate_accepts_a_candidate_that_beats_the_fallback_on_another_force(
        model: ThreatModel, ts_b: TrainingSet, force_b: SyntheticData, cfg) -> None:
    comparison = compare_candidate(model, ts_b, cfg, monitoring=force_b.monitoring)
    verdict = gate_verdict(comparison, cfg.thr.gate)
    c = comparison["contenders"]
    assert c["candidate"]["auc"] >= c["rule_based"]["auc"] + cfg.thr.gate.min_auc_gain
    assert c["candidate"]["ece"] <= cfg.thr.gate.max_ece
    assert verdict["passed"], verdict["reasons"]


def test_gate_refuses_where_the_outcomes_are_shuffled(model: ThreatModel, ts_b: TrainingSet,
                                                     cfg) -> None:
    rng = np.random.default_rng(0)
    broken = dataclasses.replace(ts_b, label=rng.permutation(ts_b.label))
    verdict = gate_verdict(compare_candidate(model, broken, cfg), cfg.thr.gate)
    assert not verdict["passed"]
    assert any("does not beat the rule-based fallback's" in r for r in verdict["reasons"])


def test_gate_refuses_a_candidate_worse_than_the_fallback(model: ThreatModel,
                                                          ts_b: TrainingSet, cfg) -> None:
    # In this force the fallback is the truth: outcomes are drawn from its probabilities.
    rng = np.random.default_rng(1)
    label = (rng.random(len(ts_b.label)) < ts_b.rule_based).astype(np.int8)
    comparison = compare_candidate(model, dataclasses.replace(ts_b, label=label), cfg)
    c = comparison["contenders"]
    assert c["candidate"]["auc"] < c["rule_based"]["auc"]
    verdict = gate_verdict(comparison, cfg.thr.gate)
    assert not verdict["passed"]
    assert any(r.startswith("AUC") and "rule-based" in r for r in verdict["reasons"])
    assert any("calibration error" in r for r in verdict["reasons"])


def test_the_current_model_is_a_hurdle_too(model: ThreatModel, ts_b: TrainingSet,
                                           cfg) -> None:
    comparison = compare_candidate(model, ts_b, cfg, current=model)
    assert [r["contender"] for r in comparison_summary(comparison)] == [
        "candidate", "current", "rule_based", "baseline"]
    verdict = gate_verdict(comparison, cfg.thr.gate)
    assert not verdict["passed"]
    assert verdict["reasons"] == [
        f"AUC {comparison['contenders']['candidate']['auc']:.3f} does not beat the current "
        f"model's ({model.version}) {comparison['contenders']['current']['auc']:.3f} by the "
        f"{cfg.thr.gate.min_auc_gain:.3f} required"]


def test_a_current_model_with_other_features_is_shown_but_no_hurdle(
        model: ThreatModel, ts_b: TrainingSet, cfg) -> None:
    other = dataclasses.replace(model, feature_names=("copas_rate",), version="threat-old")
    comparison = compare_candidate(model, ts_b, cfg, current=other)
    assert comparison["contenders"]["current"]["comparable"] is False
    assert gate_verdict(comparison, cfg.thr.gate)["passed"]


def test_ece_and_the_baseline() -> None:
    y = np.array([0, 0, 1, 1] * 50)
    assert expected_calibration_error(y, np.full(len(y), 0.5)) == 0.0
    assert expected_calibration_error(y, np.where(y == 1, 0.95, 0.05)) == pytest.approx(0.05)
    rng = np.random.default_rng(0)
    age = rng.integers(15, 60, 4000)
    prior = rng.integers(1, 30, 4000)
    p = 1 / (1 + np.exp(-(1.5 - 0.06 * age + 0.5 * np.log1p(prior))))
    outcome = (rng.random(4000) < p).astype(int)
    base = fit_baseline(age, prior, outcome)
    assert base.coef[0] < 0 < base.coef[1]
    assert expected_calibration_error(outcome, base.predict(age, prior)) < 0.03


def test_the_gate_is_required_configuration() -> None:
    raw = copy.deepcopy(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text()))
    del raw["thr"]["gate"]
    with pytest.raises(ConfigError, match="thr.gate: missing"):
        config_from_mapping(raw)
    raw["thr"]["gate"] = {"min_auc_gain": 0.01, "max_ece": 1.5, "ece_tolerance": 0.0}
    with pytest.raises(ConfigError, match="max_ece: must be below 1"):
        config_from_mapping(raw)


def test_promotion_history_statuses_and_rollback(model: ThreatModel, tmp_path: Path) -> None:
    old = dataclasses.replace(model, version="threat-20200101T000000Z-00000000",
                              card={**model.card, "gate": {"passed": False, "reasons": ["x"]}})
    save_model(old, tmp_path, make_current=False)
    save_model(model, tmp_path, make_current=False)
    assert current_version(tmp_path) is None and load_current_model(tmp_path) is None
    assert model_status(tmp_path, model.version) == "candidate"
    assert model_status(tmp_path, old.version) == "rejected"
    assert promote(tmp_path, model.version, at="2026-01-01T00:00:00+00:00") is None
    assert promote(tmp_path, old.version, at="2026-01-02T00:00:00+00:00", forced=True,
                   reason="panel decision") == model.version
    assert model_status(tmp_path, model.version) == "retired"
    assert model_status(tmp_path, old.version) == "current"
    assert previous_current(tmp_path) == model.version
    assert promotions(tmp_path)[-1]["reason"] == "panel decision"
    promote(tmp_path, previous_current(tmp_path), at="2026-01-03T00:00:00+00:00")
    assert current_version(tmp_path) == model.version
    promote(tmp_path, None, at="2026-01-04T00:00:00+00:00")  # back to the fallback
    assert load_current_model(tmp_path) is None
    with pytest.raises(ModelStoreError, match="no model version"):
        promote(tmp_path, "threat-missing", at="2026-01-05T00:00:00+00:00")
