"""Prometheus metrics (behind an API key like every route but /health)."""

from fastapi import APIRouter
from fastapi.responses import Response

from service.observability import metrics_text

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition"}})
def metrics() -> Response:
    """Request counts and latencies by route, score-run durations, import row counts."""
    body, media_type = metrics_text()
    return Response(body, media_type=media_type)
