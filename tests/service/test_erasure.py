"""Erasing a person (DPA 2018 Part 3 s.47): everything about them goes, their decisions stay
without them, and an old extract sent again does not bring them back."""

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from models import AuditAction, AuditEvent, Change, Decision, ScoreRun, ScoreSnapshot
from service.frames import table_of
from tests.factories import membership_body, offence_body, person_body, pnc_id

GIVEN, FAMILY, BORN = "Zebedee", "Quartermaine", "1971-11-23"
ERASE = {"reason": "retention_review"}


def _registered(client: TestClient, session: Session) -> dict[str, Any]:
    """A person with something in every table that can hold data about them."""
    pnc = pnc_id()
    person = client.post("/persons", json=person_body(
        pnc_id=pnc, given_name=GIVEN, family_name=FAMILY, date_of_birth=BORN,
        home_area="BANES")).json()
    pid = person["id"]
    assert client.patch(f"/persons/{pid}", json={"home_area": "BRISTOL", "moved_on": "2020-01-01"},
                        headers={"If-Match": '"1"'}).status_code == 200
    for n, day in enumerate(("2024-01-10", "2024-02-01", "2024-03-01")):
        assert client.post(f"/persons/{pid}/offences", json=offence_body(
            offence_date=day, source="niche", source_ref=f"ERASE-{pnc}-{n}")).status_code == 201
    assert client.post(f"/persons/{pid}/custody", json={
        "start_on": "2022-01-01", "end_on": "2022-06-01"}).status_code == 201
    assert client.post("/referrals", json={
        "person_id": pid, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": f"{GIVEN} is prolific", "referred_on": "2024-05-01"}).status_code == 201
    meeting = client.post("/meetings", json={"area": "BRISTOL", "held_on": "2024-07-05",
                                             "agencies": ["police"]}).json()
    decision = client.post(f"/meetings/{meeting['id']}/decisions", json={
        "person_id": pid, "decision": "adopt", "cohort": "fixed", "stream": "nsac",
        "rationale": f"{GIVEN} {FAMILY}: three burglaries", "shortlist_as_of": "2024-06-30"})
    assert decision.status_code == 201, decision.text
    assert decision.json()["shortlist_entry"]["pnc_id"] == pnc
    assert client.post("/cohort/memberships", json=membership_body(
        pid, stream="high_harm", cohort="free", adopted_on="2023-01-01")).status_code == 201
    run = ScoreRun(as_of=date(2024, 6, 30), area="BRISTOL")
    session.add(run)
    session.flush()
    session.add(ScoreSnapshot(
        run_id=run.id or 0, person_id=pid, recency=1, frequency=1, gravity=1, victims=0,
        rfg=10, rfg_acquisitive=10, rfg_domestic_abuse=0, threat=1, harm=2, risk=3,
        escalating=False, threat_source="fallback", band="low", offences_to_date=3))
    session.commit()
    return {"id": pid, "pnc": pnc, "meeting": meeting["id"],
            "decision": decision.json()["id"]}


def _cells(session: Session) -> list[tuple[str, str]]:
    """(table, cell as text) for every cell of every table."""
    cells = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(table.select()).all():
            cells += [(table.name, str(v)) for v in row]
    return cells


def test_erasure_leaves_nothing_about_the_person(client: TestClient, session: Session) -> None:
    who = _registered(client, session)
    assert any(who["pnc"] in cell for _, cell in _cells(session))
    resp = client.delete(f"/persons/{who['id']}", params=ERASE)
    assert resp.status_code == 204, resp.text
    for table, cell in _cells(session):
        for value in (who["pnc"], GIVEN, FAMILY, BORN, date.fromisoformat(BORN).isoformat()):
            assert value not in cell, f"{table} still holds the erased person's {value!r}"
    for table in SQLModel.metadata.sorted_tables:
        if "person_id" in table.c and table.name != "changes":
            left = session.execute(table.select().where(table.c.person_id == who["id"])).all()
            assert left == [], f"{table.name} still has rows for the erased person"
    # The change feed keeps its entries about them: ids and what happened, never content
    # (checked above with every other cell), the last one the erasure itself.
    feed = table_of(Change)
    ops = session.execute(select(feed.c.entity, feed.c.op).where(
        feed.c.person_id == who["id"]).order_by(feed.c.seq)).all()
    assert ops[-1] == ("person", "erase")
    assert set(feed.c.keys()) == {"seq", "xid", "at", "entity", "entity_id", "person_id", "op",
                                  "version"}
    assert client.get(f"/persons/{who['id']}").status_code == 404
    assert client.delete(f"/persons/{who['id']}", params=ERASE).status_code == 404


def test_the_decision_stays_without_the_person(client: TestClient, session: Session) -> None:
    who = _registered(client, session)
    assert client.delete(f"/persons/{who['id']}", params=ERASE).status_code == 204
    decision = session.get(Decision, who["decision"], populate_existing=True)
    assert decision is not None
    assert decision.person_id is None and decision.shortlist_entry is None
    assert decision.membership_id is None
    assert decision.rationale == "erased"
    assert (decision.decision, decision.stream, decision.cohort) == ("adopt", "nsac", "fixed")
    listed = client.get(f"/meetings/{who['meeting']}/decisions").json()
    assert [(d["id"], d["person_id"], d["held_on"]) for d in listed] == [
        (who["decision"], None, "2024-07-05")]


def test_the_erasure_is_audited_with_reason_and_justification(client: TestClient,
                                                              session: Session) -> None:
    who = _registered(client, session)
    started = datetime.now(UTC)
    client.delete(f"/persons/{who['id']}", params={"reason": "court_order"},
                  headers={"X-Justification": "order of 1 Dec 2026"})
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.erasure, AuditEvent.at >= started)).all()
    assert [(e.person_ids, e.detail, e.justification, e.status) for e in events] == [
        ([who["id"]], f"person {who['id']} deleted (court_order)", "order of 1 Dec 2026", 204)]


