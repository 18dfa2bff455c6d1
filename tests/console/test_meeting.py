"""The migration-meeting page through TestClient: the shortlist equals the API's, exports are
the API's exports (audited as disclosures), decisions go through the API's function, and the
page obeys roles, area scope, the form token and the audit trail."""

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, func, select

from models import AuditEvent, CohortMembership, Meeting, Offence, Person
from models.enums import Cohort
from scoring.uk_calendar import uk_today
from tests.console.conftest import SignIn
from tests.console.test_pages import api, audit_count, fields, number

AREA, STREAM = "BRISTOL", "nsac"
AS_OF = uk_today().isoformat()
WHY = "migration meeting preparation"
CHOICE = {"area": AREA, "stream": STREAM, "as_of": AS_OF}


def token(html: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert found is not None, "no form token on the page"
    return found.group(1)


def carry(html: str, **extra: Any) -> dict[str, Any]:
    """What the page's hidden fields send with a POST form."""
    return {"form_token": token(html), "area": AREA, "stream": STREAM, "as_of": AS_OF,
            "rank_by": "risk", "limit": "25", **extra}


def open_meeting(client: TestClient, **choice: Any) -> tuple[int, str]:
    """Create a meeting through the page's form and open it: (meeting id, page HTML)."""
    page = client.get("/console/meeting", params=CHOICE)
    assert page.status_code == 200, page.text
    created = client.post("/console/meetings", data=carry(
        page.text, held_on=AS_OF, agencies="police, probation, health"),
        follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    found = re.search(r"meeting_id=(\d+)", location)
    assert found is not None
    opened = client.get(location)
    assert opened.status_code == 200, opened.text
    return int(found.group(1)), opened.text


def api_headers(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.headers['X-Test-Key']}",
            "X-Justification": "test"}


def test_the_page_asks_for_its_choices_first(console: SignIn, session: Session) -> None:
    client = console("offender_manager", purpose=WHY)
    before = audit_count(session)
    page = client.get("/console/meeting")
    assert page.status_code == 200
    for control in ("area", "stream", "as_of"):
        assert f'<label for="{control}">' in page.text
    assert 'href="/console/meeting" aria-current="page"' in page.text
    assert "candidates-table" not in page.text
    assert audit_count(session) == before
    missing = client.get("/console/meeting", params={"area": AREA})
    assert missing.status_code == 422 and "candidates-table" not in missing.text
    assert audit_count(session) == before


def test_shortlist_equals_the_api(console: SignIn, session: Session) -> None:
    client = console("offender_manager", areas=[AREA], purpose=WHY)
    page = client.get("/console/meeting", params=CHOICE)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    body = api(client, "/shortlists/migration", area=AREA, stream=STREAM, as_of=AS_OF).json()
    exits = api(client, "/shortlists/exits", area=AREA, stream=STREAM, as_of=AS_OF).json()
    shown = fields(page.text)
    assert body["candidates"], "the demo should shortlist someone"
    assert shown["as_of"] == body["as_of"] and shown["area"] == AREA
    assert int(shown["candidates"]) == len(body["candidates"])
    assert int(shown["excluded"]) == len(body["excluded"])
    assert int(shown["exits"]) == len(exits["members"])
    for i, cand in enumerate(body["candidates"], start=1):
        assert int(shown[f"c{i}.rank"]) == cand["rank"]
        assert int(shown[f"c{i}.person_id"]) == cand["person_id"]
        assert number(shown[f"c{i}.risk"]) == round(cand["risk"], 2)
        assert number(shown[f"c{i}.rfg"]) == round(cand["rfg"], 2)
        for reason in cand["reasons"]:
            assert f"<li>{reason}</li>".replace("'", "&#39;") in page.text
    for excluded in body["excluded"][:5]:
        for reason in excluded["reasons"]:
            assert f"<li>{reason}</li>".replace("'", "&#39;") in page.text
    events = session.exec(select(AuditEvent).where(AuditEvent.justification == WHY)).all()
    assert {e.route for e in events} == {"/console/meeting"}
    shortlist_event = next(e for e in events if "migration shortlist" in (e.detail or ""))
    assert shortlist_event.action == "consultation"
    assert shortlist_event.person_ids == sorted(
        {c["person_id"] for c in body["candidates"]} | {e["person_id"]
                                                        for e in body["excluded"]})


def test_rank_by_rfg_and_limit_follow_the_api(console: SignIn) -> None:
    client = console("admin", purpose=WHY)
    page = client.get("/console/meeting", params={**CHOICE, "rank_by": "rfg", "limit": "5"})
    assert page.status_code == 200, page.text
    body = api(client, "/shortlists/migration", area=AREA, stream=STREAM, as_of=AS_OF,
               rank_by="rfg", limit=5).json()
    shown = fields(page.text)
    assert [int(shown[f"c{i}.person_id"]) for i in range(1, len(body["candidates"]) + 1)] \
        == [c["person_id"] for c in body["candidates"]]
    assert client.get("/console/meeting", params={**CHOICE, "rank_by": "age"}
                      ).status_code == 422
    assert client.get("/console/meeting", params={**CHOICE, "stream": "nope"}
                      ).status_code == 422


def _without_volatile(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [r for r in rows if not r or not r[0].startswith(("# Generated", "# Export id"))]


@pytest.mark.parametrize("kind", ["migration", "exits"])
def test_downloads_are_the_apis_exports_and_are_audited(console: SignIn, session: Session,
                                                        kind: str) -> None:
    client = console("offender_manager", purpose=WHY)
    page = client.get("/console/meeting", params=CHOICE)
    ident = "shortlist" if kind == "migration" else "exits"
    links = {fmt: re.search(rf'href="([^"]+)" download id="{ident}-{fmt}"', page.text)
             for fmt in ("csv", "xlsx")}
    assert all(links.values())
    csv_url = links["csv"].group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    download = client.get(csv_url)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    from_api = api(client, f"/shortlists/{kind}", area=AREA, stream=STREAM, as_of=AS_OF,
                   format="csv")
    assert _without_volatile(download.text) == _without_volatile(from_api.text)
    event = session.exec(select(AuditEvent).where(
        AuditEvent.export_id == download.headers["x-export-id"])).one()
    assert event.action == "disclosure" and event.justification == WHY
    assert event.route == "/console/meeting/export"
    xlsx_url = links["xlsx"].group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    workbook = client.get(xlsx_url)
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    if kind == "migration":
        assert book.sheetnames == ["Candidates", "Excluded"]
        body = api(client, "/shortlists/migration", area=AREA, stream=STREAM,
                   as_of=AS_OF).json()
        ranks = [r[0] for r in book["Candidates"].iter_rows(min_row=12, values_only=True)]
        assert ranks == [c["rank"] for c in body["candidates"]]
    else:
        assert book.sheetnames == ["Exit review"]
    assert session.exec(select(AuditEvent).where(
        AuditEvent.export_id == workbook.headers["x-export-id"])).one().action == "disclosure"
    # A session with no stated purpose is asked for one before any download.
    unstated = console("offender_manager").get(csv_url, follow_redirects=False)
    assert unstated.status_code == 303
    assert unstated.headers["location"].startswith("/console/purpose?")


def test_a_decision_recorded_by_form_is_the_apis_decision(console: SignIn,
                                                           session: Session) -> None:
    client = console("offender_manager", areas=[AREA], purpose=WHY)
    meeting_id, page = open_meeting(client)
    meeting = session.get(Meeting, meeting_id)
    assert meeting is not None and meeting.agencies == ["police", "probation", "health"]
    assert fields(page)["meeting"] == f"meeting {meeting_id}"
    body = api(client, "/shortlists/migration", area=AREA, stream=STREAM, as_of=AS_OF).json()
    first = body["candidates"][0]
    pid = first["person_id"]
    assert f'<label for="rationale-{pid}">' in page
    recorded = client.post(f"/console/meetings/{meeting_id}/decisions", data=carry(
        page, person_id=str(pid), decision="adopt", cohort="fixed",
        rationale="Agreed by police and probation: prolific acquisitive offending"),
        follow_redirects=False)
    assert recorded.status_code == 303, recorded.text
    shown = client.get(recorded.headers["location"])
    assert shown.status_code == 200
    assert 'id="flash"' in shown.text and "Recorded: adopt" in shown.text
    assert int(fields(shown.text)["decisions"]) == 1
    decisions = client.get(f"/meetings/{meeting_id}/decisions",
                           headers=api_headers(client)).json()
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision["person_id"] == pid and decision["decision"] == "adopt"
    assert decision["rationale"].startswith("Agreed by police")
    assert decision["shortlist_entry"]["list"] == "candidates"
    assert decision["shortlist_entry"]["rank"] == first["rank"]
    membership = session.get(CohortMembership, decision["membership_id"])
    assert membership is not None
    assert (membership.person_id, membership.stream, membership.area) == (pid, STREAM, AREA)
    assert membership.adopted_on.isoformat() == AS_OF and membership.exited_on is None
    event = session.exec(select(AuditEvent).where(
        AuditEvent.route == "/console/meetings/{meeting_id}/decisions")).one()
    assert event.action == "collection" and event.person_ids == [pid]
    assert event.status == 201 and f"decision {decision['id']}" in (event.detail or "")

    # Defer and decline for the next candidates; the API lists all three in order.
    for cand, kind in zip(body["candidates"][1:3], ("defer", "decline"), strict=False):
        response = client.post(f"/console/meetings/{meeting_id}/decisions", data=carry(
            page, person_id=str(cand["person_id"]), decision=kind, cohort="fixed",
            rationale=f"{kind}: discussed"), follow_redirects=False)
        assert response.status_code == 303, response.text
    listed = client.get(f"/meetings/{meeting_id}/decisions", headers=api_headers(client)).json()
    assert [d["decision"] for d in listed] == ["adopt", "defer", "decline"][: len(listed)]
    assert all(d["cohort"] is None for d in listed[1:])

    # Adopting again overlaps the new membership: the store's 409, as a page.
    again = client.post(f"/console/meetings/{meeting_id}/decisions", data=carry(
        page, person_id=str(pid), decision="adopt", cohort="fixed", rationale="again"))
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]


def quiet_member(session: Session) -> int:
    """Make a BRISTOL person with no offence for over a year a long-standing nsac member, so
    the exit review lists them (the demo's members are all active offenders)."""
    last = func.max(Offence.offence_date)
    cutoff = uk_today() - timedelta(days=500)
    members = select(CohortMembership.person_id).where(CohortMembership.stream == STREAM)
    row = session.exec(
        select(Person.id).join(Offence, Offence.person_id == Person.id)  # type: ignore[arg-type]
        .where(Person.home_area == AREA, Person.deceased_on.is_(None),  # type: ignore[union-attr]
               Person.id.not_in(members))  # type: ignore[union-attr]
        .group_by(Person.id).having(last < cutoff).order_by(Person.id)).first()
    assert row is not None
    session.add(CohortMembership(person_id=row, cohort=Cohort.fixed, stream=STREAM, area=AREA,
                                 adopted_on=uk_today() - timedelta(days=730)))
    session.commit()
    return row


def test_exit_from_the_exit_review(console: SignIn, session: Session) -> None:
    pid = quiet_member(session)
    client = console("admin", purpose=WHY)
    meeting_id, page = open_meeting(client)
    exits = api(client, "/shortlists/exits", area=AREA, stream=STREAM, as_of=AS_OF).json()
    member = next(m for m in exits["members"] if m["person_id"] == pid)
    assert int(fields(page)["exits"]) == len(exits["members"])
    assert f'<label for="exit-reason-{pid}">' in page
    for reason in member["reasons"]:
        assert f"<li>{reason}</li>" in page
    response = client.post(f"/console/meetings/{meeting_id}/decisions", data=carry(
        page, person_id=str(pid), decision="exit", exit_reason="rehabilitated",
        rationale="No offences for a year; partners agree"), follow_redirects=False)
    assert response.status_code == 303, response.text
    closed = session.get(CohortMembership, member["membership_id"])
    assert closed is not None
    session.refresh(closed)
    assert closed.exited_on is not None and closed.exit_reason == "rehabilitated"
    decisions = client.get(f"/meetings/{meeting_id}/decisions",
                           headers=api_headers(client)).json()
    assert decisions[0]["decision"] == "exit"
    assert decisions[0]["membership_id"] == member["membership_id"]
    assert decisions[0]["shortlist_entry"]["list"] == "exits"
    event = session.exec(select(AuditEvent).where(
        AuditEvent.route == "/console/meetings/{meeting_id}/decisions")).one()
    assert event.action == "alteration" and event.person_ids == [pid]


def test_decision_forms_are_checked(console: SignIn, session: Session) -> None:
    client = console("offender_manager", purpose=WHY)
    meeting_id, page = open_meeting(client)
    pid = api(client, "/shortlists/migration", area=AREA, stream=STREAM,
              as_of=AS_OF).json()["candidates"][0]["person_id"]
    good = carry(page, person_id=str(pid), decision="decline", rationale="not now")
    url = f"/console/meetings/{meeting_id}/decisions"
    # No token, a wrong token, a token from another session, another site's Origin.
    assert client.post(url, data={**good, "form_token": ""}).status_code == 403
    assert client.post(url, data={**good, "form_token": "0" * 64}).status_code == 403
    other = console("offender_manager", purpose=WHY)
    other_page = other.get("/console/meeting", params=CHOICE).text
    assert token(other_page) != token(page)
    assert client.post(url, data={**good, "form_token": token(other_page)}).status_code == 403
    assert client.post(url, data=good, headers={"Origin": "https://evil.example"}
                       ).status_code == 403
    assert client.post(url, data=good, headers={"Sec-Fetch-Site": "cross-site"}
                       ).status_code == 403
    assert client.post("/console/meetings", data=carry(page, held_on=AS_OF, form_token="x")
                       ).status_code == 403
    # A rationale is required; adopt needs a cohort; decisions are only adopt/decline/...
    assert client.post(url, data={**good, "rationale": "  "}).status_code == 422
    assert client.post(url, data={**good, "decision": "maybe"}).status_code == 422
    assert client.post(url, data={**good, "decision": "exit"}).status_code == 422
    assert client.post(url, data={**good, "decision": "adopt", "cohort": ""}).status_code == 422
    assert client.get(f"/meetings/{meeting_id}/decisions",
                      headers=api_headers(client)).json() == []
    # The same form from this session's page, with the browser's same-origin headers, works.
    ok = client.post(url, data=good, headers={"Origin": "https://testserver",
                                              "Sec-Fetch-Site": "same-origin"},
                     follow_redirects=False)
    assert ok.status_code == 303, ok.text


def test_analysts_are_refused(console: SignIn, session: Session) -> None:
    admin = console("admin", purpose=WHY)
    meeting_id, page = open_meeting(admin)
    client = console("analyst", purpose=WHY)
    assert 'href="/console/meeting"' not in client.get("/console/report").text
    before = audit_count(session)
    for response in (client.get("/console/meeting"),
                     client.get("/console/meeting", params=CHOICE),
                     client.get("/console/meeting/export",
                                params={**CHOICE, "kind": "migration", "format": "csv"}),
                     client.post("/console/meetings", data=carry(page, held_on=AS_OF)),
                     client.post(f"/console/meetings/{meeting_id}/decisions",
                                 data=carry(page, person_id="1", decision="defer",
                                            rationale="x"))):
        assert response.status_code == 403
        assert "may not see person-level data" in response.text
    assert audit_count(session) == before


def test_other_areas_are_refused(console: SignIn, session: Session) -> None:
    admin = console("admin", purpose=WHY)
    meeting_id, admin_page = open_meeting(admin)  # a BRISTOL meeting
    client = console("offender_manager", areas=["BANES"], purpose=WHY)
    page = client.get("/console/meeting", params={**CHOICE, "area": "BANES"})
    assert page.status_code == 200, page.text
    assert f'value="{AREA}"' not in page.text.split('id="area"')[1].split("</select>")[0]
    assert client.get("/console/meeting", params=CHOICE).status_code == 403
    assert client.get("/console/meeting/export", params={
        **CHOICE, "kind": "migration", "format": "xlsx"}).status_code == 403
    # A meeting in another area does not exist for this key.
    opened = client.get("/console/meeting", params={**CHOICE, "area": "BANES",
                                                    "meeting_id": meeting_id})
    assert opened.status_code == 404
    own = carry(page.text, area="BANES")
    pid = api(admin, "/shortlists/migration", area=AREA, stream=STREAM,
              as_of=AS_OF).json()["candidates"][0]["person_id"]
    decided = client.post(f"/console/meetings/{meeting_id}/decisions",
                          data={**own, "person_id": str(pid), "decision": "defer",
                                "rationale": "x"})
    assert decided.status_code == 404
    created = client.post("/console/meetings", data={**own, "area": AREA, "held_on": AS_OF})
    assert created.status_code == 403
    assert session.exec(select(Meeting).where(Meeting.id > meeting_id)).first() is None
    # A BANES meeting cannot decide on a BRISTOL person either (404, audited).
    banes_id = int(re.search(r"meeting_id=(\d+)", client.post(  # type: ignore[union-attr]
        "/console/meetings", data={**own, "held_on": AS_OF},
        follow_redirects=False).headers["location"]).group(1))
    refused = client.post(f"/console/meetings/{banes_id}/decisions",
                          data={**own, "person_id": str(pid), "decision": "defer",
                                "rationale": "x"})
    assert refused.status_code == 404
    event = session.exec(select(AuditEvent).where(AuditEvent.status == 404)
                         .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and event.person_ids == [pid]
