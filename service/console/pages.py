"""The console's front door, IDIOM report and model pages: server-rendered HTML over the same
service functions as the API.

Every page authenticates by the console's session cookie, then obeys the API's rules:
analysts see the report and the model only; the person-level pages (`people`, `meeting`)
need a justification, are area-scoped and write the same audit events the API writes.
"""

import logging
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from models.enums import Cohort
from models.report import IdiomReportRead
from scoring.dates import add_months
from scoring.idiom import monthly_offending
from service.console import charts
from service.console.forms import report_form, report_params
from service.console.session import ConsolePrincipal
from service.console.web import HERE, render, router
from service.deps import CatalogueDep, IdiomRulesDep, ScorerDep, SessionDep, SettingsDep
from service.evaluation import evaluation_read, latest_evaluation
from service.idiom import idiom_file_response
from service.store import reports as report_store
from service.store.reference import list_areas, list_streams
from service.training import list_candidates

log = logging.getLogger(__name__)


# --- front door --------------------------------------------------------------------------------

@router.get("")
def console_home() -> Response:
    """The console's front door: the report page (which asks for sign-in if needed)."""
    return RedirectResponse("/console/report", status_code=303)


@router.get("/static/console.css")
def console_css() -> Response:
    """The console's only stylesheet (screen and print)."""
    return FileResponse(HERE / "static" / "console.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


# --- IDIOM report ---------------------------------------------------------------------------

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
                catalogue: CatalogueDep, rules: IdiomRulesDep, area: str | None = None,
                cohort: str | None = None, stream: str | None = None, as_of: str | None = None,
                adopted_from: str | None = None, adopted_to: str | None = None,
                window_months: str | None = None, counting: str | None = None) -> Response:
    """The IDIOM report: the panel's table, at-liberty figures, intervals, charts."""
    form = report_form(area, cohort, stream, as_of, adopted_from, adopted_to,
                        window_months, counting)
    params = report_params(principal, rules, **form)
    report = report_store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    payload = IdiomReportRead.model_validate(
        report_store.idiom_payload(report, params=params, catalogue=catalogue)
    ).model_dump(mode="json")
    groups = payload["groups"]
    names = [g["key"].get("area") or "(none)" for g in groups]
    before_after = charts.bar_chart(
        names, [charts.Series(f"{params.window_months} months before",
                              [g["before"]["offences"] for g in groups]),
                charts.Series(f"{params.window_months} months after",
                              [g["after"]["offences"] for g in groups])],
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
        "params": params, "rules": rules,
        "areas": areas, "streams": list_streams(session), "cohorts": list(Cohort),
        "before_after": before_after, "saving": saving, "monthly": monthly,
        "monthly_chart": monthly_chart, "csv_url": "/console/report.csv"
        + (f"?{query}" if query else ""),
    })


@router.get("/report.csv")
def report_csv(principal: ConsolePrincipal, session: SessionDep, catalogue: CatalogueDep,
               rules: IdiomRulesDep, area: str | None = None, cohort: str | None = None,
               stream: str | None = None, as_of: str | None = None, adopted_from: str | None = None,
               adopted_to: str | None = None, window_months: str | None = None,
               counting: str | None = None) -> Response:
    """The panel's table as CSV: the same function as GET /reports/idiom?format=csv."""
    params = report_params(principal, rules, **report_form(
        area, cohort, stream, as_of, adopted_from, adopted_to, window_months, counting))
    report = report_store.idiom_report_for(session=session, catalogue=catalogue, params=params)
    return idiom_file_response(report, params=params, catalogue=catalogue, fmt="csv")


# --- model --------------------------------------------------------------------------------

@router.get("/model")
def model_page(request: Request, principal: ConsolePrincipal, scorer: ScorerDep,
               settings: SettingsDep, session: SessionDep) -> Response:
    """The threat model's card: metrics, calibration, figures by group, its comparison
    with the fallback and the baseline, the latest external evaluation beside it, and every
    candidate with the gate's verdict."""
    card = scorer.card()
    latest = latest_evaluation(session)
    candidates = list_candidates(settings.model_dir, scorer=scorer, evaluation=latest)
    in_use = next((c for c in candidates if c["status"] == "current"), None)
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
                                          "chart": chart, "by_group": by_group,
                                          "comparison": in_use["comparison"] if in_use else [],
                                          "candidates": candidates,
                                          "external": None if latest is None
                                          else evaluation_read(latest)})
