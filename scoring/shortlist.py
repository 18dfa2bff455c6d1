"""Migration-meeting shortlists: who is eligible for a cohort stream, who is excluded and
why, how candidates are ranked, and which members are put up for an exit review.

Pure functions over DataFrames (numpy and pandas only). The rules are a versioned YAML
file (``scoring/data/shortlists.yaml``); nothing here decides anything, it lists people
for a multi-agency meeting that does.

Every function takes ``as_of`` and looks only at rows dated on or before it (offences,
custody, memberships, referrals), so the same inputs and ``as_of`` give the same list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from scoring.idiom import add_months

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "shortlists.yaml"
RANK_BY = ("risk", "rfg")
CANDIDATE_COLUMNS = ("rank", "person_id", "age", "rfg", "threat", "harm", "risk",
                     "escalating", "last_offence_on", "offences_12m", "referred_by",
                     "referral_id", "ogrs_score", "reasons", "flags")
EXCLUDED_COLUMNS = ("person_id", "referred_by", "reasons")
EXIT_COLUMNS = ("row", "person_id", "membership_id", "cohort", "adopted_on",
                "last_offence_on", "offences_12m", "rfg", "risk", "reasons", "flags")


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


# --- helpers -------------------------------------------------------------------------------

def _day(value: dt.date | str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).date(), "D")


def _months_before(as_of: np.datetime64, months: int) -> np.datetime64:
    return add_months(np.array([as_of], dtype="datetime64[D]"), -months)[0]


def _days(values: pd.Series) -> np.ndarray:
    if np.issubdtype(values.dtype, np.datetime64):
        return values.to_numpy().astype("datetime64[D]")
    return pd.to_datetime(values).to_numpy(dtype="datetime64[D]")


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(np.datetime64(value, "D"))


def _ages(dob: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Whole years of age on as_of (calendar birthdays)."""
    born = pd.DatetimeIndex(dob)
    at = pd.Timestamp(as_of)
    before_birthday = (born.month > at.month) | ((born.month == at.month) & (born.day > at.day))
    return np.asarray(at.year - born.year - before_birthday.astype(int), dtype=np.int64)


def _type_mask(rule: StreamRule, catalogue_table: pd.DataFrame) -> np.ndarray:
    """Which catalogue rows (offence types) a stream's rule accepts, before the offence's
    own domestic-abuse flag is looked at (shape (len(catalogue_table),), bool)."""
    t = catalogue_table
    mask = np.ones(len(t), dtype=bool)
    if rule.neighbourhood_crime:
        mask &= t["neighbourhood_crime"].fillna(False).to_numpy(dtype=bool)
    if rule.min_gravity is not None:
        mask &= t["gravity"].fillna(0).to_numpy() >= rule.min_gravity
    if rule.offence_groups or rule.offence_types:
        mask &= (t["offence_group"].isin(rule.offence_groups).to_numpy()
                 | t.index.isin(rule.offence_types))
    return mask


def qualifying_mask(offences: pd.DataFrame, rule: StreamRule,
                    catalogue_table: pd.DataFrame) -> np.ndarray:
    """Which offence rows are qualifying offences of a stream (shape (n,), bool).

    All stated conditions must hold; ``offence_groups`` and ``offence_types`` combine as
    "either". Offence types missing from the catalogue never qualify.
    """
    # The rule is decided once per distinct offence type: per-row catalogue joins over
    # string columns cost milliseconds on a shortlist's pool.
    codes, kinds = pd.factorize(offences["offence_type"].to_numpy(dtype=object))
    accepted = dict(zip(catalogue_table.index, _type_mask(rule, catalogue_table), strict=True))
    by_kind = np.array([accepted.get(k, False) for k in kinds] + [False], dtype=bool)
    mask = by_kind[codes]  # code -1 (a missing type) takes the trailing False
    if rule.domestic_abuse:
        mask &= offences["domestic_abuse"].fillna(False).to_numpy(dtype=bool)
    return mask


