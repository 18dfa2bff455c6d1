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
* ``startup``: wall time of ``iomscore X --help`` for every subcommand and of the commands
  that do not score (``openapi``, ``keys list`` and ``migrate`` on an empty SQLite), best of
  ``--repeats`` runs in fresh processes.
* ``pandas``: ``iomscore score --persons --offences --custody --output`` in a fresh process,
  best of ``--repeats``; then, in this process, the same steps timed one by one: imports
  (``python -X importtime`` is not needed: a fresh interpreter's import of the command's
  modules), read (the three files to the scoring frames), ``score_people``, write.
* ``dask``: a real ``dask scheduler`` and ``--workers`` ``dask worker --nthreads 1``
  processes on 127.0.0.1, then ``iomscore score --engine dask --scheduler`` end to end.

The load average (1, 5, 15 minutes) is printed before every timed step: the project's
machine has 2 cores shared with other jobs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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


def wall(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env, cwd=ROOT)
    return time.perf_counter() - started


def best(command: list[str], repeats: int, env: dict[str, str] | None = None) -> float:
    return min(wall(command, env) for _ in range(repeats))


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


def score_command(data: Path, output: Path, *extra: str) -> list[str]:
    return [str(BIN / "iomscore"), "score", "--as-of", AS_OF,
            "--persons", str(data / "persons.parquet"),
            "--offences", str(data / "offences.parquet"),
            "--custody", str(data / "custody.parquet"), "--output", str(output), *extra]


def startup(repeats: int) -> dict[str, float]:
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
            command = [str(BIN / "iomscore"), *[a for a in args if a]]
            figures[label.strip()] = seconds = best(command, repeats, env)
            print(f"  iomscore {label.strip():<24} {seconds:.2f} s  (load {load()})",
                  flush=True)
    return figures


def breakdown(data: Path, output: Path) -> dict[str, float]:
    """The pandas engine's steps, timed one by one in a fresh interpreter."""
    code = f"""
import time, json
t0 = time.perf_counter()
import service.cli
from service.cli import _scorer
from scoring import score_people
from scoring.parquet import read_scoring_frames
scorer = _scorer()
t1 = time.perf_counter()
persons, offences, custody = read_scoring_frames({str(data / 'persons.parquet')!r},
    {str(data / 'offences.parquet')!r}, {str(data / 'custody.parquet')!r})
t2 = time.perf_counter()
scores = score_people(offences, persons, custody, as_of={AS_OF!r}, catalogue=scorer.catalogue,
                      config=scorer.config, model=scorer.model)
t3 = time.perf_counter()
scores.to_parquet({str(output)!r}, index=False)
t4 = time.perf_counter()
print(json.dumps({{"imports_and_setup": t1 - t0, "read": t2 - t1, "score_people": t3 - t2,
                  "write": t4 - t3}}))
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster(workers: int) -> Iterator[str]:
    """A real ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                    "--nworkers", "1", "--no-dashboard",
                                    "--memory-limit", "0"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, object] = {"cores": os.cpu_count(), "load_before": load()}
    out = Path(tempfile.mkdtemp(prefix="iomscore-bench-"))
    try:
        if args.step == "write":
            write(args.data, args.people)
            return
        if args.step == "startup":
            figures["startup_s"] = startup(args.repeats)
        elif args.step == "pandas":
            runs = []
            for i in range(args.repeats):
                print(f"  load {load()}", flush=True)
                runs.append(wall(score_command(args.data, out / f"scores{i}.parquet")))
                print(f"  iomscore score: {runs[-1]:.2f} s", flush=True)
            figures["end_to_end_s"] = runs
            figures["breakdown_s"] = breakdown(args.data, out / "steps.parquet")
            print(f"  steps: {figures['breakdown_s']}", flush=True)
        else:
            extra = ["--partitions", str(args.partitions)] if args.partitions else []
            with cluster(args.workers) as address:
                runs = []
                for i in range(args.repeats):
                    print(f"  load {load()}", flush=True)
                    runs.append(wall(score_command(args.data, out / f"dask{i}", "--engine",
                                                   "dask", "--scheduler", address, *extra)))
                    print(f"  iomscore score --engine dask ({args.workers} workers): "
                          f"{runs[-1]:.2f} s", flush=True)
            figures["dask_end_to_end_s"] = runs
            figures["workers"] = args.workers
        figures["load_after"] = load()
        print(json.dumps(figures, indent=1))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
