"""Benchmark: what the change-feed triggers cost writers, and what reading the feed costs.

Each round builds two scratch databases, one migrated to the revision before the feed
(3df9b8bbf57c, no triggers) and one to head, alternating which goes first, and times on
each: the demo load (COPY on PostgreSQL, executemany on SQLite), a 100,000-offence CSV
import through the app (5,000 people first), and small committed transactions (single-row
updates through the ORM, one writer and four at once); on PostgreSQL also one
100,000-row INSERT ... SELECT as the server times it (EXPLAIN ANALYZE names the trigger's
share). On the head database it then reads the whole feed through the app, 500 entries a
page.

Usage::

    .venv/bin/python bench/bench_changes.py                      # SQLite
    .venv/bin/python bench/bench_changes.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text
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
TICKS = os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """CPU seconds the engine's PostgreSQL backends spend (from /proc: the server runs on
    this machine), summed over connections as they go back to the pool. Unlike wall time,
    it does not grow when other jobs share the cores."""

    def __init__(self, engine: Engine) -> None:
        self.seconds = 0.0
        self._started: dict[int, tuple[int, float]] = {}
        if engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", self._checkout)
            event.listen(engine, "checkin", self._checkin)

    @staticmethod
    def _cpu(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def _checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        pid = dbapi_conn.info.backend_pid
        self._started[id(dbapi_conn)] = (pid, self._cpu(pid))

    def _checkin(self, dbapi_conn: Any, _record: Any) -> None:
        started = self._started.pop(id(dbapi_conn), None)
        if started is not None:
            self.seconds += self._cpu(started[0]) - started[1]


def timed(fn: Callable[[], object], server: ServerCpu | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and the database server)."""
    wall, cpu = time.perf_counter(), time.process_time()
    before = server.seconds if server else 0.0
    fn()
    return (time.perf_counter() - wall,
            time.process_time() - cpu + ((server.seconds - before) if server else 0.0))


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


def import_offences(client: TestClient, round_no: int,
                    server: ServerCpu) -> tuple[float, float]:
    _, people, offences = big_files(5_000, 100_000, source=f"bench{round_no}")
    resp = client.post("/imports/persons", content=people.encode(),
                       headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200, resp.text[:300]

    def send() -> None:
        resp = client.post("/imports/offences", content=offences.encode(),
                           headers={"Content-Type": "text/csv"})
        assert resp.status_code == 200 and resp.json()["inserted"] == 100_000, resp.text[:300]

    return timed(send, server)


def small_commits(engine: Engine, writers: int, each: int) -> None:
    """`writers` threads commit `each` single-row person updates apiece."""
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 1000")).scalars())

    def work(n: int) -> None:
        for k in range(each):
            with Session(engine) as s:
                s.execute(text("UPDATE persons SET version = version + 1 WHERE id = :id"),
                          {"id": ids[(n * each + k) % len(ids)]})
                s.commit()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def server_insert(engine: Engine) -> tuple[float, float]:
    """PostgreSQL: one INSERT ... SELECT of 100,000 offences, rolled back, as the server
    times it (EXPLAIN ANALYZE): (whole statement ms, of which the feed's trigger ms)."""
    sql = """
        EXPLAIN (ANALYZE, FORMAT JSON)
        INSERT INTO offences (person_id, offence_date, offence_type, domestic_abuse, outcome,
                              source, source_ref, recorded_at, version, updated_at)
        SELECT 1 + g % 1000, DATE '2024-01-01', 'theft', false, 'charge', 'explain',
               'E' || g, now(), 1, now()
          FROM generate_series(1, 100000) AS g"""
    with engine.connect() as conn:
        trans = conn.begin()
        plan = conn.execute(text(sql)).scalar_one()[0]
        trans.rollback()
    triggers = sum(t["Time"] for t in plan.get("Triggers", [])
                   if t["Trigger Name"].endswith("_changes_insert"))
    return plan["Execution Time"], triggers


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


Results = dict[str, dict[str, list[Any]]]


def one(server_url: str | None, revision: str, people: int, round_no: int,
        results: Results) -> None:
    label = "with feed" if revision == "head" else "without"
    out = results.setdefault(label, {})
    with scratch_database(server_url) as url:
        upgrade(url, revision)
        engine = make_engine(url)
        server = ServerCpu(engine)
        data = generate_demo(people=people, end=date(2025, 12, 31))
        out.setdefault("demo load", []).append(timed(lambda: load_demo(engine, data), server))
        with client_on(engine) as client:
            out.setdefault("import 100k offences", []).append(
                import_offences(client, round_no, server))
            out.setdefault("1 writer x 400 commits", []).append(
                timed(lambda: small_commits(engine, 1, 400), server))
            out.setdefault("4 writers x 100 commits", []).append(
                timed(lambda: small_commits(engine, 4, 100), server))
            if engine.dialect.name == "postgresql":
                total, trigger = server_insert(engine)
                out.setdefault("server: INSERT 100k offences (ms)", []).append(total)
                out.setdefault("server: of which feed trigger (ms)", []).append(trigger)
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
    results: Results = {}
    for round_no in range(args.rounds):
        order = ("head", BEFORE_FEED) if round_no % 2 else (BEFORE_FEED, "head")
        for revision in order:
            one(args.database, revision, args.people, round_no, results)
    print(f"load average {os.getloadavg()[0]:.1f}; (wall s, CPU s of client + server)")
    for label, rows in results.items():
        print(label)
        for what, values in rows.items():
            print(f"  {what}: {', '.join(_shown(v) for v in values)}")


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:.2f}" for v in value) + ")"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
