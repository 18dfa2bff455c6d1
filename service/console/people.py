"""The console's person-level pages: find a person, one person's record, the cohort.

Each needs the session's stated purpose before anything is looked up (asked once, kept in
the session, never put in a URL), is area-scoped (outside the key's
areas a person does not exist: 404) and writes the same audit events the API writes.
"""

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from models import AuditAction
from models.enums import Cohort, Rag
from scoring.dates import add_months
from scoring.uk_calendar import uk_today
from service.access import visible_person
from service.console import charts
from service.console.forms import blank, choice, form_date
from service.console.session import (
    FORM_TOKEN_FIELD,
    ConsoleAuditor,
    ConsoleSecret,
    Purpose,
    check_form,
    form_token,
)
from service.console.web import NO_STORE, render, router
from service.deps import IdPath, Paging, ScorerDep, SessionDep
from service.errors import invalid_field
from service.scorer import person_score
from service.store import custody as custody_store
from service.store import memberships as membership_store
from service.store import offences as offence_store
from service.store import persons as person_store
from service.store.reference import list_areas, list_streams

# Rows read for one cohort page (the store pages by id; sorting happens here).
COHORT_PAGE = 500
COHORT_CAP = 5000
LISTING_LIMIT = 500
QUARTERS_BACK = 12


# --- person -------------------------------------------------------------------------------

@router.get("/persons")
def person_lookup_form(request: Request, auditor: ConsoleAuditor, why: Purpose,
                       secret: ConsoleSecret) -> Response:
    """The form to find a person (it posts: a PNC ID never goes into a URL)."""
    return render(request, "person_lookup.html",
                  {"title": "Find a person", "active": "person", "person_id": "",
                   "pnc_id": "", "error": None, "token": form_token(request, secret),
                   "token_field": FORM_TOKEN_FIELD})


@router.post("/persons")
def person_lookup(request: Request, session: SessionDep, auditor: ConsoleAuditor,
                  why: Purpose, secret: ConsoleSecret,
                  person_id: Annotated[str, Form(max_length=20)] = "",
                  pnc_id: Annotated[str, Form(max_length=20)] = "",
                  form_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Find a person by id or PNC ID and open their page."""
    check_form(request, form_token, secret)
    pid, pnc = blank(person_id), blank(pnc_id)
    if pid is None and pnc is None:
        raise invalid_field(["form", "person_id"], "give a person id or a PNC ID")
    if pid is None:
        rows, _ = person_store.find_persons(session=session, paging=Paging(limit=2, offset=0),
                                            pnc_id=pnc, home_area=None,
                                            areas=auditor.principal.areas)
        auditor.record(AuditAction.consultation, person_ids=[r.id for r in rows],
                       justification=why, detail="console person lookup by PNC ID")
        if len(rows) != 1:
            return render(request, "person_lookup.html",
                          {"title": "Find a person", "active": "person", "person_id": "",
                           "pnc_id": pnc, "token": form_token,
                           "token_field": FORM_TOKEN_FIELD,
                           "error": "No person with that PNC ID in your areas."}, status=404)
        pid = str(rows[0].id)
    if not pid.isdigit():
        raise invalid_field(["form", "person_id"], "person_id must be a number")
    return RedirectResponse(f"/console/persons/{int(pid)}", status_code=303)


def _quarters(as_of: date) -> list[date]:
    points = [pd.Timestamp(add_months([as_of], -3 * i)[0]).date()
              for i in range(QUARTERS_BACK, -1, -1)]
    return points


@router.get("/persons/{person_id}")
def person_page(request: Request, person_id: IdPath, session: SessionDep, scorer: ScorerDep,
                auditor: ConsoleAuditor, why: Purpose, as_of: str | None = None) -> Response:
    """One person: score and why, RFG over time, offences, custody, memberships (audited)."""
    today = uk_today()
    day = form_date(as_of, "as_of") or today
    if day > today:
        raise invalid_field(["query", "as_of"], "as_of cannot be in the future")
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
        "factor_charts": factor_charts, "rfg_chart": rfg_chart,
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
                why: Purpose, area: str | None = None, stream: str | None = None,
                cohort: str | None = None, rag: str | None = None, sort: str | None = None,
                order: str | None = None, show: str | None = None) -> Response:
    """Current members by area and stream, with RAG and offender manager (audited)."""
    fields = {"area": blank(area), "stream": blank(stream), "cohort": blank(cohort),
              "rag": blank(rag), "sort": blank(sort) or "area", "order": blank(order) or "asc"}
    if fields["sort"] not in SORTS:
        raise invalid_field(["query", "sort"], f"sort takes {', '.join(SORTS)}")
    if fields["order"] not in ("asc", "desc"):
        raise invalid_field(["query", "order"], "order takes asc or desc")
    principal = auditor.principal
    allowed = principal.areas
    context: dict[str, Any] = {
        "title": "Cohort", "active": "cohort", "fields": fields, "cohorts": list(Cohort),
        "rags": list(Rag),
        "areas": [a for a in list_areas(session) if allowed is None or a.code in allowed],
        "streams": list_streams(session), "sorts": SORTS,
    }
    if show is None:
        return render(request, "cohort.html", {**context, "rows": None}, headers=NO_STORE)
    chosen_cohort = choice(fields["cohort"], "cohort", Cohort)
    chosen_rag = choice(fields["rag"], "rag", Rag)
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
        "counts": counts, "summary_areas": summary_areas,
        "summary_streams": summary_streams, "query": {k: v for k, v in fields.items() if v},
    }, headers=NO_STORE)
