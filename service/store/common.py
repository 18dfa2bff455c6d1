"""Helpers the resource modules share: lookups that raise domain errors, counting, paging."""

from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy import update as sa_update
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from models import Area, Person, Stream
from models.base import utcnow
from service.deps import Paging
from service.errors import NotFound, StaleVersion, invalid_field

T = TypeVar("T", bound=SQLModel)


def get_or_404(session: Session, model: type[T], key: Any, *, what: str,
               for_update: bool = False) -> T:
    """The row with this primary key, or NotFound."""
    row = session.get(model, key, with_for_update=for_update)
    if row is None:
        raise NotFound(f"{what} {key} not found")
    return row


def person_or_404(session: Session, person_id: int, *, for_update: bool = False) -> Person:
    """A person by id, or NotFound (`for_update` serialises writes about that person)."""
    return get_or_404(session, Person, person_id, what="person", for_update=for_update)


def persons_record_or_404(session: Session, model: type[T], key: int, *, person_id: int,
                          what: str) -> T:
    """One of a person's records (an offence, a custody spell); NotFound if it is not
    theirs, exactly as if it did not exist."""
    row = session.get(model, key)
    if row is None or getattr(row, "person_id", None) != person_id:
        raise NotFound(f"{what} {key} not found")
    return row


def require_reference(session: Session, model: type[Area] | type[Stream], code: str, *,
                      field: str, where: str = "body", type: str = "unknown_reference") -> None:
    """Refuse (422 on `field` of the body or query) a code not in the reference table."""
    if session.get(model, code) is None:
        kind = "area" if model is Area else "stream"
        raise invalid_field([where, field], f"unknown {kind} {code!r}", type=type)


def page(session: Session, query: SelectOfScalar[T], paging: Paging,
         *order_by: Any) -> tuple[list[T], int]:
    """One page of `query` in a stable order, with the total count of matching rows."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order_by).limit(paging.limit).offset(paging.offset)).all()
    return list(rows), int(total)


def versioned_update(session: Session, model: type[T], key: int, *, expected_version: int,
                     values: dict[str, Any], what: str) -> T:
    """UPDATE ... WHERE version = expected; StaleVersion if someone got there first.

    The change is flushed, not committed: the caller's audit event commits it (one
    transaction, so there is never a change without its record).

    The version check is in the UPDATE itself, so two writers racing on any database cannot
    both succeed (a read-then-write check would let the second overwrite the first).
    """
    table: Any = model
    stmt = (
        sa_update(table)
        .where(table.id == key, table.version == expected_version)
        .values(**values, version=table.version + 1, updated_at=utcnow())
    )
    result = session.execute(stmt)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = session.get(model, key)
        if current is None:
            raise NotFound(f"{what} {key} not found")
        raise StaleVersion(f"{what} {key} is at version {current.version}, "  # type: ignore[attr-defined]
                           f"not {expected_version}: read it again")
    session.flush()
    row = session.get(model, key, populate_existing=True)
    assert row is not None
    return row
