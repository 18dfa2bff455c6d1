"""Writes that name a person stay inside the key's areas (issue: area leak via memberships).

A key limited to one area must not be able to bring a person from another area onto its
lists (a back-dated membership), nor learn whether a person id exists, through any write.
"""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from scoring.uk_calendar import uk_today
from tests.conftest import KeyMaker
from tests.factories import membership_body, person_body, pnc_id


@pytest.fixture
def people(client: TestClient) -> dict[str, int | str]:
    """One person in BRISTOL, one in SOUTH_GLOS (with a SOUTH_GLOS membership)."""
    bristol = client.post("/persons", json=person_body(home_area="BRISTOL")).json()
    south = client.post("/persons", json=person_body(home_area="SOUTH_GLOS")).json()
    elsewhere = client.post("/cohort/memberships",
                            json=membership_body(south["id"], area="SOUTH_GLOS")).json()
    return {"bristol": bristol["id"], "south": south["id"], "south_pnc": south["pnc_id"],
            "south_membership": elsewhere["id"]}


def test_membership_for_an_out_of_area_person_is_refused_like_an_unknown_one(
        people: dict, bristol_om: TestClient, client: TestClient) -> None:
    backdated = (uk_today() - timedelta(days=800)).isoformat()
    other = bristol_om.post("/cohort/memberships", json=membership_body(
        people["south"], area="BRISTOL", adopted_on=backdated))
    missing = bristol_om.post("/cohort/memberships", json=membership_body(
        99_999_999, area="BRISTOL", adopted_on=backdated))
    assert other.status_code == missing.status_code == 404, (other.text, missing.text)
    assert other.json()["detail"].replace(str(people["south"]), "N") == \
        missing.json()["detail"].replace("99999999", "N")  # existence does not leak
    assert client.get("/cohort/memberships",
                      params={"person_id": people["south"]}).json()["total"] == 1
    exits = bristol_om.get("/shortlists/exits", params={"area": "BRISTOL", "stream": "nsac",
                                                       "format": "csv"})
    assert exits.status_code == 200
    assert people["south_pnc"] not in exits.text
    refused = client.get("/admin/audit", params={"person_id": people["south"]}).json()["items"]
    assert any(e["status"] == 404 and "outside" in e["detail"] for e in refused)


def test_membership_of_an_out_of_area_person_cannot_be_updated(
        people: dict, bristol_om: TestClient, client: TestClient) -> None:
    # A BRISTOL membership of a SOUTH_GLOS person (recorded by an all-areas key) is not the
    # BRISTOL key's to change: it cannot see the person.
    made = client.post("/cohort/memberships", json=membership_body(
        people["south"], stream="domestic_abuse", cohort="free", area="BRISTOL")).json()
    resp = bristol_om.patch(f"/cohort/memberships/{made['id']}",
                            json={"exited_on": uk_today().isoformat(),
                                  "exit_reason": "other"},
                            headers={"If-Match": '"1"'})
    assert resp.status_code == 404, resp.text
    assert client.get(f"/cohort/memberships/{made['id']}").json()["exited_on"] is None


def test_area_limited_imports_cannot_write_other_areas(people: dict, client: TestClient,
                                                       anon_client: TestClient,
                                                       make_key: KeyMaker) -> None:
    headers = {"Authorization": f"Bearer {make_key('integration', areas=['BRISTOL'])}",
               "Content-Type": "application/x-ndjson"}
    offence = {"pnc_id": people["south_pnc"], "offence_date": "2024-01-01",
               "offence_type": "other", "source": "niche", "source_ref": "AREA-1"}
    resp = anon_client.post("/imports/offences", content=json.dumps(offence) + "\n",
                            headers=headers)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["type"] == "unknown_person"  # as if it did not exist
    moved = {"pnc_id": people["south_pnc"], "date_of_birth": "1990-04-01",
             "home_area": "BRISTOL"}
    new_elsewhere = {"pnc_id": pnc_id(), "date_of_birth": "1990-04-01", "home_area": "BANES"}
    resp = anon_client.post("/imports/persons", headers=headers,
                            content="".join(json.dumps(r) + "\n" for r in (moved, new_elsewhere)))
    assert resp.status_code == 422, resp.text
    assert [(e["loc"][1], e["loc"][2]) for e in resp.json()["errors"]] == \
        [(1, "pnc_id"), (2, "home_area")]
    assert client.get(f"/persons/{people['south']}").json()["home_area"] == "SOUTH_GLOS"
    assert client.get(f"/persons/{people['south']}/offences").json()["total"] == 0
    # Both refusals are in the audit trail under the person refused, as for single records.
    audit = client.get("/admin/audit", params={"person_id": people["south"]}).json()["items"]
    refusals = [e["detail"] for e in audit if e["status"] == 422]
    assert sorted(refusals) == ["offences import refused: outside the key's areas",
                                "persons import refused: outside the key's areas"]


