"""Bulk imports through HTTP: CSV and NDJSON, idempotence, all-or-nothing errors, limits, scale."""

import threading
import time
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Offence, Person
from models.imports import ImportSummary
from scoring.uk_calendar import uk_today
from service.config import get_settings
from service.deps import catalogue_for, current_settings
from service.main import app
from service.store import imports as store
from tests.factories import pnc_id
from tests.service.import_helpers import (
    CSV,
    NDJSON,
    PERSON_HEADER,
    PROBLEM,
    counts,
    error_locs,
    import_people,
    person_row,
    post,
    to_csv,
    to_ndjson,
)

OFFENCE_HEADER = ("pnc_id", "offence_date", "offence_type", "ho_code", "domestic_abuse",
                  "outcome", "source", "source_ref")


def offence_row(pnc: str, ref: str, **kw: object) -> list[object]:
    values: dict[str, object] = {"pnc_id": pnc, "offence_date": "2024-03-10",
                                 "offence_type": "burglary_residential", "ho_code": None,
                                 "domestic_abuse": "no", "outcome": "charge", "source": "niche",
                                 "source_ref": ref}
    values.update(kw)
    return [values[c] for c in OFFENCE_HEADER]


def offences_for(session: Session, source: str) -> list[Offence]:
    return list(session.exec(select(Offence).where(Offence.source == source)
                             .order_by(Offence.source_ref)).all())


# --- persons --------------------------------------------------------------------------------

def test_person_csv_import_stores_canonical_ids_and_resend_is_unchanged(
        client: TestClient) -> None:
    body = to_csv(PERSON_HEADER, [person_row("79/123456T"), person_row(pnc_id()),
                                  person_row(pnc_id(), area="BANES")])
    first = post(client, "persons", body)
    assert first.status_code == 200, first.text
    assert first.json() == counts(3, 0, 0, rows=3)
    found = client.get("/persons", params={"pnc_id": "1979/0123456T"}).json()
    assert found["total"] == 1 and found["items"][0]["pnc_id"] == "1979/0123456T"

    again = post(client, "persons", body)
    assert again.json() == counts(0, 0, 3, rows=3)


def test_person_changed_field_is_updated_with_new_version(client: TestClient) -> None:
    pnc = pnc_id()
    assert post(client, "persons", to_csv(PERSON_HEADER, [person_row(pnc)])).status_code == 200
    person = client.get("/persons", params={"pnc_id": pnc}).json()["items"][0]

    moved = to_ndjson([{"pnc_id": pnc, "given_name": "Alex", "family_name": "Example",
                        "date_of_birth": "1990-04-01", "sex": "male", "home_area": "BANES"}])
    resp = post(client, "persons", moved, NDJSON)
    assert resp.json() == counts(0, 1, 0, rows=1)
    got = client.get(f"/persons/{person['id']}")
    assert got.json()["home_area"] == "BANES"
    assert got.json()["version"] == person["version"] + 1
    assert got.headers["etag"] == f'"{person["version"] + 1}"'


def test_person_errors_list_every_bad_line_and_nothing_is_written(
        client: TestClient, session: Session) -> None:
    good, dup = pnc_id(), pnc_id()
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    rows = [
        person_row(good),                                  # line 2: fine
        person_row("1979/0123456A"),                       # line 3: wrong check letter
        person_row(pnc_id(), area="ATLANTIS"),             # line 4: unknown area
        person_row(dup),                                   # line 5: fine
        person_row(dup[2:]),                               # line 6: line 5 in short form
        person_row(pnc_id(), born=tomorrow),               # line 7: born in the future
        [pnc_id(), "A", "B", "1990-01-01", "m", "BRISTOL"],  # line 8: bad sex
    ]
    resp = post(client, "persons", to_csv(PERSON_HEADER, rows))
    assert sorted(error_locs(resp)) == [(3, "pnc_id"), (4, "home_area"), (6, "pnc_id"),
                                        (7, "date_of_birth"), (8, "sex")]
    assert "line 5" in resp.json()["errors"][2]["msg"]
    count = session.exec(select(func.count()).select_from(Person)
                         .where(Person.pnc_id.in_([good, dup]))).one()  # type: ignore[attr-defined]
    assert count == 0


