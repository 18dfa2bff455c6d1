"""Shortlists for migration meetings, computed from the register as it stood on `as_of`.

A narrow read of the look-back window finds the people the stream's rules could list (the
pool); only their registers are read in full (offences dated on or before `as_of`, person
rows, custody) and scored with the loaded scorer (what `score_people` computes, restricted
to the pool, which gives the same numbers because scores are per person); `scoring.shortlist`
does eligibility, exclusions and ranking. Nothing is read from score snapshots, so the same
`as_of` and configuration give the same list whenever it is asked for. Today's lists are
kept by each worker until the register changes (`service/store/shortlist_cache.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, not_, or_, select, true
from sqlmodel import Session

from models import Area, Offence, Person, Referral, Stream
from models.enums import Knowledge
from scoring import score_people
from scoring.explain import explanations_from_parts
from scoring.score import ScoreParts, compute_scores, frame_from_parts
from scoring.shortlist import (
    EXCLUSION_CODES,
    Shortlist,
    ShortlistConfig,
    ShortlistError,
    exit_review,
    lookback_start,
    migration_shortlist,
    qualifying_types,
    shortlist_pool,
)
from scoring.uk_calendar import end_of_uk_day
from service.errors import invalid_field
from service.frames import (
    DATE_COLUMNS,
    Filters,
    custody_frame,
    ids_in,
    memberships_frame,
    offences_frame,
    read_frame,
    table_of,
    with_dtypes,
)
from service.scorer import Scorer
from service.store.areas import areas_then
from service.store.common import require_reference
from service.store.shortlist_cache import todays_or_computed

REFERRALS = table_of(Referral)
PERSONS = table_of(Person)
OFFENCES = table_of(Offence)


def check_area_and_stream(session: Session, *, area: str, stream: str,
                          config: ShortlistConfig) -> None:
    """422 unless the area and stream exist and the stream has shortlist rules."""
    require_reference(session, Area, area, field="area", where="query", type="value_error")
    if session.get(Stream, stream) is None or stream not in config.streams:
        raise invalid_field(["query", "stream"], f"no shortlist rules for stream {stream!r}")


def _referrals(conn: Connection, *, area: str, stream: str,
               recorded_by: datetime | None = None) -> pd.DataFrame:
    r = REFERRALS.c
    query = (select(r.person_id, r.id.label("referral_id"), r.referring_agency, r.reason,
                    r.referred_on, r.closed_on, r.ogrs_score)
             .where(r.area == area, r.requested_stream == stream).order_by(r.id))
    if recorded_by is not None:
        query = query.where(r.created_at <= recorded_by)
    frame = read_frame(conn, query, ["referred_on", "closed_on"], few=True)
    return with_dtypes(frame, {"person_id": np.int64, "referral_id": np.int64,
                                "ogrs_score": float})


@dataclass(frozen=True)
class _Register:
    """Some people's register as scoring reads it, and who they are (for the lists)."""

    offences: pd.DataFrame
    persons: pd.DataFrame
    custody: pd.DataFrame
    names: dict[int, tuple[str, str | None]]


def _register(conn: Connection, person_ids: Sequence[int], *, as_of: date,
              recorded_by: datetime | None = None) -> _Register:
    """Whole histories (offences to as_of, person rows, custody) of some people, and their
    PNC IDs and names, read in three queries."""
    ids = sorted({int(i) for i in person_ids})
    scope = Filters(person_ids=ids, offences_until=as_of, recorded_by=recorded_by)
    p = PERSONS.c
    people = read_frame(conn, select(p.id.label("person_id"), p.date_of_birth, p.deceased_on,
                                     p.home_area, p.pnc_id, p.given_name, p.family_name)
                        .where(ids_in(p.id, ids)).order_by(p.id),
                        DATE_COLUMNS["persons"], few=scope.few)
    people = with_dtypes(people, {"person_id": np.int64})
    names = {pid: (pnc, " ".join(n for n in (given, family) if isinstance(n, str) and n)
                   or None)
             for pid, pnc, given, family in zip(
                 people["person_id"].tolist(), people["pnc_id"].tolist(),
                 people["given_name"].tolist(), people["family_name"].tolist(), strict=True)}
    persons = people[["person_id", "date_of_birth", "deceased_on", "home_area"]].copy()
    # Lists as of a day use the area each person lived in on that day.
    then = areas_then(conn, as_of, recorded_by=recorded_by, person_ids=ids)
    if then:
        moved = persons["person_id"].map(then)
        persons["home_area"] = moved.where(moved.notna(), persons["home_area"])
    return _Register(offences=offences_frame(conn, scope), persons=persons,
                     custody=custody_frame(conn, scope), names=names)


