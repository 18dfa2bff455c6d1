"""The `iomscore evaluate` command: a force's labelled cohort against every model and the
fallback, as POST /model/evaluations does, with the comparison printed as a table."""

import argparse
import sys
from pathlib import Path
from typing import Any


def comparison_lines(evaluation: dict[str, Any], *, current: str,
                     gates: dict[str, dict[str, Any] | None]) -> list[str]:
    """The printed table: one line per model and the fallback, then each candidate's
    verdict on this cohort."""
    lines = [f"external evaluation {evaluation['id']}: {evaluation['matched_rows']} of "
             f"{evaluation['cohort_rows']} rows matched and scored, "
             f"{evaluation['positives']} reoffended, {evaluation['unmatched_pnc_ids']} "
             "PNC IDs not on the register",
             f"  {'threat from':<40} {'AUC':>6} {'Brier':>6} {'ECE':>6}"]
    for f in evaluation["figures"]:
        auc = "n/a" if f["auc"] is None else f"{f['auc']:.3f}"
        name = f["version"] + (" (in use)" if f["version"] == current else "")
        lines.append(f"  {name:<40} {auc:>6} {f['brier']:>6.3f} {f['ece']:>6.3f}")
    for version, gate in gates.items():
        if gate is not None:
            verdict = "passes" if gate["passed"] else "fails: " + "; ".join(gate["reasons"])
            lines.append(f"  {version} {verdict}")
    return lines


def evaluate(args: argparse.Namespace, scorer: Any, session: Any) -> int:
    from models import AuditAction
    from scoring.artefacts import current_version, list_models, model_status
    from service.audit import record_local
    from service.config import get_settings
    from service.errors import DomainError
    from service.evaluation import evaluation_read, external_gate, read_cohort, run_evaluation
    from service.loading import describe_error, file_format
    from service.store.import_files import ImportFile

    path = Path(args.cohort)
    fmt = args.format or file_format(path)
    if fmt is None:
        print("iomscore evaluate: give --format (the file is not .csv, .ndjson or .jsonl)",
              file=sys.stderr)
        return 2
    settings = get_settings()
    try:
        cohort = read_cohort(ImportFile(format=fmt, data=path.read_bytes()),
                             max_rows=settings.max_import_rows)
        evaluation, person_ids = run_evaluation(
            session, cohort, scorer=scorer, model_dir=settings.model_dir,
            uploaded_by="local admin (iomscore evaluate)", source=args.source)
    except DomainError as exc:
        print(f"iomscore evaluate: {exc.detail}", file=sys.stderr)
        for error in getattr(exc, "errors", None) or []:
            print(f"  {describe_error(error)}", file=sys.stderr)
        session.rollback()
        return 1
    record_local(session, AuditAction.consultation, command="iomscore evaluate",
                 person_ids=person_ids,
                 detail=f"external evaluation {evaluation.id}: {evaluation.cohort_rows} "
                        f"cohort rows, {evaluation.matched_rows} matched and scored")
    model_dir = settings.model_dir
    current = current_version(model_dir)
    gates = {v: external_gate(evaluation, v, current=current, scorer=scorer)
             for v in list_models(model_dir) if model_status(model_dir, v) == "candidate"}
    for line in comparison_lines(evaluation_read(evaluation), current=scorer.model_version,
                                 gates=gates):
        print(line)
    return 0


def queue_background_training() -> Any:
    """Queue a training job and start it in a detached process (the demo's first
    candidate): the service starts at once and picks the model up if it passes the gate.
    Returns the process, or None when another training is active."""
    import subprocess

    from models import AuditAction
    from service.audit import record_local
    from service.cli_keys import cli_session
    from service.config import get_settings
    from service.errors import Conflict
    from service.store.training_jobs import create_job
    from service.training import training_running

    settings = get_settings()
    with cli_session() as session:
        try:
            job = create_job(session=session, stale_after=settings.training_job_stale_after,
                             lock_held=training_running(settings.model_dir))
        except Conflict:
            print("a threat model is already being trained: no new job queued",
                  file=sys.stderr)
            return None
        record_local(session, AuditAction.alteration, command="iomscore demo --train",
                     person_ids=[], detail=f"training job {job.id} queued: the candidate "
                     "becomes current only if it passes the gate")
    print(f"training a candidate in the background (job {job.id}): GET /model/train/"
          f"{job.id}, or the console's model page", file=sys.stderr)
    return subprocess.Popen([sys.executable, "-m", "service.cli", "train", "--job",
                             str(job.id)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_job(job_id: int, scorer: Any) -> int:
    """Run a queued training job to the end (what the demo's detached process does)."""
    from models import RunStatus, TrainingJob
    from service.config import get_settings
    from service.jobs import engine_session
    from service.training import execute_training

    execute_training(engine_session, job_id, scorer, get_settings().model_dir)
    with engine_session() as session:
        job = session.get(TrainingJob, job_id)
        return 0 if job is not None and job.status == RunStatus.done else 1