def qualifying_types(rule: StreamRule, catalogue_table: pd.DataFrame) -> list[str]:
    """The catalogue offence types that can be qualifying offences of a stream (sorted).

    ``qualifying_mask`` restricted to what the offence type decides: an offence qualifies
    only if its type is listed here (and, for a ``domestic_abuse`` rule, it is flagged
    domestic abuse). Lets a database pre-select the look-back window's candidate rows.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> types = qualifying_types(load_shortlist_config().rule("nsac"), load_catalogue().table)
    >>> "burglary_residential" in types, "shoplifting" in types
    (True, False)
    """
    index = catalogue_table.index
    return sorted(str(t) for t in index[_type_mask(rule, catalogue_table)])


def lookback_start(as_of: dt.date | str, months: int) -> dt.date:
    """The (exclusive) first day of a look-back window: offences dated after it and on or
    before ``as_of`` are "in the ``months`` months to as_of"."""
    return pd.Timestamp(_months_before(_day(as_of), months)).date()


def _open_referrals(referrals: pd.DataFrame | None, as_of: np.datetime64) -> pd.DataFrame:
    cols = ["person_id", "referral_id", "referring_agency", "reason", "referred_on",
            "ogrs_score"]
    if referrals is None or referrals.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    r = referrals
    referred = _days(r["referred_on"])
    closed = _days(r["closed_on"]) if "closed_on" in r else np.full(len(r), np.datetime64("NaT"))
    keep = (referred <= as_of) & (np.isnat(closed) | (closed > as_of))
    out = r.loc[keep].copy()
    if "ogrs_score" not in out:
        out["ogrs_score"] = np.nan
    # One row per person: the earliest open referral speaks for them.
    out = out.sort_values(["person_id", "referred_on", "referral_id"], kind="stable")
    return out.drop_duplicates("person_id")[cols]


def _active_on(frame: pd.DataFrame, start: str, end: str, as_of: np.datetime64) -> np.ndarray:
    """Rows whose half-open [start, end) contains as_of (end NaT: still running)."""
    s, e = _days(frame[start]), _days(frame[end])
    return np.asarray((s <= as_of) & (np.isnat(e) | (e > as_of)), dtype=bool)


def shortlist_pool(offences: pd.DataFrame, referrals: pd.DataFrame | None = None, *,
                   as_of: dt.date | str, stream: str, config: ShortlistConfig,
                   catalogue_table: pd.DataFrame) -> np.ndarray:
    """The people a shortlist has to consider (sorted person ids, shape (k,)).

    Those with enough qualifying offences in the look-back window, and those with a
    referral open on ``as_of``. Scoring only these people before calling
    ``migration_shortlist`` gives the same list as scoring everyone (scores are per person).
    """
    rule = config.rule(stream)
    day = _day(as_of)
    if len(offences):
        days = _days(offences["offence_date"])
        inside = (days <= day) & (days > _months_before(day, rule.lookback_months))
        qual = qualifying_mask(offences, rule, catalogue_table) & inside
        counts = offences.loc[qual, "person_id"].value_counts()
        meets = counts.index[counts.to_numpy() >= max(rule.min_offences, 1)].to_numpy()
    else:
        meets = np.array([], dtype=np.int64)
    refs = _open_referrals(referrals, day)["person_id"].to_numpy()
    return np.union1d(meets.astype(np.int64), refs.astype(np.int64))


@dataclass(frozen=True)
class Shortlist:
    """A shortlist: ranked candidates, excluded people with reasons, and the criteria."""

    candidates: pd.DataFrame
    excluded: pd.DataFrame
    criteria: dict[str, Any]


