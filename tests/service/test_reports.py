"""GET /reports/idiom: seed 002's published IDIOM table reproduced through the database,
the full HTTP path, CSV, validation, area scope and the comparison group."""

import io
import math
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session

from models import CohortMembership, CustodyPeriod, Offence, Person
from models.enums import Cohort, ExitReason, Outcome, Sex
from scoring.catalogue import OffenceCatalogue, load_catalogue
from scoring.uk_calendar import uk_today
from service.config import get_settings
from service.deps import current_settings, get_catalogue
from service.main import app
from tests.factories import membership_body, offence_body, person_body, pnc_id

URL = "/reports/idiom"
PROBLEM = "application/problem+json"

# Seed 002 ("IOM Assurance Report - January 2023"), IDIOM data captured 9 November 2022,
# FIXED cohort: cost and number of offences 12 months before adoption and after exit.
AS_OF = date(2022, 11, 9)
PUBLISHED = {  # area: (cost before, cost after, offences before, offences after, reduction %)
    "BANES": (271_112, 0, 76, 0, 100),
    "BRISTOL": (2_258_617, 574_081, 693, 208, 70),
    "NORTH_SOMERSET": (503_433, 253_356, 169, 72, 57),
    "SOMERSET_EAST": (535_409, 386_415, 222, 97, 56),
    "SOMERSET_WEST": (312_143, 139_671, 153, 81, 47),
    "SOUTH_GLOS": (211_710, 68_129, 78, 37, 52),
}
PUBLISHED_TOTALS = (4_092_424, 1_421_652, 1_391, 495, 64)
PUBLISHED_SAVING = 2_670_772
# 187 Fixed offenders (seed 003), spread over the areas.
MEMBERS = {"BANES": 10, "BRISTOL": 80, "NORTH_SOMERSET": 25, "SOMERSET_EAST": 30,
           "SOMERSET_WEST": 22, "SOUTH_GLOS": 20}
# A test cost table whose unit costs make any whole-pound total: £10,000 ... £1, and £0.
UNIT_COSTS = {"cost_10000": 10_000, "cost_1000": 1_000, "cost_100": 100, "cost_10": 10,
              "cost_1": 1, "cost_0": 0}


def _catalogue_file(path: Path) -> Path:
    entries = {
        key: {"label": key, "offence_group": "acquisitive" if cost else "other",
              "neighbourhood_crime": True, "gravity": 2, "gravity_source": "test figure",
              "harm_weight": 30, "harm_source": "test figure", "unit_cost_gbp": cost,
              "cost_confirmed": False, "cost_source": "test figure, NOT confirmed"}
        for key, cost in UNIT_COSTS.items()
    }
    path.write_text(yaml.safe_dump({"version": "test-idiom-1", "cost_table": "test",
                                    "offence_types": entries}))
    return path


@pytest.fixture
def test_catalogue(tmp_path: Path, client: TestClient) -> Iterator[OffenceCatalogue]:
    """Serve the report with the test cost table (the client fixture clears overrides)."""
    catalogue = load_catalogue(_catalogue_file(tmp_path / "catalogue.yaml"))
    app.dependency_overrides[get_catalogue] = lambda: catalogue
    yield catalogue


def offence_types_for(cost: int, count: int) -> list[str]:
    """`count` offence types from the test table whose unit costs add up to `cost` exactly."""
    types: list[str] = []
    rest = cost
    for key, unit in UNIT_COSTS.items():
        if unit:
            n, rest = divmod(rest, unit)
            types += [key] * n
    assert rest == 0 and len(types) <= count, (cost, count)
    return types + ["cost_0"] * (count - len(types))


def _person(session: Session, *, area: str, sex: Sex = Sex.male,
            born: date = date(1990, 1, 1)) -> Person:
    person = Person(pnc_id=pnc_id(), date_of_birth=born, sex=sex, home_area=area)
    session.add(person)
    return person


def _offence(person_id: int, day: date, offence_type: str, **extra: Any) -> Offence:
    return Offence(person_id=person_id, offence_date=day, offence_type=offence_type,
                   outcome=extra.pop("outcome", Outcome.charge), source="test", **extra)


