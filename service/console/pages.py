"""The console's pages: server-rendered HTML over the same service functions as the API.

Every page authenticates by the console's session cookie, then obeys the API's rules:
analysts see the report and the model only; person-level pages (person, cohort) need a
justification, are area-scoped (outside the key's areas a person does not exist: 404) and
write the same audit events the API writes.
"""

import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from models import AuditAction, Role
from models.enums import Cohort, Rag
from scoring.idiom import add_months, monthly_offending
from service.access import visible_person
from service.console import charts
from service.console.session import (
    ConsoleAuditor,
    ConsolePrincipal,
    SignInRequired,
    clear_session_cookie,
    may_see_people,
    set_session_cookie,
)
from service.deps import CatalogueDep, IdPath, Paging, SessionDep
from service.errors import DomainError, InvalidInput
from service.routes.reference import list_areas, list_streams
from service.routes.reports import IdiomReportRead, idiom_params
from service.routes.scores import ScorerDep
from service.scorer import person_score
from service.security import Principal, principal_for_key
from service.store import custody as custody_store
from service.store import memberships as membership_store
from service.store import offences as offence_store
from service.store import persons as person_store
from service.store import reports as report_store

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# No script, nothing from elsewhere: the pages are HTML, CSS and inline SVG only.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Person-level pages are read once by the person who asked, never by a shared cache.
NO_STORE = {"Cache-Control": "no-store"}
# Rows read for one cohort page (the store pages by id; sorting happens here).
COHORT_PAGE = 500
COHORT_CAP = 5000
LISTING_LIMIT = 500
QUARTERS_BACK = 12
MAX_JUSTIFICATION = 1000


def render(request: Request, name: str, context: dict[str, Any], *,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A page, with the signed-in principal (if any) and navigation in its context."""
    principal: Principal | None = getattr(request.state, "principal", None)
    base = {"principal": principal,
            "people": principal is not None and may_see_people(principal)}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status,
                                      headers=headers)


def _sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/console/sign-in?" + urlencode({"next": target})


class ConsoleRoute(APIRoute):
    """Turns the service's errors into pages (not problem+json) and adds security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired:
                response = RedirectResponse(_sign_in_url(request), status_code=303)
            except DomainError as exc:
                response = render(request, "error.html",
                                  {"title": exc.title, "status": exc.status,
                                   "detail": exc.detail, "errors": exc.errors or []},
                                  status=exc.status)
            except RequestValidationError as exc:
                errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                          for e in exc.errors()]
                response = render(request, "error.html",
                                  {"title": "Invalid input", "status": 422,
                                   "detail": "Some fields are not valid.", "errors": errors},
                                  status=422)
            response.headers.update(SECURITY_HEADERS)
            return response

        return handler


router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


# --- form values --------------------------------------------------------------------------

def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _invalid(field: str, msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[{"loc": ["query", field], "msg": msg,
                                      "type": "value_error"}])