def _versions(scorer: Scorer, config: ShortlistConfig) -> dict[str, str]:
    return {"shortlist": config.version, "scoring_config": scorer.config.version,
            "catalogue": scorer.catalogue.version, "model": scorer.model_version}


def _head(*, as_of: date, area: str, stream: str, scorer: Scorer,
          config: ShortlistConfig) -> dict[str, Any]:
    versions = _versions(scorer, config)
    return {"as_of": as_of, "area": area, "stream": stream,
            "generated_at": datetime.now(UTC).replace(microsecond=0),
            "config_version": versions["scoring_config"], "model_version": versions["model"],
            "versions": versions}


def _score(off: pd.DataFrame, per: pd.DataFrame, cus: pd.DataFrame, *, as_of: date,
           scorer: Scorer) -> pd.DataFrame:
    return score_people(off, per, cus, as_of=as_of, catalogue=scorer.catalogue,
                        config=scorer.config, model=scorer.model)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            v = v.item() if isinstance(v, np.generic) else v
            # pandas' string columns hold missing values as NaN; the API says null.
            clean[k] = None if isinstance(v, float) and np.isnan(v) else v
        out.append(clean)
    return out


def window_offences(conn: Connection, *, as_of: date, area: str, stream: str,
                    config: ShortlistConfig, table: pd.DataFrame,
                    extra_ids: Sequence[int] = (),
                    recorded_by: datetime | None = None) -> pd.DataFrame:
    """The look-back window's possibly-qualifying offences of the area's people (and of
    ``extra_ids``): person_id, offence_date, offence_type, domestic_abuse.

    A narrow read (one indexable date range, the stream's offence types, the domestic
    abuse flag when the rule needs it) that holds every row ``shortlist_pool`` could count,
    so the pool comes out of it without reading anyone's whole history.
    """
    rule = config.rule(stream)
    columns = ["person_id", "offence_date", "offence_type", "domestic_abuse"]
    types = qualifying_types(rule, table)
    if not types:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ("int64", "datetime64[ns]", "string", "bool"), strict=True)})
    o, p = OFFENCES.c, PERSONS.c
    # The area's people on as_of: those living there now who have not moved since, and
    # those who lived there then and have moved away.
    then = areas_then(conn, as_of, recorded_by=recorded_by)
    scope = p.home_area == area
    if then:
        scope = and_(scope, not_(ids_in(p.id, sorted(then))))
    extra = sorted({*extra_ids, *(pid for pid, lived in then.items() if lived == area)})
    if extra:
        scope = or_(scope, ids_in(p.id, extra))
    query = (select(o.person_id, o.offence_date, o.offence_type, o.domestic_abuse)
             .join(PERSONS, p.id == o.person_id)
             .where(scope, o.offence_date > lookback_start(as_of, rule.lookback_months),
                    o.offence_date <= as_of, o.offence_type.in_(types)))
    if rule.domestic_abuse:
        query = query.where(o.domestic_abuse == true())
    if recorded_by is not None:
        query = query.where(o.recorded_at <= recorded_by)
    # No ORDER BY: the pool only counts rows, and the read stays on the index.
    frame = read_frame(conn, query, ["offence_date"], few=True)
    return with_dtypes(frame, {"person_id": np.int64, "domestic_abuse": bool})


