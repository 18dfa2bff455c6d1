"""People known to the IOM team."""

from datetime import date, datetime

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from models.base import enum_column, timestamp_field
from models.enums import Ethnicity, Sex
from models.identifiers import PNC_PATTERN, canonical_pnc_id
from scoring.uk_calendar import uk_today


def _check_birth_and_death(born: date | None, died: date | None) -> None:
    today = uk_today()
    if born is not None and born > today:
        raise ValueError("date_of_birth cannot be in the future")
    if died is not None and died > today:
        raise ValueError("deceased_on cannot be in the future")
    if born is not None and died is not None and died < born:
        raise ValueError("deceased_on cannot be before date_of_birth")


class PersonFields(SQLModel):
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    sex: Sex = Field(default=Sex.unknown, sa_column=enum_column(Sex))
    # Protected characteristic: kept for fairness monitoring and panel breakdowns only.
    ethnicity: Ethnicity | None = Field(default=None, sa_type=String(2))
    home_area: str = Field(foreign_key="areas.code", max_length=32)
    deceased_on: date | None = None


class Person(PersonFields, table=True):
    __tablename__ = "persons"
    # An area's people by index alone (id in the key): shortlists and area reads.
    __table_args__ = (Index("ix_persons_home_area_id", "home_area", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    pnc_id: str = Field(sa_column=Column(String(13), unique=True, nullable=False))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class PersonCreate(PersonFields):
    pnc_id: str = Field(description="PNC ID, YYYY/NNNNNNNC or short YY/NNNNNNC, with check letter",
                        regex=PNC_PATTERN)

    @field_validator("pnc_id")
    @classmethod
    def _pnc(cls, value: str) -> str:
        return canonical_pnc_id(value)

    @model_validator(mode="after")
    def _dates(self) -> "PersonCreate":
        _check_birth_and_death(self.date_of_birth, self.deceased_on)
        return self


class PersonUpdate(SQLModel):
    """Fields a PATCH may change; absent fields are left alone. A new `home_area` is a move
    on `moved_on` (default today): the earlier area is kept with its dates."""

    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    sex: Sex | None = None
    ethnicity: Ethnicity | None = None
    home_area: str | None = Field(default=None, max_length=32)
    moved_on: date | None = Field(default=None, description=(
        "With a new home_area: the day the person began living there (default today). "
        "Lists as of an earlier day use the earlier area."))
    deceased_on: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> "PersonUpdate":
        _check_birth_and_death(self.date_of_birth, self.deceased_on)
        if self.moved_on is not None:
            if self.home_area is None:
                raise ValueError("moved_on goes with a new home_area")
            if self.moved_on > uk_today():
                raise ValueError("moved_on cannot be in the future")
        return self


class PersonArea(SQLModel, table=True):
    """An area a person lived in before a move: [from_on, until_on). The current area is
    `Person.home_area`, from the last row's `until_on` (or always, if they never moved)."""

    __tablename__ = "person_area_history"
    __table_args__ = (Index("ix_person_area_history_person_id_until_on", "person_id",
                            "until_on"),
                      Index("ix_person_area_history_until_on", "until_on"))

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", ondelete="CASCADE")
    area: str = Field(foreign_key="areas.code", max_length=32)
    from_on: date | None = Field(default=None, description="Null: since records began")
    until_on: date = Field(description="The move: the first day in the next area")
    # When the move was recorded: a list as recorded on an earlier day ignores it.
    recorded_at: datetime = timestamp_field()


class PersonAreaRead(SQLModel):
    area: str
    from_on: date | None = Field(description="Null: since records began")
    to_on: date | None = Field(description="The first day in the next area; null: current")


class PersonRead(PersonFields):
    id: int
    pnc_id: str
    version: int
    created_at: datetime
    updated_at: datetime
