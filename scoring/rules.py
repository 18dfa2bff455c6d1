"""One reader for every rules file: the scoring configuration, the offence catalogue and
the shortlist rules.

Rules are data a force can replace, so a file is checked before anything uses it: every
mapping may hold only the keys its schema names (a typo is refused, never silently read
as a default), every value has its type checked, and every file carries a ``version``
that results record. ``RulesReader`` walks the parsed file and collects every problem
with its dotted path rather than stopping at the first, so one run shows a force all that
is wrong with its file; ``load_rules`` parses the YAML and names the file in the error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
# libyaml's safe loader where PyYAML was built with it: the same documents, read faster.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dotted(path: str, key: object) -> str:
    """The dotted path of ``key`` inside ``path`` ("" is the top of the file)."""
    return f"{path}.{key}" if path else str(key)


class RulesReader:
    """Walks a parsed rules file, collecting every error with its dotted path."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.errors: list[str] = []

    def section(self, raw: object, path: str, keys: tuple[str, ...], *,
                optional: tuple[str, ...] = ()) -> dict[str, Any]:
        """The mapping at ``path``: each of ``keys`` must be present, ``optional`` ones may
        be, anything else is an unknown key."""
        if not isinstance(raw, Mapping):
            self.errors.append(f"{path or 'rules file'}: must be a mapping")
            return {}
        missing = [k for k in keys if k not in raw]
        unknown = sorted(str(k) for k in raw if k not in keys and k not in optional)
        self.errors += [f"{dotted(path, k)}: missing" for k in missing]
        self.errors += [f"{dotted(path, k)}: unknown key" for k in unknown]
        return dict(raw)

    def version(self, top: Mapping[str, Any]) -> str:
        """The file's ``version`` (``section`` has already reported it missing)."""
        version = top.get("version")
        if "version" in top and (not isinstance(version, str | int | float)
                                 or isinstance(version, bool) or str(version) == ""):
            self.errors.append("version: must be a non-empty string")
        return str(version)

    def number(self, raw: Mapping[Any, Any], key: object, path: str, *,
               low: float | None = None,
               positive: bool = False, integer: bool = False) -> float:
        """A finite number (NaN when absent or wrong, with the error recorded)."""
        where = dotted(path, key)
        value = raw.get(key)
        if value is None:
            return math.nan  # already reported as missing
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            self.errors.append(f"{where}: must be a number (got {value!r})")
            return math.nan
        if integer and value != int(value):
            self.errors.append(f"{where}: must be a whole number (got {value!r})")
        if positive and value <= 0:
            self.errors.append(f"{where}: must be > 0 (got {value!r})")
        if low is not None and value < low:
            self.errors.append(f"{where}: must be >= {low} (got {value!r})")
        return float(value)

    def whole_number(self, raw: Mapping[Any, Any], key: str, path: str, *, default: int,
                     low: int = 0) -> int:
        """An optional whole number >= ``low``; ``default`` when absent."""
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            self.errors.append(f"{dotted(path, key)}: must be a whole number >= {low} "
                               f"(got {value!r})")
            return default
        return value

    def optional_number(self, raw: Mapping[Any, Any], key: str, path: str, *,
                        integer: bool = False) -> Any:
        """An optional number (None when absent), kept as written."""
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            kind = "a whole number" if integer else "a number"
            self.errors.append(f"{dotted(path, key)}: must be {kind} (got {value!r})")
            return None
        return value

    def optional_flag(self, raw: Mapping[Any, Any], key: str, path: str) -> bool | None:
        """An optional true/false (None when absent)."""
        value = raw.get(key)
        if value is not None and not isinstance(value, bool):
            self.errors.append(f"{dotted(path, key)}: must be true or false (got {value!r})")
            return None
        return value

    def names(self, raw: Mapping[Any, Any], key: str, path: str) -> tuple[str, ...]:
        """An optional list of names (empty when absent)."""
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.errors.append(f"{dotted(path, key)}: must be a list of names (got {value!r})")
            return ()
        return tuple(value)

    def choice(self, raw: Mapping[Any, Any], key: str, path: str,
               choices: tuple[str, ...]) -> Any:
        """A value from ``choices`` (``section`` has already reported it missing)."""
        value = raw.get(key)
        if key in raw and value not in choices:
            self.errors.append(f"{dotted(path, key)}: must be one of {choices} (got {value!r})")
        return value

    def check(self, error: type[ValueError], what: str) -> None:
        """Raise ``error`` listing every problem found, if any."""
        if self.errors:
            where = f" in {self.source}" if self.source else ""
            raise error(f"invalid {what}{where}: " + "; ".join(self.errors))


def load_rules(path: str | Path, from_mapping: Callable[..., T], *,
               error: type[ValueError]) -> T:
    """Parse a rules file and build it with ``from_mapping(raw, source=path)``.

    Raises
    ------
    error
        If the file is not valid YAML (and whatever ``from_mapping`` raises).
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from exc
    return from_mapping(raw, source=str(path))
