"""One person's score as a request computes it (their rows only, the answer read from the
kernel's arrays, the person row the route already holds) agrees with the batch kernel
(`score_people` and `explanations_from_parts` over the whole force): random people of the
demo force, rule-based and trained threat, current knowledge and as recorded."""

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import CustodyPeriod, Offence, Person
from scoring import load_catalogue, load_config, score_people
from scoring.explain import explanations_from_parts
from scoring.score import compute_scores
from scoring.synthetic import synthetic_histories
from scoring.training import train_threat_model
from scoring.uk_calendar import end_of_uk_day, uk_today
from service.demo import generate_demo, load_demo
from service.errors import NotFound
from service.frames import Filters, custody_frame, offences_frame, persons_frame
from service.scorer import Scorer, person_score

END = uk_today() - timedelta(days=1)
PEOPLE = 30  # drawn at random from the force for each case


@pytest.fixture(scope="module")
def force(engine: Engine) -> Engine:
    """The demo force (800 people), committed to this module's own database."""
    load_demo(engine, generate_demo(people=800, end=END))
    return engine


@pytest.fixture(scope="module")
def scorers() -> dict[str, Scorer]:
    catalogue, config = load_catalogue(), load_config()
    data = synthetic_histories(400, seed=0, start="2016-01-01")
    model = train_threat_model(data.offences, data.persons, data.custody, catalogue=catalogue,
                               config=config)
    return {"rule_based": Scorer(catalogue=catalogue, config=config, model=None),
            "model": Scorer(catalogue=catalogue, config=config, model=model)}


