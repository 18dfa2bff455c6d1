"""The calendar the forces keep: UK time.

A domain date (today, the day an offence happened, the end of an as-of day) is a day on
the UK calendar, while the host's clock is usually UTC: an hour behind from the last Sunday
of March to the last Sunday of October, when `date.today()` on such a host is still
yesterday from midnight to 1 a.m. Every "today" and every end of an as-of day in this
service comes from here. Light on purpose (no numpy or pandas): the models' validators and
the command line use it.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

UK_TIME = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the service's one clock (audit and recorded_at timestamps,
    which are never naive, and the UK date), so a test can move it in one place."""
    return datetime.now(UTC)


def uk_date(moment: datetime) -> date:
    """The UK calendar day of a timezone-aware moment (a `recorded_at`, a `created_at`)."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone has no UK date")
    return moment.astimezone(UK_TIME).date()


def uk_today() -> date:
    """Today's date in the UK: the latest date a record may carry, and `as_of` by default."""
    return uk_date(utcnow())


def end_of_uk_day(day: date) -> datetime:
    """The last moment of a UK calendar day, in UTC: `as_of` means the end of that day, so
    `knowledge=as_recorded` keeps the rows recorded by then.

    Examples
    --------
    >>> str(end_of_uk_day(date(2026, 7, 2)))  # British Summer Time
    '2026-07-02 22:59:59.999999+00:00'
    >>> str(end_of_uk_day(date(2026, 12, 2)))
    '2026-12-02 23:59:59.999999+00:00'
    """
    return datetime.combine(day, time.max, tzinfo=UK_TIME).astimezone(UTC)