def candidate_pool(conn: Connection, *, as_of: date, area: str, stream: str,
                   config: ShortlistConfig, table: pd.DataFrame,
                   referrals: pd.DataFrame,
                   recorded_by: datetime | None = None) -> np.ndarray:
    """The people the shortlist has to consider (sorted ids): the area's people (and the
    stream's referred people, whatever their area) with enough qualifying offences in the
    look-back window, plus those with a referral open on ``as_of``.

    The same people ``shortlist_pool`` finds in the area's whole register: it only ever
    counts window offences of the stream's types.
    """
    extra = sorted({int(i) for i in referrals["person_id"]})
    window = window_offences(conn, as_of=as_of, area=area, stream=stream, config=config,
                             table=table, extra_ids=extra, recorded_by=recorded_by)
    return shortlist_pool(window, referrals, as_of=as_of, stream=stream, config=config,
                          catalogue_table=table)


@dataclass(frozen=True)
class _Computed:
    result: Shortlist
    parts: ScoreParts
    register: _Register
    config: ShortlistConfig


def _recorded_by(as_of: date, knowledge: Knowledge) -> datetime | None:
    # as_recorded: only rows recorded by the end of as_of (design.md, "as-of"), so the
    # list can be asked for again next year and come out the same.
    return end_of_uk_day(as_of) if knowledge == "as_recorded" else None


def _compute(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
             rank_by: str, limit: int | None, include_other_areas: bool,
             config: ShortlistConfig, knowledge: Knowledge = Knowledge.current) -> _Computed:
    check_area_and_stream(session, area=area, stream=stream, config=config)
    conn = session.connection()
    table = scorer.catalogue.table
    recorded_by = _recorded_by(as_of, knowledge)
    referrals = _referrals(conn, area=area, stream=stream, recorded_by=recorded_by)
    pool = candidate_pool(conn, as_of=as_of, area=area, stream=stream, config=config,
                          table=table, referrals=referrals, recorded_by=recorded_by).tolist()
    register = _register(conn, pool, as_of=as_of, recorded_by=recorded_by)
    off, per, cus = register.offences, register.persons, register.custody
    # The parts are kept: the listed people's explanations come from the same arrays.
    parts = compute_scores(off, per, cus, as_of=as_of, catalogue=scorer.catalogue,
                           config=scorer.config, model=scorer.model)
    scores = frame_from_parts(parts, catalogue=scorer.catalogue, config=scorer.config)
    members = memberships_frame(conn, stream=stream, active_on=as_of, recorded_by=recorded_by)
    try:
        result = migration_shortlist(
            scores, off, per, cus, members, referrals, as_of=as_of, area=area, stream=stream,
            config=config, catalogue_table=table, rank_by=rank_by, limit=limit,
            include_other_areas=include_other_areas)
    except ShortlistError as exc:
        raise invalid_field(["query", "stream"], str(exc)) from exc
    result.criteria["knowledge"] = knowledge
    return _Computed(result=result, parts=parts, register=register, config=config)


def _with_names(frame: pd.DataFrame,
                names: dict[int, tuple[str, str | None]]) -> list[dict[str, Any]]:
    return [{**row, "pnc_id": names[row["person_id"]][0], "name": names[row["person_id"]][1]}
            for row in _records(frame)]


def migration_list(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
                   rank_by: str = "risk", limit: int | None = 25,
                   include_other_areas: bool = False,
                   config: ShortlistConfig,
                   knowledge: Knowledge = Knowledge.current) -> dict[str, Any]:
    """The migration-meeting shortlist for a stream in an area as of a date (a dict shaped
    like `ShortlistRead`).

    Only the people the stream's rules could list are read in full and scored: the pool
    comes from a narrow read of the look-back window (``candidate_pool``).
    """
    return todays_or_computed(
        session, asked=("migration", area, stream, rank_by, limit, include_other_areas),
        as_of=as_of, knowledge=knowledge, versions=_versions(scorer, config),
        compute=lambda: _migration_list(session=session, scorer=scorer, area=area,
                                        stream=stream, as_of=as_of, rank_by=rank_by,
                                        limit=limit, include_other_areas=include_other_areas,
                                        config=config, knowledge=knowledge))


