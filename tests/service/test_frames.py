"""Reading the register into scoring frames: columns, dtypes, filters, as-recorded."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.frames import (
    FEW_PEOPLE,
    Filters,
    custody_frame,
    memberships_frame,
    offences_frame,
    persons_frame,
)
from tests.factories import membership_body, offence_body, person_body


def _setup(client: TestClient) -> tuple[int, int]:
    a = client.post("/persons", json=person_body(home_area="BRISTOL", sex="female")).json()["id"]
    b = client.post("/persons", json=person_body(home_area="BANES")).json()["id"]
    client.post(f"/persons/{a}/offences", json=offence_body(
        offence_date="2023-04-01", domestic_abuse=True, victim_ref="V1"))
    client.post(f"/persons/{a}/offences", json=offence_body(offence_date="2024-01-01"))
    client.post(f"/persons/{b}/offences", json=offence_body(offence_type="rape"))
    client.post(f"/persons/{a}/custody", json={"start_on": "2023-05-01"})
    client.post("/cohort/memberships", json=membership_body(a))
    return a, b


def test_frames_have_the_scoring_contract(client: TestClient, session: Session) -> None:
    a, b = _setup(client)
    conn = session.connection()
    offences = offences_frame(conn)
    assert list(offences.columns) == ["person_id", "offence_date", "offence_type",
                                      "domestic_abuse", "victim_ref"]
    assert offences["person_id"].dtype == "int64"
    assert pd.api.types.is_datetime64_any_dtype(offences["offence_date"])
    mine = offences[offences["person_id"] == a].reset_index(drop=True)
    assert mine["offence_date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-04-01", "2024-01-01"]
    assert mine["domestic_abuse"].tolist() == [True, False]
    assert mine["victim_ref"].tolist() == ["V1", None]
    persons = persons_frame(conn)
    assert set(persons["person_id"]) >= {a, b}
    custody = custody_frame(conn, Filters(person_ids=[a]))
    assert len(custody) == 1 and pd.isna(custody["end_on"].iloc[0])
    memberships = memberships_frame(conn)
    row = memberships[memberships["person_id"] == a].iloc[0]
    assert (row["stream"], row["sex"]) == ("nsac", "female")
    assert pd.isna(row["exited_on"])


def test_filters_by_area_date_and_recording_time(client: TestClient, session: Session) -> None:
    a, b = _setup(client)
    conn = session.connection()
    banes = offences_frame(conn, Filters(areas=["BANES"]))
    assert set(banes["person_id"]) == {b}
    early = offences_frame(conn, Filters(person_ids=[a], offences_until=datetime(2023, 12, 31)))
    assert len(early) == 1
    past = datetime.now(UTC) - timedelta(days=1)
    assert offences_frame(conn, Filters(person_ids=[a], recorded_by=past)).empty
    assert memberships_frame(conn, areas=["BANES"]).empty
    # Active memberships of a stream (the shortlists' read): adopted 2023-01-15, running.
    mine = memberships_frame(conn, stream="nsac", active_on=date(2023, 6, 1))
    assert a in set(mine["person_id"]) and mine["person_id"].dtype == "int64"
    assert a not in set(memberships_frame(conn, stream="nsac", active_on=date(2023, 1, 14))[
        "person_id"])
    assert memberships_frame(conn, stream="domestic_abuse", active_on=date(2023, 6, 1)).empty
    assert memberships_frame(conn, stream="nsac", active_on=date(2023, 6, 1),
                             recorded_by=past).empty


def test_long_person_id_lists_are_read_in_one_query(client: TestClient,
                                                    session: Session) -> None:
    """A shortlist's pool (thousands of ids) goes past SQLite's bound-variable cap."""
    a, b = _setup(client)
    ids = [a, b, *range(10**7, 10**7 + 40_000)]
    scope = Filters(person_ids=ids)
    assert not scope.few
    conn = session.connection()
    assert persons_frame(conn, scope)["person_id"].tolist() == sorted([a, b])
    assert sorted(set(offences_frame(conn, scope)["person_id"])) == sorted([a, b])
    assert custody_frame(conn, scope)["person_id"].tolist() == [a]
    few = Filters(person_ids=[a])
    # The small-read path keeps text as plain objects (arrow strings cost more than the
    # read itself at this size); the values must be the same.
    pd.testing.assert_frame_equal(
        offences_frame(conn, few),
        offences_frame(conn, Filters(person_ids=[a, *range(10**7, 10**7 + FEW_PEOPLE)])),
        check_dtype=False)
