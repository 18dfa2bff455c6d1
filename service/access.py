"""Area scope for person-level records: outside a key's areas a record does not exist.

A person-level record is visible to an area-limited key only when the key may see the
person's *current* home area and, where the record has an area of its own (a membership,
a referral, a meeting), that area too. We answer 404, not 403, so a key cannot learn that
a person or record exists in an area it may not see; the refusal is still written to the
audit trail and the log. A listing that spans areas (a meeting's decisions, a shortlist)
omits the rows a key may not see and says how many it withheld, without naming them.
"""

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import RowMapping, Select, Table, bindparam, insert
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from models import AuditAction, CohortMembership, Person
from service.audit import AUDIT_EVENTS, Auditor
from service.errors import NotFound
from service.security import Forbidden, Principal
from service.store.common import get_or_404, person_or_404

log = logging.getLogger(__name__)


def _refuse(auditor: Auditor, what: str, key: int, person_id: int) -> NotFound:
    log.warning("refused %s %s: outside the key's areas (key %s)", what, key,
                auditor.principal.key_id)
    auditor.record(AuditAction.consultation, person_ids=[person_id], status=404,
                   detail="refused: outside the key's areas")
    return NotFound(f"{what} {key} not found")


def visible_person(session: Session, auditor: Auditor, person_id: int) -> Person:
    """The person if the caller's areas include their home area; 404 (audited) otherwise."""
    person = person_or_404(session, person_id)
    if not auditor.principal.can_see(person.home_area):
        raise _refuse(auditor, "person", person_id, person_id)
    return person


PERSONS: Table = Person.__table__  # type: ignore[attr-defined]
# Built once: a statement made per call is compiled (or its cache key built) per call.
_PERSON_ROW = core_select(PERSONS).where(PERSONS.c.id == bindparam("person_id"))


def visible_person_row(session: Session, auditor: Auditor, person_id: int) -> RowMapping:
    """As `visible_person`, for a read that changes nothing: the row by one Core SELECT,
    without the ORM's instance, identity map and loading (half the Python of
    `Session.get`: docs/benchmarks.md, "The shared path in one hop")."""
    row = session.connection().execute(_PERSON_ROW, {"person_id": person_id}).mappings().first()
    return seen_person_row(auditor, row, person_id)


def seen_person_row(auditor: Auditor, row: RowMapping | None, person_id: int) -> RowMapping:
    """`visible_person_row` for a row the caller read itself (None: no such person)."""
    if row is None:
        raise NotFound(f"person {person_id} not found")
    if not auditor.principal.can_see(row["home_area"]):
        raise _refuse(auditor, "person", person_id, person_id)
    return row


def _person_with_event(area_limited: bool) -> Select[Any]:
    # WITH person AS (SELECT ... WHERE id = :person_id),
    #      event AS (INSERT INTO audit_events (...) SELECT :at, ... FROM person
    #                [WHERE home_area IN :areas] RETURNING id)
    # SELECT person.*, (SELECT id FROM event) AS event_id FROM person
    # PostgreSQL runs a data-modifying WITH once, whether or not the query reads it.
    person = _PERSON_ROW.cte("person")
    columns = [c for c in AUDIT_EVENTS.c if c.name != "id"]
    values = core_select(*[bindparam(f"event_{c.name}", type_=c.type) for c in columns]
                         ).select_from(person)
    if area_limited:
        values = values.where(person.c.home_area.in_(bindparam("areas", expanding=True)))
    event = (insert(AUDIT_EVENTS).from_select([c.name for c in columns], values)
             .returning(AUDIT_EVENTS.c.id).cte("event"))
    return core_select(person, core_select(event.c.id).scalar_subquery().label("event_id"))


# Built once each, for an all-area key and an area-limited one.
_PERSON_WITH_EVENT = {limited: _person_with_event(limited) for limited in (False, True)}


