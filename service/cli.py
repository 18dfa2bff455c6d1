"""The `iomscore` command line: migrate, serve, keys, demo data, imports, catalogue import,
scoring and re-scoring, OpenAPI export, change-feed pruning."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli_changes import changes_prune
from service.cli_keys import cli_session, issue_key, keys_create, keys_list, keys_revoke
from service.cli_rescore import add_rescore_command

if TYPE_CHECKING:
    from service.config import Settings

Handler = Callable[[argparse.Namespace], int]


def _settings() -> "Settings":
    # Imported when a command runs: pydantic is most of what `--help` would cost (0.3 s).
    from service.config import get_settings

    return get_settings()


def _migrate(_args: argparse.Namespace) -> int:
    from service.migrate import upgrade

    upgrade(_settings().database_url)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    _migrate(args)
    # uvicorn's own access log prints raw paths and query strings (which can hold a PNC
    # ID); the app logs requests itself, by route template.
    settings = _settings()
    uvicorn.run("service.main:app", host=args.host, port=args.port, workers=args.workers,
                log_level=settings.log_level.lower(), access_log=False, log_config=None,
                limit_concurrency=settings.max_concurrent_requests, timeout_keep_alive=5)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.db import get_engine
    from service.demo import (
        DEFAULT_SEED,
        DemoDataExists,
        count_persons,
        generate_demo,
        load_demo,
    )
    from service.migrate import upgrade

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.export:
        return _demo_export(args, seed)
    upgrade(_settings().database_url)
    engine = get_engine()
    if args.if_empty and count_persons(engine):
        print("demo data not loaded: the register already holds people", file=sys.stderr)
    else:
        try:
            counts = load_demo(engine, generate_demo(seed=seed, people=args.people))
        except (DemoDataExists, ValueError) as exc:
            print(f"iomscore demo: {exc}", file=sys.stderr)
            return 1
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        print(f"demo data loaded (seed {seed}): {summary}", file=sys.stderr)
    # Every route but /health needs a key: hand the person trying the demo one that works.
    print("admin API key for the demo (send as 'Authorization: Bearer <key>'):",
          file=sys.stderr)
    print(issue_key(role="admin", areas=None, name="demo admin"))
    if args.train:  # the first candidate, once: later ones are the admin's to ask for
        from scoring import list_models
        from service.cli_model import queue_background_training

        if count_persons(engine) and not list_models(_settings().model_dir):
            queue_background_training()
    return 0


def _demo_export(args: argparse.Namespace, seed: int) -> int:
    from service.demo import generate_demo
    from service.demo.export import export_demo

    try:
        data = generate_demo(seed=seed, people=args.people)
    except ValueError as exc:
        print(f"iomscore demo: {exc}", file=sys.stderr)
        return 1
    written = export_demo(data, Path(args.export))
    counts = data.counts()
    for kind, path in written.items():
        print(f"{path}: {counts[kind]} rows", file=sys.stderr)
    print("load them in that order: iomscore import KIND FILE, or POST /imports/KIND",
          file=sys.stderr)
    return 0


def _progress_bar(description: str):  # type: ignore[no-untyped-def]
    """A (done, total, message) callback drawing a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="step", file=sys.stderr, leave=True)

    def update(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:60], refresh=False)
        bar.refresh()

    return bar, update


def _scorer():  # type: ignore[no-untyped-def]
    from scoring import load_catalogue
    from service.scorer import get_scorer_for

    settings = _settings()
    return get_scorer_for(load_catalogue(settings.offence_catalogue_path),
                          settings.scoring_config_path, settings.model_dir)


def _score(args: argparse.Namespace) -> int:
    from datetime import date

    from scoring.uk_calendar import uk_today

    as_of = date.fromisoformat(args.as_of) if args.as_of else uk_today()
    files = (args.persons, args.offences, args.output)
    if any(files) and not all(files):
        print("iomscore score: give --persons, --offences and --output together",
              file=sys.stderr)
        return 2
    if all(files):
        return _score_files(args, as_of)
    scorer = _scorer()
    if args.engine == "dask":
        print("iomscore score: the dask engine reads Parquet files (--persons, --offences, "
              "--output)", file=sys.stderr)
        return 2
    from contextlib import nullcontext

    from models import ScoreRun
    from service.errors import Conflict
    from service.scorer import execute_run
    from service.store.scores import create_run

    settings = _settings()
    with cli_session() as session:
        try:
            run = create_run(session=session, as_of=as_of, area=args.area,
                             max_active=settings.max_active_score_runs,
                             stale_after=settings.score_run_stale_after)
        except Conflict as exc:
            print(f"iomscore score: {exc.detail}", file=sys.stderr)
            return 1
        assert run.id is not None
        bar, update = _progress_bar(f"scoring as of {as_of}")
        update(0, 1, "reading the register and scoring")
        execute_run(lambda: nullcontext(session), run.id, scorer)
        finished = session.get(ScoreRun, run.id, populate_existing=True)
        update(1, 1, finished.status.value if finished else "?")
        bar.close()
        assert finished is not None
        print(f"score run {finished.id}: {finished.status.value}, {finished.persons_scored} "
              f"persons in {finished.duration_seconds} s", file=sys.stderr)
        return 0 if finished.status.value == "done" else 1


