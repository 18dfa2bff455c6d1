"""Migration-meeting shortlists: ranked candidates, exclusions, exit reviews, exports."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from models import AuditAction, ExitReviewRead, ShortlistRead
from models.base import IsoDate
from service import exports
from service.audit import AuditDep, Auditor
from service.deps import SessionDep
from service.errors import responses
from service.routes.scores import ScorerDep
from service.security import Forbidden, Justification, PersonLevel, Principal
from service.store import shortlists as store

router = APIRouter(prefix="/shortlists", tags=["shortlists"])

Format = Literal["json", "csv", "xlsx"]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      exports.XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                           "format": "binary"}}},
          "description": "JSON, or a CSV/XLSX file with the header block (format=csv|xlsx)"},
}


def _area_allowed(principal: Principal, area: str) -> None:
    if not principal.can_see(area):
        raise Forbidden(f"this key may not see shortlists for area {area}",
                        errors=[{"loc": ["query", "area"], "msg": "outside the key's areas",
                                 "type": "forbidden_area"}])


def _export(listing: dict[str, Any], *, kind: str, fmt: Format, audit: Auditor,
            justification: str, person_ids: list[int]) -> Response:
    export_id = uuid.uuid4().hex
    title = ("Migration meeting shortlist" if kind == "migration"
             else "Migration meeting exit review")
    header = exports.header_block(listing, title=title, export_id=export_id)
    if kind == "migration":
        sheets = [("Candidates", exports.CANDIDATE_COLUMNS, listing["candidates"]),
                  ("Excluded", exports.EXCLUDED_COLUMNS, listing["excluded"])]
    else:
        sheets = [("Exit review", exports.EXIT_COLUMNS, listing["members"])]
    if fmt == "csv":
        body, media = exports.to_csv(header, sheets[0][1], sheets[0][2]), exports.CSV_MEDIA_TYPE
    else:
        body, media = exports.to_xlsx(header, sheets), exports.XLSX_MEDIA_TYPE
    audit.record(AuditAction.disclosure, person_ids=person_ids, justification=justification,
                 export_id=export_id,
                 detail=f"{kind} shortlist {listing['area']}/{listing['stream']} as of "
                        f"{listing['as_of']} ({fmt})")
    name = f"{kind}_{listing['area']}_{listing['stream']}_{listing['as_of']}.{fmt}"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Export-Id": export_id})


AreaQuery = Annotated[str, Query(max_length=32, description="The meeting's area code")]
StreamQuery = Annotated[str, Query(max_length=32, description="Cohort stream code")]
AsOfQuery = Annotated[IsoDate | None, Query(description="The world as at the end of this day "
                                                    "(default: today)")]


@router.get("/migration", response_model=ShortlistRead, responses={
    **FILE_RESPONSES, **responses(403, 422)})
def get_migration_shortlist(
    session: SessionDep, scorer: ScorerDep, principal: PersonLevel,
    justification: Justification, audit: AuditDep, area: AreaQuery, stream: StreamQuery,
    as_of: AsOfQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Score-ranked candidates to list "
                                "(open referrals are always listed)")] = 25,
    rank_by: Annotated[Literal["risk", "rfg"], Query()] = "risk",
    include_other_areas: Annotated[bool, Query(
        description="Keep referred people whose home area is elsewhere")] = False,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """Ranked candidates for a stream, who is excluded and why (decision support only)."""
    _area_allowed(principal, area)
    listing = store.migration_list(session=session, scorer=scorer, area=area, stream=stream,
                                   as_of=as_of or date.today(), rank_by=rank_by, limit=limit,
                                   include_other_areas=include_other_areas)
    ids = [c["person_id"] for c in listing["candidates"]] + [
        e["person_id"] for e in listing["excluded"]]
    if format != "json":
        return _export(listing, kind="migration", fmt=format, audit=audit,
                       justification=justification, person_ids=ids)
    audit.record(AuditAction.consultation, person_ids=ids, justification=justification,
                 detail=f"migration shortlist {area}/{stream} as of {listing['as_of']}")
    return listing


@router.get("/exits", response_model=ExitReviewRead, responses={
    **FILE_RESPONSES, **responses(403, 422)})
def get_exit_shortlist(
    session: SessionDep, scorer: ScorerDep, principal: PersonLevel,
    justification: Justification, audit: AuditDep, area: AreaQuery, stream: StreamQuery,
    as_of: AsOfQuery = None, format: Annotated[Format, Query()] = "json",
) -> Any:
    """Current members whose recent record suggests an exit review, with reasons."""
    _area_allowed(principal, area)
    listing = store.exits_list(session=session, scorer=scorer, area=area, stream=stream,
                               as_of=as_of or date.today())
    ids = [m["person_id"] for m in listing["members"]]
    if format != "json":
        return _export(listing, kind="exits", fmt=format, audit=audit,
                       justification=justification, person_ids=ids)
    audit.record(AuditAction.consultation, person_ids=ids, justification=justification,
                 detail=f"exit review {area}/{stream} as of {listing['as_of']}")
    return listing
