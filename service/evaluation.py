"""External evaluations: a force's labelled cohort scored by every model and the fallback.

A force uploads people it knows the outcome for (PNC ID, assessment date, reoffended within
the horizon), e.g. from a proven-reoffending extract. Each matched person is scored as of
their own date from the register (``scoring.external``), by the current model, each saved
candidate and the rule-based fallback; only the aggregate figures are stored
(``model_evaluations``), never the cohort. PNC IDs not on the register are counted, never
echoed. The gate then holds candidates to the fallback on the latest evaluation too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import field_validator
from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from models import ModelEvaluation, Person
from models.identifiers import canonical_pnc_id
from scoring import ModelStoreError, ThreatModel, list_models, load_model
from scoring.artefacts import current_version
from scoring.external import BASELINE, evaluate_cohort, external_verdict
from scoring.features import feature_specs
from scoring.governance import Baseline
from scoring.thr import rule_based_version
from scoring.uk_calendar import uk_today
from service.errors import invalid_field
from service.frames import Filters, custody_frame, offences_frame, persons_frame
from service.scorer import Scorer
from service.store.import_files import ImportFile, RowErrors, parse_rows, validate_row

COHORT_COLUMNS: dict[str, str] = {
    "pnc_id": "Required. PNC ID, full YYYY/NNNNNNNC or short YY/NNNNNNC",
    "assessed_on": "Required. ISO date the person was assessed (scored as of that day)",
    "reoffended": "Required. true/false, 1/0 or yes/no: a proven reoffence within the "
                  "model's horizon (12 months) of assessed_on",
}
REQUIRED = (("pnc_id",), ("assessed_on",), ("reoffended",))


class CohortRow(SQLModel):
    pnc_id: str
    assessed_on: date
    reoffended: bool

    @field_validator("pnc_id")
    @classmethod
    def _pnc(cls, value: str) -> str:
        return canonical_pnc_id(value)

    @field_validator("assessed_on")
    @classmethod
    def _past(cls, value: date) -> date:
        if value > uk_today():
            raise ValueError("assessed_on is in the future")
        return value


def read_cohort(file: ImportFile, *, max_rows: int) -> pd.DataFrame:
    """pnc_id, assessed_on, reoffended per row; every bad row named in one 422."""
    errors = RowErrors()
    rows = parse_rows(file, columns=COHORT_COLUMNS, required=REQUIRED, max_rows=max_rows,
                      errors=errors)
    good = [r for row in rows if (r := validate_row(CohortRow, row, row.values, errors))]
    errors.raise_if_any("cohort")
    return pd.DataFrame([r.model_dump() for r in good],
                        columns=["pnc_id", "assessed_on", "reoffended"])


def _person_ids(session: Session, pnc_ids: list[str],
                areas: frozenset[str] | None) -> dict[str, int]:
    """PNC ID -> person id for the people on the register (in ``areas``, if limited)."""
    found: dict[str, int] = {}
    for start in range(0, len(pnc_ids), 5000):  # bounded statements for huge cohorts
        query = select(Person.pnc_id, Person.id).where(  # type: ignore[call-overload]
            col(Person.pnc_id).in_(pnc_ids[start:start + 5000]))
        if areas is not None:
            query = query.where(col(Person.home_area).in_(sorted(areas)))
        found.update(dict(session.exec(query).all()))
    return found


def _models(scorer: Scorer, model_dir: Path) -> dict[str, ThreatModel]:
    """Every saved model that can score with this catalogue and configuration."""
    names = tuple(s.name for s in feature_specs(scorer.catalogue, scorer.config))
    out: dict[str, ThreatModel] = {}
    for version in list_models(model_dir):
        try:
            model = load_model(model_dir, version)
        except ModelStoreError:
            continue  # a damaged artefact is reported by GET /model/candidates, not here
        if model.feature_names == names:
            out[version] = model
    return out


def _baseline(models: dict[str, ThreatModel], current: str | None
              ) -> tuple[Baseline, str] | None:
    """The two-feature baseline of the current model's card (else the newest model's),
    with that model's version: fitted on the force's own earlier back-test rows."""
    for version in ([current] if current in models else []) + sorted(models, reverse=True):
        described = (models[version].card.get("comparison", {}).get("contenders", {})
                     .get("baseline", {}).get("parameters"))
        if described:
            return Baseline.from_description(described), version
    return None


def run_evaluation(session: Session, cohort: pd.DataFrame, *, scorer: Scorer, model_dir: Path,
                   uploaded_by: str, source: str | None,
                   areas: frozenset[str] | None = None) -> tuple[ModelEvaluation, list[int]]:
    """Match, score as of each date, and add (not commit) the evaluation's row; return it
    and the matched people's ids (for the audit event).

    A key limited to ``areas`` matches only people living there: the rest count as not on
    the register, so the figures never draw on records the key may not see. The register
    is read for the matched people only, in one batch per table.
    """
    lookup = _person_ids(session, sorted(set(cohort["pnc_id"])), areas)
    matched = cohort[cohort["pnc_id"].isin(lookup)].copy()
    unmatched = int(cohort.loc[~cohort["pnc_id"].isin(lookup), "pnc_id"].nunique())
    if matched.empty:
        raise invalid_field(["body"], "no PNC ID in the cohort is on the register",
                            type="no_match", detail=f"none of the cohort's {unmatched} "
                            "PNC IDs is on the register; nothing was evaluated")
    matched["person_id"] = matched["pnc_id"].map(lookup).astype("int64")
    ids = sorted(set(matched["person_id"].tolist()))
    conn = session.connection()
    filters = Filters(person_ids=ids)
    persons = persons_frame(conn, filters)
    offences = offences_frame(conn, filters)
    custody = custody_frame(conn, filters)
    models = _models(scorer, model_dir)
    baseline = _baseline(models, current_version(model_dir))
    result = evaluate_cohort(
        matched[["person_id", "assessed_on", "reoffended"]], offences,
        persons[["person_id", "date_of_birth", "deceased_on"]], custody,
        models=models, catalogue=scorer.catalogue, config=scorer.config,
        monitoring=persons[["person_id", "sex", "ethnicity"]],
        baseline=None if baseline is None else baseline[0])
    if baseline is not None:
        result["figures"][BASELINE]["version"] = (
            f"baseline: logistic on age and prior recorded offences (fitted with "
            f"{baseline[1]})")
    evaluation = ModelEvaluation(
        uploaded_by=uploaded_by, source=source, cohort_rows=len(cohort),
        matched_rows=result["rows"], unmatched_pnc_ids=unmatched,
        positives=result["positives"], first_assessed_on=result["first_assessed_on"],
        last_assessed_on=result["last_assessed_on"], current_version=scorer.model_version,
        figures=result["figures"])
    session.add(evaluation)
    session.flush()
    return evaluation, ids


def evaluation_read(evaluation: ModelEvaluation) -> dict[str, Any]:
    """The API shape: figures as a list, the fallback first, then newest model first, then
    the baseline."""
    figures = evaluation.figures
    fallback = [v for v in figures if v.startswith("rule_based@")]
    models = sorted((v for v in figures if not v.startswith("rule_based@")), reverse=True)
    data = evaluation.model_dump(exclude={"figures"})
    data["figures"] = [figures[v] for v in (*fallback, *models)]
    return data


def latest_evaluation(session: Session) -> ModelEvaluation | None:
    return session.exec(select(ModelEvaluation)  # type: ignore[call-overload]
                        .order_by(col(ModelEvaluation.id).desc()).limit(1)).scalars().first()


def external_gate(evaluation: ModelEvaluation | None, version: str, *, current: str | None,
                  scorer: Scorer) -> dict[str, Any] | None:
    """The gate's verdict on the latest external evaluation for ``version`` (None: the force
    has supplied none). A version that evaluation did not score fails: it must be
    evaluated (upload the cohort again) before it can replace the model in use."""
    if evaluation is None:
        return None
    verdict = external_verdict(evaluation.figures, version, current=current,
                               rule_based=rule_based_version(scorer.config),
                               gate=scorer.config.thr.gate)
    if verdict is None:
        text = (f"external cohort: not scored by the latest external evaluation "
                f"({evaluation.id}); upload the cohort again (POST /model/evaluations)")
        verdict = {"passed": False, "reasons": [text],
                   "checks": [{"check": "external_evaluated", "passed": False, "text": text}]}
    return {**verdict, "evaluation_id": evaluation.id}
