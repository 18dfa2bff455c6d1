"""Offences: map to the catalogue, refuse impossible dates, never duplicate a source record."""

from datetime import date
from typing import Any

from sqlmodel import Session, select

from models import Offence, OffenceCreate, OffenceUpdate, Person
from scoring.catalogue import OffenceCatalogue
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.store.common import (
    page,
    person_or_404,
    persons_record_or_404,
    versioned_update,
)

# Fields that describe the offence itself: a re-sent record with the same (source,
# source_ref) and these values is "unchanged"; any difference updates the stored row
# (e.g. the outcome moving from charge to conviction in a later extract).
MUTABLE_FIELDS = ("offence_date", "offence_type", "ho_code", "domestic_abuse", "victim_ref",
                  "outcome", "outcome_date")


def resolve_offence_type(catalogue: OffenceCatalogue, offence_type: str | None,
                         ho_code: str | None) -> tuple[str, str | None]:
    """The catalogue key for an offence given by key or Home Office code (ValueError if neither
    is known, or if both are given and disagree)."""
    from_code = catalogue.type_for_ho_code(ho_code) if ho_code else None
    if ho_code and from_code is None:
        raise ValueError(f"unknown Home Office offence code {ho_code!r}")
    if offence_type is not None and offence_type not in catalogue:
        raise ValueError(f"unknown offence_type {offence_type!r}")
    if offence_type is not None and from_code is not None and offence_type != from_code:
        raise ValueError(f"ho_code {ho_code} maps to {from_code}, not {offence_type}")
    resolved = offence_type or from_code
    if resolved is None:
        raise ValueError("give offence_type or ho_code")
    return resolved, ho_code


def catalogue_field(catalogue: OffenceCatalogue, ho_code: str | None) -> str:
    """The field to blame when an offence does not map to the catalogue."""
    if ho_code and catalogue.type_for_ho_code(ho_code) is None:
        return "ho_code"
    return "offence_type"


def check_against_person(offence_in: OffenceCreate, born: date) -> None:
    """An offence cannot predate the person's birth (ValueError naming the field)."""
    if offence_in.offence_date < born:
        raise ValueError("offence_date is before the person's date_of_birth")


def offence_values(offence_in: OffenceCreate, catalogue: OffenceCatalogue) -> dict[str, Any]:
    """The column values for a validated offence (raises ValueError on catalogue mismatch)."""
    offence_type, ho_code = resolve_offence_type(catalogue, offence_in.offence_type,
                                                 offence_in.ho_code)
    values = offence_in.model_dump()
    values.update(offence_type=offence_type, ho_code=ho_code)
    return values


def add_offence(*, session: Session, person_id: int, offence_in: OffenceCreate,
                catalogue: OffenceCatalogue) -> tuple[Offence, bool]:
    """Record an offence for a person. Returns (offence, created).

    Re-sending a record with the same (source, source_ref) never duplicates it: identical
    content returns the stored row; changed content for the same person updates it; the same
    reference for a different person is a conflict.
    """
    person: Person = person_or_404(session, person_id, for_update=True)
    try:
        values = offence_values(offence_in, catalogue)
    except ValueError as exc:
        raise invalid_field(["body", "offence_type"], str(exc)) from exc
    try:
        check_against_person(offence_in, person.date_of_birth)
    except ValueError as exc:
        raise invalid_field(["body", "offence_date"], str(exc)) from exc
    if offence_in.source_ref is not None:
        existing = session.exec(select(Offence).where(
            Offence.source == offence_in.source, Offence.source_ref == offence_in.source_ref,
        )).first()
        if existing is not None:
            if existing.person_id != person_id:
                raise Conflict(f"{offence_in.source}/{offence_in.source_ref} is already recorded "
                               f"for another person")
            if any(getattr(existing, f) != values[f] for f in MUTABLE_FIELDS):
                for f in MUTABLE_FIELDS:
                    setattr(existing, f, values[f])
                existing.version += 1
                session.add(existing)
                session.flush()
                session.refresh(existing)
            return existing, False
    offence = Offence(person_id=person_id, **values)
    session.add(offence)
    session.flush()
    session.refresh(offence)
    return offence, True


def list_offences(*, session: Session, person_id: int, paging: Paging
                  ) -> tuple[list[Offence], int]:
    """A person's offences, oldest first."""
    person_or_404(session, person_id)
    query = select(Offence).where(Offence.person_id == person_id)
    return page(session, query, paging, Offence.offence_date, Offence.id)


def get_offence(*, session: Session, person_id: int, offence_id: int) -> Offence:
    """One of a person's offences (404 if it is not theirs)."""
    return persons_record_or_404(session, Offence, offence_id, person_id=person_id,
                                 what="offence")


def _corrected_type(catalogue: OffenceCatalogue, current: Offence,
                    data: dict[str, Any]) -> dict[str, Any]:
    """offence_type and ho_code after a correction naming either or both."""
    if "offence_type" not in data and "ho_code" not in data:
        return {}
    offence_type, ho_code = data.get("offence_type"), data.get("ho_code")
    if offence_type is None and ho_code is None:
        raise invalid_field(["body", "offence_type"], "give offence_type or ho_code")
    try:
        resolved, code = resolve_offence_type(catalogue, offence_type, ho_code)
    except ValueError as exc:
        raise invalid_field(["body", catalogue_field(catalogue, ho_code)], str(exc)) from exc
    if "ho_code" not in data and current.ho_code is not None \
            and catalogue.type_for_ho_code(current.ho_code) == resolved:
        code = current.ho_code  # the old code still says the same type
    return {"offence_type": resolved, "ho_code": code}


def update_offence(*, session: Session, person_id: int, offence_id: int,
                   changes: OffenceUpdate, catalogue: OffenceCatalogue,
                   expected_version: int) -> Offence:
    """PATCH an offence (a correction: outcome, type, date, flags) if the caller read the
    current version; the merged record keeps the create rules."""
    person = person_or_404(session, person_id, for_update=True)
    current = get_offence(session=session, person_id=person_id, offence_id=offence_id)
    data = changes.model_dump(exclude_unset=True)
    for field in ("offence_date", "domestic_abuse", "outcome"):
        if field in data and data[field] is None:
            raise invalid_field(["body", field], f"{field} cannot be removed")
    data.update(_corrected_type(catalogue, current, data))
    offence_date = data.get("offence_date", current.offence_date)
    outcome_date = data.get("outcome_date", current.outcome_date)
    if offence_date < person.date_of_birth:
        raise invalid_field(["body", "offence_date"],
                            "offence_date is before the person's date_of_birth")
    if outcome_date is not None and outcome_date < offence_date:
        raise invalid_field(["body", "outcome_date"], "outcome_date cannot be before offence_date")
    return versioned_update(session, Offence, offence_id, expected_version=expected_version,
                            values=data, what="offence")
