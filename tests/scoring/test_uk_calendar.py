"""The UK calendar: "today" and the end of an as-of day on UK time, whatever the host's
clock (UTC on most servers)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import uk_calendar
from scoring.uk_calendar import UK_TIME, end_of_uk_day, uk_date, uk_today


@pytest.mark.parametrize(("utc", "today"), [
    (datetime(2026, 7, 1, 22, 59, tzinfo=UTC), date(2026, 7, 1)),
    (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),  # 00:30 BST
    (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), date(2026, 12, 1)),  # GMT: the same day
    (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), date(2026, 3, 29)),  # before the clocks go on
    (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30)),  # after
    (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # BST's last night
    (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # GMT again
])
def test_today_is_the_uk_date(monkeypatch: pytest.MonkeyPatch, utc: datetime,
                              today: date) -> None:
    monkeypatch.setattr(uk_calendar, "utcnow", lambda: utc)
    assert uk_today() == today


@pytest.mark.parametrize(("day", "last_utc_hour"), [
    (date(2026, 7, 2), 22), (date(2026, 12, 2), 23),
    (date(2026, 3, 29), 22),  # the clocks went forward that morning: the day ends in BST
    (date(2026, 10, 25), 23),  # and back: it ends in GMT (a 25-hour day)
])
def test_an_as_of_day_ends_at_midnight_uk_time(day: date, last_utc_hour: int) -> None:
    end = end_of_uk_day(day)
    assert end.tzinfo is UTC and (end.date(), end.hour, end.minute) == (day, last_utc_hour, 59)
    assert (end + timedelta(microseconds=1)).astimezone(UK_TIME).date() == day + timedelta(1)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_a_moment_belongs_to_the_uk_day_whose_end_it_does_not_pass(moment: datetime) -> None:
    day = moment.astimezone(UK_TIME).date()
    assert end_of_uk_day(day - timedelta(1)) < moment <= end_of_uk_day(day)


def test_a_recorded_moment_has_the_uk_date_and_a_naive_one_none() -> None:
    assert uk_date(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == date(2026, 7, 2)
    assert uk_date(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)
    with pytest.raises(ValueError, match="no UK date"):
        uk_date(datetime(2026, 7, 1, 23, 30))
