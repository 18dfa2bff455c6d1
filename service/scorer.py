"""Scores for the service: the loaded rules and model, one person's score, batch runs.

The numbers come from the ``scoring`` library; this module reads the register into its
frames, keeps the configuration and the current model loaded, and stores snapshots.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection
from sqlmodel import Session

from models import Person, RunStatus, ScoreRun
from models.score import ScoreValues
from scoring import (
    OffenceCatalogue,
    ScoringConfig,
    ThreatModel,
    load_config,
    load_model,
    model_card,
    score_people,
)
from scoring.artefacts import current_version
from scoring.person import person_scores
from scoring.uk_calendar import end_of_uk_day
from service.bulk import write_frame
from service.errors import NotFound
from service.frames import Filters, custody_frame, offences_frame, person_record, persons_frame
from service.observability import SCORE_RUN_SECONDS

log = logging.getLogger(__name__)

# A snapshot row holds exactly the score values its table model declares.
SNAPSHOT_COLUMNS = tuple(ScoreValues.model_fields)


@dataclass(frozen=True)
class Scorer:
    """What every score needs: catalogue, rules and (if trained) the threat model."""

    catalogue: OffenceCatalogue
    config: ScoringConfig
    model: ThreatModel | None

    @property
    def model_version(self) -> str:
        card = model_card(self.model, config=self.config, catalogue=self.catalogue)
        return str(card["model_version"])

    def card(self) -> dict[str, Any]:
        """The model card (or the rule-based fallback's)."""
        return model_card(self.model, config=self.config, catalogue=self.catalogue)


ScorerCache = dict[tuple[Path, Path, str], Scorer]

_lock = threading.Lock()
_loaded: ScorerCache = {}


def get_scorer_for(catalogue: OffenceCatalogue, config_path: Path, model_dir: Path, *,
                   cache: ScorerCache | None = None) -> Scorer:
    """The scorer for these settings, loaded once per current model version.

    Every call re-reads the model folder's ``CURRENT`` marker (a few bytes), so a model
    promoted or rolled back by any worker process is in use in every worker from its next
    request; the model itself is loaded only when the marker names another version.
    ``cache`` is the process's own unless given (tests simulate a second worker with one).
    """
    cache = _loaded if cache is None else cache
    version = current_version(model_dir)
    key = (config_path, model_dir, catalogue.version)
    with _lock:
        cached = cache.get(key)
        in_use = None if cached is None or cached.model is None else cached.model.version
        if cached is None or in_use != version:
            config = cached.config if cached is not None else load_config(config_path)
            model = load_model(model_dir, version) if version is not None else None
            cache[key] = Scorer(catalogue=catalogue, config=config, model=model)
        return cache[key]


def loaded_scorer_for(catalogue: OffenceCatalogue, config_path: Path,
                      model_dir: Path) -> Scorer | None:
    """As `get_scorer_for`, but only a scorer this process has already loaded for the
    model version the marker names now: None where one would have to be loaded."""
    version = current_version(model_dir)
    with _lock:
        cached = _loaded.get((config_path, model_dir, catalogue.version))
    if cached is None or (None if cached.model is None else cached.model.version) != version:
        return None
    return cached


def forget_loaded_scorers() -> None:
    """Drop this process's cached scorers (the next request reloads rules and model)."""
    with _lock:
        _loaded.clear()


def _frames(conn: Connection, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame,
                                                         pd.DataFrame]:
    return (offences_frame(conn, filters), persons_frame(conn, filters),
            custody_frame(conn, filters))


def person_score(*, session: Session, person_id: int, as_of: date, scorer: Scorer,
                 as_recorded: bool = False, top: int = 5,
                 person: Person | None = None) -> dict[str, Any]:
    """One person's RFG, THR, band and explanation as of a date.

    `as_recorded` uses only offences and custody recorded by the end of `as_of` (what was
    known that day); otherwise everything known now about that date. `person` is their row
    when the caller has read it already (the route's area check), which saves a query.

    The lean path: their rows in one query, straight into the kernel's arrays
    (`scoring.person`), with no DataFrame; tests/service/test_person_score_agreement.py
    and tests/scoring/test_person.py check it against the batch kernel.
    """
    if person is None:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"person {person_id} not found")
    record = person_record(session.connection(), person, offences_until=as_of,
                           recorded_by=end_of_uk_day(as_of) if as_recorded else None)
    answer = person_scores(record, as_of=as_of, catalogue=scorer.catalogue,
                           config=scorer.config, model=scorer.model, top=top)
    return {"person_id": person_id, **answer,
            "knowledge": "as_recorded" if as_recorded else "current"}


def score_frame(conn: Connection, *, as_of: date, area: str | None,
                scorer: Scorer) -> pd.DataFrame:
    """Everyone's scores as of a date (optionally one home area), from the register."""
    filters = Filters(areas=[area] if area else None, offences_until=as_of)
    offences, persons, custody = _frames(conn, filters)
    return score_people(offences, persons, custody, as_of=as_of, catalogue=scorer.catalogue,
                        config=scorer.config, model=scorer.model)


SessionFactory = Callable[[], AbstractContextManager[Session]]


def execute_run(sessions: SessionFactory, run_id: int, scorer: Scorer) -> None:
    """Compute and store a snapshot for every person in the run's scope.

    Runs outside any request (a background task or the CLI), with sessions from
    `sessions`. The snapshot is written in one transaction with the run's `done` status; a
    failure records `failed` and the error's type (never its message, which could quote
    data).
    """
    started = time.perf_counter()
    try:
        with sessions() as session:
            run = session.get(ScoreRun, run_id)
            if run is None:
                return
            run.status, run.started_at = RunStatus.running, datetime.now(UTC)
            session.add(run)
            session.commit()
            as_of, area = run.as_of, run.area
        with sessions() as session:
            conn = session.connection()
            scores = score_frame(conn, as_of=as_of, area=area, scorer=scorer)
            rows = scores[["person_id", *SNAPSHOT_COLUMNS]].copy()
            rows.insert(0, "run_id", run_id)
            for column in ("threat_source", "band"):
                rows[column] = rows[column].astype(str)
            rows["escalating"] = rows["escalating"].astype(bool)
            write_frame(conn, "score_snapshots", rows)
            elapsed = time.perf_counter() - started
            run = session.get(ScoreRun, run_id, populate_existing=True)
            assert run is not None
            run.status, run.finished_at = RunStatus.done, datetime.now(UTC)
            run.persons_scored, run.duration_seconds = len(rows), round(elapsed, 3)
            run.config_version = scorer.config.version
            run.catalogue_version = scorer.catalogue.version
            run.model_version = scorer.model_version
            session.add(run)
            session.commit()
        SCORE_RUN_SECONDS.observe(elapsed)
        log.info("score run %s done: %s persons in %.1f s", run_id, len(rows), elapsed)
    except Exception as exc:  # a failed run must say so rather than stay "running"
        log.exception("score run %s failed", run_id)
        _mark_failed(sessions, run_id, exc)


def _mark_failed(sessions: SessionFactory, run_id: int, exc: Exception) -> None:
    try:
        with sessions() as session:
            failed = session.get(ScoreRun, run_id)
            if failed is not None:
                failed.status, failed.finished_at = RunStatus.failed, datetime.now(UTC)
                failed.error = type(exc).__name__
                session.add(failed)
                session.commit()
    except Exception:  # the database itself is gone: the log line above is all we can do
        log.exception("could not record the failure of score run %s", run_id)
