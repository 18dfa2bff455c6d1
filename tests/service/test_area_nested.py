"""No person across area lines through a route nested under another resource (issue 13).

A BRISTOL-only key answers 404 for a SOUTH_GLOS person; each test here reaches that
person another way (a meeting, a membership or referral recorded in BRISTOL, a shortlist,
a score run) and checks the rows are left out, and counted where a listing spans areas.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.main import app
from tests.conftest import KeyMaker
from tests.console.conftest import state_purpose
from tests.factories import membership_body, person_body
from tests.service.test_meetings import decide, meeting
from tests.service.test_scores import inline_runs  # noqa: F401  (a fixture)
from tests.service.test_shortlists import AS_OF, offender


@pytest.fixture
def people(client: TestClient) -> dict[str, int]:
    return {"local": offender(client, ["2024-05-01"]),
            "elsewhere": offender(client, ["2024-05-01", "2024-06-01"], area="SOUTH_GLOS")}


def _refer(client: TestClient, person_id: int, area: str = "BRISTOL") -> Any:
    resp = client.post("/referrals", json={
        "person_id": person_id, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "professional judgement", "referred_on": "2024-06-01", "area": area})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_meetings_decisions_count_what_they_withhold(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    mid = meeting(client)
    for pid in people.values():
        assert decide(client, mid, pid, "defer").status_code == 201
    seen = bristol_om.get(f"/meetings/{mid}/decisions")
    assert [d["person_id"] for d in seen.json()] == [people["local"]]
    assert seen.headers["X-Withheld-Count"] == "1"
    every = client.get(f"/meetings/{mid}/decisions")
    assert len(every.json()) == 2 and every.headers["X-Withheld-Count"] == "0"
    # A meeting of another area is not partly shown: it does not exist for the key.
    assert bristol_om.get(f"/meetings/{meeting(client, area='SOUTH_GLOS')}/decisions"
                       ).status_code == 404


def test_a_persons_decisions_leave_out_meetings_of_other_areas(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    local = people["local"]
    assert decide(client, meeting(client), local, "defer").status_code == 201
    assert decide(client, meeting(client, area="SOUTH_GLOS"), local, "defer").status_code == 201
    assert [d["area"] for d in client.get(f"/persons/{local}/decisions").json()] == [
        "BRISTOL", "SOUTH_GLOS"]
    assert [d["area"] for d in bristol_om.get(f"/persons/{local}/decisions").json()] == [
        "BRISTOL"]


def test_a_membership_in_the_area_of_a_person_living_elsewhere_is_hidden(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    made = client.post("/cohort/memberships",
                       json=membership_body(people["elsewhere"], area="BRISTOL")).json()
    assert bristol_om.get(f"/cohort/memberships/{made['id']}").status_code == 404
    listed = bristol_om.get("/cohort/memberships").json()
    assert people["elsewhere"] not in {m["person_id"] for m in listed["items"]}
    assert listed["total"] == 0
    assert client.get(f"/cohort/memberships/{made['id']}").status_code == 200


def test_a_referral_into_the_area_of_a_person_living_elsewhere_is_hidden(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    referral = _refer(client, people["elsewhere"])
    assert bristol_om.get(f"/referrals/{referral['id']}").status_code == 404
    listed = bristol_om.get("/referrals", params={"area": "BRISTOL"}).json()
    assert listed["items"] == [] and listed["total"] == 0
    assert client.get("/referrals", params={"area": "BRISTOL"}).json()["total"] == 1


def _listed(body: dict[str, Any]) -> set[int]:
    return {r["person_id"] for rows in ("candidates", "excluded") for r in body[rows]}


@pytest.mark.parametrize("other_areas", [False, True])
@pytest.mark.parametrize("route", ["/shortlists/migration", "/shortlists/migration.csv"])
def test_a_shortlist_withholds_people_referred_in_from_elsewhere(
        people: dict[str, int], client: TestClient, bristol_om: TestClient,
        route: str, other_areas: bool) -> None:
    # Listed as a candidate with include_other_areas, as excluded (other_area) without.
    _refer(client, people["elsewhere"])
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF,
              "include_other_areas": other_areas}
    full = client.get("/shortlists/migration", params=params).json()
    assert people["elsewhere"] in _listed(full)
    assert full["withheld"] == 0
    pnc = client.get(f"/persons/{people['elsewhere']}").json()["pnc_id"]
    resp = bristol_om.get(route, params=params)
    assert resp.status_code == 200, resp.text
    assert pnc not in resp.text
    if route.endswith(".csv"):
        assert "Withheld: 1 rows" in resp.text.replace('","', ": ").replace('"', "")
    else:
        body = resp.json()
        assert _listed(body) == {people["local"]} and body["withheld"] == 1


def test_an_exit_review_withholds_members_who_moved_away(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    gone = offender(client, [])
    assert client.post("/cohort/memberships", json=membership_body(
        gone, adopted_on="2020-01-15")).status_code == 201
    person = client.get(f"/persons/{gone}")
    assert client.patch(f"/persons/{gone}", json={"home_area": "SOUTH_GLOS"},
                        headers={"If-Match": person.headers["ETag"]}).status_code == 200
    params = {"area": "BRISTOL", "stream": "nsac", "as_of": AS_OF}
    assert gone in {m["person_id"] for m in
                    client.get("/shortlists/exits", params=params).json()["members"]}
    body = bristol_om.get("/shortlists/exits", params=params).json()
    assert gone not in {m["person_id"] for m in body["members"]} and body["withheld"] == 1


@pytest.mark.usefixtures("inline_runs")
def test_scores_and_score_runs_keep_to_the_keys_areas(
        client: TestClient, anon_client: TestClient, make_key: KeyMaker) -> None:
    runner = {"X-API-Key": make_key("integration", areas=["BRISTOL"]),
              "X-Justification": "nightly"}
    for area in ("SOUTH_GLOS", None):
        resp = anon_client.post("/scores/runs", json={"as_of": AS_OF, "area": area},
                                headers=runner)
        assert resp.status_code == 403, resp.text
        assert resp.json()["errors"][0]["loc"] == ["body", "area"]
    assert anon_client.get("/scores", params={"area": "SOUTH_GLOS"},
                           headers=runner).status_code == 403
    run = client.post("/scores/runs", json={"as_of": AS_OF, "area": "SOUTH_GLOS"}).json()
    assert anon_client.get(f"/scores/runs/{run['id']}", headers=runner).status_code == 404
    assert client.get(f"/scores/runs/{run['id']}").status_code == 200


def test_an_area_limited_admin_cannot_manage_keys_or_read_the_audit_trail(
        anon_client: TestClient, make_key: KeyMaker) -> None:
    admin = {"X-API-Key": make_key("admin", areas=["BRISTOL"]), "X-Justification": "review"}
    # Otherwise a BRISTOL-only admin could issue itself a key for every area.
    assert anon_client.post("/admin/keys", json={"name": "all", "role": "admin"},
                            headers=admin).status_code == 403
    assert anon_client.get("/admin/keys", headers=admin).status_code == 403
    assert anon_client.get("/admin/audit", headers=admin).status_code == 403
    assert anon_client.get("/admin/retention", headers=admin).status_code == 200


def test_a_pnc_id_already_on_file_elsewhere_is_a_conflict_without_the_persons_id(
        people: dict[str, int], client: TestClient, bristol_om: TestClient) -> None:
    pnc = client.get(f"/persons/{people['elsewhere']}").json()["pnc_id"]
    again = person_body(pnc_id=pnc, home_area="BRISTOL")
    # PNC IDs are unique in the register, so the clash itself cannot be hidden; whose it is can.
    hidden = bristol_om.post("/persons", json=again)
    assert hidden.status_code == 409 and str(people["elsewhere"]) not in hidden.json()["detail"]
    named = client.post("/persons", json=again)
    assert named.status_code == 409 and f"id {people['elsewhere']}" in named.json()["detail"]


def test_the_console_meeting_page_says_what_it_withholds(
        people: dict[str, int], client: TestClient,
        make_key: KeyMaker) -> None:
    _refer(client, people["elsewhere"])
    mid = meeting(client)
    for pid in people.values():
        assert decide(client, mid, pid, "defer").status_code == 201
    pnc = client.get(f"/persons/{people['elsewhere']}").json()["pnc_id"]
    console = TestClient(app, base_url="https://testserver")  # the cookie is Secure
    signed_in = console.post("/console/sign-in", follow_redirects=False, data={
        "api_key": make_key("offender_manager", areas=["BRISTOL"])})
    assert signed_in.status_code == 303, signed_in.text
    state_purpose(console, "meeting")
    page = console.get("/console/meeting", params={
        "area": "BRISTOL", "stream": "nsac", "as_of": AS_OF, "meeting_id": mid})
    assert page.status_code == 200, page.text
    assert pnc not in page.text and f">{people['elsewhere']}<" not in page.text
    assert 'data-field="listing-withheld">1<' in page.text
    assert 'data-field="decisions-withheld">1<' in page.text
