"""The one synthetic offending model (no real person in it), for the demo, tests and benchmarks.

The model has the structure the scores are meant to find. Each person has a personal
offending rate, heavy-tailed across people: a small persistent core (4 %) offends several
times a year over careers of about eight years, the long tail rarely over about two. Careers
start when the window opens or later (never before age 10) and end; rates fall with age
(the age-crime curve). Offence types follow a per-person profile (acquisitive, violent,
domestic, sexual, drugs or general, with a generalist share), from the per-type table in
``tables``. Offences get outcomes (court cases take months; unfinished ones show as
charged or pending), convictions bring custody (likelier and longer on repeat), nobody
offends while inside, and domestic-abuse offences have victims who follow one another in
time. So past frequency and recency predict future offending, which is what the threat
model must learn.

Modules: ``tables`` (the knobs), ``draws`` (day arithmetic and vectorised helpers),
``careers`` (people and careers), ``offending`` (offences, outcomes, custody, DA and
victims; ``draw_offending`` runs the model) and ``histories`` (``synthetic_histories``: the
model as the scoring contract's frames). Fully vectorised: a million people in seconds.

Two users: ``service.demo`` adds the register's part (areas, names, PNC IDs, deaths, IOM
memberships) and loads a demo force area; ``synthetic_histories`` feeds the scoring tests,
the doctests and ``bench/bench_scoring.py``. For the same seed, window and mean both hold the
same offences.
"""

from scoring.synthetic.histories import SyntheticData, as_of_default, synthetic_histories

__all__ = ["SyntheticData", "as_of_default", "synthetic_histories"]
