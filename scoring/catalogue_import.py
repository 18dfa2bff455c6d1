"""A force's own figures as a new catalogue version: its Cambridge Crime Harm Index workbook
(per-code days) and its IDIOM cost table (unit cost per offence type or Home Office subgroup).

File formats (CSV, or the first sheet of an XLSX workbook; header on the first row, names
matched without regard to case or spaces; other columns are ignored):

* **CCHI workbook**: ``ho_code`` (a Home Office code of the catalogue's code lists or
  overrides), ``days`` (Crime Harm Index days, a number >= 0), optional ``source``.
* **Cost table**: ``offence_type`` (a catalogue type) or ``offence_subgroup`` (a Home Office
  subgroup of the catalogue's ``ho_subgroups``; the cost goes to the type it maps to), one of
  the two on each row; ``cost_gbp`` (a number >= 0); optional ``source``.

A row without a ``source`` is sourced as the file and its row ("force CCHI workbook
chi.xlsx, row 7"). Every problem is reported with its row number (the spreadsheet's: the
header is row 1), all at once. Imported costs are the force's own figures, so they are
marked ``cost_confirmed: true`` with the file named as their source. The workbook replaces
the base catalogue's ``code_harm`` entirely; codes it does not list keep their subgroup's
median. The result is checked by the catalogue loader before it is returned.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.catalogue import CatalogueError, OffenceCatalogue, catalogue_from_mapping
from scoring.ho_codes import PACKAGE_PREFIX, normalise_ho_code, subgroup_key

CHI_COLUMNS = ("ho_code", "days")
COST_COLUMNS = ("cost_gbp",)
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


class CatalogueImportError(CatalogueError):
    """An import file cannot be read or has bad rows (the message names every row)."""


def read_table(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """A CSV or XLSX file as text cells, columns named in lower case with ``_`` for spaces,
    indexed by the spreadsheet row number (header = row 1)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                                encoding="utf-8-sig")
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0,
                                  dtype=object, engine="openpyxl")
        else:
            raise CatalogueImportError(f"{path.name}: give a .csv or .xlsx file")
    except CatalogueImportError:
        raise
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        raise CatalogueImportError(f"{path.name}: cannot read it ({exc})") from exc
    frame.columns = ["_".join(str(c).strip().lower().split()) for c in frame.columns]
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number in a spreadsheet: 46.0 -> "46"
    return " ".join(str(value).split())