def migration_shortlist(
    scores: pd.DataFrame, offences: pd.DataFrame, persons: pd.DataFrame,
    custody: pd.DataFrame, memberships: pd.DataFrame, referrals: pd.DataFrame | None = None,
    *, as_of: dt.date | str, area: str, stream: str, config: ShortlistConfig,
    catalogue_table: pd.DataFrame, rank_by: str = "risk", limit: int | None = 25,
    include_other_areas: bool = False,
) -> Shortlist:
    """The ranked candidates for a stream in an area as of a date, and who is excluded.

    Parameters
    ----------
    scores : DataFrame
        One row per person (``scoring.score_people`` output): person_id, rfg,
        rfg_acquisitive, rfg_domestic_abuse, threat, harm, risk, escalating. Every person in
        ``persons`` must have a row.
    offences : DataFrame
        person_id, offence_date, offence_type, domestic_abuse, victim_ref (rows after
        ``as_of`` are ignored).
    persons : DataFrame
        person_id, date_of_birth, deceased_on, home_area: the people to consider.
    custody : DataFrame
        person_id, start_on, end_on (NaT while in custody).
    memberships : DataFrame
        person_id, stream, adopted_on, exited_on.
    referrals : DataFrame, optional
        This stream's referrals: person_id, referral_id, referring_agency, reason,
        referred_on, closed_on (NaT while open), ogrs_score (NaN if not supplied). A
        referral open on ``as_of`` puts the person on the list whatever their score.
    as_of, area, stream, config, catalogue_table
        The date, the meeting's area, the stream, the rules and the offence catalogue table
        (index offence_type; columns gravity, neighbourhood_crime, offence_group).
    rank_by : {"risk", "rfg"}
        Rank on THR risk or on the stream's RFG column; ties go to the lower person_id.
    limit : int or None
        How many score-ranked candidates to list (None: all). Referred people are always
        listed and do not count against the limit.
    include_other_areas : bool
        Keep people whose home area is not ``area`` (otherwise they are excluded).

    Returns
    -------
    Shortlist
        ``candidates`` (columns ``CANDIDATE_COLUMNS``, rank 1 first), ``excluded``
        (``EXCLUDED_COLUMNS``: people who qualify or are referred but are excluded, with
        every reason, by person_id) and ``criteria``. No eligible people: empty frames.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> persons = pd.DataFrame({"person_id": [1, 2], "home_area": ["X", "X"],
    ...     "date_of_birth": pd.to_datetime(["1990-01-01", "1991-01-01"]),
    ...     "deceased_on": pd.to_datetime([None, None])})
    >>> offences = pd.DataFrame({"person_id": [1, 2],
    ...     "offence_date": pd.to_datetime(["2024-05-01", "2024-06-01"]),
    ...     "offence_type": ["burglary_residential", "shoplifting"],
    ...     "domestic_abuse": [False, False], "victim_ref": [None, None]})
    >>> scores = pd.DataFrame({"person_id": [1, 2], "rfg": [40.0, 10.0],
    ...     "rfg_acquisitive": [40.0, 0.0], "rfg_domestic_abuse": [0.0, 0.0],
    ...     "threat": [0.5, 0.2], "harm": [3.0, 1.0], "risk": [1.5, 0.2],
    ...     "escalating": [False, False]})
    >>> empty = pd.DataFrame({"person_id": [], "start_on": [], "end_on": [], "stream": [],
    ...     "adopted_on": [], "exited_on": []})
    >>> out = migration_shortlist(scores, offences, persons, empty, empty, as_of="2024-06-30",
    ...     area="X", stream="nsac", config=load_shortlist_config(),
    ...     catalogue_table=load_catalogue().table)
    >>> out.candidates[["rank", "person_id"]].to_numpy().tolist()
    [[1, 1]]
    """
    rule = config.rule(stream)
    if rank_by not in RANK_BY:
        raise ShortlistError(f"rank_by must be one of {RANK_BY}, not {rank_by!r}")
    if limit is not None and limit < 0:
        raise ShortlistError("limit must be >= 0")
    day = _day(as_of)
    as_of_text = str(day)

    # Plain numpy columns throughout: pandas scalar access and iteration over its string
    # columns cost microseconds per value, tens of milliseconds over an area's pool.
    off_ids = offences["person_id"].to_numpy(dtype=np.int64)
    off_days = _days(offences["offence_date"]) if len(offences) else np.array(
        [], dtype="datetime64[D]")
    known_by = off_days <= day  # offences known to have happened by as_of
    window_start = _months_before(day, rule.lookback_months)
    qual = qualifying_mask(offences, rule, catalogue_table) & known_by & (off_days > window_start)
    q = _latest_per_person(off_ids[qual], off_days[qual],
                           offences["offence_type"].to_numpy(dtype=object)[qual])

    # Open referrals are a handful of rows: plain dicts by person.
    ref_rows = {int(r["person_id"]): r for r in _open_referrals(referrals, day).to_dict("records")}
    ref_ids = np.array(sorted(ref_rows), dtype=np.int64)
    person_ids = persons["person_id"].to_numpy(dtype=np.int64)
    meets = _per_person(q.ids, q.count, person_ids, 0) >= max(rule.min_offences, 1)
    in_pool = meets | np.isin(person_ids, ref_ids)
    pool_ids, pool_meets = person_ids[in_pool], meets[in_pool]

    # Exclusions, each with its reason, on the pool only.
    reasons: dict[int, list[str]] = {}
    if len(memberships):
        m = memberships.loc[(memberships["stream"] == stream).to_numpy()
                            & memberships["person_id"].isin(pool_ids).to_numpy()]
        m = m.loc[_active_on(m, "adopted_on", "exited_on", day)]
        for pid, adopted in zip(m["person_id"].tolist(), _days(m["adopted_on"]), strict=True):
            reasons.setdefault(pid, []).append(
                f"already an active member of {stream} (adopted {adopted})")
    if len(custody):
        c = custody.loc[custody["person_id"].isin(pool_ids).to_numpy()]
        c = c.loc[_active_on(c, "start_on", "end_on", day)]
        for pid, start in zip(c["person_id"].tolist(), _days(c["start_on"]), strict=True):
            reasons.setdefault(pid, []).append(f"in custody on {as_of_text} (since {start})")
    if "deceased_on" in persons:
        died = _days(persons["deceased_on"])[in_pool]
        dead = ~np.isnat(died) & (died <= day)
        for pid, d in zip(pool_ids[dead].tolist(), died[dead], strict=True):
            reasons.setdefault(pid, []).append(f"deceased ({d})")
    if not include_other_areas:
        home = persons["home_area"].to_numpy(dtype=object)[in_pool]
        away = home != area
        for pid, elsewhere in zip(pool_ids[away].tolist(), home[away], strict=True):
            reasons.setdefault(pid, []).append(f"home area is {elsewhere}, not {area}")

    excluded_ids = np.array(sorted(reasons), dtype=np.int64)
    referred_by = [ref_rows[p]["referring_agency"] if p in ref_rows else None
                   for p in excluded_ids.tolist()]
    excluded = pd.DataFrame({
        "person_id": excluded_ids,
        "referred_by": referred_by,
        "reasons": [[*reasons[p], *([f"open referral by {ref}"] if ref is not None else [])]
                    for p, ref in zip(excluded_ids.tolist(), referred_by, strict=True)],
    }, columns=list(EXCLUDED_COLUMNS))

    keep = ~np.isin(pool_ids, excluded_ids)
    ids, eligible_meets = pool_ids[keep], pool_meets[keep]
    at = pd.Index(scores["person_id"].to_numpy(dtype=np.int64)).get_indexer(ids)
    if (at < 0).any():
        raise ShortlistError("every considered person needs a row in scores")
    s = scores.iloc[at]
    key = (s["risk"] if rank_by == "risk" else s[rule.rfg_column]).to_numpy(dtype=float)
    is_ref = np.isin(ids, ref_ids)
    order = np.lexsort((ids, -key))  # highest first, then lowest person_id
    by_score = order[~is_ref[order]]
    chosen = by_score if limit is None else by_score[:limit]
    listed = np.sort(np.concatenate([chosen, np.flatnonzero(is_ref)]))
    listed = listed[np.lexsort((ids[listed], -key[listed]))]

    lid = ids[listed]
    ls = s.iloc[listed]
    mine = np.isin(off_ids, lid) & known_by
    recent_start = _months_before(day, config.recent_months)
    latest = _latest_per_person(off_ids[mine], off_days[mine], off_days[mine])
    recent_ids, recent_n = np.unique(off_ids[mine & (off_days > recent_start)],
                                     return_counts=True)
    dob = _days(persons["date_of_birth"])[in_pool][keep][listed]
    serial = _serial_victims(offences, qual, rule)
    q_n = dict(zip(q.ids.tolist(), q.count.tolist(), strict=True))
    q_last = dict(zip(q.ids.tolist(), q.last_day, strict=True))
    q_type = dict(zip(q.ids.tolist(), q.last_value, strict=True))
    flags_out, reasons_out = [], []
    for pid, meets_rule, esc in zip(lid.tolist(), eligible_meets[listed].tolist(),
                                    ls["escalating"].to_numpy(dtype=bool).tolist(), strict=True):
        why: list[str] = []
        flags: list[str] = []
        if meets_rule:
            n = q_n[pid]
            why.append(f"{n} {rule.describe()} offence{'s' if n != 1 else ''} in the "
                       f"{rule.lookback_months} months to {as_of_text}, latest "
                       f"{q_type[pid]} on {q_last[pid]}")
        else:
            why.append(f"does not meet the {stream} criteria; listed on referral")
            flags.append("below_criteria")
        if pid in ref_rows:
            ref = ref_rows[pid]
            flags.append("referred")
            why.append(f"referred by {ref['referring_agency']} on {_iso(ref['referred_on'])}: "
                       f"{ref['reason']}")
            ogrs = ref["ogrs_score"]
            if rule.ogrs_threshold is not None and ogrs is not None and not pd.isna(ogrs):
                above = float(ogrs) >= rule.ogrs_threshold
                if above:
                    flags.append("ogrs_high")
                why.append(f"OGRS {float(ogrs):g} supplied by probation "
                           f"({'at or above' if above else 'below'} the threshold "
                           f"{rule.ogrs_threshold:g})")
        if esc:
            flags.append("escalating")
        victims = serial.get(pid, 0)
        if rule.serial_victims and victims >= rule.serial_victims:
            flags.append("serial_perpetrator")
            why.append(f"{victims} victims of domestic abuse in the window")
        flags_out.append(flags)
        reasons_out.append(why)

    refs = [ref_rows.get(p, {}) for p in lid.tolist()]
    last_seen = _per_person(latest.ids, latest.last_day, lid, np.datetime64("NaT", "D"))
    candidates = pd.DataFrame({
        "rank": np.arange(1, len(lid) + 1, dtype=np.int64),
        "person_id": lid,
        "age": _ages(dob, day) if len(lid) else np.array([], dtype=np.int64),
        "rfg": ls[rule.rfg_column].to_numpy(dtype=float).round(1),
        "threat": ls["threat"].to_numpy(dtype=float).round(3),
        "harm": ls["harm"].to_numpy(dtype=float).round(2),
        "risk": ls["risk"].to_numpy(dtype=float).round(3),
        "escalating": ls["escalating"].to_numpy(dtype=bool),
        "last_offence_on": [None if np.isnat(v) else str(v) for v in last_seen],
        "offences_12m": _per_person(recent_ids, recent_n, lid, 0).astype(np.int64),
        "referred_by": pd.Series([r.get("referring_agency") for r in refs], dtype=object),
        "referral_id": pd.Series([None if r.get("referral_id") is None else
                                  int(r["referral_id"]) for r in refs], dtype=object),
        "ogrs_score": pd.Series([None if pd.isna(r.get("ogrs_score", np.nan)) else
                                 float(r["ogrs_score"]) for r in refs], dtype=object),
        "reasons": reasons_out,
        "flags": flags_out,
    }, columns=list(CANDIDATE_COLUMNS))
    criteria = {**rule.criteria(), "rank_by": rank_by,
                "rank_column": "risk" if rank_by == "risk" else rule.rfg_column,
                "limit": limit, "include_other_areas": include_other_areas,
                "recent_months": config.recent_months,
                "excluded_when": ["active member of the stream", "in custody on as_of",
                                  "deceased", "home area elsewhere"],
                "referrals": "open referrals are always listed, outside the limit"}
    return Shortlist(candidates=candidates, excluded=excluded, criteria=criteria)


