"""Shortlist benchmark: GET /shortlists/migration for the largest demo area (BRISTOL).

Run from the repository root::

    .venv/bin/python bench/bench_shortlist.py               # SQLite, 30,000 demo people
    .venv/bin/python bench/bench_shortlist.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Data: ``service.demo.generate_demo(people=30000, end=2025-12-31)`` loaded with
``service.demo.load_demo``. Timed after one warm-up: the HTTP route end to end (SQL reads,
pool selection, scoring the pool, eligibility/exclusions/ranking, explanations for the
listed people, identities, audit write, JSON), the CSV and XLSX exports, the counts-only
variant, and the stages of the store function separately so the dominant cost is visible
(with the old whole-area read for comparison).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_idiom import app_served_from, row_counts, scratch_database, timings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402

END = date(2025, 12, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--database", default=os.environ.get("IOM_BENCH_DATABASE"))
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sqlmodel import Session

    from service.demo.generate import generate_demo
    from service.demo.load import load_demo
    from service.deps import get_catalogue
    from service.main import app
    from service.routes.scores import get_scorer
    from service.store import shortlists as store

    with scratch_database(args.database) as url:
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        load_demo(engine, generate_demo(people=args.people, end=END))
        counts = row_counts(engine)
        with engine.connect() as conn:
            bristol = conn.execute(text("SELECT COUNT(*) FROM persons WHERE home_area = "
                                        "'BRISTOL'")).scalar_one()
        print(f"database: {engine.dialect.name}; loaded in {time.perf_counter() - t0:.1f} s; "
              f"rows: {counts}; BRISTOL people: {bristol}")

        results = {}
        headers = {"X-Justification": "benchmark"}
        with app_served_from(engine), TestClient(app, headers=headers) as client:
            for stream in ("nsac", "domestic_abuse", "high_harm"):
                for fmt in (("json", "csv", "xlsx") if stream == "nsac" else ("json",)):
                    params = {"area": "BRISTOL", "stream": stream, "as_of": END.isoformat(),
                              "limit": 25, "format": fmt}

                    def call(p: dict[str, object] = params) -> None:
                        resp = client.get("/shortlists/migration", params=p)
                        assert resp.status_code == 200, resp.text
                    results[f"http {stream} format={fmt}"] = timings(call, args.repeats)
            body = client.get("/shortlists/migration", params={
                "area": "BRISTOL", "stream": "nsac", "as_of": END.isoformat()}).json()
            print(f"nsac: {len(body['candidates'])} candidates, {len(body['excluded'])} excluded")
            results["http counts nsac"] = timings(lambda: client.get(
                "/shortlists/migration/counts", params={
                    "area": "BRISTOL", "stream": "nsac", "as_of": END.isoformat()}),
                args.repeats)
            results["http exits nsac"] = timings(lambda: client.get("/shortlists/exits", params={
                "area": "BRISTOL", "stream": "nsac", "as_of": END.isoformat()}), args.repeats)
            from service.config import get_settings
            scorer = get_scorer(get_catalogue(get_settings()), get_settings())

        with Session(engine) as session:
            results["store nsac (no HTTP, no audit)"] = timings(
                lambda: store.migration_list(session=session, scorer=scorer, area="BRISTOL",
                                             stream="nsac", as_of=END), args.repeats)
            results["store counts nsac (no HTTP)"] = timings(
                lambda: store.migration_counts(session=session, scorer=scorer, area="BRISTOL",
                                               stream="nsac", as_of=END), args.repeats)
            conn = session.connection()
            cfg = store.shortlist_config()
            table = scorer.catalogue.table
            refs = store._referrals(conn, area="BRISTOL", stream="nsac")
            results["  stage: window read + pool (narrow SQL)"] = timings(
                lambda: store.candidate_pool(conn, as_of=END, area="BRISTOL", stream="nsac",
                                             config=cfg, table=table, referrals=refs),
                args.repeats)
            pool = store.candidate_pool(conn, as_of=END, area="BRISTOL", stream="nsac",
                                        config=cfg, table=table, referrals=refs)
            results["  stage: whole histories of the pool only"] = timings(
                lambda: store._pool_frames(conn, pool, as_of=END), args.repeats)
            off, per, cus = store._pool_frames(conn, pool, as_of=END)
            results["  stage: scoring the pool"] = timings(
                lambda: store._score(off, per, cus, as_of=END, scorer=scorer), args.repeats)
            results["  (before) SQL reads of the whole area, all history to as_of"] = timings(
                lambda: store._register(conn, as_of=END, area="BRISTOL", extra_ids=[]),
                args.repeats)
            a_off, a_per, a_cus = store._register(conn, as_of=END, area="BRISTOL", extra_ids=[])
            print(f"nsac pool scored: {len(pool)} of {len(a_per)} people; "
                  f"{len(off)} of {len(a_off)} offences read in full")
            results["  (before) scoring everyone in the area"] = timings(
                lambda: store._score(a_off, a_per, a_cus, as_of=END, scorer=scorer),
                args.repeats)
        engine.dispose()

    print("\n| what | p50 | p95 | max |\n|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['p50'] * 1000:.0f} ms | {r['p95'] * 1000:.0f} ms | "
              f"{r['max'] * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
