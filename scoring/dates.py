"""Calendar dates for every kernel module: one epoch, one month arithmetic, one reader.

Dates travel in three forms, each with its own names here:

* one ``datetime.date`` (``as_date``, ``add_months_to_date``, ``day_number``);
* arrays of ``datetime64[D]`` (``calendar_days``, ``add_months``, ``months_before``);
* arrays of int64 day numbers since 1970-01-01, where a missing date is ``NAT``, the int64
  form of numpy's NaT (``day_numbers``, ``add_months_to_day_numbers``, ``from_day_numbers``).

Month arithmetic is calendar arithmetic clipped to the end of the month: 31 January + 1
month is 28/29 February, 31 March - 1 month is 28/29 February, 30 April + 1 month is 30 May.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from scoring.validation import ScoringInputError

EPOCH = dt.date(1970, 1, 1)
NAT = np.iinfo(np.int64).min  # NaT viewed as int64, so int and datetime64 forms agree


def as_date(value: object) -> dt.date:
    """Normalise an ``as_of`` argument (date, midnight datetime/Timestamp, "YYYY-MM-DD").

    Examples
    --------
    >>> as_date("2024-02-29")
    datetime.date(2024, 2, 29)
    """
    if isinstance(value, dt.datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        if stamp.tz is not None or stamp != stamp.normalize():
            raise ScoringInputError(f"as_of must be a calendar date, not a time: {value!r}")
        return stamp.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ScoringInputError(f"as_of must be YYYY-MM-DD, got {value!r}") from exc
    if isinstance(value, np.datetime64):
        return as_date(pd.Timestamp(value))
    raise ScoringInputError(f"as_of must be a date, got {type(value).__name__}")


def as_day(value: dt.date | str) -> np.datetime64:
    """One date (or anything ``pandas.Timestamp`` reads) as a ``datetime64[D]`` scalar."""
    return np.datetime64(pd.Timestamp(value).date(), "D")


def day_number(value: dt.date) -> int:
    """Days since 1970-01-01."""
    return (value - EPOCH).days


def add_months_to_date(value: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic on one date, clipping to the month's end.

    Examples
    --------
    >>> add_months_to_date(dt.date(2024, 1, 31), 1), add_months_to_date(dt.date(2024, 3, 31), -13)
    (datetime.date(2024, 2, 29), datetime.date(2023, 2, 28))
    """
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(value.day, last))


def add_months(days: Any, months: int) -> np.ndarray:
    """Calendar month arithmetic on an array, clamping to the last day of the target month.

    Parameters
    ----------
    days : array_like of datetime64[D] (or anything numpy turns into it), shape (n,)
    months : int
        May be negative.

    Returns
    -------
    numpy.ndarray of datetime64[D], shape (n,); NaT stays NaT.

    Examples
    --------
    >>> add_months(np.array(["2024-01-31", "2023-01-31", "2024-02-29"], "datetime64[D]"), 1)
    array(['2024-02-29', '2023-02-28', '2024-03-29'], dtype='datetime64[D]')
    >>> add_months(np.array(["2024-02-29"], "datetime64[D]"), -12)
    array(['2023-02-28'], dtype='datetime64[D]')
    """
    d = np.atleast_1d(np.asarray(days, dtype="datetime64[D]"))
    nat = np.isnat(d)
    safe = np.where(nat, np.datetime64("1970-01-01", "D"), d)
    month = safe.astype("datetime64[M]")
    day_index = (safe - month.astype("datetime64[D]")).astype(np.int64)  # 0-based
    target = month + np.timedelta64(months, "M")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]")
              - target.astype("datetime64[D]")).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day_index, length - 1)
    out[nat] = np.datetime64("NaT")
    return out


def months_before(day: np.datetime64, months: int) -> np.datetime64:
    """``day`` minus ``months`` calendar months, as a ``datetime64[D]`` scalar."""
    return add_months(np.array([day], dtype="datetime64[D]"), -months)[0]


def add_months_to_day_numbers(days: np.ndarray, months: int) -> np.ndarray:
    """`add_months` on int64 day numbers (``NAT`` for missing)."""
    d = np.asarray(days, dtype=np.int64)
    nat = d == NAT
    out = add_months(np.where(nat, 0, d).astype("datetime64[D]"), months).astype(np.int64)
    out[nat] = NAT
    return out


def calendar_days(values: Any) -> np.ndarray:
    """Dates (date objects, ISO strings, datetime64 of any unit) as ``datetime64[D]``.

    Missing values become NaT.
    """
    ser = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if isinstance(ser.dtype, np.dtype) and ser.dtype.kind == "M":
        return ser.to_numpy().astype("datetime64[D]")
    if len(ser) == 0:
        return np.empty(0, dtype="datetime64[D]")
    return pd.to_datetime(ser, errors="raise").to_numpy().astype("datetime64[D]")


def nat_day_numbers(values: Any) -> np.ndarray:
    """`calendar_days` as int64 day numbers since 1970-01-01 (``NAT`` for missing)."""
    return calendar_days(values).astype(np.int64)


def month_numbers(days: np.ndarray) -> np.ndarray:
    """int64 day numbers as int64 month numbers (months since January 1970)."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(
        "datetime64[M]").astype(np.int64)


def first_day_of_month(month: int) -> int:
    """The day number of the first day of a month number."""
    return int(np.datetime64(month, "M").astype("datetime64[D]").astype(np.int64))


def from_day_numbers(days: np.ndarray) -> np.ndarray:
    """int64 day numbers back to ``datetime64[D]`` (``NAT`` becomes NaT)."""
    d = np.asarray(days, dtype=np.int64)
    out = d.astype("datetime64[D]")
    out[d == NAT] = np.datetime64("NaT")
    return out


def year_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 day numbers as (year, month 1-12, day 1-31) of the proleptic Gregorian calendar.

    Integer arithmetic (H. Hinnant's ``civil_from_days``): five times faster than numpy's
    ``datetime64[Y]``/``[M]`` casts on a million days, and the same answer.

    Examples
    --------
    >>> [a.tolist() for a in year_month_day(np.array([0, 59, 11016, -1, -719468]))]
    [[1970, 1970, 2000, 1969, 0], [1, 3, 2, 12, 3], [1, 1, 29, 31, 1]]
    """
    z = np.asarray(days, dtype=np.int64) + 719_468  # days since 0000-03-01
    era = z // 146_097
    doe = z - era * 146_097  # day of the 400-year era, 0-146096
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of the March-based year
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def iso_date(value: Any) -> str | None:
    """A date of any form as "YYYY-MM-DD"; None for a missing one."""
    if value is None or pd.isna(value):
        return None
    return str(np.datetime64(value, "D"))


def ages_on(dob: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Whole years of age on as_of (calendar birthdays)."""
    born = pd.DatetimeIndex(dob)
    at = pd.Timestamp(as_of)
    before_birthday = (born.month > at.month) | ((born.month == at.month) & (born.day > at.day))
    return np.asarray(at.year - born.year - before_birthday.astype(int), dtype=np.int64)