def consulted_person(session: Session, auditor: Auditor, person_id: int, *,
                     justification: str) -> RowMapping:
    """As `visible_person_row` followed by the consultation's audit event, for a read
    that has nothing left to fail after it.

    On PostgreSQL the read and the event are one statement, a round trip less (the event
    is written only if the person is there and in the caller's areas; a refusal is written
    as `visible_person_row` writes it). SQLite has no INSERT inside WITH: two statements.
    """
    if session.connection().dialect.name != "postgresql":
        person = visible_person_row(session, auditor, person_id)
        auditor.record(AuditAction.consultation, person_ids=[person_id],
                       justification=justification)
        return person
    areas = auditor.principal.areas
    params = {f"event_{name}": value for name, value in auditor.values(
        AuditAction.consultation, person_ids=[person_id], justification=justification).items()}
    params["person_id"] = person_id
    if areas is not None:
        params["areas"] = sorted(areas)
    row = session.connection().execute(_PERSON_WITH_EVENT[areas is not None], params
                                       ).mappings().first()
    if row is None:
        raise NotFound(f"person {person_id} not found")
    if row["event_id"] is None:
        raise _refuse(auditor, "person", person_id, person_id)
    session.commit()  # the event, where the session is in a transaction (autocommit: no-op)
    return row


def visible_membership(session: Session, auditor: Auditor,
                       membership_id: int) -> CohortMembership:
    """The membership if the caller may see both its area and its person's home area;
    404 (audited) otherwise."""
    membership = get_or_404(session, CohortMembership, membership_id, what="membership")
    if not auditor.principal.can_see(membership.area) or not auditor.principal.can_see(
            person_or_404(session, membership.person_id).home_area):
        raise _refuse(auditor, "membership", membership_id, membership.person_id)
    return membership


def require_area(auditor: Auditor, area: str | None, *, field: str) -> None:
    """Refuse (403) a write that names an area outside the caller's areas."""
    if area is not None and not auditor.principal.can_see(area):
        raise Forbidden(f"this key may not write records for area {area}",
                        errors=[{"loc": ["body", field], "msg": "outside the key's areas",
                                 "type": "forbidden_area"}])


def require_area_visible(principal: Principal, area: str | None, *,
                         loc: tuple[str, str] = ("query", "area")) -> None:
    """Refuse (403) an area-level listing or batch outside the key's areas; None (every
    area) is for all-area keys only."""
    if not (principal.can_see(area) if area is not None else principal.areas is None):
        raise Forbidden(f"this key may not see {f'area {area}' if area else 'every area'}",
                        errors=[{"loc": list(loc), "msg": "outside the key's areas",
                                 "type": "forbidden_area"}])


def visible_person_ids(session: Session, principal: Principal,
                       person_ids: Iterable[int | None]) -> set[int]:
    """Of these people, those whose current home area the key may see (all, for an
    all-area key; an erased person's id, None, never)."""
    ids = {i for i in person_ids if i is not None}
    if principal.areas is None or not ids:
        return ids
    return set(session.exec(select(Person.id).where(
        col(Person.id).in_(sorted(ids)), col(Person.home_area).in_(sorted(principal.areas))
    )).all())  # type: ignore[arg-type]


WITHHELD_ROWS = ("candidates", "excluded", "members")


def withhold_listing(session: Session, principal: Principal,
                     listing: dict[str, Any]) -> dict[str, Any]:
    """A shortlist or exit review without the rows of people the key may not see.

    An area's list also holds people who live elsewhere (referred in, or moved since the
    day asked about). For an area-limited key their rows go, and `withheld` counts them,
    so the list is honest about being partial without saying who is missing.
    """
    rows = {k: listing[k] for k in WITHHELD_ROWS if k in listing}
    seen = visible_person_ids(session, principal,
                              (r["person_id"] for kept in rows.values() for r in kept))
    kept = {k: [r for r in v if r["person_id"] in seen] for k, v in rows.items()}
    withheld = sum(len(v) for v in rows.values()) - sum(len(v) for v in kept.values())
    return {**listing, **kept, "withheld": withheld}
