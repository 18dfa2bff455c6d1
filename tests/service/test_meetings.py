"""Referrals, meetings and decisions: adopt/exit write the register in one transaction."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import KeyMaker
from tests.service.test_shortlists import AS_OF, offender, shortlist


def meeting(client: TestClient, held_on: str = "2024-07-05", area: str = "BRISTOL") -> int:
    resp = client.post("/meetings", json={"area": area, "held_on": held_on,
                                          "agencies": ["police", "probation", "health"]})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def decide(client: TestClient, meeting_id: int, person_id: int, decision: str,
           **extra: Any) -> Any:
    body = {"person_id": person_id, "decision": decision, "stream": "nsac",
            "rationale": "agreed by the partnership", **extra}
    return client.post(f"/meetings/{meeting_id}/decisions", json=body)


def test_adopt_creates_the_membership_and_stores_what_the_meeting_saw(
        client: TestClient) -> None:
    pid = offender(client, ["2024-05-01", "2024-06-01"])
    mid = meeting(client)
    resp = decide(client, mid, pid, "adopt", cohort="fixed", shortlist_as_of=AS_OF)
    assert resp.status_code == 201, resp.text
    decision = resp.json()
    assert decision["held_on"] == "2024-07-05" and decision["membership_id"]
    entry = decision["shortlist_entry"]
    assert entry["list"] == "candidates" and entry["rank"] == 1 and entry["as_of"] == AS_OF
    assert entry["risk"] > 0 and entry["reasons"] and entry["versions"]["shortlist"]
    members = client.get("/cohort/memberships", params={"person_id": pid}).json()["items"]
    assert [(m["stream"], m["adopted_on"], m["area"]) for m in members] == [
        ("nsac", "2024-07-05", "BRISTOL")]
    # Adopting again is a conflict, and nothing is written.
    again = decide(client, meeting(client, "2024-08-02"), pid, "adopt", cohort="fixed")
    assert again.status_code == 409
    assert len(client.get(f"/persons/{pid}/decisions").json()) == 1
    assert len(client.get("/cohort/memberships", params={"person_id": pid}).json()["items"]) == 1
    # Once adopted, the person is excluded from later shortlists as an active member.
    later = shortlist(client, as_of="2024-07-31")
    assert pid in {e["person_id"] for e in later["excluded"]}


def test_the_stored_entry_is_the_persons_row_on_the_whole_list(client: TestClient) -> None:
    """Decisions explain and name only the person decided on; what they store must still
    be exactly the row the meeting's (unlimited) list shows, lower down the list too."""
    people = [offender(client, [f"2024-0{m}-01" for m in range(1, n + 2)]) for n in range(4)]
    listed = {row["person_id"]: row for row in shortlist(client, limit=500)["candidates"]}
    mid = meeting(client)
    for pid in people[:2]:
        resp = decide(client, mid, pid, "defer", shortlist_as_of=AS_OF)
        assert resp.status_code == 201, resp.text
        entry = resp.json()["shortlist_entry"]
        assert entry["list"] == "candidates"
        shown = listed[pid]
        assert {k: entry[k] for k in shown} == shown
        assert any(r.startswith("score factor: ") for r in entry["reasons"])


def test_exit_closes_the_membership(client: TestClient) -> None:
    pid = offender(client, ["2022-01-01"])
    created = client.post("/cohort/memberships", json={
        "person_id": pid, "cohort": "fixed", "stream": "nsac", "area": "BRISTOL",
        "adopted_on": "2022-06-01"})
    assert created.status_code == 201
    mid = meeting(client)
    missing_reason = decide(client, mid, pid, "exit")
    assert missing_reason.status_code == 422
    resp = decide(client, mid, pid, "exit", exit_reason="rehabilitated")
    assert resp.status_code == 201, resp.text
    assert resp.json()["shortlist_entry"]["list"] == "exits"
    membership = client.get(f"/cohort/memberships/{created.json()['id']}").json()
    assert membership["exited_on"] == "2024-07-05" and membership["exit_reason"] == "rehabilitated"
    assert decide(client, meeting(client, "2024-08-02"), pid, "exit",
                  exit_reason="other").status_code == 409


def test_decided_referrals_leave_the_open_list(client: TestClient) -> None:
    declined = offender(client, [])
    deferred = offender(client, [])
    for pid in (declined, deferred):
        assert client.post("/referrals", json={
            "person_id": pid, "referring_agency": "mental health", "requested_stream": "nsac",
            "reason": "escalating concern", "referred_on": "2024-06-01"}).status_code == 201
    mid = meeting(client)
    assert decide(client, mid, declined, "decline").json()["referral_id"]
    assert decide(client, mid, deferred, "defer").json()["referral_id"] is None
    still_open = client.get("/referrals", params={"area": "BRISTOL", "status": "open"}).json()
    assert [r["person_id"] for r in still_open["items"]] == [deferred]
    decided = client.get("/referrals", params={"status": "decided"}).json()["items"]
    assert decided[0]["person_id"] == declined and decided[0]["closed_on"] == "2024-07-05"
    # The shortlist for a date after the meeting no longer carries the declined referral;
    # one for a date before it still does (reproducible).
    assert declined not in [c["person_id"] for c in shortlist(client, as_of="2024-07-10")[
        "candidates"]]
    assert declined in [c["person_id"] for c in shortlist(client)["candidates"]]
    listed = client.get(f"/meetings/{mid}/decisions").json()
    assert [d["decision"] for d in listed] == ["decline", "defer"]
    assert client.get(f"/meetings/{mid}").json()["agencies"] == ["police", "probation", "health"]


def test_an_adoption_needs_a_cohort_and_a_decision_a_meeting(client: TestClient) -> None:
    # Who may read and write meetings and decisions: tests/service/test_access_table.py.
    pid = offender(client, ["2024-05-01"])
    mid = meeting(client)
    body = {"person_id": pid, "decision": "adopt", "stream": "nsac", "rationale": "x"}
    assert client.post(f"/meetings/{mid}/decisions", json=body).status_code == 422  # no cohort
    assert client.post("/meetings/999999/decisions",
                       json={**body, "cohort": "fixed"}).status_code == 404


def test_a_meetings_decisions_show_only_people_the_key_may_see(
        client: TestClient, anon_client: TestClient, make_key: KeyMaker) -> None:
    # A BRISTOL meeting decides on a SOUTH_GLOS person (referred across areas): a
    # BRISTOL-only key, which gets 404 for that person, must not read them here either.
    local = offender(client, ["2024-05-01"])
    elsewhere = offender(client, ["2024-05-01"], area="SOUTH_GLOS")
    mid = meeting(client)
    for pid in (local, elsewhere):
        assert decide(client, mid, pid, "defer").status_code == 201
    bristol = {"X-API-Key": make_key("offender_manager", areas=["BRISTOL"]),
               "X-Justification": "meeting review"}
    assert anon_client.get(f"/persons/{elsewhere}", headers=bristol).status_code == 404
    seen = anon_client.get(f"/meetings/{mid}/decisions", headers=bristol).json()
    assert [d["person_id"] for d in seen] == [local]
    every = client.get(f"/meetings/{mid}/decisions").json()
    assert [d["person_id"] for d in every] == [local, elsewhere]
