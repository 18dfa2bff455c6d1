"""FastAPI dependencies: database session, settings, catalogue, scorer, shortlist rules,
IDIOM and retention rules, paging, If-Match, a deletion's reason."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Query
from fastapi import Path as PathParam
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from models.erasure import DeletionReason
from scoring.catalogue import OffenceCatalogue, load_catalogue
from scoring.idiom.rules import IdiomRules, load_idiom_rules
from scoring.retention import RetentionRule, load_retention_rule
from scoring.shortlist import ShortlistConfig, load_shortlist_config
from service.config import PAGE_SIZE_CEILING, Settings, get_settings
from service.db import get_consultation_session, get_session
from service.errors import invalid_field
from service.scorer import Scorer, get_scorer_for, loaded_scorer_for

SessionDep = Annotated[Session, Depends(get_session)]
# For routes that read and write nothing but their audit event (service/db.py says why).
ConsultationSessionDep = Annotated[Session, Depends(get_consultation_session)]

# Surrogate keys are 32-bit integers on PostgreSQL; anything outside cannot exist, and
# saying so in the schema turns an overflow into a clean 422 rather than a database error.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, PathParam(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# No list here holds a billion rows; a larger offset is a mistake, not a page.
MAX_OFFSET = 1_000_000_000


async def current_settings() -> Settings:
    """The settings, for a request (tests override this provider with their own settings).

    async: `get_settings` is cached, and FastAPI runs a sync provider in a worker thread,
    a hand-off on every request (docs/benchmarks.md, "The shared path in one hop").
    """
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


T = TypeVar("T")


# What _rules_file has read, so an async provider can tell a cache hit (no I/O) apart.
_loaded_rules: set[tuple[Callable[[Path], object], Path]] = set()


@lru_cache(maxsize=16)
def _rules_file(loader: Callable[[Path], T], path: Path) -> T:
    """A rules file read once per (loader, path): every provider below goes through it."""
    loaded = loader(path)
    _loaded_rules.add((loader, path))
    return loaded


def catalogue_for(settings: Settings) -> OffenceCatalogue:
    """The offence catalogue named by the settings."""
    return _rules_file(load_catalogue, settings.offence_catalogue_path.resolve())


async def get_catalogue(settings: SettingsDep) -> OffenceCatalogue:
    """The offence catalogue named by the settings (read once, in a worker thread; later
    requests take it on the event loop rather than paying a thread hand-off)."""
    if (load_catalogue, settings.offence_catalogue_path.resolve()) in _loaded_rules:
        return catalogue_for(settings)
    return await run_in_threadpool(catalogue_for, settings)


CatalogueDep = Annotated[OffenceCatalogue, Depends(get_catalogue)]


def catalogue_versions(settings: Settings,
                       current: OffenceCatalogue) -> dict[str, OffenceCatalogue]:
    """The catalogue in use and every earlier one in the archive folder, by version."""
    found = {current.version: current}
    folder = settings.catalogue_archive_dir
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            archived = _rules_file(load_catalogue, path.resolve())
            found.setdefault(archived.version, archived)
    return found


def get_report_catalogue(
    settings: SettingsDep, catalogue: CatalogueDep,
    cost_table_version: Annotated[str | None, Query(max_length=100, description=(
        "The cost table (catalogue) version to cost offences with: the one in use by "
        "default, or an earlier one kept in the catalogue archive, so a published figure "
        "can be reproduced"))] = None,
) -> OffenceCatalogue:
    """The catalogue a report costs offences with (422 for a version not kept here)."""
    if cost_table_version is None or cost_table_version == catalogue.version:
        return catalogue
    versions = catalogue_versions(settings, catalogue)
    if cost_table_version not in versions:
        raise invalid_field(["query", "cost_table_version"],
                            f"unknown cost table version; known: {', '.join(sorted(versions))}")
    return versions[cost_table_version]


ReportCatalogueDep = Annotated[OffenceCatalogue, Depends(get_report_catalogue)]


def scorer_for(settings: Settings) -> Scorer:
    """The loaded rules and current model the settings name, outside a request."""
    return get_scorer_for(catalogue_for(settings), settings.scoring_config_path,
                          settings.model_dir)


async def get_scorer(catalogue: CatalogueDep, settings: SettingsDep) -> Scorer:
    """The loaded rules and current model: taken on the event loop when this worker has
    already loaded the model the folder's marker names (a read of a few bytes), loaded in
    a worker thread otherwise."""
    loaded = loaded_scorer_for(catalogue, settings.scoring_config_path, settings.model_dir)
    if loaded is not None:
        return loaded
    return await run_in_threadpool(get_scorer_for, catalogue, settings.scoring_config_path,
                                   settings.model_dir)


ScorerDep = Annotated[Scorer, Depends(get_scorer)]


def get_shortlist_config(settings: SettingsDep) -> ShortlistConfig:
    """The migration-meeting shortlist rules named by the settings."""
    return _rules_file(load_shortlist_config, settings.shortlist_config_path.resolve())


ShortlistConfigDep = Annotated[ShortlistConfig, Depends(get_shortlist_config)]


def get_idiom_rules(settings: SettingsDep) -> IdiomRules:
    """The IDIOM report's rules named by the settings."""
    return _rules_file(load_idiom_rules, settings.idiom_rules_path.resolve())


