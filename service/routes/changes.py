"""The change feed: every create, update, delete and erasure of a register record, in commit
order, from a cursor (person-level: audited, area-scoped)."""

from typing import Annotated

from fastapi import APIRouter, Query

from models import AuditAction, ChangeHead, ChangePage
from service.audit import AuditDep
from service.deps import LimitDep, SessionDep
from service.errors import responses
from service.security import Justification, PersonLevel
from service.store import changes as store

router = APIRouter(prefix="/changes", tags=["changes"])

AfterQuery = Annotated[str | None, Query(max_length=64, description=(
    "A cursor this service returned (next_cursor, or an entry's cursor); omit it to start "
    "from the oldest entry kept"))]


@router.get("", response_model=ChangePage, responses=responses(403, 410, 422))
def list_changes(principal: PersonLevel, session: SessionDep, limit: LimitDep,
                 justification: Justification, audit: AuditDep,
                 after: AfterQuery = None) -> ChangePage:
    """Changes to people, offences, custody spells, memberships, referrals and decisions
    after `after`, oldest first: ids, what happened (create, update, delete, erase) and the
    version it left; never names, dates of birth or PNC IDs (read the record for those).

    Poll with `next_cursor`: it equals `after` when there is nothing new. A page can hold
    fewer than `limit` entries, even none, and still not be the last: an area-limited key
    sees only entries about people whose current home area is one of its areas (entries
    about erased people only reach all-area keys), and `next_cursor` moves past the rest.
    A cursor older than the feed kept (pruned) is 410."""
    cursor = None if after is None else store.decode_cursor(after)
    page = store.read_changes(session=session, after=cursor, limit=limit,
                              areas=principal.areas)
    audit.record(AuditAction.consultation, person_ids=[i.person_id for i in page.items],
                 justification=justification, detail="changes")
    return page


@router.get("/head", response_model=ChangeHead, responses=responses(403))
def get_changes_head(_: PersonLevel, session: SessionDep) -> ChangeHead:
    """A cursor after every change committed so far (no entries, so nothing to justify or
    audit): a new follower reads it, copies the records, then follows from it."""
    return ChangeHead(next_cursor=store.head_cursor(session=session))
