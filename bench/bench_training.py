"""Training benchmark: a threat-model candidate for a 300,000-person force, timed by stage.

Run from the repository root::

    .venv/bin/python bench/bench_training.py                  # the issue's size
    .venv/bin/python bench/bench_training.py --people 30000   # quick look

What it does, and what each figure means:

1. Generates a synthetic force (``scoring.synthetic.synthetic_histories``) of ``--people``
   people over ten years (2015-2024, about 8 offences each); not timed.
2. ``build_training_set``: the back-test rows (monthly dates, people with an offence or a
   release since the previous date), features, labels and censoring.
3. ``train_threat_model`` end to end: the rows again, forward-chaining cross-validation of
   the logistic and the additive boosted families, the final fit, out-of-fold calibration,
   the comparison with the fallback and the baseline on the held-out year, and the gate.
   Stage 2 is part of it; it is reported apart because it scales with the history's length
   and the fits with the number of rows.

The machine is shared with other engineers' test runs: the load average before and after is
printed beside the times, and the JSON line at the end is what docs/benchmarks.md records.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.catalogue import load_catalogue  # noqa: E402
from scoring.config import load_config  # noqa: E402
from scoring.synthetic import synthetic_histories  # noqa: E402
from scoring.training import build_training_set, train_threat_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cat, cfg = load_catalogue(), load_config()
    load_before = os.getloadavg()
    started = time.perf_counter()
    data = synthetic_histories(args.people, seed=args.seed, start="2015-01-01",
                               end="2024-12-31", mean_offences=8.0)
    generated = time.perf_counter() - started
    print(f"{args.people:,} people, {len(data.offences):,} offences, "
          f"{len(data.custody):,} custody spells (generated in {generated:.1f} s)", flush=True)

    started = time.perf_counter()
    ts = build_training_set(data.offences, data.persons, data.custody, catalogue=cat,
                            config=cfg)
    rows_s = time.perf_counter() - started
    print(f"back-test rows: {len(ts.label):,} rows at {len(ts.as_of_dates)} dates in "
          f"{rows_s:.1f} s", flush=True)

    started = time.perf_counter()
    model = train_threat_model(data.offences, data.persons, data.custody, catalogue=cat,
                               config=cfg, monitoring=data.monitoring)
    total_s = time.perf_counter() - started
    card = model.card
    selection = card["model_selection"]
    contenders = card["comparison"]["contenders"]
    result = {
        "people": args.people, "offences": len(data.offences),
        "rows": len(ts.label), "dates": len(ts.as_of_dates),
        "training_rows": card["training_window"]["rows"],
        "back_test_rows_s": round(rows_s, 1), "train_total_s": round(total_s, 1),
        "chosen": selection["chosen"],
        "cv_mean_auc": {f: r["mean_auc"] for f, r in selection["families"].items()},
        "calibration": selection["calibration_method"],
        "held_out": {k: {"auc": round(v["auc"], 3), "ece": round(v["ece"], 3)}
                     for k, v in contenders.items() if v.get("auc") is not None},
        "gate_passed": card["gate"]["passed"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
