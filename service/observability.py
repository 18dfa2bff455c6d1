"""Request ids, structured JSON logs and Prometheus metrics.

Access logs carry the route template (``/persons/{person_id}``), never the raw path or
query string: a query such as ``?pnc_id=...`` would otherwise put a PNC ID in the logs.
"""

import atexit
import copy
import json
import logging
import logging.handlers
import queue
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import internal_error, unhandled_stack

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REQUESTS = Counter("iom_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("iom_http_request_duration_seconds", "HTTP request latency",
                    ["method", "route"])
SCORE_RUN_SECONDS = Histogram("iom_score_run_duration_seconds", "Batch score run durations",
                              buckets=(1, 5, 10, 30, 60, 120, 300, 600))
IMPORT_ROWS = Counter("iom_import_rows_total", "Rows received by imports", ["kind", "result"])

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("iomscore.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key in ("method", "route", "status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
        return json.dumps(entry)


class _Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread as they are: the JSON is built and written there.

    The request id is a context variable of the request's task or thread, so it is taken
    now; the message is merged with its arguments now, while they still hold what they did.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.request_id = request_id_var.get()
        record.msg, record.args = record.getMessage(), None
        return record


_listener: logging.handlers.QueueListener | None = None


def configure_logging(level: str) -> None:
    """Send every log record through the JSON formatter on stderr.

    Records are queued, and one thread formats and writes them: a request never waits for
    stderr (a pipe to a slow log collector blocks its writer).
    """
    global _listener
    if _listener is not None:
        _listener.stop()
    writer = logging.StreamHandler()
    writer.setFormatter(JsonFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(records)]
    root.setLevel(level.upper())
    # These log full URLs (with query strings) at INFO; keep them to warnings. Alembic's
    # plugin loader announces seven plugins at INFO on every migration run: noise.
    for noisy in ("httpx", "uvicorn.access", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _write_queued_records() -> None:
    if _listener is not None:
        _listener.stop()


atexit.register(_write_queued_records)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestContext:
    """Give each request an id (X-Request-ID if sane, else new), time it, count it, log it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started_response:
                raise
            access_log.error("unhandled %s", unhandled_stack(exc))
            await internal_error(Request(scope), request_id)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            access_log.info("request", extra={"method": scope["method"], "route": route,
                                              "status": status,
                                              "duration_ms": round(elapsed * 1000, 1)})
            request_id_var.reset(token)


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus exposition of this process's metrics."""
    return generate_latest(), CONTENT_TYPE_LATEST