def build_seed_002(session: Session) -> None:
    """Memberships and offences whose per-area figures equal the published IDIOM table.

    Every member was adopted in summer 2020 and left in spring 2021, so their after window
    ended before 9 November 2022. Offences are dealt round-robin to an area's members:
    before ones within 12 months before adoption, after ones within 12 months after exit.
    Offences that must not count are added too: during membership, more than 12 months
    before adoption, after the after window, and two members not yet in the comparison.
    """
    rows: list[Any] = []
    for area, count in MEMBERS.items():
        cost_before, cost_after, n_before, n_after, _ = PUBLISHED[area]
        people = [_person(session, area=area, sex=Sex.female if i % 7 == 0 else Sex.male)
                  for i in range(count)]
        session.flush()
        starts = []
        for i, person in enumerate(people):
            adopted = date(2020, 6, 1) + timedelta(days=i % 60)
            exited = date(2021, 3, 1) + timedelta(days=i % 60)
            starts.append((adopted, exited))
            rows.append(CohortMembership(person_id=person.id, cohort=Cohort.fixed,
                                         stream="nsac", area=area, adopted_on=adopted,
                                         exited_on=exited,
                                         exit_reason=ExitReason.rehabilitated))
            rows.append(_offence(person.id, adopted + timedelta(days=10), "cost_1000"))
            rows.append(_offence(person.id, adopted - timedelta(days=400), "cost_10000"))
            rows.append(_offence(person.id, exited + timedelta(days=370), "cost_10000"))
        for j, kind in enumerate(offence_types_for(cost_before, n_before)):
            adopted, _ = starts[j % count]
            rows.append(_offence(people[j % count].id, adopted - timedelta(days=1 + j % 360),
                                 kind))
        for j, kind in enumerate(offence_types_for(cost_after, n_after)):
            _, exited = starts[j % count]
            rows.append(_offence(people[j % count].id, exited + timedelta(days=j % 360), kind))
    # Not in the before/after comparison: still a member; left too recently.
    for exited in (None, date(2022, 6, 1)):
        person = _person(session, area="BRISTOL")
        session.flush()
        rows.append(CohortMembership(
            person_id=person.id, cohort=Cohort.fixed, stream="nsac", area="BRISTOL",
            adopted_on=date(2021, 1, 1), exited_on=exited,
            exit_reason=None if exited is None else ExitReason.rehabilitated))
        rows.append(_offence(person.id, date(2020, 6, 1), "cost_10000"))
    session.add_all(rows)
    session.commit()


