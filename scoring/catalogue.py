"""The offence catalogue: gravity, harm and unit cost per offence type, each with its source.

The catalogue is a versioned YAML file (``scoring/data/offence_catalogue.yaml`` by default);
a force can supply its own. Everything downstream (RFG gravity, THR harm, IDIOM costs)
looks figures up here, never in code.

Home Office codes reach a type through their Home Office offence subgroup: the catalogue
names its code lists (``ho_code_lists``, see ``scoring.ho_codes``), maps each subgroup to a
type (``ho_subgroups``) and may map single codes by hand (``ho_code_overrides``, each with a
reason). Harm is in Cambridge Crime Harm Index days: a code weighs its per-code figure
(``code_harm``, from a force's licensed workbook) or else its subgroup's median, and a
type's ``harm_weight`` is the median over the codes mapped to it. Only a type no code gives
a figure for states its own ``harm_weight`` (with ``harm_source``, e.g. "project default").
Scores use the per-type figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from scoring.ho_codes import (
    CodeList,
    normalise_ho_code,
    read_code_lists,
    subgroup_key,
)
from scoring.paths import CATALOGUE
from scoring.rules import RulesReader, load_rules

DEFAULT_PATH = CATALOGUE

TYPE_KEYS = ("label", "offence_group", "neighbourhood_crime", "gravity", "gravity_source",
             "unit_cost_gbp", "cost_confirmed", "cost_source")
TYPE_OPTIONAL = ("harm_weight", "harm_source")
COLUMNS = ("label", "offence_group", "neighbourhood_crime", "gravity", "gravity_source",
           "harm_weight", "harm_source", "unit_cost_gbp", "cost_confirmed", "cost_source",
           "ho_codes")
TOP_KEYS = ("version", "offence_types")
TOP_OPTIONAL = ("cost_table", "ho_code_lists", "ho_subgroups", "ho_code_overrides",
                "code_harm")
SUBGROUP_KEYS = ("offence_type", "harm_days", "harm_source")
CODE_COLUMNS = ("ho_code", "description", "offence_group", "offence_subgroup", "offence_type",
                "mapped_by", "mapping_note", "harm_days", "harm_source", "code_list")
SUBGROUP_COLUMNS = ("offence_type", "harm_days", "harm_source", "chi_subgroup")

__all__ = ["DEFAULT_PATH", "CatalogueError", "OffenceCatalogue", "catalogue_from_mapping",
           "load_catalogue", "normalise_ho_code"]


class CatalogueError(ValueError):
    """The catalogue file is malformed (raised on load, naming every offending entry)."""


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


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
        One row per ``offence_type`` (the index), columns as in ``COLUMNS``; ``harm_weight``
        is the type's harm in days and ``harm_source`` says where it comes from.
    codes : pandas.DataFrame
        One row per Home Office code (index: the normalised code), columns as in
        ``CODE_COLUMNS``: its subgroup, type, how it was mapped and its own harm days.
    subgroups : pandas.DataFrame
        The subgroup mapping (index: subgroup name), columns as in ``SUBGROUP_COLUMNS``.
    code_lists : tuple of CodeList
        The code lists the codes were read from, with their sources.
    """

    version: str
    cost_table: str
    table: pd.DataFrame
    _by_ho_code: dict[str, str] = field(repr=False)
    codes: pd.DataFrame = field(default_factory=lambda: _empty(CODE_COLUMNS), repr=False)
    subgroups: pd.DataFrame = field(default_factory=lambda: _empty(SUBGROUP_COLUMNS),
                                    repr=False)
    code_lists: tuple[CodeList, ...] = ()
    # Columns already read out of ``table`` (see ``column``); a copy made with
    # ``dataclasses.replace`` starts with none, so it never sees another table's values.
    _columns: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False,
                                            compare=False)

    @cached_property
    def _type_names(self) -> tuple[str, ...]:
        return tuple(self.table.index)

    @cached_property
    def positions(self) -> Mapping[str, int]:
        """Each offence type's row in ``table`` (the kernel's type code)."""
        return {name: k for k, name in enumerate(self._type_names)}

    @property
    def offence_types(self) -> list[str]:
        return list(self._type_names)

    def column(self, name: str) -> np.ndarray:
        """A column of ``table`` in row order, as a read-only array read out once.

        A one-person score looks the catalogue up a dozen times; through pandas each lookup
        cost more than the numpy work it fed (a fifth of that score's time).
        """
        values = self._columns.get(name)
        if values is None:
            values = self.table[name].to_numpy(copy=True)
            values.flags.writeable = False
            self._columns[name] = values
        return values

    def __contains__(self, offence_type: object) -> bool:
        return offence_type in self.table.index

    def type_for_ho_code(self, ho_code: str) -> str | None:
        """The offence type a Home Office code maps to, or None if the code is unknown."""
        return self._by_ho_code.get(normalise_ho_code(ho_code))


