"""Reference data: areas, cohort streams and the offence catalogue."""

from fastapi import APIRouter
from sqlmodel import select

from models import Area, AreaRead, Stream, StreamRead
from models.catalogue import CatalogueRead, OffenceTypeRead
from service.deps import CatalogueDep, SessionDep

router = APIRouter(tags=["reference"])


@router.get("/areas", response_model=list[AreaRead])
def list_areas(session: SessionDep) -> list[AreaRead]:
    """The areas (BCUs / local authority areas) this deployment reports on."""
    return [AreaRead.model_validate(a) for a in session.exec(select(Area).order_by(Area.code))]


@router.get("/streams", response_model=list[StreamRead])
def list_streams(session: SessionDep) -> list[StreamRead]:
    """The cohort streams memberships can belong to."""
    return [StreamRead.model_validate(s)
            for s in session.exec(select(Stream).order_by(Stream.code))]


@router.get("/catalogue/offence-types", response_model=CatalogueRead)
def list_offence_types(catalogue: CatalogueDep) -> CatalogueRead:
    """The offence catalogue in use: gravity, harm weight, unit cost (with source), HO codes."""
    rows = [OffenceTypeRead(offence_type=str(key), **row)
            for key, row in catalogue.table.to_dict(orient="index").items()]
    return CatalogueRead(version=catalogue.version, cost_table=catalogue.cost_table,
                         offence_types=rows)
