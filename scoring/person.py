"""One person's scores from their own rows: the lean path a request for one score takes.

A request holds one person's handful of rows. Going through ``score_people`` means three
pandas frames, validated and factorised column by column, whose fixed costs were most of
the request's time. Here the rows become the kernel's arrays (``People``, ``Offences``,
``Custody`` of ``scoring.history``) directly in numpy, and then go through the batch
kernel's own array code (``scoring.score.scores_from_arrays``) and explanation
(``scoring.explain.person_explanation``): no rule, weight or window is written twice, and
the answer is the batch kernel's for that person (``tests/scoring/test_person.py`` checks
it against ``score_people`` and ``explanations_from_parts`` on random histories).

``people_scores`` gives the same answers for many records at once (a nightly re-score):
their arrays are joined and go through the kernel and the explanation once, and only the
answers' dicts are built person by person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.catalogue import OffenceCatalogue
from scoring.config import ScoringConfig, band_codes
from scoring.dates import as_date, day_number
from scoring.explain import person_explanations
from scoring.history import NEVER, Custody, Offences, People
from scoring.score import ScoreParts, scores_from_arrays
from scoring.thr import ThreatModel, rule_based_version
from scoring.validation import ScoringInputError


@dataclass(frozen=True)
class PersonRecord:
    """One person's record as plain values, the offence and custody lists in parallel.

    Attributes
    ----------
    person_id : int
    date_of_birth : date
    deceased_on : date or None
    offence_dates : sequence of date, length N
    offence_types : sequence of str, length N (catalogue keys)
    domestic_abuse : sequence of bool, length N
    victim_refs : sequence of str or None, length N
    custody_starts : sequence of date, length C
    custody_ends : sequence of date or None, length C (None while in custody)
    """

    person_id: int
    date_of_birth: dt.date
    deceased_on: dt.date | None = None
    offence_dates: Sequence[dt.date] = ()
    offence_types: Sequence[str] = ()
    domestic_abuse: Sequence[bool] = ()
    victim_refs: Sequence[str | None] = ()
    custody_starts: Sequence[dt.date] = ()
    custody_ends: Sequence[dt.date | None] = ()


def _days(values: Sequence[dt.date | None], name: str, *, allow_null: bool = False) -> np.ndarray:
    if not allow_null and any(v is None for v in values):
        raise ScoringInputError(f"{name} has null dates")
    return np.array([NEVER if v is None else day_number(v) for v in values], dtype=np.int64)


def person_arrays(record: PersonRecord, catalogue: OffenceCatalogue
                  ) -> tuple[People, Offences, Custody]:
    """The record as the kernel's arrays, checked as ``scoring.history`` checks frames.

    Raises
    ------
    ScoringInputError
        On lists of different lengths, a null date or flag, an offence type the catalogue
        does not know, or a custody spell that ends before it starts.
    """
    n = len(record.offence_dates)
    if not (len(record.offence_types) == len(record.domestic_abuse)
            == len(record.victim_refs) == n):
        raise ScoringInputError("offence lists differ in length")
    if len(record.custody_starts) != len(record.custody_ends):
        raise ScoringInputError("custody lists differ in length")
    if any(flag is None for flag in record.domestic_abuse):
        raise ScoringInputError("offences.domestic_abuse has nulls")
    # A plain dict: pandas' indexer on the catalogue's string index has a fixed cost
    # larger than this whole function's on a handful of rows.
    position = catalogue.positions
    type_code = np.array([position.get(t, -1) for t in record.offence_types], dtype=np.int64)
    if (type_code < 0).any():
        bad = sorted({str(t) for t in record.offence_types if t not in position})
        raise ScoringInputError(
            f"offences.offence_type not in catalogue: {bad[:5]} "
            "(map Home Office codes with the catalogue first)")
    # Victims coded in order of first appearance, as ``prepare_offences`` factorises them.
    codes: dict[str, int] = {}
    victim = np.array([-1 if ref is None else codes.setdefault(ref, len(codes))
                       for ref in record.victim_refs], dtype=np.int64)
    start = _days(record.custody_starts, "custody.start_on")
    end = _days(record.custody_ends, "custody.end_on", allow_null=True)
    if (end < start).any():
        raise ScoringInputError("custody.end_on is before start_on")
    died = NEVER if record.deceased_on is None else day_number(record.deceased_on)
    people = People(ids=np.array([record.person_id], dtype=np.int64),
                    dob_day=_days([record.date_of_birth], "persons.date_of_birth"),
                    deceased_day=np.array([died], dtype=np.int64))
    offences = Offences(pidx=np.zeros(n, dtype=np.int64),
                        day=_days(record.offence_dates, "offences.offence_date"),
                        type_code=type_code.astype(np.int16),
                        domestic_abuse=np.array(record.domestic_abuse, dtype=bool).reshape(n),
                        victim=victim)
    spells = Custody(pidx=np.zeros(len(start), dtype=np.int64), start_day=start, end_day=end)
    return people, offences, spells


def person_parts(record: PersonRecord, *, as_of: dt.date | str, catalogue: OffenceCatalogue,
                 config: ScoringConfig, model: ThreatModel | None = None) -> ScoreParts:
    """``compute_scores``' arrays for this one person (shape (1,) each)."""
    people, offences, spells = person_arrays(record, catalogue)
    return scores_from_arrays(people, offences, spells, as_of=as_date(as_of),
                              catalogue=catalogue, config=config, model=model)


