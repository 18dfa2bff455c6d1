"""``synthetic_histories``: the one synthetic offending model, as the scoring contract's frames.

The same people, offences, custody spells, domestic abuse and victims as the demo force area
(``service.demo.generate_demo``) draws for the same seed, window and mean, without the
register's part (areas, names, PNC IDs, deaths, IOM memberships) or the columns scoring does
not read (outcomes, recording days). Sex and ethnicity come back as monitoring labels only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.catalogue import OffenceCatalogue, load_catalogue
from scoring.dates import as_date, day_number
from scoring.synthetic.careers import (
    RECORDED_ETHNICITIES,
    SEXES,
    draw_ethnicity,
    recorded_ethnicity,
)
from scoring.synthetic.draws import as_dates, stage_generators, strings, victim_refs
from scoring.synthetic.offending import MODEL_STAGES, Offending, draw_offending
from scoring.synthetic.tables import offence_table


@dataclass(frozen=True)
class SyntheticData:
    """Frames in the scoring contract, plus monitoring labels kept apart from them."""

    persons: pd.DataFrame     # person_id, date_of_birth
    offences: pd.DataFrame    # person_id, offence_date, offence_type, domestic_abuse, victim_ref
    custody: pd.DataFrame     # person_id, start_on, end_on
    monitoring: pd.DataFrame  # person_id, sex, ethnicity (never a scoring input)


def synthetic_histories(n_people: int, *, start: str = "2015-01-01", end: str = "2024-12-31",
                        mean_offences: float = 10.0, seed: int = 0,
                        catalogue: OffenceCatalogue | None = None,
                        victims: bool = True) -> SyntheticData:
    """Generate ``n_people`` people with about ``mean_offences`` offences each.

    Everyone has offended at least once; a small persistent core offends often over long
    careers, most others once or twice (see ``scoring.synthetic``).

    Parameters
    ----------
    n_people : int
        At least 1; ``person_id`` runs 1..n_people.
    start, end : "YYYY-MM-DD"
        The window every offence and custody spell falls in (ages are drawn at ``end``).
    mean_offences : float
        Target mean offences per person (at least 1), before custody removes some.
    seed : int
    catalogue : OffenceCatalogue, optional
        Must know every offence type the model draws (default: the packaged catalogue).
    victims : bool
        Give offences against a person their ``victim_ref`` (else every one is missing).

    Returns
    -------
    SyntheticData
        Offences sorted by person and date, as a database extract would be; custody spells
        still running at ``end`` have no ``end_on``.

    Raises
    ------
    ValueError
        On sizes that cannot make sense, or a catalogue without one of the model's types.

    Examples
    --------
    >>> data = synthetic_histories(200, seed=1)
    >>> sorted(data.offences.columns)
    ['domestic_abuse', 'offence_date', 'offence_type', 'person_id', 'victim_ref']
    >>> 5 < len(data.offences) / 200 < 15
    True
    """
    cat = catalogue or load_catalogue()
    unknown = sorted(set(offence_table()["offence_type"]) - set(cat.offence_types))
    if unknown:
        raise ValueError(f"offence types missing from the catalogue: {unknown}")
    first, last = day_number(as_date(start)), day_number(as_date(end))
    if n_people < 1 or mean_offences < 1 or last <= first:
        raise ValueError("need n_people >= 1, mean_offences >= 1 and start before end")
    # The model's stages, then one more for the monitoring labels it does not draw.
    rngs = stage_generators(seed, MODEL_STAGES + 1)
    model = draw_offending(rngs, n_people, start_day=first, end_day=last, mean=mean_offences)
    return _frames(model, draw_ethnicity(rngs[MODEL_STAGES], n_people), victims=victims)


def _frames(model: Offending, ethnicity: np.ndarray, *, victims: bool) -> SyntheticData:
    people, offences, spells = model.people, model.offences, model.spells
    ids = np.arange(1, len(people) + 1)
    victim = offences["victim"].to_numpy()
    if not victims:
        victim = np.full(len(victim), -1)
    return SyntheticData(
        persons=pd.DataFrame({"person_id": ids,
                              "date_of_birth": as_dates(people["dob"].to_numpy())}),
        offences=pd.DataFrame({
            "person_id": offences["person"].to_numpy() + 1,
            "offence_date": as_dates(offences["day"].to_numpy()),
            "offence_type": strings(offences["type"].to_numpy(), model.types["offence_type"]),
            "domestic_abuse": offences["domestic_abuse"].to_numpy(),
            "victim_ref": strings(victim, victim_refs(victim)),
        }),
        custody=pd.DataFrame({
            "person_id": spells["person"].to_numpy() + 1,
            "start_on": as_dates(spells["start"].to_numpy()),
            "end_on": as_dates(spells["end"].to_numpy(), spells["ongoing"].to_numpy()),
        }),
        monitoring=pd.DataFrame({
            "person_id": ids,
            "sex": strings(people["sex"].to_numpy(), SEXES),
            "ethnicity": strings(recorded_ethnicity(ethnicity), RECORDED_ETHNICITIES),
        }),
    )


def as_of_default(data: SyntheticData) -> dt.date:
    """The latest synthetic offence date: a natural ``as_of`` for "now"."""
    return pd.Timestamp(data.offences["offence_date"].max()).date()