def _is_number(value: object) -> TypeGuard[float]:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and bool(np.isfinite(value)))


def _source(r: RulesReader, entry: Mapping[str, Any], key: str, where: str) -> None:
    if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
        r.errors.append(f"{where}.{key}: must name its source (a non-empty string)")


def _check_type(r: RulesReader, key: str, raw: object) -> None:
    where = f"offence_types.{key}"
    entry = r.section(raw, where, TYPE_KEYS, optional=TYPE_OPTIONAL)
    if "ho_codes" in entry:
        r.errors.append(f"{where}.ho_codes: codes are no longer listed per type: they map "
                        "through ho_subgroups (or one by one in ho_code_overrides)")
    if entry.get("gravity", 1) not in (1, 2, 3, 4):
        r.errors.append(f"{key}: gravity must be 1-4")
    for col in ("harm_weight", "unit_cost_gbp"):
        if col in entry and not (_is_number(entry[col]) and entry[col] >= 0):
            r.errors.append(f"{key}: {col} must be a number >= 0")
    for col in ("neighbourhood_crime", "cost_confirmed"):
        if col in entry and not isinstance(entry[col], bool):
            r.errors.append(f"{key}: {col} must be true or false")
    for col in ("gravity_source", "cost_source", "harm_source"):
        _source(r, entry, col, where)
    if ("harm_weight" in entry) != ("harm_source" in entry):
        r.errors.append(f"{where}: harm_weight and harm_source go together")


