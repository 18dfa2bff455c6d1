"""The offence catalogue: gravity, harm weight and unit cost per offence type, as data.

The catalogue is a versioned YAML file (``scoring/data/offence_catalogue.yaml`` by default);
a force can supply its own. Everything downstream (RFG gravity, THR harm, IDIOM costs)
looks figures up here, never in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scoring.paths import CATALOGUE
from scoring.rules import RulesReader, load_rules

DEFAULT_PATH = CATALOGUE

COLUMNS = (
    "label",
    "offence_group",
    "neighbourhood_crime",
    "gravity",
    "harm_weight",
    "unit_cost_gbp",
    "cost_confirmed",
    "cost_source",
    "ho_codes",
)


class CatalogueError(ValueError):
    """The catalogue file is malformed (raised on load, with the offending entry)."""


@dataclass(frozen=True)
class OffenceCatalogue:
    """A loaded catalogue.

    Attributes
    ----------
    version : str
        Recorded next to every number computed from this catalogue.
    cost_table : str
        Name of the cost table the unit costs come from.
    table : pandas.DataFrame
        One row per ``offence_type`` (the index), columns as in ``COLUMNS``.
    """

    version: str
    cost_table: str
    table: pd.DataFrame
    _by_ho_code: dict[str, str] = field(repr=False)

    @property
    def offence_types(self) -> list[str]:
        return list(self.table.index)

    def __contains__(self, offence_type: object) -> bool:
        return offence_type in self.table.index

    def type_for_ho_code(self, ho_code: str) -> str | None:
        """The offence type a Home Office code maps to, or None if the code is unknown."""
        return self._by_ho_code.get(normalise_ho_code(ho_code))


def normalise_ho_code(code: str) -> str:
    """Upper-case and strip a Home Office code, dropping the class's leading zeros (008N -> 8N)."""
    text = code.strip().upper()
    head, sep, tail = text.partition("/")
    head = head.lstrip("0") or "0"
    return head + sep + tail


def _check_entry(r: RulesReader, key: str, raw: object) -> None:
    entry = r.section(raw, key, COLUMNS)
    if any(col not in entry for col in COLUMNS):
        return  # figures of an incomplete entry are not checked further
    if entry["gravity"] not in (1, 2, 3, 4):
        r.errors.append(f"{key}: gravity must be 1-4")
    for col in ("harm_weight", "unit_cost_gbp"):
        if (isinstance(entry[col], bool) or not isinstance(entry[col], int | float)
                or entry[col] < 0):
            r.errors.append(f"{key}: {col} must be a number >= 0")
    for col in ("neighbourhood_crime", "cost_confirmed"):
        if not isinstance(entry[col], bool):
            r.errors.append(f"{key}: {col} must be true or false")
    if not isinstance(entry["ho_codes"], list):
        r.errors.append(f"{key}: ho_codes must be a list")


def load_catalogue(path: str | Path = DEFAULT_PATH) -> OffenceCatalogue:
    """Load and validate a catalogue file.

    Raises
    ------
    CatalogueError
        If the file lacks a version, has no offence types, an entry misses a column or has an
        out-of-range figure, or two types claim the same Home Office code.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> int(cat.table.loc["robbery_personal", "unit_cost_gbp"])
    11320
    >>> cat.type_for_ho_code("034B")
    'robbery_personal'
    """
    return load_rules(path, catalogue_from_mapping, error=CatalogueError)


def catalogue_from_mapping(raw: object, *, source: str = "") -> OffenceCatalogue:
    """Validate a parsed catalogue mapping (see `load_catalogue`)."""
    r = RulesReader(source)
    top = r.section(raw, "", ("version", "offence_types"), optional=("cost_table",))
    version = r.version(top)
    entries = top.get("offence_types") or {}
    if "offence_types" in top and not (isinstance(entries, dict) and entries):
        r.errors.append("offence_types: must list at least one offence type")
        entries = {}
    for key, entry in entries.items():
        _check_entry(r, str(key), entry)
    r.check(CatalogueError, "offence catalogue")
    by_code: dict[str, str] = {}
    for key, entry in entries.items():
        for code in entry["ho_codes"]:
            norm = normalise_ho_code(str(code))
            if norm in by_code:
                r.errors.append(f"HO code {code} mapped to both {by_code[norm]} and {key}")
            by_code.setdefault(norm, key)
    r.check(CatalogueError, "offence catalogue")
    table = pd.DataFrame.from_dict(entries, orient="index")[list(COLUMNS)]
    table.index.name = "offence_type"
    table = table.astype(
        {"neighbourhood_crime": bool, "gravity": "int64", "harm_weight": "float64",
         "unit_cost_gbp": "float64", "cost_confirmed": bool}
    )
    return OffenceCatalogue(
        version=version,
        cost_table=str(top.get("cost_table", "")),
        table=table,
        _by_ho_code=by_code,
    )
