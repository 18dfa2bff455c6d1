"""Scoring benchmark: full RFG + THR for 1,000,000 people / 10,000,000 offences in memory.

Run from the repository root::

    .venv/bin/python bench/bench_scoring.py            # the issue's size (about 2 minutes)
    .venv/bin/python bench/bench_scoring.py --people 100000 --slice 500   # quick look

What it does, and what each figure means:

1. Generates a synthetic force (``scoring.synthetic.synthetic_histories``: the one synthetic
   offending model, the demo force area's, as the scoring contract's frames; offences ordered
   by person and date, as a database extract is) and its custody table; not timed.
2. Trains a threat model on a separate 20,000-person synthetic force (the model's size does
   not depend on how many people it scores) so the full run includes model inference.
3. Times ``score_people`` end to end, from the DataFrames to the result frame: input checks,
   the three RFG streams, escalation, the threat features, model (or rule-based) threat,
   harm, risk and bands. The first run of each kind is reported separately from the best of
   the repeats, because the first touch of fresh memory is expensive on some machines.
4. Peak memory: the largest extra Python/numpy allocation during one scoring call
   (tracemalloc, a separate untimed run) and the process's peak resident set size.
5. Speed-up: the per-person reference (``rfg_scores_reference``: plain Python, one person at
   a time) on a slice of people, against the vectorised ``rfg_scores`` on everyone, per
   person, for the three RFG streams; the two must agree on the slice.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.catalogue import load_catalogue  # noqa: E402
from scoring.config import STREAMS, load_config  # noqa: E402
from scoring.rfg import rfg_scores, rfg_scores_reference  # noqa: E402
from scoring.score import score_people  # noqa: E402
from scoring.synthetic import synthetic_histories  # noqa: E402
from scoring.training import train_threat_model  # noqa: E402

AS_OF = "2024-12-31"


def timed(label: str, fn, repeats: int) -> dict[str, float]:
    first_started = time.perf_counter()
    fn()
    first = time.perf_counter() - first_started
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    result = {"first_s": first, "best_s": min(runs), "median_s": statistics.median(runs)}
    print(f"  {label}: first {first:.2f} s, best {min(runs):.2f} s, "
          f"median {statistics.median(runs):.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--offences-per-person", type=float, default=12.0,
                        help="target mean before custody removes some (12 gives ~10M)")
    parser.add_argument("--slice", type=int, default=2000,
                        help="people scored by the per-person reference")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    cat, cfg = load_catalogue(), load_config()
    print(f"generating {args.people:,} people ...", flush=True)
    started = time.perf_counter()
    data = synthetic_histories(args.people, seed=args.seed,
                               mean_offences=args.offences_per_person)
    offences, persons, custody = data.offences, data.persons, data.custody
    print(f"  {len(offences):,} offences, {len(custody):,} custody periods "
          f"({time.perf_counter() - started:.0f} s)", flush=True)

    print("training a threat model on a separate 20,000-person force ...", flush=True)
    started = time.perf_counter()
    small = synthetic_histories(20_000, seed=args.seed + 1, start="2016-01-01")
    model = train_threat_model(small.offences, small.persons, small.custody, catalogue=cat,
                               config=cfg)
    train_s = time.perf_counter() - started
    print(f"  {model.version} in {train_s:.1f} s", flush=True)

    print("scoring (score_people, end to end) ...", flush=True)
    with_model = timed("RFG + THR, model threat", lambda: score_people(
        offences, persons, custody, as_of=AS_OF, catalogue=cat, config=cfg, model=model),
        args.repeats)
    fallback = timed("RFG + THR, rule-based threat", lambda: score_people(
        offences, persons, custody, as_of=AS_OF, catalogue=cat, config=cfg), args.repeats)

    tracemalloc.start()
    score_people(offences, persons, custody, as_of=AS_OF, catalogue=cat, config=cfg,
                 model=model)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    print("speed-up against the per-person reference (3 RFG streams) ...", flush=True)
    rng = np.random.default_rng(args.seed)
    ids = rng.choice(offences["person_id"].unique(), args.slice, replace=False)
    part = offences[offences["person_id"].isin(ids)]
    started = time.perf_counter()
    slow = {s: rfg_scores_reference(part, as_of=AS_OF, catalogue=cat, config=cfg, stream=s)
            for s in STREAMS}
    reference_s = time.perf_counter() - started
    started = time.perf_counter()
    fast = {s: rfg_scores(offences, as_of=AS_OF, catalogue=cat, config=cfg, stream=s)
            for s in STREAMS}
    vector_s = time.perf_counter() - started
    columns = ["recency", "frequency", "gravity", "victims", "score"]
    for s in STREAMS:
        mine = fast[s].set_index("person_id").loc[slow[s]["person_id"], columns].to_numpy()
        np.testing.assert_allclose(mine, slow[s][columns].to_numpy(), rtol=1e-9, atol=1e-9)
    n_fast = len(fast["all"])
    per_ref = reference_s / args.slice
    per_fast = vector_s / n_fast
    speedup = per_ref / per_fast
    print(f"  reference {per_ref * 1e6:.0f} us/person ({args.slice} people, "
          f"{reference_s:.1f} s); vectorised {per_fast * 1e6:.2f} us/person "
          f"({n_fast:,} people, {vector_s:.2f} s): {speedup:,.0f}x; results agree", flush=True)

    figures = {
        "people": args.people, "offences": len(offences), "custody_periods": len(custody),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__},
        "score_people_model": with_model, "score_people_rule_based": fallback,
        "train_20k_people_s": train_s,
        "peak_traced_bytes": traced_peak, "max_rss_bytes": max_rss,
        "reference_us_per_person": per_ref * 1e6, "vectorised_us_per_person": per_fast * 1e6,
        "speedup": speedup, "reference_slice": args.slice,
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
