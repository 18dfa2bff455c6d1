"""API schemas of the offence catalogue (GET /catalogue/offence-types): no tables here."""


from pydantic import BaseModel, Field

from models.enums import CodeMapping


class OffenceTypeRead(BaseModel):
    offence_type: str
    label: str
    offence_group: str
    neighbourhood_crime: bool
    gravity: int = Field(description="ACPO/NPCC adult Gravity Factor Matrix scale, 1 (low) "
                                     "to 4 (high)")
    gravity_source: str = Field(description="Where the gravity level comes from")
    harm_weight: float = Field(description="Cambridge Crime Harm Index days: the median over "
                                           "the Home Office codes mapped to the type, or a "
                                           "stated figure where no code has one")
    harm_source: str = Field(description="How harm_weight was found, and its source")
    unit_cost_gbp: float
    cost_confirmed: bool
    cost_source: str
    ho_codes: list[str] = Field(description="The Home Office codes mapped to this type")


class HoSubgroupRead(BaseModel):
    offence_subgroup: str = Field(description="Home Office offence subgroup")
    offence_type: str = Field(description="The catalogue type its codes map to")
    harm_days: float | None = Field(description="The subgroup's Cambridge Crime Harm Index "
                                                "median days (null: no source gives one)")
    harm_source: str
    chi_subgroup: str | None = Field(description="The subgroup's name in the CCHI tabulation")


class HoCodeRead(BaseModel):
    ho_code: str = Field(description="As the code list writes it")
    description: str
    offence_group: str = Field(description="Home Office offence group")
    offence_subgroup: str = Field(description="Home Office offence subgroup")
    offence_type: str
    mapped_by: CodeMapping = Field(
        description="Through its subgroup, or by hand (mapping_note says why)")
    mapping_note: str | None
    harm_days: float | None = Field(description="Its own CCHI days if the force imported "
                                                "them, else its subgroup's median")
    harm_source: str | None
    code_list: str | None = Field(description="The code list it was read from")


class CodeListRead(BaseModel):
    path: str
    source: str
    licence: str


class CatalogueRead(BaseModel):
    version: str
    cost_table: str
    offence_types: list[OffenceTypeRead]
    ho_subgroups: list[HoSubgroupRead]
    ho_codes: list[HoCodeRead]
    code_lists: list[CodeListRead]
