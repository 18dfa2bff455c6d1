"""Stored current scores agree with computed ones: every kind of write re-scores the
person in its transaction, `GET /persons/{id}/score` for today serves the stored answer
(and computes for a past day, as recorded, or a stale row), a refresh stores the lean
kernel's answer for a whole demo force, and two writers about one person leave the last
one's score counting both (PostgreSQL)."""

import json
import os
import subprocess
import sys
import threading
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import CurrentScore, Offence, Person, PersonScoreRead
from models.base import utcnow
from scoring import score_people
from scoring.uk_calendar import uk_today
from service import current_scores
from service.current_scores import CURRENT, refresh, rescore, stale_ids
from service.demo import generate_demo, load_demo
from service.deps import catalogue_for, current_settings
from service.frames import OFFENCES, PERSONS, Filters, custody_frame, offences_frame, persons_frame
from service.jobs import get_rescorer, rescore_after
from service.main import app
from service.scorer import Scorer, get_scorer_for, person_score
from tests.factories import offence_body, person_body, pnc_id
from tests.service.import_helpers import PERSON_HEADER, person_row, post, to_csv

REASON = {"reason": "recorded_in_error"}
ROOT = Path(__file__).resolve().parents[2]
TODAY = uk_today()


@pytest.fixture
def scorer(model_dir: Any) -> Scorer:
    """The scorer the app uses in this test (rule-based: a fresh, empty model folder)."""
    settings = app.dependency_overrides[current_settings]()
    return get_scorer_for(catalogue_for(settings), settings.scoring_config_path,
                          settings.model_dir)


def computed(session: Session, scorer: Scorer, pid: int) -> dict[str, Any]:
    """Today's answer as the route computes it, as JSON."""
    answer = person_score(session=session, person_id=pid, as_of=TODAY, scorer=scorer)
    return PersonScoreRead.model_validate(answer).model_dump(mode="json")


def stored(session: Session, pid: int) -> CurrentScore | None:
    session.expire_all()
    return session.get(CurrentScore, pid)


def assert_in_step(client: TestClient, session: Session, scorer: Scorer,
                   pid: int) -> dict[str, Any]:
    """The person's stored row is valid today, holds the computed answer, and is what the
    route serves; that answer."""
    row = stored(session, pid)
    assert row is not None
    assert pid not in stale_ids(session.connection(), scorer, TODAY)
    want = computed(session, scorer, pid)
    assert json.loads(row.body) == want
    assert (row.risk, row.band, row.offences_to_date) == (
        want["thr"]["risk"], want["band"], want["offences_to_date"])
    resp = client.get(f"/persons/{pid}/score")
    assert resp.status_code == 200, resp.text
    assert resp.json() == want
    return want


