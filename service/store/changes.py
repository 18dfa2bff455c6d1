"""The change feed: read in commit order from an opaque cursor, and pruned by age.

The rows are written by database triggers (migration d4efa5a2744d), never by this module.
A cursor names a position (commit position, seq): on PostgreSQL the commit position of the
writing transaction, handed out at COMMIT, and a reader returns only positions up to the
last final one (the commit fence, below); on SQLite writers are serialised by the database
lock and seq alone is commit order (the position part is 0). Either way, nothing can later
appear below a cursor already handed out: a follower never misses or repeats a change.
"""

import base64
import binascii
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from models import ChangeEntity, ChangeOp, ChangePage, ChangeRead
from service.change_fence import LAST_SEQ, READ_POSITION, TAKE_FENCE, final_position
from service.errors import DomainError, invalid_field

_CURSOR = struct.Struct(">BQQ")  # format version, commit position, seq
_CURSOR_FORMAT = 1


class CursorExpired(DomainError):
    status, title, slug = 410, "Gone", "cursor-expired"


@dataclass(frozen=True, order=True)
class Cursor:
    pos: int
    seq: int


START = Cursor(0, 0)


def encode_cursor(cursor: Cursor) -> str:
    raw = _CURSOR.pack(_CURSOR_FORMAT, cursor.pos, cursor.seq)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text_: str) -> Cursor:
    """The cursor a client sent back; 422 on `after` unless it is one this service issued."""
    try:
        raw = base64.urlsafe_b64decode(text_ + "=" * (-len(text_) % 4))
        version, pos, seq = _CURSOR.unpack(raw)
    except (binascii.Error, ValueError, struct.error):
        version, pos, seq = None, 0, 0
    cursor = Cursor(pos, seq)
    if version != _CURSOR_FORMAT or max(pos, seq) > LAST_SEQ or encode_cursor(cursor) != text_:
        raise invalid_field(["query", "after"], "not a cursor issued by this service",
                            detail="after must be a next_cursor or cursor this service "
                                   "returned, unchanged")
    return cursor


# The first `limit` entries after a cursor, in (commit position, seq) order, whatever their
# area: each committed transaction is looked up by its position, then its entries by
# (xid, seq), both from an index. One more transaction than `limit` is read because the
# cursor's own may have no entries left after it; every other has at least one.
_READ_POSTGRES = text("""
    SELECT t.pos, c.seq, c.at, c.entity, c.entity_id, c.person_id, c.op, c.version,
           p.home_area
      FROM (SELECT pos, xid FROM change_commits WHERE pos >= :pos AND pos <= :upto
             ORDER BY pos LIMIT :limit + 1) AS t
      CROSS JOIN LATERAL (
            SELECT * FROM changes AS c
             WHERE c.xid = t.xid AND c.seq > CASE WHEN t.pos = :pos THEN :seq ELSE 0 END
             ORDER BY c.seq LIMIT :limit) AS c
      LEFT JOIN persons AS p ON p.id = c.person_id
     ORDER BY t.pos, c.seq
     LIMIT :limit
""")

_READ_SQLITE = text("""
    SELECT 0 AS pos, c.seq, c.at, c.entity, c.entity_id, c.person_id, c.op, c.version,
           p.home_area
      FROM changes AS c LEFT JOIN persons AS p ON p.id = c.person_id
     WHERE c.seq > :seq
     ORDER BY c.seq
     LIMIT :limit
""")


def _final_position(session: Session) -> int:
    """PostgreSQL: the highest commit position below which nothing more can appear
    (service.change_fence)."""
    with session.begin_nested() as fence:
        conn = session.connection()
        conn.execute(text(TAKE_FENCE))
        isolation, upto = conn.execute(text(READ_POSITION)).one()
        fence.rollback()
    return final_position(isolation, upto)


def _at(value: Any) -> datetime:
    # SQLite hands back the text the trigger wrote; PostgreSQL an aware datetime.
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _watermark(session: Session) -> Cursor | None:
    # Read afresh each time (not from the session's identity map): see read_changes.
    row = session.connection().execute(text(
        "SELECT pos, seq FROM changes_pruned WHERE id = 1")).first()
    return None if row is None else Cursor(row.pos, row.seq)


def read_changes(*, session: Session, after: Cursor | None, limit: int,
                 areas: frozenset[str] | None) -> ChangePage:
    """The next page of the feed after `after` (None: from the oldest entry kept).

    The page covers the next `limit` entries; an area-limited key (`areas`) gets those about
    people whose current home area is one of its areas, so its page can hold fewer, even
    none, while `next_cursor` still moves past the rest. Entries whose person no longer
    exists (erased) are for all-area keys only. 410 if `after` is older than the feed kept,
    or ahead of it (a database restored from a backup hands its positions out again).
    """
    start = after or _watermark(session) or START
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # The fence first, then the read: its snapshot sees every position up to `upto`.
        upto = _final_position(session)
        ahead = start.pos > upto
        rows = conn.execute(_READ_POSTGRES, {"pos": start.pos, "seq": start.seq,
                                             "limit": limit, "upto": upto}).all()
    else:
        ahead = start.seq > conn.execute(text("SELECT coalesce(max(seq), 0) FROM changes")
                                         ).scalar_one()
        rows = conn.execute(_READ_SQLITE, {"seq": start.seq, "limit": limit}).all()
    # After the read: had a prune committed before it, its rows are gone and the new
    # watermark is already visible here, so a cursor it overtook is refused, not skipped on.
    watermark = _watermark(session)
    if after is not None and watermark is not None and after < watermark:
        raise CursorExpired("this cursor is older than the change feed kept (entries were "
                            "pruned): copy the records again, then follow from GET "
                            "/changes/head")
    if ahead:
        raise CursorExpired("this cursor is ahead of the change feed (the database was "
                            "restored from a backup?): copy the records again, then follow "
                            "from GET /changes/head")
    items = [
        ChangeRead(cursor=encode_cursor(Cursor(r.pos, r.seq)), at=_at(r.at),
                   entity=ChangeEntity(r.entity), id=r.entity_id, person_id=r.person_id,
                   op=ChangeOp(r.op), version=r.version)
        for r in rows
        if areas is None or (r.home_area is not None and r.home_area in areas)
    ]
    last = Cursor(rows[-1].pos, rows[-1].seq) if rows else start
    return ChangePage(items=items, next_cursor=encode_cursor(last))


def head_cursor(*, session: Session) -> str:
    """A cursor after every change committed so far: where a new follower starts, once it
    has copied the records (it then sees again, harmlessly, what changed while it copied)."""
    if session.get_bind().dialect.name == "postgresql":
        last = Cursor(_final_position(session), LAST_SEQ)
    else:
        last = Cursor(0, int(session.connection().execute(
            text("SELECT coalesce(max(seq), 0) FROM changes")).scalar_one()))
    watermark = _watermark(session)
    return encode_cursor(max(last, watermark) if watermark else last)


def register_mark(*, session: Session) -> tuple[int, int]:
    """A mark that moves whenever the register this session can see changes: (the last
    final commit position, the highest seq visible). Positions move with every committed
    write (read under the commit fence, as ``head_cursor`` reads them); the seq also moves
    with this transaction's own uncommitted writes. Sequences never hand a number out twice,
    so two states of the register never share a mark within one database.
    """
    conn = session.connection()
    position = _final_position(session) if conn.dialect.name == "postgresql" else 0
    seq = conn.execute(text("SELECT coalesce(max(seq), 0) FROM changes")).scalar_one()
    return position, int(seq)
