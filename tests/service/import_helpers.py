"""Building import files and reading import answers, for the import tests."""

import json
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import pnc_id

PROBLEM = "application/problem+json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"
PERSON_HEADER = ("pnc_id", "given_name", "family_name", "date_of_birth", "sex", "home_area")


def counts(inserted: int, updated: int, unchanged: int, *, rows: int) -> dict[str, int]:
    """An import summary with nothing skipped as erased."""
    return {"inserted": inserted, "updated": updated, "unchanged": unchanged,
            "skipped_erased": 0, "rows": rows}


def to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def to_ndjson(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def post(client: TestClient, what: str, body: str, media_type: str = CSV) -> Any:
    return client.post(f"/imports/{what}", content=body.encode(),
                       headers={"Content-Type": media_type})


def person_row(pnc: str, *, born: str = "1990-04-01", area: str = "BRISTOL") -> list[object]:
    return [pnc, "Alex", "Example", born, "male", area]


def import_people(client: TestClient, n: int = 2) -> list[str]:
    """n new people (canonical PNC IDs), imported by CSV."""
    pncs = [pnc_id() for _ in range(n)]
    resp = post(client, "persons", to_csv(PERSON_HEADER, [person_row(p) for p in pncs]))
    assert resp.status_code == 200, resp.text
    return pncs


def error_locs(resp: Any) -> list[tuple[object, ...]]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    return [tuple(e["loc"][1:]) for e in resp.json()["errors"]]


def error_types(resp: Any) -> list[tuple[object, ...]]:
    """(line, field, type) of each row error of a 422 answer."""
    assert resp.status_code == 422, resp.text
    return [(*e["loc"][1:], e["type"]) for e in resp.json()["errors"]]


def person_id(client: TestClient, pnc: str) -> int:
    return int(client.get("/persons", params={"pnc_id": pnc}).json()["items"][0]["id"])
