"""Shortlist benchmark: GET /shortlists/migration for the largest demo area (BRISTOL).

Run from the repository root::

    .venv/bin/python bench/bench_shortlist.py               # SQLite, 30,000 demo people
    .venv/bin/python bench/bench_shortlist.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Data: ``service.demo.generate_demo(people=30000, end=2025-12-31)`` loaded with
``service.demo.load_demo`` into a scratch database. The requests go to the app under
uvicorn (one worker) over loopback with a real API key, as a client sees it: key check,
SQL reads, pool selection, scoring the pool, eligibility, exclusions and ranking,
explanations for the listed people, audit write and the JSON, CSV or XLSX body. Each is
timed after three warm-up requests. The stages of the store function are then timed in
process, so the dominant cost is visible.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_idiom import row_counts, scratch_database, served, timings  # noqa: E402
from models import ApiKeyCreate, Role  # noqa: E402
from scoring.explain import explanations_from_parts  # noqa: E402
from scoring.score import compute_scores, frame_from_parts  # noqa: E402
from scoring.shortlist import migration_shortlist  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.demo import generate_demo, load_demo  # noqa: E402
from service.deps import get_shortlist_config, scorer_for  # noqa: E402
from service.frames import memberships_frame  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.scorer import Scorer  # noqa: E402
from service.store import shortlists as store  # noqa: E402
from service.store.keys import create_key  # noqa: E402

END = date(2025, 12, 31)
AREA = "BRISTOL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--database", default=os.environ.get("IOM_BENCH_DATABASE"),
                        help="PostgreSQL server URL (default: a temporary SQLite file)")
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args(argv)

    results: dict[str, dict[str, float]] = {}
    with scratch_database(args.database) as url:
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        load_demo(engine, generate_demo(people=args.people, end=END))
        with engine.connect() as conn:
            people = conn.execute(text("SELECT COUNT(*) FROM persons WHERE home_area = :a"),
                                  {"a": AREA}).scalar_one()
        print(f"database: {engine.dialect.name}; loaded in {time.perf_counter() - t0:.1f} s; "
              f"rows: {row_counts(engine)}; {AREA} people: {people}")
        with Session(engine) as session:
            _, key = create_key(session=session, key_in=ApiKeyCreate(name="bench",
                                                                      role=Role.admin))
        headers = {"Authorization": f"Bearer {key}", "X-Justification": "benchmark"}
        base_params = {"area": AREA, "as_of": END.isoformat()}

        with served(url) as base, httpx.Client(base_url=base, headers=headers,
                                               timeout=60) as client:
            def timed(label: str, path: str, **params: object) -> None:
                def call() -> None:
                    resp = client.get(path, params={**base_params, **params})
                    assert resp.status_code == 200, resp.text
                for _ in range(2):
                    call()
                results[label] = timings(call, args.repeats)

            for stream in ("nsac", "domestic_abuse", "high_harm"):
                for fmt in (("json", "csv", "xlsx") if stream == "nsac" else ("json",)):
                    timed(f"http {stream}, {fmt.upper()}", "/shortlists/migration",
                          stream=stream, limit=25, format=fmt)
            timed("http counts nsac", "/shortlists/migration/counts", stream="nsac")
            timed("http exits nsac", "/shortlists/exits", stream="nsac")
            body = client.get("/shortlists/migration",
                              params={**base_params, "stream": "nsac"}).json()
            print(f"nsac: {len(body['candidates'])} candidates, "
                  f"{len(body['excluded'])} excluded")

        settings = get_settings()
        scorer = scorer_for(settings)
        with Session(engine) as session:
            results["store function, nsac (no HTTP, no audit)"] = timings(
                lambda: store.migration_list(session=session, scorer=scorer, area=AREA,
                                             stream="nsac", as_of=END,
                                             config=get_shortlist_config(settings)),
                args.repeats)
            _stages(session, scorer, results, args.repeats)
        engine.dispose()

    print("\n| what | p50 | p95 | max |\n|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['p50'] * 1000:.0f} ms | {r['p95'] * 1000:.0f} ms | "
              f"{r['max'] * 1000:.0f} ms |")
    return 0


def _stages(session: Session, scorer: Scorer, results: dict[str, dict[str, float]],
            repeats: int) -> None:
    """Each stage of ``store.migration_list`` for nsac, on the same inputs every time."""
    conn = session.connection()
    cfg = get_shortlist_config(get_settings())
    table = scorer.catalogue.table
    refs = store._referrals(conn, area=AREA, stream="nsac")
    results["  stage: referrals"] = timings(
        lambda: store._referrals(conn, area=AREA, stream="nsac"), repeats)
    pool = store.candidate_pool(conn, as_of=END, area=AREA, stream="nsac", config=cfg,
                                table=table, referrals=refs).tolist()
    results["  stage: look-back window read + pool"] = timings(
        lambda: store.candidate_pool(conn, as_of=END, area=AREA, stream="nsac", config=cfg,
                                     table=table, referrals=refs), repeats)
    register = store._register(conn, pool, as_of=END)
    off, per, cus = register.offences, register.persons, register.custody
    print(f"nsac pool: {len(pool)} people, {len(off)} offences read in full")
    results["  stage: the pool's histories, person rows, custody"] = timings(
        lambda: store._register(conn, pool, as_of=END), repeats)

    def score() -> object:
        parts = compute_scores(off, per, cus, as_of=END, catalogue=scorer.catalogue,
                               config=scorer.config, model=scorer.model)
        return parts, frame_from_parts(parts, catalogue=scorer.catalogue, config=scorer.config)
    results["  stage: scoring the pool"] = timings(score, repeats)
    parts, scores = score()  # type: ignore[misc]
    members = memberships_frame(conn, stream="nsac", active_on=END)
    results["  stage: active memberships of the stream"] = timings(
        lambda: memberships_frame(conn, stream="nsac", active_on=END), repeats)

    def rules() -> object:
        return migration_shortlist(scores, off, per, cus, members, refs, as_of=END, area=AREA,
                                   stream="nsac", config=cfg, catalogue_table=table)
    results["  stage: shortlist rules (migration_shortlist)"] = timings(rules, repeats)
    listed = rules().candidates["person_id"].to_numpy()  # type: ignore[attr-defined]
    results["  stage: explanations of the 25 listed"] = timings(
        lambda: explanations_from_parts(parts, catalogue=scorer.catalogue,
                                        config=scorer.config, top=cfg.explain_top,
                                        people=parts.people.positions(listed, "listed")),
        repeats)


if __name__ == "__main__":
    raise SystemExit(main())
