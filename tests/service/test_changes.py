"""The change feed: every write of every captured table appears once, in commit order, with
ids only; cursors are opaque, strictly increasing and refuse garbage; keys see their areas.

These tests commit for real on the module's database (the feed shows only committed
changes, and the rolled-back test session never commits), so each starts from the feed's
head and looks only at what it wrote. On PostgreSQL, writers also commit
concurrently while a follower polls (the tests marked postgres_only).
"""

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from models import (
    CAPTURED_TABLES,
    ApiKeyCreate,
    AuditEvent,
    CustodyPeriod,
    Decision,
    Offence,
    Person,
    Role,
)
from service.cli_changes import prune
from service.config import get_settings
from service.db import get_session
from service.main import app
from service.rawdb import connect
from service.store.changes import Cursor, decode_cursor, encode_cursor
from service.store.keys import create_key
from tests.conftest import command_line_on
from tests.factories import membership_body, offence_body, person_body, pnc_id
from tests.service.test_imports import (
    OFFENCE_HEADER,
    PERSON_HEADER,
    offence_row,
    person_row,
    post,
    to_csv,
)
from tests.service.test_meetings import decide, meeting
from tests.service.test_shortlists import AS_OF, offender

REASON = {"reason": "recorded_in_error"}
ENTRY_FIELDS = {"cursor", "at", "entity", "id", "person_id", "op", "version"}
Entry = tuple[str, int, int | None, str, int | None]


@pytest.fixture(scope="module")
def keys(engine: Engine) -> dict[str, str]:
    made = {}
    with Session(engine) as session:
        for name, role, areas in (("admin", Role.admin, None),
                                  ("bristol", Role.offender_manager, ["BRISTOL"]),
                                  ("analyst", Role.analyst, None),
                                  ("integration", Role.integration, None)):
            _, made[name] = create_key(session=session, key_in=ApiKeyCreate(
                name=f"feed {name}", role=role, areas=areas))
    return made


@pytest.fixture(scope="module")
def real_app(engine: Engine) -> Iterator[None]:
    """The app's requests commit for real on this module's database."""

    def session_dep() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session_dep
    yield
    app.dependency_overrides.pop(get_session, None)


def _client(key: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {key}",
                                    "X-Justification": "change feed test"})


@pytest.fixture(scope="module")
def admin(real_app: None, keys: dict[str, str]) -> Iterator[TestClient]:
    with _client(keys["admin"]) as c:
        yield c


@pytest.fixture(scope="module")
def bristol(real_app: None, keys: dict[str, str]) -> Iterator[TestClient]:
    with _client(keys["bristol"]) as c:
        yield c