def test_every_write_keeps_the_stored_score_in_step(client: TestClient, session: Session,
                                                    scorer: Scorer) -> None:
    pid = client.post("/persons", json=person_body(date_of_birth="1995-01-01")).json()["id"]
    assert assert_in_step(client, session, scorer, pid)["offences_to_date"] == 0

    recent = (TODAY - timedelta(days=20)).isoformat()
    oid = client.post(f"/persons/{pid}/offences",
                      json=offence_body(offence_date=recent)).json()["id"]
    first = assert_in_step(client, session, scorer, pid)
    assert first["offences_to_date"] == 1 and first["rfg"]["score"] > 0
    client.post(f"/persons/{pid}/offences", json=offence_body(
        offence_date=(TODAY - timedelta(days=5)).isoformat(), offence_type="robbery_personal"))
    assert assert_in_step(client, session, scorer, pid)["offences_to_date"] == 2

    resp = client.patch(f"/persons/{pid}/offences/{oid}", headers={"If-Match": '"1"'},
                        json={"offence_type": "violence_with_injury", "domestic_abuse": True})
    assert resp.status_code == 200, resp.text
    corrected = assert_in_step(client, session, scorer, pid)
    assert corrected["rfg_by_stream"]["domestic_abuse"] > 0

    spell = client.post(f"/persons/{pid}/custody", json={
        "start_on": (TODAY - timedelta(days=3)).isoformat(), "reason": "remand"})
    assert spell.status_code == 201, spell.text
    in_custody = assert_in_step(client, session, scorer, pid)
    released = client.patch(f"/persons/{pid}/custody/{spell.json()['id']}",
                            headers={"If-Match": '"1"'}, json={"end_on": TODAY.isoformat()})
    assert released.status_code == 200, released.text
    assert_in_step(client, session, scorer, pid)

    older = client.patch(f"/persons/{pid}", headers={"If-Match": '"1"'},
                         json={"date_of_birth": "1960-01-01"})
    assert older.status_code == 200, older.text
    assert assert_in_step(client, session, scorer, pid) != in_custody

    gone = client.delete(f"/persons/{pid}/custody/{spell.json()['id']}", params=REASON)
    assert gone.status_code == 204, gone.text
    assert_in_step(client, session, scorer, pid)
    assert client.delete(f"/persons/{pid}/offences/{oid}", params=REASON).status_code == 204
    assert assert_in_step(client, session, scorer, pid)["offences_to_date"] == 1

    assert client.delete(f"/persons/{pid}", params=REASON).status_code == 204
    assert stored(session, pid) is None


def test_imports_re_score_the_people_they_wrote(client: TestClient, session: Session,
                                                scorer: Scorer) -> None:
    pncs = [pnc_id() for _ in range(3)]
    resp = post(client, "persons", to_csv(PERSON_HEADER, [person_row(p) for p in pncs]))
    assert resp.status_code == 200, resp.text
    ids = [client.get("/persons", params={"pnc_id": p}).json()["items"][0]["id"] for p in pncs]
    for pid in ids:
        assert_in_step(client, session, scorer, pid)

    day = (TODAY - timedelta(days=10)).isoformat()
    offences = to_csv(("pnc_id", "offence_date", "offence_type", "outcome", "source",
                       "source_ref"),
                      [[pncs[0], day, "burglary_residential", "charge", "niche", "R-1"],
                       [pncs[0], day, "robbery_personal", "charge", "niche", "R-2"],
                       [pncs[1], day, "shoplifting", "charge", "niche", "R-3"]])
    assert post(client, "offences", offences).status_code == 200
    assert assert_in_step(client, session, scorer, ids[0])["offences_to_date"] == 2
    assert assert_in_step(client, session, scorer, ids[1])["offences_to_date"] == 1
    written_at = stored_at(session, ids[0]), stored_at(session, ids[2])
    # The same file again changes nothing, and re-scores no one.
    assert post(client, "offences", offences).json()["unchanged"] == 3
    assert stored_at(session, ids[0]) == written_at[0]

    custody = to_csv(("pnc_id", "start_on", "reason", "source", "source_ref"),
                     [[pncs[2], (TODAY - timedelta(days=2)).isoformat(), "remand", "pnc",
                       "C-1"]])
    assert post(client, "custody", custody).status_code == 200
    assert_in_step(client, session, scorer, ids[2])
    assert stored_at(session, ids[2]) > written_at[1]

    moved = to_csv(PERSON_HEADER, [person_row(pncs[1], born="1970-04-01")])
    assert post(client, "persons", moved).json()["updated"] == 1
    assert_in_step(client, session, scorer, ids[1])


