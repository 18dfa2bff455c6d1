"""Start-up of every ``iomscore`` command that does not score (issue 16: <= 0.5 s).

Run from the repository root::

    .venv/bin/python bench/bench_cli.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/bench_cli.py --code /tmp/old      # another checkout's code
    .venv/bin/python bench/bench_cli.py --importtime         # + the slowest imports

Each command runs ``--repeats`` times in fresh processes (``python -m service.cli``, as the
console script does); the table gives the least wall and the least CPU (user + system)
seconds, the load average before the command, and, with ``--importtime``, the command's
five slowest top-level imports (``python -X importtime``, cumulative). Databases: a fresh
SQLite file and a scratch PostgreSQL database (``--postgres``, the server's URL without a
database; dropped at the end), both migrated and holding one admin key first. ``serve``
is timed to the moment its port accepts a connection, separately. ``openapi`` is timed
cold (an empty cache: the app is built) and warm (the document kept for this code).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories import pnc_id  # noqa: E402  (the repository root on the path first)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(code: Path, args: list[str], env: dict[str, str],
        python_flags: tuple[str, ...] = ()) -> tuple[float, float, str]:
    """``iomscore ARGS`` with ``code``'s modules: (wall s, CPU s, stderr)."""
    cpu = _cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *python_flags, "-m", "service.cli", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**env, "PYTHONPATH": str(code)}, cwd=code)
    wall, spent = time.perf_counter() - started, _cpu_of_children() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"iomscore {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return wall, spent, done.stderr


def slowest_imports(code: Path, args: list[str], env: dict[str, str], n: int = 5) -> str:
    """The command's slowest top-level imports, cumulative milliseconds."""
    err = run(code, args, env, ("-X", "importtime"))[2]
    tops = []
    for line in err.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match:  # a top-level import: no indentation before its name
            tops.append((int(match.group(1)), match.group(2)))
    return ", ".join(f"{name} {us / 1000:.0f}" for us, name in sorted(tops, reverse=True)[:n])


def commands(tmp: Path) -> dict[str, list[str]]:
    """The commands that do not score, as run against a migrated database with a key."""
    chi = tmp / "chi.csv"
    chi.write_text("HO Code,Days\n008N,730\n")
    persons = tmp / "persons.csv"
    persons.write_text("pnc_id,given_name,date_of_birth,sex,home_area\n"
                       f"{pnc_id()},Alex,1990-04-01,male,BRISTOL\n")
    return {
        "--help": ["--help"],
        "migrate (at head)": ["migrate"],
        "keys create": ["keys", "create", "--role", "analyst", "--areas", "BANES"],
        "keys list": ["keys", "list"],
        "keys revoke": ["keys", "revoke", "2"],  # the first `keys create`: idempotent
        "changes prune": ["changes", "prune", "--older-than-days", "30"],
        "catalogue import": ["catalogue", "import", "--chi", str(chi), "--output",
                             str(tmp / "catalogue.yaml")],
        "import persons (1 row)": ["import", "persons", str(persons)],
        "openapi (warm cache)": ["openapi", "--output", str(tmp / "openapi.yaml")],
    }


def serve_until_listening(code: Path, env: dict[str, str]) -> float:
    """Seconds from starting ``iomscore serve`` to its port accepting a connection."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**env, "PYTHONPATH": str(code)}, cwd=code)
    try:
        while time.perf_counter() - started < 60:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return time.perf_counter() - started
            time.sleep(0.01)
        raise RuntimeError("serve did not listen within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def table(code: Path, database_url: str, repeats: int, importtime: bool,
          tmp: Path) -> None:
    cache = tmp / "cache"
    env = {**os.environ, "DATABASE_URL": database_url, "XDG_CACHE_HOME": str(cache)}
    wall, cpu, _ = run(code, ["migrate"], env)
    print(f"  migrate (empty database, builds the schema): {wall:.2f} s wall, {cpu:.2f} s "
          f"CPU (load {load()})", flush=True)
    run(code, ["keys", "create", "--role", "admin", "--name", "bench"], env)
    jobs = commands(tmp)
    runs = {label: [(0.0, 0.0)] * 0 for label in jobs}
    for _ in range(repeats):  # round robin: a burst of load spreads over every command
        for label, args in jobs.items():
            runs[label].append(run(code, args, env)[:2])
    cold = [run(code, ["openapi", "--output", str(tmp / "cold.yaml")],
                {**env, "XDG_CACHE_HOME": str(tmp / f"cold-{uuid.uuid4().hex}")})[:2]
            for _ in range(min(repeats, 2))]
    print(f"  {'command':<26} {'wall s':>7} {'CPU s':>6}  load", flush=True)
    for label, times in [*runs.items(), ("openapi (cold: builds the app)", cold)]:
        slow = ""
        if importtime and label in jobs:
            slow = "  | " + slowest_imports(code, jobs[label], env)
        print(f"  {label:<26} {min(w for w, _ in times):7.2f} {min(c for _, c in times):6.2f}"
              f"  {load()}{slow}", flush=True)
    listening = min(serve_until_listening(code, env) for _ in range(min(repeats, 3)))
    print(f"  serve, until its port accepts: {listening:.2f} s (load {load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose code to time (e.g. `git archive` of an "
                             "older commit, to compare under the same machine load)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server ('' to skip)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load {load()}, code {args.code}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            print("SQLite", flush=True)
            table(args.code, f"sqlite:///{tmp}/bench.db", args.repeats, args.importtime,
                  Path(tmp))
        if args.postgres and args.only != "sqlite":
            from tests.scratch import scratch_postgres

            print("PostgreSQL", flush=True)
            with scratch_postgres(f"{args.postgres}/postgres") as url, \
                    tempfile.TemporaryDirectory() as pg_tmp:
                table(args.code, url, args.repeats, args.importtime, Path(pg_tmp))


if __name__ == "__main__":
    main()
