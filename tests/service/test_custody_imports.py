"""Custody spells imported in bulk: idempotent on (source, source_ref), releases arriving
later are updates, the date and no-overlap rules hold across the register and the file."""

import threading
import time
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, CustodyPeriod, Person
from scoring.uk_calendar import uk_today
from service.errors import InvalidInput
from service.store import imports
from service.store.import_files import ImportFile
from service.store.import_records import KINDS, import_records
from tests.factories import pnc_id
from tests.service.import_helpers import (
    NDJSON,
    PERSON_HEADER,
    counts,
    error_locs,
    error_types,
    import_people,
    person_id,
    person_row,
    post,
    to_csv,
    to_ndjson,
)

HEADER = ("pnc_id", "start_on", "end_on", "reason", "sentence_months", "source", "source_ref")


def spell(pnc: str, ref: str, start: str = "2023-05-02", end: str | None = None,
          **kw: object) -> list[object]:
    values: dict[str, object] = {"pnc_id": pnc, "start_on": start, "end_on": end,
                                 "reason": "sentence", "sentence_months": 18,
                                 "source": "pnc", "source_ref": ref}
    values.update(kw)
    return [values[c] for c in HEADER]


def stored(session: Session, source: str = "pnc") -> list[CustodyPeriod]:
    return list(session.exec(select(CustodyPeriod).where(CustodyPeriod.source == source)
                             .order_by(CustodyPeriod.source_ref)).all())


