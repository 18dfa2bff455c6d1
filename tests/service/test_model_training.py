"""Training the threat model through the API, on demo data: it must beat the fallback."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.demo import generate_demo, load_demo
from tests.conftest import KeyMaker


@pytest.fixture(scope="module")
def demo_register(engine: Engine) -> None:
    load_demo(engine, generate_demo(seed=7, people=3000))


def test_train_makes_a_current_model_that_beats_the_fallback(
        demo_register: None, model_dir: Path, client: TestClient, anon_client: TestClient,
        make_key: KeyMaker) -> None:
    assert client.get("/model").json()["threat_source"] == "rule_based"
    analyst = {"X-API-Key": make_key("analyst")}
    assert anon_client.post("/model/train", headers=analyst).status_code == 403
    resp = client.post("/model/train")
    assert resp.status_code == 201, resp.text
    card = resp.json()
    assert card["threat_source"] == "model" and card["protected_characteristics_used"] is False
    held_out = card["evaluation"]
    assert held_out["model"]["auc"] > held_out["rule_based"]["auc"]
    assert held_out["model"]["brier"] < held_out["rule_based"]["brier"]
    assert held_out["test_window"]["first_as_of"] > held_out["train_window"]["last_as_of"]
    assert {g["group"] for g in held_out["by_sex"]} >= {"male", "female"}
    assert (model_dir / card["model_version"]).is_dir()
    assert client.get("/model").json()["model_version"] == card["model_version"]
    score = client.get("/persons/1/score", params={"as_of": "2024-06-30"}).json()
    assert score["thr"]["threat_source"] == "model"
    assert score["model_version"] == card["model_version"]
