"""The console's form values: text from query strings and forms, read into typed values.

A bad value is a 422 naming the field, as the API's validation gives; the report's form
goes through the API's own validator (`service.idiom`).
"""

from datetime import date
from typing import Any

from models.enums import Cohort, Rag
from scoring.idiom import IdiomRules
from service.errors import invalid_field
from service.idiom import idiom_params
from service.security import Principal
from service.store.reports import IdiomParams

MAX_JUSTIFICATION = 1000


def blank(value: str | None) -> str | None:
    """The text, stripped; None when missing or empty."""
    return value.strip() or None if value is not None else None


def form_date(value: str | None, field: str) -> date | None:
    """An ISO date, or None when blank."""
    text = blank(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid_field(["query", field], f"{field} must be a date (YYYY-MM-DD)") from None


def choice(value: str | None, field: str, allowed: type[Cohort] | type[Rag]) -> Any:
    """One of an enum's values, or None when blank."""
    text = blank(value)
    if text is None:
        return None
    try:
        return allowed(text)
    except ValueError:
        raise invalid_field(["query", field], f"{field} takes {', '.join(allowed)}") from None


def justification(value: str | None) -> str | None:
    """Why person-level data is being read (None: not given yet)."""
    text = blank(value)
    if text is not None and len(text) > MAX_JUSTIFICATION:
        raise invalid_field(["query", "justification"],
                            f"at most {MAX_JUSTIFICATION} characters")
    return text


def safe_next(target: str | None) -> str:
    """Where to go after signing in."""
    # Only a path inside the console: never an absolute or protocol-relative URL.
    if target and target.startswith("/console/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/console/report"


ReportForm = dict[str, str | None]


def report_form(area: str | None, cohort: str | None, stream: str | None, as_of: str | None,
                adopted_from: str | None, adopted_to: str | None,
                window_months: str | None, counting: str | None) -> ReportForm:
    """The report form's raw values (echoed back into the form and the CSV link)."""
    return {"area": area, "cohort": cohort, "stream": stream, "as_of": as_of,
            "adopted_from": adopted_from, "adopted_to": adopted_to,
            "window_months": window_months, "counting": counting}


def report_params(principal: Principal, rules: IdiomRules, *, as_of: str | None,
                  cohort: str | None,
                  stream: str | None, area: str | None, adopted_from: str | None,
                  adopted_to: str | None, window_months: str | None,
                  counting: str | None) -> IdiomParams:
    """The form's values, validated exactly as the API validates its query."""
    months_text = blank(window_months)
    try:
        months = int(months_text) if months_text else None
    except ValueError:
        raise invalid_field(["query", "window_months"],
                            "window_months must be a whole number") from None
    count = blank(counting) or rules.counting
    if count not in ("recorded", "proven"):
        raise invalid_field(["query", "counting"], "counting takes recorded or proven")
    return idiom_params(principal, rules=rules, as_of=form_date(as_of, "as_of"),
                        cohort=choice(cohort, "cohort", Cohort), stream=blank(stream),
                        area=blank(area), adopted_from=form_date(adopted_from, "adopted_from"),
                        adopted_to=form_date(adopted_to, "adopted_to"), group_by=["area"],
                        window_months=months, counting=count)  # type: ignore[arg-type]