def test_custody_import_resend_unchanged_and_a_release_is_an_update(
        client: TestClient, session: Session) -> None:
    a, b = import_people(client)
    rows = [spell(a, "C1"), spell(a, "C2", "2020-01-01", "2020-06-30"),
            spell(b[2:], "C3", "2022-02-02", "2022-03-01", reason=None, sentence_months=None)]
    first = post(client, "custody", to_csv(HEADER, rows))
    assert first.status_code == 200, first.text
    assert first.json() == counts(3, 0, 0, rows=3)
    listed = client.get(f"/persons/{person_id(client, a)}/custody").json()
    assert listed["total"] == 2
    open_spell = next(s for s in listed["items"] if s["source_ref"] == "C1")
    assert (open_spell["source"], open_spell["end_on"], open_spell["version"]) == (
        "pnc", None, 1)

    assert post(client, "custody", to_csv(HEADER, rows)).json() == counts(0, 0, 3, rows=3)

    # The nightly feed sends the spell again, now with its release date.
    rows[0] = spell(a, "C1", end="2024-08-30")
    released = post(client, "custody", to_csv(HEADER, rows))
    assert released.json() == counts(0, 1, 2, rows=3)
    got = client.get(f"/persons/{person_id(client, a)}/custody/{open_spell['id']}")
    assert (got.json()["end_on"], got.json()["version"]) == ("2024-08-30", 2)
    assert got.headers["etag"] == '"2"'
    assert got.json()["updated_at"] > open_spell["updated_at"]
    assert [s.version for s in stored(session)] == [2, 1, 1]
    event = session.exec(select(AuditEvent).where(AuditEvent.route == "/imports/custody")
                         .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and event.action == "alteration"
    assert sorted(event.person_ids) == sorted([person_id(client, a), person_id(client, b)])
    assert "3 rows, 0 inserted, 1 updated, 2 unchanged" in (event.detail or "")


def test_custody_bad_rows_are_all_listed_and_nothing_is_written(
        client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)  # born 1990-04-01
    pid = person_id(client, a)
    before = client.post(f"/persons/{pid}/custody",
                         json={"start_on": "2010-01-01", "end_on": "2010-12-31"})
    assert before.status_code == 201, before.text
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    rows = [
        spell(a, "E1"),                                              # 2 fine
        spell(a, "E2", "2021-05-01", "2021-04-01"),                  # 3 ends before it starts
        spell(a, "E3", tomorrow),                                    # 4 starts in the future
        spell(a, "E4", "2019-01-01", tomorrow),                      # 5 release in the future
        spell(a, "E5", "1985-01-01", "1985-02-01"),                  # 6 before birth
        spell(pnc_id(), "E6", "2015-01-01", "2015-02-01"),           # 7 nobody with that PNC
        spell(a, None, "2016-01-01", "2016-02-01"),                  # 8 no source_ref
        spell(a, "E8", "2010-06-01", "2011-01-01"),                  # 9 overlaps the stored one
        spell(a, "E9", "2017-01-01", "2017-02-01", sentence_months=0),  # 10 bad sentence
        spell(a, "E10", "2018-01-01", "not-a-date"),                 # 11 bad date
        spell(a, "E1", "2012-01-01", "2012-02-01"),                  # 12 duplicate of line 2
    ]
    resp = post(client, "custody", to_csv(HEADER, rows))
    assert error_types(resp) == [
        (3, "end_on", "value_error"), (4, "start_on", "value_error"),
        (5, "end_on", "value_error"), (6, "start_on", "value_error"),
        (7, "pnc_id", "unknown_person"), (8, "source_ref", "missing"),
        (9, "start_on", "overlap"), (10, "sentence_months", "greater_than_equal"),
        (11, "end_on", "date_from_datetime_parsing"), (12, "source_ref", "duplicate"),
    ]
    assert "10 custody row(s)" in resp.json()["detail"]
    assert f"custody period {before.json()['id']}" in resp.json()["errors"][6]["msg"]
    assert stored(session) == []
    assert client.get(f"/persons/{pid}/custody").json()["total"] == 1


def test_overlapping_spells_inside_one_file_are_row_errors(client: TestClient,
                                                           session: Session) -> None:
    a, b = import_people(client)
    rows = [
        {"pnc_id": a, "start_on": "2020-01-01", "end_on": "2020-03-01", "source": "nd",
         "source_ref": "O1"},
        {"pnc_id": a, "start_on": "2020-02-15", "end_on": "2020-04-01", "source": "nd",
         "source_ref": "O2"},                                   # inside O1
        {"pnc_id": a, "start_on": "2021-01-01", "source": "nd", "source_ref": "O3"},  # open
        {"pnc_id": a, "start_on": "2023-01-01", "end_on": "2023-02-01", "source": "nd",
         "source_ref": "O4"},                                   # while O3 is open
        {"pnc_id": b, "start_on": "2020-01-01", "end_on": "2020-03-01", "source": "nd",
         "source_ref": "O5"},                                   # another person: fine
        {"pnc_id": b, "start_on": "2020-03-01", "end_on": "2020-04-01", "source": "nd",
         "source_ref": "O6"},                                   # same day as O5's release
    ]
    resp = post(client, "custody", to_ndjson(rows), NDJSON)
    assert error_locs(resp) == [(2, "start_on"), (4, "start_on"), (6, "start_on")]
    messages = [e["msg"] for e in resp.json()["errors"]]
    assert "line 1" in messages[0] and "line 3" in messages[1] and "line 5" in messages[2]
    assert stored(session, "nd") == []

    # Apart, they are fine; and a re-sent spell is judged as changed, not against itself.
    fine = [rows[0], rows[2], rows[4]]
    assert post(client, "custody", to_ndjson(fine), NDJSON).json() == counts(3, 0, 0, rows=3)
    moved = [dict(rows[0], start_on="2019-12-01"), dict(rows[2], end_on="2021-06-01"),
             rows[4], dict(rows[3], start_on="2021-06-02", end_on="2021-07-01")]
    assert post(client, "custody", to_ndjson(moved), NDJSON).json() == counts(1, 2, 1, rows=4)
    # A re-sent spell cannot be moved onto another of the person's spells.
    clash = [dict(rows[0], end_on="2021-06-10")]
    assert error_locs(post(client, "custody", to_ndjson(clash), NDJSON)) == [(1, "start_on")]


def test_a_reference_another_person_holds_is_a_row_error(client: TestClient) -> None:
    a, b = import_people(client)
    assert post(client, "custody", to_csv(HEADER, [spell(a, "X1")])).status_code == 200
    resp = post(client, "custody", to_csv(HEADER, [spell(b, "X1")]))
    assert error_types(resp) == [(2, "source_ref", "conflict")]


def test_custody_by_person_id_and_api_spells_are_source_api(client: TestClient) -> None:
    (a,) = import_people(client, 1)
    pid = person_id(client, a)
    made = client.post(f"/persons/{pid}/custody", json={"start_on": "2001-01-01",
                                                        "end_on": "2001-02-01"}).json()
    assert (made["source"], made["source_ref"]) == ("api", None)
    body = to_ndjson([{"person_id": pid, "start_on": "2002-01-01", "source": "pnc",
                       "source_ref": f"P{pid}"},
                      {"person_id": pid, "pnc_id": pnc_id(), "start_on": "2003-01-01",
                       "source": "pnc", "source_ref": f"Q{pid}"}])
    assert error_types(post(client, "custody", body, NDJSON)) == [(2, "pnc_id", "unknown_person")]
    assert post(client, "custody", body.splitlines()[0] + "\n", NDJSON).json()["inserted"] == 1


def test_a_deleted_or_erased_spell_is_skipped_when_sent_again(client: TestClient) -> None:
    a, b = import_people(client)
    rows = [spell(a, "D1", "2020-01-01", "2020-02-01"), spell(b, "D2", "2020-01-01")]
    assert post(client, "custody", to_csv(HEADER, rows)).json()["inserted"] == 2
    pa = person_id(client, a)
    first = client.get(f"/persons/{pa}/custody").json()["items"][0]
    assert client.delete(f"/persons/{pa}/custody/{first['id']}",
                         params={"reason": "recorded_in_error"}).status_code == 204
    again = post(client, "custody", to_csv(HEADER, rows)).json()
    assert (again["unchanged"], again["skipped_erased"]) == (1, 1)
    assert client.get(f"/persons/{pa}/custody").json()["total"] == 0
    restored = client.post("/imports/custody", params={"restore_erased": "true"},
                           content=to_csv(HEADER, rows).encode(),
                           headers={"Content-Type": "text/csv"}).json()
    assert (restored["inserted"], restored["skipped_erased"]) == (1, 0)
    # An erased person's spells, named by PNC ID or by the id they had, are skipped.
    pb = person_id(client, b)
    assert client.delete(f"/persons/{pb}", params={"reason": "court_order"}).status_code == 204
    by_id = to_ndjson([{"person_id": pb, "start_on": "2020-01-01", "source": "pnc",
                        "source_ref": "D2"}])
    skipped: Any = post(client, "custody", by_id, NDJSON).json()
    assert (skipped["skipped_erased"], skipped["inserted"]) == (1, 0)
    assert post(client, "custody", to_csv(HEADER, rows)).json()["skipped_erased"] == 1


def test_one_hundred_thousand_custody_spells_in_one_request(client: TestClient,
                                                            session: Session) -> None:
    n_people, per_person = 20_000, 5
    pncs = [pnc_id(1985) for _ in range(n_people)]
    people = to_csv(PERSON_HEADER, [person_row(p, born="1985-06-01") for p in pncs])
    assert post(client, "persons", people).json()["inserted"] == n_people
    lines = [",".join(HEADER)]
    start = date(2010, 1, 1)
    for i, pnc in enumerate(pncs):
        for k in range(per_person):
            begins = start + timedelta(days=400 * k + i % 300)
            ends = "" if k == per_person - 1 and i % 3 == 0 else begins + timedelta(days=90)
            lines.append(f"{pnc},{begins},{ends},sentence,{3 + k},bulk,CUS-{i:06d}-{k}")
    body = "\n".join(lines) + "\n"
    started = time.perf_counter()
    resp = post(client, "custody", body)
    took = time.perf_counter() - started
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json() == counts(n_people * per_person, 0, 0, rows=n_people * per_person)
    count = session.exec(select(func.count()).select_from(CustodyPeriod)
                         .where(CustodyPeriod.source == "bulk")).one()
    assert count == n_people * per_person
    print(f"\n100,000 custody rows imported in {took:.1f} s")
    # A generous bound: it guards against a per-row query or quadratic step creeping in.
    assert took < 60


def test_two_imports_at_once_cannot_both_write_overlapping_spells(engine: Engine) -> None:
    # Real commits on the module's database (no rolled-back test session): cleaned up below.
    pncs = [pnc_id() for _ in range(300)]
    people = to_csv(PERSON_HEADER, [person_row(p) for p in pncs])
    files = [to_csv(HEADER, [spell(p, f"{tag}-{p}", start, end) for p in pncs])
             for tag, start, end in (("RA", "2020-01-01", "2020-03-01"),
                                     ("RB", "2020-02-01", "2020-04-01"))]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(text: str) -> None:
        with Session(engine) as s:
            barrier.wait()
            try:
                import_records(KINDS["custody"], session=s,
                               file=ImportFile("csv", text.encode()), max_rows=10**6)
                s.commit()  # what the route's audit event does
                outcomes.append("written")
            except InvalidInput as exc:
                kinds = {e["type"] for e in exc.errors or []}
                outcomes.append(f"refused: {','.join(sorted(kinds))}")
            except BaseException as exc:  # reported by the assertion below
                outcomes.append(f"failed: {type(exc).__name__}")

    try:
        with Session(engine) as s:
            imports.import_persons(session=s, file=ImportFile("csv", people.encode()),
                                   max_rows=10**6)
            s.commit()
        threads = [threading.Thread(target=run, args=(f,)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["refused: overlap", "written"]
        with Session(engine) as s:
            stored = s.exec(select(func.count()).select_from(CustodyPeriod).where(
                CustodyPeriod.source_ref.like("R_-%"))).one()  # type: ignore[union-attr]
        assert stored == len(pncs)
    finally:
        with Session(engine) as s:
            ids = select(Person.id).where(Person.pnc_id.in_(pncs))  # type: ignore[attr-defined]
            s.execute(delete(CustodyPeriod).where(CustodyPeriod.person_id.in_(ids)))  # type: ignore[arg-type,attr-defined]
            s.execute(delete(Person).where(Person.pnc_id.in_(pncs)))  # type: ignore[arg-type,attr-defined]
            s.commit()