def test_person_ndjson_with_every_field_round_trips_and_resends_unchanged(
        client: TestClient) -> None:
    pnc = pnc_id()
    record = {"pnc_id": pnc, "given_name": "Sam", "family_name": "Example",
              "date_of_birth": "1970-02-03", "sex": "female", "ethnicity": "W1",
              "home_area": "SOUTH_GLOS", "deceased_on": "2024-05-06"}
    body = to_ndjson([record]).replace("\n", "\r\n")  # Windows line ends are fine
    assert post(client, "persons", body, NDJSON).json()["inserted"] == 1
    stored = client.get("/persons", params={"pnc_id": pnc}).json()["items"][0]
    assert {k: stored[k] for k in record} == record
    assert post(client, "persons", body, NDJSON).json()["unchanged"] == 1


# --- offences -------------------------------------------------------------------------------

def test_offence_ndjson_import_then_resend_is_unchanged(client: TestClient,
                                                        session: Session) -> None:
    a, b = import_people(client)
    rows = [
        {"pnc_id": a, "offence_date": "2024-01-05", "offence_type": "shoplifting",
         "outcome": "charge", "source": "pnc-nd", "source_ref": "A1"},
        {"pnc_id": a, "offence_date": "2024-02-05", "ho_code": "028A", "domestic_abuse": True,
         "victim_ref": "v-9", "source": "pnc-nd", "source_ref": "A2"},
        {"pnc_id": b[2:], "offence_date": "2023-12-24", "offence_type": "public_order",
         "outcome": "caution", "outcome_date": "2024-01-02", "source": "pnc-nd",
         "source_ref": "B1"},
    ]
    first = post(client, "offences", to_ndjson(rows), NDJSON)
    assert first.json() == counts(3, 0, 0, rows=3)
    stored = offences_for(session, "pnc-nd")
    assert [o.offence_type for o in stored] == ["shoplifting", "burglary_residential",
                                                "public_order"]
    assert stored[1].domestic_abuse is True and stored[1].ho_code == "028A"
    assert stored[1].outcome == "pending"  # the model's default when not given

    again = post(client, "offences", to_ndjson(rows), "application/ndjson")
    assert again.json() == counts(0, 0, 3, rows=3)
    assert len(offences_for(session, "pnc-nd")) == 3


def test_offence_csv_import_and_changed_outcome_updates_one(client: TestClient,
                                                           session: Session) -> None:
    a, b = import_people(client)
    rows = [offence_row(a, "R1"), offence_row(a, "R2"), offence_row(b, "R3")]
    first = post(client, "offences", to_csv(OFFENCE_HEADER, rows))
    assert first.json() == counts(3, 0, 0, rows=3)
    person_id = client.get("/persons", params={"pnc_id": a}).json()["items"][0]["id"]
    listed = client.get(f"/persons/{person_id}/offences")
    assert listed.status_code == 200 and listed.json()["total"] == 2

    rows[1] = offence_row(a, "R2", outcome="conviction")
    resp = post(client, "offences", to_csv(OFFENCE_HEADER, rows))
    assert resp.json() == counts(0, 1, 2, rows=3)
    assert [o.outcome for o in offences_for(session, "niche") if o.person_id == person_id] == [
        "charge", "conviction"]


def test_offence_bad_rows_are_all_listed_and_nothing_is_written(client: TestClient,
                                                                session: Session) -> None:
    (a,) = import_people(client, 1)
    unknown_person = pnc_id()
    tomorrow = (uk_today() + timedelta(days=1)).isoformat()
    rows = [
        offence_row(a, "E1"),                                        # 2 fine
        offence_row(a, "E2", offence_date="2024-02-30"),             # 3 no such date
        offence_row(a, "E3", outcome="acquitted"),                   # 4 unknown outcome
        offence_row(unknown_person, "E4"),                           # 5 unknown person
        offence_row(a, "E5", offence_type="jaywalking"),             # 6 unknown type
        offence_row(a, "E6", offence_type=None, ho_code="999Z"),     # 7 unknown HO code
        offence_row(a, "E7", source_ref=None),                       # 8 no source_ref
        offence_row(a, "E8", offence_date=tomorrow),                 # 9 future
        offence_row(a, "E9", offence_date="1980-01-01"),             # 10 before birth
        offence_row(a, "E1"),                                        # 11 duplicate of line 2
        offence_row(a, "E10", domestic_abuse="maybe"),               # 12 not a boolean
        offence_row(a, "E11", offence_type=None),                    # 13 no type at all
    ]
    resp = post(client, "offences", to_csv(OFFENCE_HEADER, rows))
    assert error_locs(resp) == [
        (3, "offence_date"), (4, "outcome"), (5, "pnc_id"), (6, "offence_type"),
        (7, "ho_code"), (8, "source_ref"), (9, "offence_date"), (10, "offence_date"),
        (11, "source_ref"), (12, "domestic_abuse"), (13, "offence_type"),
    ]
    assert "11 offence row(s)" in resp.json()["detail"]
    assert offences_for(session, "niche") == []


