"""The FastAPI application: routers, error handling, stable operation ids."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from service.config import get_settings
from service.console import router as console_router
from service.docs import install as install_docs
from service.errors import install_error_handlers, responses
from service.limits import BodySizeLimit
from service.observability import RequestContext, configure_logging
from service.openapi import install as install_openapi
from service.routes import (
    admin,
    changes,
    health,
    imports,
    meetings,
    memberships,
    metrics,
    model,
    offences,
    persons,
    reference,
    reports,
    scores,
    shortlists,
)
from service.security import authenticate

DESCRIPTION = """Integrated Offender Management (IOM) service: the cohort register, RFG/THR
scores with explanations, migration-meeting shortlists and IDIOM-style reports.

Scores support a multi-agency decision and never make it. Errors are RFC 9457
`application/problem+json`."""


def _operation_id(route: APIRoute) -> str:
    # Stable, readable operation ids (the function name) keep generated clients tidy.
    return route.name


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    # What is loaded by now (pandas, scikit-learn, SQLAlchemy, the app) lives as long as
    # the process. Frozen, the cyclic collector stops walking it on every full collection:
    # those pauses took ~100 ms and doubled a shortlist's p95 (docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    yield


def create_app() -> FastAPI:
    """Build the application (routers mounted here, in one place)."""
    # /docs and /redoc are served from the package's own files (service/docs.py), not
    # FastAPI's CDN pages; like /openapi.json they need no key.
    app = FastAPI(title="iomscore", version="0.1.0", description=DESCRIPTION,
                  generate_unique_id_function=_operation_id, lifespan=_lifespan,
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)
    settings = get_settings()
    configure_logging(settings.log_level)
    app.add_middleware(BodySizeLimit, default_limit=settings.max_json_body_bytes,
                       import_limit=settings.max_import_body_bytes)
    # Added last, so it wraps everything: even a 413 gets a request id and a log line.
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    # Every API router requires an API key: a new route is protected unless it is
    # deliberately mounted beside /health.
    for router in (
        reference.router,
        persons.router,
        offences.router,
        memberships.router,
        imports.router,
        scores.router,
        model.router,  # the threat model: card, training, candidates, promotion
        admin.router,
        metrics.router,
        reports.router,
        shortlists.router,  # migration-meeting shortlists and exports
        meetings.router,  # referrals, meetings, decisions
        changes.router,  # the change feed
    ):
        app.include_router(router, dependencies=[Depends(authenticate)],
                           responses=responses(400, 401, 429, 500, 503))
    # The web console signs in by its own session cookie. Mounted after the API: a request
    # is matched against the routes in order, and the console's twenty were tried first
    # on every API request (docs/benchmarks.md, "The shared path in one hop").
    app.include_router(console_router)
    install_openapi(app)
    install_docs(app)
    return app


app = create_app()
