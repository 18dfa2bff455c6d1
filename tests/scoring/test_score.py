"""score_people and the explanations: shape, versions, degenerate input, agreement with the
parts, and explanations that add up to the scores they explain."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scoring.config import STREAMS
from scoring.explain import explain_people, explain_person, explanations_from_parts
from scoring.history import ScoringInputError
from scoring.rfg import rfg_scores
from scoring.score import SCORE_COLUMNS, compute_scores, score_people
from tests.scoring.builders import AS_OF, make_custody, make_offences, make_persons


def test_one_row_per_person_with_every_column_and_version(force, cat, cfg) -> None:
    out = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                       catalogue=cat, config=cfg)
    assert tuple(out.columns) == SCORE_COLUMNS
    assert out["person_id"].tolist() == sorted(force.persons["person_id"])
    assert set(out["as_of"]) == {AS_OF}
    assert set(out["threat_source"]) == {"rule_based"}
    assert set(out["config_version"]) == {cfg.version}
    assert set(out["catalogue_version"]) == {cat.version}
    assert set(out["model_version"]) == {f"rule_based@{cfg.version}"}
    for column in ("recency", "frequency", "gravity", "victims", "rfg", "rfg_acquisitive",
                   "rfg_domestic_abuse", "harm", "risk"):
        assert out[column].between(0, 100).all(), column
    assert out["threat"].between(0, 1).all()
    assert not out.isna().any().any()
    np.testing.assert_allclose(out["risk"], out["threat"] * out["harm"])


def test_streams_match_rfg_scores(force, cat, cfg) -> None:
    out = score_people(force.offences, force.persons, as_of=AS_OF, catalogue=cat, config=cfg)
    for stream, column in zip(STREAMS, ("rfg", "rfg_acquisitive", "rfg_domestic_abuse"),
                              strict=True):
        alone = rfg_scores(force.offences, as_of=AS_OF, catalogue=cat, config=cfg,
                           stream=stream, persons=force.persons)
        np.testing.assert_array_equal(out[column], alone["score"])
    np.testing.assert_array_equal(out["escalating"], rfg_scores(
        force.offences, as_of=AS_OF, catalogue=cat, config=cfg,
        persons=force.persons)["escalating"])


def test_model_scores_say_so(force, model, cat, cfg) -> None:
    out = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                       catalogue=cat, config=cfg, model=model)
    assert set(out["threat_source"]) == {"model"}
    assert set(out["model_version"]) == {model.version}
    none = out["offences_to_date"] == 0
    assert (out.loc[none, ["threat", "harm", "risk"]] == 0).all().all()
    assert out.loc[~none, "threat"].between(0, 1, inclusive="neither").all()


def test_degenerate_inputs_have_stated_answers(cat, cfg) -> None:
    empty = score_people(make_offences(), make_persons(), as_of=AS_OF, catalogue=cat,
                         config=cfg)
    assert tuple(empty.columns) == SCORE_COLUMNS and len(empty) == 0
    alone = score_people(make_offences(), make_persons((4, dt.date(1990, 1, 1))),
                         as_of=AS_OF, catalogue=cat, config=cfg)
    row = alone.iloc[0]
    assert row[["rfg", "threat", "harm", "risk"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert not row["escalating"] and row["band"] == "low"


def test_custody_is_read_as_of_the_date(cat, cfg, model) -> None:
    persons = make_persons((1, dt.date(1990, 1, 1)))
    offences = make_offences((1, 400, "burglary_residential"), (1, 30, "shoplifting"))
    inside = make_custody((1, dt.date(2024, 1, 1), None))
    released_later = make_custody((1, dt.date(2024, 1, 1), dt.date(2025, 1, 1)))
    a = compute_scores(offences, persons, inside, as_of=AS_OF, catalogue=cat, config=cfg,
                       model=model)
    b = compute_scores(offences, persons, released_later, as_of=AS_OF, catalogue=cat,
                       config=cfg, model=model)
    assert a.features is not None and b.features is not None
    # a release after as_of was not known on as_of: same features either way
    np.testing.assert_array_equal(a.features.matrix, b.features.matrix)
    assert bool(a.features.custody.in_custody[0])
    # 12 months = 2023-07-01..2024-06-30 (366 days), in custody 2024-01-01..2024-06-30 (182)
    assert a.features.custody.liberty_days_12m[0] == 366 - 182


@pytest.mark.parametrize("with_model", [False, True])
def test_explanations_add_up_to_the_scores(force, model, cat, cfg, with_model) -> None:
    chosen = model if with_model else None
    parts = compute_scores(force.offences, force.persons, force.custody, as_of=AS_OF,
                           catalogue=cat, config=cfg, model=chosen)
    people = np.flatnonzero(parts.basics.n_offences > 0)[:40]
    frame = explanations_from_parts(parts, catalogue=cat, config=cfg, top=100, people=people)
    rfg = frame[frame["part"] == "rfg"].groupby("person_id")["contribution"].sum()
    np.testing.assert_allclose(rfg.to_numpy(), parts.rfg["all"].score[people], rtol=1e-9)
    threat = frame[frame["part"] == "threat"].groupby("person_id")["contribution"].sum()
    if with_model:
        base = float(model.link(np.array([model.baseline_logit]))[0])
    else:
        base = 1 / (1 + np.exp(-cfg.thr.rule_based.intercept))
    np.testing.assert_allclose(threat.to_numpy(), 100 * (parts.threat[people] - base),
                               rtol=1e-7, atol=1e-7)
    assert frame["text"].str.len().gt(3).all()


def test_explain_person_reads_like_the_issue_asks(force, model, cat, cfg) -> None:
    busiest = force.offences["person_id"].value_counts().index[0]
    out = explain_person(force.offences, force.persons, force.custody, person_id=busiest,
                         as_of=AS_OF, catalogue=cat, config=cfg, model=model, top=3)
    assert out["threat"]["source"] == "model"
    assert out["model_version"] == model.version
    # The top three, and one line for the rest so the explanation adds up.
    assert 0 < len(out["threat"]["factors"]) <= 4
    first = out["rfg"]["factors"][0]
    assert first["display"].endswith(f"{first['contribution']:+.0f}")
    # The top factors come largest first; the rest's line sums many, so it may be larger.
    contributions = [abs(f["contribution"]) for f in out["threat"]["factors"]
                     if f["factor"] != "other_factors"]
    assert contributions == sorted(contributions, reverse=True)
    with pytest.raises(ScoringInputError, match="not in persons"):
        explain_person(force.offences, force.persons, person_id=-1, as_of=AS_OF,
                       catalogue=cat, config=cfg)


def test_explain_people_for_a_shortlist(force, model, cat, cfg) -> None:
    ids = force.persons["person_id"].iloc[[3, 10, 20]].tolist()
    frame = explain_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                           catalogue=cat, config=cfg, model=model, person_ids=ids, top=2)
    assert set(frame["person_id"]) <= set(ids)
    assert frame.groupby(["person_id", "part"]).size().max() <= 2
    assert isinstance(frame, pd.DataFrame)


def test_deceased_people_keep_their_rfg_but_have_no_threat(cat, cfg) -> None:
    persons = make_persons((1, dt.date(1990, 1, 1)), (2, dt.date(1990, 1, 1)),
                           deceased_on=[dt.date(2024, 6, 1), None])
    offences = make_offences((1, 40, "burglary_residential"), (2, 40, "burglary_residential"))
    out = score_people(offences, persons, as_of=AS_OF, catalogue=cat, config=cfg)
    assert out.loc[0, "rfg"] == out.loc[1, "rfg"] > 0
    assert out.loc[0, ["threat", "risk"]].tolist() == [0.0, 0.0]
    assert out.loc[1, "threat"] > 0
    ids_only = rfg_scores(offences, as_of=AS_OF, catalogue=cat, config=cfg,
                          persons=persons[["person_id"]])
    np.testing.assert_array_equal(ids_only["score"], out["rfg"])


@pytest.mark.parametrize("top", [1, 3, 5])
def test_a_short_explanation_still_adds_up(force, model, cat, cfg, top) -> None:
    """A person's explanation shows the top factors and one line for the rest, so the
    baseline plus the lines is the threat shown, and the RFG lines are the RFG score."""
    busiest = force.offences["person_id"].value_counts().index[:5]
    for person_id in busiest:
        out = explain_person(force.offences, force.persons, force.custody,
                             person_id=int(person_id), as_of=AS_OF, catalogue=cat, config=cfg,
                             model=model, top=top)
        threat = out["threat"]
        lines = threat["factors"]
        assert len(lines) <= top + 1
        total = threat["baseline"] + sum(f["contribution"] for f in lines) / 100
        assert total == pytest.approx(threat["value"], abs=1e-4 + 5e-5 * len(lines))
        rfg = sum(f["contribution"] for f in out["rfg"]["factors"])
        assert rfg == pytest.approx(out["rfg"]["score"], abs=0.01 * len(out["rfg"]["factors"]))
        if len(lines) == top + 1:
            assert lines[-1]["factor"] == "other_factors"
            assert lines[-1]["text"].endswith("other factors together") or \
                lines[-1]["text"] == "1 other factor together"
