"""Home Office notifiable offence codes: the code lists a catalogue names, and how a code is
written.

A code list is a CSV file with one row per code and the columns ``ho_code``,
``description``, ``offence_group`` and ``offence_subgroup`` (the Home Office offence group
and subgroup, as in the police recorded crime open data tables; ``police_uk_category`` and
other columns may follow and are kept). The project ships one list,
``scoring/data/ho_offence_codes.csv`` (see ``scoring/data/README.md`` for its source and
licence); a force adds its newer codes with a list of its own, named in its catalogue.
Catalogue types are reached through the subgroup (``scoring.catalogue``), never by code.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.paths import DATA

# A list path written ``package:NAME`` is NAME in scoring/data (the shipped lists), so a
# force's catalogue kept anywhere can still name them.
PACKAGE_PREFIX = "package:"
LIST_COLUMNS = ("ho_code", "description", "offence_group", "offence_subgroup")


def normalise_ho_code(code: str) -> str:
    """One spelling per Home Office code: upper case, no outer spaces, the class without
    leading zeros, and the sub-class after ``/`` (the open data tables write ``4.1``, the
    counting rules ``004/01``: both are ``4/1``).

    Examples
    --------
    >>> [normalise_ho_code(c) for c in (" 008n ", "037/2", "37.2", "004/01", "4.10", "ffa uk")]
    ['8N', '37/2', '37/2', '4/1', '4/10', 'FFA UK']
    """
    text = " ".join(code.strip().upper().split())
    head, sep, tail = text.replace(".", "/").partition("/")
    head = head.lstrip("0") or "0"
    if sep:
        tail = tail.lstrip("0") or "0"
    return head + sep + tail


def subgroup_key(name: str) -> str:
    """How subgroup names are compared: case and runs of spaces do not matter."""
    return " ".join(str(name).split()).casefold()


def resolve_list_path(path: str, base_dir: Path) -> Path:
    """Where a catalogue's code list lives: ``package:NAME`` in scoring/data, a relative
    path beside the catalogue file, an absolute path as it is."""
    if path.startswith(PACKAGE_PREFIX):
        return DATA / path[len(PACKAGE_PREFIX):]
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base_dir / candidate


@dataclass(frozen=True)
class CodeList:
    """A code list as the catalogue names it: where it is and where its rows come from."""

    path: str
    source: str
    licence: str = ""


Row = dict[str, Any]


def read_code_list(code_list: CodeList, base_dir: Path, errors: list[str]) -> dict[str, Row]:
    """The rows of one code list, keyed by the normalised code (``line`` = the file's line,
    ``ho_code_as_written`` = the code as the list writes it), appending every problem to
    ``errors`` with the list's path and the line. Nothing is returned for an unreadable file.
    """
    where = code_list.path
    path = resolve_list_path(code_list.path, base_dir)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [" ".join(str(c).split()).lower() for c in reader.fieldnames or []]
            records = [list(r.values()) for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        errors.append(f"ho_code_lists: cannot read {where} ({exc})")
        return {}
    missing = [c for c in LIST_COLUMNS if c not in header]
    if missing:
        errors.append(f"ho_code_lists: {where} lacks column(s): {', '.join(missing)}")
        return {}
    out: dict[str, Row] = {}
    for line, values in enumerate(records, start=2):  # line 1 is the header
        row = {name: " ".join(str(v or "").split()) for name, v in zip(header, values,
                                                                        strict=False)}
        if not any(row.values()):
            continue
        for col in ("ho_code", "offence_subgroup"):
            if not row.get(col):
                errors.append(f"{where} line {line}: {col} is empty")
        if not row.get("ho_code"):
            continue
        code = normalise_ho_code(row["ho_code"])
        if code in out:
            errors.append(f"{where} line {line}: code {code} is listed twice (first on "
                          f"line {out[code]['line']})")
            continue
        out[code] = {**row, "ho_code_as_written": row["ho_code"], "line": line,
                     "code_list": where}
    return out


def read_code_lists(raw: object, base_dir: Path,
                    errors: list[str]) -> tuple[tuple[CodeList, ...], dict[str, Row]]:
    """Every code list a catalogue names (``ho_code_lists``), combined, keyed by the
    normalised code in list order.

    A later list's row replaces an earlier one for the same code, so a force can add codes
    and reclassify old ones without editing the shipped list.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        errors.append("ho_code_lists: must be a list of {path, source}")
        raw = []
    lists: list[CodeList] = []
    combined: dict[str, Row] = {}
    for i, item in enumerate(raw):
        where = f"ho_code_lists[{i}]"
        if not isinstance(item, Mapping):
            errors.append(f"{where}: must be a mapping with path and source")
            continue
        unknown = sorted(str(k) for k in item if k not in ("path", "source", "licence"))
        errors += [f"{where}.{k}: unknown key" for k in unknown]
        path, source, licence = (item.get(k) for k in ("path", "source", "licence"))
        if licence is not None and not isinstance(licence, str):
            errors.append(f"{where}.licence: must be a string")
        if not (isinstance(path, str) and path.strip()
                and isinstance(source, str) and source.strip()):
            errors += [f"{where}.{key}: must be a non-empty string"
                       for key, value in (("path", path), ("source", source))
                       if not (isinstance(value, str) and value.strip())]
            continue
        code_list = CodeList(path, source, str(licence or ""))
        lists.append(code_list)
        for code, row in read_code_list(code_list, base_dir, errors).items():
            combined.pop(code, None)  # a replaced code moves to its new list's place
            combined[code] = row
    return tuple(lists), combined
