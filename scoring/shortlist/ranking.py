"""The migration-meeting shortlist of a stream in an area: the pool, who is excluded and
why, and the candidates ranked on risk or the stream's RFG score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.dates import ages_on, as_day, calendar_days, months_before
from scoring.shortlist.eligibility import open_referrals, qualifying_mask, serial_victims
from scoring.shortlist.lookups import Latest, latest_per_person, per_person
from scoring.shortlist.reasons import Exclusions, candidate_reasons, exclusion_reasons
from scoring.shortlist.rules import ShortlistConfig, ShortlistError, StreamRule
from scoring.validation import check_frame

RANK_BY = ("risk", "rfg")
CANDIDATE_COLUMNS = ("rank", "person_id", "age", "rfg", "threat", "harm", "risk",
                     "escalating", "last_offence_on", "offences_12m", "referred_by",
                     "referral_id", "ogrs_score", "reasons", "flags")
EXCLUDED_COLUMNS = ("person_id", "referred_by", "reason_codes", "reasons")
OFFENCE_COLUMNS = ("person_id", "offence_date", "offence_type")
SCORE_COLUMNS = ("person_id", "threat", "harm", "risk", "escalating")


@dataclass(frozen=True)
class Shortlist:
    """A shortlist: ranked candidates, excluded people with reasons, and the criteria."""

    candidates: pd.DataFrame
    excluded: pd.DataFrame
    criteria: dict[str, Any]


@dataclass(frozen=True)
class _Offending:
    """The offence columns as plain numpy arrays: pandas scalar access and iteration over its
    string columns cost microseconds per value, tens of milliseconds over an area's pool."""

    ids: np.ndarray
    days: np.ndarray
    known_by: np.ndarray  # offences known to have happened by as_of
    qualifying: np.ndarray  # qualifying offences of the stream inside its look-back window
    latest_qualifying: Latest


def _offending(offences: pd.DataFrame, rule: StreamRule, catalogue_table: pd.DataFrame,
               day: np.datetime64) -> _Offending:
    ids = offences["person_id"].to_numpy(dtype=np.int64)
    days = calendar_days(offences["offence_date"]) if len(offences) else np.array(
        [], dtype="datetime64[D]")
    known_by = days <= day
    window_start = months_before(day, rule.lookback_months)
    qual = qualifying_mask(offences, rule, catalogue_table) & known_by & (days > window_start)
    latest = latest_per_person(ids[qual], days[qual],
                               offences["offence_type"].to_numpy(dtype=object)[qual])
    return _Offending(ids=ids, days=days, known_by=known_by, qualifying=qual,
                      latest_qualifying=latest)


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
    >>> from scoring.shortlist import load_shortlist_config
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
    check_frame(scores, (*SCORE_COLUMNS, rule.rfg_column), "scores")
    check_frame(offences, OFFENCE_COLUMNS, "offences")
    check_frame(persons, ("person_id", "date_of_birth"), "persons")
    day = as_day(as_of)
    offending = _offending(offences, rule, catalogue_table, day)
    q = offending.latest_qualifying

    # Open referrals are a handful of rows: plain dicts by person.
    ref_rows = {int(r["person_id"]): r for r in open_referrals(referrals, day).to_dict("records")}
    ref_ids = np.array(sorted(ref_rows), dtype=np.int64)
    person_ids = persons["person_id"].to_numpy(dtype=np.int64)
    meets = per_person(q.ids, q.count, person_ids, 0) >= max(rule.min_offences, 1)
    in_pool = meets | np.isin(person_ids, ref_ids)
    pool_ids, pool_meets = person_ids[in_pool], meets[in_pool]

    reasons = exclusion_reasons(pool_ids, in_pool, persons, custody, memberships, day=day,
                                stream=stream, area=area,
                                include_other_areas=include_other_areas, rule=rule,
                                referred=ref_ids)
    excluded = _excluded(reasons, ref_rows)
    keep = ~np.isin(pool_ids, excluded["person_id"].to_numpy(dtype=np.int64))
    ids, eligible_meets = pool_ids[keep], pool_meets[keep]
    at = pd.Index(scores["person_id"].to_numpy(dtype=np.int64)).get_indexer(ids)
    if (at < 0).any():
        raise ShortlistError("every considered person needs a row in scores")
    s = scores.iloc[at]
    key = (s["risk"] if rank_by == "risk" else s[rule.rfg_column]).to_numpy(dtype=float)
    listed = _ranked(ids, key, np.isin(ids, ref_ids), limit)

    dob = calendar_days(persons["date_of_birth"])[in_pool][keep][listed]
    candidates = _candidates(ids[listed], s.iloc[listed], eligible_meets[listed], dob,
                             offending, offences, ref_rows, rule=rule, config=config, day=day,
                             stream=stream)
    return Shortlist(candidates=candidates, excluded=excluded,
                     criteria=_criteria(rule, config, rank_by=rank_by, limit=limit,
                                        include_other_areas=include_other_areas))


