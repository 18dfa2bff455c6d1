"""Fixtures shared by the service tests."""

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.demo import generate_demo, load_demo
from service.deps import current_settings
from service.jobs import get_training_scheduler
from service.main import app
from service.scorer import Scorer, forget_loaded_scorers
from service.training import execute_training
from tests.conftest import KeyMaker


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh model folder the app uses for this test (no trained model yet)."""
    settings = Settings(model_dir=tmp_path / "models")
    app.dependency_overrides[current_settings] = lambda: settings
    forget_loaded_scorers()
    yield settings.model_dir
    app.dependency_overrides.pop(current_settings, None)
    forget_loaded_scorers()


@pytest.fixture(scope="module")
def demo_register(engine: Engine) -> None:
    """This module's database filled with the seeded demo register (3,000 people)."""
    load_demo(engine, generate_demo(seed=7, people=3000))


@pytest.fixture
def inline_training(session: Session) -> Iterator[None]:
    """Run training jobs at once, in the test's transaction, instead of after the response."""

    def schedule(job_id: int, scorer: Scorer, model_dir: Path,
                 requested_by: dict[str, Any]) -> None:
        execute_training(lambda: nullcontext(session), job_id, scorer, model_dir,
                         requested_by)

    app.dependency_overrides[get_training_scheduler] = lambda: schedule
    yield
    app.dependency_overrides.pop(get_training_scheduler, None)


@pytest.fixture
def bristol_om(anon_client: TestClient, make_key: KeyMaker) -> TestClient:
    """A client as an offender manager whose key sees Bristol only."""
    anon_client.headers.update({
        "Authorization": f"Bearer {make_key('offender_manager', areas=['BRISTOL'])}",
        "X-Justification": "case review"})
    return anon_client
