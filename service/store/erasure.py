"""Deleting records and erasing people (DPA 2018 Part 3 s.47), and recognising them after.

An erased record leaves one row behind: a salted hash of its natural key (PNC ID, or the
source and source_ref of an offence, custody spell, membership or referral from an
extract), so an old extract sent again does not bring it back.
Decisions about an erased person keep the decision, its meeting and date, and lose every
field that could identify them. Like every write, nothing here commits: the route's audit
event does, so the erasure and its record are one transaction.
"""

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, exists, insert, select, update
from sqlmodel import Session

from models import (
    CohortMembership,
    CurrentScore,
    CustodyPeriod,
    Decision,
    DeletionReason,
    ErasedKind,
    ErasedRecord,
    ErasureSalt,
    Offence,
    PersonArea,
    Referral,
    ScoreSnapshot,
)
from models.base import utcnow
from service.frames import table_of
from service.store.common import person_or_404

# What an erased person's decisions say in place of the meeting's rationale (which can
# name them or their circumstances).
ERASED_RATIONALE = "erased"


def _salt(session: Session) -> str:
    row = session.get(ErasureSalt, 1)
    if row is None:  # the migration makes it; a missing row is a broken install
        raise RuntimeError("erasure_salt has no row: run the migrations")
    return row.salt


def key_hash(salt: str, kind: ErasedKind, *parts: str) -> str:
    """The stored form of an erased record's key (parts joined by a separator no key has)."""
    text = "\x1f".join((salt, kind.value, *parts))
    return hashlib.sha256(text.encode()).hexdigest()


def _remember(session: Session, kind: ErasedKind, keys: Iterable[tuple[str, ...]],
              reason: DeletionReason) -> None:
    salt = _salt(session)
    hashes = sorted({key_hash(salt, kind, *k) for k in keys})
    if not hashes:
        return
    table = table_of(ErasedRecord)
    known = set(session.connection().execute(
        select(table.c.key_hash).where(table.c.key_hash.in_(hashes))).scalars())
    now = utcnow()
    rows = [{"kind": kind.value, "key_hash": h, "reason": reason.value, "erased_at": now}
            for h in hashes if h not in known]
    if rows:
        session.connection().execute(insert(table), rows)


class ErasedKeys:
    """Which of an import's keys belong to erased records (one query per kind)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        table = table_of(ErasedRecord)
        self._any = bool(session.connection().execute(select(exists(table.select()))).scalar())
        self._salt = _salt(session) if self._any else ""

    def among(self, kind: ErasedKind, keys: Iterable[tuple[str, ...]]
              ) -> set[tuple[str, ...]]:
        if not self._any:
            return set()
        by_hash = {key_hash(self._salt, kind, *k): k for k in keys}
        table = table_of(ErasedRecord)
        found: set[tuple[str, ...]] = set()
        hashes = list(by_hash)
        for start in range(0, len(hashes), 5000):
            chunk = hashes[start:start + 5000]
            found.update(by_hash[h] for h in self._session.connection().execute(
                select(table.c.key_hash).where(table.c.key_hash.in_(chunk))).scalars())
        return found

    def forget(self, kind: ErasedKind, keys: Iterable[tuple[str, ...]]) -> None:
        """The caller asked for these records back: stop recognising them as erased."""
        hashes = [key_hash(self._salt, kind, *k) for k in keys]
        if hashes:
            table = table_of(ErasedRecord)
            self._session.connection().execute(
                delete(table).where(table.c.key_hash.in_(hashes)))


# Records an import keys on (source, source_ref): deleted or erased, they are remembered.
_IMPORTED: dict[ErasedKind, type[Offence] | type[CustodyPeriod] | type[CohortMembership]
               | type[Referral]] = {
    ErasedKind.offence: Offence, ErasedKind.custody: CustodyPeriod,
    ErasedKind.membership: CohortMembership, ErasedKind.referral: Referral,
}


def _remember_imported(session: Session, kind: ErasedKind, source: str,
                       source_ref: str | None, reason: DeletionReason) -> None:
    # Only a record from an extract has a key a re-sent file could bring back.
    if source_ref is not None:
        _remember(session, kind, [(source, source_ref)], reason)


def _strip_decisions(session: Session, *where: object) -> None:
    decisions = table_of(Decision)
    session.connection().execute(update(decisions).where(*where).values(  # type: ignore[arg-type]
        person_id=None, shortlist_entry=None, rationale=ERASED_RATIONALE,
        membership_id=None, referral_id=None))


def erase_person(*, session: Session, person_id: int, reason: DeletionReason) -> None:
    """Erase a person and everything about them; remember their PNC ID and offence keys
    (hashed) so a re-import skips them."""
    person = person_or_404(session, person_id, for_update=True)
    _remember(session, ErasedKind.person, [(person.pnc_id,)], reason)
    for kind, imported in _IMPORTED.items():
        keyed = table_of(imported)
        refs = session.connection().execute(
            select(keyed.c.source, keyed.c.source_ref).where(
                keyed.c.person_id == person_id, keyed.c.source_ref.is_not(None))).all()
        _remember(session, kind, [(r.source, r.source_ref) for r in refs], reason)
    decisions = table_of(Decision)
    _strip_decisions(session, decisions.c.person_id == person_id)
    conn = session.connection()
    for model in (ScoreSnapshot, CurrentScore, Referral, CohortMembership, CustodyPeriod,
                  Offence, PersonArea):
        table = table_of(model)
        conn.execute(delete(table).where(table.c.person_id == person_id))
    session.delete(person)
    session.flush()
    session.expunge_all()  # nothing erased may linger in this session's identity map


def delete_offence(*, session: Session, offence: Offence, reason: DeletionReason) -> None:
    """Delete one offence; one from an extract is remembered so a re-import skips it."""
    _remember_imported(session, ErasedKind.offence, offence.source, offence.source_ref, reason)
    session.delete(offence)
    session.flush()


def delete_custody(*, session: Session, spell: CustodyPeriod, reason: DeletionReason) -> None:
    """Delete one custody spell; one from an extract is remembered so a re-import skips it."""
    _remember_imported(session, ErasedKind.custody, spell.source, spell.source_ref, reason)
    session.delete(spell)
    session.flush()


def delete_membership(*, session: Session, membership: CohortMembership,
                      reason: DeletionReason) -> None:
    """Delete a membership recorded in error; a decision that created or closed it stays,
    no longer pointing at it. One from an extract is remembered so a re-import skips it."""
    _remember_imported(session, ErasedKind.membership, membership.source,
                       membership.source_ref, reason)
    decisions = table_of(Decision)
    session.connection().execute(update(decisions).where(
        decisions.c.membership_id == membership.id).values(membership_id=None))
    session.delete(membership)
    session.flush()


def delete_referral(*, session: Session, referral: Referral, reason: DeletionReason) -> None:
    """Delete a referral recorded in error; a decision on it stays, unlinked. One from an
    extract is remembered so a re-import skips it."""
    _remember_imported(session, ErasedKind.referral, referral.source, referral.source_ref,
                       reason)
    decisions = table_of(Decision)
    session.connection().execute(update(decisions).where(
        decisions.c.referral_id == referral.id).values(referral_id=None))
    session.delete(referral)
    session.flush()