def _migration_list(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
                    rank_by: str, limit: int | None, include_other_areas: bool,
                    config: ShortlistConfig, knowledge: Knowledge) -> dict[str, Any]:
    computed = _compute(session=session, scorer=scorer, area=area, stream=stream,
                        as_of=as_of, rank_by=rank_by, limit=limit,
                        include_other_areas=include_other_areas, config=config,
                        knowledge=knowledge)
    result = computed.result
    out = _head(as_of=as_of, area=area, stream=stream, scorer=scorer, config=computed.config)
    out["criteria"] = result.criteria
    out["candidates"] = _with_names(_explained(result.candidates, computed, scorer),
                                    computed.register.names)
    out["excluded"] = _with_names(result.excluded, computed.register.names)
    return out


def _explained(candidates: pd.DataFrame, computed: _Computed, scorer: Scorer) -> pd.DataFrame:
    """Candidates with their top RFG factors added to their reasons (from the pool's score
    arrays: each person's factors are their own, whoever else is explained)."""
    ids = candidates["person_id"].to_numpy(dtype=np.int64)
    top = computed.config.explain_top
    if not len(ids) or not top:
        return candidates
    why = explanations_from_parts(computed.parts, catalogue=scorer.catalogue,
                                  config=scorer.config, top=top,
                                  people=computed.parts.people.positions(ids, "listed"))
    rfg_why = why.loc[why["part"] == "rfg"].groupby("person_id")["text"].apply(list)
    return candidates.assign(reasons=[
        [*r, *(f"score factor: {t}" for t in rfg_why.get(p, []))]
        for p, r in zip(candidates["person_id"], candidates["reasons"], strict=True)])


def migration_counts(*, session: Session, scorer: Scorer, area: str, stream: str,
                     as_of: date, include_other_areas: bool = False,
                     config: ShortlistConfig,
                     knowledge: Knowledge = Knowledge.current) -> dict[str, Any]:
    """The shortlist's aggregate counts (no person-level data), shaped like
    `ShortlistCounts`: how many are eligible (all of them, no limit), how many of those
    only on referral, how many are excluded and for which reasons, open referrals."""
    return todays_or_computed(
        session, asked=("counts", area, stream, include_other_areas), as_of=as_of,
        knowledge=knowledge, versions=_versions(scorer, config),
        compute=lambda: _migration_counts(session=session, scorer=scorer, area=area,
                                          stream=stream, as_of=as_of,
                                          include_other_areas=include_other_areas,
                                          config=config, knowledge=knowledge))


def _migration_counts(*, session: Session, scorer: Scorer, area: str, stream: str,
                      as_of: date, include_other_areas: bool, config: ShortlistConfig,
                      knowledge: Knowledge) -> dict[str, Any]:
    computed = _compute(session=session, scorer=scorer, area=area, stream=stream,
                        as_of=as_of, rank_by="risk", limit=None,
                        include_other_areas=include_other_areas, config=config,
                        knowledge=knowledge)
    result, config = computed.result, computed.config
    cand, excl = result.candidates, result.excluded
    by_reason = dict.fromkeys(EXCLUSION_CODES, 0)
    for codes in excl["reason_codes"]:
        for code in set(codes):
            by_reason[code] += 1
    flags = cand["flags"].tolist()
    referred_listed = int(cand["referred_by"].notna().sum())
    referred_excluded = int(excl["referred_by"].notna().sum())
    out = _head(as_of=as_of, area=area, stream=stream, scorer=scorer, config=config)
    criteria = {k: v for k, v in result.criteria.items() if k not in ("rank_by", "rank_column",
                                                                      "limit")}
    out.update({
        "criteria": criteria,
        "eligible": len(cand),
        "eligible_on_criteria": sum("below_criteria" not in f for f in flags),
        "eligible_on_referral_only": sum("below_criteria" in f for f in flags),
        "excluded": len(excl),
        "excluded_by_reason": by_reason,
        "referrals": {"open": referred_listed + referred_excluded,
                      "listed": referred_listed, "excluded": referred_excluded},
    })
    return out


