"""`iomscore score` from Parquet files: the pandas engine writes score_people's frame, in
person order, from an extract in any row order; a bad extract is a clear error, not a trace.

The command runs in its own process, as it does in use: it changes how that process's
allocator keeps freed memory, which a test session should not inherit."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from scoring import load_catalogue, score_people
from scoring.config import load_config
from scoring.synthetic import synthetic_histories
from tests.scoring.test_extracts import assert_same_scores, write_kind

AS_OF = "2024-06-30"
ROOT = Path(__file__).resolve().parents[2]


def iomscore_score(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`iomscore score --as-of AS_OF ARGS` with no trained model (rule-based threat)."""
    env = {**os.environ, "MODEL_DIR": str(tmp_path / "models")}
    return subprocess.run([sys.executable, "-m", "service.cli", "score", "--as-of", AS_OF,
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_score_files_writes_every_score_in_person_order(tmp_path: Path) -> None:
    force = synthetic_histories(300, seed=3, end=AS_OF)
    frames = {"persons": force.persons, "offences": force.offences, "custody": force.custody}
    for kind, frame in frames.items():
        write_kind(frame, kind, tmp_path / f"{kind}.parquet", pa.date32(), shuffle_seed=4)
    out = tmp_path / "scores.parquet"
    done = iomscore_score(tmp_path, "--persons", str(tmp_path / "persons.parquet"),
                          "--offences", str(tmp_path / "offences.parquet"),
                          "--custody", str(tmp_path / "custody.parquet"), "--output", str(out))
    assert done.returncode == 0, done.stderr
    expected = score_people(force.offences, force.persons, force.custody, as_of=AS_OF,
                            catalogue=load_catalogue(), config=load_config())
    assert_same_scores(pd.read_parquet(out), expected)


def test_a_bad_extract_is_an_error_message(tmp_path: Path) -> None:
    pd.DataFrame({"person_id": [1]}).to_parquet(tmp_path / "persons.parquet")
    pd.DataFrame({"person_id": [1]}).to_parquet(tmp_path / "offences.parquet")
    done = iomscore_score(tmp_path, "--persons", str(tmp_path / "persons.parquet"),
                          "--offences", str(tmp_path / "offences.parquet"),
                          "--output", str(tmp_path / "out.parquet"))
    assert done.returncode == 1
    assert "offences lacks column(s): offence_date" in done.stderr
    assert "Traceback" not in done.stderr
