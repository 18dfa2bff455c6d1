"""Input checks every public kernel function makes on entry, written once.

Modelled on scikit-learn's ``utils/validation.py``: small functions that either return
quietly or raise a ``ValueError`` (or a given subclass) naming the argument and what is
wrong with it, so a caller sees the same words whichever kernel function it called.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


class ScoringInputError(ValueError):
    """An input frame breaks the scoring contract (missing column, unknown type, null date...)."""


def check_frame(frame: object, required_columns: Iterable[str], name: str, *,
                error: type[ValueError] = ValueError) -> None:
    """Raise ``error`` unless ``frame`` is a DataFrame holding every required column.

    Examples
    --------
    >>> check_frame(pd.DataFrame({"person_id": [1]}), ("person_id", "offence_date"), "offences")
    Traceback (most recent call last):
    ...
    ValueError: offences lacks column(s): offence_date
    """
    if not isinstance(frame, pd.DataFrame):
        raise error(f"{name} must be a pandas DataFrame")
    check_columns(frame.columns, required_columns, name, error=error)


def check_columns(columns: Iterable[object], required_columns: Iterable[str], name: str, *,
                  error: type[ValueError] = ValueError) -> None:
    """Raise ``error`` naming every required column missing from ``columns`` (a frame's
    columns, pandas or dask)."""
    present = set(columns)
    missing = [c for c in required_columns if c not in present]
    if missing:
        raise error(f"{name} lacks column(s): {', '.join(missing)}")


def check_unique(values: pd.Series, message: str, *,
                 error: type[ValueError] = ValueError) -> None:
    """Raise ``error(message)`` if ``values`` holds a value twice (identifiers, keys)."""
    if values.duplicated().any():
        raise error(message)