def exits_list(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
               config: ShortlistConfig,
               knowledge: Knowledge = Knowledge.current) -> dict[str, Any]:
    """Current members of a stream in an area whose record suggests an exit review."""
    return todays_or_computed(
        session, asked=("exits", area, stream), as_of=as_of, knowledge=knowledge,
        versions=_versions(scorer, config),
        compute=lambda: _exits_list(session=session, scorer=scorer, area=area, stream=stream,
                                    as_of=as_of, config=config, knowledge=knowledge))


def _exits_list(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
                config: ShortlistConfig, knowledge: Knowledge) -> dict[str, Any]:
    check_area_and_stream(session, area=area, stream=stream, config=config)
    conn = session.connection()
    recorded_by = _recorded_by(as_of, knowledge)
    members = memberships_frame(conn, areas=[area], stream=stream, active_on=as_of,
                                recorded_by=recorded_by)
    register = _register(conn, members["person_id"].unique().tolist(), as_of=as_of,
                         recorded_by=recorded_by)
    off, per, cus = register.offences, register.persons, register.custody
    scores = _score(off, per, cus, as_of=as_of, scorer=scorer)
    review = exit_review(scores, off, per, cus, members, as_of=as_of, area=area, stream=stream,
                         config=config)
    out = _head(as_of=as_of, area=area, stream=stream, scorer=scorer, config=config)
    out["criteria"] = {"stream": stream, "no_offences_months": config.no_offences_months,
                       "long_sentence_months": config.long_sentence_months,
                       "custody_min_months": config.custody_min_months,
                       "recent_months": config.recent_months,
                       "members": "memberships of the stream in the area active on as_of",
                       "knowledge": knowledge}
    out["members"] = _with_names(review, register.names)
    return out


def entry_seen(*, session: Session, scorer: Scorer, area: str, stream: str, as_of: date,
               person_id: int, exit_list: bool, config: ShortlistConfig) -> dict[str, Any]:
    """A person's entry on the shortlist (or exits list) of `as_of`, as a decision stores it.

    The whole list is computed (no limit), so the stored rank is the person's rank among
    everyone eligible. A person on neither list is recorded as such.
    """
    if exit_list:
        result = exits_list(session=session, scorer=scorer, area=area, stream=stream,
                            as_of=as_of, config=config)
        listed = {r["person_id"]: r for r in result["members"]}
        section = "exits"
        excluded: dict[int, dict[str, Any]] = {}
    else:
        # The whole list ranks everyone eligible; only this person is explained and named
        # (explaining all of them is most of the cost of an unlimited list).
        computed = _compute(session=session, scorer=scorer, area=area, stream=stream,
                            as_of=as_of, rank_by="risk", limit=None,
                            include_other_areas=False, config=config)
        cand, excl = computed.result.candidates, computed.result.excluded
        names = computed.register.names
        listed = {r["person_id"]: r for r in _with_names(
            _explained(cand.loc[cand["person_id"] == person_id], computed, scorer), names)}
        excluded = {r["person_id"]: r for r in _with_names(
            excl.loc[excl["person_id"] == person_id], names)}
        result = {"versions": _versions(scorer, computed.config),
                  "criteria": computed.result.criteria}
        section = "candidates"
    entry: dict[str, Any]
    if person_id in listed:
        entry = {"list": section, **listed[person_id]}
    elif person_id in excluded:
        entry = {"list": "excluded", **excluded[person_id]}
    else:
        entry = {"list": None, "person_id": person_id,
                 "reasons": [f"not on the {section} list for {stream} in {area} as of {as_of}"]}
    entry.update({"as_of": as_of.isoformat(), "area": area, "stream": stream,
                  "versions": result["versions"], "criteria": result["criteria"]})
    for key, value in list(entry.items()):
        if isinstance(value, date | datetime):
            entry[key] = value.isoformat()
    return entry


__all__ = ["candidate_pool", "check_area_and_stream", "entry_seen", "exits_list",
           "migration_counts", "migration_list", "window_offences"]
