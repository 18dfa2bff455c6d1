"""The lean one-person kernel (`scoring.person`) gives the batch kernel's answer.

On random small histories, and on the edge cases named below, `person_scores` equals the
person's row of `score_people` (run on a frame holding them and another person) and their
factors in `explanations_from_parts`, with the rule-based threat and with a trained model.
And `people_scores` (many records through the kernel at once, as the nightly re-score runs
them) gives each record exactly `person_scores`' answer, to the last bit.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoring.catalogue import OffenceCatalogue, load_catalogue
from scoring.config import ScoringConfig, load_config
from scoring.explain import explanations_from_parts
from scoring.person import PersonRecord, people_scores, person_scores
from scoring.score import compute_scores, score_people
from scoring.synthetic import synthetic_histories
from scoring.thr import ThreatModel
from scoring.training import train_threat_model
from scoring.validation import ScoringInputError

AS_OF = dt.date(2024, 6, 30)
CAT, CFG = load_catalogue(), load_config()
TYPES = CAT.offence_types
# Another person in every batch run, so the batch kernel really runs on several people.
OTHER = PersonRecord(99, dt.date(1980, 2, 29), offence_dates=[dt.date(2024, 1, 31)],
                     offence_types=["robbery_personal"], domestic_abuse=[True],
                     victim_refs=["x"], custody_starts=[dt.date(2022, 1, 1)],
                     custody_ends=[dt.date(2022, 3, 1)])


@pytest.fixture(scope="module")
def models() -> dict[str, ThreatModel | None]:
    data = synthetic_histories(400, seed=3, start="2016-01-01", end="2024-06-30")
    return {"rule_based": None,
            "model": train_threat_model(data.offences, data.persons, data.custody,
                                        catalogue=CAT, config=CFG)}


def _day(days_before: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days_before)


@st.composite
def records(draw: st.DrawFn) -> PersonRecord:
    """One person: birth, maybe death, up to 12 offences (some after as_of, some on it, some
    years old), named victims, DA flags, custody spells open or closed (some after as_of)."""
    n = draw(st.integers(0, 12))
    days = draw(st.lists(st.one_of(st.just(0), st.integers(-60, 4000)), min_size=n,
                         max_size=n))
    spells = draw(st.lists(st.tuples(st.integers(-30, 3000), st.none() | st.integers(0, 900)),
                           max_size=3))
    died = draw(st.none() | st.integers(-30, 800))
    return PersonRecord(
        person_id=1, date_of_birth=_day(draw(st.integers(16 * 365, 70 * 365))),
        deceased_on=None if died is None else _day(died),
        offence_dates=[_day(d) for d in days],
        offence_types=draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n)),
        domestic_abuse=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        victim_refs=draw(st.lists(st.sampled_from([None, None, "a", "b", "c"]), min_size=n,
                                  max_size=n)),
        custody_starts=[_day(start) for start, _ in spells],
        custody_ends=[None if length is None else _day(start) + dt.timedelta(days=length)
                      for start, length in spells])


def _frames(*people: PersonRecord) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    persons = pd.DataFrame({
        "person_id": [p.person_id for p in people],
        "date_of_birth": pd.to_datetime([p.date_of_birth for p in people]),
        "deceased_on": pd.to_datetime([p.deceased_on for p in people])})
    offences = pd.DataFrame({
        "person_id": pd.Series([p.person_id for p in people for _ in p.offence_dates],
                               dtype="int64"),
        "offence_date": pd.to_datetime([d for p in people for d in p.offence_dates]),
        "offence_type": [t for p in people for t in p.offence_types],
        "domestic_abuse": pd.Series([f for p in people for f in p.domestic_abuse], dtype=bool),
        "victim_ref": pd.Series([v for p in people for v in p.victim_refs], dtype=object)})
    custody = pd.DataFrame({
        "person_id": pd.Series([p.person_id for p in people for _ in p.custody_starts],
                               dtype="int64"),
        "start_on": pd.to_datetime([d for p in people for d in p.custody_starts]),
        "end_on": pd.to_datetime([d for p in people for d in p.custody_ends])})
    return offences, persons, custody


def assert_lean_is_batch(record: PersonRecord, model: ThreatModel | None,
                         catalogue: OffenceCatalogue = CAT, config: ScoringConfig = CFG) -> None:
    kwargs = {"as_of": AS_OF, "catalogue": catalogue, "config": config, "model": model}
    lean = person_scores(record, **kwargs)
    frames = _frames(record, OTHER)
    row = score_people(*frames, **kwargs).iloc[0]
    why = explanations_from_parts(compute_scores(*frames, **kwargs), catalogue=catalogue,
                                  config=config, top=5)
    close = {"rel": 1e-9, "abs": 1e-12}
    assert lean["rfg"] == pytest.approx(
        {"recency": row["recency"], "frequency": row["frequency"], "gravity": row["gravity"],
         "victims": row["victims"], "score": row["rfg"]}, **close)
    assert lean["rfg_by_stream"] == pytest.approx(
        {"all": row["rfg"], "acquisitive": row["rfg_acquisitive"],
         "domestic_abuse": row["rfg_domestic_abuse"]}, **close)
    assert [lean["thr"][k] for k in ("threat", "harm", "risk")] == pytest.approx(
        [row["threat"], row["harm"], row["risk"]], **close)
    assert (lean["thr"]["threat_source"], lean["band"], lean["escalating"],
            lean["offences_to_date"], lean["model_version"], lean["config_version"],
            lean["catalogue_version"]) == (
        row["threat_source"], row["band"], bool(row["escalating"]), row["offences_to_date"],
        row["model_version"], row["config_version"], row["catalogue_version"])
    mine = [(f["part"], f["factor"], f["text"], f["contribution"])
            for f in lean["explanation"] if f["factor"] != "other_factors"]
    theirs = why[why["person_id"] == record.person_id]
    assert mine == [(r.part, r.factor, r.text, round(r.contribution, 2))
                    for r in theirs.itertuples()]


NO_OFFENCES = PersonRecord(1, dt.date(1990, 1, 1))
ONLY_OLD = PersonRecord(1, dt.date(1970, 5, 5), offence_dates=[_day(3000), _day(3650)],
                        offence_types=["burglary_residential", "shoplifting"],
                        domestic_abuse=[False, True], victim_refs=["a", None])
ON_AS_OF_IN_CUSTODY = PersonRecord(
    1, dt.date(2000, 6, 30), offence_dates=[AS_OF, AS_OF, _day(40)],
    offence_types=["shoplifting", "robbery_personal", "burglary_residential"],
    domestic_abuse=[False, False, False], victim_refs=[None, "a", "a"],
    custody_starts=[_day(1), _day(400)], custody_ends=[None, _day(200)])
DA_AND_ACQUISITIVE = PersonRecord(
    1, dt.date(1985, 3, 1), offence_dates=[_day(d) for d in (5, 90, 200, 500, 800)],
    offence_types=["burglary_residential", "robbery_personal", "shoplifting",
                   "burglary_residential", "robbery_personal"],
    domestic_abuse=[True, True, False, True, False], victim_refs=["v", "w", None, "v", None])
RELEASED_AFTER_AS_OF = PersonRecord(
    1, dt.date(1995, 1, 1), offence_dates=[_day(100)], offence_types=["shoplifting"],
    domestic_abuse=[False], victim_refs=[None], custody_starts=[_day(50)],
    custody_ends=[_day(-10)])
DIED = PersonRecord(1, dt.date(1960, 1, 1), deceased_on=_day(3),
                    offence_dates=[_day(30)], offence_types=["robbery_personal"],
                    domestic_abuse=[True], victim_refs=["a"])


@pytest.mark.parametrize("threat", ["rule_based", "model"])
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(record=records())
@example(record=NO_OFFENCES)
@example(record=ONLY_OLD)
@example(record=ON_AS_OF_IN_CUSTODY)
@example(record=DA_AND_ACQUISITIVE)
@example(record=RELEASED_AFTER_AS_OF)
@example(record=DIED)
def test_lean_kernel_is_the_batch_kernel(models: dict[str, ThreatModel | None], threat: str,
                                         record: PersonRecord) -> None:
    assert_lean_is_batch(record, models[threat])


def test_gravity_in_harm_days_and_bands_on_risk_agree_too() -> None:
    """The configuration's other paths: gravity summed in harm days, bands cut on risk."""
    config = replace(CFG, rfg=replace(CFG.rfg, gravity_measure="harm_weight"),
                     bands=replace(CFG.bands, score="risk"))
    for record in (DA_AND_ACQUISITIVE, ON_AS_OF_IN_CUSTODY, ONLY_OLD):
        assert_lean_is_batch(record, None, config=config)