def test_area_limited_record_imports_refuse_other_areas(people: dict, client: TestClient,
                                                        anon_client: TestClient,
                                                        make_key: KeyMaker) -> None:
    headers = {"Authorization": f"Bearer {make_key('integration', areas=['BRISTOL'])}",
               "Content-Type": "application/x-ndjson"}
    bristol_pnc = client.get(f"/persons/{people['bristol']}").json()["pnc_id"]
    south, ref = people["south_pnc"], {"source": "niche"}

    def send(kind: str, *rows: dict) -> dict:
        resp = anon_client.post(f"/imports/{kind}", headers=headers,
                                content="".join(json.dumps(r) + "\n" for r in rows))
        assert resp.status_code in (200, 422), resp.text
        return resp.json()

    custody = send("custody", {"pnc_id": south, "start_on": "2024-01-01", "source_ref": "A1",
                               **ref})
    assert [(e["loc"][1], e["type"]) for e in custody["errors"]] == [(1, "unknown_person")]
    member = {"pnc_id": bristol_pnc, "cohort": "fixed", "stream": "nsac",
              "adopted_on": "2024-01-01", **ref}
    memberships = send("memberships", dict(member, area="SOUTH_GLOS", source_ref="A2"),
                       dict(member, pnc_id=south, area="BRISTOL", source_ref="A3"))
    assert [(e["loc"][1:], e["type"]) for e in memberships["errors"]] == [
        ([1, "area"], "forbidden_area"), ([2, "pnc_id"], "unknown_person")]
    wanted = {"referring_agency": "police", "requested_stream": "nsac", "reason": "test",
              "referred_on": "2024-01-01", **ref}
    referrals = send("referrals", dict(wanted, pnc_id=bristol_pnc, area="BANES",
                                       source_ref="A4"),
                     dict(wanted, pnc_id=south, source_ref="A5"))
    assert [(e["loc"][1:], e["type"]) for e in referrals["errors"]] == [
        ([1, "area"], "forbidden_area"), ([2, "pnc_id"], "unknown_person")]
    # Within its areas the key imports; the default area is the person's (BRISTOL).
    made = send("referrals", dict(wanted, pnc_id=bristol_pnc, source_ref="A6"))
    assert made["inserted"] == 1
    assert client.get(f"/persons/{people['south']}/custody").json()["total"] == 0
    # A stored record in another area is not the key's to change, even for its own person.
    client.post("/imports/memberships", headers={"Content-Type": "application/x-ndjson"},
                content=json.dumps(dict(member, area="SOUTH_GLOS", source_ref="A7")) + "\n")
    moved = send("memberships", dict(member, area="BRISTOL", source_ref="A7"))
    assert [(e["loc"][1:], e["type"]) for e in moved["errors"]] == [
        ([1, "area"], "forbidden_area")]
    audit = client.get("/admin/audit", params={"person_id": people["south"]}).json()["items"]
    refusals = sorted(e["detail"] for e in audit if e["status"] == 422)
    assert refusals == ["custody import refused: outside the key's areas",
                        "memberships import refused: outside the key's areas",
                        "referrals import refused: outside the key's areas"]
