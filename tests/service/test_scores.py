"""Scores through HTTP: one person as of a date, explained; batch snapshots; the model card."""

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from scoring.uk_calendar import uk_today
from service.jobs import get_run_scheduler
from service.main import app
from service.scorer import Scorer, execute_run
from tests.conftest import KeyMaker
from tests.factories import offence_body, person_body


@pytest.fixture
def inline_runs(session: Session) -> Iterator[None]:
    """Run score jobs at once, in the test's transaction, instead of after the response."""

    def schedule(run_id: int, scorer: Scorer) -> None:
        execute_run(lambda: nullcontext(session), run_id, scorer)

    app.dependency_overrides[get_run_scheduler] = lambda: schedule
    yield
    app.dependency_overrides.pop(get_run_scheduler, None)


def offender(client: TestClient, dates: list[str], area: str = "BRISTOL",
             offence_type: str = "burglary_residential") -> int:
    pid = client.post("/persons", json=person_body(home_area=area,
                                                   date_of_birth="1995-01-01")).json()["id"]
    for day in dates:
        resp = client.post(f"/persons/{pid}/offences",
                           json=offence_body(offence_date=day, offence_type=offence_type))
        assert resp.status_code == 201, resp.text
    return pid


def test_person_score_is_explained_and_versioned(client: TestClient) -> None:
    pid = offender(client, ["2024-03-01", "2024-05-01", "2024-06-20"])
    body = client.get(f"/persons/{pid}/score", params={"as_of": "2024-06-30"}).json()
    assert body["as_of"] == "2024-06-30"
    assert 0 < body["rfg"]["score"] <= 100
    assert body["rfg_by_stream"]["acquisitive"] > 0 and body["rfg_by_stream"]["domestic_abuse"] == 0
    assert 0 < body["thr"]["threat"] < 1 and body["thr"]["threat_source"] == "rule_based"
    assert body["thr"]["risk"] == pytest.approx(body["thr"]["threat"] * body["thr"]["harm"],
                                                abs=0.01)
    assert body["explanation"] and all(f["text"] and f["display"] for f in body["explanation"])
    assert {f["part"] for f in body["explanation"]} == {"rfg", "threat"}
    # A stated baseline plus the threat lines is the threat shown.
    threat_lines = [f["contribution"] for f in body["explanation"] if f["part"] == "threat"]
    assert 0 < body["thr"]["baseline"] < 1
    assert body["thr"]["baseline"] + sum(threat_lines) / 100 == pytest.approx(
        body["thr"]["threat"], abs=1e-3)
    rfg_lines = [f["contribution"] for f in body["explanation"] if f["part"] == "rfg"]
    assert sum(rfg_lines) == pytest.approx(body["rfg"]["score"], abs=0.05)
    assert body["config_version"] and body["catalogue_version"]
    assert body["model_version"].startswith("rule_based@")


def test_nothing_after_as_of_counts(client: TestClient) -> None:
    pid = offender(client, ["2024-03-01", "2024-06-20"])
    before_any = client.get(f"/persons/{pid}/score", params={"as_of": "2024-01-01"}).json()
    assert before_any["rfg"]["score"] == 0 and before_any["offences_to_date"] == 0
    mid = client.get(f"/persons/{pid}/score", params={"as_of": "2024-04-01"}).json()
    assert mid["offences_to_date"] == 1


def test_as_recorded_ignores_what_was_recorded_later(client: TestClient) -> None:
    yesterday = (uk_today() - timedelta(days=1)).isoformat()
    pid = offender(client, [(uk_today() - timedelta(days=30)).isoformat()])
    current = client.get(f"/persons/{pid}/score", params={"as_of": yesterday}).json()
    recorded = client.get(f"/persons/{pid}/score",
                          params={"as_of": yesterday, "knowledge": "as_recorded"}).json()
    assert current["offences_to_date"] == 1
    assert recorded["offences_to_date"] == 0  # recorded today: unknown at the end of yesterday


def test_score_needs_person_level_role_and_scope(client: TestClient, anon_client: TestClient,
                                                 make_key: KeyMaker) -> None:
    pid = offender(client, ["2024-03-01"])
    analyst = {"X-API-Key": make_key("analyst"), "X-Justification": "x"}
    assert anon_client.get(f"/persons/{pid}/score", headers=analyst).status_code == 403
    banes = {"X-API-Key": make_key("offender_manager", areas=["BANES"]), "X-Justification": "x"}
    assert anon_client.get(f"/persons/{pid}/score", headers=banes).status_code == 404
    assert anon_client.get("/model", headers=analyst).status_code == 200


def test_batch_run_stores_a_snapshot_read_highest_first(client: TestClient,
                                                        inline_runs: None) -> None:
    busy = offender(client, ["2024-01-10", "2024-03-01", "2024-05-01", "2024-06-20"])
    quiet = offender(client, ["2019-02-01"], offence_type="shoplifting")
    banes = offender(client, ["2024-06-01"], area="BANES", offence_type="robbery_personal")
    resp = client.post("/scores/runs", json={"as_of": "2024-06-30"})
    assert resp.status_code == 202
    run = client.get(resp.headers["location"]).json()
    assert run["status"] == "done" and run["persons_scored"] >= 3
    assert run["config_version"] and run["model_version"].startswith("rule_based@")
    page = client.get("/scores", params={"area": "BRISTOL", "limit": 500}).json()
    ids = [s["person_id"] for s in page["items"]]
    assert ids.index(busy) < ids.index(quiet) and banes not in ids
    risks = [s["risk"] for s in page["items"]]
    assert risks == sorted(risks, reverse=True)
    assert page["run"]["id"] == run["id"] and page["items"][0]["as_of"] == "2024-06-30"
    by_rfg = client.get("/scores", params={"order_by": "rfg"}).json()["items"]
    assert [s["rfg"] for s in by_rfg] == sorted((s["rfg"] for s in by_rfg), reverse=True)


def test_scores_before_any_run_is_404_and_bad_area_422(client: TestClient) -> None:
    assert client.get("/scores", params={"area": "SOUTH_GLOS"}).status_code == 404
    assert client.post("/scores/runs", json={"area": "NOWHERE"}).status_code == 422


def test_model_card_says_rule_based_before_training(client: TestClient) -> None:
    card = client.get("/model").json()
    assert card["threat_source"] == "rule_based"
    assert card["model_version"].startswith("rule_based@")
