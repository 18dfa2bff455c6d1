"""Training, gating, promotion and rollback of the threat model through the API, on demo
data: training is a background job; a candidate becomes current only if it passes the gate;
a rejected one needs force and a reason (audited); every worker sees a promotion."""

from contextlib import nullcontext
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models import AuditEvent, RunStatus, TrainingJob
from scoring.artefacts import promote, save_model
from scoring.catalogue import load_catalogue
from scoring.config import DEFAULT_CONFIG_PATH, load_config
from scoring.synthetic import synthetic_histories
from scoring.thr import ThreatModel
from scoring.training import train_threat_model
from service.config import Settings, get_settings
from service.deps import current_settings
from service.main import app
from service.scorer import Scorer, ScorerCache, get_scorer_for
from service.training import execute_training, training_lock
from tests.conftest import KeyMaker


@pytest.fixture
def strict_gate(model_dir: Path, tmp_path: Path) -> Path:
    """A force's configuration whose gate no model can pass (an AUC gain of 0.99)."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["thr"]["gate"]["min_auc_gain"] = 0.99
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(raw))
    settings = Settings(model_dir=model_dir, scoring_config_path=path)
    app.dependency_overrides[current_settings] = lambda: settings
    return path


@pytest.fixture(scope="module")
def small_model() -> ThreatModel:
    data = synthetic_histories(400, seed=0, start="2016-01-01")
    return train_threat_model(data.offences, data.persons, data.custody,
                              catalogue=load_catalogue(), config=load_config())


def train(client: TestClient) -> dict:
    resp = client.post("/model/train")
    assert resp.status_code == 202, resp.text
    assert resp.headers["location"] == f"/model/train/{resp.json()['id']}"
    job = client.get(resp.headers["location"]).json()
    assert job["status"] == "done", job
    return job


def audit_details(session: Session) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(
        col(AuditEvent.route).like("/model%")).order_by(col(AuditEvent.id))))


def test_training_job_makes_a_candidate_that_beats_the_fallback_current(
        demo_register: None, model_dir: Path, client: TestClient, anon_client: TestClient,
        make_key: KeyMaker, session: Session, inline_training: None) -> None:
    assert client.get("/model").json()["threat_source"] == "rule_based"
    analyst = {"X-API-Key": make_key("analyst")}
    assert anon_client.post("/model/train", headers=analyst).status_code == 403
    job = train(client)
    assert job["gate_passed"] is True and job["promoted"] is True, job["gate_reasons"]
    assert job["gate_reasons"] == []
    card = client.get("/model").json()
    assert card["model_version"] == job["candidate_version"]
    assert card["threat_source"] == "model" and card["protected_characteristics_used"] is False
    held_out = card["evaluation"]
    assert held_out["model"]["auc"] > held_out["rule_based"]["auc"]
    assert held_out["test_window"]["first_as_of"] > held_out["train_window"]["last_as_of"]
    assert [r["contender"] for r in card["comparison_summary"]] == [
        "candidate", "rule_based", "baseline"]
    assert {g["group"] for g in card["comparison"]["contenders"]["candidate"]["by_sex"]} >= {
        "male", "female"}
    assert (model_dir / card["model_version"]).is_dir()
    queued, promoted = audit_details(session)[-2:]
    assert promoted.detail is not None and card["model_version"] in promoted.detail
    assert promoted.key_id == queued.key_id is not None and promoted.route == "/model/train"
    listed = client.get("/model/candidates").json()
    assert listed["current"] == card["model_version"]
    assert [(i["version"], i["status"], i["gate"]["passed"]) for i in listed["items"]] == [
        (card["model_version"], "current", True)]
    score = client.get("/persons/1/score", params={"as_of": "2024-06-30"}).json()
    assert score["thr"]["threat_source"] == "model"
    assert score["model_version"] == card["model_version"]


def test_a_rejected_candidate_needs_force_and_a_reason_and_rolls_back(
        demo_register: None, strict_gate: Path, model_dir: Path, client: TestClient,
        session: Session, inline_training: None) -> None:
    job = train(client)
    version = job["candidate_version"]
    assert job["gate_passed"] is False and job["promoted"] is False
    assert any("does not beat the rule-based fallback's" in r for r in job["gate_reasons"])
    assert client.get("/model").json()["threat_source"] == "rule_based"  # fallback kept
    (item,) = client.get("/model/candidates").json()["items"]
    assert item["status"] == "rejected" and item["gate"]["reasons"] == job["gate_reasons"]

    refused = client.post(f"/model/{version}/promote")
    assert refused.status_code == 409, refused.text
    assert "force=true" in refused.json()["detail"]
    no_reason = client.post(f"/model/{version}/promote", json={"force": True})
    assert no_reason.status_code == 422, no_reason.text
    assert client.post("/model/threat-nope/promote").status_code == 404

    resp = client.post(f"/model/{version}/promote",
                       json={"force": True, "reason": "panel accepted the external review"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["forced"] is True and resp.json()["previous"] is None
    assert client.get("/model").json()["model_version"] == version
    event = audit_details(session)[-1]
    assert event.justification == "panel accepted the external review"
    assert event.detail is not None and "forced past the gate" in event.detail
    assert client.post(f"/model/{version}/promote").status_code == 409  # already current

    back = client.post("/model/rollback")
    assert back.status_code == 200, back.text
    assert back.json()["current"] is None and back.json()["card"]["threat_source"] == "rule_based"
    assert client.get("/model").json()["threat_source"] == "rule_based"
    assert client.get("/model/candidates").json()["items"][0]["status"] == "retired"
    assert "rollback" in (audit_details(session)[-1].detail or "")
    assert client.post("/model/rollback").status_code == 409  # nothing left to roll back
    # rollback is also promoting an earlier version: a retired one needs no force
    assert client.post(f"/model/{version}/promote").status_code == 200


def test_every_worker_picks_up_a_promotion(model_dir: Path, client: TestClient,
                                          small_model: ThreatModel) -> None:
    settings = get_settings()
    save_model(small_model, model_dir, make_current=False)
    other_worker: ScorerCache = {}

    def their_scorer() -> Scorer:
        return get_scorer_for(load_catalogue(), settings.scoring_config_path, model_dir,
                              cache=other_worker)

    assert their_scorer().model is None
    assert client.get("/model").json()["threat_source"] == "rule_based"  # cached here now
    body = {"force": True, "reason": "test"}
    assert client.post(f"/model/{small_model.version}/promote", json=body).status_code == 200
    assert their_scorer().model_version == small_model.version  # seen by the other worker
    # and a rollback done elsewhere (another worker writing the marker) is seen here
    promote(model_dir, None, at="2026-12-02T00:00:00+00:00", reason="rollback elsewhere")
    assert client.get("/model").json()["threat_source"] == "rule_based"


def test_a_job_that_cannot_train_says_so(model_dir: Path, session: Session) -> None:
    job = TrainingJob()
    session.add(job)
    session.commit()
    assert job.id is not None
    scorer = get_scorer_for(load_catalogue(), get_settings().scoring_config_path, model_dir)
    with training_lock(model_dir):  # another worker's training got there first
        execute_training(lambda: nullcontext(session), job.id, scorer, model_dir)
    session.refresh(job)
    assert job.status == RunStatus.failed and job.error == "TrainingInProgress"


def test_an_active_job_refuses_another(model_dir: Path, client: TestClient,
                                       session: Session) -> None:
    session.add(TrainingJob(status=RunStatus.running))
    session.commit()
    resp = client.post("/model/train")
    assert resp.status_code == 409, resp.text
    assert resp.headers["retry-after"]
