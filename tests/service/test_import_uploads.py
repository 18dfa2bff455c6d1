"""Every import also takes a form upload (curl -F file=@extract.csv): the part's own
Content-Type, or else the file name's extension, gives the format."""

import pytest
from fastapi.testclient import TestClient

from service.config import get_settings
from tests.factories import pnc_id
from tests.service.import_helpers import (
    PERSON_HEADER,
    PROBLEM,
    counts,
    error_locs,
    import_people,
    person_row,
    to_csv,
    to_ndjson,
)


def upload(client: TestClient, kind: str, name: str, body: str | bytes,
           part_type: str | None = None) -> object:
    data = body.encode() if isinstance(body, str) else body
    file = (name, data) if part_type is None else (name, data, part_type)
    return client.post(f"/imports/{kind}", files={"file": file})


@pytest.mark.parametrize(("name", "part_type"), [
    ("people.csv", "text/csv"),
    ("people.csv", "application/octet-stream"),        # what curl -F sends for a .csv
    ("PEOPLE.CSV", None),
    ("extract", "text/csv; charset=utf-8"),            # no extension: the part type says
])
def test_a_csv_upload_imports_like_a_csv_body(client: TestClient, name: str,
                                              part_type: str | None) -> None:
    rows = [person_row(pnc_id()), person_row(pnc_id(), area="BANES")]
    resp = upload(client, "persons", name, to_csv(PERSON_HEADER, rows), part_type)
    assert resp.status_code == 200, resp.text  # type: ignore[attr-defined]
    assert resp.json() == counts(2, 0, 0, rows=2)  # type: ignore[attr-defined]


def test_ndjson_uploads_for_every_record_kind(client: TestClient) -> None:
    (a,) = import_people(client, 1)
    files = {
        "offences": ("offences.ndjson", [{"pnc_id": a, "offence_date": "2024-01-05",
                                          "offence_type": "shoplifting", "source": "up",
                                          "source_ref": "U1"}]),
        "custody": ("custody.jsonl", [{"pnc_id": a, "start_on": "2024-02-01", "source": "up",
                                       "source_ref": "U2"}]),
        "memberships": ("members.ndjson", [{"pnc_id": a, "cohort": "fixed", "stream": "nsac",
                                            "area": "BRISTOL", "adopted_on": "2024-01-15",
                                            "source": "up", "source_ref": "U3"}]),
        "referrals": ("referrals.ndjson", [{"pnc_id": a, "referring_agency": "probation",
                                            "requested_stream": "nsac", "reason": "test",
                                            "referred_on": "2024-01-10", "source": "up",
                                            "source_ref": "U4"}]),
    }
    for kind, (name, rows) in files.items():
        resp = upload(client, kind, name, to_ndjson(rows), "application/octet-stream")
        assert resp.status_code == 200, (kind, resp.text)  # type: ignore[attr-defined]
        assert resp.json()["inserted"] == 1, kind  # type: ignore[attr-defined]
    again = upload(client, "custody", "custody.txt", to_ndjson(files["custody"][1]),
                   "application/x-ndjson")
    assert again.json() == counts(0, 0, 1, rows=1)  # type: ignore[attr-defined]


def test_errors_in_an_upload_name_the_file_lines(client: TestClient) -> None:
    body = to_csv(PERSON_HEADER, [person_row(pnc_id()), person_row(pnc_id(), area="ATLANTIS")])
    assert error_locs(upload(client, "persons", "people.csv", body)) == [(3, "home_area")]


@pytest.mark.parametrize(("name", "part_type"), [
    ("people.txt", "application/octet-stream"),
    ("people", None),
    ("people.csv", "text/csv; charset=latin-1"),
    ("people.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_an_upload_of_unknown_format_is_415(client: TestClient, name: str,
                                            part_type: str | None) -> None:
    resp = upload(client, "persons", name, "pnc_id\n", part_type)
    assert resp.status_code == 415, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    assert "multipart/form-data" in resp.headers["accept-post"]  # type: ignore[attr-defined]


def test_a_form_without_the_file_field_or_with_two_files_is_a_4xx_problem(
        client: TestClient) -> None:
    body = to_csv(PERSON_HEADER, [person_row(pnc_id())]).encode()
    wrong = client.post("/imports/persons", files={"upload": ("people.csv", body)})
    assert error_locs(wrong) == [("file",)]
    text_field = client.post("/imports/persons", data={"file": "not a file"},
                             files={"other": ("x.csv", body)})
    assert error_locs(text_field) == [("file",)]
    two = client.post("/imports/persons", files=[("file", ("a.csv", body)),
                                                 ("file", ("b.csv", body))])
    assert two.status_code == 400 and two.headers["content-type"].startswith(PROBLEM)
    broken = client.post("/imports/persons", content=b"--x\r\nnonsense",
                         headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= broken.status_code < 500, broken.text
    assert broken.headers["content-type"].startswith(PROBLEM)


def test_an_upload_over_the_import_size_cap_is_413(client: TestClient) -> None:
    data = b"x" * (get_settings().max_import_body_bytes + 1)
    resp = upload(client, "custody", "custody.csv", data, "text/csv")
    assert resp.status_code == 413  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
