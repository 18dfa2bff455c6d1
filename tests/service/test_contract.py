"""The contract and the server agree: limits, required headers, date-times, the order of
checks (who may call before what they sent), and no administrator lock-out."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models import ApiKey, Role
from service.config import PAGE_SIZE_CEILING
from service.db import get_consultation_session, get_session
from service.errors import Conflict
from service.main import app
from service.store.keys import revoke_key
from tests.conftest import KeyMaker
from tests.factories import membership_body, person_body


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute in `routes`, those of included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            yield from api_routes(route.original_router.routes)


def test_role_checks_run_before_anything_that_reads_the_request() -> None:
    # FastAPI resolves dependencies in signature order: a paging or body check placed
    # before the role check answers 422/415 where the caller should learn 403.
    checked = 0
    for route in api_routes(app.routes):
        # The database session reads nothing of the request, in either of its forms.
        calls = [d.call for d in route.dependant.dependencies
                 if d.call not in (get_session, get_consultation_session)]
        marks = [getattr(c, "checks_access", False) for c in calls]
        if any(marks):
            checked += 1
            assert marks[0], (route.path, route.methods, [getattr(c, "__name__", c)
                                                          for c in calls])
    assert checked > 20


def test_page_size_maximum_is_in_the_schema_and_enforced(client: TestClient) -> None:
    params = app.openapi()["paths"]["/persons"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")
    assert limit["schema"]["anyOf"][0]["maximum"] == PAGE_SIZE_CEILING
    assert client.get("/persons", params={"limit": PAGE_SIZE_CEILING}).status_code == 200
    resp = client.get("/persons", params={"limit": PAGE_SIZE_CEILING + 1})
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "limit"]


def test_if_match_is_required_in_the_schema_and_its_absence_is_428(client: TestClient) -> None:
    spec = app.openapi()["paths"]
    for path, method in (("/persons/{person_id}", "patch"),
                         ("/cohort/memberships/{membership_id}", "patch")):
        header = next(p for p in spec[path][method]["parameters"] if p["name"] == "if-match")
        assert header["required"] is True, path
    pid = client.post("/persons", json=person_body()).json()["id"]
    resp = client.patch(f"/persons/{pid}", json={"given_name": "Sam"})
    assert resp.status_code == 428 and resp.headers["content-type"].startswith(
        "application/problem+json")
    mid = client.post("/cohort/memberships", json=membership_body(pid)).json()["id"]
    assert client.patch(f"/cohort/memberships/{mid}", json={}).status_code == 428
    assert client.patch(f"/persons/{pid}", json={"given_name": "Sam"},
                        headers={"If-Match": '"1"'}).status_code == 200


@pytest.mark.parametrize("bad", ["0.5", "0", "1700000000", "yesterday", "2026-13-45"])
def test_date_time_queries_must_be_iso_text(client: TestClient, bad: str) -> None:
    resp = client.get("/admin/audit", params={"to": bad})
    assert resp.status_code == 422, (bad, resp.text)
    assert resp.json()["errors"][0]["loc"] == ["query", "to"]


def test_date_time_queries_accept_iso_8601(client: TestClient) -> None:
    for good in ("2026-01-01", "2026-01-01T09:30", "2026-01-01T09:30:00Z",
                 "2026-01-01T09:30:00.123+01:00"):
        assert client.get("/admin/audit", params={"from": good}).status_code == 200, good


def test_wrong_role_is_403_whatever_else_is_wrong(anon_client: TestClient,
                                                  make_key: KeyMaker) -> None:
    analyst = {"Authorization": f"Bearer {make_key('analyst')}"}
    assert anon_client.get("/admin/audit", params={"limit": 10**6},
                           headers=analyst).status_code == 403
    assert anon_client.get("/admin/keys", params={"limit": 0},
                           headers=analyst).status_code == 403
    resp = anon_client.post("/imports/persons", content=b"x",
                            headers={**analyst, "Content-Type": "application/pdf"})
    assert resp.status_code == 403


def test_an_admin_key_cannot_revoke_itself(client: TestClient, anon_client: TestClient,
                                           make_key: KeyMaker) -> None:
    other = make_key("admin", name="second admin")
    mine = next(k for k in client.get("/admin/keys", params={"limit": 500}).json()["items"]
                if k["name"] == "test key" and k["revoked_at"] is None)
    resp = client.post(f"/admin/keys/{mine['id']}/revoke")
    assert resp.status_code == 409 and "itself" in resp.json()["detail"]
    # Another admin may revoke it.
    by_other = anon_client.post(f"/admin/keys/{mine['id']}/revoke",
                                headers={"Authorization": f"Bearer {other}"})
    assert by_other.status_code == 200 and by_other.json()["revoked_at"]


def test_the_last_working_admin_key_cannot_be_revoked(session: Session,
                                                      make_key: KeyMaker) -> None:
    # Through HTTP the caller is always a working admin; the CLI (break-glass) is where
    # the last one could go, so the rule lives in the store.
    make_key("admin", name="only admin")
    make_key("offender_manager", name="not an admin")
    admins = session.exec(select(ApiKey).where(ApiKey.role == Role.admin,
                                               col(ApiKey.revoked_at).is_(None))).all()
    *others, last = sorted(admins, key=lambda k: k.id or 0)
    for key in others:
        revoke_key(session=session, key_id=key.id or 0)
    with pytest.raises(Conflict, match="last working admin key"):
        revoke_key(session=session, key_id=last.id or 0)
    make_key("admin", name="a new admin")
    assert revoke_key(session=session, key_id=last.id or 0).revoked_at is not None


@pytest.mark.parametrize("path, params, field", [
    ("/persons", {"home_area": "bristol"}, "home_area"),
    ("/cohort/memberships", {"area": "NOWHERE"}, "area"),
    ("/cohort/memberships", {"stream": "nope"}, "stream"),
    ("/referrals", {"area": "NOWHERE"}, "area"),
    ("/referrals", {"stream": "nope"}, "stream"),
    ("/scores", {"area": "NOWHERE"}, "area"),
    ("/shortlists/migration", {"area": "NOWHERE", "stream": "nsac"}, "area"),
])
def test_an_unknown_area_or_stream_filter_is_422_everywhere(client: TestClient, path: str,
                                                            params: dict, field: str) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 422, resp.text
    assert ["query", field] in [e["loc"] for e in resp.json()["errors"]]
    known = {k: ("BRISTOL" if "area" in k else "nsac") for k in params}
    assert client.get(path, params=known).status_code in (200, 404)  # 404: no score run yet