def test_duplicate_references_within_one_file_name_the_first_line(client: TestClient) -> None:
    (a,) = import_people(client, 1)
    rows = [{"pnc_id": a, "offence_date": "2024-01-01", "offence_type": "other",
             "source": "pnc", "source_ref": ref} for ref in ("X", "Y", "X", "X")]
    resp = post(client, "offences", to_ndjson(rows), NDJSON)
    errors = resp.json()["errors"]
    assert error_locs(resp) == [(3, "source_ref"), (4, "source_ref")]  # NDJSON: no header
    assert all("line 1" in e["msg"] for e in errors)


def test_unknown_person_by_pnc_id_or_person_id_is_a_row_error(client: TestClient) -> None:
    rows = [{"pnc_id": pnc_id(), "offence_date": "2024-01-01", "offence_type": "other",
             "source": "pnc", "source_ref": "U1"},
            {"person_id": 987654321, "offence_date": "2024-01-01", "offence_type": "other",
             "source": "pnc", "source_ref": "U2"},
            {"offence_date": "2024-01-01", "offence_type": "other", "source": "pnc",
             "source_ref": "U3"}]
    resp = post(client, "offences", to_ndjson(rows), NDJSON)
    assert error_locs(resp) == [(1, "pnc_id"), (2, "person_id"), (3, "pnc_id")]


def test_person_id_and_ho_code_mapping(client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)
    person_id = client.get("/persons", params={"pnc_id": a}).json()["items"][0]["id"]
    rows = [{"person_id": person_id, "offence_date": "2024-01-01", "ho_code": "034B",
             "source": "map", "source_ref": "M1"},
            {"person_id": person_id, "pnc_id": a, "offence_date": "2024-01-01",
             "ho_code": "28A", "offence_type": "burglary_residential", "source": "map",
             "source_ref": "M2"}]
    resp = post(client, "offences", to_ndjson(rows), NDJSON)
    assert resp.status_code == 200, resp.text
    assert [o.offence_type for o in offences_for(session, "map")] == [
        "robbery_personal", "burglary_residential"]

    clash = [dict(rows[0], source_ref="M3", offence_type="shoplifting")]
    assert error_locs(post(client, "offences", to_ndjson(clash), NDJSON)) == [(1, "offence_type")]


def test_same_reference_for_another_person_is_a_row_error(client: TestClient,
                                                         session: Session) -> None:
    a, b = import_people(client)
    assert post(client, "offences", to_csv(OFFENCE_HEADER, [offence_row(a, "S1")])).json()[
        "inserted"] == 1
    resp = post(client, "offences", to_csv(OFFENCE_HEADER, [offence_row(a, "S2"),
                                                            offence_row(b, "S1")]))
    assert error_locs(resp) == [(3, "source_ref")]
    assert [o.source_ref for o in offences_for(session, "niche")] == ["S1"]


def test_csv_booleans_and_blank_cells(client: TestClient, session: Session) -> None:
    (a,) = import_people(client, 1)
    answers = ["true", "false", "1", "0", "yes", "no", "TRUE", "No", ""]
    rows = [offence_row(a, f"B{i}", domestic_abuse=v) for i, v in enumerate(answers)]
    resp = post(client, "offences", to_csv(OFFENCE_HEADER, rows))
    assert resp.status_code == 200, resp.text
    stored = {o.source_ref: o.domestic_abuse for o in offences_for(session, "niche")}
    assert [stored[f"B{i}"] for i in range(len(answers))] == [
        True, False, True, False, True, False, True, False, False]


# --- the file as a whole --------------------------------------------------------------------

def test_unsupported_media_type_is_415(client: TestClient) -> None:
    for media_type in ("application/json", "text/plain", "text/csv; charset=latin-1"):
        resp = post(client, "offences", "{}", media_type)
        assert resp.status_code == 415, media_type
        assert resp.headers["content-type"].startswith(PROBLEM)
    ok = post(client, "persons", to_csv(PERSON_HEADER, [person_row(pnc_id())]),
              "text/csv; charset=utf-8; header=present")
    assert ok.status_code == 200, ok.text


