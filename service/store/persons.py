"""People: create, read, find by PNC ID, update with optimistic concurrency."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Area, Person, PersonCreate, PersonUpdate
from models.identifiers import canonical_pnc_id
from scoring.uk_calendar import uk_today
from service.deps import Paging
from service.errors import Conflict, invalid_field
from service.store.areas import record_move
from service.store.common import page, person_or_404, require_reference, versioned_update


def create_person(*, session: Session, person_in: PersonCreate,
                  areas: frozenset[str] | None = None) -> Person:
    """Store a new person; a PNC ID already on file is a conflict, which names the person
    on file only to a key that may see them (`areas`: the caller's, None for all)."""
    require_reference(session, Area, person_in.home_area, field="home_area")
    existing = session.exec(select(Person.id, Person.home_area).where(
        Person.pnc_id == person_in.pnc_id)).first()
    if existing is not None:
        existing_id, lives_in = existing
        seen = areas is None or lives_in in areas
        raise Conflict("a person with this PNC ID already exists"
                       + (f" (id {existing_id})" if seen else ""))
    person = Person.model_validate(person_in)
    session.add(person)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same PNC ID
        session.rollback()
        raise Conflict("a person with this PNC ID already exists") from exc
    session.refresh(person)
    return person


def find_persons(*, session: Session, paging: Paging, pnc_id: str | None = None,
                 home_area: str | None = None, areas: frozenset[str] | None = None,
                 ) -> tuple[list[Person], int]:
    """People, optionally by PNC ID (any accepted form) or home area, ordered by id.

    `areas` limits the result to people whose home area is one of them (None: all areas).
    An unknown home area is a 422, as it is on every route, not an empty page.
    """
    if home_area is not None:
        require_reference(session, Area, home_area, field="home_area", where="query")
    query = select(Person)
    if areas is not None:
        query = query.where(Person.home_area.in_(sorted(areas)))  # type: ignore[attr-defined]
    if pnc_id is not None:
        try:
            canonical = canonical_pnc_id(pnc_id)
        except ValueError as exc:
            raise invalid_field(["query", "pnc_id"], str(exc)) from exc
        query = query.where(Person.pnc_id == canonical)
    if home_area is not None:
        query = query.where(Person.home_area == home_area)
    return page(session, query, paging, Person.id)


def update_person(*, session: Session, person_id: int, changes: PersonUpdate,
                  expected_version: int) -> Person:
    """Apply a PATCH if the caller read the current version; otherwise StaleVersion. A new
    home_area is a move on `moved_on` (default today), kept in the area history."""
    person = person_or_404(session, person_id)
    data = changes.model_dump(exclude_unset=True)
    for field in ("date_of_birth", "sex", "home_area"):
        if field in data and data[field] is None:
            raise invalid_field(["body", field], "cannot be null",
                                detail=f"{field} cannot be removed")
    moved_on = data.pop("moved_on", None)
    if "home_area" in data:
        require_reference(session, Area, data["home_area"], field="home_area")
        person = person_or_404(session, person_id, for_update=True)
        record_move(session, person, to_area=data["home_area"],
                    moved_on=moved_on or uk_today())
    born = data.get("date_of_birth", person.date_of_birth)
    died = data.get("deceased_on", person.deceased_on)
    if died is not None and died < born:
        raise invalid_field(["body", "deceased_on"], "before date_of_birth",
                            detail="deceased_on cannot be before date_of_birth")
    return versioned_update(session, Person, person_id, expected_version=expected_version,
                            values=data, what="person")
