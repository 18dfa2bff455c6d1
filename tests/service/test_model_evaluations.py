"""External evaluation through the API on demo data: a force uploads a labelled cohort
(PNC ID, assessment date, reoffended), every model and the fallback are scored as of each
person's date, only the figures are kept, and the gate holds candidates to the fallback on
that cohort too: a candidate that loses to the fallback there is refused."""

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models import AuditEvent, Person
from models.identifiers import pnc_check_letter
from scoring.artefacts import current_version, save_model
from scoring.external import threat_as_of_each_date
from scoring.synthetic import synthetic_histories
from scoring.thr import rule_based_version
from service.frames import custody_frame, offences_frame, persons_frame
from service.main import app
from service.scorer import Scorer, get_scorer_for
from service.training import train_candidate
from tests.conftest import KeyMaker


def cohort(session: Session, *, fallback_is_right: bool = False) -> pd.DataFrame:
    """People with an offence in the first half of last year, assessed the day after their
    first one, with whether they offended again within 12 months (from the register)."""
    conn = session.connection()
    offences = offences_frame(conn)
    day = pd.to_datetime(offences["offence_date"])
    year = day.max().year - 1
    first = offences[(day >= f"{year}-01-01") & (day < f"{year}-07-01")].groupby(
        "person_id")["offence_date"].min()
    out = pd.DataFrame({"person_id": first.index.to_numpy(),
                        "assessed_on": (pd.to_datetime(first) + pd.Timedelta(days=1)).dt.date
                        .to_numpy()})
    later = offences.merge(out, on="person_id")
    when = pd.to_datetime(later["offence_date"])
    start = pd.to_datetime(later["assessed_on"])
    again = later[(when >= start) & (when < start + pd.DateOffset(years=1))]["person_id"]
    out["reoffended"] = out["person_id"].isin(again)
    if fallback_is_right:  # a force where the fallback's probabilities are the truth
        scorer = get_scorer_for_test()
        threat = threat_as_of_each_date(out, offences, persons_frame(conn), custody_frame(conn),
                                        models={}, catalogue=scorer.catalogue,
                                        config=scorer.config)["rule_based"]
        out["reoffended"] = np.random.default_rng(5).random(len(out)) < threat
    pnc = dict(session.exec(select(Person.id, Person.pnc_id)).all())
    out["pnc_id"] = out["person_id"].map(pnc)
    return out


def get_scorer_for_test() -> Scorer:
    from scoring.catalogue import load_catalogue
    from service.deps import current_settings

    settings = app.dependency_overrides[current_settings]()
    return get_scorer_for(load_catalogue(), settings.scoring_config_path, settings.model_dir)


def csv_of(frame: pd.DataFrame, extra: str = "") -> bytes:
    body = io.StringIO()
    frame[["pnc_id", "assessed_on", "reoffended"]].assign(
        reoffended=frame["reoffended"].map({True: "yes", False: "no"})).to_csv(body, index=False)
    return (body.getvalue() + extra).encode()


def upload(client: TestClient, data: bytes, **params: str) -> Any:
    return client.post("/model/evaluations", content=data, params=params,
                       headers={"Content-Type": "text/csv"})


UNKNOWN = f"2001/0000001{pnc_check_letter(2001, 1)}"  # valid; no demo person has it


