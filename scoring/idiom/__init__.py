"""IDIOM-style before / during / after offending and cost for cohort memberships.

For each membership (a person adopted into a cohort stream) three half-open windows
(``shared/design.md``, calendar month arithmetic):

* **before** ``[adopted_on - W months, adopted_on)``
* **during** ``[adopted_on, exited_on)`` (to the end of ``as_of`` while still a member)
* **after**  ``[exited_on, exited_on + W months)``

Offences are counted by ``offence_date`` and costed from the offence catalogue's unit costs.
A membership enters the before/after comparison only once its after window has ended by
``as_of`` (and, when counting proven offences, the 6-month waiting period after it too).

Beyond what IDIOM shows, each group also carries: days at liberty (window days minus
custody) and offences per 365 days at liberty, how many members had under 90 days at
liberty in a window, a bootstrap interval for the reduction, a small-group warning, a
suppression marker, and (optionally, see ``scoring.comparison``) a matched comparison
group of people not adopted, whose own before/after change is netted off.

Everything here is pandas/numpy over whole frames (merges and masks); the only Python
loops are over the three windows and over report groups. ``member_windows_reference`` is
the slow, obviously-correct version the tests compare against.

Modules, one concept each: ``rules`` (``idiom.yaml``), ``inputs`` (checking and
normalising the frames), ``windows`` (the vectorised windows), ``reference`` (the slow
twin), ``stats`` (reductions, rates, bootstrap), ``groups`` (one group's figures),
``comparison`` (the matched comparison group), ``report`` (the report), ``table`` (the
panel's CSV table) and ``monthly`` (the monthly chart).
"""

# Exports load on first use (scoring/lazy.py): importing one small module of this package
# does not pull in scikit-learn.
from typing import TYPE_CHECKING

from scoring.lazy import lazy_exports

if TYPE_CHECKING:
    from scoring.idiom.comparison import Matching, match_comparison
    from scoring.idiom.inputs import (
        CUSTODY_COLUMNS,
        GROUP_KEYS,
        MEMBERSHIP_COLUMNS,
        OFFENCE_COLUMNS,
        UNKNOWN_GROUP,
        PreparedOffences,
        prepare_offences,
    )
    from scoring.idiom.monthly import MonthlyOffending, monthly_offending
    from scoring.idiom.reference import member_windows_reference
    from scoring.idiom.report import IdiomReport, idiom_report
    from scoring.idiom.rules import (
        COUNTING,
        DEFAULT_RULES,
        IdiomRules,
        IdiomRulesError,
        load_idiom_rules,
    )
    from scoring.idiom.table import report_notes, report_table, withheld_groups
    from scoring.idiom.windows import (
        EXCLUSION_REASONS,
        WINDOWS,
        custody_days,
        member_windows,
        window_bounds,
        window_counts,
    )

_EXPORTS = {
    "COUNTING": "scoring.idiom.rules",
    "CUSTODY_COLUMNS": "scoring.idiom.inputs",
    "DEFAULT_RULES": "scoring.idiom.rules",
    "EXCLUSION_REASONS": "scoring.idiom.windows",
    "GROUP_KEYS": "scoring.idiom.inputs",
    "IdiomReport": "scoring.idiom.report",
    "IdiomRules": "scoring.idiom.rules",
    "IdiomRulesError": "scoring.idiom.rules",
    "MEMBERSHIP_COLUMNS": "scoring.idiom.inputs",
    "Matching": "scoring.idiom.comparison",
    "MonthlyOffending": "scoring.idiom.monthly",
    "OFFENCE_COLUMNS": "scoring.idiom.inputs",
    "PreparedOffences": "scoring.idiom.inputs",
    "UNKNOWN_GROUP": "scoring.idiom.inputs",
    "WINDOWS": "scoring.idiom.windows",
    "custody_days": "scoring.idiom.windows",
    "idiom_report": "scoring.idiom.report",
    "load_idiom_rules": "scoring.idiom.rules",
    "match_comparison": "scoring.idiom.comparison",
    "member_windows": "scoring.idiom.windows",
    "member_windows_reference": "scoring.idiom.reference",
    "monthly_offending": "scoring.idiom.monthly",
    "prepare_offences": "scoring.idiom.inputs",
    "report_notes": "scoring.idiom.table",
    "report_table": "scoring.idiom.table",
    "window_bounds": "scoring.idiom.windows",
    "window_counts": "scoring.idiom.windows",
    "withheld_groups": "scoring.idiom.table",
}


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


__all__ = ["COUNTING", "CUSTODY_COLUMNS", "EXCLUSION_REASONS", "GROUP_KEYS", "IdiomReport",
           "MEMBERSHIP_COLUMNS", "Matching", "MonthlyOffending", "OFFENCE_COLUMNS",
           "PreparedOffences", "UNKNOWN_GROUP", "WINDOWS", "DEFAULT_RULES", "IdiomRules",
           "IdiomRulesError", "load_idiom_rules",
           "custody_days", "idiom_report", "match_comparison", "member_windows",
           "member_windows_reference", "monthly_offending", "prepare_offences", "report_notes",
           "report_table", "withheld_groups",
           "window_bounds", "window_counts"]
