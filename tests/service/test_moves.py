"""A move of area has a date: lists as of an earlier day use the area of that day, and the
earlier area is kept with its dates."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from models import Offence
from tests.conftest import KeyMaker
from tests.factories import offence_body, person_body


def _burglar(client: TestClient, area: str = "BRISTOL") -> int:
    pid = int(client.post("/persons", json=person_body(home_area=area)).json()["id"])
    for day in ("2024-01-10", "2024-02-01", "2024-03-01"):
        assert client.post(f"/persons/{pid}/offences",
                           json=offence_body(offence_date=day)).status_code == 201
    return pid


def _move(client: TestClient, pid: int, area: str, moved_on: str | None = None) -> Any:
    version = client.get(f"/persons/{pid}").json()["version"]
    body: dict[str, Any] = {"home_area": area}
    if moved_on:
        body["moved_on"] = moved_on
    return client.patch(f"/persons/{pid}", json=body, headers={"If-Match": f'"{version}"'})


def _listed(client: TestClient, pid: int, area: str, as_of: str, **params: Any) -> bool:
    body = client.get("/shortlists/migration", params={
        "area": area, "stream": "nsac", "as_of": as_of, **params}).json()
    return pid in [c["person_id"] for c in body["candidates"]]


def test_a_move_changes_the_list_from_its_date(client: TestClient) -> None:
    pid = _burglar(client)
    assert _listed(client, pid, "BRISTOL", "2024-06-30")
    moved = _move(client, pid, "BANES", "2024-05-01")
    assert moved.status_code == 200, moved.text
    assert moved.json()["home_area"] == "BANES"
    assert client.get(f"/persons/{pid}/areas").json() == [
        {"area": "BRISTOL", "from_on": None, "to_on": "2024-05-01"},
        {"area": "BANES", "from_on": "2024-05-01", "to_on": None}]
    # Before the move: Bristol's list. From the move: Banes'.
    assert _listed(client, pid, "BRISTOL", "2024-04-30")
    assert not _listed(client, pid, "BANES", "2024-04-30")
    assert not _listed(client, pid, "BRISTOL", "2024-06-30")
    assert _listed(client, pid, "BANES", "2024-06-30")
    def eligible(area: str, as_of: str) -> int:
        return int(client.get("/shortlists/migration/counts", params={
            "area": area, "stream": "nsac", "as_of": as_of}).json()["eligible"])

    # Counts follow the same area of the day.
    assert eligible("BANES", "2024-06-30") == eligible("BANES", "2024-04-30") + 1


def test_as_recorded_ignores_a_move_recorded_later(client: TestClient,
                                                  session: Session) -> None:
    pid = _burglar(client)
    # The offences were known by 30 June 2024; the move is recorded today.
    session.execute(update(Offence).where(col(Offence.person_id) == pid)
                    .values(recorded_at=datetime(2024, 6, 1, tzinfo=UTC)))
    assert _move(client, pid, "BANES", "2024-05-01").status_code == 200
    # Recorded today, after 30 June 2024: as recorded then, they still lived in Bristol.
    assert _listed(client, pid, "BRISTOL", "2024-06-30", knowledge="as_recorded")
    assert not _listed(client, pid, "BANES", "2024-06-30", knowledge="as_recorded")


def test_moves_keep_their_order_and_dates(client: TestClient) -> None:
    pid = _burglar(client)
    assert _move(client, pid, "BANES", "2024-05-01").status_code == 200
    assert _move(client, pid, "SOUTH_GLOS", "2024-04-01").status_code == 422  # before the last
    assert _move(client, pid, "SOUTH_GLOS", "1980-01-01").status_code == 422
    assert _move(client, pid, "SOUTH_GLOS", "2999-01-01").status_code == 422
    version = client.get(f"/persons/{pid}").json()["version"]
    alone = client.patch(f"/persons/{pid}", json={"moved_on": "2024-06-01"},
                         headers={"If-Match": f'"{version}"'})
    assert alone.status_code == 422
    assert _move(client, pid, "SOUTH_GLOS").status_code == 200  # default: today
    areas = client.get(f"/persons/{pid}/areas").json()
    assert [a["area"] for a in areas] == ["BRISTOL", "BANES", "SOUTH_GLOS"]
    assert areas[1]["from_on"] == "2024-05-01" and areas[2]["to_on"] is None


def test_key_scope_follows_the_current_area(client: TestClient, make_key: KeyMaker) -> None:
    pid = _burglar(client)
    assert _move(client, pid, "BANES", "2024-05-01").status_code == 200
    bristol = {"Authorization": f"Bearer {make_key('offender_manager', areas=['BRISTOL'])}",
               "X-Justification": "t"}
    assert client.get(f"/persons/{pid}", headers=bristol).status_code == 404
    assert client.get(f"/persons/{pid}/areas", headers=bristol).status_code == 404


def test_an_extract_with_a_new_area_is_a_move_on_its_day(client: TestClient) -> None:
    pid = _burglar(client)
    person = client.get(f"/persons/{pid}").json()
    csv = ("pnc_id,given_name,family_name,date_of_birth,sex,home_area\n"
           f"{person['pnc_id']},Alex,Example,1990-04-01,male,BANES\n")
    resp = client.post("/imports/persons", content=csv, headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200 and resp.json()["updated"] == 1
    areas = client.get(f"/persons/{pid}/areas").json()
    assert [a["area"] for a in areas] == ["BRISTOL", "BANES"]
    assert areas[0]["to_on"] == areas[1]["from_on"] is not None
    assert _listed(client, pid, "BRISTOL", "2024-06-30")  # the move is dated today
