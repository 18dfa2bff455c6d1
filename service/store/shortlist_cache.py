"""Today's shortlists, kept by each worker until the register changes.

A meeting asks for the same few lists again and again, and each takes some 100-250 ms to
compute. A list is kept under everything its answer depends on: what was asked (kind, area,
stream, options, the day), the versions of the shortlist rules, scoring rules, catalogue and model,
the database, and the register's mark (``changes.register_mark``), which moves with any
committed write to people, offences, custody, memberships, referrals or decisions. So any
committed write makes the next request compute afresh, in every worker.

Only lists as of today with current knowledge are kept: a past ``as_of`` or
``knowledge=as_recorded`` is computed each time. The caller still audits every answer,
kept or not: a kept list handed out is still a disclosure of person-level data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from models.enums import Knowledge
from scoring.uk_calendar import uk_today
from service.store.changes import register_mark

# Lists kept per worker (each a few hundred people at most; four areas x three streams x
# the three kinds fit with room to spare).
KEPT = 64

_lock = threading.Lock()
_kept: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()


def todays_or_computed(session: Session, *, asked: tuple[Hashable, ...], as_of: date,
                       knowledge: Knowledge, versions: dict[str, str],
                       compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The kept answer to `asked` if the register has not changed since, else `compute()`.

    The mark is read before computing, so an answer is never kept under a mark older than
    the register it was computed from. A kept answer gets a fresh ``generated_at``: it is
    what computing now would give.
    """
    if as_of != uk_today() or knowledge != Knowledge.current:
        return compute()
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (database, as_of, asked, tuple(sorted(versions.items())),
           register_mark(session=session))
    with _lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None:
        return {**kept, "generated_at": datetime.now(UTC).replace(microsecond=0)}
    answer = compute()
    with _lock:
        _kept[key] = answer
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return answer


def forget_kept_lists() -> None:
    """Drop every kept list (tests that compare kept and computed answers)."""
    with _lock:
        _kept.clear()
