"""A write and its audit event are one transaction: if the event cannot be written, the
change is not there either (DPA 2018 Part 3 s.62: no alteration without its log).

These tests use real commits on the module's database (the app's sessions are not the
rolled-back test session), and make the audit insert fail with a test-only statement hook.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import ApiKeyCreate, AuditEvent, CohortMembership, CustodyPeriod, Offence, Person, Role
from service.db import get_session
from service.main import app
from service.store.keys import create_key
from tests.factories import membership_body, offence_body, person_body, pnc_id


@pytest.fixture(scope="module")
def real(engine: Engine) -> Iterator[TestClient]:
    """A client whose requests commit for real on this module's database."""
    with Session(engine) as session:
        _, key = create_key(session=session, key_in=ApiKeyCreate(name="tx", role=Role.admin))

    def session_dep() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session_dep
    headers = {"Authorization": f"Bearer {key}", "X-Justification": "audit transaction test"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as c:
        yield c
    app.dependency_overrides.pop(get_session, None)


@contextmanager
def audit_insert_fails() -> Iterator[None]:
    # At the statement, so it holds however the event is written (ORM flush or Core).
    def refuse(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            raise RuntimeError("the audit table is unavailable")

    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _events(engine: Engine) -> int:
    return _count(engine, AuditEvent)


def _person(real: TestClient) -> int:
    resp = real.post("/persons", json=person_body())
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def test_a_write_and_its_event_commit_together(real: TestClient, engine: Engine) -> None:
    before = _events(engine)
    pid = _person(real)
    assert _count(engine, Person, Person.id == pid) == 1
    assert _events(engine) == before + 1


def test_no_person_is_created_without_its_event(real: TestClient, engine: Engine) -> None:
    body = person_body(pnc_id=pnc_id())
    before = _events(engine)
    with audit_insert_fails():
        resp = real.post("/persons", json=body)
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert _count(engine, Person, Person.pnc_id == body["pnc_id"]) == 0
    assert _events(engine) == before


Write = Callable[[TestClient, int], Any]


def _patch_person(real: TestClient, pid: int) -> Any:
    return real.patch(f"/persons/{pid}", json={"family_name": "Changed"},
                      headers={"If-Match": '"1"'})


def _add_offence(real: TestClient, pid: int) -> Any:
    return real.post(f"/persons/{pid}/offences", json=offence_body())


def _add_custody(real: TestClient, pid: int) -> Any:
    return real.post(f"/persons/{pid}/custody", json={"start_on": "2024-01-10"})


def _adopt(real: TestClient, pid: int) -> Any:
    return real.post("/cohort/memberships", json=membership_body(pid))


def _import_person(real: TestClient, pid: int) -> Any:
    csv = "pnc_id,date_of_birth,home_area\n" f"{pnc_id()},1991-02-03,BRISTOL\n"
    return real.post("/imports/persons", content=csv, headers={"Content-Type": "text/csv"})


def _import_custody(real: TestClient, pid: int) -> Any:
    csv = f"person_id,start_on,source,source_ref\n{pid},2024-01-10,pnc,TX-C{pid}\n"
    return real.post("/imports/custody", content=csv, headers={"Content-Type": "text/csv"})


def _import_membership(real: TestClient, pid: int) -> Any:
    row = dict(membership_body(pid), source="iom", source_ref=f"TX-M{pid}")
    return real.post("/imports/memberships", content=json.dumps(row) + "\n",
                     headers={"Content-Type": "application/x-ndjson"})


def _unchanged(engine: Engine, pid: int) -> None:
    with Session(engine) as s:
        person = s.get(Person, pid)
        assert person is not None
        assert (person.family_name, person.version) == ("Example", 1)
    for model in (Offence, CustodyPeriod, CohortMembership):
        assert _count(engine, model, model.person_id == pid) == 0


@pytest.mark.parametrize("write", [_patch_person, _add_offence, _add_custody, _adopt,
                                   _import_custody, _import_membership])
def test_no_change_about_a_person_without_its_event(real: TestClient, engine: Engine,
                                                    write: Write) -> None:
    pid = _person(real)
    before = _events(engine)
    with audit_insert_fails():
        resp = write(real, pid)
    assert resp.status_code == 500, resp.text
    _unchanged(engine, pid)
    assert _events(engine) == before
    # The same write with the audit working goes through: the hook was the only obstacle.
    assert write(real, pid).status_code in (200, 201)


def test_no_import_without_its_event(real: TestClient, engine: Engine) -> None:
    people = _count(engine, Person)
    with audit_insert_fails():
        assert _import_person(real, 0).status_code == 500
    assert _count(engine, Person) == people
    assert _import_person(real, 0).status_code == 200
    assert _count(engine, Person) == people + 1


def test_no_decision_without_its_event(real: TestClient, engine: Engine) -> None:
    pid = _person(real)
    meeting = real.post("/meetings", json={"area": "BRISTOL", "held_on": "2024-07-05",
                                           "agencies": ["police"]})
    assert meeting.status_code == 201, meeting.text
    url = f"/meetings/{meeting.json()['id']}/decisions"
    body = {"person_id": pid, "decision": "adopt", "cohort": "fixed", "stream": "nsac",
            "rationale": "persistent burglary"}
    with audit_insert_fails():
        assert real.post(url, json=body).status_code == 500
    assert _count(engine, CohortMembership, CohortMembership.person_id == pid) == 0
    assert real.get(url).json() == []
    assert real.post(url, json=body).status_code == 201
