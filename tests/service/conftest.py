"""Fixtures shared by the service tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings, get_settings
from service.main import app
from service.scorer import forget_loaded_scorers


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh model folder the app uses for this test (no trained model yet)."""
    settings = Settings(model_dir=tmp_path / "models")
    app.dependency_overrides[get_settings] = lambda: settings
    forget_loaded_scorers()
    yield settings.model_dir
    app.dependency_overrides.pop(get_settings, None)
    forget_loaded_scorers()
