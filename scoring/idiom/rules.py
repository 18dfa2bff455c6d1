"""The IDIOM report's rules as data (``scoring/data/idiom.yaml``), read through the one
rules reader: windows and their range, counting, publication thresholds, the bootstrap and
the comparison group's matching."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scoring.paths import IDIOM_RULES
from scoring.rules import RulesReader, load_rules

DEFAULT_PATH = IDIOM_RULES
COUNTING = ("recorded", "proven")


class IdiomRulesError(ValueError):
    """The IDIOM rules file is malformed; the message lists every problem."""


@dataclass(frozen=True)
class IdiomRules:
    """A loaded, checked ``idiom.yaml`` (see the file for each figure and its source)."""

    version: str
    window_months: int
    min_window_months: int
    max_window_months: int
    counting: str
    proven_outcomes: frozenset[str]
    waiting_months: int
    suppress_below: int
    small_group: int
    min_liberty_days: int
    bootstrap_resamples: int
    bootstrap_level: float
    bootstrap_seed: int
    neighbours: int
    caliper: float
    balance_limit: float
    comparator_min_age: int
    source: str = ""

    def check_window(self, months: int) -> None:
        """ValueError unless ``months`` is in the allowed range."""
        if not self.min_window_months <= months <= self.max_window_months:
            raise ValueError(f"window_months must be from {self.min_window_months} to "
                             f"{self.max_window_months}")


def load_idiom_rules(path: str | Path | None = None) -> IdiomRules:
    """Load and check an IDIOM rules file (default: the shipped ``idiom.yaml``).

    >>> load_idiom_rules().window_months
    12
    """
    return load_rules(path or DEFAULT_PATH, idiom_rules_from_mapping, error=IdiomRulesError)


def _int(r: RulesReader, raw: dict, key: str, path: str, low: int = 0) -> int:  # type: ignore[type-arg]
    value = r.number(raw, key, path, low=low, integer=True)
    return int(value) if value == value else low  # NaN: already reported


def idiom_rules_from_mapping(raw: object, *, source: str = "") -> IdiomRules:
    """Validate a parsed IDIOM rules mapping (see `load_idiom_rules`)."""
    r = RulesReader(source)
    top = r.section(raw, "", ("version", "windows", "counting", "publication", "bootstrap",
                              "comparison"))
    version = r.version(top)
    w = r.section(top.get("windows") or {}, "windows", ("months", "min_months", "max_months"))
    c = r.section(top.get("counting") or {}, "counting",
                  ("default", "proven_outcomes", "waiting_months"))
    p = r.section(top.get("publication") or {}, "publication",
                  ("suppress_below", "small_group", "min_liberty_days"))
    b = r.section(top.get("bootstrap") or {}, "bootstrap", ("resamples", "level", "seed"))
    m = r.section(top.get("comparison") or {}, "comparison",
                  ("neighbours", "caliper", "balance_limit", "min_age"))
    months, low, high = (_int(r, w, k, "windows", 1) for k in ("months", "min_months",
                                                                "max_months"))
    if not low <= months <= high:
        r.errors.append(f"windows: months ({months}) must be within min_months..max_months "
                        f"({low}..{high})")
    level = r.number(b, "level", "bootstrap", positive=True)
    if level == level and not level < 1:
        r.errors.append(f"bootstrap.level: must be between 0 and 1 (got {level})")
    outcomes = r.names(c, "proven_outcomes", "counting")
    if "proven_outcomes" in c and not outcomes:
        r.errors.append("counting.proven_outcomes: name at least one outcome")
    rules = IdiomRules(
        version=version, window_months=months, min_window_months=low, max_window_months=high,
        counting=r.choice(c, "default", "counting", COUNTING),
        proven_outcomes=frozenset(outcomes),
        waiting_months=_int(r, c, "waiting_months", "counting"),
        suppress_below=_int(r, p, "suppress_below", "publication", 1),
        small_group=_int(r, p, "small_group", "publication", 1),
        min_liberty_days=_int(r, p, "min_liberty_days", "publication"),
        bootstrap_resamples=_int(r, b, "resamples", "bootstrap", 1),
        bootstrap_level=level, bootstrap_seed=_int(r, b, "seed", "bootstrap"),
        neighbours=_int(r, m, "neighbours", "comparison", 1),
        caliper=r.number(m, "caliper", "comparison", positive=True),
        balance_limit=r.number(m, "balance_limit", "comparison", positive=True),
        comparator_min_age=_int(r, m, "min_age", "comparison"),
        source=source)
    r.check(IdiomRulesError, "IDIOM rules")
    return rules


# The shipped rules: the kernel's defaults when a caller passes none.
DEFAULT_RULES = load_idiom_rules()