@dataclass(frozen=True)
class _Latest:
    """Per person (sorted ids): how many rows, the latest day, and a value on that row."""

    ids: np.ndarray
    count: np.ndarray
    last_day: np.ndarray
    last_value: np.ndarray


def _latest_per_person(ids: np.ndarray, days: np.ndarray, values: np.ndarray) -> _Latest:
    # lexsort is stable: on a tie of days the row that came later wins, as a stable sort
    # followed by groupby().last() would pick.
    order = np.lexsort((days, ids))
    ids, days, values = ids[order], days[order], values[order]
    ends = np.flatnonzero(np.r_[ids[1:] != ids[:-1], True]) if len(ids) else np.array(
        [], dtype=np.int64)
    starts = np.r_[0, ends[:-1] + 1] if len(ends) else ends
    return _Latest(ids=ids[ends], count=ends - starts + 1, last_day=days[ends],
                   last_value=values[ends])


def _per_person(ids: np.ndarray, values: np.ndarray, wanted: np.ndarray,
                fill: Any) -> np.ndarray:
    """``values`` (one per sorted, unique ``ids``) looked up for ``wanted``; ``fill`` where
    absent."""
    at = np.searchsorted(ids, wanted)
    found = at < len(ids)
    found[found] = ids[at[found]] == wanted[found]
    out = np.full(len(wanted), fill, dtype=np.asarray(values).dtype if len(values) else
                  np.asarray([fill]).dtype)
    out[found] = np.asarray(values)[at[found]]
    return out