@pytest.mark.parametrize(("record", "message"), [
    (PersonRecord(1, dt.date(1990, 1, 1), offence_dates=[AS_OF], offence_types=["arson?"],
                  domestic_abuse=[False], victim_refs=[None]), "not in catalogue"),
    (PersonRecord(1, dt.date(1990, 1, 1), custody_starts=[_day(5)], custody_ends=[_day(9)]),
     "end_on is before start_on"),
    (PersonRecord(1, dt.date(1990, 1, 1), offence_dates=[AS_OF], offence_types=[],
                  domestic_abuse=[], victim_refs=[]), "differ in length"),
])
def test_bad_records_are_refused_as_the_batch_refuses_frames(record: PersonRecord,
                                                             message: str) -> None:
    with pytest.raises(ScoringInputError, match=message):
        person_scores(record, as_of=AS_OF, catalogue=CAT, config=CFG)


def assert_many_is_one_by_one(people: list[PersonRecord], model: ThreatModel | None,
                              config: ScoringConfig = CFG) -> None:
    """Byte for byte: the stored JSON must be what the route computes for one person."""
    kwargs = {"as_of": AS_OF, "catalogue": CAT, "config": config, "model": model}
    many = people_scores(people, **kwargs)
    one_by_one = [person_scores(record, **kwargs) for record in people]
    assert [json.dumps(a, default=str) for a in many] == [
        json.dumps(a, default=str) for a in one_by_one]