def test_reproduces_the_published_idiom_table(client: TestClient, session: Session,
                                              test_catalogue: OffenceCatalogue) -> None:
    build_seed_002(session)
    resp = client.get(URL, params={"as_of": AS_OF.isoformat(), "cohort": "fixed"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["cost_table_version"] == "test-idiom-1"
    assert body["as_of"] == "2022-11-09" and body["window_months"] == 12
    assert body["included"] == 187
    assert body["excluded"]["total"] == 2
    assert body["excluded"]["not_exited"] == 1
    assert body["excluded"]["after_window_not_ended"] == 1
    got = {g["key"]["area"]: g for g in body["groups"]}
    assert list(got) == sorted(PUBLISHED)
    for area, (cost_before, cost_after, n_before, n_after, _) in PUBLISHED.items():
        g = got[area]
        assert g["members"] == MEMBERS[area]
        assert g["before"] == {"offences": n_before, "cost": cost_before}, area
        assert g["after"] == {"offences": n_after, "cost": cost_after}, area
        assert g["cost_saving"] == cost_before - cost_after
        assert g["during"]["offences"] == MEMBERS[area]  # one each, never in before/after
    cost_before, cost_after, n_before, n_after, pct = PUBLISHED_TOTALS
    totals = body["totals"]
    assert totals["before"] == {"offences": n_before, "cost": cost_before}
    assert totals["after"] == {"offences": n_after, "cost": cost_after}
    assert totals["cost_saving"] == PUBLISHED_SAVING
    assert n_before - n_after == 896  # "Reduction in overall offences committed = 64% (896)"
    assert round(totals["offence_reduction_pct"]) == pct
    assert got["BANES"]["offence_reduction_pct"] == 100.0
    assert got["BANES"]["small_group"] and not got["BANES"]["suppress"]
    lo, hi = got["BANES"]["interval"]["offence_reduction_pct"]
    assert lo == hi == 100.0  # nobody offended after: the bootstrap cannot see otherwise

    text = client.get(URL, params={"as_of": AS_OF.isoformat(), "cohort": "fixed",
                                   "format": "csv"}).text
    frame = pd.read_csv(io.StringIO(text), comment="#", keep_default_na=False)
    table = frame.astype(str).to_dict(orient="records")
    assert [r["area"] for r in table] == [*sorted(PUBLISHED), "Totals"]
    assert all(r["withheld"] == "" for r in table)
    # One decimal in the file; the published table shows whole per cent (halves up).
    shown = {r["area"]: math.floor(float(r["reducing_offending_pct"]) + 0.5) for r in table}
    for area, figures in PUBLISHED.items():
        if area == "SOUTH_GLOS":
            # 78 -> 37 is a 52.6 % fall: 53 % rounded. The published 52 % cannot come from
            # those counts with the rounding the rest of the table uses (693 -> 208 is
            # 69.99 %, shown as 70 %), so it is a truncation or typo in the source.
            assert shown[area] == 53
        else:
            assert shown[area] == figures[4], area
    assert shown["Totals"] == pct
    assert float(table[-1]["cost_12m_before"]) == cost_before
    assert float(table[-1]["cost_saving"]) == PUBLISHED_SAVING


def _through_the_api(client: TestClient) -> dict[str, int]:
    """Two people recorded through the API: one offends before and after, one is held."""
    ids = {}
    for name, sex in (("ann", "female"), ("bob", "male")):
        resp = client.post("/persons", json=person_body(sex=sex, home_area="BANES"))
        assert resp.status_code == 201, resp.text
        ids[name] = resp.json()["id"]
        resp = client.post("/cohort/memberships", json=membership_body(
            ids[name], area="BANES", adopted_on="2021-01-31", exited_on="2021-07-31",
            exit_reason="custody_over_2_years" if name == "bob" else "rehabilitated"))
        assert resp.status_code == 201, resp.text
    offences = [
        ("ann", "2020-01-31", "burglary_residential", "conviction", "2020-03-01"),  # before
        ("ann", "2021-01-30", "robbery_personal", "charge", None),                  # before
        ("ann", "2020-01-30", "robbery_personal", "charge", None),                  # outside
        ("ann", "2021-01-31", "criminal_damage", "charge", None),                   # during
        ("ann", "2021-07-31", "theft_from_vehicle", "caution", "2021-09-01"),       # after
        ("ann", "2022-07-31", "theft_from_vehicle", "charge", None),                # outside
        ("bob", "2020-06-01", "theft_of_vehicle", "conviction", "2020-08-01"),      # before
    ]
    for who, day, kind, outcome, outcome_on in offences:
        resp = client.post(f"/persons/{ids[who]}/offences", json=offence_body(
            offence_date=day, offence_type=kind, outcome=outcome, outcome_date=outcome_on))
        assert resp.status_code == 201, resp.text
    resp = client.post(f"/persons/{ids['bob']}/custody",
                       json={"start_on": "2021-08-01", "end_on": None})
    assert resp.status_code == 201, resp.text
    return ids


def test_end_to_end_through_the_api_with_catalogue_costs(client: TestClient) -> None:
    _through_the_api(client)
    resp = client.get(URL, params={"as_of": "2023-01-01", "area": "BANES",
                                   "group_by": "sex"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["filters"]["area"] == "BANES"
    assert body["cost_table_version"]  # the default catalogue's version
    groups = {g["key"]["sex"]: g for g in body["groups"]}
    ann, bob = groups["female"], groups["male"]
    # RR99 unit costs: residential burglary 5,930; robbery 11,320; theft from vehicle 870.
    assert ann["before"] == {"offences": 2, "cost": 5930 + 11320}
    assert ann["during"] == {"offences": 1, "cost": 1350}
    assert ann["after"] == {"offences": 1, "cost": 870}
    assert bob["before"] == {"offences": 1, "cost": 10290}
    assert bob["after"] == {"offences": 0, "cost": 0}
    # Bob went to prison the day after leaving: 1 day at liberty in the after window.
    assert bob["at_liberty"]["after"]["days"] == 1
    assert bob["at_liberty"]["after"]["members_under_min_days"] == 1
    assert ann["at_liberty"]["after"]["offences_per_365_days"] == 1.0
    assert body["totals"]["members"] == 2 and body["totals"]["suppress"] is True
    assert any("regression to the mean" in w for w in body["warnings"])
    assert body["comparison"] is None

    # The after window [31 Jul 2021, 31 Jul 2022) is followed by a 6-month waiting period
    # [31 Jul 2022, 31 Jan 2023): proven figures are complete at the end of 30 January.
    waiting = client.get(URL, params={"as_of": "2023-01-29", "counting": "proven"}).json()
    assert waiting["excluded"]["waiting_period_not_ended"] == 2
    proven = client.get(URL, params={"as_of": "2023-01-30", "counting": "proven"}).json()
    assert proven["counting"] == "proven" and proven["included"] == 2
    assert proven["totals"]["before"]["offences"] == 2  # the two convictions
    assert proven["totals"]["after"]["offences"] == 1   # the caution

    by_group = client.get(URL, params={"as_of": "2023-01-01",
                                       "group_by": "exit_reason,offence_group"}).json()
    keys = {(g["key"]["exit_reason"], g["key"]["offence_group"]) for g in by_group["groups"]}
    assert ("rehabilitated", "acquisitive") in keys and ("rehabilitated", "damage") in keys


def test_filters_select_memberships(client: TestClient) -> None:
    _through_the_api(client)
    base = {"as_of": "2023-01-01"}
    assert client.get(URL, params={**base, "cohort": "flex"}).json()["included"] == 0
    assert client.get(URL, params={**base, "stream": "nsac"}).json()["included"] == 2
    assert client.get(URL, params={**base, "adopted_from": "2021-02-01"}).json()["included"] == 0
    assert client.get(URL, params={**base, "adopted_to": "2021-01-31"}).json()["included"] == 2
    # The after window [31 Jul 2021, 31 Jul 2022) has ended at the end of 30 July 2022.
    early = client.get(URL, params={"as_of": "2022-07-29"}).json()
    assert early["included"] == 0 and early["excluded"]["after_window_not_ended"] == 2
    assert client.get(URL, params={"as_of": "2022-07-30"}).json()["included"] == 2


@pytest.mark.parametrize(("params", "field"), [
    ({"group_by": "postcode"}, "group_by"),
    ({"group_by": "area,area"}, "group_by"),
    ({"area": "ATLANTIS"}, "area"),
    ({"stream": "nope"}, "stream"),
    # Well ahead: parameters are computed at collection, which may be before midnight.
    ({"as_of": (uk_today() + timedelta(days=30)).isoformat()}, "as_of"),
    ({"as_of": "2022-13-01"}, "as_of"),
    ({"adopted_from": "2022-02-01", "adopted_to": "2022-01-01"}, "adopted_to"),
    ({"counting": "charged"}, "counting"),
    ({"window_months": 0}, "window_months"),
    ({"cohort": "sideways"}, "cohort"),
    ({"format": "xlsx"}, "format"),
    ({"comparison": "perhaps"}, "comparison"),
])
def test_bad_parameters_are_422_problems_naming_the_field(client: TestClient,
                                                          params: dict[str, Any],
                                                          field: str) -> None:
    resp = client.get(URL, params=params)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert ["query", field] in [e["loc"] for e in resp.json()["errors"]]


def test_csv_is_the_panel_table(client: TestClient) -> None:
    _through_the_api(client)
    resp = client.get(URL, params={"as_of": "2023-01-01", "format": "csv"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "idiom_2023-01-01.csv" in resp.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(resp.text), comment="#", keep_default_na=False)
    rows = frame.astype(str).to_dict(orient="records")
    assert [r["area"] for r in rows] == ["BANES", "Totals"]
    # Two people: the JSON marks them for suppression, and the file withholds them.
    assert client.get(URL, params={"as_of": "2023-01-01"}).json()["totals"]["suppress"]
    for row in rows:
        assert row["withheld"] == "fewer than 5 people"
        assert row["offences_12m_before"] == row["cost_12m_before"] == row["members"] == ""
    notes = [line for line in resp.text.splitlines() if line.startswith("#")]
    assert any("regression to the mean" in line for line in notes)
    assert any(line.startswith("# rules_version: ") for line in notes)
    assert any(line.startswith("# knowledge: current") for line in notes)


def test_needs_a_key_and_respects_the_keys_areas(client: TestClient, anon_client: TestClient,
                                                 make_key: Any) -> None:
    _through_the_api(client)
    assert anon_client.get(URL).status_code == 401
    bristol = {"Authorization": f"Bearer {make_key('analyst', areas=['BRISTOL'])}"}
    resp = anon_client.get(URL, params={"as_of": "2023-01-01"}, headers=bristol)
    assert resp.status_code == 200
    assert resp.json()["included"] == 0  # the BANES members are out of this key's scope
    refused = anon_client.get(URL, params={"area": "BANES"}, headers=bristol)
    assert refused.status_code == 403
    banes = {"Authorization": f"Bearer {make_key('analyst', areas=['BANES'])}"}
    assert anon_client.get(URL, params={"as_of": "2023-01-01"},
                           headers=banes).json()["included"] == 2


def test_comparison_group_through_the_api(client: TestClient, session: Session) -> None:
    # Ten members and forty never-adopted people offending alike: each member has
    # comparators, and the response carries parameters and balance.
    rows: list[Any] = []
    people = [_person(session, area="BRISTOL", born=date(1985 + i % 10, 1, 1))
              for i in range(50)]
    session.flush()
    for i, person in enumerate(people):
        for d in range(0, 700, 60 + 10 * (i % 4)):
            rows.append(_offence(person.id, date(2018, 6, 1) + timedelta(days=d),
                                 "burglary_residential"))
        for d in range(0, 600, 90):
            rows.append(_offence(person.id, date(2020, 6, 1) + timedelta(days=d), "other_theft"))
        if i < 10:
            rows.append(CohortMembership(
                person_id=person.id, cohort=Cohort.fixed, stream="nsac", area="BRISTOL",
                adopted_on=date(2020, 5, 15), exited_on=date(2020, 11, 15),
                exit_reason=ExitReason.rehabilitated))
    rows.append(CustodyPeriod(person_id=people[0].id, start_on=date(2021, 1, 1),
                              end_on=date(2021, 3, 1)))
    session.add_all(rows)
    session.commit()
    resp = client.get(URL, params={"as_of": "2023-01-01", "comparison": True})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    comparison = body["comparison"]
    assert comparison["members_matched"] == 10 and comparison["members_unmatched"] == 0
    assert comparison["candidates"] == 40
    assert comparison["parameters"]["k"] == 5
    assert {b["feature"] for b in comparison["balance"]} >= {"offences_12m", "age"}
    overall = comparison["overall"]
    assert overall["cohort_before"] == body["totals"]["before"]["offences"]
    assert overall["comparison_before"] > 0
    assert body["groups"][0]["comparison"]["members_matched"] == 10
    assert not any("regression to the mean" in w for w in body["warnings"])


def test_a_report_can_be_costed_with_an_earlier_cost_table(client: TestClient,
                                                           tmp_path: Path) -> None:
    """A published figure names its cost table; the same table, kept in the archive, gives
    the same figure later even after the catalogue in use has moved on."""
    _through_the_api(client)
    archive = tmp_path / "catalogues"
    archive.mkdir()
    shipped = Path(get_settings().offence_catalogue_path).read_text()
    old = re.sub(r'^version: .*$', 'version: "2025.04-panel"', shipped, count=1, flags=re.M)
    old = old.replace("unit_cost_gbp: 5930", "unit_cost_gbp: 6000", 1)
    (archive / "panel-2025.yaml").write_text(old)
    settings = get_settings().model_copy(update={"catalogue_archive_dir": archive})
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        params = {"as_of": "2023-01-01", "area": "BANES", "group_by": "sex"}
        now = client.get(URL, params=params).json()
        then = client.get(URL, params={**params, "cost_table_version": "2025.04-panel"})
        assert then.status_code == 200, then.text
        assert then.json()["cost_table_version"] == "2025.04-panel"
        ann_now = {g["key"]["sex"]: g for g in now["groups"]}["female"]["before"]["cost"]
        ann_then = {g["key"]["sex"]: g for g in then.json()["groups"]}["female"]["before"]["cost"]
        assert ann_then - ann_now == 6000 - 5930  # one residential burglary before
        csv_then = client.get(f"{URL}.csv", params={**params,
                                                   "cost_table_version": "2025.04-panel"})
        assert "# cost_table_version: 2025.04-panel" in csv_then.text
        unknown = client.get(URL, params={**params, "cost_table_version": "1999.01"})
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["loc"] == ["query", "cost_table_version"]
    finally:
        app.dependency_overrides.pop(current_settings, None)
