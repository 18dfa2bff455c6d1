"""Request ids, JSON logs without personal data, Prometheus metrics."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.observability import JsonFormatter
from tests.conftest import KeyMaker
from tests.factories import offence_body, person_body, pnc_id


def test_logs_never_contain_names_birth_dates_or_pnc_ids(
        client: TestClient, anon_client: TestClient, make_key: KeyMaker,
        caplog: pytest.LogCaptureFixture) -> None:
    pnc = pnc_id(1987, 7654321)
    person = person_body(pnc_id=pnc, given_name="Zebedee", family_name="Quixotic",
                         date_of_birth="1987-02-13")
    caplog.set_level(logging.DEBUG)
    pid = client.post("/persons", json=person).json()["id"]
    client.post("/persons", json=person)  # 409
    client.get("/persons", params={"pnc_id": pnc})
    client.get("/persons", params={"pnc_id": pnc[:-1] + "Z"})  # bad check letter: 422
    client.get(f"/persons/{pid}")
    client.patch(f"/persons/{pid}", json={"family_name": "Quixotic-Jones"},
                 headers={"If-Match": '"1"'})
    client.post(f"/persons/{pid}/offences", json=offence_body(victim_ref="VICTIM-Zebedee"))
    banes_key = make_key("offender_manager", areas=["BANES"])
    anon_client.get(f"/persons/{pid}", headers={"X-API-Key": banes_key,
                                                "X-Justification": "x"})  # refused, logged
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any('"route": "/persons/{person_id}"' in line for line in lines)
    text = "\n".join(lines)
    for secret in ("Zebedee", "Quixotic", "1987-02-13", "13/02/1987", pnc, pnc[2:],
                   pnc.replace("/", "%2F")):
        assert secret not in text, secret
    assert "outside the key's areas" in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/areas", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/areas", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_log_lines_are_json_with_request_id(client: TestClient,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iomscore.access")
    client.get("/areas", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "iomscore.access")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["route"] == "/areas" and entry["status"] == 200
    assert entry["method"] == "GET" and entry["duration_ms"] >= 0


def test_metrics_count_requests_by_route(client: TestClient, anon_client: TestClient) -> None:
    client.get("/areas")
    assert anon_client.get("/metrics").status_code == 401
    body = client.get("/metrics").text
    assert 'iom_http_requests_total{method="GET",route="/areas",status="200"}' in body
    assert "iom_http_request_duration_seconds_bucket" in body


def test_metrics_count_import_rows(client: TestClient) -> None:
    body = "pnc_id,date_of_birth,sex,home_area\n" + f"{pnc_id()},1990-01-01,male,BANES\n"
    assert client.post("/imports/persons", content=body,
                       headers={"content-type": "text/csv"}).status_code == 200
    metrics = client.get("/metrics").text
    line = next(ln for ln in metrics.splitlines()
                if ln.startswith('iom_import_rows_total{kind="persons",result="inserted"}'))
    assert float(line.split()[-1]) >= 1
