"""Reference data: the areas and cohort streams records may name, and the catalogue."""

import math
from typing import Any

from sqlmodel import Session, select

from models import Area, AreaRead, Stream, StreamRead
from models.catalogue import (
    CatalogueRead,
    CodeListRead,
    HoCodeRead,
    HoSubgroupRead,
    OffenceTypeRead,
)
from scoring.catalogue import OffenceCatalogue


def list_areas(session: Session) -> list[AreaRead]:
    """Every area, by code."""
    return [AreaRead.model_validate(a) for a in session.exec(select(Area).order_by(Area.code))]


def list_streams(session: Session) -> list[StreamRead]:
    """Every cohort stream, by code."""
    return [StreamRead.model_validate(s)
            for s in session.exec(select(Stream).order_by(Stream.code))]


# Catalogue cells that may be absent: NaN (no figure) and "" (no code list) answer null.
_NULLABLE = {"mapping_note", "harm_days", "harm_source", "code_list", "chi_subgroup"}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    def cell(key: str, value: Any) -> Any:
        missing = value is None or value == "" or (isinstance(value, float)
                                                  and math.isnan(value))
        return None if key in _NULLABLE and missing else value
    return {k: cell(k, v) for k, v in row.items()}


def catalogue_read(catalogue: OffenceCatalogue) -> CatalogueRead:
    """The catalogue in use with every figure's source: types, subgroups, codes, code lists."""
    types = [OffenceTypeRead(offence_type=str(key), **row)
             for key, row in catalogue.table.to_dict(orient="index").items()]
    subgroups = [HoSubgroupRead(offence_subgroup=str(name), **_plain(row))
                 for name, row in catalogue.subgroups.to_dict(orient="index").items()]
    codes = [HoCodeRead(**_plain(row)) for row in catalogue.codes.to_dict(orient="records")]
    lists = [CodeListRead(path=c.path, source=c.source, licence=c.licence)
             for c in catalogue.code_lists]
    return CatalogueRead(version=catalogue.version, cost_table=catalogue.cost_table,
                         offence_types=types, ho_subgroups=subgroups, ho_codes=codes,
                         code_lists=lists)
