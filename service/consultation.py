"""Person-level consultations: reads of one record whose only write is their audit event.

Such a route (one person, their areas or score, one offence, custody spell, membership or
referral) is an `async def` taking `ConsultationDep`, and does its database work (the
record, the area check, the audit event) in one worker-thread hop. A sync handler cost
two more: FastAPI runs it in the thread pool, then validates its answer there too; and
the role check, justification, session and auditor were four dependencies, each walked
again with the key check under it, where this is one (docs/benchmarks.md, "The shared
path in one hop").
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from models import AuditAction
from service.audit import Auditor
from service.deps import ConsultationSessionDep
from service.security import JustificationHeader, PersonLevel


@dataclass(frozen=True)
class Consultation:
    """The request's session (autocommit on PostgreSQL: service/db.py), its auditor and the
    caller's justification."""

    session: Session
    audit: Auditor
    justification: str

    def record(self, person_ids: Iterable[int | None], *, detail: str | None = None) -> None:
        """The consultation's audit event (committed before the answer is sent)."""
        self.audit.record(AuditAction.consultation, person_ids=person_ids,
                          justification=self.justification, detail=detail)


async def get_consultation(principal: PersonLevel, session: ConsultationSessionDep,
                           request: Request,
                           x_justification: JustificationHeader) -> Consultation:
    """A person-level read's session, auditor and justification, after the role check
    (async: it only binds them, no I/O)."""
    return Consultation(session=session,
                        audit=Auditor(session=session, principal=principal, request=request),
                        justification=x_justification.strip())


# The role check is its first dependency, before anything of the request is read.
get_consultation.checks_access = True  # type: ignore[attr-defined]
ConsultationDep = Annotated[Consultation, Depends(get_consultation)]

