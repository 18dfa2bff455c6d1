"""Bulk imports of nightly extracts and existing cohorts (CSV or NDJSON, as the body or a
form upload): people, offences, custody, memberships, referrals; all rows or none."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session
from starlette.datastructures import UploadFile

from models import AuditAction
from models.imports import ImportSummary
from service.audit import AuditDep, Auditor, import_event
from service.config import Settings
from service.current_scores import rescore
from service.deps import CatalogueDep, ScorerDep, SessionDep, SettingsDep
from service.errors import InvalidInput, UnsupportedMediaType, invalid_field, responses
from service.jobs import Rescorer, RescorerDep
from service.observability import IMPORT_ROWS
from service.scorer import Scorer
from service.security import Importer, Principal
from service.store import imports as store
from service.store.import_files import (
    CUSTODY_COLUMNS,
    FILE_EXTENSIONS,
    MEMBERSHIP_COLUMNS,
    OFFENCE_COLUMNS,
    PERSON_COLUMNS,
    REFERRAL_COLUMNS,
    ImportFile,
    ImportFormat,
    detect_format,
)
from service.store.import_records import KINDS, import_records

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
FORM = "multipart/form-data"


def _media_type(header: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type value; the charset defaults to utf-8."""
    media_type, _, params = header.partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _unsupported() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "send the file as text/csv, application/x-ndjson or application/octet-stream "
        "(UTF-8), or as the field `file` "
        "of a multipart/form-data upload (named .csv, .ndjson or .jsonl)",
        headers={"Accept-Post": ", ".join([*MEDIA_TYPES, FORM])})


async def read_import_file(request: Request) -> ImportFile:
    """The import file: the request body (its format from Content-Type), or the `file`
    field of a form upload (its format from the part's Content-Type or file name); 415
    otherwise."""
    media_type, charset = _media_type(request.headers.get("content-type", ""))
    # The size cap (settings.max_import_body_bytes) is enforced by the BodySizeLimit
    # middleware as the body streams in, before it is all in memory; a form is no larger
    # than the body that carried it.
    if media_type == FORM:
        return await _read_upload(request)
    if media_type not in MEDIA_TYPES or charset not in ("utf-8", "utf8"):
        raise _unsupported()
    data = await request.body()
    return ImportFile(format=MEDIA_TYPES[media_type] or detect_format(data), data=data)


async def _read_upload(request: Request) -> ImportFile:
    # A malformed form, or more than one file, is a 400 from Starlette's parser.
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_field(["body", "file"], "send the file as the form field `file` "
                                "(curl -F file=@extract.csv)", type="missing")
        media_type, charset = _media_type(upload.content_type or "")
        # A part often says only application/octet-stream (curl -F does for .csv): then
        # the file name's extension tells the format.
        fmt = MEDIA_TYPES.get(media_type) or FILE_EXTENSIONS.get(
            PurePosixPath((upload.filename or "").lower()).suffix)
        if fmt is None or charset not in ("utf-8", "utf8"):
            raise _unsupported()
        return ImportFile(format=fmt, data=await upload.read())


ImportFileDep = Annotated[ImportFile, Depends(read_import_file)]
RestoreErased = Annotated[bool, Query(description=(
    "Bring back rows for records that were erased or deleted (by default they are skipped "
    "and counted as skipped_erased, so an old extract cannot undo an erasure)"))]


