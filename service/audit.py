"""The audit trail of person-level processing (DPA 2018 Part 3 s.62).

Routes record what they did through the `AuditDep` dependency: the action, the people
touched, the justification given, and any export's id. A write's event commits the write
(see `Auditor.record`). Rows are append-only (database triggers refuse UPDATE and DELETE).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlmodel import Session

from models import AuditAction, AuditEvent
from models.base import utcnow
from models.imports import ImportSummary
from service.deps import SessionDep
from service.security import Principal, authenticated

AUDIT_EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
# Built once: a statement made per call is compiled (or its cache key built) per call.
_INSERT_EVENT = insert(AUDIT_EVENTS).returning(AUDIT_EVENTS.c.id)


@dataclass
class Auditor:
    session: Session
    principal: Principal
    request: Request

    def record(self, action: AuditAction, *, person_ids: Iterable[int | None] = (),
               justification: str | None = None, export_id: str | None = None,
               status: int = 200, detail: str | None = None) -> dict[str, Any]:
        """Write one audit event and commit it with the request's pending writes; the
        event's columns, its id among them.

        Stores flush a change and leave the commit to its audit event, so a change and the
        record of who made it are one transaction: both are there or neither is. A
        consultation or refusal has nothing pending, so its event commits alone.
        """
        event = self.values(action, person_ids=person_ids, justification=justification,
                            export_id=export_id, status=status, detail=detail)
        # One Core INSERT rather than the unit of work's flush of a new object: the same
        # statement at a fraction of the Python (docs/benchmarks.md, "Under load"). The
        # request's own pending changes are flushed by the commit, in the same transaction.
        event["id"] = self.session.connection().execute(_INSERT_EVENT, event).scalar_one()
        self.session.commit()
        return event

    def values(self, action: AuditAction, *, person_ids: Iterable[int | None] = (),
               justification: str | None = None, export_id: str | None = None,
               status: int = 200, detail: str | None = None) -> dict[str, Any]:
        """An event's columns but its id, for this request and caller.

        The row's values as they are, not an AuditEvent: building and dumping the table
        model cost ten times the INSERT's own Python (docs/benchmarks.md, "The shared path
        in one hop"). tests/service/test_security.py checks they name every column.
        """
        route = self.request.scope.get("route")
        person = self.principal.subject is not None
        return {
            "at": utcnow(), "key_id": self.principal.key_id,
            "key_name": None if person else self.principal.name,
            "actor_subject": self.principal.subject,
            "actor_name": self.principal.name if person else None,
            "role": self.principal.role.value, "action": action,
            "method": self.request.method,
            "route": getattr(route, "path", None) or self.request.url.path,
            "status": status, "person_ids": sorted({p for p in person_ids if p is not None}),
            "export_id": export_id, "justification": justification,
            "request_id": getattr(self.request.state, "request_id", None), "detail": detail,
        }


async def get_auditor(request: Request, session: SessionDep) -> Auditor:
    """An auditor bound to this request and caller (async: it only binds them, no I/O)."""
    return Auditor(session=session, principal=authenticated(request), request=request)


AuditDep = Annotated[Auditor, Depends(get_auditor)]


def changed_fields(changes: BaseModel) -> str:
    """The fields a PATCH set, for an alteration's audit detail: names only, never values
    (the values can be personal data)."""
    return ",".join(sorted(changes.model_dump(exclude_unset=True)))


def import_event(kind: str, summary: ImportSummary,
                 restore_erased: bool) -> tuple[AuditAction, str]:
    """An import's audit action and detail: one event per file, counts only (no values)."""
    action = AuditAction.alteration if summary.updated and not summary.inserted \
        else AuditAction.collection
    return action, (f"{kind} import: {summary.rows} rows, {summary.inserted} inserted, "
                    f"{summary.updated} updated, {summary.unchanged} unchanged, "
                    f"{summary.skipped_erased} skipped as erased"
                    f"{' (erased records restored)' if restore_erased else ''}")


def record_sign_in_refusal(session: Session, request: Request, *, subject: str, name: str,
                           detail: str) -> AuditEvent:
    """A person the identity provider signed in but whom the claims mapping gives no access:
    recorded under their own subject and name (no key, no role)."""
    event = AuditEvent(actor_subject=subject[:300], actor_name=name[:200],
                       action=AuditAction.consultation, method=request.method,
                       route=request.url.path, status=403, person_ids=[],
                       request_id=getattr(request.state, "request_id", None), detail=detail)
    session.add(event)
    session.commit()
    return event


# Who the command line acts as: a local administrator with no key.
LOCAL_ADMIN = "cli"


def record_local(session: Session, action: AuditAction, *, command: str,
                 person_ids: Iterable[int], detail: str) -> AuditEvent:
    """The audit event of a command-line job, committed with its pending writes, as
    `Auditor.record` commits a request's."""
    event = AuditEvent(key_id=None, key_name=LOCAL_ADMIN, role="admin", action=action,
                       method="CLI", route=command, status=200,
                       person_ids=sorted(set(person_ids)), detail=detail)
    session.add(event)
    session.commit()
    return event