@pytest.mark.parametrize("threat", ["rule_based", "model"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(people=st.lists(records(), min_size=1, max_size=8))
@example(people=[NO_OFFENCES, replace(ONLY_OLD, person_id=2),
                 replace(ON_AS_OF_IN_CUSTODY, person_id=3),
                 replace(DA_AND_ACQUISITIVE, person_id=4),
                 replace(RELEASED_AFTER_AS_OF, person_id=5), replace(DIED, person_id=6)])
def test_many_at_once_is_each_one_alone(models: dict[str, ThreatModel | None], threat: str,
                                        people: list[PersonRecord]) -> None:
    # Ids out of order too: the answers follow the records' order.
    people = [replace(record, person_id=100 - k) for k, record in enumerate(people)]
    assert_many_is_one_by_one(people, models[threat])


@pytest.mark.parametrize("threat", ["rule_based", "model"])
def test_many_at_once_on_the_demo_force(models: dict[str, ThreatModel | None],
                                        threat: str) -> None:
    data = synthetic_histories(300, seed=11, start="2016-01-01", end="2024-06-30")
    offences = data.offences.sort_values(["person_id", "offence_date"], kind="stable")
    by_person = dict(tuple(offences.groupby("person_id")))
    spells = dict(tuple(data.custody.groupby("person_id")))
    people = []
    for person in data.persons.itertuples():
        done, held = by_person.get(person.person_id), spells.get(person.person_id)
        people.append(PersonRecord(
            int(person.person_id), pd.Timestamp(person.date_of_birth).date(),
            offence_dates=[] if done is None else [d.date() for d in done["offence_date"]],
            offence_types=[] if done is None else list(done["offence_type"]),
            domestic_abuse=[] if done is None else [bool(f) for f in done["domestic_abuse"]],
            victim_refs=[] if done is None else [None if pd.isna(v) else str(v)
                                                 for v in done["victim_ref"]],
            custody_starts=[] if held is None else [d.date() for d in held["start_on"]],
            custody_ends=[] if held is None else [None if pd.isna(d) else d.date()
                                                  for d in held["end_on"]]))
    assert_many_is_one_by_one(people, models[threat])
    config = replace(CFG, rfg=replace(CFG.rfg, gravity_measure="harm_weight"),
                     bands=replace(CFG.bands, score="risk"))
    assert_many_is_one_by_one(people[:100], None, config=config)


def test_many_at_once_refuses_a_bad_record_or_a_repeated_id() -> None:
    bad = PersonRecord(2, dt.date(1990, 1, 1), offence_dates=[AS_OF], offence_types=["arson?"],
                       domestic_abuse=[False], victim_refs=[None])
    with pytest.raises(ScoringInputError, match="not in catalogue"):
        people_scores([NO_OFFENCES, bad], as_of=AS_OF, catalogue=CAT, config=CFG)
    with pytest.raises(ScoringInputError, match="repeat"):
        people_scores([NO_OFFENCES, NO_OFFENCES], as_of=AS_OF, catalogue=CAT, config=CFG)
    assert people_scores([], as_of=AS_OF, catalogue=CAT, config=CFG) == []
