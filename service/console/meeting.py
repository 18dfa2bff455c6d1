"""The migration-meeting page: the ranked shortlist, exclusions and exit review for an area
and stream, their CSV/XLSX exports, and the meeting's decisions recorded through POST forms.

Everything goes through the API's own functions (the shortlist store, the export writer,
the meeting store) under the same rules: person-level roles only, the key's areas, a
purpose stated for the session before any person-level row is shown (never in a URL), and
the same audit events. Forms post
without JavaScript and carry the session's form token (see `session.check_form`).
"""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from models import AuditAction, DecisionCreate, DecisionKind, Meeting, MeetingCreate
from models.enums import Cohort, ExitReason
from scoring.shortlist import ShortlistConfig
from scoring.uk_calendar import uk_today
from service.access import (
    require_area,
    require_area_visible,
    visible_person,
    withhold_listing,
)
from service.audit import Auditor
from service.console.forms import blank, form_date
from service.console.session import (
    FORM_TOKEN_FIELD,
    ConsoleAuditor,
    ConsoleSecret,
    Purpose,
    check_form,
    form_token,
)
from service.console.web import NO_STORE, render, router
from service.deps import IdPath, ScorerDep, SessionDep, ShortlistConfigDep
from service.errors import InvalidInput, NotFound, invalid_field
from service.exports import export_listing
from service.store import meetings as meeting_store
from service.store import shortlists as shortlist_store
from service.store.reference import list_areas, list_streams

MEETINGS_LISTED = 50
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
RANK_BY = ("risk", "rfg")
KINDS = ("migration", "exits")
FORMATS = ("csv", "xlsx")

Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=1000)]