def page(client: TestClient, after: str | None = None, **params: Any) -> dict[str, Any]:
    resp = client.get("/changes", params={**params, **({} if after is None else
                                                       {"after": after})})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def follow(client: TestClient, after: str | None = None,
           limit: int | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every entry after `after`, polling until next_cursor stops moving; and that cursor."""
    items: list[dict[str, Any]] = []
    cursor = after
    while True:
        body = page(client, cursor, **({} if limit is None else {"limit": limit}))
        items += body["items"]
        if body["next_cursor"] == cursor:
            return items, cursor
        cursor = body["next_cursor"]


def head(client: TestClient) -> str:
    return follow(client)[1]


def brief(items: list[dict[str, Any]]) -> list[Entry]:
    return [(i["entity"], i["id"], i["person_id"], i["op"], i["version"]) for i in items]


def _created(resp: Any) -> int:
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _ok(resp: Any, status: int = 200) -> None:
    assert resp.status_code == status, resp.text


def _patch(client: TestClient, url: str, body: dict[str, Any], version: int) -> None:
    _ok(client.patch(url, json=body, headers={"If-Match": f'"{version}"'}))


def _person(client: TestClient, area: str = "BRISTOL") -> int:
    return _created(client.post("/persons", json=person_body(home_area=area)))


# --- what appears -------------------------------------------------------------------------

def test_every_create_update_and_delete_appears_in_order(admin: TestClient) -> None:
    start = head(admin)
    pid = _person(admin)
    _patch(admin, f"/persons/{pid}", {"given_name": "Sam"}, 1)
    oid = _created(admin.post(f"/persons/{pid}/offences", json=offence_body()))
    _patch(admin, f"/persons/{pid}/offences/{oid}", {"outcome": "conviction"}, 1)
    _ok(admin.delete(f"/persons/{pid}/offences/{oid}", params=REASON), 204)
    cid = _created(admin.post(f"/persons/{pid}/custody", json={"start_on": "2024-01-10"}))
    _patch(admin, f"/persons/{pid}/custody/{cid}", {"end_on": "2024-02-10"}, 1)
    _ok(admin.delete(f"/persons/{pid}/custody/{cid}", params=REASON), 204)
    mid = _created(admin.post("/cohort/memberships", json=membership_body(pid)))
    _patch(admin, f"/cohort/memberships/{mid}", {"rag": "red"}, 1)
    _ok(admin.delete(f"/cohort/memberships/{mid}", params=REASON), 204)
    rid = _created(admin.post("/referrals", json={
        "person_id": pid, "referring_agency": "probation", "requested_stream": "nsac",
        "reason": "prolific", "referred_on": "2024-05-01"}))
    _patch(admin, f"/referrals/{rid}", {"status": "withdrawn", "reason": "moved away"}, 1)
    _ok(admin.delete(f"/referrals/{rid}", params=REASON), 204)

    items, _ = follow(admin, start)
    assert brief(items) == [
        ("person", pid, pid, "create", 1), ("person", pid, pid, "update", 2),
        ("offence", oid, pid, "create", 1), ("offence", oid, pid, "update", 2),
        ("offence", oid, pid, "delete", None),
        ("custody", cid, pid, "create", 1), ("custody", cid, pid, "update", 2),
        ("custody", cid, pid, "delete", None),
        ("membership", mid, pid, "create", 1), ("membership", mid, pid, "update", 2),
        ("membership", mid, pid, "delete", None),
        ("referral", rid, pid, "create", 1), ("referral", rid, pid, "update", 2),
        ("referral", rid, pid, "delete", None),
    ]
    for item in items:
        assert set(item) == ENTRY_FIELDS
        at = datetime.fromisoformat(item["at"])
        assert at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - at) < timedelta(minutes=10)


def test_decisions_and_an_erasure(admin: TestClient, engine: Engine) -> None:
    pid = offender(admin, ["2024-05-01", "2024-06-01"])
    offences = [o["id"] for o in admin.get(f"/persons/{pid}/offences").json()["items"]]
    start = head(admin)
    resp = decide(admin, meeting(admin), pid, "adopt", cohort="fixed", shortlist_as_of=AS_OF)
    assert resp.status_code == 201, resp.text
    did, mem = resp.json()["id"], resp.json()["membership_id"]
    adopted, start = follow(admin, start)
    assert sorted(brief(adopted)) == [("decision", did, pid, "create", None),
                                      ("membership", mem, pid, "create", 1)]

    _ok(admin.delete(f"/persons/{pid}", params=REASON), 204)
    erased, start = follow(admin, start)
    # The stripped decision is an update naming the person it was stripped from; the
    # person's own rows are deleted; the person's entry is an erasure, with no content.
    assert brief(erased) == [
        ("decision", did, pid, "update", None), ("membership", mem, pid, "delete", None),
        *[("offence", o, pid, "delete", None) for o in sorted(offences)],
        ("person", pid, pid, "erase", None)]

    with Session(engine) as s:  # a write from outside the app is captured too
        s.delete(s.get(Decision, did))
        s.commit()
    assert brief(follow(admin, start)[0]) == [("decision", did, None, "delete", None)]


def test_entries_never_carry_personal_data(admin: TestClient) -> None:
    body = person_body(given_name="Quentinella", family_name="Zabriskie-Oduya",
                       date_of_birth="1977-07-17")
    start = head(admin)
    pid = _created(admin.post("/persons", json=body))
    _created(admin.post(f"/persons/{pid}/offences", json=offence_body(victim_ref="V-991177")))
    _ok(admin.delete(f"/persons/{pid}", params=REASON), 204)
    items, _ = follow(admin, start)
    assert [i["op"] for i in items] == ["create", "create", "delete", "erase"]
    dumped = json.dumps(items)
    for value in (body["pnc_id"], "Quentinella", "Zabriskie", "1977-07-17", "V-991177"):
        assert value not in dumped


def test_bulk_imports_are_captured(admin: TestClient) -> None:
    pncs = [pnc_id() for _ in range(3)]
    start = head(admin)
    _ok(post(admin, "persons", to_csv(PERSON_HEADER, [person_row(p) for p in pncs])))
    _ok(post(admin, "offences", to_csv(OFFENCE_HEADER, [
        offence_row(p, f"FEED-{p}") for p in pncs])))
    _ok(post(admin, "persons", to_csv(PERSON_HEADER, [
        person_row(pncs[0], area="SOUTH_GLOS")])))
    items, _ = follow(admin, start)
    ops = [(i["entity"], i["op"], i["version"]) for i in items]
    assert ops == [("person", "create", 1)] * 3 + [("offence", "create", 1)] * 3 + [
        ("person", "update", 2)]
    people = [i["id"] for i in items[:3]]
    assert [i["person_id"] for i in items[3:6]] == people
    assert items[6]["id"] == people[0]


def test_every_captured_table_has_its_triggers(engine: Engine) -> None:
    with engine.connect() as conn:
        for table in CAPTURED_TABLES:
            if conn.dialect.name == "postgresql":
                names = conn.execute(text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                    "AND NOT tgisinternal"), {"t": table}).scalars()
            else:
                names = conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                    {"t": table}).scalars()
            assert {f"{table}_changes_{e}" for e in ("insert", "update", "delete")} <= set(names)


# --- cursors and pages --------------------------------------------------------------------

def test_cursors_round_trip_increase_and_page(admin: TestClient) -> None:
    start = head(admin)
    pid = _person(admin)
    for version in range(1, 8):
        _patch(admin, f"/persons/{pid}", {"given_name": f"Name{version}"}, version)
    whole, end = follow(admin, start)
    assert [i["version"] for i in whole] == list(range(1, 9))
    cursors = [decode_cursor(i["cursor"]) for i in whole]
    assert cursors == sorted(set(cursors)) and decode_cursor(start) < cursors[0]
    assert [encode_cursor(c) for c in cursors] == [i["cursor"] for i in whole]
    assert end == whole[-1]["cursor"]
    # Pages of three hold the same entries; each next_cursor is its last entry's cursor.
    first = page(admin, start, limit=3)
    assert first["items"] == whole[:3] and first["next_cursor"] == whole[2]["cursor"]
    assert follow(admin, start, limit=3)[0] == whole
    assert follow(admin, start, limit=1)[0] == whole
    # Reading on from any entry's cursor gives what came after it.
    assert page(admin, whole[4]["cursor"])["items"] == whole[5:]
    # At the head there is nothing new, and next_cursor is the cursor sent.
    assert page(admin, end) == {"items": [], "next_cursor": end}


def test_a_new_follower_starts_from_the_head(admin: TestClient, keys: dict[str, str]) -> None:
    now = admin.get("/changes/head", headers={"X-Justification": ""})  # none needed
    assert now.status_code == 200, now.text
    cursor = now.json()["next_cursor"]
    assert decode_cursor(cursor) >= decode_cursor(head(admin))
    assert page(admin, cursor) == {"items": [], "next_cursor": cursor}
    pid = _person(admin)
    assert brief(follow(admin, cursor)[0]) == [("person", pid, pid, "create", 1)]
    assert _client(keys["analyst"]).get("/changes/head").status_code == 403


@pytest.mark.parametrize("bad", [
    "garbage", "", "AAAA", encode_cursor(Cursor(1, 2)) + "=", encode_cursor(Cursor(1, 2))[:-1],
    "AgAAAAAAAAABAAAAAAAAAAI",  # format version 2
    "Af__________wAAAAAAAAAB",  # beyond a bigint
    "x" * 65, "Ünïcode"])
def test_a_cursor_not_issued_here_is_422(admin: TestClient, bad: str) -> None:
    resp = admin.get("/changes", params={"after": bad})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["loc"] == ["query", "after"]


def test_a_cursor_ahead_of_the_feed_is_410(admin: TestClient) -> None:
    # What a follower holds after the database is restored from an older backup.
    now = decode_cursor(head(admin))  # positions on PostgreSQL, seq alone on SQLite
    later = Cursor(now.pos + 1000, 1) if now.pos else Cursor(0, now.seq + 1000)
    resp = admin.get("/changes", params={"after": encode_cursor(later)})
    assert resp.status_code == 410, resp.text
    assert "restored" in resp.json()["detail"]


def test_limit_is_checked(admin: TestClient) -> None:
    assert admin.get("/changes", params={"limit": 0}).status_code == 422
    ceiling = get_settings().max_page_size
    assert admin.get("/changes", params={"limit": ceiling}).status_code == 200
    assert admin.get("/changes", params={"limit": ceiling + 1}).status_code == 422


# --- who may read, and what they see ------------------------------------------------------

def test_roles_justification_and_audit(admin: TestClient, keys: dict[str, str],
                                       engine: Engine) -> None:
    resp = _client(keys["analyst"]).get("/changes")
    assert resp.status_code == 403, resp.text
    assert _client(keys["integration"]).get("/changes").status_code == 200
    no_reason = admin.get("/changes", headers={"X-Justification": ""})
    assert no_reason.status_code == 422
    start = head(admin)
    pid = _person(admin)
    body = page(admin, start)
    assert [i["person_id"] for i in body["items"]] == [pid]
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    assert (event.action, event.route, event.detail) == ("consultation", "/changes", "changes")
    assert (event.person_ids, event.justification) == ([pid], "change feed test")


def test_an_area_limited_key_sees_its_areas_people_only(admin: TestClient,
                                                       bristol: TestClient) -> None:
    start = head(admin)
    here = _person(admin, "BRISTOL")
    away = _person(admin, "SOUTH_GLOS")
    here_offence = _created(admin.post(f"/persons/{here}/offences", json=offence_body()))
    _created(admin.post(f"/persons/{away}/offences", json=offence_body()))
    everything, end = follow(admin, start)
    assert len(everything) == 4
    mine, bristol_end = follow(bristol, start, limit=1)
    assert brief(mine) == [("person", here, here, "create", 1),
                           ("offence", here_offence, here, "create", 1)]
    assert bristol_end == end  # it moves past what it may not see
    assert follow(bristol, end) == ([], end)

    # Filtered by where people live now: a person who moves away takes their entries with
    # them, one who moves in brings theirs.
    _patch(admin, f"/persons/{here}", {"home_area": "SOUTH_GLOS"}, 1)
    _patch(admin, f"/persons/{away}", {"home_area": "BRISTOL"}, 1)
    seen = {(i["entity"], i["person_id"]) for i in follow(bristol, start)[0]}
    assert seen == {("person", away), ("offence", away)}
    # An erased person's entries reach all-area keys only.
    before = head(admin)
    _ok(admin.delete(f"/persons/{away}", params=REASON), 204)
    assert follow(bristol, start)[0] == []
    assert brief(follow(admin, before)[0])[-1] == ("person", away, away, "erase", None)


# --- concurrent writers (PostgreSQL) ------------------------------------------------------

def _person_row(s: Session) -> int:
    person = Person(pnc_id=pnc_id(), date_of_birth=date(1990, 1, 1), home_area="BRISTOL")
    s.add(person)
    s.flush()
    return person.id or 0


def _bump(s: Session, table: str, row_id: int) -> None:
    s.execute(text(f"UPDATE {table} SET version = version + 1 WHERE id = :id"), {"id": row_id})


@pytest.mark.postgres_only
def test_a_change_committed_late_is_not_skipped(admin: TestClient, engine: Engine) -> None:
    start = head(admin)
    with Session(engine) as slow, Session(engine) as quick:
        late = _person_row(slow)       # written first, so the lower seq ...
        early = _person_row(quick)
        quick.commit()
        seen, cursor = follow(admin, start)
        assert brief(seen) == [("person", early, early, "create", 1)]
        slow.commit()                  # ... but committed last
    rest, _ = follow(admin, cursor)
    assert brief(rest) == [("person", late, late, "create", 1)]
    assert decode_cursor(rest[0]["cursor"]).seq < decode_cursor(seen[0]["cursor"]).seq


@pytest.mark.postgres_only
def test_a_reader_waits_for_a_commit_under_way(admin: TestClient, engine: Engine) -> None:
    """A transaction that has its commit position but has not finished committing holds
    back the reader (the commit fence), so the later position committed meanwhile does not
    pass it by."""
    start = head(admin)
    read: dict[str, Any] = {}
    with Session(engine) as committing, Session(engine) as quick:
        first = _person_row(committing)
        committing.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # takes its position now
        second = _person_row(quick)
        quick.commit()
        reader = threading.Thread(target=lambda: read.update(items=follow(admin, start)[0]))
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive(), "the reader did not wait for the commit under way"
        committing.commit()
    reader.join(timeout=30)
    assert brief(read["items"]) == [("person", first, first, "create", 1),
                                    ("person", second, second, "create", 1)]


@pytest.mark.postgres_only
def test_changes_to_one_row_appear_in_commit_order(admin: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        row = _person_row(s)
        s.commit()
    start = head(admin)
    with Session(engine) as first, Session(engine) as second:
        _person_row(first)             # `first` writes (takes its transaction id) first,
        _bump(second, "persons", row)  # but `second` changes the row and commits first
        second.commit()
        _bump(first, "persons", row)
        first.commit()
    updates = [i["version"] for i in follow(admin, start)[0]
               if (i["entity"], i["id"], i["op"]) == ("person", row, "update")]
    # In transaction-id order the last entry would say version 2 of a row now at 3.
    assert updates == [2, 3]


@pytest.mark.postgres_only
def test_a_follower_sees_every_change_of_concurrent_writers_once(
        keys: dict[str, str], real_app: None, engine: Engine) -> None:
    """Writers commit while some of them hold transactions open, roll back, or wait on each
    other's row locks; one follower polls all the while. What it saw, last entry per
    record, is what the tables hold at the end; no cursor comes twice or goes backwards."""
    with _client(keys["admin"]) as c:
        start = head(c)
    with Session(engine) as s:
        people = [_person_row(s) for _ in range(8)]
        s.commit()
    offences: list[int] = []
    done = threading.Event()
    failures: list[BaseException] = []
    stats = {"rolled_back": 0, "aborted": 0, "held_open": 0, "overtaken": 0}
    commits = [0]  # transactions committed so far, by all writers

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(25):
                with Session(engine) as s:
                    try:
                        for step in range(rng.randint(1, 3)):
                            if step and rng.random() < 0.3:  # others write in between
                                time.sleep(rng.uniform(0.01, 0.1))
                            what = rng.random()
                            if what < 0.35 or not offences:
                                o = Offence(person_id=rng.choice(people), offence_type="theft",
                                            offence_date=date(2024, 1, 1))
                                s.add(o)
                                s.flush()
                                offences.append(o.id or 0)
                            elif what < 0.6:
                                _bump(s, "offences", rng.choice(offences))
                            elif what < 0.75:
                                s.execute(text("DELETE FROM offences WHERE id = :id"),
                                          {"id": rng.choice(offences)})
                            elif what < 0.9:
                                _bump(s, "persons", rng.choice(people))
                            else:
                                s.add(CustodyPeriod(person_id=rng.choice(people),
                                                    start_on=date(2023, 1, 1)))
                                s.flush()
                        if rng.random() < 0.35:
                            stats["held_open"] += 1
                            before = commits[0]
                            time.sleep(rng.uniform(0.02, 0.25))
                            stats["overtaken"] += commits[0] > before
                        if rng.random() < 0.1:
                            stats["rolled_back"] += 1
                            s.rollback()
                        else:
                            s.commit()
                            commits[0] += 1
                    except DBAPIError:  # a deadlock between writers: one of them gives way
                        stats["aborted"] += 1
                        s.rollback()
        except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
            failures.append(exc)

    seen: list[dict[str, Any]] = []

    def follower() -> None:
        try:
            with _client(keys["admin"]) as c:
                cursor = start
                while True:
                    finished = done.is_set()
                    body = page(c, cursor, limit=5)
                    seen.extend(body["items"])
                    if body["next_cursor"] == cursor and finished:
                        return
                    cursor = body["next_cursor"]
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    reader = threading.Thread(target=follower)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join(timeout=120)
    assert not failures, failures
    assert not reader.is_alive()

    # A transaction held open while others committed: what a reader ordering by the
    # order of writing would skip. Without any, the test would test nothing.
    assert stats["overtaken"] > 0, stats
    cursors = [decode_cursor(i["cursor"]) for i in seen]
    assert cursors == sorted(set(cursors)), "a cursor repeated or went backwards"
    seqs = [c.seq for c in cursors]
    late = sum(1 for n in range(1, len(seqs)) if seqs[n] < max(seqs[:n]))
    last: dict[tuple[str, int], tuple[str, int | None]] = {}
    for i in seen:
        last[(i["entity"], i["id"])] = (i["op"], i["version"])
    alive = {k: v for k, (op, v) in last.items() if op in ("create", "update")}
    with Session(engine) as s:
        tables = {("person", r.id): r.version for r in s.exec(
            select(Person).where(col(Person.id).in_(people)))}
        tables |= {("offence", r.id): r.version for r in s.exec(
            select(Offence).where(col(Offence.person_id).in_(people)))}
        tables |= {("custody", r.id): r.version for r in s.exec(
            select(CustodyPeriod).where(col(CustodyPeriod.person_id).in_(people)))}
    missing = sorted(set(tables) - set(alive))
    stale = sorted(k for k in set(tables) & set(alive) if tables[k] != alive[k])
    extra = sorted(set(alive) - set(tables))
    assert (missing, stale, extra) == ([], [], []), (
        f"{len(missing)} records never seen, {len(stale)} at an old version, {len(extra)} "
        f"deletions not seen (of {len(tables)} records)")
    print(f"\nfollower: {len(seen)} entries, {late} committed after a higher seq was seen; "
          f"writers: {stats}")


# --- retention ----------------------------------------------------------------------------

def test_pruning_refuses_cursors_from_before_it(admin: TestClient, engine: Engine,
                                                database_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import main

    with command_line_on(database_url, monkeypatch):
        assert main(["changes", "prune", "--older-than-days", "30"]) == 0  # nothing that old
    for _ in range(3):  # entries past the first cursor to prune (SQLite keeps the newest)
        _person(admin)
    old = page(admin, limit=1)["items"][0]["cursor"]
    with connect(database_url, write=True) as conn:
        assert prune(conn, datetime.now(UTC) + timedelta(days=1)) > 0
    gone = admin.get("/changes", params={"after": old})
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"].startswith("application/problem+json")
    # A new follower starts where the pruning stopped (SQLite keeps the newest entry: its
    # next seq is the largest plus one), and follows on from there.
    kept, cursor = follow(admin)
    assert len(kept) <= 1 and page(admin, cursor) == {"items": [], "next_cursor": cursor}
    assert admin.get("/changes/head").json()["next_cursor"] == cursor
    pid = _person(admin)
    assert brief(follow(admin, cursor)[0]) == [("person", pid, pid, "create", 1)]
