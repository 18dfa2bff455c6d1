"""Threat, harm and risk: closed forms, the rule-based fallback, the model's arithmetic, and
that sex and ethnicity never reach the model."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from scoring.catalogue import OffenceCatalogue
from scoring.features import PROTECTED, check_no_protected, feature_specs
from scoring.score import compute_scores, score_people
from scoring.thr import ModelMismatchError, ThreatModel, model_card, risk_scores
from tests.scoring.builders import AS_OF, make_offences, make_persons

# The stated harm scale tops out at homicide's CCHI median (rfg_config thr.harm).
LOG_FULL = math.log1p(5475)


def parts(offences: pd.DataFrame, persons: pd.DataFrame, cat, cfg, **kw):
    return compute_scores(offences, persons, kw.pop("custody", None), as_of=AS_OF,
                          catalogue=cat, config=cfg, **kw)


def test_harm_is_the_recency_weighted_mean_harm_weight_on_a_log_scale(cat, cfg) -> None:
    # CCHI subgroup medians (catalogue 2026.12-sourced-1): robbery of personal property 365
    # days, shoplifting 1 (was the project's guess of 2), homicide 5,475, rape 2,555.
    persons = make_persons((1, dt.date(1990, 1, 1)), (2, dt.date(1990, 1, 1)),
                           (3, dt.date(1990, 1, 1)), (4, dt.date(1990, 1, 1)))
    offences = make_offences((1, 0, "robbery_personal"),
                             (2, 0, "robbery_personal"), (2, 365, "shoplifting"),
                             (3, 10, "homicide"), (4, 0, "rape"))
    p = parts(offences, persons, cat, cfg)
    mean_days = (365 * 1 + 1 * 0.5) / 1.5  # a year-old offence weighs half
    assert p.harm_days[:2] == pytest.approx([365.0, mean_days])
    assert p.harm[0] == pytest.approx(100 * math.log1p(365) / LOG_FULL)
    assert p.harm[1] == pytest.approx(100 * math.log1p(mean_days) / LOG_FULL)
    assert p.harm[2] == 100.0  # homicide's median is the full scale
    # Rape is no longer capped level with homicide (the full scale was 1,825 days).
    assert p.harm[3] == pytest.approx(100 * math.log1p(2555) / LOG_FULL)
    assert 90 < p.harm[3] < 100


def test_rule_based_threat_is_the_documented_ogrs3_like_formula(cat, cfg) -> None:
    persons = make_persons((1, dt.date(1995, 5, 1)))
    offences = make_offences((1, dt.date(2024, 5, 1), "burglary_residential"),
                             (1, dt.date(2024, 6, 1), "burglary_residential"))
    p = parts(offences, persons, cat, cfg)
    rule = cfg.thr.rule_based
    age = (AS_OF - dt.date(1995, 5, 1)).days / 365.25
    age_first = age - (AS_OF - dt.date(2024, 5, 1)).days / 365.25
    y = (rule.intercept + rule.age_terms[rule.age_bands.index(25)]
         + rule.copas_multiplier * math.log(2 / (10 + age - age_first))
         + rule.repeat_offence + rule.offence_terms["burglary_residential"])
    assert p.threat[0] == pytest.approx(1 / (1 + math.exp(-y)))
    assert p.rule is not None and p.model is None


def test_rule_based_edge_cases(cat, cfg) -> None:
    persons = make_persons((1, dt.date(2016, 1, 1)), (2, dt.date(1980, 1, 1)),
                           (3, dt.date(1980, 1, 1)))
    offences = make_offences((1, 10, "criminal_damage"), (2, 10, "drugs_possession"))
    p = parts(offences, persons, cat, cfg)
    rule = cfg.thr.rule_based
    assert p.rule is not None
    assert p.rule.terms["age"][0] == rule.age_terms[0]      # aged 8: the first band
    assert p.rule.terms["status"][1] == rule.first_offence  # one recorded offence
    assert p.rule.terms["offence"][1] == 0.0                # type not listed: 0
    assert p.threat[2] == 0.0 and p.risk[2] == 0.0          # no record at all


def test_risk_is_threat_times_harm() -> None:
    assert risk_scores(np.array([0.5, 1.0, 0.0]), np.array([60.0, 100.0, 80.0])).tolist() == [
        30.0, 100.0, 0.0]


def test_model_arithmetic_and_json_round_trip(model: ThreatModel, force, cat, cfg) -> None:
    p = parts(force.offences, force.persons, cat, cfg, custody=force.custody, model=model)
    assert p.features is not None
    matrix = p.features.matrix
    logit = model.baseline_logit + model.contributions(matrix).sum(axis=1)
    np.testing.assert_allclose(model.predict(matrix), model.link(logit), rtol=1e-10)
    again = ThreatModel.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.predict(matrix), model.predict(matrix))
    has = p.basics.n_offences > 0
    assert (p.threat[~has] == 0).all()
    assert ((p.threat[has] > 0) & (p.threat[has] < 1)).all()


def test_sex_and_ethnicity_are_never_features(model: ThreatModel, force, cat, cfg) -> None:
    names = [s.name for s in feature_specs(cat, cfg)]
    assert not [n for n in names if {"sex", "gender", "ethnicity", "ethnic"} & set(n.split("_"))]
    assert not set(model.feature_names) & PROTECTED
    assert model.card["protected_characteristics_used"] is False
    with pytest.raises(ValueError, match="protected characteristic"):
        check_no_protected(["count_acquisitive_0_6m", "ethnicity_W1"])
    with pytest.raises(ValueError, match="protected characteristic"):
        ThreatModel("x", ("sex",), ("none",), np.zeros(1), np.ones(1), np.ones(1), 0.0,
                    (1.0, 0.0))
    # Whatever the monitoring labels say, the scores do not move.
    rng = np.random.default_rng(0)
    labelled = force.persons.merge(force.monitoring, on="person_id")
    shuffled = labelled.assign(sex=rng.permutation(labelled["sex"].to_numpy()),
                               ethnicity=rng.permutation(labelled["ethnicity"].to_numpy()))
    a = score_people(force.offences, labelled, force.custody, as_of=AS_OF, catalogue=cat,
                     config=cfg, model=model)
    b = score_people(force.offences, shuffled, force.custody, as_of=AS_OF, catalogue=cat,
                     config=cfg, model=model)
    pd.testing.assert_frame_equal(a, b)


def test_a_model_for_other_features_is_refused(model: ThreatModel, force,
                                               cat: OffenceCatalogue, cfg) -> None:
    table = cat.table.copy()
    table.loc["breach", "offence_group"] = "court_orders"  # a new group: new features
    other = OffenceCatalogue(version="force-2", cost_table="", table=table, _by_ho_code={})
    with pytest.raises(ModelMismatchError, match="retrain"):
        score_people(force.offences, force.persons, as_of=AS_OF, catalogue=other, config=cfg,
                     model=model)


def test_model_card_always_answers(model: ThreatModel, cat, cfg) -> None:
    fallback = model_card(None, config=cfg, catalogue=cat)
    assert fallback["threat_source"] == "rule_based"
    assert "sex is never used" in fallback["description"]
    assert fallback["config_version"] == cfg.version
    card = model_card(model, config=cfg, catalogue=cat)
    assert card["threat_source"] == "model" and card["model_version"] == model.version
    assert card["in_use_with"]["config_matches_training"] is True
