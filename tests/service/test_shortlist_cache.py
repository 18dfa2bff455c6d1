"""Today's shortlists are kept until the register changes: a kept answer always equals the
answer computed afresh, after writes of every kind, and every answer is still audited."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from models import AuditEvent
from scoring.uk_calendar import uk_today
from service.store import shortlist_cache
from service.store.shortlist_cache import forget_kept_lists
from tests.factories import membership_body, offence_body, person_body

PATHS = ("/shortlists/migration", "/shortlists/migration/counts", "/shortlists/exits")


def days_ago(days: int) -> str:
    return (uk_today() - timedelta(days=days)).isoformat()


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    forget_kept_lists()
    yield
    forget_kept_lists()


def offender(client: TestClient, offences: int, *, area: str = "BRISTOL") -> int:
    pid = int(client.post("/persons", json=person_body(home_area=area,
                                                       date_of_birth="1995-01-01")).json()["id"])
    for n in range(offences):
        resp = client.post(f"/persons/{pid}/offences", json=offence_body(
            offence_date=days_ago(20 + 30 * n), offence_type="burglary_residential"))
        assert resp.status_code == 201, resp.text
    return pid


def served_and_computed(client: TestClient) -> dict[str, dict[str, Any]]:
    """Each of today's answers as served (kept, if the register has not changed since the
    last call), checked against the same answer computed with nothing kept."""
    served = {}
    for path in PATHS:
        resp = client.get(path, params={"area": "BRISTOL", "stream": "nsac"})
        assert resp.status_code == 200, resp.text
        served[path] = resp.json()
    forget_kept_lists()
    for path in PATHS:  # computed afresh, and kept for the next call
        computed = client.get(path, params={"area": "BRISTOL", "stream": "nsac"}).json()
        assert {**served[path], "generated_at": None} == {**computed, "generated_at": None}
    return served


def without_times(answers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {path: {**body, "generated_at": None} for path, body in answers.items()}


def listed(answers: dict[str, dict[str, Any]]) -> set[int]:
    return {c["person_id"] for c in answers["/shortlists/migration"]["candidates"]}


def test_every_kind_of_write_changes_the_next_answer(client: TestClient) -> None:
    writes: list[tuple[str, Callable[[], Any]]] = []
    busy = offender(client, 3)
    assert busy in listed(served_and_computed(client))

    other = offender(client, 0)
    writes.append(("offence added", lambda: client.post(
        f"/persons/{other}/offences", json=offence_body(offence_date=days_ago(10),
                                                        offence_type="theft_from_person"))))
    writes.append(("person added", lambda: offender(client, 2)))

    def first_offence(pid: int) -> int:
        return int(client.get(f"/persons/{pid}/offences").json()["items"][0]["id"])

    writes.append(("offence deleted", lambda: client.delete(
        f"/persons/{busy}/offences/{first_offence(busy)}",
        params={"reason": "recorded_in_error"})))
    writes.append(("person moved away", lambda: client.patch(
        f"/persons/{busy}", json={"home_area": "BANES"}, headers={"If-Match": '"1"'})))
    writes.append(("person moved back", lambda: client.patch(
        f"/persons/{busy}", json={"home_area": "BRISTOL"}, headers={"If-Match": '"2"'})))
    writes.append(("custody", lambda: client.post(f"/persons/{busy}/custody",
                                                  json={"start_on": days_ago(5)})))
    writes.append(("membership", lambda: client.post("/cohort/memberships", json=membership_body(
        other, adopted_on=days_ago(3)))))
    writes.append(("referral", lambda: client.post("/referrals", json={
        "person_id": offender(client, 0), "referring_agency": "probation",
        "requested_stream": "nsac", "reason": "professional judgement",
        "referred_on": days_ago(1), "area": "BRISTOL"})))

    answers = without_times(served_and_computed(client))
    for what, write in writes:
        result = write()
        status = getattr(result, "status_code", 201)
        assert status < 300, (what, getattr(result, "text", ""))
        changed = without_times(served_and_computed(client))
        assert changed != answers, f"{what} changed none of the answers: the test has no teeth"
        answers = changed


def test_the_same_question_twice_is_audited_twice(client: TestClient, session: Session) -> None:
    offender(client, 3)

    def events() -> int:
        return int(session.exec(select(func.count()).select_from(AuditEvent).where(
            col(AuditEvent.route) == "/shortlists/migration")).one())

    before = events()
    first = client.get("/shortlists/migration", params={"area": "BRISTOL", "stream": "nsac"})
    again = client.get("/shortlists/migration", params={"area": "BRISTOL", "stream": "nsac"})
    assert first.json()["candidates"] == again.json()["candidates"]
    assert events() == before + 2


def test_past_dates_and_as_recorded_are_computed_not_kept(client: TestClient) -> None:
    offender(client, 3)
    for params in ({"as_of": days_ago(1)}, {"knowledge": "as_recorded"}):
        resp = client.get("/shortlists/migration",
                          params={"area": "BRISTOL", "stream": "nsac", **params})
        assert resp.status_code == 200, resp.text
    assert not shortlist_cache._kept
    client.get("/shortlists/migration", params={"area": "BRISTOL", "stream": "nsac"})
    assert len(shortlist_cache._kept) == 1