IdiomRulesDep = Annotated[IdiomRules, Depends(get_idiom_rules)]


def get_retention_rule(settings: SettingsDep) -> RetentionRule:
    """The retention-review rule named by the settings."""
    return _rules_file(load_retention_rule, settings.retention_rule_path.resolve())


RetentionRuleDep = Annotated[RetentionRule, Depends(get_retention_rule)]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


LimitQuery = Annotated[int | None, Query(ge=1, le=PAGE_SIZE_CEILING, description=(
    f"Page size; at most {PAGE_SIZE_CEILING}, or less where the server is set lower"))]


def _page_size(settings: Settings, limit: int | None) -> int:
    """The page size asked for; one above the server's cap is a 422 rather than silently cut."""
    size = settings.default_page_size if limit is None else limit
    if size > settings.max_page_size:
        raise invalid_field(["query", "limit"], f"at most {settings.max_page_size}",
                            type="less_than_equal",
                            detail=f"limit may be at most {settings.max_page_size}")
    return size


def get_paging(
    settings: SettingsDep,
    limit: LimitQuery = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Paging:
    """Page parameters; a limit above the server's cap is a 422 rather than silently cut."""
    return Paging(limit=_page_size(settings, limit), offset=offset)


PagingDep = Annotated[Paging, Depends(get_paging)]


def get_limit(settings: SettingsDep, limit: LimitQuery = None) -> int:
    """A page size alone, for lists read from a cursor rather than an offset."""
    return _page_size(settings, limit)


LimitDep = Annotated[int, Depends(get_limit)]


def etag(version: int) -> str:
    """The ETag for a stored version of a record."""
    return f'"{version}"'


def get_if_match(if_match: Annotated[str, Header(
        description="The ETag you read; without it the update is refused (428)")]) -> int:
    """The version an update was based on, from If-Match; required so no write is blind.

    A missing header is answered 428, not 422, by the validation handler in errors.py.
    """
    text = if_match.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise invalid_field(["header", "if-match"], "not an ETag issued here",
                            detail="If-Match must be an ETag this service issued")
    return int(text)


IfMatchDep = Annotated[int, Depends(get_if_match)]


@dataclass(frozen=True)
class Deletion:
    """Why a record is deleted: the reason code and, for `other`, the caller's words."""

    reason: DeletionReason
    note: str | None

    def detail(self, what: str) -> str:
        """The audit event's detail: what went and why."""
        return f"{what} deleted ({self.reason.value}{': ' + self.note if self.note else ''})"


def get_deletion(
    reason: Annotated[DeletionReason, Query(description=(
        "Why: recorded_in_error, retention_review, court_order, or other (then give note)"))],
    note: Annotated[str | None, Query(min_length=1, max_length=500, description=(
        "Required with reason=other; goes into the audit event, so no personal data"))] = None,
) -> Deletion:
    """The reason every DELETE must give (it goes into the audit event, DPA 2018 s.62)."""
    if reason == DeletionReason.other and not (note and note.strip()):
        raise invalid_field(["query", "note"], "reason=other needs a note saying why")
    return Deletion(reason=reason, note=note.strip() if note else None)


DeletionDep = Annotated[Deletion, Depends(get_deletion)]
