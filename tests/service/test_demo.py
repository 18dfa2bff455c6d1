"""The demo force area: deterministic, internally consistent, and loaded fast and whole."""

import dataclasses
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import Person
from models.enums import ETHNICITY_CODES, Cohort, ExitReason, Outcome, Sex
from models.identifiers import canonical_pnc_id
from scoring.catalogue import load_catalogue
from scoring.synthetic import synthetic_histories
from scoring.uk_calendar import uk_today
from service import cli
from service.db import get_engine
from service.demo import DEFAULT_SEED, DemoData, DemoDataExists, generate_demo, load_demo
from service.demo.tables import AREA_SHARES, STREAMS
from tests.conftest import command_line_on

END = date(2025, 6, 30)
AREAS = set(AREA_SHARES)
TABLES = {"persons": "persons", "offences": "offences", "custody": "custody_periods",
          "memberships": "cohort_memberships"}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    """The default-size force area, ending on a fixed day."""
    return generate_demo(end=END)


def _assert_same(a: DemoData, b: DemoData) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


# --- determinism ------------------------------------------------------------------------

def test_same_seed_gives_identical_frames() -> None:
    _assert_same(generate_demo(seed=7, people=3_000, end=END),
                 generate_demo(seed=7, people=3_000, end=END))


def test_different_seed_gives_different_data() -> None:
    a = generate_demo(seed=7, people=3_000, end=END)
    b = generate_demo(seed=8, people=3_000, end=END)
    assert not a.persons["pnc_id"].equals(b.persons["pnc_id"])
    assert len(a.offences) != len(b.offences) or not a.offences.equals(b.offences)


def test_end_defaults_to_today_and_cannot_be_in_the_future() -> None:
    data = generate_demo(people=300)
    assert data.end == uk_today()
    assert data.offences["offence_date"].max() <= pd.Timestamp(uk_today())
    with pytest.raises(ValueError, match="future"):
        generate_demo(people=10, end=date(uk_today().year + 1, 1, 1))


# --- people -----------------------------------------------------------------------------

def test_pnc_ids_are_canonical_valid_and_unique(demo: DemoData) -> None:
    ids = demo.persons["pnc_id"]
    assert ids.is_unique
    assert all(canonical_pnc_id(pnc) == pnc for pnc in ids)


def test_people_use_the_vocabularies_and_every_area(demo: DemoData) -> None:
    persons = demo.persons
    assert len(persons) == 30_000
    assert set(persons["sex"].dropna()) <= {s.value for s in Sex}
    assert persons["sex"].value_counts(normalize=True)["male"] > 0.75
    assert set(persons["ethnicity"].dropna()) <= set(ETHNICITY_CODES)
    areas = persons["home_area"].value_counts()
    assert set(areas.index) == AREAS
    assert areas.idxmax() == "BRISTOL"
    named = persons["given_name"].notna()
    assert 0.8 < named.mean() < 1.0
    assert (persons["family_name"].notna() == named).all()


def test_nothing_is_dated_after_end(demo: DemoData) -> None:
    last = pd.Timestamp(END)
    dated = {
        "persons": ["date_of_birth", "deceased_on", "created_at"],
        "offences": ["offence_date", "outcome_date", "recorded_at"],
        "custody": ["start_on", "end_on"],
        "memberships": ["adopted_on", "exited_on"],
    }
    for name, columns in dated.items():
        frame = getattr(demo, name)
        for column in columns:
            values = frame[column]
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                values = values.dt.tz_localize(None)
            assert values.max() <= last, f"{name}.{column}"


