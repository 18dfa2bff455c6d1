"""The console's pages through TestClient: sign-in, every page, roles, area scope, audit,
and the IDIOM page showing exactly the API's numbers."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models import (
    ApiKey,
    ApiKeyCreate,
    AuditEvent,
    CohortMembership,
    ModelEvaluation,
    Person,
    Role,
)
from scoring.artefacts import promote, save_model
from scoring.thr import ThreatModel
from service.config import Settings
from service.console.session import COOKIE_NAME
from service.deps import current_settings, get_scorer
from service.main import app
from service.store.keys import create_key, revoke_key
from tests.console.conftest import SignIn, state_purpose


class Fields(HTMLParser):
    """Text of every element with a data-field attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append(dict(attrs).get("data-field"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for name in self._open:
            if name:
                self.fields[name] = self.fields.get(name, "") + data


def fields(html: str) -> dict[str, str]:
    parser = Fields()
    parser.feed(html)
    return {k: v.strip() for k, v in parser.fields.items()}


def number(text: str) -> float:
    return float(re.sub(r"[£,%\s]", "", text))


def api(client: TestClient, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {client.headers['X-Test-Key']}",
               "X-Justification": "test"}
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


def audit_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


def a_member(session: Session, *, area: str | None = None,
             not_area: str | None = None) -> CohortMembership:
    query = select(CohortMembership).where(CohortMembership.exited_on.is_(None))  # type: ignore[union-attr]
    if area:
        query = query.join(Person).where(Person.home_area == area,
                                         CohortMembership.area == area)
    if not_area:
        query = query.join(Person).where(Person.home_area != not_area)
    member = session.exec(query.order_by(CohortMembership.id)).first()
    assert member is not None
    return member


# --- sign-in ----------------------------------------------------------------------------------

def test_sign_in_sets_a_secure_signed_cookie(console: SignIn, make_key: Any) -> None:
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/console/sign-in")
    assert form.status_code == 200
    assert '<label for="api_key">' in form.text
    key = make_key("analyst")
    response = client.post("/console/sign-in", data={"api_key": key, "next": "/console/model"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/model"
    cookie = response.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/console"):
        assert flag.lower() in cookie.lower()
    assert key not in cookie and key.split("_", 2)[2] not in cookie  # a random token only
    assert client.get("/console/model").status_code == 200


def test_bad_key_is_refused_without_saying_why(console: SignIn) -> None:
    client = TestClient(app, base_url="https://testserver")
    response = client.post("/console/sign-in", data={"api_key": "iom_nope_nope"})
    assert response.status_code == 401
    assert "unknown, revoked or expired" in response.text
    assert "set-cookie" not in response.headers


def test_pages_need_a_session(console: SignIn) -> None:
    client = TestClient(app, base_url="https://testserver")
    for path in ("/console/report", "/console/model", "/console/cohort",
                 "/console/persons/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2F")


def test_open_redirects_are_refused(console: SignIn, make_key: Any) -> None:
    client = TestClient(app, base_url="https://testserver")
    response = client.post("/console/sign-in", data={"api_key": make_key("admin"),
                                                     "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/console/report"


def test_forged_cookies_are_ignored(console: SignIn) -> None:
    value = console("admin").cookies.get(COOKIE_NAME)
    assert value
    client = TestClient(app, base_url="https://testserver")
    for forged in (value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), "x" * 500, key_like()):
        client.cookies.set(COOKIE_NAME, forged, path="/console")
        assert client.get("/console/model", follow_redirects=False).status_code == 303


def key_like() -> str:
    return "iom_abcdef123456_" + "s" * 43


def test_a_revoked_key_ends_its_session(console: SignIn, session: Session) -> None:
    client = console("admin")
    assert client.get("/console/model").status_code == 200
    key = session.exec(select(ApiKey).order_by(ApiKey.id.desc())).first()  # type: ignore[union-attr]
    assert key is not None
    create_key(session=session, key_in=ApiKeyCreate(name="another admin", role=Role.admin))
    revoke_key(session=session, key_id=key.id or 0)  # not the last admin key, so allowed
    assert client.get("/console/model", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_on_the_server(console: SignIn) -> None:
    client = console("admin")
    old = client.cookies.get(COOKIE_NAME)
    response = client.post("/console/sign-out", follow_redirects=False)
    assert response.status_code == 303
    assert 'iom_console=""' in response.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/console/model", follow_redirects=False).status_code == 303
    # A copy of the old cookie opens nothing either: the session ended in the database.
    client.cookies.set(COOKIE_NAME, old or "", path="/console")
    assert client.get("/console/model", follow_redirects=False).status_code == 303


def test_pages_send_security_headers(console: SignIn) -> None:
    response = console("admin").get("/console/report")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "http://" not in response.text.replace('xmlns="http://www.w3.org/2000/svg"', "")


# --- IDIOM report -------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"cohort": "fixed"}, {"area": "BRISTOL"},
                                    {"stream": "nsac", "window_months": "6"}])
def test_report_numbers_equal_the_api(console: SignIn, params: dict[str, str]) -> None:
    client = console("analyst")
    page = client.get("/console/report", params=params)
    assert page.status_code == 200, page.text
    shown = fields(page.text)
    report = api(client, "/reports/idiom", **params).json()
    totals = report["totals"]
    assert shown["as_of"] == report["as_of"]
    assert number(shown["totals.members"]) == totals["members"]
    assert number(shown["totals.people"]) == totals["people"]
    assert number(shown["totals.before.offences"]) == totals["before"]["offences"]
    assert number(shown["totals.after.offences"]) == totals["after"]["offences"]
    assert number(shown["totals.before.cost"]) == round(totals["before"]["cost"])
    assert number(shown["totals.cost_saving"]) == round(totals["cost_saving"])
    if totals["offence_reduction_pct"] is not None:
        assert number(shown["totals.offence_reduction_pct"]) == totals["offence_reduction_pct"]
    for group in report["groups"]:
        assert f'<th scope="row">{group["key"]["area"]}</th>' in page.text
    assert page.text.count("<svg") == 3
    assert '<th scope="col">Offences before</th>' in page.text


def test_report_shows_warnings_and_suppression(console: SignIn) -> None:
    page = console("analyst").get("/console/report", params={"area": "BANES"})
    report = api(console("analyst"), "/reports/idiom", area="BANES").json()
    assert report["totals"]["suppress"] == ("Suppress" in page.text)
    for warning in report["warnings"]:
        assert warning.replace("'", "&#39;") in page.text


def test_report_csv_is_the_apis_csv(console: SignIn) -> None:
    client = console("analyst")
    page = client.get("/console/report", params={"cohort": "fixed"})
    link = re.search(r'href="(/console/report\.csv[^"]*)"', page.text)
    assert link is not None
    download = client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.text == api(client, "/reports/idiom", cohort="fixed",
                                format="csv").text


def test_report_form_errors_are_pages(console: SignIn) -> None:
    client = console("analyst")
    response = client.get("/console/report", params={"as_of": "not-a-date"})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "as_of" in response.text
    assert client.get("/console/report", params={"area": "NOWHERE"}).status_code == 422


def test_area_scoped_report(console: SignIn) -> None:
    client = console("analyst", areas=["BRISTOL"])
    page = client.get("/console/report")
    assert page.status_code == 200
    report = api(client, "/reports/idiom").json()
    assert [g["key"]["area"] for g in report["groups"]] in ([], ["BRISTOL"])
    assert number(fields(page.text)["totals.members"]) == report["totals"]["members"]
    assert client.get("/console/report", params={"area": "BANES"}).status_code == 403


# --- roles -----------------------------------------------------------------------------------

def test_analysts_see_report_and_model_only(console: SignIn) -> None:
    client = console("analyst")
    assert client.get("/console/report").status_code == 200
    assert client.get("/console/model").status_code == 200
    for path in ("/console/cohort", "/console/persons",
                 "/console/persons/1"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "may not see person-level data" in response.text
    assert 'href="/console/cohort"' not in client.get("/console/report").text


# --- person --------------------------------------------------------------------------------

def test_person_page_needs_a_purpose_first(console: SignIn, session: Session) -> None:
    client = console("offender_manager")
    member = a_member(session)
    before = audit_count(session)
    page = client.get(f"/console/persons/{member.person_id}?as_of=2025-06-30",
                      follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/console/purpose?next=%2Fconsole%2Fpersons")
    asked = client.get(page.headers["location"])
    assert '<label for="purpose">' in asked.text and "PNC ID" not in asked.text
    assert audit_count(session) == before
    state_purpose(client, "IOM review, Bristol")
    shown = client.get(f"/console/persons/{member.person_id}")
    assert shown.status_code == 200 and "PNC ID" in shown.text
    assert fields(shown.text)["purpose"] == "IOM review, Bristol"


def test_a_purpose_is_never_in_a_url(console: SignIn, session: Session) -> None:
    client = console("admin", purpose="migration meeting, Bristol, 1 December")
    member = a_member(session)
    pages = [client.get(f"/console/persons/{member.person_id}"),
             client.get("/console/cohort", params={"show": "1"}),
             client.get("/console/meeting", params={"area": "BRISTOL", "stream": "nsac"})]
    for page in pages:
        assert page.status_code == 200, page.text
        for url in re.findall(r'(?:href|action)="([^"]*)"', page.text):
            assert "purpose=" not in url and "justification" not in url and "Bristol" \
                not in url, url
        assert "justification" not in str(page.url)
    lookup = client.post("/console/persons", data={"person_id": member.person_id,
                                                   "form_token": lookup_token(client)},
                         follow_redirects=False)
    assert lookup.headers["location"] == f"/console/persons/{member.person_id}"


def test_person_page_is_audited_and_matches_the_api(console: SignIn,
                                                    session: Session) -> None:
    client = console("offender_manager")
    member = a_member(session)
    state_purpose(client, "MAPPA review")
    page = client.get(f"/console/persons/{member.person_id}",
                      params={"as_of": "2025-06-30"})
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    score = api(client, f"/persons/{member.person_id}/score", as_of="2025-06-30").json()
    shown = fields(page.text)
    assert number(shown["rfg.score"]) == round(score["rfg"]["score"], 2)
    assert number(shown["thr.risk"]) == round(score["thr"]["risk"], 1)
    assert shown["band"] == score["band"]
    assert int(shown["offences_to_date"]) == score["offences_to_date"]
    assert page.text.count("<svg") >= 3
    event = session.exec(select(AuditEvent).where(
        AuditEvent.justification == "MAPPA review")).one()
    assert event.person_ids == [member.person_id]
    assert event.route == "/console/persons/{person_id}"
    assert event.action == "consultation"


def test_person_outside_the_areas_is_not_found_and_audited(console: SignIn,
                                                           session: Session) -> None:
    client = console("offender_manager", areas=["BANES"], purpose="curious")
    member = a_member(session, not_area="BANES")
    page = client.get(f"/console/persons/{member.person_id}")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    refusal = session.exec(select(AuditEvent).where(AuditEvent.status == 404)
                           .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert refusal is not None and refusal.person_ids == [member.person_id]
    assert client.get("/console/persons/999999999").status_code == 404


def test_person_lookup_by_pnc(console: SignIn, session: Session) -> None:
    client = console("admin", purpose="lookup")
    member = a_member(session)
    person = session.get(Person, member.person_id)
    assert person is not None
    token = lookup_token(client)
    response = client.post("/console/persons", data={"pnc_id": person.pnc_id,
                                                      "form_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/persons/{person.id}"
    assert client.post("/console/persons", data={"person_id": "x5", "form_token": token}
                       ).status_code == 422
    # Without the session's form token (a page on another site posting it): refused.
    assert client.post("/console/persons", data={"pnc_id": person.pnc_id}).status_code == 403


def lookup_token(client: TestClient) -> str:
    page = client.get("/console/persons")
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found is not None and 'method="post"' in page.text
    return found.group(1)


# --- cohort --------------------------------------------------------------------------------

def test_cohort_page_lists_members_in_scope(console: SignIn, session: Session) -> None:
    client = console("offender_manager", areas=["BRISTOL"], purpose="meeting prep")
    assert "show the members" in client.get("/console/cohort").text
    page = client.get("/console/cohort", params={"show": "1", "sort": "rag", "order": "asc"})
    assert page.status_code == 200, page.text
    api_rows = api(client, "/cohort/memberships", active="true", limit=500).json()
    assert int(fields(page.text)["members"]) == api_rows["total"]
    areas = re.findall(r"</a></th><td>([A-Z_]+)</td>", page.text)
    assert set(areas) <= {"BRISTOL"}
    rags = re.findall(r'class="rag rag-(\w+)"', page.text)
    order = {"red": 0, "amber": 1, "green": 2}
    assert rags == sorted(rags, key=order.__getitem__)
    event = session.exec(select(AuditEvent).where(
        AuditEvent.justification == "meeting prep")).one()
    assert sorted(event.person_ids) == sorted({r["person_id"] for r in api_rows["items"]})


def test_cohort_filters(console: SignIn) -> None:
    client = console("admin", purpose="x")
    page = client.get("/console/cohort", params={"show": "1", "rag": "red"})
    assert set(re.findall(r'class="rag rag-(\w+)"', page.text)) <= {"red"}
    assert client.get("/console/cohort", params={"show": "1",
                                                 "sort": "name"}).status_code == 422


# --- model ---------------------------------------------------------------------------------

def test_model_page_shows_the_fallback_card(console: SignIn) -> None:
    client = console("analyst")
    page = client.get("/console/model")
    card = api(client, "/model").json()
    shown = fields(page.text)
    assert shown["model_version"] == card["model_version"]
    assert shown["threat_source"] == card["threat_source"].replace("_", " ")


def test_model_page_shows_calibration_and_groups(console: SignIn) -> None:
    card = {"threat_source": "model", "model_version": "threat-test", "horizon_months": 12,
            "config_version": "c", "catalogue_version": "k",
            "sampling": {"rule": "at back-test dates every 1 month(s), the people with an "
                                 "offence or a release from custody since the previous date",
                         "weighting": "once a year", "held_out": "each person once",
                         "censoring": "custody for most of the follow-up",
                         "rows_dropped": {"in_custody_for_most_of_follow_up": 1234}},
            "model_selection": {"chosen": "boosted", "calibration_method": "isotonic",
                                "selection_rule": "best mean AUC",
                                "families": {"logistic": {"folds": 3, "mean_auc": 0.7,
                                                          "mean_log_loss": 0.6},
                                             "boosted": {"folds": 3, "mean_auc": 0.72,
                                                         "mean_log_loss": 0.58}}},
            "evaluation": {
                "model": {"auc": 0.71, "brier": 0.2}, "rule_based": {"auc": 0.6, "brier": 0.22},
                "calibration": [{"lower": 0.0, "upper": 0.1, "n": 50, "mean_predicted": 0.05,
                                 "observed_rate": 0.06},
                                {"lower": 0.5, "upper": 0.6, "n": 9, "mean_predicted": 0.55,
                                 "observed_rate": 0.5}],
                "selection_threshold": 0.5,
                "by_sex": [{"group": "female", "n": 3, "positives": 1, "auc": None,
                            "false_positive_rate": 0.5, "selection_rate": 0.3,
                            "mean_predicted": 0.3, "observed_rate": 0.33,
                            "small_group": True}]}}
    fake = SimpleNamespace(card=lambda: card)
    app.dependency_overrides[get_scorer] = lambda: fake
    try:
        page = console("analyst").get("/console/model")
    finally:
        app.dependency_overrides.pop(get_scorer)
    assert page.status_code == 200, page.text
    assert 'id="calibration"' in page.text and 'id="by-sex"' in page.text
    assert fields(page.text)["model.auc"] == "0.710"
    assert "Small group" in page.text
    assert 'id="sampling"' in page.text and "in custody for most of follow up 1,234" in page.text
    assert 'id="model-selection"' in page.text and "boosted (chosen)" in page.text


def _fake_model(version: str, *, passed: bool, auc: float) -> ThreatModel:
    figures = {"comparable": True, "brier": 0.2, "ece": 0.03}
    card = {"threat_source": "model", "model_version": version, "trained_at": "2026-12-01",
            "config_version": "c", "catalogue_version": "k", "horizon_months": 12,
            "comparison": {"cut_off": "2023-01-31", "contenders": {
                "candidate": {"version": version, "auc": auc, **figures},
                "rule_based": {"version": "rule_based@c", "auc": 0.7, **figures},
                "baseline": {"version": "baseline", "auc": 0.65, **figures}}},
            "gate": {"passed": passed, "reasons": [] if passed else [
                "AUC 0.705 does not beat the rule-based fallback's 0.700 by the 0.010 "
                "required"]}}
    return ThreatModel(version, ("copas_rate",), ("none",), np.zeros(1), np.ones(1),
                       np.array([0.5]), -1.0, (1.0, 0.0), card=card)


def test_model_page_compares_and_lists_candidates_with_the_gates_verdict(
        console: SignIn, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    save_model(_fake_model("threat-20261201T000000Z-aaaaaaaa", passed=True, auc=0.8), folder,
               make_current=False)
    promote(folder, "threat-20261201T000000Z-aaaaaaaa", at="2026-12-01T00:00:00+00:00")
    save_model(_fake_model("threat-20261202T000000Z-bbbbbbbb", passed=False, auc=0.705),
               folder, make_current=False)
    settings = Settings(model_dir=folder)
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        page = console("analyst").get("/console/model")
    finally:
        app.dependency_overrides.pop(current_settings)
    assert page.status_code == 200, page.text
    assert 'id="comparison"' in page.text and "Baseline (age, prior offences)" in page.text
    assert fields(page.text)["model_version"] == "threat-20261201T000000Z-aaaaaaaa"
    assert "current</span>" in page.text and "rejected</span>" in page.text
    assert "does not beat the rule-based fallback" in page.text


def test_model_page_shows_the_external_evaluation_beside_the_back_test(
        console: SignIn, session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    version = "threat-20261202T000000Z-bbbbbbbb"
    save_model(_fake_model(version, passed=True, auc=0.8), folder, make_current=False)
    client = console("analyst")
    assert "No external evaluation yet" in client.get("/console/model").text
    fallback = api(client, "/model").json()["model_version"]
    figures = {"comparable": True, "brier": 0.2, "calibration": []}
    session.add(ModelEvaluation(
        uploaded_by="test", cohort_rows=120, matched_rows=118, unmatched_pnc_ids=2,
        positives=40, first_assessed_on="2024-01-02", last_assessed_on="2024-06-30",
        current_version=fallback,
        figures={fallback: {"version": fallback, "auc": 0.71, "ece": 0.16, **figures},
                 version: {"version": version, "auc": 0.64, "ece": 0.13, **figures}}))
    session.commit()
    settings = Settings(model_dir=folder)
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        page = client.get("/console/model")
    finally:
        app.dependency_overrides.pop(current_settings)
    assert page.status_code == 200, page.text
    assert 'id="external"' in page.text and "118 of 120 cohort rows" in page.text
    assert f'data-version="{fallback}"' in page.text and "0.640" in page.text
    # The gate holds the candidate to the fallback on the force's cohort: refused there.
    assert "rejected</span>" in page.text
    assert "external cohort: AUC 0.640 does not beat the rule-based fallback" in page.text


def test_openapi_has_no_console_routes() -> None:
    paths = app.openapi()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_an_evaluation_made_after_midnight_uk_time_shows_the_uk_date(
        console: SignIn, session: Session) -> None:
    # 23:30 UTC on 1 July is 00:30 on 2 July in the UK, the day the force knows it by.
    session.add(ModelEvaluation(created_at=datetime(2026, 7, 1, 23, 30, tzinfo=UTC),
                                uploaded_by="admin console", source="night shift upload",
                                cohort_rows=10, matched_rows=8, unmatched_pnc_ids=2,
                                positives=3, current_version="none", figures={}))
    session.commit()
    page = console("analyst").get("/console/model")
    assert page.status_code == 200, page.text
    assert "(2026-07-02, night shift upload)" in page.text
