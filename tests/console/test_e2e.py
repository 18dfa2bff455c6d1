"""End to end in headless Chromium: a real uvicorn server, a real browser, real cookies.

Skipped where Debian's chromium is not installed (/usr/bin/chromium) or Playwright is
missing. Screenshots go to test-artifacts/console/ (gitignored).
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from models import ApiKeyCreate, CohortMembership, Role
from service.db import make_engine
from service.demo import generate_demo, load_demo
from service.migrate import upgrade
from service.store.keys import create_key
from tests.servers import uvicorn_served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-quic", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str
    analyst_key: str
    person_id: int

    def api(self, path: str, **params: Any) -> httpx.Response:
        response = httpx.get(self.url + path, params=params, timeout=30,
                             headers={"Authorization": f"Bearer {self.admin_key}",
                                      "X-Justification": "e2e check"})
        response.raise_for_status()
        return response


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn on 127.0.0.1 with a temporary SQLite database of demo data."""
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'console.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, generate_demo(seed=7, people=3000))
    with Session(engine) as session:
        _, admin = create_key(session=session, key_in=ApiKeyCreate(name="e2e admin",
                                                                   role=Role.admin))
        _, analyst = create_key(session=session, key_in=ApiKeyCreate(name="e2e analyst",
                                                                     role=Role.analyst))
        member = session.exec(select(CohortMembership).order_by(CohortMembership.id)).first()
        assert member is not None
        person_id = member.person_id
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "MODEL_DIR": str(folder / "models"),
           "CONSOLE_SECRET": "e2e-secret", "LOG_LEVEL": "WARNING"}
    with uvicorn_served(env) as base:
        yield Server(url=base, admin_key=admin, analyst_key=analyst, person_id=person_id)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280,
                                                                   "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, server: Server, key: str) -> None:
    page.goto(server.url + "/console/report")
    assert "/console/sign-in" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/report")


def state_purpose(page: Any, purpose: str) -> None:
    """The console asks once per session why person-level data is read."""
    page.wait_for_url("**/console/purpose**")
    page.get_by_label("Purpose (required, audited)").fill(purpose)
    page.get_by_role("button", name="Continue").click()


def number(text: str) -> float:
    return float(text.replace("£", "").replace(",", "").replace("%", "").strip())


