"""Cohort memberships: streams, overlap conflicts, exit rules, ETags and stale writes."""

from fastapi.testclient import TestClient

from tests.factories import membership_body, person_body

URL = "/cohort/memberships"


def new_person(client: TestClient) -> int:
    return client.post("/persons", json=person_body()).json()["id"]


def adopt(client: TestClient, pid: int, **overrides: object) -> dict:
    resp = client.post(URL, json=membership_body(pid, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_one_person_in_several_streams_at_once(client: TestClient) -> None:
    pid = new_person(client)
    adopt(client, pid, stream="nsac")
    adopt(client, pid, cohort="free", stream="high_harm")
    adopt(client, pid, cohort="free", stream="domestic_abuse")
    page = client.get(URL, params={"person_id": pid, "active": True}).json()
    assert page["total"] == 3


def test_overlapping_same_stream_is_409_but_consecutive_is_fine(client: TestClient) -> None:
    pid = new_person(client)
    first = adopt(client, pid, adopted_on="2021-01-01", exited_on="2021-12-31",
                  exit_reason="rehabilitated")
    clash = client.post(URL, json=membership_body(pid, adopted_on="2021-06-01"))
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    # half-open windows: re-adoption on the exit day does not overlap
    second = adopt(client, pid, adopted_on="2021-12-31")
    assert second["id"] != first["id"]
    # an open membership blocks any later one in the stream
    assert client.post(URL, json=membership_body(pid, adopted_on="2023-01-01")).status_code == 409


def test_exit_rules_are_422(client: TestClient) -> None:
    pid = new_person(client)
    bad = [
        membership_body(pid, adopted_on="2022-05-01", exited_on="2022-04-01",
                        exit_reason="other"),
        membership_body(pid, exited_on="2023-05-01"),
        membership_body(pid, exit_reason="rehabilitated"),
        membership_body(pid, cohort="sideways"),
        membership_body(pid, stream="unknown_stream"),
        membership_body(pid, area="NOWHERE"),
    ]
    for body in bad:
        resp = client.post(URL, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["errors"], body
    # An unknown person is a 404, as a person outside the key's areas is (referrals too).
    assert client.post(URL, json=membership_body(987654)).status_code == 404


def test_exit_by_patch_with_if_match(client: TestClient) -> None:
    pid = new_person(client)
    m = adopt(client, pid, adopted_on="2022-01-10")
    url = f"{URL}/{m['id']}"
    etag = client.get(url).headers["etag"]
    no_reason = client.patch(url, json={"exited_on": "2023-01-10"}, headers={"If-Match": etag})
    assert no_reason.status_code == 422
    before_adoption = client.patch(url, json={"exited_on": "2021-01-10", "exit_reason": "other"},
                                   headers={"If-Match": etag})
    assert before_adoption.status_code == 422
    ok = client.patch(url, json={"exited_on": "2023-01-10", "exit_reason": "custody_over_2_years",
                                 "rag": "red"}, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert ok.headers["etag"] == '"2"'
    stale = client.patch(url, json={"rag": "green"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url).json()["rag"] == "red"
    assert client.patch(url, json={"rag": "green"}).status_code == 428
    assert client.get(URL, params={"person_id": pid, "active": False}).json()["total"] == 1


def test_patch_cannot_create_an_overlap(client: TestClient) -> None:
    pid = new_person(client)
    old = adopt(client, pid, adopted_on="2020-01-01", exited_on="2020-12-31",
                exit_reason="rehabilitated")
    adopt(client, pid, adopted_on="2021-06-01")
    url = f"{URL}/{old['id']}"
    resp = client.patch(url, json={"exited_on": "2021-07-01"}, headers={"If-Match": '"1"'})
    assert resp.status_code == 409


def test_filters_and_404(client: TestClient) -> None:
    pid = new_person(client)
    adopt(client, pid, area="BANES", stream="nsac")
    adopt(client, pid, area="BANES", cohort="free", stream="high_harm")
    banes = client.get(URL, params={"area": "BANES", "cohort": "free"}).json()
    assert banes["total"] == 1 and banes["items"][0]["stream"] == "high_harm"
    assert client.get(URL, params={"cohort": "nope"}).status_code == 422
    assert client.get(f"{URL}/999999").status_code == 404
