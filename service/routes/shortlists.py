"""Migration-meeting shortlists: ranked candidates, exclusions, exit reviews, exports."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from models import AuditAction, ExitReviewRead, ShortlistRead
from models.base import IsoDate
from models.enums import Knowledge, RankBy
from models.shortlist import ShortlistCounts
from service import exports
from service.access import require_area_visible
from service.audit import AuditDep, Auditor
from service.deps import ScorerDep, SessionDep, ShortlistConfigDep
from service.errors import responses
from service.exports import export_listing
from service.security import (
    CurrentPrincipal,
    Justification,
    PersonLevel,
)
from service.store import shortlists as store

router = APIRouter(prefix="/shortlists", tags=["shortlists"])


Format = Literal["json", "csv", "xlsx"]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      exports.XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                           "format": "binary"}}},
          "description": "JSON, or a CSV/XLSX file with the header block (format=csv|xlsx)"},
}


AreaQuery = Annotated[str, Query(max_length=32, description="The meeting's area code",
                                 examples=["BRISTOL"])]
StreamQuery = Annotated[str, Query(max_length=32, description="Cohort stream code",
                                   examples=["nsac"])]
AsOfQuery = Annotated[IsoDate | None, Query(description="The world as at the end of this day "
                                                    "(default: today)")]
KnowledgeQuery = Annotated[Knowledge, Query(
    description="current: all known now about as_of; as_recorded: only what had been "
                "recorded by the end of as_of, so the same list comes back next year")]


@router.get("/migration", response_model=ShortlistRead, responses={
    **FILE_RESPONSES, **responses(403, 422)})
def get_migration_shortlist(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, area: AreaQuery, stream: StreamQuery,
    as_of: AsOfQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Score-ranked candidates to list "
                                "(open referrals are always listed)")] = 25,
    rank_by: Annotated[RankBy, Query()] = RankBy.risk,
    include_other_areas: Annotated[bool, Query(
        description="Keep referred people whose home area is elsewhere")] = False,
    knowledge: KnowledgeQuery = Knowledge.current,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """Ranked candidates for a stream, who is excluded and why (decision support only)."""
    require_area_visible(principal, area)
    listing = store.migration_list(session=session, scorer=scorer, config=rules, area=area,
                                   stream=stream,
                                   as_of=as_of or date.today(), rank_by=rank_by, limit=limit,
                                   include_other_areas=include_other_areas,
                                   knowledge=knowledge)
    ids = [c["person_id"] for c in listing["candidates"]] + [
        e["person_id"] for e in listing["excluded"]]
    return _answer(listing, kind="migration", fmt=format, person_ids=ids, audit=audit,
                   justification=justification)


@router.get("/migration/counts", response_model=ShortlistCounts, responses=responses(403, 422))
def get_migration_shortlist_counts(
    principal: CurrentPrincipal, session: SessionDep, scorer: ScorerDep,
    rules: ShortlistConfigDep, area: AreaQuery,
    stream: StreamQuery, as_of: AsOfQuery = None,
    include_other_areas: Annotated[bool, Query(
        description="Keep referred people whose home area is elsewhere")] = False,
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
                                  as_of=as_of or date.today(),
                                  include_other_areas=include_other_areas,
                                  knowledge=knowledge)


@router.get("/exits", response_model=ExitReviewRead, responses={
    **FILE_RESPONSES, **responses(403, 422)})
def get_exit_shortlist(
    principal: PersonLevel, session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
    justification: Justification, audit: AuditDep, area: AreaQuery, stream: StreamQuery,
    as_of: AsOfQuery = None, knowledge: KnowledgeQuery = Knowledge.current,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """Current members whose recent record suggests an exit review, with reasons."""
    require_area_visible(principal, area)
    listing = store.exits_list(session=session, scorer=scorer, config=rules, area=area,
                               stream=stream,
                               as_of=as_of or date.today(), knowledge=knowledge)
    return _answer(listing, kind="exits", fmt=format,
                   person_ids=[m["person_id"] for m in listing["members"]], audit=audit,
                   justification=justification)


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
