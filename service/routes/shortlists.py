"""Migration-meeting shortlists: ranked candidates, exclusions, exit reviews, exports."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session

from models import AuditAction, ExitReviewRead, ShortlistRead
from models.base import IsoDate
from models.enums import Knowledge, RankBy
from models.shortlist import ShortlistCounts
from scoring.shortlist import ShortlistConfig
from scoring.uk_calendar import uk_today
from service.access import require_area_visible, withhold_listing
from service.audit import AuditDep, Auditor
from service.deps import ScorerDep, SessionDep, ShortlistConfigDep
from service.errors import responses
from service.exports import csv_download, export_listing, xlsx_download, xlsx_media_type
from service.scorer import Scorer
from service.security import (
    CurrentPrincipal,
    Justification,
    PersonLevel,
    Principal,
)
from service.store import shortlists as store

router = APIRouter(prefix="/shortlists", tags=["shortlists"])


# The JSON routes still take ?format=csv|xlsx (older callers, bookmarks); the contract
# lists the downloads as their own operations instead (GET /shortlists/migration.csv, ...),
# so a generated client gets typed JSON from one and a file from the other.
Format = Literal["json", "csv", "xlsx"]
HiddenFormat = Annotated[Format, Query(include_in_schema=False)]


AreaQuery = Annotated[str, Query(max_length=32, description="The meeting's area code",
                                 examples=["BRISTOL"])]
StreamQuery = Annotated[str, Query(max_length=32, description="Cohort stream code",
                                   examples=["nsac"])]
AsOfQuery = Annotated[IsoDate | None, Query(description="The world as at the end of this day "
                                                    "(default: today)")]
KnowledgeQuery = Annotated[Knowledge, Query(
    description="current: all known now about as_of; as_recorded: only what had been "
                "recorded by the end of as_of, so the same list comes back next year")]
OtherAreasQuery = Annotated[bool, Query(
    description="Keep referred people whose home area is elsewhere")]


@dataclass(frozen=True)
class MigrationQuery:
    area: str
    stream: str
    as_of: date
    limit: int
    rank_by: RankBy
    include_other_areas: bool
    knowledge: Knowledge


def migration_query(
    area: AreaQuery, stream: StreamQuery, as_of: AsOfQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Score-ranked candidates to list "
                                "(open referrals are always listed)")] = 25,
    rank_by: Annotated[RankBy, Query()] = RankBy.risk,
    include_other_areas: OtherAreasQuery = False,
    knowledge: KnowledgeQuery = Knowledge.current,
) -> MigrationQuery:
    """The migration shortlist's query, the same for the JSON and the downloads."""
    return MigrationQuery(area=area, stream=stream, as_of=as_of or uk_today(), limit=limit,
                          rank_by=rank_by, include_other_areas=include_other_areas,
                          knowledge=knowledge)


@dataclass(frozen=True)
class ExitsQuery:
    area: str
    stream: str
    as_of: date
    knowledge: Knowledge


def exits_query(area: AreaQuery, stream: StreamQuery, as_of: AsOfQuery = None,
                knowledge: KnowledgeQuery = Knowledge.current) -> ExitsQuery:
    """The exit review's query, the same for the JSON and the downloads."""
    return ExitsQuery(area=area, stream=stream, as_of=as_of or uk_today(),
                      knowledge=knowledge)


MigrationQueryDep = Annotated[MigrationQuery, Depends(migration_query)]
ExitsQueryDep = Annotated[ExitsQuery, Depends(exits_query)]
MIGRATION_FILE = ("The shortlist as a file a chair can circulate: the header block (area, "
                  "stream, as-of date, criteria, versions, export id), then the candidates")
EXITS_FILE = "The exit review as a file: the header block, then the members"


def _migration(principal: Principal, session: Session, scorer: Scorer,
               rules: ShortlistConfig, query: MigrationQuery) -> tuple[dict[str, Any], list[int]]:
    require_area_visible(principal, query.area)
    listing = withhold_listing(session, principal, store.migration_list(
        session=session, scorer=scorer, config=rules, area=query.area, stream=query.stream,
        as_of=query.as_of, rank_by=query.rank_by, limit=query.limit,
        include_other_areas=query.include_other_areas, knowledge=query.knowledge))
    ids = [c["person_id"] for c in listing["candidates"]] + [
        e["person_id"] for e in listing["excluded"]]
    return listing, ids


def _exits(principal: Principal, session: Session, scorer: Scorer, rules: ShortlistConfig,
           query: ExitsQuery) -> tuple[dict[str, Any], list[int]]:
    require_area_visible(principal, query.area)
    listing = withhold_listing(session, principal, store.exits_list(
        session=session, scorer=scorer, config=rules, area=query.area, stream=query.stream,
        as_of=query.as_of, knowledge=query.knowledge))
    return listing, [m["person_id"] for m in listing["members"]]


