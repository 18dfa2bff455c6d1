"""Benchmark: what the change-feed triggers cost writers, and what reading the feed costs.

Each round builds two scratch databases, one migrated to the revision before the feed
(3df9b8bbf57c, no triggers) and one to head, alternating which goes first, and times on
each: the demo load (COPY on PostgreSQL, executemany on SQLite), a 100,000-offence CSV
import through the app (5,000 people first), and small committed transactions (single-row
updates through the ORM, one writer and four at once). On the head database it then reads
the whole feed through the app, 500 entries a page.

Usage::

    .venv/bin/python bench/bench_changes.py                      # SQLite
    .venv/bin/python bench/bench_changes.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_idiom import scratch_database  # noqa: E402
from models import ApiKeyCreate, Role  # noqa: E402
from service.db import get_session, make_engine  # noqa: E402
from service.demo import generate_demo, load_demo  # noqa: E402
from service.main import app  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.store.keys import create_key  # noqa: E402
from tests.service.test_imports import big_files  # noqa: E402

BEFORE_FEED = "3df9b8bbf57c"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@contextmanager
def client_on(engine: Engine) -> Iterator[TestClient]:
    with Session(engine) as session:
        _, key = create_key(session=session, key_in=ApiKeyCreate(name="b", role=Role.admin))

    def session_dep() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session_dep
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {key}",
                                      "X-Justification": "benchmark"}) as c:
            yield c
    finally:
        app.dependency_overrides.pop(get_session, None)


def import_offences(client: TestClient, round_no: int) -> float:
    _, people, offences = big_files(5_000, 100_000, source=f"bench{round_no}")
    resp = client.post("/imports/persons", content=people.encode(),
                       headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200, resp.text[:300]
    started = time.perf_counter()
    resp = client.post("/imports/offences", content=offences.encode(),
                       headers={"Content-Type": "text/csv"})
    took = time.perf_counter() - started
    assert resp.status_code == 200 and resp.json()["inserted"] == 100_000, resp.text[:300]
    return took


def small_commits(engine: Engine, writers: int, each: int) -> float:
    """Seconds for `writers` threads to commit `each` single-row person updates apiece."""
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 1000")).scalars())

    def work(n: int) -> None:
        for k in range(each):
            with Session(engine) as s:
                s.execute(text("UPDATE persons SET version = version + 1 WHERE id = :id"),
                          {"id": ids[(n * each + k) % len(ids)]})
                s.commit()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def read_feed(client: TestClient) -> tuple[int, list[float]]:
    cursor, entries, pages = None, 0, []
    while True:
        params = {"limit": 500, **({} if cursor is None else {"after": cursor})}
        started = time.perf_counter()
        body = client.get("/changes", params=params).json()
        pages.append(time.perf_counter() - started)
        entries += len(body["items"])
        if body["next_cursor"] == cursor:
            return entries, pages
        cursor = body["next_cursor"]


def one(server: str | None, revision: str, people: int, round_no: int,
        results: dict[str, dict[str, list[float]]]) -> None:
    label = "with feed" if revision == "head" else "without"
    out = results.setdefault(label, {})
    with scratch_database(server) as url:
        upgrade(url, revision)
        engine = make_engine(url)
        data = generate_demo(people=people, end=date(2025, 12, 31))
        out.setdefault("demo load", []).append(timed(lambda: load_demo(engine, data)))
        with client_on(engine) as client:
            out.setdefault("import 100k offences", []).append(import_offences(client, round_no))
            out.setdefault("1 writer x 400 commits", []).append(small_commits(engine, 1, 400))
            out.setdefault("4 writers x 100 commits", []).append(small_commits(engine, 4, 100))
            if revision == "head":
                entries, pages = read_feed(client)
                out.setdefault("feed entries", []).append(entries)
                out.setdefault("feed page p50 (ms)", []).append(
                    1000 * statistics.median(pages))
                out.setdefault("whole feed read (s)", []).append(sum(pages))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    for round_no in range(args.rounds):
        order = ("head", BEFORE_FEED) if round_no % 2 else (BEFORE_FEED, "head")
        for revision in order:
            one(args.database, revision, args.people, round_no, results)
    for label, rows in results.items():
        print(label)
        for what, values in rows.items():
            shown = ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in values)
            print(f"  {what}: {shown}")


if __name__ == "__main__":
    main()
