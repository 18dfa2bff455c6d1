"""`iomscore import KIND FILE`: the import routes' rules from the command line, audited as
a local administrator, a summary on stdout and the row errors (never values) on stderr."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, CustodyPeriod, Person
from service.cli import main
from tests.conftest import command_line_on
from tests.factories import pnc_id


@pytest.fixture
def db_env(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at this module's migrated database (SQLite or PostgreSQL); its
    writes are real commits, so each test uses people of its own."""
    with command_line_on(database_url, monkeypatch) as url:
        yield url


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict | None, str]:
    code = main(["import", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_every_kind_loads_in_order_and_is_audited_as_the_cli(
        db_env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = pnc_id(), pnc_id()
    files = {
        "persons": write(tmp_path / "persons.csv", [
            "pnc_id,given_name,date_of_birth,sex,home_area",
            f"{a},Alex,1990-04-01,male,BRISTOL", f"{b},Sam,1985-01-02,female,BANES"]),
        "offences": write(tmp_path / "offences.ndjson", [json.dumps(
            {"pnc_id": a, "offence_date": "2024-01-05", "offence_type": "shoplifting",
             "source": "cli", "source_ref": f"O-{a}"})]),
        "custody": write(tmp_path / "custody.csv", [
            "pnc_id,start_on,end_on,source,source_ref",
            f"{a},2024-02-01,,cli,C-{a}", f"{b},2020-01-01,2020-06-01,cli,C-{b}"]),
        "memberships": write(tmp_path / "memberships.jsonl", [json.dumps(
            {"pnc_id": b, "cohort": "fixed", "stream": "nsac", "area": "BANES",
             "adopted_on": "2021-01-01", "source": "cli", "source_ref": f"M-{b}"})]),
        "referrals": write(tmp_path / "referrals.csv", [
            "pnc_id,referring_agency,requested_stream,reason,referred_on,source,source_ref",
            f"{a},probation,nsac,test,2024-03-01,cli,R-{a}"]),
    }
    for kind, path in files.items():
        code, summary, err = run(capsys, kind, path)
        assert code == 0, err
        assert summary is not None and summary["inserted"] == summary["rows"] > 0, kind
        assert f"importing {kind}" in err  # the progress bar, on stderr
        code, again, _ = run(capsys, kind, path)
        assert again is not None and again["unchanged"] == again["rows"], kind

    released = write(tmp_path / "custody2.csv", ["pnc_id,start_on,end_on,source,source_ref",
                                                f"{a},2024-02-01,2024-05-01,cli,C-{a}"])
    code, summary, _ = run(capsys, "custody", released)
    assert summary == {"inserted": 0, "updated": 1, "unchanged": 0, "skipped_erased": 0,
                       "rows": 1}
    with Session(engine) as s:
        spell = s.exec(select(CustodyPeriod).where(CustodyPeriod.source_ref == f"C-{a}")).one()
        assert (str(spell.end_on), spell.version) == ("2024-05-01", 2)
        ids = {p.pnc_id: p.id for p in s.exec(select(Person).where(
            Person.pnc_id.in_([a, b]))).all()}  # type: ignore[attr-defined]
        events = s.exec(select(AuditEvent).where(AuditEvent.key_name == "cli")
                        .order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        referral_by = s.execute(text("SELECT recorded_by FROM referrals WHERE source_ref = "
                                     ":r"), {"r": f"R-{a}"}).scalar_one()
    mine = [e for e in events if set(e.person_ids) & set(ids.values())]
    assert [e.route for e in mine][:2] == ["iomscore import persons"] * 2
    assert mine[0].person_ids == sorted(ids.values())
    assert (mine[0].method, mine[0].role, mine[0].action) == ("CLI", "admin", "collection")
    assert mine[-1].route == "iomscore import custody" and mine[-1].action == "alteration"
    assert "1 rows, 0 inserted, 1 updated" in (mine[-1].detail or "")
    assert referral_by == "cli"


def test_a_bad_file_exits_1_with_row_errors_and_no_personal_data(
        db_env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = pnc_id(), pnc_id()
    path = write(tmp_path / "people.csv", [
        "pnc_id,given_name,family_name,date_of_birth,sex,home_area",
        f"{good},Zebedee,Quintrell,1990-04-01,male,BRISTOL",
        f"{bad},Xanthe,Quintrell,1991-02-03,male,ATLANTIS",
        f"{bad[:-1]}A,Yorick,Quintrell,1992-03-04,dunno,BRISTOL"])
    code, _, err = run(capsys, "persons", path)
    assert code == 1
    assert "line 3, home_area: unknown area 'ATLANTIS' (unknown_reference)" in err
    assert "line 4, pnc_id:" in err and "line 4, sex:" in err
    for personal in (good, bad, bad[:-1], "Xanthe", "Yorick", "Quintrell", "1991-02-03"):
        assert personal not in err
    with Session(engine) as s:
        count = s.exec(select(func.count()).select_from(Person).where(
            Person.pnc_id == good)).one()
    assert count == 0


def test_usage_errors_exit_2(db_env: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    unnamed = write(tmp_path / "extract.txt", ["pnc_id"])
    assert main(["import", "persons", unnamed]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["import", "persons", str(tmp_path / "missing.csv")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "meetings", unnamed])
    assert exit_info.value.code == 2
    empty = write(tmp_path / "empty.txt", ["pnc_id,date_of_birth,home_area"])
    code, _, err = run(capsys, "persons", empty, "--format", "csv")
    assert code == 1 and "no data rows" in err
