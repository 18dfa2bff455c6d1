"""What the demo's register stages share: codes for the register's vocabularies, PNC years.

The offending model's own helpers (day arithmetic, vectorised draws) are in
``scoring.synthetic.draws``.
"""

from __future__ import annotations

import numpy as np

from models.enums import Cohort, ExitReason, Outcome, Rag
from scoring.synthetic.draws import EPOCH
from scoring.synthetic.tables import OUTCOMES

SOURCE = "demo"
LONG_CUSTODY_DAYS = 730  # "custody over 2 years" ends an IOM membership (seed 003)
PNC_FIRST_YEAR = 1975
# Every person gets a distinct 7-digit PNC serial, whatever the year.
MAX_PEOPLE = 9_999_999

# The model's outcome codes: its positions in OUTCOMES, then PENDING, named as the register
# names it.
OUTCOME_CODES = [*OUTCOMES, Outcome.pending.value]
EXIT_REASONS = [r.value for r in ExitReason]
COHORTS = [c.value for c in Cohort]
RAGS = [r.value for r in Rag]


def year_of(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days).astype("datetime64[Y]").astype(np.int64) + 1970