def _read_subgroups(r: RulesReader, raw: object, types: set[str]) -> dict[str, dict[str, Any]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        r.errors.append("ho_subgroups: must map Home Office subgroups to offence types")
        raw = {}
    rows: dict[str, dict[str, Any]] = {}
    seen: dict[str, str] = {}
    for name, body in raw.items():
        where = f"ho_subgroups.{name}"
        entry = r.section(body, where, SUBGROUP_KEYS, optional=("chi_subgroup",))
        if subgroup_key(name) in seen:
            r.errors.append(f"{where}: the same subgroup as {seen[subgroup_key(name)]}")
        seen.setdefault(subgroup_key(name), str(name))
        if "offence_type" in entry and entry["offence_type"] not in types:
            r.errors.append(f"{where}.offence_type: {entry['offence_type']!r} is not an "
                            "offence type of this catalogue")
        days = entry.get("harm_days")
        if days is not None and not (_is_number(days) and days >= 0):
            r.errors.append(f"{where}.harm_days: must be a number >= 0, or null where no "
                            f"source gives one (got {days!r})")
        _source(r, entry, "harm_source", where)
        chi = entry.get("chi_subgroup")
        if chi is not None and not (isinstance(chi, str) and chi.strip()):
            r.errors.append(f"{where}.chi_subgroup: must be a subgroup name")
        rows[str(name)] = {"offence_type": entry.get("offence_type"),
                           "harm_days": float(days) if _is_number(days) else math.nan,
                           "harm_source": str(entry.get("harm_source", "")),
                           "chi_subgroup": chi}
    return rows


def _read_keyed(r: RulesReader, raw: object, section: str, keys: tuple[str, ...]
                ) -> dict[str, dict[str, Any]]:
    """A mapping of Home Office code -> entry, keyed by the normalised code."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        r.errors.append(f"{section}: must map Home Office codes to entries")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for code, body in raw.items():
        where = f"{section}.{code}"
        entry = r.section(body, where, keys)
        norm = normalise_ho_code(str(code))
        if norm in out:
            r.errors.append(f"{where}: code {norm} is given twice")
        out[norm] = {**entry, "as_written": str(code), "where": where}
    return out


Record = dict[str, Any]


def _map_codes(r: RulesReader, listed: dict[str, Record], subgroups: dict[str, Record],
               overrides: dict[str, Record], types: set[str]) -> dict[str, Record]:
    """Every code's type: its override's, else its subgroup's (``subgroup`` = the matching
    ho_subgroups row, kept for its harm even where an override sets the type)."""
    by_key = {subgroup_key(name): name for name in subgroups}
    rows: dict[str, Record] = {}
    for code, row in listed.items():
        subgroup = by_key.get(subgroup_key(row["offence_subgroup"]))
        base = {"ho_code": row["ho_code_as_written"], "description": row["description"],
                "offence_group": row["offence_group"],
                "offence_subgroup": row["offence_subgroup"], "code_list": row["code_list"],
                "subgroup": subgroup}
        if code in overrides:
            rows[code] = base
        elif subgroup is None:
            r.errors.append(f"{row['code_list']} line {row['line']}: code {code}'s subgroup "
                            f"{row['offence_subgroup']!r} is not in ho_subgroups (add the "
                            "subgroup, or the code to ho_code_overrides)")
        else:
            rows[code] = {**base, "offence_type": subgroups[subgroup]["offence_type"],
                          "mapped_by": "subgroup", "mapping_note": None}
    for code, entry in overrides.items():
        where = entry["where"]
        if entry.get("offence_type") not in types:
            r.errors.append(f"{where}.offence_type: {entry.get('offence_type')!r} is not an "
                            "offence type of this catalogue")
        if not (isinstance(entry.get("reason"), str) and entry["reason"].strip()):
            r.errors.append(f"{where}.reason: must say why the code is mapped by hand")
        base = rows.get(code) or {"ho_code": entry["as_written"], "description": "",
                                  "offence_group": "", "offence_subgroup": "",
                                  "code_list": "", "subgroup": None}
        rows[code] = {**base, "offence_type": entry.get("offence_type"),
                      "mapped_by": "override", "mapping_note": entry.get("reason")}
    return rows


def _code_harm(r: RulesReader, codes: dict[str, Record], subgroups: dict[str, Record],
               per_code: dict[str, Record]) -> None:
    """Each code's harm days and source: its own figure, else its subgroup's median.

    Sets ``harm_days`` (NaN: no figure), ``harm_source`` and, for `_type_harm`, ``basis``
    (the subgroup, or "per-code figure") and ``origin`` (the source alone).
    """
    for code, row in codes.items():
        row.update(harm_days=math.nan, basis=None, origin=None, harm_source=None)
        group = row["subgroup"]
        if code in per_code:
            entry = per_code[code]
            value = entry.get("days")
            if not (_is_number(value) and value >= 0):
                r.errors.append(f"{entry['where']}.days: must be a number >= 0 "
                                f"(got {value!r})")
            else:
                row["harm_days"] = float(value)
            row.update(basis="per-code figure", origin=str(entry.get("source", "")))
        elif group is not None and not math.isnan(subgroups[group]["harm_days"]):
            row.update(harm_days=subgroups[group]["harm_days"],
                       basis=f"{group} subgroup median",
                       origin=subgroups[group]["harm_source"])
        if row["basis"] is not None:
            row["harm_source"] = f"{row['basis']}: {row['origin']}"
    for code, entry in per_code.items():
        _source(r, entry, "source", entry["where"])
        if code not in codes:
            r.errors.append(f"{entry['where']}: {code} is not a code of this catalogue's "
                            "lists or overrides")


def _fmt(days: float) -> str:
    return f"{days:g}"


def _type_harm(codes: list[Record]) -> tuple[float, str] | None:
    """A type's harm from its codes: the median of their days, and how it was found."""
    mine = [c for c in codes if not math.isnan(c["harm_days"])]
    if not mine:
        return None
    counts: dict[tuple[str, float], int] = {}
    for c in mine:
        counts[(c["basis"], c["harm_days"])] = counts.get((c["basis"], c["harm_days"]), 0) + 1
    parts = [f"{n} x {_fmt(value)} days ({basis})" for (basis, value), n in counts.items()]
    sources = " | ".join(dict.fromkeys(c["origin"] for c in mine))
    return (float(np.median([c["harm_days"] for c in mine])),
            f"median over the {len(mine)} Home Office codes mapped here with a figure: "
            f"{', '.join(parts)}. Source: {sources}")


