"""Loading a file into the register from the command line (`iomscore import KIND FILE`).

The same store functions as the import routes, so the same rules, all rows or none. The
command line has no API key: it acts as a local administrator (every area) and writes one
audit event per file, committed with the data as a route's event is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.imports import ImportSummary
    from scoring.catalogue import OffenceCatalogue
    from service.store.import_files import ImportFile, ImportFormat

# In the order an existing cohort loads: each kind names people the ones before it hold.
# Kept here, with nothing heavy imported, so the command line's parser starts quickly.
KINDS = ("persons", "offences", "custody", "memberships", "referrals")
# The kinds that scores read: their people's stored current scores are redone.
SCORED_KINDS = ("persons", "offences", "custody")


def file_format(path: Path) -> ImportFormat | None:
    """The format a file's name says (.csv, .ndjson or .jsonl), if it says one."""
    from service.store.import_files import FILE_EXTENSIONS

    return FILE_EXTENSIONS.get(path.suffix.lower())


def load_file(session: Session, *, kind: str, file: ImportFile, max_rows: int,
              catalogue: OffenceCatalogue, restore_erased: bool = False) -> ImportSummary:
    """Import `file` as `kind` and audit it; the audit event commits the import."""
    from service.audit import LOCAL_ADMIN, import_event, record_local
    from service.config import get_settings
    from service.current_scores import rescore
    from service.scorer import get_scorer_for
    from service.store import imports
    from service.store.import_records import KINDS as RECORD_KINDS
    from service.store.import_records import import_records

    options: dict[str, Any] = {"session": session, "file": file, "max_rows": max_rows,
                               "restore_erased": restore_erased}
    if kind == "persons":
        summary = imports.import_persons(**options)
    elif kind == "offences":
        summary = imports.import_offences(catalogue=catalogue, **options)
    else:
        summary = import_records(RECORD_KINDS[kind], recorded_by=LOCAL_ADMIN, **options)
    if kind in SCORED_KINDS:
        settings = get_settings()
        rescore(session, get_scorer_for(catalogue, settings.scoring_config_path,
                                        settings.model_dir), summary.written_ids)
    action, detail = import_event(kind, summary, restore_erased)
    record_local(session, action, command=f"iomscore import {kind}",
                 person_ids=summary.person_ids, detail=detail)
    return summary


def describe_error(error: dict[str, Any]) -> str:
    """One row error as a line for the terminal: where and what, never the values."""
    loc = [str(part) for part in error.get("loc", [])[1:]]
    where = "the file" if not loc else f"line {loc[0]}" + (f", {loc[1]}" if len(loc) > 1 else "")
    return f"{where}: {error.get('msg')} ({error.get('type')})"
