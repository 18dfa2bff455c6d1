"""Stored current scores: each person's score for today, re-scored by the writes that
change it, so a read of today's score is a lookup rather than a computation.

A row (`models.CurrentScore`) is valid for its day and its rules, catalogue and model
versions only: at midnight, or once a model is promoted or rolled back, every row is stale
and readers compute as before until `iomscore rescore` (a nightly job) refreshes them.
A past `as_of` and `knowledge=as_recorded` always compute.

Every write that changes what a score depends on (a person's dates of birth or death,
their offences, their custody) calls `rescore` in its own transaction, after its rows are
written: the person rows are locked (`SELECT ... FOR NO KEY UPDATE` on PostgreSQL, in id
order; SQLite has one writer) before their history is read and until the commit, so of two
writers about one person the one that commits last has seen the other's rows and its
stored score counts both. (NO KEY: an offence's foreign key share-locks its person, which
FOR UPDATE would wait on, deadlocking two writers that each inserted first.) A read never
writes.

The answer is the lean kernel's (`scoring.person.person_scores`), the one
`GET /persons/{id}/score` computes, kept as the route's JSON. Many people at once (an
import, a nightly refresh) are read in one query per table rather than one per person, and
scored together by `scoring.person.people_scores`, which gives each the same answer with
the kernel and the explanation run once per chunk rather than once per person.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import CurrentScore, PersonScoreRead
from models.base import utcnow
from scoring.person import PersonRecord, people_scores
from scoring.thr import rule_based_version
from scoring.uk_calendar import uk_today
from service.frames import PERSONS, ids_in, person_records, table_of
from service.store.import_writes import begin_writing

if TYPE_CHECKING:  # only for annotations: the scorer is handed in
    from service.scorer import Scorer, SessionFactory

log = logging.getLogger(__name__)

CURRENT = table_of(CurrentScore)
# People re-scored per statement batch: bounds the memory of a nightly refresh and the
# length of each of its transactions (their person rows stay locked until it commits).
CHUNK = 2_000
# The most people a request re-scores before it answers: under a millisecond each, scored
# together (about half a second for 500 here); an import touching more leaves them to a
# task after its response.
INLINE_MAX = 500


def versions(scorer: Scorer) -> tuple[str, str, str]:
    """(config, catalogue, model) versions a stored row must carry to be served."""
    model = (scorer.model.version if scorer.model is not None
             else rule_based_version(scorer.config))
    return scorer.config.version, scorer.catalogue.version, model


def valid_row(scorer: Scorer, today: date) -> Any:
    """The condition on `current_scores` of a row valid today for this scorer."""
    config, catalogue, model = versions(scorer)
    c = CURRENT.c
    return and_(c.as_of == today, c.config_version == config,
                c.catalogue_version == catalogue, c.model_version == model)


def person_with_stored(conn: Connection, person_id: int, scorer: Scorer,
                       today: date) -> tuple[RowMapping | None, str | None]:
    """The person row and, if valid today, their stored answer (JSON text), in one
    statement."""
    query = (select(PERSONS, CURRENT.c.body.label("stored_body"))
             .outerjoin(CURRENT, and_(CURRENT.c.person_id == PERSONS.c.id,
                                      valid_row(scorer, today)))
             .where(PERSONS.c.id == person_id))
    row = conn.execute(query).mappings().first()
    return (None, None) if row is None else (row, row["stored_body"])


def rescore(session: Session, scorer: Scorer, person_ids: Iterable[int | None], *,
            later: Callable[[list[int]], None] | None = None,
            today: date | None = None) -> None:
    """Re-score these people for today and store their rows, in the session's transaction
    (the caller commits), their person rows locked first (see the module's docstring).

    More than `INLINE_MAX` people with a `later` (an import's request) are not re-scored
    here: their rows are deleted in this transaction, under the same locks, so no stale
    answer can be served, and `later` is handed their ids to re-score once it commits.
    """
    ids = sorted({int(i) for i in person_ids if i is not None})
    if not ids:
        return
    session.flush()
    conn = session.connection()
    if later is not None and len(ids) > INLINE_MAX:
        lock_people(conn, ids)
        conn.execute(delete(CURRENT).where(ids_in(CURRENT.c.person_id, ids)))
        later(ids)
        return
    for start in range(0, len(ids), CHUNK):
        store_scores(conn, scorer, ids[start:start + CHUNK], today or uk_today())


def lock_people(conn: Connection, ids: Sequence[int]) -> None:
    """Row-lock these people until the transaction ends (see the module's docstring)."""
    if conn.dialect.name == "postgresql":
        p = PERSONS.c
        conn.execute(select(p.id).where(ids_in(p.id, ids)).order_by(p.id)
                     .with_for_update(key_share=True))


def store_scores(conn: Connection, scorer: Scorer, ids: Sequence[int], today: date) -> int:
    """Lock these people, score them as of `today` and upsert their rows; the number
    stored (an id no longer in the register is skipped)."""
    lock_people(conn, ids)
    now = utcnow()
    rows = [stored_row(result, now)
            for result in answers(person_records(conn, ids, today), scorer, today)]
    upsert(conn, rows)
    return len(rows)


def answers(records: Sequence[PersonRecord], scorer: Scorer,
            today: date) -> list[dict[str, Any]]:
    """`service.scorer.person_score`'s answer for each record (knowledge=current), the
    kernel run once for all of them."""
    scores = people_scores(records, as_of=today, catalogue=scorer.catalogue,
                           config=scorer.config, model=scorer.model)
    return [{"person_id": record.person_id, **score, "knowledge": "current"}
            for record, score in zip(records, scores, strict=True)]


def stored_row(result: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The `current_scores` row of an answer: its values for index reads, and the JSON
    the route sends."""
    rfg, thr, streams = result["rfg"], result["thr"], result["rfg_by_stream"]
    return {
        "person_id": result["person_id"], "as_of": result["as_of"],
        "config_version": result["config_version"],
        "catalogue_version": result["catalogue_version"],
        "model_version": result["model_version"],
        "recency": rfg["recency"], "frequency": rfg["frequency"], "gravity": rfg["gravity"],
        "victims": rfg["victims"], "rfg": rfg["score"],
        "rfg_acquisitive": streams["acquisitive"],
        "rfg_domestic_abuse": streams["domestic_abuse"],
        "threat": thr["threat"], "harm": thr["harm"], "risk": thr["risk"],
        "escalating": result["escalating"], "threat_source": thr["threat_source"],
        "band": result["band"], "offences_to_date": result["offences_to_date"],
        "body": PersonScoreRead.model_validate(result).model_dump_json(),
        "computed_at": now,
    }


def upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (person_id) DO UPDATE, one executemany."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CURRENT)
    changed = {name: stmt.excluded[name] for name in rows[0] if name != "person_id"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["person_id"], set_=changed), rows)


def stale_ids(conn: Connection, scorer: Scorer, today: date,
              area: str | None = None) -> list[int]:
    """People (in one home area, or all) with no row valid today for this scorer."""
    p, c = PERSONS.c, CURRENT.c
    query = (select(p.id).outerjoin(CURRENT, c.person_id == p.id)
             .where(or_(c.person_id.is_(None), ~valid_row(scorer, today))).order_by(p.id))
    if area is not None:
        query = query.where(p.home_area == area)
    return list(conn.execute(query).scalars())


def refresh(sessions: SessionFactory, scorer: Scorer, *, today: date | None = None,
            area: str | None = None, person_ids: Sequence[int] | None = None) -> int:
    """Re-score everyone (in one home area, or all) whose stored row is missing or stale,
    or else exactly `person_ids`, a chunk of people per transaction; the number
    re-scored. Rows valid already (kept up to date by today's writes) are left alone, so
    running it twice costs one query."""
    today = today or uk_today()
    started = time.perf_counter()
    if person_ids is not None:
        ids = sorted(set(person_ids))
    else:
        with sessions() as session:
            ids = stale_ids(session.connection(), scorer, today, area)
            session.commit()
    done = 0
    for start in range(0, len(ids), CHUNK):
        with sessions() as session:
            chunk = ids[start:start + CHUNK]
            # On SQLite, take the writer's lock before reading: a read-then-write
            # transaction fails if another writer commits in between.
            begin_writing(session)
            done += store_scores(session.connection(), scorer, chunk, today)
            session.commit()
    log.info("current scores for %s: %s people re-scored in %.1f s", today, done,
             time.perf_counter() - started)
    return done
