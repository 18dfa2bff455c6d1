"""scoring.retention: who is due for a MoPI retention review as of a date, and its rules file."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.dates import add_months_to_date
from scoring.retention import (
    DEFAULT_PATH,
    RETENTION_COLUMNS,
    RetentionRule,
    RetentionRuleError,
    load_retention_rule,
    retention_review,
    retention_rule_from_mapping,
)
from scoring.validation import ScoringInputError

AS_OF = dt.date(2024, 6, 30)
SIX_YEARS_BEFORE = dt.date(2018, 6, 30)  # the anniversary of this day is AS_OF
RULE = load_retention_rule()
DAY = dt.timedelta(days=1)
NAT = pd.NaT


def persons(*ids: int, deceased: dict[int, dt.date] | None = None) -> pd.DataFrame:
    died = deceased or {}
    return pd.DataFrame({"person_id": pd.Series(ids, dtype="int64"),
                         "date_of_birth": pd.to_datetime(["1980-01-01"] * len(ids)),
                         "deceased_on": pd.to_datetime([died.get(i) for i in ids])})


def offences(*rows: tuple[int, dt.date]) -> pd.DataFrame:
    return pd.DataFrame({"person_id": pd.Series([p for p, _ in rows], dtype="int64"),
                         "offence_date": pd.to_datetime([d for _, d in rows])})


def spells(*rows: tuple[int, dt.date, dt.date | None], start: str = "start_on",
           end: str = "end_on") -> pd.DataFrame:
    """Custody spells (or, with start/end renamed, memberships): (person, start, end or None)."""
    return pd.DataFrame({"person_id": pd.Series([r[0] for r in rows], dtype="int64"),
                         start: pd.to_datetime([r[1] for r in rows]),
                         end: pd.to_datetime([r[2] for r in rows])})


def members(*rows: tuple[int, dt.date, dt.date | None]) -> pd.DataFrame:
    return spells(*rows, start="adopted_on", end="exited_on")


def review(people: pd.DataFrame, offs: pd.DataFrame | None = None,
           custody: pd.DataFrame | None = None, memberships: pd.DataFrame | None = None, *,
           as_of: dt.date | str = AS_OF, rule: RetentionRule = RULE) -> pd.DataFrame:
    return retention_review(people, offences() if offs is None else offs,
                            spells() if custody is None else custody,
                            members() if memberships is None else memberships,
                            as_of=as_of, rule=rule)


def listed(out: pd.DataFrame) -> list[int]:
    return out["person_id"].tolist()


def ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


# --- the default rules file -------------------------------------------------------------

def test_the_default_rule_is_six_quiet_years_of_every_kind_and_death_is_a_trigger() -> None:
    assert RULE.quiet_years == 6
    assert RULE.activity == ("offences", "custody", "memberships")
    assert RULE.review_on_death is True
    assert RULE.version and RULE.source == str(DEFAULT_PATH)
    assert load_retention_rule(DEFAULT_PATH) == RULE


def test_the_default_file_says_it_is_indicative_and_not_legal_advice() -> None:
    text = DEFAULT_PATH.read_text()
    assert "INDICATIVE DEFAULT, NOT LEGAL ADVICE" in text
    assert "replaces this file with its" in text and "MoPI review schedule" in text


# --- the boundary -------------------------------------------------------------------------

@pytest.mark.parametrize(("offence_on", "due"), [
    (SIX_YEARS_BEFORE - DAY, True),   # 6 years + 1 day before as_of
    (SIX_YEARS_BEFORE, True),         # exactly 6 years: due on the anniversary itself
    (SIX_YEARS_BEFORE + DAY, False),  # a day inside the window
])
def test_an_offence_six_years_before_as_of_makes_the_person_due(offence_on: dt.date,
                                                                due: bool) -> None:
    out = review(persons(1), offences((1, offence_on)))
    assert listed(out) == ([1] if due else [])
    if due:
        row = out.iloc[0]
        assert row["last_offence_on"] == row["last_activity_on"] == ts(offence_on)
        assert row["review_due_on"] == ts(add_months_to_date(offence_on, 72))
        assert row["review_due_on"] <= ts(AS_OF)
        assert row["reason"] == "quiet_period"


def test_the_review_falls_due_on_the_anniversary_and_stays_due() -> None:
    people, offs = persons(1), offences((1, SIX_YEARS_BEFORE))
    assert listed(review(people, offs, as_of=AS_OF - DAY)) == []
    assert listed(review(people, offs, as_of=AS_OF)) == [1]
    assert listed(review(people, offs, as_of="2030-01-01")) == [1]


def test_the_anniversary_of_29_february_is_28_february() -> None:
    people, offs = persons(1), offences((1, dt.date(2016, 2, 29)))
    assert listed(review(people, offs, as_of=dt.date(2022, 2, 27))) == []
    out = review(people, offs, as_of=dt.date(2022, 2, 28))
    assert out.loc[0, "review_due_on"] == ts(dt.date(2022, 2, 28))


def test_quiet_years_come_from_the_rule() -> None:
    offs = offences((1, dt.date(2021, 6, 30)))
    three = dataclasses.replace(RULE, quiet_years=3)
    assert listed(review(persons(1), offs)) == []
    assert listed(review(persons(1), offs, rule=three)) == [1]


# --- custody and memberships ----------------------------------------------------------------

def test_an_open_custody_spell_keeps_someone_off_the_list() -> None:
    long_ago = dt.date(2010, 1, 1)
    assert listed(review(persons(1), offences((1, long_ago)),
                         spells((1, dt.date(2011, 1, 1), None)))) == []


def test_a_spell_ending_after_as_of_counts_as_custody_up_to_as_of() -> None:
    custody = spells((1, dt.date(2012, 1, 1), dt.date(2025, 1, 1)))
    assert listed(review(persons(1), custody=custody)) == []
    # By 2030 the release (2025) is known, and the person is not yet six years out.
    assert listed(review(persons(1), custody=custody, as_of="2030-06-30")) == []
    out = review(persons(1), custody=custody, as_of="2031-01-01")
    assert out.loc[0, "last_custody_on"] == ts(dt.date(2025, 1, 1))


def test_a_release_more_than_six_years_ago_is_due_and_shown_as_last_custody() -> None:
    released = SIX_YEARS_BEFORE - DAY
    out = review(persons(1), offences((1, dt.date(2015, 3, 1))),
                 spells((1, dt.date(2015, 6, 1), released)))
    assert listed(out) == [1]
    row = out.iloc[0]
    assert row["last_custody_on"] == row["last_activity_on"] == ts(released)
    assert row["last_offence_on"] == ts(dt.date(2015, 3, 1))


def test_a_recent_release_keeps_someone_off_however_old_the_offence() -> None:
    out = review(persons(1), offences((1, dt.date(2005, 1, 1))),
                 spells((1, dt.date(2005, 6, 1), dt.date(2020, 6, 1))))
    assert listed(out) == []


def test_an_active_membership_keeps_someone_off_the_list() -> None:
    memberships = members((1, dt.date(2015, 1, 1), None))
    assert listed(review(persons(1), offences((1, dt.date(2014, 1, 1))),
                         memberships=memberships)) == []


def test_a_membership_ended_seven_years_ago_does_not() -> None:
    exited = dt.date(2017, 6, 30)
    out = review(persons(1), offences((1, dt.date(2015, 1, 1))),
                 memberships=members((1, dt.date(2015, 3, 1), exited)))
    assert listed(out) == [1]
    assert out.loc[0, "last_membership_on"] == out.loc[0, "last_activity_on"] == ts(exited)


def test_a_kind_the_rule_does_not_count_is_shown_but_does_not_keep_anyone_off() -> None:
    offences_only = dataclasses.replace(RULE, activity=("offences",))
    args = (persons(1), offences((1, dt.date(2014, 1, 1))), spells(),
            members((1, dt.date(2015, 1, 1), None)))
    assert listed(review(*args)) == []
    out = review(*args, rule=offences_only)
    assert listed(out) == [1]
    assert out.loc[0, "last_membership_on"] == ts(AS_OF)
    assert out.loc[0, "last_activity_on"] == ts(dt.date(2014, 1, 1))


# --- as-of semantics --------------------------------------------------------------------------

def test_records_after_as_of_are_ignored() -> None:
    later = AS_OF + DAY
    out = review(persons(1, 2, 3, deceased={3: later}),
                 offences((1, dt.date(2010, 1, 1)), (1, later), (2, later)),
                 spells((1, later, None)), members((2, later, None), (3, later, None)))
    assert listed(out) == [2, 3, 1]
    assert out["last_custody_on"].isna().all() and out["last_membership_on"].isna().all()
    assert out["deceased_on"].isna().all()  # a death after as_of was not yet known
    assert out["reason"].tolist() == ["no_activity_recorded", "no_activity_recorded",
                                      "quiet_period"]
    assert out.loc[2, "last_offence_on"] == ts(dt.date(2010, 1, 1))


def test_someone_with_no_activity_ever_is_due_first_with_no_review_date() -> None:
    out = review(persons(5, 4), offences((5, dt.date(2001, 1, 1))))
    assert listed(out) == [4, 5]
    row = out.iloc[0]
    assert row["reason"] == "no_activity_recorded"
    assert pd.isna(row["last_activity_on"]) and pd.isna(row["review_due_on"])


# --- deaths ---------------------------------------------------------------------------------

def test_a_death_is_a_review_trigger_whatever_the_activity() -> None:
    died = dt.date(2024, 1, 15)
    out = review(persons(1, 2, deceased={1: died, 2: dt.date(2023, 1, 1)}),
                 offences((1, dt.date(2023, 12, 1)), (2, dt.date(2010, 5, 1))),
                 spells((1, dt.date(2023, 12, 2), None)))
    assert listed(out) == [2, 1]
    assert out["reason"].tolist() == ["deceased", "deceased"]
    assert out.loc[1, "deceased_on"] == out.loc[1, "review_due_on"] == ts(died)
    # Quiet since 2010: due in 2016, before the death; the earlier date is the review date.
    assert out.loc[0, "review_due_on"] == ts(dt.date(2016, 5, 1))
    assert out.loc[0, "deceased_on"] == ts(dt.date(2023, 1, 1))


def test_without_review_on_death_the_deceased_wait_for_the_quiet_period() -> None:
    rule = dataclasses.replace(RULE, review_on_death=False)
    people = persons(1, 2, deceased={1: dt.date(2024, 1, 15), 2: dt.date(2023, 1, 1)})
    out = review(people, offences((1, dt.date(2023, 12, 1)), (2, dt.date(2010, 5, 1))),
                 rule=rule)
    assert listed(out) == [2]
    assert out.loc[0, "reason"] == "quiet_period"
    assert out.loc[0, "deceased_on"] == ts(dt.date(2023, 1, 1))
    assert out.loc[0, "review_due_on"] == ts(dt.date(2016, 5, 1))


def test_persons_without_a_deceased_on_column_are_all_living() -> None:
    out = review(pd.DataFrame({"person_id": [1]}), offences((1, dt.date(2010, 1, 1))))
    assert listed(out) == [1] and out["deceased_on"].isna().all()


# --- shape, order and inputs ------------------------------------------------------------------

def test_columns_order_and_types() -> None:
    day = dt.date(2012, 1, 1)
    out = review(persons(9, 3, 7, 1, 8),
                 offences((9, day), (3, day), (7, dt.date(2011, 1, 1)), (8, AS_OF)))
    assert list(out.columns) == list(RETENTION_COLUMNS)
    assert listed(out) == [1, 7, 3, 9]  # none first, then oldest activity, then person_id
    assert out.index.tolist() == [0, 1, 2, 3]
    for col in RETENTION_COLUMNS[1:-1]:
        assert out[col].dtype == "datetime64[s]", col


def test_empty_frames() -> None:
    empty = review(persons())
    assert list(empty.columns) == list(RETENTION_COLUMNS) and empty.empty
    untyped = pd.DataFrame({"person_id": [], "offence_date": [], "start_on": [], "end_on": [],
                            "adopted_on": [], "exited_on": []})
    out = retention_review(persons(1, 2), untyped, untyped, untyped, as_of=AS_OF, rule=RULE)
    assert listed(out) == [1, 2]
    assert set(out["reason"]) == {"no_activity_recorded"}


def test_as_of_may_be_an_iso_string_but_not_a_time() -> None:
    offs = offences((1, SIX_YEARS_BEFORE))
    pd.testing.assert_frame_equal(review(persons(1), offs, as_of="2024-06-30"),
                                  review(persons(1), offs))
    with pytest.raises(ScoringInputError, match="calendar date"):
        review(persons(1), offs, as_of=pd.Timestamp("2024-06-30 10:00"))


@pytest.mark.parametrize(("frame", "column"), [
    ("persons", "person_id"), ("offences", "offence_date"), ("custody", "start_on"),
    ("custody", "end_on"), ("memberships", "adopted_on"), ("memberships", "exited_on"),
])
def test_a_missing_column_is_refused(frame: str, column: str) -> None:
    frames: dict[str, Any] = {"persons": persons(1), "offences": offences(),
                              "custody": spells(), "memberships": members()}
    frames[frame] = frames[frame].drop(columns=column)
    with pytest.raises(ScoringInputError, match=f"{frame} lacks column\\(s\\): {column}"):
        retention_review(**frames, as_of=AS_OF, rule=RULE)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ScoringInputError, match="duplicate person_id"):
        review(persons(1, 1))
    null_offence = pd.DataFrame({"person_id": [1], "offence_date": pd.to_datetime([None])})
    with pytest.raises(ScoringInputError, match="offences.offence_date has null dates"):
        review(persons(1), null_offence)
    with pytest.raises(ScoringInputError, match="custody.start_on has null dates"):
        review(persons(1), custody=spells((1, None, None)))  # type: ignore[arg-type]
    not_dates = pd.DataFrame({"person_id": [1], "offence_date": ["yesterday"]})
    with pytest.raises(ScoringInputError, match="offences.offence_date must hold dates"):
        review(persons(1), not_dates)


# --- properties -------------------------------------------------------------------------------

# Days from AS_OF: old records, recent ones (some after AS_OF), and ones about six years
# before it (2018-06-30, the boundary, is day -2192).
_offset = st.one_of(st.integers(-6000, -2000), st.integers(-2400, 400), st.integers(-2195, -2189))
_maybe_end = st.one_of(st.none(), st.integers(0, 400), st.integers(0, 3000))


@st.composite
def _force(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    ids = draw(st.lists(st.integers(1, 8), min_size=0, max_size=6, unique=True))
    pid = st.sampled_from([*ids, 9])  # person 9 is never in persons: their records are ignored
    dead = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)) if ids else []
    died = {i: draw(_offset) for i in dead}

    def day(offset: int) -> dt.date:
        return AS_OF + dt.timedelta(days=offset)

    def spans(start: str, end: str) -> pd.DataFrame:
        rows = draw(st.lists(st.tuples(pid, _offset, _maybe_end), max_size=6))
        return spells(*[(p, day(s), None if e is None else day(s + e)) for p, s, e in rows],
                      start=start, end=end)

    offs = draw(st.lists(st.tuples(pid, _offset), max_size=8))
    return {"persons": persons(*ids, deceased={i: day(o) for i, o in died.items()}),
            "offences": offences(*[(p, day(o)) for p, o in offs]),
            "custody": spans("start_on", "end_on"),
            "memberships": spans("adopted_on", "exited_on")}


def _reference(force: dict[str, pd.DataFrame], as_of: dt.date, rule: RetentionRule) -> list[int]:
    """Person by person, with plain dates: who is due (in the kernel's order)."""
    rows = []
    for pid, died in zip(force["persons"]["person_id"], force["persons"]["deceased_on"],
                         strict=True):
        seen = []
        if "offences" in rule.activity:
            o = force["offences"]
            seen += [d.date() for d in o.loc[o.person_id == pid, "offence_date"]
                     if d.date() <= as_of]
        for kind, start, end in (("custody", "start_on", "end_on"),
                                 ("memberships", "adopted_on", "exited_on")):
            f = force[kind]
            if kind in rule.activity:
                seen += [as_of if pd.isna(e) or e.date() > as_of else e.date()
                         for s, e in zip(f.loc[f.person_id == pid, start],
                                         f.loc[f.person_id == pid, end], strict=True)
                         if s.date() <= as_of]
        last = max(seen, default=None)
        dead = not pd.isna(died) and died.date() <= as_of and rule.review_on_death
        if dead or last is None or add_months_to_date(last, 12 * rule.quiet_years) <= as_of:
            rows.append((last or dt.date.min, int(pid)))
    return [pid for _, pid in sorted(rows)]


_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(force=_force(), as_of=st.integers(-400, 400), on_death=st.booleans())
def test_the_kernel_agrees_with_a_person_by_person_reference(
        force: dict[str, pd.DataFrame], as_of: int, on_death: bool) -> None:
    day = AS_OF + dt.timedelta(days=as_of)
    rule = dataclasses.replace(RULE, review_on_death=on_death)
    out = retention_review(**force, as_of=day, rule=rule)
    assert listed(out) == _reference(force, day, rule)
    assert ((out["review_due_on"] <= ts(day)) | out["reason"].isin(
        ["deceased", "no_activity_recorded"])).all()


@_settings
@given(force=_force(), pid=st.integers(1, 8), offset=_offset)
def test_adding_an_offence_never_adds_anyone_to_the_list(
        force: dict[str, pd.DataFrame], pid: int, offset: int) -> None:
    before = set(listed(retention_review(**force, as_of=AS_OF, rule=RULE)))
    more = dict(force, offences=pd.concat(
        [force["offences"], offences((pid, AS_OF + dt.timedelta(days=offset)))],
        ignore_index=True))
    after = set(listed(retention_review(**more, as_of=AS_OF, rule=RULE)))
    assert after <= before
    inside_window = -6 * 365 + 10 < offset <= 0
    alive = pid not in set(force["persons"].loc[force["persons"].deceased_on.notna(),
                                                "person_id"])
    if inside_window and alive:
        assert pid not in after


@_settings
@given(force=_force(), later=st.integers(0, 3000))
def test_moving_as_of_later_keeps_everyone_with_nothing_new_on_the_list(
        force: dict[str, pd.DataFrame], later: int) -> None:
    first = retention_review(**force, as_of=AS_OF, rule=RULE)
    second_day = AS_OF + dt.timedelta(days=later)
    second = set(listed(retention_review(**force, as_of=second_day, rule=RULE)))
    starts = pd.concat([force["offences"].set_axis(["person_id", "on"], axis=1),
                        force["custody"][["person_id", "start_on"]].set_axis(
                            ["person_id", "on"], axis=1),
                        force["memberships"][["person_id", "adopted_on"]].set_axis(
                            ["person_id", "on"], axis=1)])
    new = set(starts.loc[(starts["on"] > ts(AS_OF)) & (starts["on"] <= ts(second_day)),
                         "person_id"])
    assert {p for p in listed(first) if p not in new} <= second


# --- the rules file -----------------------------------------------------------------------------

GOOD = {"version": "test-1", "quiet_years": 6, "activity": ["offences", "custody"],
        "review_on_death": False}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "retention.yaml"
    path.write_text(text)
    return path


def test_a_force_file_is_read_through_the_rules_reader(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: force-7\nquiet_years: 10\nactivity: [offences]\n"
                            "review_on_death: false\n")
    rule = load_retention_rule(path)
    assert rule == RetentionRule(version="force-7", quiet_years=10, activity=("offences",),
                                 review_on_death=False, source=str(path))


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: '1'\nquiet_years: 6\nactivity: [offences]\n"
                            "review_on_death: true\nquiet_yeras: 7\n")
    with pytest.raises(RetentionRuleError, match=r"quiet_yeras: unknown key") as info:
        load_retention_rule(path)
    assert str(path) in str(info.value)


