"""Synthetic demo data: a believable force area, generated from a seed and bulk-loaded.

The offending in it (careers, offences, outcomes, custody, domestic abuse and victims) is
the one synthetic offending model, ``scoring.synthetic``; this package adds what is about
the register: home areas, names, PNC IDs, deaths and IOM memberships. `generate_demo` is
pure numpy/pandas (the database benchmarks reuse it); `load_demo` writes its frames to the
register in one transaction (COPY on PostgreSQL).
"""

from service.demo.generate import DEFAULT_SEED, DemoData, generate_demo
from service.demo.load import DemoDataExists, count_persons, load_demo

__all__ = ["DEFAULT_SEED", "DemoData", "DemoDataExists", "count_persons", "generate_demo",
           "load_demo"]