def _age_at(born: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age (calendar arithmetic, birthdays counted on the day)."""
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day))
    return on.dt.year - born.dt.year - before_birthday.astype(int)


def test_every_offence_is_at_age_ten_or_more(demo: DemoData) -> None:
    born = demo.persons.set_index("person_id")["date_of_birth"]
    offences = demo.offences
    ages = _age_at(born.loc[offences["person_id"]].reset_index(drop=True),
                   offences["offence_date"])
    assert ages.min() >= 10


# --- offences ---------------------------------------------------------------------------

def test_offences_use_catalogue_types_and_unique_source_refs(demo: DemoData) -> None:
    offences = demo.offences
    assert set(offences["offence_type"].unique()) <= set(load_catalogue().offence_types)
    assert (offences["source"] == "demo").all()
    assert offences["source_ref"].is_unique
    assert offences["person_id"].isin(demo.persons["person_id"]).all()
    assert demo.persons["person_id"].isin(offences["person_id"]).all()


def test_offence_mix_covers_the_patterns(demo: DemoData) -> None:
    groups = load_catalogue().table["offence_group"]
    share = demo.offences["offence_type"].astype(str).map(groups).value_counts(normalize=True)
    for group in ("acquisitive", "violence", "sexual", "drugs"):
        assert share[group] > 0.005, group
    assert 0.03 < demo.offences["domestic_abuse"].mean() < 0.3


def test_outcomes_are_dated_after_the_offence_unless_pending(demo: DemoData) -> None:
    offences = demo.offences
    assert set(offences["outcome"].unique()) <= {o.value for o in Outcome}
    for outcome in ("conviction", "caution", "charge", "no_further_action", "pending"):
        assert (offences["outcome"] == outcome).any(), outcome
    pending = offences["outcome"] == "pending"
    assert offences.loc[pending, "outcome_date"].isna().all()
    dated = offences[~pending]
    assert dated["outcome_date"].notna().all()
    assert (dated["outcome_date"] >= dated["offence_date"]).all()
    assert (offences["recorded_at"].dt.tz_localize(None) >= offences["offence_date"]).all()


def test_domestic_abuse_has_victims_and_serial_perpetrators(demo: DemoData) -> None:
    da = demo.offences[demo.offences["domestic_abuse"]]
    assert da["victim_ref"].notna().all()
    victims = da.groupby("person_id")["victim_ref"].nunique()
    assert (victims >= 2).sum() >= 20
    # Pseudonymous keys: no victim key is shared between two perpetrators' DA offences.
    perpetrators = da.groupby("victim_ref", observed=True)["person_id"].nunique()
    assert perpetrators.max() == 1


def test_a_small_persistent_core_holds_a_large_share(demo: DemoData) -> None:
    per_person = demo.offences.groupby("person_id").size().sort_values(ascending=False)
    top = per_person.iloc[: len(per_person) // 20].sum() / per_person.sum()
    assert top > 0.3
    assert (per_person == 1).mean() > 0.4  # the long tail of one-off offenders
    assert per_person.max() >= 30


def test_past_offending_predicts_the_last_year(demo: DemoData) -> None:
    cut = pd.Timestamp(END) - pd.Timedelta(days=365)
    offences = demo.offences
    index = demo.persons["person_id"]
    before = offences[offences["offence_date"] < cut].groupby("person_id").size()
    after = offences[offences["offence_date"] >= cut].groupby("person_id").size()
    before, after = before.reindex(index, fill_value=0), after.reindex(index, fill_value=0)
    prolific = after[before >= 5].mean()
    one_off = after[before == 1].mean()
    assert prolific > 5 * one_off


# --- custody ----------------------------------------------------------------------------

def test_custody_spells_never_overlap_and_some_are_open(demo: DemoData) -> None:
    spells = demo.custody.sort_values(["person_id", "start_on"])
    assert len(spells) > 0
    closed = spells["end_on"].notna()
    assert (spells.loc[closed, "end_on"] >= spells.loc[closed, "start_on"]).all()
    assert (~closed).sum() > 0
    previous_end = spells.groupby("person_id")["end_on"].shift()
    later = spells["person_id"].duplicated()
    # Closed intervals: the next spell starts after the previous one ended, never while
    # one is still open.
    assert previous_end[later].notna().all()
    assert (spells.loc[later, "start_on"] > previous_end[later]).all()
    assert ((spells["end_on"] - spells["start_on"]).dt.days > 730).any()


def test_nobody_offends_while_in_custody(demo: DemoData) -> None:
    spells = demo.custody.assign(
        end_on=demo.custody["end_on"].fillna(pd.Timestamp(END)))
    joined = demo.offences[["person_id", "offence_date"]].merge(spells, on="person_id")
    inside = (joined["offence_date"] >= joined["start_on"]) & (
        joined["offence_date"] <= joined["end_on"])
    assert not inside.any()


def test_the_scoring_tests_histories_are_the_demos_offending() -> None:
    """One offending model: for one seed, window and mean, `synthetic_histories` holds the
    demo's people, offences and custody, as the scoring contract's frames."""
    demo = generate_demo(seed=11, people=2_000, end=END, years=6, offences_per_person=4.0)
    start = END - timedelta(days=round(6 * 365.25))
    data = synthetic_histories(2_000, start=start.isoformat(), end=END.isoformat(),
                               mean_offences=4.0, seed=11)
    pd.testing.assert_frame_equal(data.persons, demo.persons[["person_id", "date_of_birth"]])
    offences = demo.offences[list(data.offences.columns)]
    pd.testing.assert_frame_equal(
        data.offences, offences.astype({"offence_type": "str", "victim_ref": "str"}))
    pd.testing.assert_frame_equal(data.custody, demo.custody[["person_id", "start_on", "end_on"]])
    pd.testing.assert_series_equal(data.monitoring["sex"], demo.persons["sex"].astype("str"))


def test_nothing_happens_after_death(demo: DemoData) -> None:
    died = demo.persons.dropna(subset=["deceased_on"])[["person_id", "deceased_on"]]
    assert len(died) > 0
    offences = demo.offences.merge(died, on="person_id")
    assert (offences["offence_date"] <= offences["deceased_on"]).all()
    spells = demo.custody.merge(died, on="person_id")
    assert spells["end_on"].notna().all()
    assert (spells["end_on"] <= spells["deceased_on"]).all()


# --- memberships ------------------------------------------------------------------------

def test_a_few_hundred_memberships_across_cohorts_streams_and_areas(demo: DemoData) -> None:
    members = demo.memberships
    assert 200 <= len(members) <= 1_000
    assert set(members["cohort"].unique()) == {c.value for c in Cohort}
    assert set(members["stream"].unique()) == set(STREAMS)
    allowed = {"nsac": {"fixed", "flex"}, "high_harm": {"free", "flex"},
               "domestic_abuse": {"free"}}
    for stream, cohorts in allowed.items():
        assert set(members.loc[members["stream"] == stream, "cohort"].unique()) <= cohorts
    assert set(members["area"].unique()) == AREAS
    home = demo.persons.set_index("person_id")["home_area"].astype(str)
    assert (members["area"].astype(str).to_numpy()
            == home.loc[members["person_id"]].to_numpy()).all()
    assert members["adopted_on"].dt.year.nunique() >= 4


def test_exits_follow_the_rules(demo: DemoData) -> None:
    members = demo.memberships
    exited = members["exited_on"].notna()
    assert (members["exit_reason"].notna() == exited).all()
    assert (members.loc[exited, "exited_on"] >= members.loc[exited, "adopted_on"]).all()
    assert set(members["exit_reason"].dropna().unique()) == {r.value for r in ExitReason}
    assert (~exited).sum() > 0  # some people are on the cohort today
    died = members[members["exit_reason"] == "deceased"]
    deaths = demo.persons.set_index("person_id")["deceased_on"]
    assert (deaths.loc[died["person_id"]].to_numpy() == died["exited_on"].to_numpy()).all()


def test_no_two_memberships_of_one_stream_overlap(demo: DemoData) -> None:
    members = demo.memberships.sort_values(["person_id", "stream", "adopted_on"])
    again = members.duplicated(["person_id", "stream"])
    assert again.any()  # some people come back onto a cohort
    previous_exit = members.groupby(["person_id", "stream"], observed=True)["exited_on"].shift()
    assert previous_exit[again].notna().all()
    assert (members.loc[again, "adopted_on"] > previous_exit[again]).all()


def test_people_are_adopted_when_their_offending_is_high(demo: DemoData) -> None:
    nsac = demo.memberships[demo.memberships["stream"] == "nsac"]
    per_person = demo.offences.groupby("person_id").size()
    assert per_person.loc[nsac["person_id"]].median() > 5 * per_person.median()


def test_generation_is_vectorised_and_ids_stay_unique_at_scale() -> None:
    started = time.perf_counter()
    data = generate_demo(people=100_000, end=END)
    # About a second here; a loop per person would take far longer.
    assert time.perf_counter() - started < 20
    assert len(data.persons) == 100_000
    assert data.persons["pnc_id"].is_unique
    assert data.offences["source_ref"].is_unique


# --- loading ----------------------------------------------------------------------------

def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
                for name, table in TABLES.items()}


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(people=500, end=END)


@pytest.fixture(scope="module")
def loaded(engine: Engine, small: DemoData) -> DemoData:
    """The module's database with the small data set loaded once."""
    assert load_demo(engine, small) == small.counts()
    return small


def test_load_writes_every_row(engine: Engine, loaded: DemoData) -> None:
    assert _counts(engine) == loaded.counts()
    assert loaded.counts()["memberships"] > 0 and loaded.counts()["custody"] > 0
    with engine.connect() as conn:
        first, last, open_spells, active = conn.execute(text(
            "SELECT (SELECT MIN(offence_date) FROM offences),"
            " (SELECT MAX(offence_date) FROM offences),"
            " (SELECT COUNT(*) FROM custody_periods WHERE end_on IS NULL),"
            " (SELECT COUNT(*) FROM cohort_memberships WHERE exited_on IS NULL)")).one()
    # Dates and nulls survive the trip through text on both databases.
    assert str(first) == loaded.offences["offence_date"].min().date().isoformat()
    assert str(last) == loaded.offences["offence_date"].max().date().isoformat()
    assert open_spells == loaded.custody["end_on"].isna().sum()
    assert active == loaded.memberships["exited_on"].isna().sum()


def test_loaded_rows_read_back_through_the_models(session: Session, loaded: DemoData) -> None:
    first = loaded.persons.iloc[0]
    person = session.get(Person, int(first["person_id"]))
    assert person is not None
    assert person.pnc_id == first["pnc_id"]
    assert person.date_of_birth == first["date_of_birth"].date()
    assert person.created_at.tzinfo is not None


def test_loaded_rows_serve_through_the_api(client: TestClient, loaded: DemoData) -> None:
    member = loaded.memberships.iloc[0]
    resp = client.get(f"/persons/{int(member['person_id'])}/offences")
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == int((loaded.offences["person_id"]
                                        == member["person_id"]).sum())
    resp = client.get("/cohort/memberships", params={"limit": 500})
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == len(loaded.memberships)


def test_a_second_load_is_refused(engine: Engine, loaded: DemoData) -> None:
    with pytest.raises(DemoDataExists, match="already holds 500 persons"):
        load_demo(engine, generate_demo(seed=1, people=50, end=END))
    assert _counts(engine) == loaded.counts()


def test_a_failed_load_leaves_the_database_as_it_was(engine: Engine, loaded: DemoData) -> None:
    other = generate_demo(seed=3, people=200, end=END)
    members = other.memberships.assign(stream=other.memberships["stream"].astype(str))
    members.loc[members.index[-1], "stream"] = "no_such_stream"  # breaks a foreign key
    broken = dataclasses.replace(other, memberships=members)
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.IntegrityError)):
        load_demo(engine, broken, replace=True)
    # The delete done for replace= was rolled back with the failed insert.
    assert _counts(engine) == loaded.counts()


