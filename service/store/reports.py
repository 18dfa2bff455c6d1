"""Reports: read the rows a report needs with SQL into DataFrames, hand them to `scoring`."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, String, and_, cast, exists, or_, select, type_coerce
from sqlmodel import Session

from models import Area, CohortMembership, CustodyPeriod, Offence, Person, Stream
from models.enums import Cohort
from scoring.catalogue import OffenceCatalogue
from scoring.dates import add_months
from scoring.idiom import DEFAULT_RULES, IdiomReport, IdiomRules, idiom_report
from scoring.uk_calendar import end_of_uk_day
from service.frames import read_values
from service.store.common import require_reference

# Matching looks back 24 months before the adoption month (scoring.idiom.comparison).
_COMPARISON_LOOKBACK_MONTHS = 25

_memberships = CohortMembership.__table__  # type: ignore[attr-defined]
_persons = Person.__table__  # type: ignore[attr-defined]
_offences = Offence.__table__  # type: ignore[attr-defined]
_custody = CustodyPeriod.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IdiomParams:
    """What an IDIOM report was asked for (validated by `service.idiom.idiom_params`)."""

    as_of: date
    window_months: int = DEFAULT_RULES.window_months
    counting: str = DEFAULT_RULES.counting
    group_by: tuple[str, ...] = ("area",)
    cohort: Cohort | None = None
    stream: str | None = None
    area: str | None = None
    adopted_from: date | None = None
    adopted_to: date | None = None
    comparison: bool = False
    # The caller's area scope (None: all areas); a key scoped to areas sees only those.
    scope: tuple[str, ...] | None = None
    rules: IdiomRules = DEFAULT_RULES
    # as_recorded: only rows recorded by the end of as_of (design.md, "as-of"), so a figure
    # in a panel paper can be reproduced a year later; current: all known now.
    knowledge: str = "current"

    @property
    def recorded_by(self) -> datetime | None:
        if self.knowledge != "as_recorded":
            return None
        return end_of_uk_day(self.as_of)

    def filters(self) -> dict[str, Any]:
        """The membership filters, as echoed in the response."""
        names = ("cohort", "stream", "area", "adopted_from", "adopted_to")
        return {k: getattr(self, k) for k in names}


def _check_reference(session: Session, params: IdiomParams) -> None:
    for name, model in (("area", Area), ("stream", Stream)):
        code = getattr(params, name)
        if code is not None:
            require_reference(session, model, code, field=name, where="query")


def _membership_filter(params: IdiomParams) -> list[Any]:
    m = _memberships
    conditions: list[Any] = []
    if params.cohort is not None:
        conditions.append(m.c.cohort == params.cohort)
    if params.stream is not None:
        conditions.append(m.c.stream == params.stream)
    if params.area is not None:
        conditions.append(m.c.area == params.area)
    if params.scope is not None:
        conditions.append(m.c.area.in_(params.scope))
    if params.adopted_from is not None:
        conditions.append(m.c.adopted_on >= params.adopted_from)
    if params.adopted_to is not None:
        conditions.append(m.c.adopted_on <= params.adopted_to)
    if params.recorded_by is not None:
        conditions.append(m.c.created_at <= params.recorded_by)
    return conditions


def _frame(session: Session, stmt: Select[Any]) -> pd.DataFrame:
    """Rows as a frame of strings and numbers (dates as ISO text; scoring parses them), read
    on the session's connection so they see its transaction."""
    return read_values(session.connection(), stmt, ids=("person_id", "membership_id"))


def _raw(column: Any) -> Any:
    """An enum column as its stored string (no per-value Enum conversion in Python)."""
    return type_coerce(column, String).label(column.name)


def _iso(column: Any) -> Any:
    """A date column as ISO text: scoring parses a whole column at once, far faster than
    building a Python date per value."""
    return cast(column, String).label(column.name)


def _read_memberships(session: Session, params: IdiomParams) -> pd.DataFrame:
    m, p = _memberships, _persons
    stmt = (select(m.c.id.label("membership_id"), m.c.person_id, m.c.area, _raw(m.c.cohort),
                   m.c.stream, _raw(p.c.sex), _iso(m.c.adopted_on), _iso(m.c.exited_on),
                   _raw(m.c.exit_reason))
            .join(p, p.c.id == m.c.person_id)
            .where(*_membership_filter(params))
            .order_by(m.c.id))
    return _frame(session, stmt)