def _csv(client: TestClient, kind: str, body: str, **params: Any) -> Any:
    return client.post(f"/imports/{kind}", content=body, params=params,
                       headers={"Content-Type": "text/csv"})


def test_an_old_extract_does_not_bring_an_erased_person_back(client: TestClient,
                                                            session: Session) -> None:
    who = _registered(client, session)
    newcomer = pnc_id()
    people = ("pnc_id,given_name,family_name,date_of_birth,home_area\n"
              f"{who['pnc']},{GIVEN},{FAMILY},{BORN},BRISTOL\n"
              f"{newcomer},New,Person,1990-01-01,BRISTOL\n")
    offences = "pnc_id,offence_date,offence_type,source,source_ref\n" + "".join(
        f"{who['pnc']},2024-0{n + 1}-10,burglary_residential,niche,ERASE-{who['pnc']}-{n}\n"
        for n in range(3))
    assert client.delete(f"/persons/{who['id']}", params=ERASE).status_code == 204

    resent = _csv(client, "persons", people)
    assert resent.status_code == 200, resent.text
    assert resent.json() == {"inserted": 1, "updated": 0, "unchanged": 0, "skipped_erased": 1,
                             "rows": 2}
    # The erased person's offences are skipped, not an error that fails the whole file.
    again = _csv(client, "offences", offences)
    assert again.status_code == 200, again.text
    assert again.json()["skipped_erased"] == 3 and again.json()["inserted"] == 0
    assert client.get("/persons", params={"pnc_id": who["pnc"]}).json()["total"] == 0

    back = _csv(client, "persons", people, restore_erased="true")
    assert back.json()["inserted"] == 1 and back.json()["skipped_erased"] == 0
    assert client.get("/persons", params={"pnc_id": who["pnc"]}).json()["total"] == 1
    assert _csv(client, "offences", offences, restore_erased="true").json()["inserted"] == 3
    # Brought back, they are ordinary records again: re-sending is simply unchanged.
    assert _csv(client, "offences", offences).json()["unchanged"] == 3


def test_a_deleted_offence_is_not_reimported(client: TestClient, session: Session) -> None:
    pid = client.post("/persons", json=person_body()).json()["id"]
    pnc = client.get(f"/persons/{pid}").json()["pnc_id"]
    extract = ("pnc_id,offence_date,offence_type,source,source_ref\n"
               f"{pnc},2024-01-10,shoplifting,niche,DEL-{pnc}-1\n"
               f"{pnc},2024-02-10,shoplifting,niche,DEL-{pnc}-2\n")
    assert _csv(client, "offences", extract).json()["inserted"] == 2
    first = client.get(f"/persons/{pid}/offences").json()["items"][0]
    url = f"/persons/{pid}/offences/{first['id']}"
    assert client.delete(url, params={"reason": "recorded_in_error"}).status_code == 204
    resent = _csv(client, "offences", extract).json()
    assert (resent["unchanged"], resent["skipped_erased"], resent["inserted"]) == (1, 1, 0)
    assert client.get(f"/persons/{pid}/offences").json()["total"] == 1
    # Only a hash is kept: neither the reference nor the PNC ID is stored.
    stored = session.execute(text("SELECT kind, key_hash FROM erased_records")).all()
    assert stored and all(pnc not in row.key_hash and len(row.key_hash) == 64 for row in stored)
