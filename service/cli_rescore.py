"""`iomscore rescore`: bring every stored current score up to today (a nightly job).

Imported by the command line's parser, so nothing heavy is imported at module level.
"""

import argparse
import sys
from datetime import date
from typing import Any


def add_rescore_command(sub: Any) -> None:
    """Register `iomscore rescore` on the command line's sub-parsers."""
    rescore = sub.add_parser(
        "rescore", help="re-score everyone whose stored current score is missing or stale "
        "(run just after midnight, and after a model is promoted or rolled back)")
    rescore.add_argument("--area", help="only people living in this home area")
    rescore.add_argument("--jobs", type=int, default=1, choices=range(1, 65), metavar="N",
                         help="processes to share the people between (default 1)")
    rescore.set_defaults(handler=_rescore)


def _scorer():  # type: ignore[no-untyped-def]
    from scoring import load_catalogue
    from service.config import get_settings
    from service.scorer import get_scorer_for

    settings = get_settings()
    return get_scorer_for(load_catalogue(settings.offence_catalogue_path),
                          settings.scoring_config_path, settings.model_dir)


def _rescore(args: argparse.Namespace) -> int:
    import time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from scoring.uk_calendar import uk_today
    from service.cli_keys import cli_session
    from service.current_scores import refresh, stale_ids

    scorer = _scorer()
    started, today = time.perf_counter(), uk_today()
    if args.jobs == 1:
        done = refresh(cli_session, scorer, today=today, area=args.area)
    else:
        # The kernel is the whole cost and holds the GIL: one process per core. Each takes
        # a contiguous run of ids, so no two lock the same person.
        with cli_session() as session:
            ids = stale_ids(session.connection(), scorer, today, args.area)
        size = -(-len(ids) // args.jobs)
        parts = [ids[start:start + size] for start in range(0, len(ids), size)]
        with ProcessPoolExecutor(len(parts) or 1, mp_context=get_context("spawn")) as pool:
            done = sum(pool.map(_refresh_part, [today] * len(parts), parts))
    print(f"current scores for {today}: {done} people re-scored in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _refresh_part(today: date, ids: list[int]) -> int:
    """One process's share of `iomscore rescore --jobs N`."""
    from service.cli_keys import cli_session
    from service.current_scores import refresh

    return refresh(cli_session, _scorer(), today=today, person_ids=ids)