def _date(value: str | None, field: str) -> date | None:
    text = _blank(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid(field, f"{field} must be a date (YYYY-MM-DD)") from None


def _choice(value: str | None, field: str, allowed: type[Cohort] | type[Rag]) -> Any:
    text = _blank(value)
    if text is None:
        return None
    try:
        return allowed(text)
    except ValueError:
        raise _invalid(field, f"{field} takes {', '.join(allowed)}") from None


def _justification(value: str | None) -> str | None:
    text = _blank(value)
    if text is not None and len(text) > MAX_JUSTIFICATION:
        raise _invalid("justification", f"at most {MAX_JUSTIFICATION} characters")
    return text


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an absolute or protocol-relative URL.
    if target and target.startswith("/console/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/console/report"


# --- sign-in --------------------------------------------------------------------------------

@router.get("")
def console_home() -> Response:
    """The console's front door: the report page (which asks for sign-in if needed)."""
    return RedirectResponse("/console/report", status_code=303)


@router.get("/static/console.css")
def console_css() -> Response:
    """The console's only stylesheet (screen and print)."""
    return FileResponse(HERE / "static" / "console.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form: paste an API key."""
    return render(request, "sign_in.html", {"title": "Sign in", "next": _safe_next(next),
                                            "error": None})


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep,
            api_key: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Check the key and start a session (the same answer for every kind of bad key)."""
    principal = principal_for_key(session, api_key) if api_key.strip() else None
    if principal is None:
        log.warning("console sign-in refused: unknown, revoked or expired key")
        return render(request, "sign_in.html",
                      {"title": "Sign in", "next": _safe_next(next),
                       "error": "That key is unknown, revoked or expired."}, status=401)
    log.info("console sign-in: key %s (%s)", principal.key_id, principal.role.value)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, api_key.strip())
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    """End the session."""
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_session_cookie(response)
    return response


# --- IDIOM report ---------------------------------------------------------------------------

def _report_params(principal: Principal, *, as_of: str | None, cohort: str | None,
                   stream: str | None, area: str | None, adopted_from: str | None,
                   adopted_to: str | None, window_months: str | None,
                   counting: str | None) -> report_store.IdiomParams:
    """The form's values, validated exactly as the API validates its query."""
    months_text = _blank(window_months)
    try:
        months = int(months_text) if months_text else 12
    except ValueError:
        raise _invalid("window_months", "window_months must be a whole number") from None
    if not 1 <= months <= 60:
        raise _invalid("window_months", "window_months must be between 1 and 60")
    count = _blank(counting) or "recorded"
    if count not in ("recorded", "proven"):
        raise _invalid("counting", "counting takes recorded or proven")
    return idiom_params(principal, as_of=_date(as_of, "as_of"),
                        cohort=_choice(cohort, "cohort", Cohort), stream=_blank(stream),
                        area=_blank(area), adopted_from=_date(adopted_from, "adopted_from"),
                        adopted_to=_date(adopted_to, "adopted_to"), group_by=["area"],
                        window_months=months, counting=count)  # type: ignore[arg-type]


ReportForm = dict[str, str | None]


def _report_form(area: str | None, cohort: str | None, stream: str | None, as_of: str | None,
                 adopted_from: str | None, adopted_to: str | None,
                 window_months: str | None, counting: str | None) -> ReportForm:
    return {"area": area, "cohort": cohort, "stream": stream, "as_of": as_of,
            "adopted_from": adopted_from, "adopted_to": adopted_to,
            "window_months": window_months, "counting": counting}


def _monthly(session: SessionDep, report: Any, params: report_store.IdiomParams) -> Any:
    members = report.members
    members = members[members["included"].astype(bool)] if len(members) else members
    if len(members):
        earliest = pd.to_datetime(members["adopted_on"]).min().date()
    else:
        earliest = params.as_of
    since = pd.Timestamp(add_months([earliest], -12)[0]).date()
    # The report's own reader, so the chart counts the same offence rows as the table.
    offences = report_store.read_offences(session, params, since, everyone=False)
    return monthly_offending(members, offences, as_of=params.as_of)


@router.get("/report")
def report_page(request: Request, principal: ConsolePrincipal, session: SessionDep,
                catalogue: CatalogueDep, area: str | None = None, cohort: str | None = None,
                stream: str | None = None, as_of: str | None = None,
                adopted_from: str | None = None, adopted_to: str | None = None,
                window_months: str | None = None, counting: str | None = None) -> Response:
    """The IDIOM report: the panel's table, at-liberty figures, intervals, charts."""
    form = _report_form(area, cohort, stream, as_of, adopted_from, adopted_to,
                        window_months, counting)
    params = _report_params(principal, **form)
    report = report_store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    payload = IdiomReportRead.model_validate(
        report_store.idiom_payload(report, params=params, catalogue=catalogue)
    ).model_dump(mode="json")
    groups = payload["groups"]
    names = [g["key"].get("area") or "(none)" for g in groups]
    before_after = charts.bar_chart(
        names, [charts.Series("12 months before", [g["before"]["offences"] for g in groups]),
                charts.Series("12 months after", [g["after"]["offences"] for g in groups])],
        title="Offences before and after, by area",
        desc="Recorded offences in the window before adoption and after exit, per area.")
    saving = charts.bar_chart(
        names, [charts.Series("Cost saving (£)", [g["cost_saving"] for g in groups])],
        title="Cost saving by area", desc="Cost before minus cost after, in pounds, per area.",
        fmt=lambda v: f"-£{charts.plain(-v)}" if v < 0 else f"£{charts.plain(v)}")
    monthly = _monthly(session, report, params)
    monthly_chart = charts.line_chart(
        list(monthly.months), [charts.Series("Offences per member", monthly.per_member)],
        title="Monthly offending around adoption",
        desc="Recorded offences per member in each month from 12 before to 12 after adoption.",
        x_labels=[f"{m:+d}" if m else "0" for m in monthly.months], marker_x=0,
        marker_label="adopted")
    allowed = None if principal.areas is None else principal.areas
    areas = [a for a in list_areas(session) if allowed is None or a.code in allowed]
    query = urlencode({k: v for k, v in form.items() if v})
    return render(request, "report.html", {
        "title": "IDIOM report", "active": "report", "report": payload, "form": form,
        "params": params,
        "areas": areas, "streams": list_streams(session), "cohorts": list(Cohort),
        "before_after": before_after, "saving": saving, "monthly": monthly,
        "monthly_chart": monthly_chart, "csv_url": "/console/report.csv"
        + (f"?{query}" if query else ""),
    })


@router.get("/report.csv")
def report_csv(principal: ConsolePrincipal, session: SessionDep, catalogue: CatalogueDep,
               area: str | None = None, cohort: str | None = None, stream: str | None = None,
               as_of: str | None = None, adopted_from: str | None = None,
               adopted_to: str | None = None, window_months: str | None = None,
               counting: str | None = None) -> Response:
    """The panel's table as CSV: the same function as GET /reports/idiom?format=csv."""
    params = _report_params(principal, **_report_form(area, cohort, stream, as_of, adopted_from,
                                                      adopted_to, window_months, counting))
    report = report_store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    filename = f"idiom_{params.as_of.isoformat()}.csv"
    return Response(report_store.idiom_csv(report), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Cost-Table-Version": catalogue.version})


# --- model --------------------------------------------------------------------------------

@router.get("/model")
def model_page(request: Request, principal: ConsolePrincipal, scorer: ScorerDep) -> Response:
    """The threat model's card: metrics, calibration, figures by group."""
    card = scorer.card()
    evaluation = card.get("evaluation") or {}
    calibration = evaluation.get("calibration") or []
    chart = None
    if calibration:
        chart = charts.calibration_chart(
            [row["mean_predicted"] for row in calibration],
            [row["observed_rate"] for row in calibration], [row["n"] for row in calibration],
            title="Calibration on held-out dates",
            desc="Observed rate against mean predicted probability per probability band; "
                 "the diagonal is perfect calibration.")
    by_group = {name.removeprefix("by_"): rows for name, rows in evaluation.items()
                if name.startswith("by_") and isinstance(rows, list)}
    return render(request, "model.html", {"title": "Model", "active": "model", "card": card,
                                          "evaluation": evaluation, "calibration": calibration,
                                          "chart": chart, "by_group": by_group})


# --- person -------------------------------------------------------------------------------

@router.get("/persons")
def person_lookup(request: Request, session: SessionDep, auditor: ConsoleAuditor,
                  person_id: str | None = None, pnc_id: str | None = None,
                  justification: str | None = None) -> Response:
    """Find a person by id or PNC ID (with a justification) and open their page."""
    why = _justification(justification)
    pid, pnc = _blank(person_id), _blank(pnc_id)
    if why is None or (pid is None and pnc is None):
        missing = why is None and (pid is not None or pnc is not None)
        return render(request, "person_lookup.html",
                      {"title": "Find a person", "active": "person", "person_id": pid or "",
                       "pnc_id": pnc or "",
                       "error": "Give a justification." if missing else None},
                      status=422 if missing else 200)
    if pid is None:
        rows, _ = person_store.find_persons(session=session, paging=Paging(limit=2, offset=0),
                                            pnc_id=pnc, home_area=None,
                                            areas=auditor.principal.areas)
        auditor.record(AuditAction.consultation, person_ids=[r.id for r in rows],
                       justification=why, detail="console person lookup by PNC ID")
        if len(rows) != 1:
            return render(request, "person_lookup.html",
                          {"title": "Find a person", "active": "person", "person_id": "",
                           "pnc_id": pnc,
                           "error": "No person with that PNC ID in your areas."}, status=404)
        pid = str(rows[0].id)
    if not pid.isdigit():
        raise _invalid("person_id", "person_id must be a number")
    return RedirectResponse(f"/console/persons/{int(pid)}?"
                            + urlencode({"justification": why}), status_code=303)


def _quarters(as_of: date) -> list[date]:
    points = [pd.Timestamp(add_months([as_of], -3 * i)[0]).date()
              for i in range(QUARTERS_BACK, -1, -1)]
    return points


@router.get("/persons/{person_id}")
def person_page(request: Request, person_id: IdPath, session: SessionDep, scorer: ScorerDep,
                auditor: ConsoleAuditor, justification: str | None = None,
                as_of: str | None = None) -> Response:
    """One person: score and why, RFG over time, offences, custody, memberships (audited)."""
    why = _justification(justification)
    day = _date(as_of, "as_of") or date.today()
    if day > date.today():
        raise _invalid("as_of", "as_of cannot be in the future")
    if why is None:
        # Nothing is looked up before a justification is given: not even whether they exist.
        return render(request, "justify.html",
                      {"title": f"Person {person_id}", "active": "person",
                       "action": f"/console/persons/{person_id}",
                       "as_of": as_of or "", "fields": {}}, headers=NO_STORE)
    person = visible_person(session, auditor, person_id)
    score = person_score(session=session, person_id=person_id, as_of=day, scorer=scorer)
    history = [(q, person_score(session=session, person_id=person_id, as_of=q, scorer=scorer))
               for q in _quarters(day)[:-1]] + [(day, score)]
    listing = Paging(limit=LISTING_LIMIT, offset=0)
    offences, offence_total = offence_store.list_offences(session=session, person_id=person_id,
                                                          paging=listing)
    custody, _ = custody_store.list_custody(session=session, person_id=person_id,
                                            paging=listing)
    memberships, _ = membership_store.find_memberships(
        session=session, paging=listing, person_id=person_id, areas=auditor.principal.areas)
    auditor.record(AuditAction.consultation, person_ids=[person_id], justification=why,
                   detail=f"console person page, score as of {day}")

    factor_charts = []
    for part, heading in (("rfg", "RFG: what made the score"),
                          ("threat", "Threat: what made the probability")):
        factors = [f for f in score["explanation"] if f["part"] == part]
        if factors:
            factor_charts.append((heading, factors, charts.diverging_bars(
                [f["text"] for f in factors], [float(f["contribution"]) for f in factors],
                title=heading, desc="Each factor's contribution; right adds, left subtracts.")))
    components = ("recency", "frequency", "gravity", "victims", "score")
    rfg_chart = charts.line_chart(
        list(range(len(history))),
        [charts.Series(c if c != "score" else "RFG", [float(s["rfg"][c]) for _, s in history])
         for c in components],
        title="RFG over time", desc="RFG and its components at quarterly dates.",
        x_labels=[q.strftime("%b %y") for q, _ in history])
    start = min([o.offence_date for o in offences] + [c.start_on for c in custody] + [day])
    start = date(start.year, 1, 1)
    offence_chart = charts.timeline(
        start, day, [(o.offence_date, f"{o.offence_date}: {o.offence_type}") for o in offences],
        [(c.start_on, c.end_on, f"custody {c.start_on} to {c.end_on or 'now'}")
         for c in custody],
        title="Offence timeline", desc="Each mark is an offence; shaded spans are custody.")
    return render(request, "person.html", {
        "title": f"Person {person_id}", "active": "person", "person": person, "score": score,
        "as_of": day,
        "justification": why, "factor_charts": factor_charts, "rfg_chart": rfg_chart,
        "history": history, "offences": offences, "offence_total": offence_total,
        "custody": custody, "memberships": memberships, "offence_chart": offence_chart,
    }, headers=NO_STORE)


# --- cohort -------------------------------------------------------------------------------

SORTS = ("area", "stream", "cohort", "rag", "offender_manager", "adopted_on", "person_id")
RAG_ORDER = {"red": 0, "amber": 1, "green": 2}


def _sort_key(field: str) -> Callable[[Any], Any]:
    def key(m: Any) -> Any:
        value = getattr(m, field)
        if field == "rag":
            return RAG_ORDER.get(str(value), 3)
        return (value is None, str(value) if value is not None else "") \
            if field != "person_id" else value

    return key


@router.get("/cohort")
def cohort_page(request: Request, session: SessionDep, auditor: ConsoleAuditor,
                area: str | None = None, stream: str | None = None, cohort: str | None = None,
                rag: str | None = None, sort: str | None = None, order: str | None = None,
                justification: str | None = None) -> Response:
    """Current members by area and stream, with RAG and offender manager (audited)."""
    why = _justification(justification)
    fields = {"area": _blank(area), "stream": _blank(stream), "cohort": _blank(cohort),
              "rag": _blank(rag), "sort": _blank(sort) or "area", "order": _blank(order) or "asc"}
    if fields["sort"] not in SORTS:
        raise _invalid("sort", f"sort takes {', '.join(SORTS)}")
    if fields["order"] not in ("asc", "desc"):
        raise _invalid("order", "order takes asc or desc")
    principal = auditor.principal
    allowed = principal.areas
    context: dict[str, Any] = {
        "title": "Cohort", "active": "cohort", "fields": fields, "cohorts": list(Cohort),
        "rags": list(Rag),
        "areas": [a for a in list_areas(session) if allowed is None or a.code in allowed],
        "streams": list_streams(session), "sorts": SORTS,
    }
    if why is None:
        return render(request, "cohort.html", {**context, "rows": None}, headers=NO_STORE)
    chosen_cohort = _choice(fields["cohort"], "cohort", Cohort)
    chosen_rag = _choice(fields["rag"], "rag", Rag)
    rows: list[Any] = []
    total = 0
    while len(rows) < COHORT_CAP:
        batch, total = membership_store.find_memberships(
            session=session, paging=Paging(limit=COHORT_PAGE, offset=len(rows)), active=True,
            area=fields["area"], cohort=chosen_cohort, stream=fields["stream"], areas=allowed)
        rows.extend(batch)
        if len(batch) < COHORT_PAGE:
            break
    if chosen_rag is not None:
        rows = [m for m in rows if m.rag == chosen_rag]
    rows.sort(key=_sort_key(fields["sort"]), reverse=fields["order"] == "desc")
    auditor.record(AuditAction.consultation, person_ids=[m.person_id for m in rows],
                   justification=why, detail="console cohort page")
    counts = Counter((m.area, m.stream) for m in rows)
    summary_areas = sorted({a for a, _ in counts})
    summary_streams = sorted({s for _, s in counts})
    return render(request, "cohort.html", {
        **context, "rows": rows, "total": total, "truncated": total > COHORT_CAP,
        "justification": why, "counts": counts, "summary_areas": summary_areas,
        "summary_streams": summary_streams, "query": {k: v for k, v in fields.items() if v},
    }, headers=NO_STORE)


def role_label(role: Role) -> str:
    """A role as people say it."""
    return role.value.replace("_", " ")


templates.env.globals["role_label"] = role_label


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"


def _money(value: Any) -> str:
    if value is None:
        return "–"
    amount = float(value)
    return f"-£{-amount:,.0f}" if amount < 0 else f"£{amount:,.0f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}%"


def _interval(value: Any) -> str:
    return "–" if not value else f"{float(value[0]):.1f} to {float(value[1]):.1f}%"


templates.env.filters.update(num=_num, money=_money, pct=_pct, interval=_interval)
