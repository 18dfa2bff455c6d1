"""Who may use which route, generated from the app's own route table (issue 13).

Every route and method the app serves has one entry below saying which roles may use it,
whether it is person-level (X-Justification), how area scope applies, and how to call it
for the in-area and the out-of-area person of `access_register.py`. The test runs every
route x role (each with an all-areas and a BRISTOL-only key) x in/out of area x
with/without a justification (the console: a session with/without a stated purpose), and
once with no credentials at all, each case in its own rolled-back transaction, and checks
the status; and that whatever a BRISTOL-only key is answered never names the SOUTH_GLOS
person. A route with no entry, or an entry with no route, fails with its name.

Not in the table, on purpose: the public routes /health, /openapi.json, /docs, /redoc and
static files (/docs/assets, /console/static/...), which need no key.

Expected status, in the order the app decides: no key 401 (the console: 303 to its
sign-in); role not allowed (or an area-limited key on an all-areas route) 403;
person-level without a justification 422 (the console: a session with no stated purpose
yet is sent, 303, to the purpose form); a BRISTOL-only key on the out-of-area call: `out`
(404 a record that does not exist for it, 403 an area it may not name, or None:
answered, with the person's rows left out); otherwise `ok`.
"""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import Role
from service.config import Settings
from service.db import get_session
from service.deps import current_settings
from service.jobs import get_run_scheduler, get_training_scheduler
from service.main import app
from service.scorer import forget_loaded_scorers
from service.security import forget_key
from service.store.shortlist_cache import forget_kept_lists
from tests.service.access_register import Register, Side, build_register
from tests.service.access_table_routes import API, CONSOLE, PUBLIC, Call
from tests.service.test_contract import api_routes

ROLES = [r.value for r in Role]
KEYS = [(role, scope) for role in ROLES for scope in ("all", "BRISTOL")]
ANONYMOUS = "anonymous"  # no key, no console session


@dataclass(frozen=True)
class Case:
    role: str
    scope: str
    side: str
    justified: bool

    def __str__(self) -> str:
        return (f"{self.role}/{self.scope} on {self.side}-of-area, "
                f"{'with' if self.justified else 'without'} justification")


def _served() -> Iterator[tuple[str, str]]:
    for route in api_routes(app.routes):
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path


SERVED = sorted(set(_served()) - PUBLIC)
TABLE = {**API, **CONSOLE}


def test_every_route_has_an_entry_and_every_entry_a_route() -> None:
    missing = [f"{m} {p}" for m, p in SERVED if (m, p) not in TABLE]
    assert not missing, ("routes with no entry in tests/service/access_table_routes.py "
                         f"(add one to API or CONSOLE): {', '.join(missing)}")
    stale = [f"{m} {p}" for m, p in TABLE if (m, p) not in SERVED]
    assert not stale, f"entries for routes the app no longer serves: {', '.join(stale)}"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The app's settings with a model folder of its own (promotion writes there)."""
    # Sessions idle as long as they may live: a case's touch of last_seen_at is rolled
    # back, so on a slow run the register's sessions would otherwise idle out part-way.
    chosen = Settings(model_dir=tmp_path_factory.mktemp("models"), session_idle_minutes=8 * 60,
                      session_max_hours=8)
    app.dependency_overrides[current_settings] = lambda: chosen
    # Background work (score runs, training) is not what this module checks.
    app.dependency_overrides[get_run_scheduler] = lambda: lambda *a: None
    app.dependency_overrides[get_training_scheduler] = lambda: lambda *a: None
    forget_loaded_scorers()
    yield chosen
    for dep in (current_settings, get_run_scheduler, get_training_scheduler):
        app.dependency_overrides.pop(dep, None)
    forget_loaded_scorers()


@pytest.fixture(scope="module")
def register(engine: Engine, settings: Settings) -> Iterator[Register]:
    yield from build_register(engine, settings)


@pytest.fixture(scope="module")
def raw_client() -> TestClient:
    # https, as a browser on the console would; no lifespan: nothing here needs it.
    return TestClient(app, base_url="https://testserver")


