"""Benchmark: scoring a force from PostgreSQL (issue 3 targets).

* a full score run (read the register, score everyone, write the snapshot) for a
  300,000-person / ~3,000,000-offence force: target <= 60 s;
* ``GET /persons/{id}/score`` through the app: target p95 <= 25 ms.

Builds a scratch database on the server, loads ``service.demo`` data at that size (COPY),
times ``service.scorer.execute_run`` and then single-person score requests.

Usage::

    .venv/bin/python bench/bench_score_db.py                 # 300,000 people
    .venv/bin/python bench/bench_score_db.py --people 30000  # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.bench_idiom import scratch_database, served  # noqa: E402
from models import ApiKeyCreate, Role, ScoreRun  # noqa: E402
from scoring import load_catalogue, load_config  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.demo import generate_demo, load_demo  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.scorer import Scorer, execute_run  # noqa: E402
from service.store.keys import create_key  # noqa: E402
from service.store.scores import create_run  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--offences-per-person", type=float, default=12.0,
                        help="generator mean before custody removes some (12 gives ~10)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--server", default=SERVER)
    args = parser.parse_args()

    with scratch_database(args.server) as url:
        upgrade(url)
        engine = make_engine(url)
        t = time.perf_counter()
        data = generate_demo(people=args.people, offences_per_person=args.offences_per_person,
                             end=date(2025, 12, 31))
        counts = load_demo(engine, data)
        print(f"loaded {counts} in {time.perf_counter() - t:.1f} s")

        scorer = Scorer(catalogue=load_catalogue(), config=load_config(), model=None)
        with Session(engine) as session:
            run = create_run(session=session, as_of=date(2025, 12, 31), area=None)
            run_id = run.id or 0
        t = time.perf_counter()
        execute_run(lambda: Session(engine, expire_on_commit=False), run_id, scorer)
        elapsed = time.perf_counter() - t
        with Session(engine) as session:
            finished = session.get(ScoreRun, run_id)
            assert finished is not None and finished.status.value == "done", finished
            print(f"full score run: {finished.persons_scored} persons in {elapsed:.1f} s "
                  "(read + score + write snapshot; target <= 60 s)")
            _, key = create_key(session=session, key_in=ApiKeyCreate(name="b", role=Role.admin))

        ids = np.random.default_rng(0).integers(1, args.people + 1, size=args.requests)
        headers = {"Authorization": f"Bearer {key}", "X-Justification": "benchmark"}
        with served(url) as base, httpx.Client(base_url=base, headers=headers) as client:
            for pid in ids[:20]:  # warm-up
                client.get(f"/persons/{pid}/score", params={"as_of": "2025-12-31"})
            timings = []
            for pid in ids:
                t = time.perf_counter()
                resp = client.get(f"/persons/{pid}/score", params={"as_of": "2025-12-31"})
                timings.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, resp.text
        timings.sort()
        p50 = statistics.median(timings)
        p95 = timings[int(0.95 * len(timings)) - 1]
        print(f"GET /persons/{{id}}/score over {len(timings)} requests: p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms (target p95 <= 25 ms)")
        engine.dispose()


if __name__ == "__main__":
    main()
