"""Load benchmark (issue 16): the service under concurrent requests, against a bare app.

Builds a scratch PostgreSQL database, loads the 30,000-person demo force (``service.demo``,
up to today, so the default ``as_of`` is the live path), issues an admin key, and serves
both the service and a bare FastAPI app that runs one PostgreSQL query a request
(``bench/bare_app.py``) with uvicorn, two workers each, on loopback. ``wrk`` (the Debian
package; installed if missing) then drives each row for a fixed time with
``bench/load.lua``, which draws random people, areas and streams and sends the key and
``X-Justification``. The bare app runs first and last; its mean is the row everything
is read against, so a busy machine moves both sides.

Run from the repository root (about three minutes; it loads the machine while it runs)::

    .venv/bin/python bench/bench_load.py
    .venv/bin/python bench/bench_load.py --rows bare,person,score --duration 5
    .venv/bin/python bench/bench_load.py --plain-uvicorn   # the service on asyncio + h11

The service is started as ``iomscore serve --workers 2`` starts it (uvicorn with the
settings' concurrency limit, no access log); ``--plain-uvicorn`` forces uvicorn's pure
Python loop and HTTP parser for the service, as a plain ``uvicorn`` install runs (the bare
app always gets uvloop and httptools: it is the practical limit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import ApiKeyCreate, Role  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.current_scores import refresh  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.demo import generate_demo, load_demo  # noqa: E402
from service.deps import scorer_for  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.store.keys import create_key  # noqa: E402
from tests.scratch import scratch_postgres  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LUA = ROOT / "bench" / "load.lua"
AREAS = ("BRISTOL", "SOUTH_GLOS", "NORTH_SOMERSET", "SOMERSET_EAST")  # the four largest
STREAMS = ("nsac", "domestic_abuse", "high_harm")
LARGEST = "BRISTOL"


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    kind: str
    connections: int
    areas: tuple[str, ...] = AREAS
    streams: tuple[str, ...] = STREAMS


ROWS = (
    Row("bare", "bare FastAPI + one query", "bare", 16),
    Row("person", "`GET /persons/{id}`", "person", 16),
    Row("score", "`GET /persons/{id}/score`, random people", "score", 16),
    Row("score1", "the same, 1 connection", "score", 1),
    Row("migration", "`GET /shortlists/migration` (4 areas x 3 streams)", "migration", 8),
    Row("largest", f"`GET /shortlists/migration` ({LARGEST}, 3 streams)", "migration", 8,
        areas=(LARGEST,)),
    Row("largest1", "the same, 1 connection", "migration", 1, areas=(LARGEST,)),
    Row("counts", f"`GET /shortlists/migration/counts` ({LARGEST}, 3 streams)", "counts", 8,
        areas=(LARGEST,)),
    Row("exits", f"`GET /shortlists/exits` ({LARGEST}, 3 streams)", "exits", 8,
        areas=(LARGEST,)),
    Row("health", "`GET /health`", "health", 16),
)


def ensure_wrk() -> str:
    """The wrk binary, installing Debian's package if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package)", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_served(app: str, url: str, log: Path, *, ready: str,
                   extra: tuple[str, ...] = ()) -> Iterator[str]:
    """`app` under uvicorn with two workers on loopback, as `iomscore serve` runs it."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
               str(port), "--workers", "2", "--no-access-log", "--log-level", "warning",
               "--limit-concurrency", str(get_settings().max_concurrent_requests),
               "--timeout-keep-alive", "5", *extra]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + ready, timeout=2).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{app} did not start: see {log}")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run_wrk(wrk: str, base: str, row: Row, *, key: str, people: int,
            seconds: int) -> dict[str, float]:
    """One wrk run of `row`; its summary line, with req/s and the load average after."""
    threads = min(2, row.connections)
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{row.connections}", f"-d{round(seconds)}s", "--timeout", "10s",
         "-s", str(LUA), base, "--", row.kind, key, str(people), ",".join(row.areas),
         ",".join(row.streams)], check=True, capture_output=True, text=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    summary["load"] = os.getloadavg()[0]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("IOM_BENCH_DATABASE", SERVER),
                        help="PostgreSQL server URL (a scratch database is made on it)")
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each row")
    parser.add_argument("--rows", default=",".join(r.name for r in ROWS),
                        help="which rows, by name: " + ", ".join(r.name for r in ROWS))
    parser.add_argument("--computed", action="store_true",
                        help="leave the stored current scores empty (every score computed)")
    parser.add_argument("--plain-uvicorn", action="store_true",
                        help="serve the service on asyncio and h11 (uvicorn without extras)")
    args = parser.parse_args(argv)
    wanted = set(args.rows.split(",")) | {"bare"}
    rows = [r for r in ROWS if r.name in wanted]
    wrk = ensure_wrk()
    service_extra = ("--loop", "asyncio", "--http", "h11") if args.plain_uvicorn else ()

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")
    with scratch_postgres(args.server, prefix="iomload") as url, \
            tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        load_demo(engine, generate_demo(people=args.people))
        with Session(engine) as session:
            _, key = create_key(session=session,
                                key_in=ApiKeyCreate(name="load bench", role=Role.admin))
            people = session.connection().execute(text("SELECT max(id) FROM persons")
                                                  ).scalar_one()
        print(f"demo force loaded: {people} people in {time.perf_counter() - started:.1f} s")
        if not args.computed:
            # What the nightly `iomscore rescore` does: today's scores stored for everyone.
            started = time.perf_counter()
            done = refresh(lambda: Session(engine), scorer_for(get_settings()))
            print(f"current scores stored: {done} people in "
                  f"{time.perf_counter() - started:.1f} s")
        engine.dispose()
        logs = Path(tmp)
        results: dict[str, list[dict[str, float]]] = {}
        with uvicorn_served("bench.bare_app:app", url, logs / "bare.log", ready="/persons/1",
                            extra=("--loop", "uvloop", "--http", "httptools")) as bare, \
                uvicorn_served("service.main:app", url, logs / "service.log",
                               ready="/health", extra=service_extra) as service:
            order = [*rows, rows[0]]  # the bare app again at the end
            for row in order:
                base = bare if row.kind == "bare" else service
                if args.warmup:
                    run_wrk(wrk, base, row, key=key, people=people, seconds=args.warmup)
                result = run_wrk(wrk, base, row, key=key, people=people,
                                 seconds=args.duration)
                results.setdefault(row.name, []).append(result)
                print(f"{row.name}: {result['rps']:.1f} req/s, p95 "
                      f"{result['p95_us'] / 1000:.1f} ms, load {result['load']:.2f}",
                      flush=True)
        errors = sum(1 for line in (logs / "service.log").read_text().splitlines()
                     if '"level": "error"' in line)
    print_table(rows, results, errors)
    return 0


def print_table(rows: list[Row], results: dict[str, list[dict[str, float]]],
                errors: int) -> None:
    bare_runs = results["bare"]
    bare = sum(r["rps"] for r in bare_runs) / len(bare_runs)
    print("\n| load | connections | req/s | share of bare | p50 | p95 | p99 | non-2xx | "
          "load avg |\n|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for r in results[row.name]:
            print(f"| {row.label} | {row.connections} | {r['rps']:,.0f} | "
                  f"{r['rps'] / bare:.3f} | {r['p50_us'] / 1000:.1f} ms | "
                  f"{r['p95_us'] / 1000:.1f} ms | {r['p99_us'] / 1000:.1f} ms | "
                  f"{int(r['non_2xx'] + r['socket_errors'])} | {r['load']:.2f} |")
    print(f"\nbare limit (mean of {len(bare_runs)} runs): {bare:,.0f} req/s; "
          f"error lines in the service's log: {errors}; load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    raise SystemExit(main())