def _number(value: Any) -> float | None:
    """A finite number >= 0 from a cell, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) and number >= 0 else None


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], name: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CatalogueImportError(f"{name}: lacks column(s) {', '.join(missing)} "
                                   f"(has {', '.join(map(str, frame.columns)) or 'none'})")


def _rows(frame: pd.DataFrame) -> list[tuple[int, dict[str, Any]]]:
    """The non-blank rows with their spreadsheet row numbers."""
    return [(int(n), row) for n, row in zip(frame.index, frame.to_dict(orient="records"),
                                            strict=True)
            if any(_text(v) for v in row.values())]


def chi_figures(frame: pd.DataFrame, catalogue: OffenceCatalogue, *,
                name: str) -> dict[str, dict[str, Any]]:
    """``code_harm`` entries from a CCHI workbook: code (as the catalogue writes it) ->
    {days, source}.

    Raises
    ------
    CatalogueImportError
        Naming every row with an empty or unknown code, a bad ``days`` or a repeated code.
    """
    _check_columns(frame, CHI_COLUMNS, name)
    errors: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    for row_no, row in _rows(frame):
        code = _text(row["ho_code"])
        if not code:
            errors.append(f"row {row_no}: ho_code is empty")
            continue
        norm = normalise_ho_code(code)
        if norm not in catalogue.codes.index:
            errors.append(f"row {row_no}: ho_code {code!r} is not a Home Office code of the "
                          "catalogue (its code lists or overrides)")
            continue
        days = _number(row["days"])
        if days is None:
            errors.append(f"row {row_no}: days {_text(row['days'])!r} is not a number >= 0")
            continue
        if norm in first:
            errors.append(f"row {row_no}: ho_code {code} is given twice (first on row "
                          f"{first[norm]})")
            continue
        first[norm] = row_no
        source = _text(row.get("source")) or f"force CCHI workbook {name}, row {row_no}"
        out[str(catalogue.codes.loc[norm, "ho_code"])] = {"days": days, "source": source}
    if errors:
        raise CatalogueImportError(f"{name}: " + "; ".join(errors))
    if not out:
        raise CatalogueImportError(f"{name}: no rows")
    return out


def cost_figures(frame: pd.DataFrame, catalogue: OffenceCatalogue, *,
                 name: str) -> dict[str, dict[str, Any]]:
    """Unit costs per catalogue type from a cost table: type -> {cost, source}.

    Raises
    ------
    CatalogueImportError
        Naming every row with no (or both) offence_type / offence_subgroup, an unknown one,
        a bad cost, or a type given two different costs.
    """
    _check_columns(frame, COST_COLUMNS, name)
    if "offence_type" not in frame.columns and "offence_subgroup" not in frame.columns:
        raise CatalogueImportError(f"{name}: needs an offence_type or offence_subgroup column")
    subgroups = {subgroup_key(s): (s, t)
                 for s, t in catalogue.subgroups["offence_type"].items()}
    errors: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for row_no, row in _rows(frame):
        given = {c: _text(row.get(c)) for c in ("offence_type", "offence_subgroup")}
        named = [c for c, v in given.items() if v]
        if len(named) != 1:
            errors.append(f"row {row_no}: give an offence_type or an offence_subgroup "
                          "(one of the two)")
            continue
        if named[0] == "offence_type":
            offence_type, what = given["offence_type"], given["offence_type"]
            if offence_type not in catalogue:
                errors.append(f"row {row_no}: offence_type {offence_type!r} is not a type "
                              "of the catalogue")
                continue
        else:
            found = subgroups.get(subgroup_key(given["offence_subgroup"]))
            if found is None:
                errors.append(f"row {row_no}: offence_subgroup "
                              f"{given['offence_subgroup']!r} is not in the catalogue's "
                              "ho_subgroups")
                continue
            what, offence_type = f"subgroup {found[0]}", str(found[1])
        cost = _number(row["cost_gbp"])
        if cost is None:
            errors.append(f"row {row_no}: cost_gbp {_text(row['cost_gbp'])!r} is not a "
                          "number >= 0")
            continue
        if offence_type in out and out[offence_type]["cost"] != cost:
            errors.append(f"row {row_no}: {what} gives {offence_type} {cost:g}, but row "
                          f"{out[offence_type]['row']} gave it {out[offence_type]['cost']:g}")
            continue
        source = _text(row.get("source")) or f"force cost table {name}, row {row_no}"
        out.setdefault(offence_type, {"cost": cost, "source": source, "row": row_no})
    if errors:
        raise CatalogueImportError(f"{name}: " + "; ".join(errors))
    if not out:
        raise CatalogueImportError(f"{name}: no rows")
    return out


def _absolute_lists(raw: dict[str, Any], base_dir: Path) -> None:
    """Code-list paths that still work from wherever the new file is written."""
    for item in raw.get("ho_code_lists") or []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            path = item["path"]
            if not path.startswith(PACKAGE_PREFIX) and not Path(path).is_absolute():
                item["path"] = str((base_dir / path).resolve())


def imported_catalogue(raw: Mapping[str, Any], base_dir: Path, *,
                       chi: dict[str, dict[str, Any]] | None = None,
                       costs: dict[str, dict[str, Any]] | None = None,
                       version: str | None = None, digest: str = "",
                       note: str = "") -> tuple[dict[str, Any], OffenceCatalogue]:
    """The base catalogue mapping with the imported figures, as a new version (checked).

    ``version`` defaults to the base's with ``+import-<digest>`` appended (``digest``: a
    hash of the imported files, so the same files give the same version).

    Examples
    --------
    >>> import yaml
    >>> from scoring.catalogue import DEFAULT_PATH, load_catalogue
    >>> base = yaml.safe_load(DEFAULT_PATH.read_text())
    >>> new, cat = imported_catalogue(base, DEFAULT_PATH.parent,
    ...     chi={"28E": {"days": 300, "source": "force workbook"}}, digest="abc")
    >>> cat.version, float(cat.codes.loc["28E", "harm_days"])
    ('2026.12-sourced-1+import-abc', 300.0)
    """
    out = copy.deepcopy(dict(raw))
    _absolute_lists(out, base_dir)
    out["version"] = version or f"{raw.get('version')}+import-{digest or 'force'}"
    base = catalogue_from_mapping(raw, base_dir=base_dir)
    types = out["offence_types"]
    if chi is not None:
        out["code_harm"] = chi
        given = {normalise_ho_code(c) for c in chi}
        for key, entry in types.items():
            mine = base.codes.index[base.codes["offence_type"] == key]
            if "harm_weight" in entry and any(c in given for c in mine):
                # Its codes now give it a figure: the stated default would contradict them.
                entry.pop("harm_weight")
                entry.pop("harm_source", None)
    for key, figure in (costs or {}).items():
        types[key].update(unit_cost_gbp=figure["cost"], cost_confirmed=True,
                          cost_source=figure["source"])
    if costs:
        out["cost_table"] = (f"{raw.get('cost_table', '')}; force figures for "
                             f"{len(costs)} types{f' ({note})' if note else ''}")
    return out, catalogue_from_mapping(out, base_dir=base_dir)


def file_digest(*paths: Path) -> str:
    """A short hash of files' bytes (a version suffix that repeats for the same files)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:8]