@router.get("/migration", response_model=ShortlistRead, responses=responses(403, 422))
def get_migration_shortlist(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: MigrationQueryDep,
    format: HiddenFormat = "json",
) -> Any:
    """Ranked candidates for a stream, who is excluded and why (decision support only)."""
    listing, ids = _migration(principal, session, scorer, rules, query)
    return _answer(listing, kind="migration", fmt=format, person_ids=ids, audit=audit,
                   justification=justification)


@router.get("/migration.csv", response_class=Response,
            responses={**csv_download(MIGRATION_FILE + " (UTF-8 with BOM)"),
                       **responses(403, 422)})
def get_migration_shortlist_csv(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: MigrationQueryDep,
) -> Response:
    """The migration shortlist as CSV (a disclosure, audited with its export id)."""
    listing, ids = _migration(principal, session, scorer, rules, query)
    return export_listing(listing, kind="migration", fmt="csv", audit=audit,
                          justification=justification, person_ids=ids)


@router.get("/migration.xlsx", response_class=Response,
            responses={**xlsx_download(MIGRATION_FILE + "; a second sheet lists the "
                                                        "excluded"), **responses(403, 422)})
def get_migration_shortlist_xlsx(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: MigrationQueryDep, request: Request,
) -> Response:
    """The migration shortlist as an XLSX workbook (a disclosure, audited)."""
    listing, ids = _migration(principal, session, scorer, rules, query)
    return export_listing(listing, kind="migration", fmt="xlsx", audit=audit,
                          justification=justification, person_ids=ids,
                          xlsx_type=xlsx_media_type(request.headers.get("accept")))


@router.get("/migration/counts", response_model=ShortlistCounts, responses=responses(403, 422))
def get_migration_shortlist_counts(
    principal: CurrentPrincipal, session: SessionDep, scorer: ScorerDep,
    rules: ShortlistConfigDep, area: AreaQuery,
    stream: StreamQuery, as_of: AsOfQuery = None,
    include_other_areas: OtherAreasQuery = False,
    knowledge: KnowledgeQuery = Knowledge.current,
) -> Any:
    """How many people the migration shortlist lists and excludes (and why), for every role.

    Aggregate counts only (no person ids, names or scores), the same computation as the
    list: analysts may ask, no justification is needed and no person-level access is
    audited.
    """
    require_area_visible(principal, area)
    return store.migration_counts(session=session, scorer=scorer, config=rules, area=area,
                                  stream=stream,
                                  as_of=as_of or uk_today(),
                                  include_other_areas=include_other_areas,
                                  knowledge=knowledge)


@router.get("/exits", response_model=ExitReviewRead, responses=responses(403, 422))
def get_exit_shortlist(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: ExitsQueryDep,
    format: HiddenFormat = "json",
) -> Any:
    """Current members whose recent record suggests an exit review, with reasons."""
    listing, ids = _exits(principal, session, scorer, rules, query)
    return _answer(listing, kind="exits", fmt=format, person_ids=ids, audit=audit,
                   justification=justification)


@router.get("/exits.csv", response_class=Response,
            responses={**csv_download(EXITS_FILE + " (UTF-8 with BOM)"),
                       **responses(403, 422)})
def get_exit_shortlist_csv(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: ExitsQueryDep,
) -> Response:
    """The exit review as CSV (a disclosure, audited with its export id)."""
    listing, ids = _exits(principal, session, scorer, rules, query)
    return export_listing(listing, kind="exits", fmt="csv", audit=audit,
                          justification=justification, person_ids=ids)


@router.get("/exits.xlsx", response_class=Response,
            responses={**xlsx_download(EXITS_FILE), **responses(403, 422)})
def get_exit_shortlist_xlsx(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, query: ExitsQueryDep, request: Request,
) -> Response:
    """The exit review as an XLSX workbook (a disclosure, audited with its export id)."""
    listing, ids = _exits(principal, session, scorer, rules, query)
    return export_listing(listing, kind="exits", fmt="xlsx", audit=audit,
                          justification=justification, person_ids=ids,
                          xlsx_type=xlsx_media_type(request.headers.get("accept")))


def _answer(listing: dict[str, Any], *, kind: str, fmt: str, person_ids: list[int],
            audit: Auditor, justification: str) -> Any:
    """The listing as JSON (audited as a consultation) or as a CSV/XLSX file (audited as
    a disclosure, with its export id)."""
    if fmt != "json":
        return export_listing(listing, kind=kind, fmt=fmt, audit=audit,
                              justification=justification, person_ids=person_ids)
    what = "migration shortlist" if kind == "migration" else "exit review"
    audit.record(AuditAction.consultation, person_ids=person_ids, justification=justification,
                 detail=f"{what} {listing['area']}/{listing['stream']} as of {listing['as_of']}")
    return listing
