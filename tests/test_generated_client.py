"""A client generated from openapi.yaml works: the way an integrator starts.

openapi-python-client (a dev dependency) generates a client from the contract into a
temporary folder, with no warning about the spec; the test imports it and drives the app
in-process through it (its Client takes any httpx client, and the TestClient is one):
JSON reads, typed enums, a CSV as text and an XLSX as bytes, an import sent as a file,
and a refusal parsed into Problem with its field errors. Nothing is cached between runs.
"""

import datetime
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.factories import pnc_id

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "iomscore_client"
# No post hooks: the generator would otherwise run ruff over its output, which is slow
# and needs ruff on PATH; the code is imported, not read.
CONFIG = "post_hooks: []\n"
AS_OF = datetime.date(2024, 6, 30)
JUSTIFICATION = "generated client test"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported from a fresh temporary folder."""
    folder = tmp_path_factory.mktemp("client")
    config = folder / "config.yaml"
    config.write_text(CONFIG)
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate",
         "--path", str(ROOT / "openapi.yaml"), "--meta", "none",
         "--output-path", str(folder / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Any warning means a piece of the contract was left out of the client (or typed Any).
    said = [line for line in output.splitlines() if line.strip()
            and not line.startswith("Generating ")]
    assert said == [], output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def api(generated: ModuleType, client: TestClient) -> Any:
    """The generated client on the app, through the test's admin TestClient."""
    return generated.AuthenticatedClient(base_url=str(client.base_url),
                                         token="unused").set_httpx_client(client)


def test_the_generated_client_has_every_operation(generated: ModuleType) -> None:
    package = Path(generated.__file__).parent / "api"
    made = {p.stem for p in package.rglob("*.py") if p.stem != "__init__"}
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    ids = {op["operationId"] for ops in spec["paths"].values() for op in ops.values()}
    assert ids - made == set()
    for name in ("import_persons", "import_offences", "get_migration_shortlist_csv",
                 "get_migration_shortlist_xlsx", "idiom_report_csv"):
        assert name in made, name


def test_reads_downloads_and_an_import_through_the_generated_client(api: Any) -> None:
    models, types = _module("models"), _module("types")
    create_person = _module("api.persons.create_person")
    list_persons = _module("api.persons.list_persons")
    import_offences = _module("api.imports.import_offences")
    get_person_score = _module("api.scores.get_person_score")
    shortlist = _module("api.shortlists.get_migration_shortlist")
    shortlist_csv = _module("api.shortlists.get_migration_shortlist_csv")
    shortlist_xlsx = _module("api.shortlists.get_migration_shortlist_xlsx")
    idiom_report = _module("api.reports.idiom_report")
    idiom_report_csv = _module("api.reports.idiom_report_csv")

    # A JSON body, typed models and enums both ways.
    created = create_person.sync(client=api, body=models.PersonCreate(
        pnc_id=pnc_id(), date_of_birth=datetime.date(1995, 1, 1), home_area="BRISTOL",
        sex=models.Sex.MALE))
    assert isinstance(created, models.PersonRead), created
    person_id = created.id

    # An import: the file is a File body (sent as application/octet-stream).
    extract = ("pnc_id,offence_date,offence_type,outcome,source,source_ref\n"
               + "".join(f"{created.pnc_id},{day},burglary_residential,charge,niche,GC-{i}\n"
                         for i, day in enumerate(("2024-02-01", "2024-06-01"))))
    summary = import_offences.sync(client=api, body=types.File(
        payload=io.BytesIO(extract.encode()), file_name="offences.csv", mime_type="text/csv"))
    assert isinstance(summary, models.ImportSummary), summary
    assert (summary.inserted, summary.rows) == (2, 2)

    page = list_persons.sync(client=api, x_justification=JUSTIFICATION, home_area="BRISTOL")
    assert isinstance(page, models.PagePersonRead)
    assert person_id in [p.id for p in page.items]

    score = get_person_score.sync(person_id, client=api, x_justification=JUSTIFICATION,
                                  as_of=AS_OF, knowledge=models.Knowledge.AS_RECORDED)
    assert isinstance(score, models.PersonScoreRead), score
    assert isinstance(score.band, models.Band) and score.knowledge == models.Knowledge.AS_RECORDED
    assert isinstance(score.thr.threat_source, models.ThreatSource)
    assert {f.part for f in score.explanation} <= set(models.FactorPart)

    query = {"client": api, "area": "BRISTOL", "stream": "nsac", "as_of": AS_OF,
             "x_justification": JUSTIFICATION}
    listing = shortlist.sync(**query)
    assert isinstance(listing, models.ShortlistRead), listing
    assert person_id in [c.person_id for c in listing.candidates]
    assert listing.criteria.knowledge == models.Knowledge.CURRENT
    assert isinstance(listing.criteria.rfg_column, models.RfgColumn)

    # CSV: text, with the raw bytes on the response; XLSX: a File of bytes.
    download = shortlist_csv.sync_detailed(**query)
    assert download.status_code == 200 and isinstance(download.parsed, str)
    assert download.content.startswith(b"# ") and str(person_id) in download.parsed
    assert download.headers["content-type"].startswith("text/csv")
    workbook = shortlist_xlsx.sync(**query)
    assert isinstance(workbook, types.File)
    assert "Candidates" in load_workbook(workbook.payload).sheetnames

    report = idiom_report.sync(client=api, as_of=AS_OF, counting=models.Counting.RECORDED)
    assert isinstance(report, models.IdiomReportRead), report
    assert report.counting == models.Counting.RECORDED
    assert isinstance(report.excluded, models.IdiomExclusions)
    table = idiom_report_csv.sync(client=api, as_of=AS_OF)
    assert isinstance(table, str)
    header = next(line for line in table.splitlines() if not line.startswith("#"))
    assert header.startswith('"area",')


def test_a_refusal_is_a_problem_with_its_field_errors(api: Any) -> None:
    models = _module("models")
    create_person = _module("api.persons.create_person")
    get_person = _module("api.persons.get_person")
    import_persons = _module("api.imports.import_persons")
    types = _module("types")

    problem = create_person.sync(client=api, body=models.PersonCreate(
        pnc_id="not a PNC ID", date_of_birth=datetime.date(1995, 1, 1), home_area="BRISTOL"))
    assert isinstance(problem, models.Problem), problem
    assert problem.status == 422 and problem.type_.endswith("/invalid-input")
    assert isinstance(problem.errors[0], models.FieldError)
    assert ["body", "pnc_id"] in [e.loc for e in problem.errors]

    missing = get_person.sync_detailed(2_000_000_000, client=api,
                                       x_justification=JUSTIFICATION)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.headers["content-type"].startswith("application/problem+json")

    bad_file = import_persons.sync(client=api, body=types.File(
        payload=io.BytesIO(b"pnc_id,date_of_birth,home_area\nnope,1990-01-01,BRISTOL\n")))
    assert isinstance(bad_file, models.Problem) and bad_file.status == 422
    assert bad_file.errors and all(isinstance(e, models.FieldError) for e in bad_file.errors)
