"""`iomscore rescore`: bring every stored current score up to today (a nightly job).

Imported by the command line's parser, so nothing heavy is imported at module level.
"""

import argparse
import sys
from typing import Any


def add_rescore_command(sub: Any) -> None:
    """Register `iomscore rescore` on the command line's sub-parsers."""
    rescore = sub.add_parser(
        "rescore", help="re-score everyone whose stored current score is missing or stale "
        "(run just after midnight, and after a model is promoted or rolled back)")
    rescore.add_argument("--area", help="only people living in this home area")
    rescore.set_defaults(handler=_rescore)


def _rescore(args: argparse.Namespace) -> int:
    import time
    from datetime import date

    from scoring import load_catalogue
    from service.cli_keys import cli_session
    from service.config import get_settings
    from service.current_scores import refresh
    from service.scorer import get_scorer_for

    settings = get_settings()
    scorer = get_scorer_for(load_catalogue(settings.offence_catalogue_path),
                            settings.scoring_config_path, settings.model_dir)
    started, today = time.perf_counter(), date.today()
    done = refresh(cli_session, scorer, today=today, area=args.area)
    print(f"current scores for {today}: {done} people re-scored in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