def load_catalogue(path: str | Path = DEFAULT_PATH) -> OffenceCatalogue:
    """Load and validate a catalogue file (code lists are read beside it, or from the
    package for ``package:`` paths).

    Raises
    ------
    CatalogueError
        If the file lacks a version, has no offence types, an entry misses a column or a
        source or has an out-of-range figure, a listed code's subgroup is not mapped, or a
        type has no harm figure from its codes and states none itself.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> int(cat.table.loc["robbery_personal", "unit_cost_gbp"])
    11320
    >>> cat.type_for_ho_code("034B"), cat.type_for_ho_code("28E")
    ('robbery_personal', 'burglary_residential')
    >>> float(cat.table.loc["burglary_residential", "harm_weight"])
    273.5
    """
    return load_rules(path, catalogue_from_mapping, error=CatalogueError)


def catalogue_from_mapping(raw: object, *, source: str = "",
                           base_dir: Path | None = None) -> OffenceCatalogue:
    """Validate a parsed catalogue mapping (see `load_catalogue`); relative code-list paths
    are read from ``base_dir`` (default: the folder of ``source``, else the working one)."""
    r = RulesReader(source)
    top = r.section(raw, "", TOP_KEYS, optional=TOP_OPTIONAL)
    version = r.version(top)
    entries = top.get("offence_types") or {}
    if "offence_types" in top and not (isinstance(entries, dict) and entries):
        r.errors.append("offence_types: must list at least one offence type")
        entries = {}
    for key, entry in entries.items():
        _check_type(r, str(key), entry)
    r.check(CatalogueError, "offence catalogue")

    types = {str(k) for k in entries}
    folder = base_dir or (Path(source).resolve().parent if source else Path.cwd())
    lists, listed = read_code_lists(top.get("ho_code_lists"), folder, r.errors)
    subgroups = _read_subgroups(r, top.get("ho_subgroups"), types)
    overrides = _read_keyed(r, top.get("ho_code_overrides"), "ho_code_overrides",
                            ("offence_type", "reason"))
    per_code = _read_keyed(r, top.get("code_harm"), "code_harm", ("days", "source"))
    r.check(CatalogueError, "offence catalogue")
    codes = _map_codes(r, listed, subgroups, overrides, types)
    _code_harm(r, codes, subgroups, per_code)

    by_type: dict[str, list[Record]] = {str(key): [] for key in entries}
    for row in codes.values():
        by_type.setdefault(str(row["offence_type"]), []).append(row)
    rows: dict[str, Record] = {}
    for key, entry in entries.items():
        derived = _type_harm(by_type[str(key)])
        stated = entry.get("harm_weight")
        if derived is not None and stated is not None:
            r.errors.append(f"offence_types.{key}.harm_weight: its Home Office codes already "
                            f"give it {_fmt(derived[0])} days; remove harm_weight (set harm "
                            "per subgroup or per code instead)")
        elif derived is None and stated is None:
            r.errors.append(f"offence_types.{key}: no code mapped to it has a harm figure, "
                            "so it needs harm_weight and harm_source")
        value, text = derived or (float(stated or 0), str(entry.get("harm_source")))
        rows[str(key)] = {**entry, "harm_weight": value, "harm_source": text,
                          "ho_codes": [c["ho_code"] for c in by_type[str(key)]]}
    r.check(CatalogueError, "offence catalogue")

    table = pd.DataFrame.from_dict(rows, orient="index")[list(COLUMNS)].astype(
        {"neighbourhood_crime": bool, "gravity": "int64", "harm_weight": "float64",
         "unit_cost_gbp": "float64", "cost_confirmed": bool})
    table.index.name = "offence_type"
    code_frame = pd.DataFrame.from_dict(codes, orient="index", columns=list(CODE_COLUMNS))
    code_frame = code_frame.astype({"harm_days": "float64"})
    code_frame.index.name = "code"
    subgroup_frame = pd.DataFrame.from_dict(subgroups, orient="index",
                                            columns=list(SUBGROUP_COLUMNS))
    subgroup_frame.index.name = "offence_subgroup"
    by_code = {code: str(row["offence_type"]) for code, row in codes.items()}
    return OffenceCatalogue(
        version=version,
        cost_table=str(top.get("cost_table", "")),
        table=table,
        _by_ho_code=by_code,
        codes=code_frame,
        subgroups=subgroup_frame,
        code_lists=lists,
    )
