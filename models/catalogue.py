"""API schemas of the offence catalogue (GET /catalogue/offence-types): no tables here."""

from pydantic import BaseModel


class OffenceTypeRead(BaseModel):
    offence_type: str
    label: str
    offence_group: str
    neighbourhood_crime: bool
    gravity: int
    harm_weight: float
    unit_cost_gbp: float
    cost_confirmed: bool
    cost_source: str
    ho_codes: list[str]


class CatalogueRead(BaseModel):
    version: str
    cost_table: str
    offence_types: list[OffenceTypeRead]