def test_replace_swaps_the_data_and_new_people_still_get_ids(engine: Engine,
                                                           loaded: DemoData) -> None:
    other = generate_demo(seed=2, people=120, end=END)
    load_demo(engine, other, replace=True)
    assert _counts(engine) == other.counts()
    with Session(engine) as session:
        person = Person(pnc_id="1999/0000001A", date_of_birth=date(1980, 1, 1),
                        home_area="BANES")
        session.add(person)
        session.flush()  # on PostgreSQL, this fails if the id sequence was left behind
        assert person.id == 121
        session.rollback()


# --- command line -----------------------------------------------------------------------

@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[str]:
    """DATABASE_URL pointing at a new SQLite file, with the cached settings and engine reset."""
    with command_line_on(f"sqlite:///{tmp_path}/cli.db", monkeypatch) as url:
        yield url


def test_cli_demo_migrates_loads_and_summarises(cli_database: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--people", "300", "--seed", "5"]) == 0
    out, err = capsys.readouterr()
    assert "300 persons" in err and "memberships" in err
    assert not re.search(r"\d{4}/\d{7}[A-Z]", out + err)  # never a PNC ID on the console
    key = out.strip()
    assert key.startswith("iom_")  # stdout holds only the ready admin key

    assert cli.main(["demo", "--if-empty"]) == 0
    out, err = capsys.readouterr()
    assert "not loaded" in err and out.strip().startswith("iom_") and out.strip() != key

    assert cli.main(["demo", "--people", "300"]) == 1
    assert "already holds 300 persons" in capsys.readouterr().err
    assert _counts(get_engine())["persons"] == 300


def test_cli_demo_defaults() -> None:
    args = cli.build_parser().parse_args(["demo"])
    # No seed given: the command uses the demo's own (read when it runs, so --help stays
    # quick: the parser does not import the generator).
    assert (args.seed, args.people, args.if_empty) == (None, 30_000, False)
    assert DEFAULT_SEED == 20221109


def test_grave_offences_are_plausible(demo: DemoData) -> None:
    """Nobody commits two homicides, and each homicide is followed by custody from remand
    (no 17-year-old with two homicides in a year and no custody)."""
    homicides = demo.offences[demo.offences["offence_type"] == "homicide"]
    assert len(homicides) > 0
    assert homicides["person_id"].value_counts().max() == 1
    spells = homicides.merge(demo.custody, on="person_id")
    remand = spells[(spells["start_on"] >= spells["offence_date"])
                    & (spells["start_on"] <= spells["offence_date"] + pd.Timedelta(days=30))]
    assert set(remand["person_id"]) == set(homicides["person_id"])


def test_the_demo_shortlists_hold_adults_or_flagged_transition_cases(
        client: TestClient, loaded: DemoData) -> None:
    for stream in ("nsac", "high_harm", "domestic_abuse"):
        body = client.get("/shortlists/migration", params={
            "area": "BRISTOL", "stream": stream, "as_of": loaded.end.isoformat(),
            "limit": 100}).json()
        assert body["candidates"], stream
        assert all(c["age"] >= 18 or "under_min_age_referred" in c["flags"]
                   for c in body["candidates"])
