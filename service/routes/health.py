"""Liveness and database health."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(session: SessionDep) -> JSONResponse:
    """Whether the service can reach its database (503 if not)."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError:
        return JSONResponse(Health(status="unavailable", database="unreachable").model_dump(),
                            status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(Health(status="ok", database="ok").model_dump())

