"""Batch scoring benchmark: ``iomscore score`` from Parquet, pandas engine and Dask engine.

Run from the repository root::

    .venv/bin/python bench/bench_batch.py write           # the 1M / ~10M data set, once
    .venv/bin/python bench/bench_batch.py startup         # every subcommand's start-up
    .venv/bin/python bench/bench_batch.py pandas          # iomscore score end to end + breakdown
    .venv/bin/python bench/bench_batch.py dask --workers 2   # on a real scheduler + workers

What each figure means:

* ``write``: ``scoring.synthetic.synthetic_histories`` (1,000,000 people, ~10M offences,
  ~440k custody spells) written to ``--data`` (default /tmp/iomscore-batch) as the file
  contract says: dates as Parquet ``date32``, one file per kind, offences in person and
  date order, 1M-row row groups. Not timed.
* ``startup``: wall and CPU seconds (the least of ``--repeats`` fresh processes each) of
  ``iomscore X --help`` for every subcommand and of the commands that do not score
  (``openapi``, ``keys list`` and ``migrate`` on an empty SQLite).
* ``pandas``: ``iomscore score --persons --offences --custody --output`` in fresh
  processes, wall and CPU of each of ``--repeats`` runs; then, in one more fresh
  interpreter, the same steps timed one by one (imports and rules, read, ``score_people``,
  write) and ``score_people`` in memory again, best wall and CPU of three.
* ``dask``: a real ``dask scheduler`` and ``--workers`` ``dask worker --nthreads 1
  --preload scoring.dask_engine`` processes on 127.0.0.1, then ``iomscore score --engine
  dask --scheduler`` end to end: wall, the command's CPU and the workers' CPU (read from
  each worker before and after).
* ``--code DIR`` runs another checkout's code (``git archive COMMIT | tar -x -C DIR``), so
  old and new can be alternated under the same machine load.

The load average (1, 5, 15 minutes) is printed before every timed step: the project's
machine has 2 cores shared with other jobs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AS_OF = "2024-12-31"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(code: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """``iomscore ARGS`` from the checkout ``code``: (wall seconds, CPU seconds)."""
    env = {**(env or os.environ), "PYTHONPATH": str(code)}
    cpu = cpu_of_children()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "service.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=code)
    return time.perf_counter() - started, cpu_of_children() - cpu


def best(code: Path, args: list[str], repeats: int,
         env: dict[str, str] | None = None) -> tuple[float, float]:
    """The least wall and the least CPU seconds of ``repeats`` runs."""
    runs = [run(code, args, env) for _ in range(repeats)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def write(data: Path, people: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from scoring.synthetic import synthetic_histories

    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    force = synthetic_histories(people, seed=0, mean_offences=12.0)
    print(f"generated {len(force.offences):,} offences in {time.perf_counter() - started:.0f} s",
          flush=True)
    dates = {"persons": ["date_of_birth"], "offences": ["offence_date"],
             "custody": ["start_on", "end_on"]}
    for kind, frame in (("persons", force.persons), ("offences", force.offences),
                        ("custody", force.custody)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for column in dates[kind]:
            table = table.set_column(table.schema.get_field_index(column), column,
                                     table[column].cast(pa.date32()))
        pq.write_table(table, data / f"{kind}.parquet", row_group_size=1_000_000)
        print(f"  {kind}: {table.num_rows:,} rows, {table.schema}", flush=True)


def score_args(data: Path, output: Path, *extra: str) -> list[str]:
    return ["score", "--as-of", AS_OF,
            "--persons", str(data / "persons.parquet"),
            "--offences", str(data / "offences.parquet"),
            "--custody", str(data / "custody.parquet"), "--output", str(output), *extra]


def startup(code: Path, repeats: int) -> dict[str, tuple[float, float]]:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/empty.db"}
        commands = {f"{name} --help": [name, "--help"] for name in
                    ("", "migrate", "serve", "demo", "import", "keys", "openapi", "catalogue",
                     "score", "train", "changes")}
        commands.update({
            "migrate (empty SQLite)": ["migrate"],
            "keys list": ["keys", "list"],
            "openapi": ["openapi", "--output", f"{tmp}/openapi.yaml"],
        })
        for label, args in commands.items():
            figures[label.strip()] = wall_s, cpu_s = best(code, [a for a in args if a],
                                                          repeats, env)
            print(f"  iomscore {label.strip():<24} {wall_s:.2f} s wall, {cpu_s:.2f} s CPU  "
                  f"(load {load()})", flush=True)
    return figures


def breakdown(code: Path, data: Path, output: Path) -> dict[str, float]:
    """The pandas engine's steps, timed one by one in a fresh interpreter."""
    script = f"""
import time, json
t0 = time.perf_counter()
import service.cli
from service.cli import _scorer
from scoring import score_people
try:
    from scoring.extracts import read_extract
except ImportError:  # before Arrow-native reading
    import pandas as pd
    read_extract = lambda path, kind: pd.read_parquet(path)
scorer = _scorer()
t1 = time.perf_counter()
persons = read_extract({str(data / 'persons.parquet')!r}, "persons")
offences = read_extract({str(data / 'offences.parquet')!r}, "offences")
custody = read_extract({str(data / 'custody.parquet')!r}, "custody")
t2 = time.perf_counter()
scores = score_people(offences, persons, custody, as_of={AS_OF!r}, catalogue=scorer.catalogue,
                      config=scorer.config, model=scorer.model)
t3 = time.perf_counter()
scores.to_parquet({str(output)!r}, index=False)
t4 = time.perf_counter()
again = []
for _ in range(3):  # in memory again: best wall and CPU of three
    w, c = time.perf_counter(), time.process_time()
    score_people(offences, persons, custody, as_of={AS_OF!r}, catalogue=scorer.catalogue,
                 config=scorer.config, model=scorer.model)
    again.append((time.perf_counter() - w, time.process_time() - c))
print(json.dumps({{"imports_and_setup": t1 - t0, "read": t2 - t1, "score_people": t3 - t2,
                  "write": t4 - t3, "score_people_best_wall": min(a for a, _ in again),
                  "score_people_best_cpu": min(b for _, b in again)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                          text=True, cwd=code, env={**os.environ, "PYTHONPATH": str(code)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster(workers: int, code: Path = ROOT) -> Iterator[str]:
    """A real ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(code)}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                              cwd=code)]
    try:
        procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                    "--nworkers", "1", "--no-dashboard",
                                    "--preload", "scoring.dask_engine",
                                    "--memory-limit", "0"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env, cwd=code)
                  for _ in range(workers)]
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["write", "startup", "pandas", "dask"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/iomscore-batch"))
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, help="--engine dask person partitions")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose code to time (e.g. `git archive` of the "
                             "commit before, to compare under the same machine load)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, object] = {"cores": os.cpu_count(), "load_before": load()}
    out = Path(tempfile.mkdtemp(prefix="iomscore-bench-"))
    try:
        if args.step == "write":
            write(args.data, args.people)
            return
        if args.step == "startup":
            figures["startup_s"] = startup(args.code, args.repeats)
        elif args.step == "pandas":
            runs = []
            for i in range(args.repeats):
                print(f"  load {load()}", flush=True)
                runs.append(run(args.code, score_args(args.data, out / f"scores{i}.parquet")))
                print(f"  iomscore score: {runs[-1][0]:.2f} s wall, {runs[-1][1]:.2f} s CPU",
                      flush=True)
            figures["end_to_end_wall_cpu_s"] = runs
            figures["breakdown_s"] = breakdown(args.code, args.data, out / "steps.parquet")
            print(f"  steps: {figures['breakdown_s']}", flush=True)
        else:
            extra = ["--partitions", str(args.partitions)] if args.partitions else []
            with cluster(args.workers, args.code) as address:
                from distributed import Client

                runs = []
                with Client(address) as client:
                    for i in range(args.repeats):
                        print(f"  load {load()}", flush=True)
                        before = sum(client.run(time.process_time).values())
                        wall_s, cpu_s = run(args.code, score_args(
                            args.data, out / f"dask{i}", "--engine", "dask", "--scheduler",
                            address, *extra))
                        workers_cpu = sum(client.run(time.process_time).values()) - before
                        runs.append((wall_s, cpu_s, workers_cpu))
                        print(f"  iomscore score --engine dask ({args.workers} workers): "
                              f"{wall_s:.2f} s wall, CPU {cpu_s:.2f} s command + "
                              f"{workers_cpu:.2f} s workers", flush=True)
            figures["dask_wall_cpu_workers_cpu_s"] = runs
            figures["workers"] = args.workers
        figures["load_after"] = load()
        print(json.dumps(figures, indent=1))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
