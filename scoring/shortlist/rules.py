"""The shortlist rules (``scoring/data/shortlists.yaml``): per stream, what a qualifying
offence is and how candidates rank; for the exits half, when a member is put up for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.paths import SHORTLIST_RULES
from scoring.rules import RulesReader, load_rules

DEFAULT_PATH = SHORTLIST_RULES


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
    # IOM is adult offender management: under min_age on as_of is excluded, except a
    # referral of someone at least referred_min_age (a youth justice transition case).
    min_age: int = 18
    referred_min_age: int | None = None

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
                "serial_victims": self.serial_victims, "min_age": self.min_age,
                "referred_min_age": self.referred_min_age}


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

    def rule(self, stream: str) -> StreamRule:
        """The rule for a stream; ShortlistError if the configuration has none."""
        try:
            return self.streams[stream]
        except KeyError:
            raise ShortlistError(f"no shortlist rule for stream {stream!r}; known: "
                                 f"{sorted(self.streams)}") from None


RFG_COLUMNS = ("rfg", "rfg_acquisitive", "rfg_domestic_abuse")
STREAM_KEYS = ("rfg_column",)
STREAM_OPTIONAL = ("label", "qualifying", "lookback_months", "min_offences", "ogrs_threshold",
                   "serial_victims", "min_age", "referred_min_age")
QUALIFYING_KEYS = ("neighbourhood_crime", "domestic_abuse", "min_gravity", "offence_groups",
                   "offence_types")
EXIT_KEYS = ("no_offences_months", "custody_min_months", "long_sentence_months")


def load_shortlist_config(path: str | Path = DEFAULT_PATH) -> ShortlistConfig:
    """Load and check a shortlist configuration file.

    Raises
    ------
    ShortlistError
        If the version is missing, no stream is configured, a key is unknown or a rule is
        malformed (every problem is listed, with the file).

    Examples
    --------
    >>> cfg = load_shortlist_config()
    >>> cfg.rule("nsac").rfg_column, cfg.rule("nsac").ogrs_threshold
    ('rfg_acquisitive', 75)
    """
    return load_rules(path, shortlist_config_from_mapping, error=ShortlistError)


def _stream_rule(r: RulesReader, code: str, raw: object) -> StreamRule:
    where = f"streams.{code}"
    entry = r.section(raw, where, STREAM_KEYS, optional=STREAM_OPTIONAL)
    q = r.section(entry.get("qualifying") or {}, f"{where}.qualifying", (),
                  optional=QUALIFYING_KEYS)
    qpath = f"{where}.qualifying"
    return StreamRule(
        code=code, label=str(entry.get("label", code)),
        lookback_months=r.whole_number(entry, "lookback_months", where, default=24),
        min_offences=r.whole_number(entry, "min_offences", where, default=1),
        rfg_column=r.choice(entry, "rfg_column", where, RFG_COLUMNS),
        neighbourhood_crime=r.optional_flag(q, "neighbourhood_crime", qpath),
        domestic_abuse=r.optional_flag(q, "domestic_abuse", qpath),
        min_gravity=r.optional_number(q, "min_gravity", qpath, integer=True),
        offence_groups=r.names(q, "offence_groups", qpath),
        offence_types=r.names(q, "offence_types", qpath),
        ogrs_threshold=r.optional_number(entry, "ogrs_threshold", where),
        serial_victims=r.optional_number(entry, "serial_victims", where, integer=True),
        min_age=r.whole_number(entry, "min_age", where, default=18),
        referred_min_age=r.optional_number(entry, "referred_min_age", where, integer=True))


def _check_ages(r: RulesReader, rule: StreamRule) -> None:
    if rule.referred_min_age is not None and not 0 <= rule.referred_min_age <= rule.min_age:
        r.errors.append(f"streams.{rule.code}.referred_min_age: must be from 0 to min_age "
                        f"({rule.min_age}), got {rule.referred_min_age}")


def shortlist_config_from_mapping(raw: object, *, source: str = "") -> ShortlistConfig:
    """Validate a parsed shortlist configuration (see `load_shortlist_config`)."""
    r = RulesReader(source)
    top = r.section(raw, "", ("version", "streams"),
                    optional=("recent_months", "explain_top", "exits"))
    version = r.version(top)
    raw_streams = top.get("streams") or {}
    if "streams" in top and not (isinstance(raw_streams, dict) and raw_streams):
        r.errors.append("streams: must list at least one stream")
        raw_streams = {}
    streams = {str(code): _stream_rule(r, str(code), entry)
               for code, entry in raw_streams.items()}
    for rule in streams.values():
        _check_ages(r, rule)
    exits = r.section(top.get("exits") or {}, "exits", (), optional=EXIT_KEYS)
    config = ShortlistConfig(
        version=version, streams=streams,
        recent_months=r.whole_number(top, "recent_months", "", default=12),
        explain_top=r.whole_number(top, "explain_top", "", default=3),
        no_offences_months=r.whole_number(exits, "no_offences_months", "exits", default=12),
        custody_min_months=r.whole_number(exits, "custody_min_months", "exits", default=6),
        long_sentence_months=r.whole_number(exits, "long_sentence_months", "exits",
                                            default=24))
    r.check(ShortlistError, "shortlist configuration")
    return config
