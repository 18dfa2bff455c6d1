"""Nightly re-score benchmark (issue 16): `service.current_scores.refresh` on the demo force,
one kernel run per person (as it was) against one per chunk (`scoring.person.people_scores`).

Builds a scratch PostgreSQL database, loads the 30,000-person demo force (``service.demo``)
and re-scores everyone with each way in turn, alternated (one-by-one, batch, one-by-one,
batch, ...) so a busy machine moves both sides, with the rule-based threat and then with
a threat model trained on synthetic histories. After each run the stored JSON bodies are
read back: every way must store the same bytes, or the script fails.

Run from the repository root (several minutes, one core)::

    .venv/bin/python bench/bench_rescore.py
    .venv/bin/python bench/bench_rescore.py --people 5000 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import service.current_scores as current  # noqa: E402
from scoring.person import PersonRecord, person_scores  # noqa: E402
from scoring.synthetic import synthetic_histories  # noqa: E402
from scoring.training import train_threat_model  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.demo import generate_demo, load_demo  # noqa: E402
from service.deps import scorer_for  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.scorer import Scorer  # noqa: E402
from tests.scratch import scratch_postgres  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = current.answers


def one_by_one(records: Sequence[PersonRecord], scorer: Scorer,
               today: date) -> list[dict[str, Any]]:
    """The answers as `store_scores` made them before: one kernel run per person."""
    return [{"person_id": record.person_id,
             **person_scores(record, as_of=today, catalogue=scorer.catalogue,
                             config=scorer.config, model=scorer.model),
             "knowledge": "current"} for record in records]


def timed(engine: Engine, scorer: Scorer, ids: list[int], way: str) -> tuple[float, list[str]]:
    current.answers = one_by_one if way == "one_by_one" else BATCH  # type: ignore[assignment]
    started = time.perf_counter()
    done = current.refresh(lambda: Session(engine), scorer, person_ids=ids)
    seconds = time.perf_counter() - started
    assert done == len(ids), (done, len(ids))
    with engine.connect() as conn:
        bodies = list(conn.execute(text("SELECT body FROM current_scores ORDER BY person_id"))
                      .scalars())
    return seconds, bodies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")
    data = synthetic_histories(400, seed=3, start="2016-01-01", end="2024-06-30")
    rules = scorer_for(get_settings())
    scorers = {"rule_based": Scorer(rules.catalogue, rules.config, None),
               "model": Scorer(rules.catalogue, rules.config,
                               train_threat_model(data.offences, data.persons, data.custody,
                                                  catalogue=rules.catalogue,
                                                  config=rules.config))}
    with scratch_postgres(args.server, prefix="iomrescore") as url:
        upgrade(url)
        engine = make_engine(url)
        load_demo(engine, generate_demo(people=args.people))
        with engine.connect() as conn:
            ids = list(conn.execute(text("SELECT id FROM persons ORDER BY id")).scalars())
            offences = conn.execute(text("SELECT count(*) FROM offences")).scalar_one()
        print(f"{len(ids)} people, {offences} offences")
        for threat, scorer in scorers.items():
            times: dict[str, list[float]] = {"one_by_one": [], "batch": []}
            stored: dict[str, list[str]] = {}
            for _ in range(args.rounds):
                for way in times:
                    seconds, bodies = timed(engine, scorer, ids, way)
                    times[way].append(seconds)
                    assert stored.setdefault(way, bodies) == bodies
                    print(f"{threat:>10} {way:>10}: {seconds:6.1f} s, "
                          f"{1000 * seconds / len(ids):.2f} ms a person, load "
                          f"{os.getloadavg()[0]:.2f}", flush=True)
            assert stored["one_by_one"] == stored["batch"], "the stored JSON differs"
            best = {way: min(t) for way, t in times.items()}
            print(f"{threat}: one by one {statistics.median(times['one_by_one']):.1f} s "
                  f"(best {best['one_by_one']:.1f}), batch "
                  f"{statistics.median(times['batch']):.1f} s (best {best['batch']:.1f}); "
                  f"{best['one_by_one'] / best['batch']:.1f}x; stored JSON identical")
        engine.dispose()
    current.answers = BATCH  # type: ignore[assignment]
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
