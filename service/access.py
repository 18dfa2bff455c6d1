"""Area scope for person-level records: outside a key's areas a record does not exist.

We answer 404, not 403, so a key cannot learn that a person or membership exists in an
area it may not see; the refusal is still written to the audit trail and the log.
"""

import logging

from sqlmodel import Session

from models import AuditAction, CohortMembership, Person
from service.audit import Auditor
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


def visible_membership(session: Session, auditor: Auditor,
                       membership_id: int) -> CohortMembership:
    """The membership if the caller's areas include its area; 404 (audited) otherwise."""
    membership = get_or_404(session, CohortMembership, membership_id, what="membership")
    if not auditor.principal.can_see(membership.area):
        raise _refuse(auditor, "membership", membership_id, membership.person_id)
    return membership


def writable_membership(session: Session, auditor: Auditor,
                        membership_id: int) -> CohortMembership:
    """The membership if the caller may see both its area and its person; 404 otherwise."""
    membership = visible_membership(session, auditor, membership_id)
    person = person_or_404(session, membership.person_id)
    if not auditor.principal.can_see(person.home_area):
        raise _refuse(auditor, "membership", membership_id, membership.person_id)
    return membership


def require_area(auditor: Auditor, area: str | None, *, field: str) -> None:
    """Refuse (403) a write that names an area outside the caller's areas."""
    if area is not None and not auditor.principal.can_see(area):
        raise Forbidden(f"this key may not write records for area {area}",
                        errors=[{"loc": ["body", field], "msg": "outside the key's areas",
                                 "type": "forbidden_area"}])


def require_area_visible(principal: Principal, area: str) -> None:
    """Refuse (403) an area-level listing outside the key's areas."""
    if not principal.can_see(area):
        raise Forbidden(f"this key may not see shortlists for area {area}",
                        errors=[{"loc": ["query", "area"], "msg": "outside the key's areas",
                                 "type": "forbidden_area"}])