def read_offences(session: Session, params: IdiomParams, since: date,
                  everyone: bool) -> pd.DataFrame:
    """Offences dated from `since` of the report's members (or of `everyone`, for the
    comparison group), as the report reads them; the console's monthly chart uses it too."""
    o, m = _offences, _memberships
    stmt = select(o.c.person_id, _iso(o.c.offence_date), o.c.offence_type, _raw(o.c.outcome),
                  _iso(o.c.outcome_date)).where(o.c.offence_date >= since,
                                          o.c.offence_date <= params.as_of)
    if not everyone:
        members = select(m.c.person_id).where(*_membership_filter(params))
        stmt = stmt.where(o.c.person_id.in_(members))
    if params.recorded_by is not None:
        stmt = stmt.where(o.c.recorded_at <= params.recorded_by)
    return _frame(session, stmt)


def _read_custody(session: Session, params: IdiomParams, since: date,
                  everyone: bool) -> pd.DataFrame:
    c, m = _custody, _memberships
    stmt = select(c.c.person_id, _iso(c.c.start_on), _iso(c.c.end_on)).where(
        c.c.start_on <= params.as_of, or_(c.c.end_on.is_(None), c.c.end_on >= since))
    if not everyone:
        members = select(m.c.person_id).where(*_membership_filter(params))
        stmt = stmt.where(c.c.person_id.in_(members))
    if params.recorded_by is not None:
        stmt = stmt.where(c.c.recorded_at <= params.recorded_by)
    return _frame(session, stmt)


def _read_population(session: Session, params: IdiomParams) -> pd.DataFrame:
    """Everyone, flagged if ever adopted onto any cohort by the report date."""
    p, m = _persons, _memberships
    adopted = exists().where(and_(m.c.person_id == p.c.id, m.c.adopted_on <= params.as_of))
    stmt = select(p.c.id.label("person_id"), _iso(p.c.date_of_birth), _raw(p.c.sex),
                  _iso(p.c.deceased_on), adopted.label("adopted"))
    if params.recorded_by is not None:
        stmt = stmt.where(p.c.created_at <= params.recorded_by)
    frame = _frame(session, stmt)
    # COPY sends booleans as t/f text; SQLite sends 0/1.
    frame["adopted"] = frame["adopted"].astype(str).str.lower().isin(["t", "true", "1"])
    return frame


def idiom_report_for(*, session: Session, catalogue: OffenceCatalogue,
                     params: IdiomParams) -> IdiomReport:
    """The IDIOM report: SQL reads memberships, offences and custody; scoring does the rest."""
    _check_reference(session, params)
    memberships = _read_memberships(session, params)
    if memberships.empty:
        earliest = params.as_of
    else:
        earliest = pd.Timestamp(min(memberships["adopted_on"])).date()
    lookback = params.window_months
    if params.comparison:
        lookback = max(lookback, _COMPARISON_LOOKBACK_MONTHS)
    since = pd.Timestamp(add_months(np.array([earliest], "datetime64[D]"), -lookback)[0]).date()
    offences = read_offences(session, params, since, everyone=params.comparison)
    custody = _read_custody(session, params, since, everyone=False)
    population = _read_population(session, params) if params.comparison else None
    return idiom_report(memberships, offences, custody, catalogue.table, as_of=params.as_of,
                        window_months=params.window_months, counting=params.counting,
                        group_by=params.group_by, population=population, rules=params.rules)


def idiom_payload(report: IdiomReport, *, params: IdiomParams,
                  catalogue: OffenceCatalogue) -> dict[str, Any]:
    """The JSON body: the report plus what it was computed with (catalogue version, filters)."""
    comparison = None
    if report.comparison is not None:
        comparison = {**report.comparison, "overall": report.totals["comparison"]}
    return {
        "as_of": report.as_of,
        "window_months": report.window_months,
        "counting": report.counting,
        "rules_version": report.rules_version,
        "knowledge": params.knowledge,
        "cost_table_version": catalogue.version,
        "cost_table": catalogue.cost_table,
        "group_by": list(report.group_by),
        "filters": params.filters(),
        "included": report.included,
        "excluded": report.excluded,
        "groups": report.groups,
        "totals": report.totals,
        "warnings": report.warnings,
        "comparison": comparison,
    }