def _excluded(reasons: Exclusions, ref_rows: dict[int, Any]) -> pd.DataFrame:
    """The excluded people by person_id, every reason (codes, and words with their open
    referral if any)."""
    excluded_ids = np.array(sorted(reasons), dtype=np.int64)
    referred_by = [ref_rows[p]["referring_agency"] if p in ref_rows else None
                   for p in excluded_ids.tolist()]
    return pd.DataFrame({
        "person_id": excluded_ids,
        "referred_by": referred_by,
        "reason_codes": [[code for code, _ in reasons[p]] for p in excluded_ids.tolist()],
        "reasons": [[*(text for _, text in reasons[p]),
                     *([f"open referral by {ref}"] if ref is not None else [])]
                    for p, ref in zip(excluded_ids.tolist(), referred_by, strict=True)],
    }, columns=list(EXCLUDED_COLUMNS))


def _ranked(ids: np.ndarray, key: np.ndarray, is_ref: np.ndarray,
            limit: int | None) -> np.ndarray:
    """Positions to list, best first: the top ``limit`` by score, plus every referred person
    (outside the limit); ties go to the lower person_id."""
    order = np.lexsort((ids, -key))  # highest first, then lowest person_id
    by_score = order[~is_ref[order]]
    chosen = by_score if limit is None else by_score[:limit]
    listed = np.sort(np.concatenate([chosen, np.flatnonzero(is_ref)]))
    return listed[np.lexsort((ids[listed], -key[listed]))]


def _candidates(lid: np.ndarray, ls: pd.DataFrame, meets_rule: np.ndarray, dob: np.ndarray,
                offending: _Offending, offences: pd.DataFrame, ref_rows: dict[int, Any], *,
                rule: StreamRule, config: ShortlistConfig, day: np.datetime64,
                stream: str) -> pd.DataFrame:
    """The listed people's row each: scores, recent offending, referral, reasons and flags."""
    off_ids, off_days = offending.ids, offending.days
    mine = np.isin(off_ids, lid) & offending.known_by
    recent_start = months_before(day, config.recent_months)
    latest = latest_per_person(off_ids[mine], off_days[mine], off_days[mine])
    recent_ids, recent_n = np.unique(off_ids[mine & (off_days > recent_start)],
                                     return_counts=True)
    flags_out, reasons_out = candidate_reasons(
        lid, meets_rule, ls["escalating"].to_numpy(dtype=bool), offending.latest_qualifying,
        serial_victims(offences, offending.qualifying, rule), ref_rows, rule=rule, day=day,
        stream=stream)
    refs = [ref_rows.get(p, {}) for p in lid.tolist()]
    last_seen = per_person(latest.ids, latest.last_day, lid, np.datetime64("NaT", "D"))
    ages = ages_on(dob, day) if len(lid) else np.array([], dtype=np.int64)
    for i in np.flatnonzero(ages < rule.min_age).tolist():
        # Only a referred youth justice transition case gets here (the rest are excluded).
        flags_out[i].append("under_min_age_referred")
        reasons_out[i].append(f"aged {ages[i]}, under {rule.min_age}: listed as a referred "
                              "youth justice transition case")
    return pd.DataFrame({
        "rank": np.arange(1, len(lid) + 1, dtype=np.int64),
        "person_id": lid,
        "age": ages,
        "rfg": ls[rule.rfg_column].to_numpy(dtype=float).round(1),
        "threat": ls["threat"].to_numpy(dtype=float).round(3),
        "harm": ls["harm"].to_numpy(dtype=float).round(2),
        "risk": ls["risk"].to_numpy(dtype=float).round(3),
        "escalating": ls["escalating"].to_numpy(dtype=bool),
        "last_offence_on": [None if np.isnat(v) else str(v) for v in last_seen],
        "offences_12m": per_person(recent_ids, recent_n, lid, 0).astype(np.int64),
        "referred_by": pd.Series([r.get("referring_agency") for r in refs], dtype=object),
        "referral_id": pd.Series([None if r.get("referral_id") is None else
                                  int(r["referral_id"]) for r in refs], dtype=object),
        "ogrs_score": pd.Series([None if pd.isna(r.get("ogrs_score", np.nan)) else
                                 float(r["ogrs_score"]) for r in refs], dtype=object),
        "reasons": reasons_out,
        "flags": flags_out,
    }, columns=list(CANDIDATE_COLUMNS))


def _criteria(rule: StreamRule, config: ShortlistConfig, *, rank_by: str, limit: int | None,
              include_other_areas: bool) -> dict[str, Any]:
    return {**rule.criteria(), "rank_by": rank_by,
            "rank_column": "risk" if rank_by == "risk" else rule.rfg_column,
            "limit": limit, "include_other_areas": include_other_areas,
            "recent_months": config.recent_months,
            "excluded_when": ["active member of the stream", "in custody on as_of",
                              "deceased", "home area elsewhere",
                              f"under {rule.min_age} (unless referred"
                              + (f" at {rule.referred_min_age} or over)"
                                 if rule.referred_min_age is not None else ": no exception)")],
            "referrals": "open referrals are always listed, outside the limit"}