def _limit(value: str | None) -> int:
    text = blank(value)
    try:
        limit = int(text) if text else DEFAULT_LIMIT
    except ValueError:
        raise invalid_field(["query", "limit"], "limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_field(["query", "limit"], f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _meeting_id(value: str | None) -> int | None:
    text = blank(value)
    if text is None:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise invalid_field(["query", "meeting_id"], "meeting_id must be a meeting's number")
    return int(text)


def _form_fields(area: str | None, stream: str | None, as_of: str | None, rank_by: str | None,
                 limit: str | None) -> dict[str, Any]:
    """The page's choices, validated as the API validates its query."""
    fields: dict[str, Any] = {"area": blank(area), "stream": blank(stream),
                              "as_of": blank(as_of), "rank_by": blank(rank_by) or "risk",
                              "limit": _limit(limit)}
    form_date(fields["as_of"], "as_of")
    if fields["rank_by"] not in RANK_BY:
        raise invalid_field(["query", "rank_by"], "rank_by takes risk or rfg")
    return fields


def _page_url(fields: dict[str, Any], *, meeting_id: int | None = None, recorded: int | None = None,
              anchor: str = "") -> str:
    query: dict[str, Any] = {k: v for k, v in fields.items() if v not in (None, "")}
    if fields.get("limit") == DEFAULT_LIMIT:
        query.pop("limit", None)
    if fields.get("rank_by") == "risk":
        query.pop("rank_by", None)
    if meeting_id is not None:
        query["meeting_id"] = meeting_id
    if recorded is not None:
        query["recorded"] = recorded
    return "/console/meeting?" + urlencode(query) + anchor


def _visible_meeting(auditor: Auditor, meeting_id: int) -> Meeting:
    """As the API: a meeting outside the key's areas does not exist (404)."""
    meeting = meeting_store.meeting_or_404(auditor.session, meeting_id)
    if not auditor.principal.can_see(meeting.area):
        raise NotFound(f"meeting {meeting_id} not found")
    return meeting


def _area_meetings(auditor: Auditor, area: str) -> list[Meeting]:
    """The area's most recent meetings, to pick from."""
    query = (select(Meeting).where(Meeting.area == area)
             .order_by(Meeting.held_on.desc(), Meeting.id.desc())  # type: ignore[attr-defined, union-attr]
             .limit(MEETINGS_LISTED))
    return list(auditor.session.exec(query).all())


def _shortlist_streams(session: SessionDep, rules: ShortlistConfig) -> list[Any]:
    ruled = rules.streams
    return [s for s in list_streams(session) if s.code in ruled]


@router.get("/meeting")
def meeting_page(request: Request, session: SessionDep, scorer: ScorerDep,
                 rules: ShortlistConfigDep,
                 secret: ConsoleSecret,
                 auditor: ConsoleAuditor, why: Purpose, area: str | None = None,
                 stream: str | None = None, as_of: str | None = None,
                 rank_by: str | None = None, limit: str | None = None,
                 meeting_id: str | None = None, recorded: str | None = None) -> Response:
    """The migration meeting: shortlist, exclusions, exit review, exports and decisions."""
    fields = _form_fields(area, stream, as_of, rank_by, limit)
    principal = auditor.principal
    allowed = principal.areas
    chosen_meeting = _meeting_id(meeting_id)
    context: dict[str, Any] = {
        "title": "Migration meeting", "active": "meeting", "fields": fields,
        "areas": [a for a in list_areas(session) if allowed is None or a.code in allowed],
        "streams": _shortlist_streams(session, rules), "rank_bys": RANK_BY,
        "listing": None, "exits": None,
    }
    if fields["area"] is None or fields["stream"] is None:
        missing = fields["area"] is not None or fields["stream"] is not None
        return render(request, "meeting.html", {
            **context, "error": "Choose an area and a stream."
            if missing else None}, status=422 if missing else 200, headers=NO_STORE)
    the_area, the_stream = fields["area"], fields["stream"]
    require_area_visible(principal, the_area)
    today = uk_today()
    day = form_date(fields["as_of"], "as_of") or today
    meeting = None
    if chosen_meeting is not None:
        meeting = _visible_meeting(auditor, chosen_meeting)
        if meeting.area != the_area:
            raise invalid_field(["query", "meeting_id"],
                                f"meeting {meeting.id} is for area {meeting.area}, "
                                         f"not {the_area}")
    listing = withhold_listing(session, principal, shortlist_store.migration_list(
        session=session, scorer=scorer, config=rules, area=the_area, stream=the_stream, as_of=day,
        rank_by=fields["rank_by"], limit=fields["limit"]))
    exits = withhold_listing(session, principal, shortlist_store.exits_list(
        session=session, scorer=scorer, config=rules, area=the_area, stream=the_stream,
        as_of=day))
    ids = [c["person_id"] for c in listing["candidates"]] + [
        e["person_id"] for e in listing["excluded"]]
    auditor.record(AuditAction.consultation, person_ids=ids, justification=why,
                   detail=f"console migration shortlist {the_area}/{the_stream} as of {day}")
    auditor.record(AuditAction.consultation,
                   person_ids=[m["person_id"] for m in exits["members"]], justification=why,
                   detail=f"console exit review {the_area}/{the_stream} as of {day}")
    decisions: list[Any] = []
    withheld = 0
    if meeting is not None:
        rows, withheld = meeting_store.meeting_decisions(
            session=session, meeting_id=meeting.id or 0, areas=auditor.principal.areas)
        auditor.record(AuditAction.consultation, person_ids=[d.person_id for d in rows],
                       justification=why, detail=f"console decisions of meeting {meeting.id}")
        decisions = [meeting_store.decision_read(d, meeting) for d in rows]
    decided = {(d.person_id, d.stream): d for d in decisions}
    flash = None
    recorded_id = _meeting_id(recorded)
    if recorded_id is not None:
        flash = next((d for d in decisions if d.id == recorded_id), None)
    export_query = {"area": the_area, "stream": the_stream, "as_of": day.isoformat(),
                    "rank_by": fields["rank_by"], "limit": fields["limit"]}
    downloads = {(kind, fmt): "/console/meeting/export?" + urlencode(
        {**export_query, "kind": kind, "format": fmt}) for kind in KINDS for fmt in FORMATS}
    return render(request, "meeting.html", {
        **context, "error": None, "listing": listing, "exits": exits, "as_of": day,
        "meetings": _area_meetings(auditor, the_area), "meeting": meeting,
        "decisions": decisions, "withheld": withheld, "decided": decided, "flash": flash,
        "downloads": downloads, "token": form_token(request, secret),
        "token_field": FORM_TOKEN_FIELD,
        "cohorts": list(Cohort), "exit_reasons": list(ExitReason),
        "kinds": [DecisionKind.adopt, DecisionKind.decline, DecisionKind.defer],
        "today": today, "self_url": _page_url(fields, meeting_id=chosen_meeting),
    }, headers=NO_STORE)


@router.get("/meeting/export")
def meetingexport_listing(session: SessionDep, scorer: ScorerDep, rules: ShortlistConfigDep,
                          auditor: ConsoleAuditor, why: Purpose,
                   area: str | None = None, stream: str | None = None,
                   as_of: str | None = None, rank_by: str | None = None,
                   limit: str | None = None, kind: str | None = None,
                   format: str | None = None) -> Response:
    """The shortlist or exit review as CSV/XLSX: the API's export, audited as a disclosure."""
    fields = _form_fields(area, stream, as_of, rank_by, limit)
    if fields["area"] is None or fields["stream"] is None:
        raise invalid_field(["query", "area"], "choose an area and a stream")
    if kind not in KINDS:
        raise invalid_field(["query", "kind"], "kind takes migration or exits")
    if format not in FORMATS:
        raise invalid_field(["query", "format"], "format takes csv or xlsx")
    require_area_visible(auditor.principal, fields["area"])
    day = form_date(fields["as_of"], "as_of") or uk_today()
    if kind == "migration":
        listing = withhold_listing(session, auditor.principal, shortlist_store.migration_list(
            session=session, scorer=scorer, config=rules, area=fields["area"],
            stream=fields["stream"], as_of=day, rank_by=fields["rank_by"], limit=fields["limit"]))
        ids = [c["person_id"] for c in listing["candidates"]] + [
            e["person_id"] for e in listing["excluded"]]
    else:
        listing = withhold_listing(session, auditor.principal, shortlist_store.exits_list(
            session=session, scorer=scorer, config=rules, area=fields["area"],
            stream=fields["stream"], as_of=day))
        ids = [m["person_id"] for m in listing["members"]]
    response = export_listing(listing, kind=kind, fmt=format,  # type: ignore[arg-type]
                       audit=auditor, justification=why, person_ids=ids)
    response.headers.update(NO_STORE)
    return response


def _return_fields(area: str, stream: str, as_of: str, rank_by: str,
                   limit: str) -> dict[str, Any]:
    return _form_fields(area, stream, as_of, rank_by, limit)


@router.post("/meetings")
def create_meeting(request: Request, session: SessionDep, auditor: ConsoleAuditor,
                   secret: ConsoleSecret,
                   area: Short = "", held_on: Short = "", agencies: Short = "",
                   stream: Short = "", as_of: Short = "", rank_by: Short = "",
                   limit: Short = "", form_token: Short = "") -> Response:
    """Record a migration meeting (area, date, agencies present), then open it."""
    check_form(request, form_token, secret)
    fields = _return_fields(area, stream, as_of, rank_by, limit)
    the_area = fields["area"]
    if the_area is None:
        raise invalid_field(["query", "area"], "choose an area")
    require_area(auditor, the_area, field="area")
    day = form_date(held_on, "held_on")
    if day is None:
        raise invalid_field(["query", "held_on"], "give the date the meeting is held on")
    present = [a.strip() for a in agencies.replace("\n", ",").split(",") if a.strip()]
    try:
        meeting_in = MeetingCreate(area=the_area, held_on=day, agencies=present)
    except ValidationError as exc:
        raise InvalidInput("the meeting is not valid", errors=[
            {"loc": ["form", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()]) from None
    meeting = meeting_store.create_meeting(session=session, meeting_in=meeting_in,
                                           recorded_by=auditor.principal.name)
    return RedirectResponse(_page_url(fields, meeting_id=meeting.id, anchor="#meeting-h"),
                            status_code=303)


@router.post("/meetings/{meeting_id}/decisions")
def record_decision(request: Request, meeting_id: IdPath, session: SessionDep,
                    secret: ConsoleSecret, scorer: ScorerDep, rules: ShortlistConfigDep,
                    auditor: ConsoleAuditor, purpose: Purpose, person_id: Short = "",
                    decision: Short = "", cohort: Short = "", exit_reason: Short = "",
                    rationale: Text = "", stream: Short = "", area: Short = "",
                    as_of: Short = "", rank_by: Short = "", limit: Short = "",
                    form_token: Short = "") -> Response:
    """Record one decision (adopt, decline, defer, exit) with the API's own function."""
    check_form(request, form_token, secret)
    fields = _return_fields(area, stream, as_of, rank_by, limit)
    meeting = _visible_meeting(auditor, meeting_id)
    why = blank(rationale)
    if why is None:
        raise invalid_field(["query", "rationale"], "a decision needs a rationale")
    if not person_id.strip().isdigit():
        raise invalid_field(["query", "person_id"], "person_id must be a number")
    seen_as_of = form_date(as_of, "as_of")
    try:
        decision_in = DecisionCreate(
            person_id=int(person_id), decision=decision.strip(),  # type: ignore[arg-type]
            cohort=blank(cohort) if decision.strip() == "adopt" else None,  # type: ignore[arg-type]
            stream=stream.strip(), rationale=why,
            exit_reason=blank(exit_reason) if decision.strip() == "exit" else None,  # type: ignore[arg-type]
            shortlist_as_of=seen_as_of)
    except ValidationError as exc:
        raise InvalidInput("the decision is not valid", errors=[
            {"loc": ["form", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()]) from None
    visible_person(session, auditor, decision_in.person_id)
    recorded = meeting_store.record_decision(session=session, scorer=scorer, config=rules,
                                             meeting=meeting,
                                             decision_in=decision_in,
                                             recorded_by=auditor.principal.name)
    auditor.record(AuditAction.collection if decision_in.decision != "exit"
                   else AuditAction.alteration, person_ids=[recorded.person_id], status=201,
                   justification=purpose,
                   detail=f"decision {recorded.id} ({recorded.decision}) at meeting "
                          f"{meeting_id} (console)")
    if fields["area"] is None:
        fields["area"] = meeting.area
    return RedirectResponse(_page_url(fields, meeting_id=meeting_id, recorded=recorded.id,
                                      anchor="#decisions-h"), status_code=303)
