"""Domain exceptions and their one mapping to RFC 9457 problem+json responses."""

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://iomscore.example/problems/"


class FieldError(BaseModel):
    """One field's problem: where it is, what is wrong."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with field-level errors where the input was at fault."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """Base for errors service code raises; `status` and `title` decide the response."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class StaleVersion(DomainError):
    status, title, slug = 412, "Precondition failed", "stale-version"


class PreconditionRequired(DomainError):
    status, title, slug = 428, "Precondition required", "if-match-required"


class InvalidInput(DomainError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class PayloadTooLarge(DomainError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


def invalid_field(loc: list[str | int], msg: str, *, type: str = "value_error",
                  detail: str | None = None) -> InvalidInput:
    """A 422 naming one field at fault (`loc` as in FastAPI's errors: ["query", "as_of"]);
    the detail is the message unless a fuller sentence is given."""
    return InvalidInput(detail or msg, errors=[{"loc": loc, "msg": msg, "type": type}])


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(request: Request, *, status: int, title: str, slug: str,
                     detail: str | None = None, errors: list[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """Build a problem+json response for this request."""
    body = Problem(type=PROBLEM_TYPE_BASE + slug, title=title, status=status, detail=detail,
                   instance=request.url.path,
                   errors=[FieldError(**e) for e in errors] if errors else None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        # Pydantic prefixes errors raised in our validators; the reason alone reads better.
        msg = msg.removeprefix("Value error, ")
        out.append({"loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                    "msg": msg, "type": str(err.get("type", "value_error"))})
    return out


_STATUS_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 406: "not-acceptable", 409: "conflict",
                 413: "payload-too-large", 415: "unsupported-media-type", 422: "invalid-input"}


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    methods.discard("HEAD")
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to problem+json, in one place."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(request, status=exc.status, title=exc.title, slug=exc.slug,
                                detail=exc.detail, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["loc"] == ["header", "if-match"] and e["type"] == "missing" for e in errors):
            # Required in the contract, but its absence is a missing precondition (RFC 6585).
            return problem_response(request, status=428, title=PreconditionRequired.title,
                                    slug=PreconditionRequired.slug,
                                    detail="send If-Match with the ETag you read, so no "
                                           "update is lost")
        return problem_response(request, status=422, title="Invalid input", slug="invalid-input",
                                detail="The request has invalid fields: see errors.",
                                errors=errors)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        # Connection-level failures: tell clients to come back rather than fail hard.
        log.warning("database unavailable on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem_response(request, status=503, title="Service unavailable",
                                slug="database-unavailable",
                                detail="the database is unreachable; try again shortly",
                                headers={"Retry-After": "5"})

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection is busy (long requests, a burst): shed load with a clear
        # answer rather than queueing the caller behind them.
        log.warning("no database connection free on %s", request.url.path)
        return problem_response(request, status=503, title="Service unavailable",
                                slug="busy", detail="the service is busy; try again shortly",
                                headers={"Retry-After": "5"})

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint caught what a service check missed (usually a concurrent write).
        log.info("constraint violation on %s", request.url.path)
        return problem_response(request, status=409, title="Conflict", slug="conflict",
                                detail="the change conflicts with stored data; read and retry")

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the schema allowed (a NUL character in text, a
        # number beyond the column's range): the input is at fault, not the service.
        log.info("unstorable value on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem_response(request, status=422, title="Invalid input",
                                slug="invalid-input",
                                detail="a value cannot be stored: text must not contain NUL "
                                       "characters and numbers must fit their fields")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        return problem_response(request, status=422, title="Invalid input",
                                slug="invalid-input", detail="a number is too large")

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # Never echo the statement or parameters: they can hold personal data.
        log.error("database error on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem_response(request, status=500, title="Internal error",
                                slug="internal-error", detail="the request could not be completed")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _STATUS_SLUGS.get(exc.status_code, "error")
        title = slug.replace("-", " ").capitalize()
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by
            # several routes (GET and POST /persons) must list them all.
            headers["Allow"] = _allowed_methods(request)
        return problem_response(request, status=exc.status_code, title=title, slug=slug,
                                detail=str(exc.detail), headers=headers or None)


def unhandled_stack(exc: BaseException) -> str:
    """Where an unexpected exception came from: type and frames, never its message.

    A message can quote the data being handled (a name, a PNC ID), and logs must hold no
    personal data; the frames are enough to find the fault.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-12:]  # the innermost: where it broke
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                        for f in reversed(frames))
    return f"{type(exc).__name__} at {where}"


def internal_error(request: Request, request_id: str) -> JSONResponse:
    """The last-resort answer for a fault nothing else mapped: problem+json, no details."""
    return problem_response(request, status=500, title="Internal error", slug="internal-error",
                            detail="the request could not be completed; quote request id "
                                   f"{request_id}")


# `model` registers Problem in the document; service/openapi.py then documents each of these
# as application/problem+json with that schema (the media type the server sends).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": desc, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for code, desc in {
        400: "The body could not be parsed (e.g. not valid UTF-8)",
        401: "Missing, unknown, revoked or expired API key",
        403: "The key's role or areas do not allow this",
        404: "Not found",
        409: "Conflict with the stored data",
        410: "Gone: the cursor is older than the change feed kept",
        412: "Stale If-Match version",
        413: "Request body too large",
        415: "Unsupported Content-Type",
        422: "Invalid input, with field-level errors",
        428: "If-Match header required",
        429: "Too many failed sign-ins or 401s from this address; retry after Retry-After "
             "seconds",
        500: "A fault the service did not expect; the detail quotes the request id",
        503: "Busy or the database is unreachable; retry after Retry-After seconds",
    }.items()
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses for a route (used in `responses=`)."""
    return {code: PROBLEM_RESPONSES[code] for code in codes}