@pytest.fixture
def case_client(raw_client: TestClient, session: Session, register: Register
                ) -> Iterator[TestClient]:
    """The shared client on this case's rolled-back transaction, with nothing a previous
    case left in the process: no kept key row (API_KEY_CACHE_SECONDS) nor kept shortlist."""
    for prefix in register.prefixes:
        forget_key(prefix)
    forget_kept_lists()
    app.dependency_overrides[get_session] = lambda: session
    yield raw_client
    app.dependency_overrides.pop(get_session, None)


def _text(resp: Any) -> str:
    if "spreadsheetml" in resp.headers.get("content-type", ""):
        book = load_workbook(io.BytesIO(resp.content), read_only=True)
        return "\n".join(" ".join(str(c) for c in row if c is not None)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    return str(resp.text)


def _names(text: str, marker: str) -> bool:
    """Whether an answer holds the marker as a value of its own. Not inside a longer token:
    GET /metrics is full of float sums and timestamps, and a sum like 1.77700012 would hold
    the out person's id 7770001 by chance."""
    return re.search(rf"(?<![\w.]){re.escape(marker)}(?!\w)", text) is not None


def _expected(rule: Any, case: Case) -> int:
    if case.role == ANONYMOUS:
        return rule.anonymous or (303 if rule.console else 401)
    limited = case.scope != "all"
    if case.role not in rule.roles or (limited and rule.all_areas_only):
        return 403
    if rule.justification and not case.justified:
        return rule.unjustified
    if limited and case.side == "out" and rule.out is not None:
        return int(rule.out)
    return int(rule.ok)


def _run(client: TestClient, register: Register, route: tuple[str, str], case: Case) -> None:
    method, path = route
    rule = TABLE[route]
    side: Side = register.sides[case.side]
    call: Call = rule.call(register, side)
    who = (case.role, case.scope)
    headers = dict(call.headers)
    params = dict(call.params)
    data = dict(call.data) if call.data is not None else None
    signed = case.role != ANONYMOUS
    if rule.console:
        if signed:
            headers["Cookie"] = register.cookies[(*who, case.justified)]
        if data is not None and signed:
            data["form_token"] = register.tokens[(*who, case.justified)]
    else:
        if signed:
            headers["Authorization"] = f"Bearer {register.keys[who]}"
        if case.justified:
            headers["X-Justification"] = "case review"
    resp = client.request(method, call.url or path, params=params, json=call.json,
                          content=call.content, data=data, headers=headers,
                          follow_redirects=False)
    client.cookies.clear()  # a sign-in's cookie must not follow into the next case
    expected = _expected(rule, case)
    assert resp.status_code == expected, (
        f"{method} {path} as {case}: expected {expected}, got {resp.status_code}: "
        f"{resp.text[:300]}")
    if resp.status_code == 401:
        assert resp.headers["www-authenticate"] == "Bearer", (method, path)
    if rule.console and resp.status_code == 303 and expected != rule.ok:
        # Sent to sign in, or (signed in, no purpose stated yet) to say why, and back.
        asks = "sign-in" if case.role == ANONYMOUS else "purpose"
        assert resp.headers["location"].startswith(f"/console/{asks}?next="), (
            f"{method} {path} as {case}: sent to {resp.headers['location']}")
    text = _text(resp)
    if case.scope != "all" and (resp.status_code < 400 or case.side == "in"):
        # A page may echo what the caller sent (the id in its URL) without looking it up.
        sent = f"{call.url} {params} {call.json} {call.content!r} {data}"
        leaked = [m for m in register.markers if _names(text, m) and m not in sent]
        assert not leaked, f"{method} {path} as {case} names the out-of-area person: {leaked}"
    if rule.spans and case.scope == "all" and case.side == "in" and case.justified \
            and resp.status_code < 300:
        assert any(_names(text, m) for m in register.markers), (
            f"{method} {path} as {case} should list the out-of-area person as well")


CASES = [Case(role, scope, side, justified) for role, scope in KEYS
         for side in ("in", "out") for justified in (True, False)
         ] + [Case(ANONYMOUS, "none", "in", True)]


@pytest.mark.parametrize("route", sorted(TABLE), ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("case", CASES, ids=str)
def test_access(route: tuple[str, str], case: Case, case_client: TestClient,
                register: Register) -> None:
    if route not in SERVED:
        pytest.skip("no such route (the entry test reports it)")
    _run(case_client, register, route, case)