def _audit(audit: Auditor, kind: str, summary: ImportSummary, restore_erased: bool) -> None:
    # One event per import, naming every person the file touched (collection/alteration).
    for result in ("inserted", "updated", "unchanged", "skipped_erased"):
        IMPORT_ROWS.labels(kind, result).inc(getattr(summary, result))
    action, detail = import_event(kind, summary, restore_erased)
    audit.record(action, person_ids=summary.person_ids, detail=detail)


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
        f"The {kind} extract as a file, UTF-8: the request body itself, as `text/csv` or "
        "`application/x-ndjson` (the format named) or `application/octet-stream` (what "
        "generated clients send: NDJSON if its first character is `{`, CSV otherwise), or "
        "the field `file` of a multipart/form-data upload (`curl -F file=@extract.csv`; the "
        "part's Content-Type, or else the file name's extension .csv, .ndjson or .jsonl, "
        "gives the format). CSV: a header line naming the columns (any order), then one row "
        "per record; empty cells mean not given; line numbers in errors count the header "
        "as line 1. NDJSON: one JSON object per line with the same field names, for example "
        f"`{example_ndjson.strip()}`. Columns:\n\n{table}"
    )
    upload = {"schema": {"type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "format": "binary",
        "description": "The CSV or NDJSON file (named .csv, .ndjson or .jsonl)"}}},
        "encoding": {"file": {"contentType": ", ".join([*MEDIA_TYPES,
                                                        "application/octet-stream"])}}}
    return {"requestBody": {"required": True, "description": description, "content": {
        BINARY: {"schema": {"type": "string", "format": "binary"}, "example": example_csv},
        FORM: upload,
    }}}


PERSONS_BODY = _request_body(
    "people", PERSON_COLUMNS,
    "pnc_id,given_name,family_name,date_of_birth,sex,ethnicity,home_area,deceased_on\n"
    "79/123456T,Alex,Example,1979-04-01,male,W1,BRISTOL,\n",
    '{"pnc_id": "79/123456T", "date_of_birth": "1979-04-01", "sex": "male", '
    '"home_area": "BRISTOL"}\n',
)
CUSTODY_BODY = _request_body(
    "custody", CUSTODY_COLUMNS,
    "pnc_id,start_on,end_on,reason,sentence_months,source,source_ref\n"
    "79/123456T,2023-05-02,,sentence,18,pnc,CUS-2023-000456\n",
    '{"pnc_id": "79/123456T", "start_on": "2023-05-02", "end_on": "2024-08-30", '
    '"reason": "sentence", "sentence_months": 18, "source": "pnc", '
    '"source_ref": "CUS-2023-000456"}\n',
)
MEMBERSHIPS_BODY = _request_body(
    "cohort memberships", MEMBERSHIP_COLUMNS,
    "pnc_id,cohort,stream,area,adopted_on,exited_on,exit_reason,offender_manager,rag,source,"
    "source_ref\n79/123456T,fixed,nsac,BRISTOL,2024-01-15,,,OM-BRISTOL-07,amber,iom,"
    "MEM-000789\n",
    '{"pnc_id": "79/123456T", "cohort": "fixed", "stream": "nsac", "area": "BRISTOL", '
    '"adopted_on": "2024-01-15", "source": "iom", "source_ref": "MEM-000789"}\n',
)
REFERRALS_BODY = _request_body(
    "referrals", REFERRAL_COLUMNS,
    "pnc_id,referring_agency,requested_stream,reason,referred_on,ogrs_score,source,"
    "source_ref\n79/123456T,probation,nsac,persistent acquisitive offending,2024-02-01,75,"
    "probation,REF-2024-0042\n",
    '{"pnc_id": "79/123456T", "referring_agency": "probation", "requested_stream": "nsac", '
    '"reason": "persistent acquisitive offending", "referred_on": "2024-02-01", '
    '"source": "probation", "source_ref": "REF-2024-0042"}\n',
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
             responses=responses(400, 403, 409, 413, 415, 422))
def import_persons(principal: Importer, file: ImportFileDep, session: SessionDep,
                   settings: SettingsDep, scorer: ScorerDep, later: RescorerDep,
                   audit: AuditDep,
                   restore_erased: RestoreErased = False) -> ImportSummary:
    """Import people (CSV or NDJSON), keyed on PNC ID; one bad row means nothing is written."""
    refused: list[int] = []
    with _refusals_audited(audit, "persons", refused):
        summary = store.import_persons(session=session, file=file,
                                       max_rows=settings.max_import_rows,
                                       allowed_areas=principal.areas, on_refused=refused.extend,
                                       restore_erased=restore_erased)
    rescore(session, scorer, summary.written_ids, later=later)
    _audit(audit, "persons", summary, restore_erased)
    return summary