def test_sign_in_and_report(page: Any, server: Server) -> None:
    page.goto(server.url + "/console/report")
    shot(page, "01-sign-in")
    sign_in(page, server, server.analyst_key)
    cookie = next(c for c in page.context.cookies() if c["name"] == "iom_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    report = server.api("/reports/idiom").json()
    totals = report["totals"]
    shown = page.locator('[data-field="totals.before.offences"]').inner_text()
    assert number(shown) == totals["before"]["offences"]
    saving = page.locator('[data-field="totals.cost_saving"]').inner_text()
    assert number(saving) == round(totals["cost_saving"])
    assert page.locator("svg.chart").count() == 3
    shot(page, "02-report")

    page.get_by_label("Cohort").select_option("fixed")
    page.get_by_role("button", name="Update report").click()
    page.wait_for_url("**cohort=fixed**")
    fixed = server.api("/reports/idiom", cohort="fixed").json()["totals"]
    shown = page.locator('[data-field="totals.after.offences"]').inner_text()
    assert number(shown) == fixed["after"]["offences"]

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    target = ARTIFACTS / "idiom.csv"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    download.save_as(str(target))
    assert target.read_text() == server.api("/reports/idiom", cohort="fixed",
                                            format="csv").text

    page.emulate_media(media="print")
    shot(page, "03-report-print")
    page.emulate_media(media="screen")

    # Analysts are not offered person-level pages, and are refused them.
    assert page.get_by_role("link", name="Cohort").count() == 0
    response = page.goto(server.url + "/console/cohort")
    assert response is not None and response.status == 403


def test_keyboard_reaches_the_controls(page: Any, server: Server) -> None:
    sign_in(page, server, server.analyst_key)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "area":
            break
    assert page.evaluate("document.activeElement.id") == "area"


def test_person_cohort_and_model(page: Any, server: Server) -> None:
    sign_in(page, server, server.admin_key)
    page.get_by_role("link", name="Cohort").click()
    state_purpose(page, "e2e: review before meeting")
    page.wait_for_url("**/console/cohort")
    page.get_by_role("button", name="Show members").click()
    page.wait_for_selector("#cohort-table")
    members = server.api("/cohort/memberships", active="true", limit=500).json()["total"]
    assert int(page.locator('[data-field="members"]').inner_text()) == members
    shot(page, "04-cohort")

    page.goto(server.url + f"/console/persons/{server.person_id}")
    page.wait_for_selector("#score-table")
    assert "justification" not in page.url and "purpose" not in page.url
    score = server.api(f"/persons/{server.person_id}/score").json()
    assert number(page.locator('[data-field="rfg.score"]').inner_text()) == round(
        score["rfg"]["score"], 2)
    assert page.locator('[data-field="band"]').inner_text() == score["band"]
    shot(page, "05-person")
    audit = server.api("/admin/audit", person_id=server.person_id).json()
    assert any(e["justification"] == "e2e: review before meeting" for e in audit["items"])

    page.get_by_role("link", name="Model").click()
    page.wait_for_selector('[data-field="model_version"]')
    card = server.api("/model").json()
    assert page.locator('[data-field="model_version"]').inner_text() == card["model_version"]
    shot(page, "06-model")

    # 200 % zoom: a half-width viewport lays out the same page without sideways scrolling.
    page.set_viewport_size({"width": 640, "height": 900})
    page.goto(server.url + "/console/report")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot(page, "07-report-narrow")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")
    page.goto(server.url + "/console/model")
    assert "/console/sign-in" in page.url


def test_migration_meeting(page: Any, server: Server) -> None:
    sign_in(page, server, server.admin_key)
    page.get_by_role("link", name="Migration meeting").click()
    state_purpose(page, "e2e: migration meeting")
    page.wait_for_url("**/console/meeting")
    page.get_by_label("Area").select_option("BRISTOL")
    page.get_by_label("Stream").select_option("nsac")
    page.get_by_role("button", name="Show shortlist").click()
    page.wait_for_selector("#candidates-table")
    listing = server.api("/shortlists/migration", area="BRISTOL", stream="nsac").json()
    first = listing["candidates"][0]
    assert int(page.locator('[data-field="c1.rank"]').inner_text()) == first["rank"]
    assert int(page.locator('[data-field="c1.person_id"]').inner_text()) == first["person_id"]
    assert number(page.locator('[data-field="c1.risk"]').inner_text()) == round(
        first["risk"], 2)
    assert int(page.locator('[data-field="candidates"]').inner_text()) == len(
        listing["candidates"])
    assert int(page.locator('[data-field="excluded"]').inner_text()) == len(listing["excluded"])

    with page.expect_download() as info:
        page.get_by_role("link", name="Download shortlist (XLSX)").click()
    target = ARTIFACTS / "migration.xlsx"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    info.value.save_as(str(target))
    from openpyxl import load_workbook

    book = load_workbook(target)
    assert book.sheetnames == ["Candidates", "Excluded"]
    rows = list(book["Candidates"].iter_rows(min_row=12, values_only=True))
    assert [(r[0], r[1]) for r in rows] == [(c["rank"], c["person_id"])
                                            for c in listing["candidates"]]

    # Create the meeting, then record a decision through the candidate's form.
    page.get_by_label("Agencies present (comma-separated)").fill("police, probation, health")
    page.get_by_role("button", name="Create meeting").click()
    page.wait_for_selector('[data-field="meeting"]')
    meeting_id = int(page.locator('[data-field="meeting"]').inner_text().split()[-1])
    row = page.locator(f"#candidate-{first['person_id']}")
    row.locator("summary").click()
    row.get_by_label("Decision", exact=True).select_option("adopt")
    row.get_by_label("Cohort (if adopted)").select_option("fixed")
    row.get_by_label("Rationale (required)").fill("e2e: partners agree, prolific offending")
    row.get_by_role("button", name="Record decision").click()
    page.wait_for_selector("#flash")
    assert "Recorded: adopt" in page.locator("#flash").inner_text()
    decisions = server.api(f"/meetings/{meeting_id}/decisions").json()
    assert [(d["person_id"], d["decision"]) for d in decisions] == [
        (first["person_id"], "adopt")]
    assert decisions[0]["shortlist_entry"]["rank"] == first["rank"]
    membership = server.api("/cohort/memberships", person_id=first["person_id"],
                            active="true").json()["items"]
    assert any(m["id"] == decisions[0]["membership_id"] and m["stream"] == "nsac"
               for m in membership)
    assert int(page.locator('[data-field="decisions"]').inner_text()) == 1
    # Wide tables scroll inside their region: the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.locator(f"#candidate-{listing['candidates'][1]['person_id']} summary").click()
    shot(page, "08-migration-meeting")
    audit = server.api("/admin/audit", person_id=first["person_id"]).json()
    assert any(e["action"] == "collection" and e["route"].startswith("/console/meetings")
               for e in audit["items"])

    # Analysts are refused the page.
    page.context.clear_cookies()
    sign_in(page, server, server.analyst_key)
    assert page.get_by_role("link", name="Migration meeting").count() == 0
    response = page.goto(server.url + "/console/meeting")
    assert response is not None and response.status == 403