def test_octet_stream_is_told_csv_or_ndjson_from_the_file(client: TestClient) -> None:
    # What generated clients send: the format is read from the file itself.
    pncs = [pnc_id(), pnc_id()]
    as_csv = "\ufeff" + to_csv(PERSON_HEADER, [person_row(pncs[0])])
    resp = post(client, "persons", as_csv, "application/octet-stream")
    assert resp.json() == counts(1, 0, 0, rows=1), resp.text
    as_ndjson = "\n  " + to_ndjson([{"pnc_id": pncs[1], "date_of_birth": "1990-04-01",
                                     "home_area": "BRISTOL"}])
    resp = post(client, "persons", as_ndjson, "application/octet-stream")
    assert resp.json() == counts(1, 0, 0, rows=1), resp.text
    assert "application/octet-stream" in post(client, "persons", "x",
                                              "text/plain").headers["accept-post"]


@pytest.mark.parametrize(("media_type", "body"), [
    (CSV, ""), (CSV, ",".join(OFFENCE_HEADER) + "\n"), (NDJSON, "\n  \n"),
])
def test_empty_file_is_422(client: TestClient, media_type: str, body: str) -> None:
    resp = post(client, "offences", body, media_type)
    assert resp.status_code == 422
    assert "no data rows" in resp.json()["detail"]


def test_csv_header_must_name_known_and_required_columns(client: TestClient) -> None:
    body = "pnc_id,offence_date,offence_type,outcome_dte,source\nx,y,z,w,v\n"
    assert error_locs(post(client, "offences", body)) == [(1, "outcome_dte"), (1, "source_ref")]


def test_ragged_csv_and_bad_json_lines_are_row_errors(client: TestClient) -> None:
    (a,) = import_people(client, 1)
    csv_body = to_csv(OFFENCE_HEADER, [offence_row(a, "G1")]) + "too,few\n"
    assert error_locs(post(client, "offences", csv_body)) == [(3,)]
    nd_body = '{"pnc_id": "' + a + '"\n[1, 2]\n'
    assert error_locs(post(client, "offences", nd_body, NDJSON)) == [(1,), (2,)]


def test_line_numbers_count_lines_inside_quoted_csv_fields(client: TestClient) -> None:
    body = (",".join(PERSON_HEADER) + "\n"
            + f'{pnc_id()},"Alex\nJunior",Example,1990-01-01,male,BRISTOL\n'   # lines 2-3
            + f"{pnc_id()},Sam,Example,1990-01-01,male,ATLANTIS\n")             # line 4
    assert error_locs(post(client, "persons", body)) == [(4, "home_area")]


def test_nul_characters_and_out_of_range_ids_are_422_not_database_errors(
        client: TestClient) -> None:
    (a,) = import_people(client, 1)
    raw_nul = to_csv(OFFENCE_HEADER, [offence_row(a, "N1"), offence_row(a, "N\x002")])
    assert error_locs(post(client, "offences", raw_nul)) == [(3,)]
    escaped = [{"pnc_id": a, "offence_date": "2024-01-01", "offence_type": "other",
                "source": "pnc", "source_ref": "N\u0000"},
               {"person_id": 2**40, "offence_date": "2024-01-01", "offence_type": "other",
                "source": "pnc", "source_ref": "N3"}]
    assert error_locs(post(client, "offences", to_ndjson(escaped), NDJSON)) == [
        (1, "source_ref"), (2, "person_id")]


def test_row_cap_is_413(client: TestClient) -> None:
    app.dependency_overrides[current_settings] = lambda: get_settings().model_copy(
        update={"max_import_rows": 2})
    rows = [person_row(pnc_id()) for _ in range(3)]
    resp = post(client, "persons", to_csv(PERSON_HEADER, rows))
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert post(client, "persons", to_csv(PERSON_HEADER, rows[:2])).status_code == 200


def test_body_over_the_import_size_cap_is_413(client: TestClient) -> None:
    body = b"x" * (get_settings().max_import_body_bytes + 1)
    resp = client.post("/imports/offences", content=body, headers={"Content-Type": CSV})
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith(PROBLEM)


# --- scale and concurrency ------------------------------------------------------------------

