"""Bulk imports of nightly PNC/Niche extracts (CSV or NDJSON), all rows or none."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from models import AuditAction
from models.imports import ImportSummary
from service.audit import AuditDep, Auditor
from service.deps import CatalogueDep, SessionDep, SettingsDep
from service.errors import InvalidInput, UnsupportedMediaType, responses
from service.observability import IMPORT_ROWS
from service.security import Importer
from service.store import imports as store
from service.store.import_files import (
    OFFENCE_COLUMNS,
    PERSON_COLUMNS,
    ImportFile,
    ImportFormat,
    detect_format,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/imports", tags=["imports"])

# The format each Content-Type names; None: told from the file (detect_format).
BINARY = "application/octet-stream"
MEDIA_TYPES: dict[str, ImportFormat | None] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    BINARY: None,
}


async def read_import_file(request: Request) -> ImportFile:
    """The request body as an import file, its format from Content-Type (415 otherwise)."""
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type not in MEDIA_TYPES or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            "send the file as text/csv, application/x-ndjson or application/octet-stream "
            "(UTF-8)", headers={"Accept-Post": ", ".join(MEDIA_TYPES)})
    # The size cap (settings.max_import_body_bytes) is enforced by the BodySizeLimit
    # middleware as the body streams in, before it is all in memory.
    data = await request.body()
    return ImportFile(format=MEDIA_TYPES[media_type] or detect_format(data), data=data)


ImportFileDep = Annotated[ImportFile, Depends(read_import_file)]
RestoreErased = Annotated[bool, Query(description=(
    "Bring back rows for records that were erased or deleted (by default they are skipped "
    "and counted as skipped_erased, so an old extract cannot undo an erasure)"))]


def _audit(audit: Auditor, kind: str, summary: ImportSummary, restore_erased: bool) -> None:
    # One event per import, naming every person the file touched (collection/alteration).
    for result in ("inserted", "updated", "unchanged", "skipped_erased"):
        IMPORT_ROWS.labels(kind, result).inc(getattr(summary, result))
    action = AuditAction.alteration if summary.updated and not summary.inserted \
        else AuditAction.collection
    audit.record(action, person_ids=summary.person_ids,
                 detail=f"{kind} import: {summary.rows} rows, {summary.inserted} inserted, "
                        f"{summary.updated} updated, {summary.unchanged} unchanged, "
                        f"{summary.skipped_erased} skipped as erased"
                        f"{' (erased records restored)' if restore_erased else ''}")


@contextmanager
def _refusals_audited(audit: Auditor, kind: str, refused: list[int]) -> Iterator[None]:
    """If the import fails having refused rows about people outside the key's areas, audit
    the refusal as the single-record routes do (after the import's reads have ended)."""
    try:
        yield
    except InvalidInput:
        if refused:
            log.warning("refused %s import rows: outside the key's areas (key %s)", kind,
                        audit.principal.key_id)
            audit.record(AuditAction.collection, person_ids=refused, status=422,
                         detail=f"{kind} import refused: outside the key's areas")
        raise


def _request_body(kind: str, columns: dict[str, str], example_csv: str,
                  example_ndjson: str) -> dict[str, Any]:
    """OpenAPI for a raw-file body (the route reads the stream itself, so FastAPI cannot).

    Documented as application/octet-stream (a binary string): it is the one raw-body type
    openapi-python-client generates (a `File` body); text/csv and NDJSON request bodies
    are "unsupported content type" to it and the whole operation is left out. The server
    also takes text/csv and application/x-ndjson, which name the format; the
    description says so, for people and hand-written clients.
    """
    table = "\n".join(f"- `{name}`: {text}" for name, text in columns.items())
    description = (
        f"The {kind} extract as a file, UTF-8. Send it as `text/csv` or "
        "`application/x-ndjson` (the format named), or as `application/octet-stream` "
        "(what generated clients send): NDJSON if its first character is `{`, CSV "
        "otherwise. CSV: a header line naming the columns (any order), then one row per "
        "record; empty cells mean not given; line numbers in errors count the header as "
        "line 1. NDJSON: one JSON object per line with the same field names, for example "
        f"`{example_ndjson.strip()}`. Columns:\n\n{table}"
    )
    return {"requestBody": {"required": True, "description": description, "content": {
        BINARY: {"schema": {"type": "string", "format": "binary"}, "example": example_csv},
    }}}


PERSONS_BODY = _request_body(
    "people", PERSON_COLUMNS,
    "pnc_id,given_name,family_name,date_of_birth,sex,ethnicity,home_area,deceased_on\n"
    "79/123456T,Alex,Example,1979-04-01,male,W1,BRISTOL,\n",
    '{"pnc_id": "79/123456T", "date_of_birth": "1979-04-01", "sex": "male", '
    '"home_area": "BRISTOL"}\n',
)
OFFENCES_BODY = _request_body(
    "offences", OFFENCE_COLUMNS,
    "pnc_id,offence_date,ho_code,domestic_abuse,outcome,outcome_date,source,source_ref\n"
    "79/123456T,2024-03-10,28A,no,charge,2024-03-12,niche,OCC-2024-000123\n",
    '{"pnc_id": "79/123456T", "offence_date": "2024-03-10", '
    '"offence_type": "burglary_residential", "outcome": "charge", "source": "niche", '
    '"source_ref": "OCC-2024-000123"}\n',
)


@router.post("/persons", response_model=ImportSummary, openapi_extra=PERSONS_BODY,
             responses=responses(403, 409, 413, 415, 422))
def import_persons(principal: Importer, file: ImportFileDep, session: SessionDep,
                   settings: SettingsDep, audit: AuditDep,
                   restore_erased: RestoreErased = False) -> ImportSummary:
    """Import people (CSV or NDJSON), keyed on PNC ID; one bad row means nothing is written."""
    refused: list[int] = []
    with _refusals_audited(audit, "persons", refused):
        summary = store.import_persons(session=session, file=file,
                                       max_rows=settings.max_import_rows,
                                       allowed_areas=principal.areas, on_refused=refused.extend,
                                       restore_erased=restore_erased)
    _audit(audit, "persons", summary, restore_erased)
    return summary


@router.post("/offences", response_model=ImportSummary, openapi_extra=OFFENCES_BODY,
             responses=responses(403, 409, 413, 415, 422))
def import_offences(principal: Importer, file: ImportFileDep, session: SessionDep,
                    settings: SettingsDep, catalogue: CatalogueDep, audit: AuditDep,
                    restore_erased: RestoreErased = False) -> ImportSummary:
    """Import offences (CSV or NDJSON), keyed on (source, source_ref); all rows or none."""
    refused: list[int] = []
    with _refusals_audited(audit, "offences", refused):
        summary = store.import_offences(session=session, file=file, catalogue=catalogue,
                                        max_rows=settings.max_import_rows,
                                        allowed_areas=principal.areas,
                                        on_refused=refused.extend,
                                        restore_erased=restore_erased)
    _audit(audit, "offences", summary, restore_erased)
    return summary
