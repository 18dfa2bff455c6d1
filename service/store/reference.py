"""Reference data: the areas and cohort streams records may name."""

from sqlmodel import Session, select

from models import Area, AreaRead, Stream, StreamRead


def list_areas(session: Session) -> list[AreaRead]:
    """Every area, by code."""
    return [AreaRead.model_validate(a) for a in session.exec(select(Area).order_by(Area.code))]


def list_streams(session: Session) -> list[StreamRead]:
    """Every cohort stream, by code."""
    return [StreamRead.model_validate(s)
            for s in session.exec(select(Stream).order_by(Stream.code))]
