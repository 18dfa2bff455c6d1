"""Areas (BCU / local authority areas) and cohort streams: reference data."""

from sqlmodel import Field, SQLModel


class AreaBase(SQLModel):
    code: str = Field(primary_key=True, max_length=32, regex=r"^[A-Z][A-Z0-9_]*$")
    name: str = Field(max_length=200)


class Area(AreaBase, table=True):
    __tablename__ = "areas"


class AreaRead(AreaBase):
    pass


class StreamBase(SQLModel):
    code: str = Field(primary_key=True, max_length=32, regex=r"^[a-z][a-z0-9_]*$")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)


class Stream(StreamBase, table=True):
    __tablename__ = "streams"


class StreamRead(StreamBase):
    pass
