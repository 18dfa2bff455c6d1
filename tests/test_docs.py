"""The interactive docs work with no internet, and who may read the contract.

/docs (Swagger UI) and /redoc load every script and style from the app itself (the
fastapi-offline package's copies), so they render on a police network with no way out.
They and /openapi.json are public, as README says: the contract holds no personal data.
Every other route but /health needs a key.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.main import app
from tests.servers import uvicorn_served

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)["']""")
PUBLIC = ("/health", "/openapi.json", "/docs", "/redoc")


@pytest.fixture(scope="module")
def anon() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_every_asset_from_the_app_itself(anon: TestClient, page: str) -> None:
    resp = anon.get(page)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(resp.text)
    assert len(assets) >= 2, resp.text  # the script, and a style sheet or icon
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url  # no other host
        got = anon.get(url)
        assert got.status_code == 200 and len(got.content) > 1000, url
    assert not re.search(r"https?://", resp.text), "a URL to another host"
    # The browser may load nothing from another host (ReDoc's bundle fetches a logo).
    policy = resp.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy


def test_the_contract_and_docs_are_public(anon: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert anon.get(path).status_code == 200, path
    assert anon.get("/openapi.json").json()["info"]["title"] == "iomscore"


def test_every_other_operation_needs_a_key(anon: TestClient) -> None:
    # README: "every route but /health, /openapi.json, /docs and /redoc needs an API key".
    spec = app.openapi()
    checked = 0
    for path, ops in spec["paths"].items():
        if path in PUBLIC:
            continue
        for method in ops:
            url = re.sub(r"\{[^}]+\}", "1", path)
            resp = anon.request(method.upper(), url)
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert "security" in ops[method], (method, path)
            checked += 1
    assert checked > 50


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn on 127.0.0.1 (the docs read no database)."""
    folder = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'docs.db'}",
           "LOG_LEVEL": "WARNING"}
    with uvicorn_served(env, ready="/openapi.json") as base:
        yield base


@pytest.mark.e2e
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_docs_render_in_a_browser_that_cannot_reach_another_host(served: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    elsewhere: list[str] = []

    def only_the_app(route: Any) -> None:
        if route.request.url.startswith(served + "/"):
            route.continue_()
        else:  # as on a network with no internet
            elsewhere.append(route.request.url)
            route.abort()

    artifacts = ROOT / "test-artifacts" / "docs"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_the_app)
            page.goto(served + "/docs")
            page.locator(".opblock").first.wait_for(timeout=30_000)
            operations = sum(len(ops) for ops in app.openapi()["paths"].values())
            assert page.locator(".opblock").count() == operations
            page.screenshot(path=str(artifacts / "swagger-ui.png"))
            page.goto(served + "/redoc")
            page.locator("h2", has_text="Get Migration Shortlist Csv").first.wait_for(
                timeout=30_000)
            page.screenshot(path=str(artifacts / "redoc.png"))
        finally:
            browser.close()
    assert elsewhere == []
