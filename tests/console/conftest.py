"""Console fixtures: demo data in this module's database, and signed-in browsers-in-miniature."""

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.demo import generate_demo, load_demo
from service.main import app

DEMO_PEOPLE = 3000


@pytest.fixture(scope="module")
def demo(engine: Engine) -> Engine:
    """A small synthetic force area, committed once for the module's database."""
    load_demo(engine, generate_demo(seed=7, people=DEMO_PEOPLE))
    return engine


SignIn = Callable[..., TestClient]


def state_purpose(client: TestClient, purpose: str) -> None:
    """Say, once for the session, why person-level data is being read (the purpose form)."""
    form = client.get("/console/purpose")
    assert form.status_code == 200, form.text
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post("/console/purpose", data={"purpose": purpose,
                                                     "form_token": token.group(1)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def console(app_on_test_session: None, make_key: Callable[..., str],
            demo: Engine) -> Iterator[SignIn]:
    """sign_in("analyst", areas=[...], purpose="...") -> a client holding a console session
    cookie (and, if given, the session's stated purpose).

    The base URL is https so the Secure cookie is sent back, as a browser would.
    """
    clients: list[TestClient] = []

    def sign_in(role: str = "admin", *, areas: list[str] | None = None,
                purpose: str | None = None) -> TestClient:
        key = make_key(role, areas=areas, name=f"{role} console")
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        response = client.post("/console/sign-in", data={"api_key": key},
                               follow_redirects=False)
        assert response.status_code == 303, response.text
        client.headers["X-Test-Key"] = key  # only for the test's own API calls
        if purpose is not None:
            state_purpose(client, purpose)
        return client

    yield sign_in
    for client in clients:
        client.__exit__(None, None, None)