def _serial_victims(off: pd.DataFrame, qual: np.ndarray, rule: StreamRule) -> dict[int, int]:
    """Distinct victims per person over the qualifying offences (DA serial perpetrators)."""
    if not rule.serial_victims or "victim_ref" not in off:
        return {}
    q = off.loc[qual, ["person_id", "victim_ref"]].dropna()
    return {int(k): int(v) for k, v in q.groupby("person_id")["victim_ref"].nunique().items()}


def exit_review(
    scores: pd.DataFrame, offences: pd.DataFrame, persons: pd.DataFrame,
    custody: pd.DataFrame, memberships: pd.DataFrame, *, as_of: dt.date | str, area: str,
    stream: str, config: ShortlistConfig,
) -> pd.DataFrame:
    """Current members of a stream in an area whose record suggests an exit review.

    A member (membership of ``stream`` in ``area`` active on ``as_of``) is listed if they
    have had no offence in the ``no_offences_months`` to as_of (and were a member for that
    whole time), are in custody on as_of serving a sentence of more than
    ``long_sentence_months`` (``custody`` column ``sentence_months``, optional), are in
    custody on as_of with no sentence recorded and have been for at least
    ``custody_min_months``, or died. Columns ``EXIT_COLUMNS``, ordered by adoption date
    then membership id; members with no reason are left out (empty frame if none).

    Examples
    --------
    >>> members = pd.DataFrame({"membership_id": [7], "person_id": [1], "cohort": ["fixed"],
    ...     "stream": ["nsac"], "area": ["X"], "adopted_on": pd.to_datetime(["2022-01-10"]),
    ...     "exited_on": pd.to_datetime([None])})
    >>> persons = pd.DataFrame({"person_id": [1], "deceased_on": pd.to_datetime([None])})
    >>> offences = pd.DataFrame({"person_id": [1], "offence_type": ["other"],
    ...     "offence_date": pd.to_datetime(["2022-03-01"])})
    >>> scores = pd.DataFrame({"person_id": [1], "rfg": [5.0], "risk": [0.1]})
    >>> custody = pd.DataFrame({"person_id": [], "start_on": [], "end_on": []})
    >>> out = exit_review(scores, offences, persons, custody, members, as_of="2024-06-30",
    ...     area="X", stream="nsac", config=load_shortlist_config())
    >>> out.loc[0, "reasons"]
    ['no offence in the 12 months to 2024-06-30 (last on 2022-03-01)']
    """
    config.rule(stream)
    day = _day(as_of)
    m = memberships.loc[(memberships["stream"] == stream) & (memberships["area"] == area)]
    m = m.loc[_active_on(m, "adopted_on", "exited_on", day)]
    m = m.assign(_adopted=_days(m["adopted_on"])).sort_values(["_adopted", "membership_id"],
                                                              kind="stable")
    off = offences.loc[_days(offences["offence_date"]) <= day] if len(offences) else offences
    off_days = pd.Series(_days(off["offence_date"]), index=off["person_id"].to_numpy())
    last_any = off_days.groupby(level=0).max()
    recent_start = _months_before(day, config.recent_months)
    recent = (off_days > recent_start).astype(np.int64).groupby(level=0).sum()
    quiet_start = _months_before(day, config.no_offences_months)
    custody_start = _months_before(day, config.custody_min_months)
    c = custody.loc[custody["person_id"].isin(m["person_id"])] if len(custody) else custody
    in_custody: dict[int, tuple[np.datetime64, float]] = {}
    if len(c):
        c = c.loc[_active_on(c, "start_on", "end_on", day)]
        sentence = (pd.to_numeric(c["sentence_months"], errors="coerce").to_numpy(dtype=float)
                    if "sentence_months" in c else np.full(len(c), np.nan))
        in_custody = {int(p): (start, months) for p, start, months in zip(
            c["person_id"], _days(c["start_on"]), sentence, strict=True)}
    died = {}
    if "deceased_on" in persons:
        dd = persons.loc[persons["deceased_on"].notna()]
        died = dict(zip(dd["person_id"].astype(int), _days(dd["deceased_on"]), strict=True))
    s = scores.set_index("person_id")
    rows = []
    for mid, pid, cohort, adopted in zip(m["membership_id"], m["person_id"], m["cohort"],
                                         m["_adopted"], strict=True):
        pid = int(pid)
        last = last_any.get(pid)
        why, flags = [], []
        if (last is None or last <= quiet_start) and adopted <= quiet_start:
            seen = f"last on {np.datetime64(last, 'D')}" if last is not None else "none recorded"
            why.append(f"no offence in the {config.no_offences_months} months to {day} ({seen})")
            flags.append("no_recent_offending")
        start, sentence = in_custody.get(pid, (None, np.nan))
        if start is not None and not np.isnan(sentence):
            if sentence > config.long_sentence_months:
                why.append(f"in custody since {start}, serving {sentence:g} months (over "
                           f"{config.long_sentence_months} months is an exit reason)")
                flags.append("long_custody")
        elif start is not None and start <= custody_start:
            months = int((day - start).astype(int) // 30.44)
            why.append(f"in custody since {start} (about {months} months by {day}); no "
                       f"sentence is recorded: over {config.long_sentence_months} months "
                       "is an exit reason")
            flags.append("long_custody")
        d = died.get(pid)
        if d is not None and d <= day:
            why.append(f"deceased ({d})")
            flags.append("deceased")
        if not why:
            continue
        rows.append({"person_id": pid, "membership_id": int(mid), "cohort": str(cohort),
                     "adopted_on": _iso(adopted), "last_offence_on": _iso(last),
                     "offences_12m": int(recent.get(pid, 0)),
                     "rfg": round(float(s["rfg"].get(pid, 0.0)), 1),
                     "risk": round(float(s["risk"].get(pid, 0.0)), 3),
                     "reasons": why, "flags": flags})
    out = pd.DataFrame(rows, columns=[c for c in EXIT_COLUMNS if c != "row"])
    out.insert(0, "row", np.arange(1, len(out) + 1, dtype=np.int64))
    return out