def test_a_missing_version_is_refused() -> None:
    raw = {k: v for k, v in GOOD.items() if k != "version"}
    with pytest.raises(RetentionRuleError, match="version: missing"):
        retention_rule_from_mapping(raw)
    with pytest.raises(RetentionRuleError, match="version: must be a non-empty string"):
        retention_rule_from_mapping({**GOOD, "version": ""})


@pytest.mark.parametrize(("change", "match"), [
    ({"quiet_years": 0}, "quiet_years: must be > 0"),
    ({"quiet_years": 6.5}, "quiet_years: must be a whole number"),
    ({"quiet_years": "six"}, "quiet_years: must be a number"),
    ({"activity": ["offences", "arrests"]}, r"activity: unknown kind\(s\) \['arrests'\]"),
    ({"activity": []}, "activity: must name at least one kind"),
    ({"activity": "offences"}, "activity: must be a list of names"),
    ({"activity": ["custody", "custody"]}, "activity: names a kind twice"),
    ({"review_on_death": "yes"}, "review_on_death: must be true or false"),
])
def test_a_value_of_the_wrong_type_is_refused(change: dict[str, Any], match: str) -> None:
    with pytest.raises(RetentionRuleError, match=match):
        retention_rule_from_mapping({**GOOD, **change})


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    with pytest.raises(RetentionRuleError) as info:
        retention_rule_from_mapping({"quiet_years": -1, "extra": 1}, source="force.yaml")
    message = str(info.value)
    for part in ("in force.yaml", "version: missing", "activity: missing",
                 "review_on_death: missing", "extra: unknown key", "quiet_years: must be > 0"):
        assert part in message
    with pytest.raises(RetentionRuleError, match="not valid YAML"):
        load_retention_rule(_write(tmp_path, "version: [unclosed\n"))
    with pytest.raises(RetentionRuleError, match="rules file: must be a mapping"):
        retention_rule_from_mapping(["version", "1"])