def test_a_large_import_re_scores_after_its_response(client: TestClient, session: Session,
                                                     scorer: Scorer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pncs = [pnc_id() for _ in range(3)]
    post(client, "persons", to_csv(PERSON_HEADER, [person_row(p) for p in pncs]))
    ids = [client.get("/persons", params={"pnc_id": p}).json()["items"][0]["id"] for p in pncs]
    later: list[list[int]] = []
    app.dependency_overrides[get_rescorer] = lambda: later.append
    monkeypatch.setattr(current_scores, "INLINE_MAX", 1)
    day = (TODAY - timedelta(days=10)).isoformat()
    offences = to_csv(("pnc_id", "offence_date", "offence_type", "outcome", "source",
                       "source_ref"),
                      [[pncs[0], day, "burglary_residential", "charge", "niche", "L-1"],
                       [pncs[1], day, "shoplifting", "charge", "niche", "L-2"]])
    try:
        assert post(client, "offences", offences).status_code == 200
    finally:
        app.dependency_overrides.pop(get_rescorer)
    assert later == [ids[:2]]
    # Until the task has run their rows are gone (the route computes); the third's stays.
    assert stored(session, ids[0]) is None and stored(session, ids[1]) is None
    assert client.get(f"/persons/{ids[0]}/score").json() == computed(session, scorer, ids[0])
    assert stored(session, ids[2]) is not None
    rescore_after(lambda: nullcontext(session), scorer, later[0])
    for pid in ids:
        assert_in_step(client, session, scorer, pid)


def stored_at(session: Session, pid: int) -> Any:
    row = stored(session, pid)
    assert row is not None
    return row.computed_at


def test_the_route_serves_the_stored_row_only_when_valid(client: TestClient,
                                                         session: Session,
                                                         scorer: Scorer) -> None:
    pid = client.post("/persons", json=person_body()).json()["id"]
    client.post(f"/persons/{pid}/offences",
                json=offence_body(offence_date=(TODAY - timedelta(days=9)).isoformat()))
    want = assert_in_step(client, session, scorer, pid)
    # Mark the stored answer: the route must send it as it is, without computing.
    marked = dict(want, offences_to_date=99)
    session.execute(update(CurrentScore).where(CurrentScore.person_id == pid)  # type: ignore[arg-type]
                    .values(body=json.dumps(marked)))
    assert client.get(f"/persons/{pid}/score").json() == marked
    assert client.get(f"/persons/{pid}/score", params={"as_of": TODAY.isoformat()}
                      ).json() == marked
    # A past day and what was recorded by today's end compute.
    assert client.get(f"/persons/{pid}/score", params={"knowledge": "as_recorded"}
                      ).json()["offences_to_date"] == 1
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert client.get(f"/persons/{pid}/score", params={"as_of": yesterday}
                      ).json()["as_of"] == yesterday
    # Another model current (a promotion or rollback), or yesterday's row: stale, computed.
    for stale in ({"model_version": "promoted-since"}, {"as_of": TODAY - timedelta(days=1)},
                  {"config_version": "older"}, {"catalogue_version": "older"}):
        session.execute(update(CurrentScore).where(CurrentScore.person_id == pid)  # type: ignore[arg-type]
                        .values(**stale))
        assert pid in stale_ids(session.connection(), scorer, TODAY)
        assert client.get(f"/persons/{pid}/score").json() == want
        rescore(session, scorer, [pid])
        assert client.get(f"/persons/{pid}/score").json() == want
        session.execute(update(CurrentScore).where(CurrentScore.person_id == pid)  # type: ignore[arg-type]
                        .values(body=json.dumps(marked)))
    # No stored row at all (a person loaded in bulk): computed.
    session.execute(CURRENT.delete().where(CURRENT.c.person_id == pid))
    assert client.get(f"/persons/{pid}/score").json() == want


def test_an_area_limited_key_is_refused_a_stored_score(client: TestClient,
                                                       bristol_om: TestClient) -> None:
    pid = client.post("/persons", json=person_body(home_area="BANES")).json()["id"]
    assert bristol_om.get(f"/persons/{pid}/score").status_code == 404
    assert bristol_om.get("/persons/999999/score").status_code == 404


@pytest.fixture(scope="module")
def force(engine: Engine) -> Engine:
    """A demo force (400 people) loaded in bulk: no stored scores yet."""
    load_demo(engine, generate_demo(people=400, end=TODAY - timedelta(days=1)))
    return engine


def test_a_refresh_stores_the_computed_answer_for_a_whole_force(
        force: Engine, session: Session, scorer: Scorer) -> None:
    people = len(stale_ids(session.connection(), scorer, TODAY))
    assert people >= 400
    assert refresh(lambda: nullcontext(session), scorer) == people
    assert stale_ids(session.connection(), scorer, TODAY) == []
    assert refresh(lambda: nullcontext(session), scorer) == 0  # all valid: nothing to do
    rows = {r.person_id: r for r in session.exec(select(CurrentScore)).all()}
    for pid in sorted(rows)[::4]:
        assert json.loads(rows[pid].body) == computed(session, scorer, pid), pid
    # The stored values are the batch kernel's too.
    conn = session.connection()
    scope = Filters(offences_until=TODAY)
    batch = score_people(offences_frame(conn, scope), persons_frame(conn, scope),
                         custody_frame(conn, scope), as_of=TODAY, catalogue=scorer.catalogue,
                         config=scorer.config, model=scorer.model)
    for row in batch.itertuples():
        mine = rows[row.person_id]
        assert (mine.risk, mine.rfg, mine.threat) == pytest.approx(
            (row.risk, row.rfg, row.threat), rel=1e-9, abs=1e-12)
        assert mine.band == row.band


def test_iomscore_rescore_stores_everyone(force: Engine, database_url: str, tmp_path: Path,
                                          scorer: Scorer) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "MODEL_DIR": str(tmp_path / "m")}
    # Two processes, each storing its share of the people.
    done = subprocess.run([sys.executable, "-m", "service.cli", "rescore", "--jobs", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with Session(force) as check:
        people = check.exec(select(func.count()).select_from(Person)).one()
    assert f": {people} people re-scored" in done.stderr
    with Session(force) as check:
        assert stale_ids(check.connection(), scorer, TODAY) == []
        for row in check.exec(select(CurrentScore).limit(20)).all():
            assert json.loads(row.body) == computed(check, scorer, row.person_id)


@pytest.mark.postgres_only
def test_two_writers_about_one_person_leave_a_score_counting_both(engine: Engine,
                                                                  scorer: Scorer) -> None:
    """The first writer holds the person's lock from its re-score to its commit; the second
    inserts its offence meanwhile (an insert does not wait on that lock), then re-scores:
    it must wait, and then see the first one's offence."""
    with Session(engine) as setup:
        pid = setup.connection().execute(insert(PERSONS).values(
            pnc_id=pnc_id(), given_name="A", family_name="B", date_of_birth=date(1990, 1, 1),
            sex="male", home_area="BRISTOL", version=1, created_at=utcnow(),
            updated_at=utcnow()).returning(PERSONS.c.id)).scalar_one()
        setup.commit()
    locked, errors = threading.Event(), []

    def write(day: int, hold: bool) -> None:
        try:
            with Session(engine) as session:
                session.connection().execute(insert(OFFENCES).values(
                    person_id=pid, offence_date=TODAY - timedelta(days=day),
                    offence_type="burglary_residential", domestic_abuse=False,
                    outcome="charge", source="api", recorded_at=utcnow(), version=1,
                    updated_at=utcnow()))
                if not hold:
                    assert locked.wait(10)
                rescore(session, scorer, [pid])
                if hold:
                    locked.set()
                    threading.Event().wait(0.5)  # commit late: the other re-scores meanwhile
                session.commit()
        except Exception as exc:  # reported by the test's thread
            errors.append(exc)

    first = threading.Thread(target=write, args=(10, True))
    second = threading.Thread(target=write, args=(20, False))
    first.start()
    second.start()
    first.join(20)
    second.join(20)
    assert not errors, errors
    with Session(engine) as check:
        row = check.get(CurrentScore, pid)
        assert row is not None
        body = json.loads(row.body)
        assert body["offences_to_date"] == 2
        assert body == computed(check, scorer, pid)
        assert len(check.exec(select(Offence).where(Offence.person_id == pid)).all()) == 2

