"""Two uvicorn workers on PostgreSQL, many clients at once: nothing lost, nothing duplicated."""

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, Role
from service.store.keys import create_key
from tests.factories import pnc_id
from tests.servers import uvicorn_served

pytestmark = pytest.mark.postgres_only

CLIENTS = 8


@pytest.fixture(scope="module")
def server(engine: Engine, database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The app under two uvicorn worker processes on this module's scratch database."""
    with Session(engine) as session:
        _, key = create_key(session=session, key_in=ApiKeyCreate(name="load", role=Role.admin))
    env = {**os.environ, "DATABASE_URL": database_url}
    with uvicorn_served(env, options=["--workers", "2", "--no-access-log"]) as base:
        yield base, {"Authorization": f"Bearer {key}", "X-Justification": "load test"}


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_overlapping_imports_at_once_insert_each_record_once(
        server: tuple[str, dict[str, str]], engine: Engine) -> None:
    base, headers = server
    pncs = [pnc_id() for _ in range(40)]
    people = "pnc_id,date_of_birth,sex,home_area\n" + "".join(
        f"{p},1990-01-01,male,BRISTOL\n" for p in pncs)
    # every client sends the same people file at once: each person is inserted exactly once
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda _: httpx.post(
            f"{base}/imports/persons", content=people, timeout=60,
            headers={**headers, "content-type": "text/csv"}), range(CLIENTS)))
    assert [r.status_code for r in results] == [200] * CLIENTS, [r.text for r in results]
    assert sum(r.json()["inserted"] for r in results) == len(pncs)

    def offence_file(client: int) -> str:
        # each file shares half its references with the next client's file
        refs = range(client * 50, client * 50 + 100)
        return "pnc_id,offence_date,offence_type,source,source_ref\n" + "".join(
            f"{pncs[r % len(pncs)]},2024-0{1 + r % 9}-1{r % 10},shoplifting,load,L{r}\n"
            for r in refs)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda c: httpx.post(
            f"{base}/imports/offences", content=offence_file(c), timeout=60,
            headers={**headers, "content-type": "text/csv"}), range(CLIENTS)))
    assert [r.status_code for r in results] == [200] * CLIENTS, [r.text for r in results]
    distinct = CLIENTS * 50 + 50
    assert sum(r.json()["inserted"] for r in results) == distinct
    assert _count(engine, "SELECT count(*) FROM offences WHERE source = 'load'") == distinct
    assert _count(engine, "SELECT count(DISTINCT source_ref) FROM offences "
                          "WHERE source = 'load'") == distinct


def test_concurrent_membership_updates_lose_nothing(server: tuple[str, dict[str, str]]) -> None:
    base, headers = server
    person = httpx.post(f"{base}/persons", headers=headers, json={
        "pnc_id": pnc_id(), "date_of_birth": "1985-05-05", "home_area": "BANES"}).json()
    membership = httpx.post(f"{base}/cohort/memberships", headers=headers, json={
        "person_id": person["id"], "cohort": "fixed", "stream": "nsac", "area": "BANES",
        "adopted_on": "2024-01-01"}).json()
    url = f"{base}/cohort/memberships/{membership['id']}"
    updates_each = 5

    def update(client: int) -> tuple[int, int]:
        done = stale = 0
        with httpx.Client(headers=headers, timeout=30) as http:
            for _ in range(200):  # bounded: retries on a stale ETag, as a client should
                if done == updates_each:
                    break
                current = http.get(url)
                resp = http.patch(url, json={"offender_manager": f"OM {client} #{done}"},
                                  headers={"If-Match": current.headers["etag"]})
                if resp.status_code == 200:
                    done += 1
                else:
                    assert resp.status_code == 412, resp.text
                    stale += 1
        return done, stale

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(update, range(CLIENTS)))
    assert all(done == updates_each for done, _ in outcomes)
    final = httpx.get(url, headers=headers).json()
    # every successful write bumped the version exactly once: none was silently overwritten
    assert final["version"] == 1 + CLIENTS * updates_each