def test_a_force_cohort_is_scored_as_of_each_date_and_only_figures_are_kept(
        demo_register: None, model_dir: Path, client: TestClient, anon_client: TestClient,
        make_key: KeyMaker, session: Session, inline_training: None) -> None:
    assert client.get("/model").json()["external_evaluation"] is None
    people = cohort(session)
    data = csv_of(people, f"{UNKNOWN},2024-03-01,no\n")
    analyst = {"X-API-Key": make_key("analyst"), "Content-Type": "text/csv"}
    assert anon_client.post("/model/evaluations", content=data,
                            headers=analyst).status_code == 403

    bad = upload(client, b"pnc_id,assessed_on,reoffended\nnot-a-pnc,2024-01-01,yes\n"
                         + f"{UNKNOWN},2024-13-01,maybe\n".encode())
    assert bad.status_code == 422, bad.text
    locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
    assert {("body", 2, "pnc_id"), ("body", 3, "assessed_on"),
            ("body", 3, "reoffended")} <= locs

    resp = upload(client, data, source="proven reoffending extract")
    assert resp.status_code == 201, resp.text
    got = resp.json()
    assert resp.headers["location"] == f"/model/evaluations/{got['id']}"
    assert got["cohort_rows"] == len(people) + 1 and got["matched_rows"] == len(people)
    assert got["unmatched_pnc_ids"] == 1 and UNKNOWN not in resp.text
    assert got["positives"] == int(people["reoffended"].sum())
    assert [f["version"] for f in got["figures"]] == [get_scorer_for_test().model_version]
    fallback = got["figures"][0]
    assert 0.5 < fallback["auc"] < 1 and {"brier", "ece", "calibration", "by_sex"} <= set(
        fallback)
    assert client.get(f"/model/evaluations/{got['id']}").json() == got
    assert client.get("/model/evaluations").json()["items"][0]["id"] == got["id"]
    assert client.get("/model/evaluations/999999").status_code == 404
    assert client.get("/model").json()["external_evaluation"]["id"] == got["id"]
    event = session.exec(select(AuditEvent).where(
        col(AuditEvent.route) == "/model/evaluations")).all()[-1]
    assert event.action == "consultation" and len(event.person_ids or []) == len(people)
    assert "proven" not in (event.detail or "") and UNKNOWN not in (event.detail or "")

    # A key limited to an area matches only the people living there.
    homes = dict(session.exec(select(Person.id, Person.home_area)).all())
    area = homes[int(people["person_id"].iloc[0])]
    local = {"Authorization": f"Bearer {make_key('admin', areas=[area])}",
             "X-Justification": "test", "Content-Type": "text/csv"}
    limited = anon_client.post("/model/evaluations", content=data, headers=local)
    assert limited.status_code == 201, limited.text
    inside = int((people["person_id"].map(homes) == area).sum())
    assert limited.json()["matched_rows"] == inside < len(people)
    assert limited.json()["unmatched_pnc_ids"] == 1 + len(people) - inside


def test_a_candidate_that_loses_to_the_fallback_on_the_force_cohort_is_refused(
        demo_register: None, model_dir: Path, client: TestClient, session: Session,
        inline_training: None) -> None:
    job = client.post("/model/train").json()
    job = client.get(f"/model/train/{job['id']}").json()
    assert job["promoted"] is True, job  # no external evaluation yet: the internal gate
    current = current_version(model_dir)
    model = get_scorer_for_test().model
    assert model is not None
    candidate = dataclasses.replace(model, version="threat-20991231T000000Z-candidat",
                                    card={**model.card, "model_version": "x"})
    save_model(candidate, model_dir, make_current=False)

    resp = upload(client, csv_of(cohort(session, fallback_is_right=True)))
    assert resp.status_code == 201, resp.text
    listed = resp.json()["figures"]
    figures = {f["version"]: f for f in listed}
    assert listed[-1]["version"] == ("baseline: logistic on age and prior recorded offences "
                                     f"(fitted with {current})")
    assert set(figures) == {current, candidate.version, listed[-1]["version"],
                            rule_based_version(get_scorer_for_test().config)}
    items = {i["version"]: i for i in client.get("/model/candidates").json()["items"]}
    refused = items[candidate.version]
    assert refused["status"] == "rejected" and refused["gate"]["passed"] is True
    assert not refused["external_gate"]["passed"]
    assert any("external cohort" in r for r in refused["external_gate"]["reasons"])

    no = client.post(f"/model/{candidate.version}/promote")
    assert no.status_code == 409 and "external evaluation" in no.json()["detail"]
    forced = client.post(f"/model/{candidate.version}/promote",
                         json={"force": True, "reason": "panel reviewed the cohort"})
    assert forced.status_code == 200 and forced.json()["forced"] is True

    # A candidate saved after the cohort was evaluated waits for it to be evaluated again.
    later = dataclasses.replace(candidate, version="threat-20991231T000001Z-candidat")
    save_model(later, model_dir, make_current=False)
    waiting = {i["version"]: i for i in client.get("/model/candidates").json()["items"]}[
        later.version]
    assert waiting["status"] == "candidate"
    assert [c["check"] for c in waiting["external_gate"]["checks"]] == ["external_evaluated"]
    wait = client.post(f"/model/{later.version}/promote")
    assert wait.status_code == 409 and "POST /model/evaluations" in wait.json()["detail"]


def test_with_a_cohort_on_file_a_new_candidate_waits_for_it(model_dir: Path) -> None:
    data = synthetic_histories(1500, seed=3, start="2016-01-01", end="2024-12-31",
                               mean_offences=8.0)
    persons = data.persons.merge(data.monitoring, on="person_id").assign(deceased_on=None)
    frames = data.offences, persons, data.custody
    scorer = get_scorer_for_test()
    waiting, promoted = train_candidate(frames=frames, scorer=scorer, model_dir=model_dir,
                                        external_on_file=True)
    assert waiting.card["gate"]["passed"] and not promoted
    assert current_version(model_dir) is None  # the fallback stays until it is evaluated
