"""The shortlist rules (``scoring/data/shortlists.yaml``): per stream, what a qualifying
offence is and how candidates rank; for the exits half, when a member is put up for review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "shortlists.yaml"


class ShortlistError(ValueError):
    """Bad shortlist configuration or arguments (unknown stream, bad rank_by, ...)."""


@dataclass(frozen=True)
class StreamRule:
    """Eligibility and ranking for one stream (see ``shortlists.yaml`` for each field)."""

    code: str
    label: str
    lookback_months: int
    min_offences: int
    rfg_column: str
    neighbourhood_crime: bool | None = None
    domestic_abuse: bool | None = None
    min_gravity: int | None = None
    offence_groups: tuple[str, ...] = ()
    offence_types: tuple[str, ...] = ()
    ogrs_threshold: float | None = None
    serial_victims: int | None = None

    def describe(self) -> str:
        """The qualifying offence in words (for reasons and the export's criteria)."""
        parts = []
        if self.neighbourhood_crime:
            parts.append("neighbourhood-crime")
        if self.domestic_abuse:
            parts.append("domestic-abuse")
        if self.min_gravity is not None:
            parts.append(f"gravity {self.min_gravity}+")
        kinds = [*self.offence_groups, *self.offence_types]
        if kinds:
            parts.append("(" + " or ".join(kinds) + ")")
        return " ".join(parts) or "any"

    def criteria(self) -> dict[str, Any]:
        """The rule as plain data, for responses and export headers."""
        return {"stream": self.code, "qualifying_offence": self.describe(),
                "min_offences": self.min_offences, "lookback_months": self.lookback_months,
                "rfg_column": self.rfg_column, "ogrs_threshold": self.ogrs_threshold,
                "serial_victims": self.serial_victims}


@dataclass(frozen=True)
class ShortlistConfig:
    """A loaded ``shortlists.yaml``."""

    version: str
    streams: dict[str, StreamRule]
    recent_months: int = 12
    explain_top: int = 3
    no_offences_months: int = 12
    custody_min_months: int = 6
    long_sentence_months: int = 24
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def rule(self, stream: str) -> StreamRule:
        """The rule for a stream; ShortlistError if the configuration has none."""
        try:
            return self.streams[stream]
        except KeyError:
            raise ShortlistError(f"no shortlist rule for stream {stream!r}; known: "
                                 f"{sorted(self.streams)}") from None


def _positive_int(raw: dict[str, Any], key: str, default: int, where: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ShortlistError(f"{where}: {key} must be a whole number >= 0")
    return value


def load_shortlist_config(path: str | Path = DEFAULT_PATH) -> ShortlistConfig:
    """Load and check a shortlist configuration file.

    Raises
    ------
    ShortlistError
        If the version is missing, no stream is configured, or a rule is malformed.

    Examples
    --------
    >>> cfg = load_shortlist_config()
    >>> cfg.rule("nsac").rfg_column, cfg.rule("nsac").ogrs_threshold
    ('rfg_acquisitive', 75)
    """
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, dict) or not raw.get("version"):
        raise ShortlistError("shortlist configuration needs a version")
    streams: dict[str, StreamRule] = {}
    for code, entry in (raw.get("streams") or {}).items():
        if not isinstance(entry, dict):
            raise ShortlistError(f"stream {code}: must be a mapping")
        q = entry.get("qualifying") or {}
        column = entry.get("rfg_column")
        if column not in ("rfg", "rfg_acquisitive", "rfg_domestic_abuse"):
            raise ShortlistError(f"stream {code}: rfg_column must be rfg, rfg_acquisitive or "
                                 "rfg_domestic_abuse")
        streams[code] = StreamRule(
            code=code, label=str(entry.get("label", code)),
            lookback_months=_positive_int(entry, "lookback_months", 24, f"stream {code}"),
            min_offences=_positive_int(entry, "min_offences", 1, f"stream {code}"),
            rfg_column=column,
            neighbourhood_crime=q.get("neighbourhood_crime"),
            domestic_abuse=q.get("domestic_abuse"), min_gravity=q.get("min_gravity"),
            offence_groups=tuple(q.get("offence_groups") or ()),
            offence_types=tuple(q.get("offence_types") or ()),
            ogrs_threshold=entry.get("ogrs_threshold"),
            serial_victims=entry.get("serial_victims"))
    if not streams:
        raise ShortlistError("shortlist configuration lists no streams")
    exits = raw.get("exits") or {}
    return ShortlistConfig(
        version=str(raw["version"]), streams=streams,
        recent_months=_positive_int(raw, "recent_months", 12, "shortlists"),
        explain_top=_positive_int(raw, "explain_top", 3, "shortlists"),
        no_offences_months=_positive_int(exits, "no_offences_months", 12, "exits"),
        custody_min_months=_positive_int(exits, "custody_min_months", 6, "exits"),
        long_sentence_months=_positive_int(exits, "long_sentence_months", 24, "exits"))

