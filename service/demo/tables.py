"""The knobs of the synthetic force area's register: areas, IOM streams, exits, names.

Every figure here is invented for demonstration: plausible in shape (Bristol largest),
never a statistic about real people. Nothing in the service reads these tables except the
demo generator. The offending model's knobs (sex and ethnicity shares, offence mixes,
outcomes, sentence lengths) are in ``scoring.synthetic.tables``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Areas with a share of the force's known offenders: roughly population, with Bristol's
# higher crime rate pushing it up (seed 002 has Bristol at half the Fixed cohort's offences).
AREA_SHARES: dict[str, float] = {
    "BRISTOL": 0.36,
    "SOUTH_GLOS": 0.15,
    "NORTH_SOMERSET": 0.13,
    "SOMERSET_EAST": 0.13,
    "SOMERSET_WEST": 0.12,
    "BANES": 0.11,
}

AREA_NAMES: dict[str, str] = {
    "BANES": "Bath and North East Somerset",
    "BRISTOL": "Bristol",
    "NORTH_SOMERSET": "North Somerset",
    "SOMERSET_EAST": "Somerset East",
    "SOMERSET_WEST": "Somerset West",
    "SOUTH_GLOS": "South Gloucestershire",
}

@dataclass(frozen=True)
class StreamRule:
    """How the demo picks people for a cohort stream.

    offences: the types that count (None: any offence flagged domestic abuse); threshold:
    that many in 12 months makes a person eligible; per_100k: memberships per 100,000 people
    known to police (IOM capacity over the years); cohorts: cohort -> share of adoptions.
    """

    offences: tuple[str, ...] | None
    threshold: int
    per_100k: int
    cohorts: dict[str, float]


# Names used only if a database lacks a stream (the initial migration seeds all three).
STREAM_NAMES: dict[str, str] = {
    "nsac": "Neighbourhood Serious Acquisitive Crime",
    "high_harm": "High Harm",
    "domestic_abuse": "Domestic Abuse",
}

STREAMS: dict[str, StreamRule] = {
    "nsac": StreamRule(
        offences=("burglary_residential", "robbery_personal", "theft_from_person",
                  "theft_of_vehicle", "theft_from_vehicle"),
        threshold=3, per_100k=700, cohorts={"fixed": 0.8, "flex": 0.2}),
    "high_harm": StreamRule(
        offences=("violence_with_injury", "robbery_personal", "rape", "other_sexual",
                  "homicide", "arson", "weapons"),
        threshold=2, per_100k=270, cohorts={"free": 0.8, "flex": 0.2}),
    "domestic_abuse": StreamRule(offences=None, threshold=2, per_100k=300,
                                 cohorts={"free": 1.0}),
}
EXIT_REASON_SHARES = {"rehabilitated": 0.45, "no_longer_meets_criteria": 0.30,
                      "moved_area": 0.10, "other": 0.15}

GIVEN_NAMES = {
    "male": ("Jack", "Liam", "Ryan", "Connor", "Daniel", "Kyle", "Jordan", "Lewis", "Callum",
             "Dean", "Jamie", "Aaron", "Shane", "Craig", "Luke", "Mohammed", "Tomasz",
             "Kwame", "Darren", "Lee", "Marcus", "Reece", "Nathan", "Bradley", "Josh"),
    "female": ("Chloe", "Jade", "Stacey", "Kelly", "Amy", "Leanne", "Gemma", "Danielle",
               "Sophie", "Aisha", "Kayleigh", "Natalie", "Charlotte", "Zoe", "Lauren"),
}
FAMILY_NAMES = ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
                "Thomas", "Johnson", "Roberts", "Walker", "Wright", "Robinson", "Thompson",
                "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis",
                "Martin", "Jackson", "Clarke", "Clark", "Turner", "Hill", "Scott", "Cooper",
                "Morris", "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan",
                "Patel", "Young", "Allen", "Mitchell", "James", "Anderson", "Phillips",
                "Lee", "Bell", "Parker", "Khan", "Nowak", "Mensah")
# Share of people whose name was never captured (e.g. records imported by PNC ID only).
NAMELESS_SHARE = 0.08
