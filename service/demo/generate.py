"""Generate a synthetic force area: people, offence histories, custody and IOM memberships.

The offending (people's careers, offences, outcomes, custody, domestic abuse and victims) is
the one synthetic offending model, ``scoring.synthetic`` (also behind the scoring tests'
``synthetic_histories``); this module adds the register's part: home areas, IOM
memberships, deaths, PNC IDs and names, and the frames shaped like the tables.

Pure numpy/pandas and vectorised end to end (no loop runs per person), so a million people
take seconds. Dates are handled as int64 day numbers (days since 1970-01-01) until the
frames are built. Every random draw comes from a child of one ``SeedSequence(seed)``, one
child per stage (children 0-4 the offending model's, 5-7 memberships, deaths and identity;
home areas continue child 0 after the careers), so a given (seed, end, people, years,
offences_per_person) always gives identical frames, and changing one stage does not
reshuffle the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.dates import day_number
from scoring.synthetic.careers import RECORDED_ETHNICITIES, SEXES, recorded_ethnicity
from scoring.synthetic.draws import DAYS_PER_YEAR, as_dates, coded, stage_generators, victim_refs
from scoring.synthetic.offending import MODEL_STAGES, draw_offending
from scoring.synthetic.tables import PENDING
from scoring.uk_calendar import uk_today
from service.demo import tables
from service.demo.cohorts import draw_memberships
from service.demo.common import COHORTS, EXIT_REASONS, MAX_PEOPLE, OUTCOME_CODES, RAGS, SOURCE
from service.demo.people import draw_areas, draw_deaths, draw_identity

DEFAULT_SEED = 20221109  # the IDIOM data date of seed 002 (9 Nov 2022)


@dataclass(frozen=True)
class DemoData:
    """One synthetic force area, as frames shaped like the tables they load into.

    ``person_id`` runs 1..n in ``persons`` and is what the other frames refer to (the
    loader shifts it if the database already used those ids). Dates are ``datetime64``
    at midnight (calendar dates; NaT where the column is nullable and empty);
    ``recorded_at`` and ``created_at`` are UTC timestamps. Vocabulary columns are
    categoricals.
    """

    persons: pd.DataFrame
    offences: pd.DataFrame
    custody: pd.DataFrame
    memberships: pd.DataFrame
    seed: int
    end: date

    def __repr__(self) -> str:
        # Never the rows: even synthetic names and PNC IDs stay out of logs and tracebacks.
        return f"DemoData(seed={self.seed}, end={self.end}, counts={self.counts()})"

    def counts(self) -> dict[str, int]:
        """Row counts per frame, for summaries."""
        return {"persons": len(self.persons), "offences": len(self.offences),
                "custody": len(self.custody), "memberships": len(self.memberships)}


def generate_demo(*, seed: int = DEFAULT_SEED, people: int = 30_000, end: date | None = None,
                  years: int = 6, offences_per_person: float = 3.0) -> DemoData:
    """Generate a believable force area of `people` people over the `years` up to `end`.

    `end` (default today) is the last day anything happens; `offences_per_person` is the
    expected mean number of offences per person before custody removes some.
    Raises ValueError on sizes that cannot make sense or an `end` in the future.
    """
    today = uk_today()
    end = today if end is None else end
    if end > today:
        raise ValueError("end cannot be in the future")
    if not 1 <= people <= MAX_PEOPLE or years < 2 or offences_per_person < 1:
        raise ValueError(f"need 1 <= people <= {MAX_PEOPLE:,}, years >= 2 and "
                         "offences_per_person >= 1")
    rngs = stage_generators(seed, MODEL_STAGES + 3)
    end_day = day_number(end)
    start_day = end_day - int(round(years * DAYS_PER_YEAR))

    model = draw_offending(rngs, people, start_day=start_day, end_day=end_day,
                           mean=offences_per_person)
    persons, offences, spells, offence_types = (model.people, model.offences, model.spells,
                                                model.types)
    persons["area"] = draw_areas(rngs[0], people)
    memberships = draw_memberships(rngs[5], persons, offences, spells, offence_types,
                                   start_day=start_day, end_day=end_day)
    draw_deaths(rngs[6], persons, offences, spells, memberships, end_day=end_day)
    draw_identity(rngs[7], persons, offences)
    return DemoData(
        persons=_persons_frame(persons, offences),
        offences=_offences_frame(offences, offence_types),
        custody=_custody_frame(spells),
        memberships=_memberships_frame(memberships),
        seed=seed,
        end=end,
    )


# --- frames -------------------------------------------------------------------------------

def _categorical(codes: np.ndarray, categories: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories))


def _persons_frame(persons: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    created = offences.groupby("person")["recorded_day"].min().reindex(
        range(len(persons))).to_numpy()
    given = tables.GIVEN_NAMES["male"] + tables.GIVEN_NAMES["female"]
    return pd.DataFrame({
        "person_id": np.arange(1, len(persons) + 1),
        "pnc_id": persons["pnc_id"],
        "given_name": _categorical(persons["given"].to_numpy(), given),
        "family_name": _categorical(persons["family"].to_numpy(), tables.FAMILY_NAMES),
        "date_of_birth": as_dates(persons["dob"].to_numpy()),
        "sex": _categorical(persons["sex"].to_numpy(), SEXES),
        "ethnicity": _categorical(recorded_ethnicity(persons["ethnicity"].to_numpy()),
                                  RECORDED_ETHNICITIES),
        "home_area": _categorical(persons["area"].to_numpy(), list(tables.AREA_SHARES)),
        "deceased_on": as_dates(persons["deceased"].to_numpy(), persons["deceased"].to_numpy() < 0),
        "created_at": pd.DatetimeIndex(as_dates(created)).tz_localize("UTC"),
    })


def _offences_frame(offences: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    n = len(offences)
    victim = offences["victim"].to_numpy()
    pending = offences["outcome"].to_numpy() == PENDING
    return pd.DataFrame({
        "person_id": offences["person"].to_numpy() + 1,
        "offence_date": as_dates(offences["day"].to_numpy()),
        "offence_type": _categorical(offences["type"].to_numpy(), types["offence_type"].tolist()),
        "domestic_abuse": offences["domestic_abuse"].to_numpy(),
        "victim_ref": pd.Categorical.from_codes(victim, categories=victim_refs(victim)),
        "outcome": _categorical(offences["outcome"].to_numpy(), OUTCOME_CODES),
        "outcome_date": as_dates(offences["outcome_day"].to_numpy(), pending),
        "source": SOURCE,
        "source_ref": coded("D", np.arange(1, n + 1), 9),
        "recorded_at": pd.DatetimeIndex(as_dates(offences["recorded_day"].to_numpy()))
        .tz_localize("UTC"),
    })


def _custody_frame(spells: pd.DataFrame) -> pd.DataFrame:
    ongoing = spells["ongoing"].to_numpy()
    return pd.DataFrame({
        "person_id": spells["person"].to_numpy() + 1,
        "start_on": as_dates(spells["start"].to_numpy()),
        "end_on": as_dates(spells["end"].to_numpy(), ongoing),
        "reason": "sentence",
        # The demo's spell is the whole term, so "over 2 years" agrees with the membership
        # exits drawn above (LONG_CUSTODY_DAYS).
        "sentence_months": np.ceil(spells["length"].to_numpy() / 30.4375).astype(np.int64),
        # Keyed as an extract's records are, so the exported files import idempotently.
        "source": SOURCE,
        "source_ref": coded("C", np.arange(1, len(spells) + 1), 9),
    })


def _memberships_frame(members: pd.DataFrame) -> pd.DataFrame:
    areas = list(tables.AREA_SHARES)
    active = members["exited"].to_numpy() < 0
    return pd.DataFrame({
        "person_id": members["person"].to_numpy() + 1,
        "cohort": _categorical(members["cohort"].to_numpy(), COHORTS),
        "stream": _categorical(members["stream"].to_numpy(), list(tables.STREAMS)),
        "area": _categorical(members["area"].to_numpy(), areas),
        "adopted_on": as_dates(members["adopted"].to_numpy()),
        "exited_on": as_dates(members["exited"].to_numpy(), active),
        "exit_reason": _categorical(members["exit_reason"].to_numpy(), EXIT_REASONS),
        # A team post, not a person's name: "OM-BRISTOL-07".
        "offender_manager": ("OM-" + pd.Series(np.array(areas)[members["area"].to_numpy()])
                             + coded("-", members["manager"].to_numpy(), 2)),
        "rag": _categorical(members["rag"].to_numpy(), RAGS),
        "source": SOURCE,
        "source_ref": coded("M", np.arange(1, len(members) + 1), 9),
    })