def _batch(session: Session, scorer: Scorer, as_of: date,
           as_recorded: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    conn = session.connection()
    scope = Filters(offences_until=as_of,
                    recorded_by=end_of_uk_day(as_of) if as_recorded else None)
    frames = (offences_frame(conn, scope), persons_frame(conn, scope), custody_frame(conn, scope))
    kwargs: dict[str, Any] = {"as_of": as_of, "catalogue": scorer.catalogue,
                              "config": scorer.config, "model": scorer.model}
    scores = score_people(*frames, **kwargs)
    why = explanations_from_parts(compute_scores(*frames, **kwargs), catalogue=scorer.catalogue,
                                  config=scorer.config, top=5)
    return scores, why


def _assert_agrees(one: dict[str, Any], scores: pd.DataFrame, why: pd.DataFrame,
                   pid: int) -> None:
    """The person's answer is their row of the batch scores and their batch factors."""
    row = scores.loc[scores["person_id"] == pid].iloc[0]
    assert one["rfg"] == pytest.approx(
        {"recency": row["recency"], "frequency": row["frequency"],
         "gravity": row["gravity"], "victims": row["victims"], "score": row["rfg"]},
        rel=1e-9, abs=1e-12), pid
    assert one["rfg_by_stream"] == pytest.approx(
        {"all": row["rfg"], "acquisitive": row["rfg_acquisitive"],
         "domestic_abuse": row["rfg_domestic_abuse"]}, rel=1e-9, abs=1e-12), pid
    assert [one["thr"][k] for k in ("threat", "harm", "risk")] == pytest.approx(
        [row["threat"], row["harm"], row["risk"]], rel=1e-9, abs=1e-12), pid
    assert (one["thr"]["threat_source"], one["band"], one["escalating"],
            one["offences_to_date"], one["model_version"]) == (
        str(row["threat_source"]), str(row["band"]), bool(row["escalating"]),
        int(row["offences_to_date"]), str(row["model_version"])), pid
    mine = [(f["part"], f["factor"], f["text"], f["contribution"])
            for f in one["explanation"] if f["factor"] != "other_factors"]
    theirs = why.loc[why["person_id"] == pid]
    assert mine == [(r.part, r.factor, r.text, round(r.contribution, 2))
                    for r in theirs.itertuples()], pid


@pytest.mark.parametrize("threat", ["rule_based", "model"])
@pytest.mark.parametrize(("days_back", "as_recorded"), [(0, False), (400, False), (400, True)])
def test_one_persons_score_is_the_batch_kernels(force: Engine, scorers: dict[str, Scorer],
                                                threat: str, days_back: int,
                                                as_recorded: bool) -> None:
    scorer = scorers[threat]
    as_of = END - timedelta(days=days_back)
    rng = np.random.default_rng(16 + days_back + as_recorded)
    with Session(force) as session:
        scores, why = _batch(session, scorer, as_of, as_recorded)
        assert len(scores) == 800
        # Some people with offences to date and some without, whatever the draw.
        with_record = scores.loc[scores["offences_to_date"] > 0, "person_id"].to_numpy()
        chosen = [*rng.choice(with_record, PEOPLE - 3, replace=False),
                  *rng.choice(scores["person_id"].to_numpy(), 3, replace=False)]
        for n, pid in enumerate(int(p) for p in chosen):
            # Half the time with the person row in hand, as the route calls it.
            held = session.get(Person, pid) if n % 2 else None
            one = person_score(session=session, person_id=pid, as_of=as_of, scorer=scorer,
                               as_recorded=as_recorded, person=held)
            _assert_agrees(one, scores, why, pid)


def _edge_people(session: Session, as_of: date) -> list[int]:
    """People written (not committed) for the cases random draws may miss: no offences
    (in custody), offences on as_of itself and after it, DA with named victims, custody
    open on as_of and released after it, only old offences, died; some rows recorded after
    as_of (as_recorded leaves them out)."""
    area = session.exec(select(Person)).first().home_area  # type: ignore[union-attr]
    that_day = end_of_uk_day(as_of) - timedelta(hours=6)
    later = end_of_uk_day(as_of) + timedelta(days=3)
    people = [Person(pnc_id=pnc, date_of_birth=born, home_area=area, deceased_on=died)
              for pnc, born, died in (("2001/0000001Z", date(1990, 1, 1), None),
                                      ("2001/0000002A", date(2000, 2, 29), None),
                                      ("2001/0000003B", date(1960, 7, 1), None),
                                      ("2001/0000004C", date(1980, 5, 5),
                                       as_of - timedelta(days=2)))]
    session.add_all(people)
    session.flush()
    none, busy, old, died = (p.id for p in people)
    assert none and busy and old and died

    def offence(pid: int, days: int, kind: str, recorded: Any = that_day, **more: Any) -> Offence:
        return Offence(person_id=pid, offence_date=as_of - timedelta(days=days),
                       offence_type=kind, recorded_at=recorded, **more)

    session.add_all([
        offence(busy, 0, "burglary_residential", domestic_abuse=True, victim_ref="v1"),
        offence(busy, 0, "robbery_personal", victim_ref="v2"),
        offence(busy, 0, "shoplifting", recorded=later),
        offence(busy, 30, "burglary_residential", domestic_abuse=True, victim_ref="v1"),
        offence(busy, -5, "robbery_personal"),
        offence(busy, 200, "shoplifting", recorded=later),
        offence(old, 3000, "burglary_residential"), offence(old, 3400, "robbery_personal"),
        offence(died, 20, "robbery_personal", domestic_abuse=True, victim_ref="v3"),
        CustodyPeriod(person_id=none, start_on=as_of - timedelta(days=90), recorded_at=that_day),
        CustodyPeriod(person_id=busy, start_on=as_of - timedelta(days=1), recorded_at=that_day),
        CustodyPeriod(person_id=busy, start_on=as_of - timedelta(days=300),
                      end_on=as_of + timedelta(days=10), recorded_at=later),
        CustodyPeriod(person_id=old, start_on=as_of - timedelta(days=500),
                      end_on=as_of - timedelta(days=100), recorded_at=that_day),
    ])
    session.flush()
    return [none, busy, old, died]


@pytest.mark.parametrize("threat", ["rule_based", "model"])
@pytest.mark.parametrize(("days_back", "as_recorded"), [(0, False), (400, True)])
def test_edge_cases_in_the_register_agree(force: Engine, scorers: dict[str, Scorer],
                                          threat: str, days_back: int,
                                          as_recorded: bool) -> None:
    scorer = scorers[threat]
    as_of = END - timedelta(days=days_back)
    with Session(force) as session:  # never committed: rolled back on close
        chosen = _edge_people(session, as_of)
        scores, why = _batch(session, scorer, as_of, as_recorded)
        for pid in chosen:
            one = person_score(session=session, person_id=pid, as_of=as_of, scorer=scorer,
                               as_recorded=as_recorded)
            _assert_agrees(one, scores, why, pid)
        busy = scores.loc[scores["person_id"] == chosen[1]].iloc[0]
        assert busy["offences_to_date"] == (3 if as_recorded else 5)  # not the one after as_of


def test_a_person_who_is_not_there_is_not_found(force: Engine,
                                                scorers: dict[str, Scorer]) -> None:
    with Session(force) as session, pytest.raises(NotFound, match="person 999999"):
        person_score(session=session, person_id=999_999, as_of=END,
                     scorer=scorers["rule_based"])