def _score_files(args: argparse.Namespace, as_of) -> int:  # type: ignore[no-untyped-def]
    from scoring import load_catalogue, load_model
    from scoring.allocator import keep_freed_memory
    from scoring.artefacts import current_version
    from scoring.config import load_config
    from scoring.dask_engine import score_parquet
    from scoring.extracts import read_extract, write_scores
    from scoring.score import score_people
    from scoring.validation import ScoringInputError

    # The rules as service.scorer loads them, without importing the database layer
    # (SQLAlchemy and the models: about a second) that scoring files never touches.
    settings = _settings()
    version = current_version(settings.model_dir)
    catalogue = load_catalogue(settings.offence_catalogue_path)
    config = load_config(settings.scoring_config_path)
    model = load_model(settings.model_dir, version) if version is not None else None
    bar, update = _progress_bar(f"scoring files as of {as_of}")
    keep_freed_memory()
    try:
        if args.engine == "dask":
            summary = score_parquet(args.persons, args.offences, args.output, as_of=as_of,
                                    custody_path=args.custody, scheduler=args.scheduler,
                                    npartitions=args.partitions, progress=update,
                                    catalogue=catalogue, config=config, model=model)
            bar.close()
            print(f"scored with dask: {summary}", file=sys.stderr)
            return 0
        update(0, 1, "reading Parquet")
        custody = read_extract(args.custody, "custody") if args.custody else None
        scores = score_people(read_extract(args.offences, "offences"),
                              read_extract(args.persons, "persons"), custody, as_of=as_of,
                              catalogue=catalogue, config=config, model=model)
        write_scores(scores, args.output)
    except ScoringInputError as exc:
        bar.close()
        print(f"iomscore score: {exc}", file=sys.stderr)
        return 1
    update(1, 1, f"{len(scores)} persons")
    bar.close()
    return 0


