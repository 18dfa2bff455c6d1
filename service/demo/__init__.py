"""Synthetic demo data: a believable force area, generated from a seed and bulk-loaded.

`generate_demo` is pure numpy/pandas (the scoring benchmark reuses it); `load_demo` writes
its frames to the register in one transaction (COPY on PostgreSQL).
"""

from service.demo.generate import DEFAULT_SEED, DemoData, generate_demo
from service.demo.load import DemoDataExists, count_persons, load_demo

__all__ = ["DEFAULT_SEED", "DemoData", "DemoDataExists", "count_persons", "generate_demo",
           "load_demo"]
