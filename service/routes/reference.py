"""Reference data: areas, cohort streams and the offence catalogue."""

from fastapi import APIRouter

from models import AreaRead, StreamRead
from models.catalogue import CatalogueRead
from service.deps import CatalogueDep, SessionDep
from service.store import reference as store

router = APIRouter(tags=["reference"])


@router.get("/areas", response_model=list[AreaRead])
def list_areas(session: SessionDep) -> list[AreaRead]:
    """The areas (BCUs / local authority areas) this deployment reports on."""
    return store.list_areas(session)


@router.get("/streams", response_model=list[StreamRead])
def list_streams(session: SessionDep) -> list[StreamRead]:
    """The cohort streams memberships can belong to."""
    return store.list_streams(session)


@router.get("/catalogue/offence-types", response_model=CatalogueRead)
def list_offence_types(catalogue: CatalogueDep) -> CatalogueRead:
    """The offence catalogue in use: gravity, harm and unit cost per type, each with its
    source; the Home Office subgroup mapping with its harm medians; every Home Office code
    with its type, how it was mapped and its harm; the code lists and their sources."""
    return store.catalogue_read(catalogue)
