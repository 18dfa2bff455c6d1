"""Request body size limits, enforced before a handler reads the body."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE


class BodyTooLarge(Exception):
    """The body grew past its limit while being read."""


class BodySizeLimit:
    """Refuse bodies over a limit with 413 problem+json.

    Imports (large CSV/NDJSON extracts) get a larger limit than ordinary JSON bodies. A
    declared Content-Length is checked up front; a chunked body is counted as it streams.
    """

    def __init__(self, app: ASGIApp, *, default_limit: int, import_limit: int,
                 import_prefix: str = "/imports") -> None:
        self.app = app
        self.default_limit = default_limit
        self.import_limit = import_limit
        self.import_prefix = import_prefix

    def _limit_for(self, path: str) -> int:
        return self.import_limit if path.startswith(self.import_prefix) else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(scope, send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(scope, send, limit)


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    import json

    body = json.dumps({
        "type": PROBLEM_TYPE_BASE + "payload-too-large", "title": "Payload too large",
        "status": 413, "detail": f"request body is over the {limit} byte limit for this route",
        "instance": scope["path"],
    }).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