def big_files(n_people: int, n_offences: int, *,
              source: str) -> tuple[list[str], str, str]:
    """PNC IDs, a person CSV and an offence CSV of realistic shape (deterministic)."""
    pncs = [pnc_id(1985) for _ in range(n_people)]
    people = to_csv(PERSON_HEADER, [person_row(p, born="1985-06-01") for p in pncs])
    types = ["shoplifting", "burglary_residential", "violence_with_injury", "public_order",
             "drugs_possession", "criminal_damage"]
    outcomes = ["charge", "conviction", "caution", "no_further_action", "pending"]
    lines = ["pnc_id,offence_date,offence_type,domestic_abuse,outcome,outcome_date,victim_ref,"
             "source,source_ref"]
    start = date(2019, 1, 1)
    for i in range(n_offences):
        day = start + timedelta(days=i % 1800)
        lines.append(f"{pncs[i % n_people]},{day},{types[i % 6]},{'yes' if i % 7 == 0 else 'no'},"
                     f"{outcomes[i % 5]},{day + timedelta(days=3)},v{i % 997},{source},"
                     f"{source.upper()}-{i:08d}")
    return pncs, people, "\n".join(lines) + "\n"


def test_one_hundred_thousand_offences_in_one_request(client: TestClient,
                                                      session: Session) -> None:
    _, people, offences = big_files(5_000, 100_000, source="bulk")
    assert post(client, "persons", people).json()["inserted"] == 5_000
    started = time.perf_counter()
    resp = post(client, "offences", offences)
    took = time.perf_counter() - started
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json() == counts(100_000, 0, 0, rows=100_000)
    count = session.exec(select(func.count()).select_from(Offence)
                         .where(Offence.source == "bulk")).one()
    assert count == 100_000
    print(f"\n100,000 offence rows imported in {took:.1f} s")
    # A generous bound: it guards against a per-row query or quadratic step creeping in.
    assert took < 60


def test_concurrent_overlapping_imports_neither_duplicate_nor_fail(engine: Engine) -> None:
    # Real commits on the module's database (no rolled-back test session): cleaned up below.
    pncs, people, offences = big_files(500, 20_000, source="race")
    header, *body = offences.splitlines()
    # Two extracts sharing half their rows, sent at the same moment.
    files = ["\n".join([header, *body[:15_000]]) + "\n",
             "\n".join([header, *body[5_000:]]) + "\n"]
    catalogue = catalogue_for(get_settings())
    results: list[ImportSummary] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(text: str) -> None:
        try:
            with Session(engine) as s:
                barrier.wait()
                results.append(store.import_offences(
                    session=s, file=store.ImportFile("csv", text.encode()),
                    catalogue=catalogue, max_rows=10**6))
                s.commit()  # what the route's audit event does
        except BaseException as exc:  # re-raised by the assertion below
            failures.append(exc)

    try:
        with Session(engine) as s:
            store.import_persons(session=s, file=store.ImportFile("csv", people.encode()),
                                 max_rows=10**6)
            s.commit()
        threads = [threading.Thread(target=run, args=(f,)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert sum(r.inserted for r in results) == 20_000
        assert all(r.inserted + r.unchanged == r.rows == 15_000 for r in results)
        with Session(engine) as s:
            stored = s.exec(select(func.count()).select_from(Offence)
                            .where(Offence.source == "race")).one()
        assert stored == 20_000
    finally:
        with Session(engine) as s:
            s.execute(delete(Offence).where(Offence.source == "race"))  # type: ignore[arg-type]
            s.execute(delete(Person).where(Person.pnc_id.in_(pncs)))  # type: ignore[arg-type,attr-defined]
            s.commit()


def test_an_import_is_audited_with_the_people_it_touched(client: TestClient) -> None:
    body = "pnc_id,given_name,date_of_birth,sex,home_area\n" + "\n".join(
        f"{pnc_id()},Audit,1990-01-0{i},male,BRISTOL" for i in range(1, 4)) + "\n"
    resp = client.post("/imports/persons", content=body, headers={"content-type": "text/csv"})
    assert resp.status_code == 200, resp.text
    assert "person_ids" not in resp.json()
    events = client.get("/admin/audit").json()["items"]
    event = next(e for e in events if e["route"] == "/imports/persons")
    assert event["action"] == "collection" and len(event["person_ids"]) == 3
    assert "3 rows, 3 inserted" in event["detail"]
