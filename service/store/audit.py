"""Reading the audit trail (admins only; there is no way to change it)."""

from datetime import datetime

from sqlalchemy import String, cast
from sqlmodel import Session, select

from models import AuditEvent
from service.deps import Paging
from service.store.common import page


def find_events(*, session: Session, paging: Paging, person_id: int | None = None,
                key_id: int | None = None, actor: str | None = None,
                from_: datetime | None = None,
                to: datetime | None = None) -> tuple[list[AuditEvent], int]:
    """Audit events by person touched, key or person acting (the identity provider's
    subject) and time range (`from_` inclusive, `to` exclusive)."""
    query = select(AuditEvent)
    if key_id is not None:
        query = query.where(AuditEvent.key_id == key_id)
    if actor is not None:
        query = query.where(AuditEvent.actor_subject == actor)
    if from_ is not None:
        query = query.where(AuditEvent.at >= from_)
    if to is not None:
        query = query.where(AuditEvent.at < to)
    if person_id is not None:
        # person_ids is a JSON list of integers such as [3, 17]; match the whole number.
        text = cast(AuditEvent.person_ids, String)  # type: ignore[arg-type]
        query = query.where(
            text.like(f"[{person_id},%") | text.like(f"% {person_id},%")
            | text.like(f"% {person_id}]") | text.like(f"[{person_id}]")
            | text.like(f"%,{person_id},%") | text.like(f"%,{person_id}]")
        )
    return page(session, query, paging, AuditEvent.id)
