"""scoring.shortlist: eligibility, exclusions, stable ranking, pool scoring equals full."""

import numpy as np
import pandas as pd
import pytest

from scoring.catalogue import load_catalogue
from scoring.config import load_config
from scoring.score import score_people
from scoring.shortlist import (
    DEFAULT_PATH,
    ShortlistError,
    exit_review,
    load_shortlist_config,
    lookback_start,
    migration_shortlist,
    qualifying_mask,
    qualifying_types,
    shortlist_pool,
)
from scoring.synthetic import synthetic_histories

CAT = load_catalogue()
CFG = load_shortlist_config()
AS_OF = "2024-12-31"
EMPTY_CUSTODY = pd.DataFrame({"person_id": pd.Series(dtype="int64"),
                              "start_on": pd.Series(dtype="datetime64[ns]"),
                              "end_on": pd.Series(dtype="datetime64[ns]")})
EMPTY_MEMBERS = pd.DataFrame({"person_id": pd.Series(dtype="int64"), "stream": [],
                              "adopted_on": pd.Series(dtype="datetime64[ns]"),
                              "exited_on": pd.Series(dtype="datetime64[ns]")})


def _force(n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = synthetic_histories(n, seed=3)
    offences, persons = data.offences, data.persons.copy()
    persons = persons.assign(home_area=np.where(persons["person_id"] % 2 == 0, "X", "Y"))
    if "deceased_on" not in persons:
        persons["deceased_on"] = pd.NaT
    return offences, persons


def test_scoring_only_the_pool_gives_the_same_list_as_scoring_everyone() -> None:
    offences, persons = _force()
    config = load_config()
    full = score_people(offences, persons, EMPTY_CUSTODY, as_of=AS_OF, catalogue=CAT,
                        config=config)
    pool = shortlist_pool(offences, as_of=AS_OF, stream="nsac", config=CFG,
                          catalogue_table=CAT.table)
    assert 0 < len(pool) < len(persons)
    sub = persons[persons.person_id.isin(pool)]
    part = score_people(offences[offences.person_id.isin(pool)], sub, EMPTY_CUSTODY,
                        as_of=AS_OF, catalogue=CAT, config=config)
    kw = {"as_of": AS_OF, "area": "X", "stream": "nsac", "config": CFG,
          "catalogue_table": CAT.table, "limit": None}
    a = migration_shortlist(full, offences, persons, EMPTY_CUSTODY, EMPTY_MEMBERS, **kw)
    b = migration_shortlist(part, offences, sub, EMPTY_CUSTODY, EMPTY_MEMBERS, **kw)
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    assert (a.candidates["rank"].to_numpy() == np.arange(1, len(a.candidates) + 1)).all()
    risk = a.candidates["risk"].to_numpy()
    assert (np.diff(risk) <= 1e-3).all()  # highest first (rounded values)


def _people(n: int) -> pd.DataFrame:
    return pd.DataFrame({"person_id": np.arange(1, n + 1), "home_area": "X",
                         "date_of_birth": pd.to_datetime(["1990-01-01"] * n),
                         "deceased_on": pd.to_datetime([None] * n)})


def _scores(risk: list[float]) -> pd.DataFrame:
    n = len(risk)
    return pd.DataFrame({"person_id": np.arange(1, n + 1), "rfg": risk,
                         "rfg_acquisitive": risk, "rfg_domestic_abuse": [0.0] * n,
                         "threat": [0.1] * n, "harm": [1.0] * n, "risk": risk,
                         "escalating": [False] * n})


def _burglaries(pids: list[int], day: str = "2024-06-01") -> pd.DataFrame:
    return pd.DataFrame({"person_id": pids, "offence_date": pd.to_datetime([day] * len(pids)),
                         "offence_type": ["burglary_residential"] * len(pids),
                         "domestic_abuse": False, "victim_ref": None})


def test_ties_go_to_the_lower_person_id_and_exclusions_have_reasons() -> None:
    persons = _people(5)
    persons.loc[persons.person_id == 5, "deceased_on"] = pd.Timestamp("2024-07-01")
    custody = pd.DataFrame({"person_id": [4], "start_on": pd.to_datetime(["2024-11-01"]),
                            "end_on": pd.to_datetime([None])})
    members = pd.DataFrame({"person_id": [3], "stream": ["nsac"],
                            "adopted_on": pd.to_datetime(["2023-01-01"]),
                            "exited_on": pd.to_datetime([None])})
    out = migration_shortlist(_scores([2.0, 2.0, 9.0, 9.0, 9.0]), _burglaries([1, 2, 3, 4, 5]),
                              persons, custody, members, as_of=AS_OF, area="X",
                              stream="nsac", config=CFG, catalogue_table=CAT.table)
    assert out.candidates["person_id"].tolist() == [1, 2]
    why = dict(zip(out.excluded.person_id, out.excluded.reasons, strict=True))
    assert set(why) == {3, 4, 5}
    assert "already an active member" in why[3][0] and "in custody" in why[4][0]
    assert why[5] == ["deceased (2024-07-01)"]


def test_bad_arguments_raise() -> None:
    args = (_scores([1.0]), _burglaries([1]), _people(1), EMPTY_CUSTODY, EMPTY_MEMBERS)
    with pytest.raises(ShortlistError, match="no shortlist rule"):
        migration_shortlist(*args, as_of=AS_OF, area="X", stream="nope", config=CFG,
                            catalogue_table=CAT.table)
    with pytest.raises(ShortlistError, match="rank_by"):
        migration_shortlist(*args, as_of=AS_OF, area="X", stream="nsac", config=CFG,
                            catalogue_table=CAT.table, rank_by="age")


def test_no_eligible_people_gives_empty_frames() -> None:
    out = migration_shortlist(_scores([1.0]), _burglaries([1], "2019-01-01"), _people(1),
                              EMPTY_CUSTODY, EMPTY_MEMBERS, as_of=AS_OF, area="X",
                              stream="nsac", config=CFG, catalogue_table=CAT.table)
    assert out.candidates.empty and out.excluded.empty


def test_exit_review_flags_long_custody() -> None:
    members = pd.DataFrame({"membership_id": [1], "person_id": [1], "cohort": ["fixed"],
                            "stream": ["nsac"], "area": ["X"],
                            "adopted_on": pd.to_datetime(["2024-01-01"]),
                            "exited_on": pd.to_datetime([None])})
    custody = pd.DataFrame({"person_id": [1], "start_on": pd.to_datetime(["2024-03-01"]),
                            "end_on": pd.to_datetime([None])})
    out = exit_review(_scores([1.0]), _burglaries([1], "2024-02-01"), _people(1), custody,
                      members, as_of=AS_OF, area="X", stream="nsac", config=CFG)
    assert out.loc[0, "flags"] == ["long_custody"]


def test_exit_review_reads_the_sentence_where_it_is_recorded() -> None:
    """Over 24 months' sentence is an exit reason however little is served; a known short
    sentence is not, however long so far; unknown falls back to time served (6 months)."""
    members = pd.DataFrame({"membership_id": [1, 2, 3, 4], "person_id": [1, 2, 3, 4],
                            "cohort": ["fixed"] * 4, "stream": ["nsac"] * 4, "area": ["X"] * 4,
                            "adopted_on": pd.to_datetime(["2024-01-01"] * 4),
                            "exited_on": pd.to_datetime([None] * 4)})
    custody = pd.DataFrame({"person_id": [1, 2, 3, 4],
                            "start_on": pd.to_datetime(["2024-12-01", "2024-03-01",
                                                        "2024-03-01", "2024-12-01"]),
                            "end_on": pd.to_datetime([None] * 4),
                            "sentence_months": [36, 12, None, 24]})
    offences = _burglaries([1, 2, 3, 4], "2024-11-01")
    out = exit_review(_scores([1.0] * 4), offences, _people(4), custody, members,
                      as_of=AS_OF, area="X", stream="nsac", config=CFG)
    assert out["person_id"].tolist() == [1, 3]
    assert out.loc[0, "flags"] == ["long_custody"]
    assert "serving 36 months" in out.loc[0, "reasons"][0]
    assert "no sentence is recorded" in out.loc[1, "reasons"][0]


def test_qualifying_types_hold_every_qualifying_offence() -> None:
    """A database may pre-select rows by qualifying_types without losing any."""
    offences, _ = _force()
    offences = offences.assign(domestic_abuse=np.arange(len(offences)) % 3 == 0)
    for stream in CFG.streams:
        rule = CFG.rule(stream)
        types = qualifying_types(rule, CAT.table)
        mask = qualifying_mask(offences, rule, CAT.table)
        assert mask.any()
        assert offences.loc[mask, "offence_type"].isin(types).all()
        # ...and every listed type does qualify (flagged DA where the rule asks for it).
        probe = pd.DataFrame({"offence_type": pd.Series(types, dtype="string"),
                              "domestic_abuse": True})
        assert qualifying_mask(probe, rule, CAT.table).all()
    assert str(lookback_start("2024-12-31", 24)) == "2022-12-31"


def _referrals(pids: list[int]) -> pd.DataFrame:
    n = len(pids)
    return pd.DataFrame({"person_id": pids, "referral_id": np.arange(1, n + 1),
                         "referring_agency": ["youth justice"] * n, "reason": ["transition"] * n,
                         "referred_on": pd.to_datetime(["2024-11-01"] * n),
                         "closed_on": pd.to_datetime([None] * n), "ogrs_score": [None] * n})


def test_adults_only_unless_referred_as_a_transition_case() -> None:
    # Ages on 31 Dec 2024: 30, 16, 17 (referred), 16 (referred), 17 (not referred).
    people = _people(5).assign(date_of_birth=pd.to_datetime(
        ["1994-06-01", "2008-06-01", "2007-06-01", "2008-06-01", "2007-06-01"]))
    kw = {"as_of": AS_OF, "area": "X", "stream": "nsac", "config": CFG,
          "catalogue_table": CAT.table, "limit": None}
    out = migration_shortlist(_scores([5, 9, 8, 7, 6]), _burglaries([1, 2, 3, 4, 5]), people,
                              EMPTY_CUSTODY, EMPTY_MEMBERS, _referrals([3, 4]), **kw)
    listed = out.candidates.set_index("person_id")
    assert listed.index.tolist() == [3, 1]  # referred first is by risk: 8 > 5
    assert "under_min_age_referred" in listed.loc[3, "flags"]
    assert any("youth justice transition" in r for r in listed.loc[3, "reasons"])
    assert listed["age"].min() >= 17
    excluded = out.excluded.set_index("person_id")
    assert excluded.index.tolist() == [2, 4, 5]
    assert all(codes == ["under_min_age"] for codes in excluded["reason_codes"])
    assert excluded.loc[2, "reasons"][0] == (
        "aged 16 on 2024-12-31: under the minimum age of 18 for nsac")
    assert "under 18" in " ".join(out.criteria["excluded_when"])


def test_no_transition_exception_unless_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = DEFAULT_PATH.read_text().replace("    referred_min_age: 17\n", "")
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    strict = load_shortlist_config(path)
    assert strict.rule("nsac").referred_min_age is None
    people = _people(1).assign(date_of_birth=pd.to_datetime(["2007-06-01"]))
    out = migration_shortlist(_scores([5]), _burglaries([1]), people, EMPTY_CUSTODY,
                              EMPTY_MEMBERS, _referrals([1]), as_of=AS_OF, area="X",
                              stream="nsac", config=strict, catalogue_table=CAT.table)
    assert out.candidates.empty and out.excluded["reason_codes"].tolist() == [["under_min_age"]]
    path.write_text(DEFAULT_PATH.read_text().replace("referred_min_age: 17",
                                                     "referred_min_age: 19", 1))
    with pytest.raises(ShortlistError, match="referred_min_age"):
        load_shortlist_config(path)


def test_every_exclusion_code_has_words_and_an_api_name() -> None:
    from models.enums import ExclusionCode
    from models.shortlist import ExcludedByReason
    from scoring.shortlist import EXCLUSION_CODES

    assert {c.value for c in ExclusionCode} == set(EXCLUSION_CODES)
    assert set(ExcludedByReason.model_fields) == set(EXCLUSION_CODES)
