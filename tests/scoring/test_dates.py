"""One calendar: calendar-month arithmetic on date arrays."""

import numpy as np
import pytest

from scoring.dates import add_months


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2024-01-31", 1, "2024-02-29"),   # leap year: 31 Jan + 1 month = 29 Feb
    ("2023-01-31", 1, "2023-02-28"),
    ("2024-03-31", -1, "2024-02-29"),
    ("2024-02-29", -12, "2023-02-28"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2023-04-30", 1, "2023-05-30"),   # never jumps to the month end
    ("2022-12-15", 1, "2023-01-15"),
    ("2023-01-15", -13, "2021-12-15"),
])
def test_add_months_is_calendar_arithmetic(start: str, months: int, expected: str) -> None:
    got = add_months(np.array([start], dtype="datetime64[D]"), months)
    assert got[0] == np.datetime64(expected)


def test_add_months_keeps_missing_dates() -> None:
    got = add_months(np.array(["NaT", "2024-01-31"], dtype="datetime64[D]"), 1)
    assert np.isnat(got[0]) and got[1] == np.datetime64("2024-02-29")
