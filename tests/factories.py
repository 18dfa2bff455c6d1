"""Small builders for request bodies, so tests say only what matters to them."""

import itertools
from datetime import date
from typing import Any

from models.identifiers import pnc_check_letter

_serials = itertools.count(1000)


def pnc_id(year: int = 1998, serial: int | None = None) -> str:
    """A valid canonical PNC ID, unique within the test run unless `serial` is given."""
    serial = next(_serials) if serial is None else serial
    return f"{year:04d}/{serial:07d}{pnc_check_letter(year, serial)}"


def person_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pnc_id": pnc_id(),
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "1990-04-01",
        "sex": "male",
        "home_area": "BRISTOL",
    }
    body.update(overrides)
    return body


def offence_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "offence_date": "2024-03-10",
        "offence_type": "burglary_residential",
        "outcome": "charge",
    }
    body.update(overrides)
    return body


def membership_body(person_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person_id": person_id,
        "cohort": "fixed",
        "stream": "nsac",
        "area": "BRISTOL",
        "adopted_on": "2023-01-15",
    }
    body.update(overrides)
    return body


def iso(d: date) -> str:
    return d.isoformat()
