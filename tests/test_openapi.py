"""openapi.yaml is the contract: it must equal what the app serves."""

from pathlib import Path

import yaml

from service.main import app

ROOT = Path(__file__).resolve().parent.parent


def test_openapi_yaml_matches_app() -> None:
    on_disk = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert on_disk == app.openapi(), "openapi.yaml is stale: run `make openapi`"


def test_every_operation_has_a_description_and_problem_responses() -> None:
    spec = app.openapi()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("description") or op.get("summary"), (method, path)
            if method in {"post", "patch"}:
                assert "422" in op["responses"], (method, path)


def test_every_error_is_documented_as_problem_json() -> None:
    # The server answers every error as application/problem+json with a Problem body; a
    # generated client reads the first media type it knows, so nothing else is listed.
    spec = app.openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    checked = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code, response in op["responses"].items():
                if int(code) < 400 or path == "/health":
                    continue
                checked += 1
                assert response["content"] == {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path, code)
            if path != "/health":
                assert {"401", "500", "503"} <= set(op["responses"]), (method, path)
    assert checked > 200


def _inline_enums(node: object, where: str) -> list[str]:
    if isinstance(node, dict):
        found = [where] if "enum" in node else []
        return found + [w for k, v in node.items() for w in _inline_enums(v, f"{where}/{k}")]
    if isinstance(node, list):
        return [w for i, v in enumerate(node) for w in _inline_enums(v, f"{where}/{i}")]
    return []


def test_every_closed_set_is_one_named_component() -> None:
    # An enum written inline (a Literal) becomes one client enum per use; a StrEnum is one
    # component that every parameter and property refers to.
    spec = app.openapi()
    assert _inline_enums(spec["paths"], "paths") == []
    schemas = spec["components"]["schemas"]
    inline = [w for name, s in schemas.items() if "enum" not in s
              for w in _inline_enums(s, name)]
    assert inline == []
    for name in ("Band", "ThreatSource", "FactorPart", "Knowledge", "Counting", "GroupKey"):
        assert "enum" in schemas[name], name