def _train(args: argparse.Namespace) -> int:
    from scoring import TrainingDataError
    from scoring.governance import comparison_summary
    from service.evaluation import latest_evaluation
    from service.frames import custody_frame, offences_frame, persons_frame
    from service.training import TrainingInProgress, train_candidate, training_lock

    if args.job is not None:
        from service.cli_model import run_job

        return run_job(args.job, _scorer())
    bar, update = _progress_bar("training the threat model")
    model_dir = _settings().model_dir
    try:
        with training_lock(model_dir):
            with cli_session() as session:
                conn = session.connection()
                frames = offences_frame(conn), persons_frame(conn), custody_frame(conn)
                external = latest_evaluation(session) is not None
            model, promoted = train_candidate(frames=frames, scorer=_scorer(),
                                              model_dir=model_dir, external_on_file=external,
                                              progress=update)
    except (TrainingDataError, TrainingInProgress) as exc:
        print(f"iomscore train: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    for row in comparison_summary(model.card["comparison"]):
        auc = "n/a" if row["auc"] is None else f"{row['auc']:.3f}"
        print(f"  {row['contender']:<11} AUC {auc}  Brier {row['brier']:.3f}  "
              f"ECE {row['ece']:.3f}", file=sys.stderr)
    gate = model.card["gate"]
    if promoted:
        print(f"model {model.version} passed the gate and is now current", file=sys.stderr)
    elif gate["passed"] and external:
        print(f"model {model.version} passed the gate on later dates; the force has an "
              "external evaluation: run `iomscore evaluate` again, then promote it",
              file=sys.stderr)
    elif gate["passed"]:
        print(f"model {model.version} passed the gate but another model became current "
              "meanwhile: kept as a candidate", file=sys.stderr)
    else:
        print(f"model {model.version} is rejected: " + "; ".join(gate["reasons"]),
              file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from service.cli_model import evaluate

    with cli_session() as session:
        return evaluate(args, _scorer(), session)


def _import(args: argparse.Namespace) -> int:
    import json

    from sqlalchemy.exc import OperationalError

    from service.deps import catalogue_for
    from service.errors import DomainError
    from service.loading import describe_error, file_format, load_file
    from service.store.import_files import ImportFile

    path = Path(args.file)
    fmt = args.format or file_format(path)
    if fmt is None:
        print(f"iomscore import: cannot tell the format of {path.name}: name it .csv, "
              ".ndjson or .jsonl, or give --format", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"iomscore import: no such file: {path}", file=sys.stderr)
        return 2
    settings = _settings()
    bar, update = _progress_bar(f"importing {args.kind}")
    update(0, 3, f"reading {path.name}")
    data = path.read_bytes()
    update(1, 3, f"checking and writing {len(data):,} bytes")
    try:
        with cli_session() as session:
            summary = load_file(session, kind=args.kind, file=ImportFile(fmt, data),
                                max_rows=args.max_rows or settings.max_import_rows,
                                catalogue=catalogue_for(settings),
                                restore_erased=args.restore_erased)
    except DomainError as exc:
        bar.close()
        # The detail and the row errors say where and what, never a row's values.
        print(f"iomscore import: {exc.detail}", file=sys.stderr)
        for error in exc.errors or []:
            print(describe_error(error), file=sys.stderr)
        return 1
    except OperationalError:
        bar.close()
        print("iomscore import: the database could not be used (run iomscore migrate "
              "first?)", file=sys.stderr)
        return 1
    update(3, 3, f"{summary.rows} rows")
    bar.close()
    print(json.dumps(summary.model_dump()))
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from service.openapi_cache import openapi_yaml

    text = openapi_yaml()
    (sys.stdout.write if args.output == "-" else Path(args.output).write_text)(text)
    return 0


def _catalogue_import(args: argparse.Namespace) -> int:
    import yaml

    from scoring.catalogue import CatalogueError, load_catalogue
    from scoring.catalogue_import import (
        chi_figures,
        cost_figures,
        file_digest,
        imported_catalogue,
        read_table,
    )
    from scoring.uk_calendar import uk_today

    if not (args.chi or args.costs):
        print("iomscore catalogue import: give --chi FILE and/or --costs FILE", file=sys.stderr)
        return 2
    base_path = Path(args.base or _settings().offence_catalogue_path).resolve()
    output = Path(args.output)
    if output.resolve() == base_path:
        print("iomscore catalogue import: --output must be a new file, not the base "
              "catalogue", file=sys.stderr)
        return 2
    files = [Path(f) for f in (args.chi, args.costs) if f]
    try:
        base = load_catalogue(base_path)
        chi = (chi_figures(read_table(args.chi, sheet=args.chi_sheet), base,
                           name=Path(args.chi).name) if args.chi else None)
        costs = (cost_figures(read_table(args.costs, sheet=args.costs_sheet), base,
                              name=Path(args.costs).name) if args.costs else None)
        raw, catalogue = imported_catalogue(
            yaml.safe_load(base_path.read_text()), base_path.parent, chi=chi, costs=costs,
            version=args.version, digest=file_digest(*files),
            note=", ".join(f.name for f in files))
    except (CatalogueError, OSError) as exc:
        print(f"iomscore catalogue import: {exc}", file=sys.stderr)
        return 1
    header = (f"# Written by `iomscore catalogue import` on {uk_today().isoformat()} from "
              f"{base_path} (version {base.version})\n# with {', '.join(map(str, files))}. "
              "Figures and sources are as imported; see scoring/data/offence_catalogue.yaml "
              "for what each section means.\n")
    output.write_text(header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True,
                                              width=100))
    print(f"catalogue {catalogue.version} written to {output}: per-code harm for "
          f"{len(chi or {})} codes, costs for {len(costs or {})} types. Point "
          f"OFFENCE_CATALOGUE_PATH at it to use it.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="iomscore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        handler=_migrate)

    serve = sub.add_parser("serve", help="migrate, then run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command",
                                                                          required=True)
    create = keys.add_parser("create", help="issue a key and print it on stdout")
    create.add_argument("--role", required=True,
                        choices=["admin", "offender_manager", "analyst", "integration"])
    create.add_argument("--areas", default="ALL", help="ALL or comma-separated area codes")
    create.add_argument("--name", default="cli")
    create.set_defaults(handler=keys_create)
    keys.add_parser("list", help="list keys (never the secrets)").set_defaults(handler=keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id", type=int)
    revoke.set_defaults(handler=keys_revoke)

    changes = sub.add_parser("changes", help="the change feed").add_subparsers(
        dest="changes_command", required=True)
    prune = changes.add_parser("prune", help="delete feed entries older than some days; "
                               "a follower with an older cursor is then told 410")
    prune.add_argument("--older-than-days", type=int, required=True,
                       choices=range(1, 36_501), metavar="DAYS")
    prune.set_defaults(handler=changes_prune)

    demo = sub.add_parser("demo", help="migrate, then load a synthetic force area")
    demo.add_argument("--seed", type=int, default=None,
                      help="default 20221109, the IDIOM data date of seed 002")
    demo.add_argument("--people", type=int, default=30_000)
    demo.add_argument("--if-empty", action="store_true",
                      help="do nothing (and succeed) if the register already holds people")
    demo.add_argument("--export", metavar="DIR",
                      help="write the data set as import files (persons.csv, offences.csv, "
                           "custody.csv, memberships.csv) into DIR instead of loading it")
    demo.add_argument("--train", action="store_true",
                      help="then train a candidate threat model in the background")
    demo.set_defaults(handler=_demo)

    score = sub.add_parser("score", help="score everyone as of a date (database or Parquet)")
    score.add_argument("--as-of", help="YYYY-MM-DD (default today)")
    score.add_argument("--area", help="one home area (database mode)")
    score.add_argument("--engine", choices=["pandas", "dask"], default="pandas")
    score.add_argument("--scheduler", help="dask distributed scheduler address")
    score.add_argument("--partitions", type=int,
                       help="person ranges for --engine dask (default: two per worker thread)")
    score.add_argument("--persons", help="persons.parquet (person_id, date_of_birth)")
    score.add_argument("--offences", help="offences.parquet (see README for the columns)")
    score.add_argument("--custody", help="optional custody.parquet")
    score.add_argument("--output", help="scores.parquet (a directory with --engine dask)")
    score.set_defaults(handler=_score)
    add_rescore_command(sub)

    from service.loading import KINDS

    load = sub.add_parser("import", help="load a CSV or NDJSON file into the register, as "
                                         "POST /imports/KIND does (all rows or none)")
    load.add_argument("kind", choices=KINDS, help="load in this order: " + ", ".join(KINDS))
    load.add_argument("file", help="the file: .csv, .ndjson or .jsonl (or give --format)")
    load.add_argument("--format", choices=["csv", "ndjson"])
    load.add_argument("--restore-erased", action="store_true",
                      help="bring back rows for erased or deleted records (skipped otherwise)")
    load.add_argument("--max-rows", type=int,
                      help="the row limit (default: the service's max_import_rows)")
    load.set_defaults(handler=_import)

    train = sub.add_parser("train", help="train a candidate threat model on the register by "
                           "back-testing; it becomes current only if it passes the gate")
    train.add_argument("--job", type=int, help="run this queued training job (as the "
                       "service's background jobs do)")
    train.set_defaults(handler=_train)
    evaluate = sub.add_parser("evaluate", help="score a labelled cohort (PNC ID, assessed_on, "
                              "reoffended) with every model and the fallback, as of each "
                              "person's date, as POST /model/evaluations does")
    evaluate.add_argument("--cohort", required=True, help="the cohort: .csv, .ndjson or .jsonl")
    evaluate.add_argument("--format", choices=["csv", "ndjson"])
    evaluate.add_argument("--source", help="where the cohort came from (kept with the figures)")
    evaluate.set_defaults(handler=_evaluate)

    catalogue = sub.add_parser("catalogue", help="the offence catalogue").add_subparsers(
        dest="catalogue_command", required=True)
    imp = catalogue.add_parser(
        "import", help="write a new catalogue version with a force's own CCHI days per "
        "Home Office code and/or unit costs (see README)")
    imp.add_argument("--chi", help="CCHI workbook, CSV or XLSX: ho_code, days[, source]")
    imp.add_argument("--costs", help="cost table, CSV or XLSX: offence_type or "
                     "offence_subgroup, cost_gbp[, source]")
    imp.add_argument("--chi-sheet", help="the workbook's sheet (default the first)")
    imp.add_argument("--costs-sheet", help="the cost table's sheet (default the first)")
    imp.add_argument("--base", help="catalogue to start from (default the one in use)")
    imp.add_argument("--output", required=True, help="the new catalogue file (YAML)")
    imp.add_argument("--version", help="its version (default the base's + a hash of the "
                     "files)")
    imp.set_defaults(handler=_catalogue_import)

    openapi = sub.add_parser("openapi", help="write the app's OpenAPI document as YAML")
    openapi.add_argument("--output", default="openapi.yaml", help="file, or - for stdout")
    openapi.set_defaults(handler=_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the `iomscore` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())