@router.post("/offences", response_model=ImportSummary, openapi_extra=OFFENCES_BODY,
             responses=responses(400, 403, 409, 413, 415, 422))
def import_offences(principal: Importer, file: ImportFileDep, session: SessionDep,
                    settings: SettingsDep, catalogue: CatalogueDep, scorer: ScorerDep,
                    later: RescorerDep, audit: AuditDep,
                    restore_erased: RestoreErased = False) -> ImportSummary:
    """Import offences (CSV or NDJSON), keyed on (source, source_ref); all rows or none."""
    refused: list[int] = []
    with _refusals_audited(audit, "offences", refused):
        summary = store.import_offences(session=session, file=file, catalogue=catalogue,
                                        max_rows=settings.max_import_rows,
                                        allowed_areas=principal.areas,
                                        on_refused=refused.extend,
                                        restore_erased=restore_erased)
    rescore(session, scorer, summary.written_ids, later=later)
    _audit(audit, "offences", summary, restore_erased)
    return summary


def _import_records(kind: str, principal: Principal, file: ImportFile, session: Session,
                    settings: Settings, audit: Auditor, restore_erased: bool,
                    scored: tuple[Scorer, Rescorer] | None = None) -> ImportSummary:
    """Import `kind`; for records that scores read, `scored` re-scores the people whose
    records it wrote (`service.current_scores.rescore`) before the audit event commits."""
    refused: list[int] = []
    with _refusals_audited(audit, kind, refused):
        summary = import_records(KINDS[kind], session=session, file=file,
                                 max_rows=settings.max_import_rows,
                                 allowed_areas=principal.areas, on_refused=refused.extend,
                                 restore_erased=restore_erased, recorded_by=principal.name)
    if scored is not None:
        rescore(session, scored[0], summary.written_ids, later=scored[1])
    _audit(audit, kind, summary, restore_erased)
    return summary


@router.post("/custody", response_model=ImportSummary, openapi_extra=CUSTODY_BODY,
             responses=responses(400, 403, 409, 413, 415, 422))
def import_custody(principal: Importer, file: ImportFileDep, session: SessionDep,
                   settings: SettingsDep, scorer: ScorerDep, later: RescorerDep,
                   audit: AuditDep, restore_erased: RestoreErased = False) -> ImportSummary:
    """Import custody spells (CSV or NDJSON), keyed on (source, source_ref); a re-sent spell
    with its release date is an update; all rows or none."""
    return _import_records("custody", principal, file, session, settings, audit,
                           restore_erased, scored=(scorer, later))


@router.post("/memberships", response_model=ImportSummary, openapi_extra=MEMBERSHIPS_BODY,
             responses=responses(400, 403, 409, 413, 415, 422))
def import_memberships(principal: Importer, file: ImportFileDep, session: SessionDep,
                       settings: SettingsDep, audit: AuditDep,
                       restore_erased: RestoreErased = False) -> ImportSummary:
    """Import cohort memberships (CSV or NDJSON), keyed on (source, source_ref); all rows or
    none."""
    return _import_records("memberships", principal, file, session, settings, audit,
                           restore_erased)


@router.post("/referrals", response_model=ImportSummary, openapi_extra=REFERRALS_BODY,
             responses=responses(400, 403, 409, 413, 415, 422))
def import_referrals(principal: Importer, file: ImportFileDep, session: SessionDep,
                     settings: SettingsDep, audit: AuditDep,
                     restore_erased: RestoreErased = False) -> ImportSummary:
    """Import referrals (CSV or NDJSON), keyed on (source, source_ref); the area defaults to
    the person's home area; all rows or none."""
    return _import_records("referrals", principal, file, session, settings, audit,
                           restore_erased)
