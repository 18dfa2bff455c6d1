"""`iomscore score` from Parquet files: the pandas engine writes score_people's frame, in
person order, from an extract in any row order; a bad extract is a clear error, not a trace."""

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from scoring import load_catalogue, score_people
from scoring.config import load_config
from scoring.synthetic import synthetic_histories
from service.cli import main
from service.config import get_settings
from service.scorer import forget_loaded_scorers
from tests.scoring.test_extracts import assert_same_scores, write_kind

AS_OF = "2024-06-30"


@pytest.fixture
def no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No trained model: threat is the rule-based fallback, whatever var/models holds."""
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    forget_loaded_scorers()
    yield
    get_settings.cache_clear()
    forget_loaded_scorers()


def test_score_files_writes_every_score_in_person_order(no_model: None, tmp_path: Path) -> None:
    force = synthetic_histories(300, seed=3, end=AS_OF)
    frames = {"persons": force.persons, "offences": force.offences, "custody": force.custody}
    for kind, frame in frames.items():
        write_kind(frame, kind, tmp_path / f"{kind}.parquet", pa.date32(), shuffle_seed=4)
    out = tmp_path / "scores.parquet"
    assert main(["score", "--as-of", AS_OF, "--persons", str(tmp_path / "persons.parquet"),
                 "--offences", str(tmp_path / "offences.parquet"),
                 "--custody", str(tmp_path / "custody.parquet"), "--output", str(out)]) == 0
    expected = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                            catalogue=load_catalogue(), config=load_config())
    assert_same_scores(pd.read_parquet(out), expected)


def test_a_bad_extract_is_an_error_message(no_model: None, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pd.DataFrame({"person_id": [1]}).to_parquet(tmp_path / "persons.parquet")
    pd.DataFrame({"person_id": [1]}).to_parquet(tmp_path / "offences.parquet")
    assert main(["score", "--as-of", AS_OF, "--persons", str(tmp_path / "persons.parquet"),
                 "--offences", str(tmp_path / "offences.parquet"),
                 "--output", str(tmp_path / "out.parquet")]) == 1
    assert "offences lacks column(s): offence_date" in capsys.readouterr().err
