"""Police National Computer identifiers: parsing, check letters, canonical form."""

import re
from datetime import date

from scoring.uk_calendar import uk_today

# 23 letters, Z at index 0; I, O and S are never used (domain.md, "Identifiers").
CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"

# Shape only (the check letter is verified in code); surrounding spaces and lower case are
# tolerated because IDs are often pasted from other systems.
PNC_PATTERN = r"^\s*(\d{2}|\d{4})/\d{1,7}[A-Za-z]\s*$"

_PNC = re.compile(r"^(?P<year>\d{2}|\d{4})/(?P<serial>\d{1,7})(?P<check>[A-Z])$")


def pnc_check_letter(year: int, serial: int) -> str:
    """Check letter for a PNC ID: alphabet[int(YY followed by 7-digit serial) mod 23]."""
    yy = f"{year:04d}"[2:4]
    return CHECK_LETTERS[int(f"{yy}{serial:07d}") % 23]


def canonical_pnc_id(raw: str, *, today: date | None = None) -> str:
    """Validate a PNC ID and return it as `YYYY/NNNNNNNC`.

    Accepts the full form and the short form `YY/NNNNNNC` (century 20 when YY is not after
    the current two-digit year, else 19). Raises ValueError with the reason otherwise.

    >>> canonical_pnc_id("79/123456T")
    '1979/0123456T'
    """
    text = raw.strip().upper()
    match = _PNC.match(text)
    if match is None:
        raise ValueError("PNC ID must look like YYYY/NNNNNNNC or YY/NNNNNNC")
    year_text, serial = match["year"], int(match["serial"])
    if len(year_text) == 2:
        current_yy = (today or uk_today()).year % 100
        century = 2000 if int(year_text) <= current_yy else 1900
        year = century + int(year_text)
    else:
        year = int(year_text)
    expected = pnc_check_letter(year, serial)
    if match["check"] != expected:
        raise ValueError(f"PNC ID check letter is wrong (expected {expected})")
    return f"{year:04d}/{serial:07d}{expected}"
