"""Migration-meeting shortlists: who is eligible for a cohort stream, who is excluded and
why, how candidates are ranked, and which members are put up for an exit review.

Pure functions over DataFrames (numpy and pandas only). The rules are a versioned YAML
file (``scoring/data/shortlists.yaml``); nothing here decides anything, it lists people
for a multi-agency meeting that does.

Every function takes ``as_of`` and looks only at rows dated on or before it (offences,
custody, memberships, referrals), so the same inputs and ``as_of`` give the same list.

Modules: ``rules`` (the configuration), ``eligibility`` (qualifying offences, referrals,
the pool), ``reasons`` (exclusion and candidate reasons), ``ranking`` (the shortlist),
``exits`` (the exit review) and ``lookups`` (per-person figures over sorted ids).
"""

from scoring.shortlist.eligibility import (
    lookback_start,
    qualifying_mask,
    qualifying_types,
    shortlist_pool,
)
from scoring.shortlist.exits import EXIT_COLUMNS, exit_review
from scoring.shortlist.ranking import (
    CANDIDATE_COLUMNS,
    EXCLUDED_COLUMNS,
    RANK_BY,
    Shortlist,
    migration_shortlist,
)
from scoring.shortlist.reasons import EXCLUSION_CODES, exclusion_text
from scoring.shortlist.rules import (
    DEFAULT_PATH,
    ShortlistConfig,
    ShortlistError,
    StreamRule,
    load_shortlist_config,
)

__all__ = ["CANDIDATE_COLUMNS", "DEFAULT_PATH", "EXCLUDED_COLUMNS", "EXCLUSION_CODES",
           "EXIT_COLUMNS", "RANK_BY", "exclusion_text",
           "Shortlist", "ShortlistConfig", "ShortlistError", "StreamRule", "exit_review",
           "load_shortlist_config", "lookback_start", "migration_shortlist", "qualifying_mask",
           "qualifying_types", "shortlist_pool"]
