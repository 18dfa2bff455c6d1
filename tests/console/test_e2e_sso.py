"""Single sign-on end to end in headless Chromium: a real uvicorn server configured for a
real OpenID provider (oidc-provider-mock on loopback); the browser signs in at the
provider, lands on the console with the role and areas of its claims, reads a person
(audited under the person's own name), signs out, and the old cookie opens nothing.

Skipped where Debian's chromium is not installed, as the console's other e2e tests are.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from models import ApiKeyCreate, CohortMembership, Person, Role
from service.db import make_engine
from service.demo import generate_demo, load_demo
from service.migrate import upgrade
from service.store.keys import create_key
from tests.console.oidc import BRISTOL_GROUP, OM_GROUP, Provider, running_provider
from tests.console.test_e2e import (  # noqa: F401  (browser: the module's Chromium fixture)
    CHROMIUM,
    browser,
    shot,
    state_purpose,
)
from tests.servers import uvicorn_served

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]


@dataclass(frozen=True)
class SsoServer:
    url: str
    admin_key: str
    bristol_person: int
    provider: Provider


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoServer]:
    folder = tmp_path_factory.mktemp("e2e-sso")
    url = f"sqlite:///{folder / 'console.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, generate_demo(seed=7, people=1000))
    with Session(engine) as session:
        _, admin = create_key(session=session, key_in=ApiKeyCreate(name="e2e admin",
                                                                   role=Role.admin))
        member = session.exec(select(CohortMembership).join(Person)
                              .where(Person.home_area == "BRISTOL")
                              .order_by(CohortMembership.id)).first()
        assert member is not None
        person_id = member.person_id
    engine.dispose()
    with running_provider(folder) as provider:
        provider.add_person("alice@force.example", name="Alice Example",
                            groups=[OM_GROUP, BRISTOL_GROUP])
        env = {**os.environ, **provider.env(), "DATABASE_URL": url,
               "MODEL_DIR": str(folder / "models"), "LOG_LEVEL": "WARNING",
               "ENVIRONMENT": "production", "CONSOLE_SECRET": "e2e-" + "s" * 40,
               "CONSOLE_KEY_SIGNIN": "false"}
        with uvicorn_served(env) as base:
            yield SsoServer(url=base, admin_key=admin, bristol_person=person_id,
                            provider=provider)


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_a_person_signs_in_reads_and_signs_out(tab: Any, sso_server: SsoServer) -> None:
    server, page = sso_server, tab
    page.goto(server.url + "/console/report")
    assert "/console/sign-in" in page.url
    assert page.get_by_label("API key").count() == 0  # key sign-in is turned off here
    shot(page, "20-sso-sign-in")
    page.get_by_role("link", name="Sign in with your organisation").click()
    # At the provider: its own login form.
    page.wait_for_url(server.provider.issuer + "/oauth2/authorize**")
    page.locator('input[name="sub"]').fill("alice@force.example")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("**/console/report")
    who = page.locator(".who span").inner_text()
    assert who == "Alice Example (offender manager: BRISTOL)"
    cookie = next(c for c in page.context.cookies() if c["name"] == "iom_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    shot(page, "21-sso-report")

    page.goto(server.url + f"/console/persons/{server.bristol_person}")
    state_purpose(page, "e2e: migration meeting, Bristol")
    page.wait_for_selector("#score-table")
    assert "purpose" not in page.url
    audit = httpx.get(server.url + "/admin/audit", timeout=30,
                      params={"person_id": server.bristol_person, "actor":
                              "alice@force.example"},
                      headers={"Authorization": f"Bearer {server.admin_key}"}).json()
    read = [e for e in audit["items"] if e["route"] == "/console/persons/{person_id}"]
    assert read and read[-1]["actor_name"] == "Alice Example"
    assert read[-1]["key_id"] is None
    assert read[-1]["justification"] == "e2e: migration meeting, Bristol"

    # Signing out ends the session at the provider too: its end-session page, then back.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(server.provider.issuer + "/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url("**/console/signed-out")
    assert "You are signed out" in page.locator("#signed-out").inner_text()
    # The old cookie, put back by hand, opens nothing: the session ended on the server.
    page.context.add_cookies([cookie])
    page.goto(server.url + "/console/report")
    assert "/console/sign-in" in page.url