def person_scores(record: PersonRecord, *, as_of: dt.date | str, catalogue: OffenceCatalogue,
                  config: ScoringConfig, model: ThreatModel | None = None,
                  top: int = 5) -> dict[str, Any]:
    """One person's RFG, THR, band and explanation: ``score_people``'s row and
    ``person_explanation``'s factors for them, without a DataFrame.

    Returns
    -------
    dict
        ``as_of``, ``rfg`` (the all-offence components and score), ``rfg_by_stream``,
        ``thr`` (threat, harm, risk, threat_source, baseline), ``band``, ``escalating``,
        ``offences_to_date``, ``explanation`` (the rfg then the threat factors, each
        ``{"part", "factor", "text", "contribution", "display"}``, with ``other_factors``
        where the top ones do not add up to the score) and the three versions.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> record = PersonRecord(1, dt.date(1995, 5, 1),
    ...     offence_dates=[dt.date(2024, 5, 1), dt.date(2024, 6, 1)],
    ...     offence_types=["burglary_residential"] * 2, domestic_abuse=[False, False],
    ...     victim_refs=[None, None])
    >>> out = person_scores(record, as_of="2024-06-30", catalogue=load_catalogue(),
    ...                     config=load_config())
    >>> round(out["rfg"]["score"], 2), round(out["thr"]["risk"], 2), out["band"]
    (56.0, 12.88, 'high')
    """
    parts = person_parts(record, as_of=as_of, catalogue=catalogue, config=config, model=model)
    return _answers(parts, catalogue=catalogue, config=config, top=top)[0]


def records_arrays(records: Sequence[PersonRecord], catalogue: OffenceCatalogue
                   ) -> tuple[People, Offences, Custody]:
    """Many records as one population's arrays, in the records' order: each record's
    ``person_arrays`` (so each is checked as one is), its rows pointed at its position.
    Victim codes stay each person's own: victims are only counted per person."""
    if len({r.person_id for r in records}) != len(records):
        raise ScoringInputError("person ids repeat")
    each = [person_arrays(record, catalogue) for record in records]
    n_offences = np.array([len(o.pidx) for _, o, _ in each], dtype=np.int64)
    n_spells = np.array([len(c.pidx) for _, _, c in each], dtype=np.int64)
    position = np.arange(len(each), dtype=np.int64)

    def joined(arrays: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)

    people = People(ids=joined([p.ids for p, _, _ in each], np.int64),
                    dob_day=joined([p.dob_day for p, _, _ in each], np.int64),
                    deceased_day=joined([p.deceased_day for p, _, _ in each], np.int64))
    offences = Offences(pidx=np.repeat(position, n_offences),
                        day=joined([o.day for _, o, _ in each], np.int64),
                        type_code=joined([o.type_code for _, o, _ in each], np.int16),
                        domestic_abuse=joined([o.domestic_abuse for _, o, _ in each], bool),
                        victim=joined([o.victim for _, o, _ in each], np.int64))
    spells = Custody(pidx=np.repeat(position, n_spells),
                     start_day=joined([c.start_day for _, _, c in each], np.int64),
                     end_day=joined([c.end_day for _, _, c in each], np.int64))
    return people, offences, spells


