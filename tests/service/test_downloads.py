"""File downloads as their own operations (GET /shortlists/migration.csv, .xlsx, the exit
review's, GET /reports/idiom.csv): the same files as ?format=, with their real media
types, audited as disclosures, and the contract saying so."""

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AuditAction, AuditEvent
from service.exports import XLSX_MEDIA_TYPE
from service.main import app
from tests.conftest import KeyMaker
from tests.factories import membership_body, offence_body, person_body

PARAMS = {"area": "BRISTOL", "stream": "nsac", "as_of": "2024-06-30"}


def _member_and_candidate(client: TestClient) -> None:
    for adopted, offences in ((True, ["2022-01-01"]), (False, ["2024-02-01", "2024-06-01"])):
        pid = client.post("/persons", json=person_body(home_area="BRISTOL")).json()["id"]
        for day in offences:
            client.post(f"/persons/{pid}/offences", json=offence_body(offence_date=day))
        if adopted:
            client.post("/cohort/memberships",
                        json=membership_body(pid, adopted_on="2022-06-01"))


def _table(resp: Any) -> str:
    # Everything below the comment lines (which carry the export id and the time).
    lines = resp.content.decode("utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("#"))


def test_csv_downloads_are_the_format_csv_files(client: TestClient, session: Session) -> None:
    _member_and_candidate(client)
    for path in ("/shortlists/migration", "/shortlists/exits"):
        old = client.get(path, params={**PARAMS, "format": "csv"})
        new = client.get(f"{path}.csv", params=PARAMS)
        assert new.status_code == 200, new.text
        assert new.headers["content-type"] == "text/csv; charset=utf-8"
        assert new.headers["content-disposition"].startswith("attachment; filename=")
        assert _table(new) == _table(old) and _table(new).count("\n") >= 2
        event = session.exec(select(AuditEvent).where(
            AuditEvent.export_id == new.headers["x-export-id"])).one()
        assert event.action == AuditAction.disclosure


def test_xlsx_downloads_are_workbooks_and_octet_stream_on_request(client: TestClient) -> None:
    _member_and_candidate(client)
    for path, sheet in (("/shortlists/migration.xlsx", "Candidates"),
                        ("/shortlists/exits.xlsx", "Exit review")):
        resp = client.get(path, params=PARAMS)
        assert resp.status_code == 200 and resp.headers["content-type"] == XLSX_MEDIA_TYPE
        assert sheet in load_workbook(io.BytesIO(resp.content)).sheetnames
        raw = client.get(path, params=PARAMS, headers={"Accept": "application/octet-stream"})
        assert raw.headers["content-type"] == "application/octet-stream"
        assert raw.content[:2] == b"PK"
        both = client.get(path, params=PARAMS, headers={
            "Accept": f"application/octet-stream, {XLSX_MEDIA_TYPE}"})
        assert both.headers["content-type"] == XLSX_MEDIA_TYPE


def test_idiom_csv_is_the_format_csv_table(client: TestClient) -> None:
    query = {"as_of": "2023-01-01"}
    new = client.get("/reports/idiom.csv", params=query)
    assert new.status_code == 200 and new.headers["content-type"].startswith("text/csv")
    assert "idiom_2023-01-01.csv" in new.headers["content-disposition"]
    assert new.text == client.get("/reports/idiom", params={**query, "format": "csv"}).text
    bad = client.get("/reports/idiom.csv", params={"counting": "charged"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "counting"]


def test_downloads_need_a_person_level_role_and_a_justification(
        anon_client: TestClient, make_key: KeyMaker) -> None:
    analyst = {"Authorization": f"Bearer {make_key('analyst')}", "X-Justification": "x"}
    for path in ("/shortlists/migration.csv", "/shortlists/exits.xlsx"):
        assert anon_client.get(path, params=PARAMS).status_code == 401
        assert anon_client.get(path, params=PARAMS, headers=analyst).status_code == 403
        admin = {"Authorization": f"Bearer {make_key('admin')}"}
        resp = anon_client.get(path, params=PARAMS, headers=admin)
        assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == [
            "header", "x-justification"]


def test_the_contract_lists_each_download_with_its_media_type_and_json_without_format() -> None:
    paths = app.openapi()["paths"]
    for path in ("/shortlists/migration", "/shortlists/exits", "/reports/idiom"):
        op = paths[path]["get"]
        assert "format" not in [p["name"] for p in op["parameters"]]
        assert list(op["responses"]["200"]["content"]) == ["application/json"]
        csv = paths[f"{path}.csv"]["get"]["responses"]["200"]["content"]
        assert csv == {"text/csv": {"schema": {"type": "string"}}}
    for path in ("/shortlists/migration.xlsx", "/shortlists/exits.xlsx"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert list(content) == [XLSX_MEDIA_TYPE, "application/octet-stream"]
        assert all(c["schema"] == {"type": "string", "format": "binary"}
                   for c in content.values())
