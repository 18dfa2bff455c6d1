"""The OpenAPI document as a generated client needs it, finished in one place.

FastAPI writes an error response's model under `application/json` (the route's media type)
and documents every 422 as its own `HTTPValidationError`; the app answers every error as
RFC 9457 `application/problem+json` with the `Problem` body (service/errors.py). Finishing
the document here, rather than route by route, means a route added later (an import, a
feed) is documented the same way without asking.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from service.errors import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, FieldError, Problem

REF_PREFIX = "#/components/schemas/"
PROBLEM_REF = REF_PREFIX + "Problem"
# FastAPI's own schemas for its default 422, which the app never sends.
_FASTAPI_VALIDATION = (REF_PREFIX + "HTTPValidationError", REF_PREFIX + "ValidationError")
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _is_problem(response: dict[str, Any]) -> bool:
    content = response.get("content") or {}
    return PROBLEM_MEDIA_TYPE in content or bool(
        _refs(content) & {PROBLEM_REF, *_FASTAPI_VALIDATION})


def finish(spec: dict[str, Any]) -> dict[str, Any]:
    """Every problem response documented once, as problem+json with the Problem schema.

    A 4xx/5xx response that names Problem (or FastAPI's validation error) gets exactly
    `application/problem+json: Problem`: a client reads the media type the server sends
    and parses the body into Problem. Error responses with another body (GET /health's
    503 is a Health) are left as they are.
    """
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            for code, response in operation.get("responses", {}).items():
                if code != "default" and int(code) < 400 or not _is_problem(response):
                    continue
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
                documented = PROBLEM_RESPONSES.get(int(code)) if code != "default" else None
                if response.get("description") in (None, "", "Validation Error") and documented:
                    response["description"] = documented["description"]
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldError):
        if model.__name__ not in schemas:
            schema = model.model_json_schema(ref_template=REF_PREFIX + "{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
    used = _refs(spec.get("paths", {})) | _refs(
        {k: v for k, v in schemas.items() if k not in ("HTTPValidationError", "ValidationError")})
    for ref in _FASTAPI_VALIDATION:
        name = ref.removeprefix(REF_PREFIX)
        if ref not in used:
            schemas.pop(name, None)
    return spec


def install(app: FastAPI) -> None:
    """Serve the finished document at /openapi.json (and to `iomscore openapi`)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