def people_scores(records: Sequence[PersonRecord], *, as_of: dt.date | str,
                  catalogue: OffenceCatalogue, config: ScoringConfig,
                  model: ThreatModel | None = None, top: int = 5) -> list[dict[str, Any]]:
    """``person_scores``' answer for each record, in their order, the kernel and the
    explanation computed once for all of them (a nightly re-score of a whole force).

    Raises
    ------
    ScoringInputError
        As ``person_arrays`` does for any one record, or if a person id repeats.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.config import load_config
    >>> cat, cfg = load_catalogue(), load_config()
    >>> records = [PersonRecord(1, dt.date(1995, 5, 1), offence_dates=[dt.date(2024, 6, 1)],
    ...                         offence_types=["burglary_residential"],
    ...                         domestic_abuse=[False], victim_refs=[None]),
    ...            PersonRecord(2, dt.date(1960, 1, 1))]
    >>> out = people_scores(records, as_of="2024-06-30", catalogue=cat, config=cfg)
    >>> out == [person_scores(r, as_of="2024-06-30", catalogue=cat, config=cfg)
    ...         for r in records]
    True
    """
    people, offences, spells = records_arrays(records, catalogue)
    parts = scores_from_arrays(people, offences, spells, as_of=as_date(as_of),
                               catalogue=catalogue, config=config, model=model)
    return _answers(parts, catalogue=catalogue, config=config, top=top)


def _answers(parts: ScoreParts, *, catalogue: OffenceCatalogue, config: ScoringConfig,
             top: int) -> list[dict[str, Any]]:
    """``person_scores``' dict for each person of ``parts``, from its arrays."""
    model = parts.model
    whys = person_explanations(parts, catalogue=catalogue, config=config, top=top)
    rfg = parts.rfg["all"]
    bands = band_codes(rfg.score if config.bands.score == "rfg" else parts.risk, config)
    model_version = model.version if model is not None else rule_based_version(config)
    answers = []
    for i, why in enumerate(whys):
        answers.append({
            "as_of": parts.as_of,
            "rfg": {"recency": float(rfg.recency[i]), "frequency": float(rfg.frequency[i]),
                    "gravity": float(rfg.gravity[i]), "victims": float(rfg.victims[i]),
                    "score": float(rfg.score[i])},
            "rfg_by_stream": {"all": float(rfg.score[i]),
                              "acquisitive": float(parts.rfg["acquisitive"].score[i]),
                              "domestic_abuse": float(parts.rfg["domestic_abuse"].score[i])},
            "thr": {"threat": float(parts.threat[i]), "harm": float(parts.harm[i]),
                    "risk": float(parts.risk[i]),
                    "threat_source": "model" if model is not None else "rule_based",
                    "baseline": why["threat"]["baseline"]},
            "band": config.bands.levels[int(bands[i])][0],
            "escalating": bool(rfg.escalating[i]),
            "offences_to_date": int(parts.basics.n_offences[i]),
            "explanation": [{"part": part, **factor}
                            for part in ("rfg", "threat") for factor in why[part]["factors"]],
            "config_version": config.version,
            "catalogue_version": catalogue.version,
            "model_version": model_version,
        })
    return answers
