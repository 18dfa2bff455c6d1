"""PNC ID rules (shared/domain.md): check letters, short form, century."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.identifiers import CHECK_LETTERS, canonical_pnc_id, pnc_check_letter


def test_worked_example_from_domain_notes() -> None:
    assert pnc_check_letter(1979, 123456) == "T"
    assert canonical_pnc_id("79/123456T", today=date(2026, 1, 1)) == "1979/0123456T"


def test_short_form_century_pivots_on_current_year() -> None:
    today = date(2026, 6, 1)
    y26 = canonical_pnc_id(f"26/1{pnc_check_letter(2026, 1)}", today=today)
    y27 = canonical_pnc_id(f"27/1{pnc_check_letter(1927, 1)}", today=today)
    assert y26.startswith("2026/") and y27.startswith("1927/")


def test_alphabet_has_23_letters_without_i_o_s() -> None:
    assert len(CHECK_LETTERS) == 23 and not set("IOS") & set(CHECK_LETTERS)


@pytest.mark.parametrize("raw", ["", "1979/0123456", "1979-0123456T", "19790/1T", "79/12345678T",
                                 "1979/0123456A"])
def test_malformed_or_wrong_letter_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        canonical_pnc_id(raw)


@given(st.integers(1900, 2025), st.integers(0, 9_999_999))
def test_canonical_form_round_trips(year: int, serial: int) -> None:
    letter = pnc_check_letter(year, serial)
    canonical = f"{year:04d}/{serial:07d}{letter}"
    assert canonical_pnc_id(canonical) == canonical
    assert canonical_pnc_id(canonical.lower()) == canonical
    wrong = CHECK_LETTERS[(CHECK_LETTERS.index(letter) + 1) % 23]
    with pytest.raises(ValueError, match="check letter"):
        canonical_pnc_id(canonical[:-1] + wrong)
