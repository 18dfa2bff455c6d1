"""Retention review: the people whose records are due for a review as of a date.

A force's Management of Police Information (MoPI) policy has records reviewed once they have
gone quiet, so personal data is not kept longer than it is needed. The rule is data
(``scoring/data/retention.yaml`` by default): an INDICATIVE default of six years with no
offence, no custody and no active IOM cohort membership, in the spirit of the clear-period
review in the College of Policing's APP on information management, which a force replaces
with its own MoPI review schedule; it is not legal advice. The list only supports a human
review: this module reads frames and returns a frame, and never deletes, archives or changes
a record itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.dates import add_months, as_date, as_day, calendar_days
from scoring.paths import RETENTION_RULE
from scoring.rules import RulesReader, load_rules
from scoring.validation import ScoringInputError, check_frame, check_unique

DEFAULT_PATH = RETENTION_RULE

ACTIVITY_KINDS = ("offences", "custody", "memberships")
RULE_KEYS = ("version", "quiet_years", "activity", "review_on_death")
RETENTION_COLUMNS = ("person_id", "last_offence_on", "last_custody_on", "last_membership_on",
                     "last_activity_on", "review_due_on", "deceased_on", "reason")
# Why a person is listed, in the order they are decided (the first that holds is given).
REASONS = ("deceased", "no_activity_recorded", "quiet_period")
NAT_DAY = np.datetime64("NaT", "D")
_LAST_COLUMN = {"offences": "last_offence_on", "custody": "last_custody_on",
                "memberships": "last_membership_on"}


class RetentionRuleError(ValueError):
    """The retention rules file is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class RetentionRule:
    """A loaded, checked retention rule (see ``retention.yaml`` for each field).

    Attributes
    ----------
    version : str
        Recorded next to every list made with this rule.
    quiet_years : int
        Years without counted activity before a person is due for review.
    activity : tuple of str
        The kinds of record that count as activity (a subset of ``ACTIVITY_KINDS``).
    review_on_death : bool
        Whether a death on or before as_of makes a person due whatever their activity.
    source : str
        The file it was read from ("" when built from a mapping).
    """

    version: str
    quiet_years: int
    activity: tuple[str, ...]
    review_on_death: bool
    source: str = ""


def load_retention_rule(path: str | Path | None = None) -> RetentionRule:
    """Load and check a retention rules file (the project default when ``path`` is None).

    Raises
    ------
    RetentionRuleError
        If the file is not valid YAML, lacks a key or its version, has an unknown key, or a
        value of the wrong type (every problem is listed, with the file).

    Examples
    --------
    >>> rule = load_retention_rule()
    >>> rule.quiet_years, rule.activity, rule.review_on_death
    (6, ('offences', 'custody', 'memberships'), True)
    """
    return load_rules(DEFAULT_PATH if path is None else path, retention_rule_from_mapping,
                      error=RetentionRuleError)


def retention_rule_from_mapping(raw: object, *, source: str = "") -> RetentionRule:
    """Validate a parsed retention rules mapping (see `load_retention_rule`)."""
    r = RulesReader(source)
    top = r.section(raw, "", RULE_KEYS)
    version = r.version(top)
    quiet = r.number(top, "quiet_years", "", positive=True, integer=True)
    activity = r.names(top, "activity", "")
    unknown = [a for a in activity if a not in ACTIVITY_KINDS]
    if unknown:
        r.errors.append(f"activity: unknown kind(s) {unknown}; known: {list(ACTIVITY_KINDS)}")
    if "activity" in top and not activity:
        r.errors.append("activity: must name at least one kind of record")
    if len(set(activity)) != len(activity):
        r.errors.append(f"activity: names a kind twice ({list(activity)})")
    on_death = r.optional_flag(top, "review_on_death", "")
    r.check(RetentionRuleError, "retention rules")
    return RetentionRule(version=version, quiet_years=int(quiet), activity=activity,
                         review_on_death=bool(on_death), source=source)


def retention_review(persons: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                     memberships: pd.DataFrame, *, as_of: dt.date | str,
                     rule: RetentionRule) -> pd.DataFrame:
    """The people due for a retention review as of ``as_of``, oldest activity first.

    Parameters
    ----------
    persons : DataFrame
        ``person_id`` (unique), optionally ``deceased_on``: the population considered.
    offences : DataFrame
        ``person_id``, ``offence_date``.
    custody : DataFrame
        ``person_id``, ``start_on``, ``end_on`` (NaT: still in custody).
    memberships : DataFrame
        IOM cohort memberships: ``person_id``, ``adopted_on``, ``exited_on`` (NaT: active).
    as_of : date or "YYYY-MM-DD"
    rule : RetentionRule

    Returns
    -------
    DataFrame
        One row per person due, columns ``RETENTION_COLUMNS``, sorted by
        ``last_activity_on`` (people with none first) then ``person_id``, index 0..n-1.
        ``last_custody_on`` is the last spell's end (as_of if one is still open on as_of),
        ``last_membership_on`` the last exit (as_of if one is still active);
        ``last_activity_on`` is the latest of the kinds ``rule.activity`` counts (NaT if
        none). ``review_due_on`` is ``last_activity_on`` plus ``rule.quiet_years`` calendar
        years, or the date of death if earlier (with ``review_on_death``), NaT for a living
        person with no activity. ``reason`` is one of ``REASONS``. Dates are datetime64[s].

    A person is due when ``review_due_on <= as_of`` (due on the anniversary itself), when
    they have no counted activity at all, or (``review_on_death``) when they died on or
    before as_of. Records that begin after as_of, and deaths after it, are ignored: the list
    is what was known on that date. Activity of a person_id not in ``persons`` is ignored.

    Raises
    ------
    ScoringInputError
        On a missing column, a duplicate ``person_id``, a null start date (``offence_date``,
        ``start_on``, ``adopted_on``) or a value that is not a date.

    Examples
    --------
    >>> persons = pd.DataFrame({"person_id": [1, 2]})
    >>> offences = pd.DataFrame({"person_id": [1, 2],
    ...     "offence_date": pd.to_datetime(["2018-06-30", "2018-07-01"])})
    >>> none = pd.DataFrame({"person_id": [], "start_on": [], "end_on": [],
    ...     "adopted_on": [], "exited_on": []})
    >>> out = retention_review(persons, offences, none, none, as_of="2024-06-30",
    ...     rule=load_retention_rule())
    >>> out[["person_id", "review_due_on", "reason"]].to_dict("records")
    [{'person_id': 1, 'review_due_on': Timestamp('2024-06-30 00:00:00'), 'reason': 'quiet_period'}]
    """
    check_frame(persons, ("person_id",), "persons", error=ScoringInputError)
    check_frame(offences, ("person_id", "offence_date"), "offences", error=ScoringInputError)
    check_frame(custody, ("person_id", "start_on", "end_on"), "custody",
                error=ScoringInputError)
    check_frame(memberships, ("person_id", "adopted_on", "exited_on"), "memberships",
                error=ScoringInputError)
    check_unique(persons["person_id"], "persons has duplicate person_id(s)",
                 error=ScoringInputError)
    day = as_day(as_date(as_of))
    ids = persons["person_id"].to_numpy()
    last = {
        "offences": _last_day(offences, "offence_date", None, day, ids, "offences"),
        "custody": _last_day(custody, "start_on", "end_on", day, ids, "custody"),
        "memberships": _last_day(memberships, "adopted_on", "exited_on", day, ids,
                                 "memberships"),
    }
    activity = np.fmax.reduce([last[k] for k in rule.activity])  # fmax skips NaT
    never = np.isnat(activity)
    died = (_dates(persons, "deceased_on", "persons", allow_null=True)
            if "deceased_on" in persons.columns else np.full(len(ids), NAT_DAY))
    died[died > day] = NAT_DAY  # not yet known on as_of
    due_on = add_months(activity, 12 * rule.quiet_years)
    death_trigger = ~np.isnat(died) & rule.review_on_death
    if rule.review_on_death:
        due_on = np.fmin(due_on, died)
    listed = death_trigger | never | (due_on <= day)
    reason = np.select([death_trigger, never], list(REASONS[:2]), default=REASONS[2])
    out = pd.DataFrame({
        "person_id": ids,
        **{_LAST_COLUMN[k]: _seconds(last[k]) for k in ACTIVITY_KINDS},
        "last_activity_on": _seconds(activity), "review_due_on": _seconds(due_on),
        "deceased_on": _seconds(died), "reason": reason.astype(object),
    }, columns=list(RETENTION_COLUMNS)).loc[listed]
    return out.sort_values(["last_activity_on", "person_id"], na_position="first",
                           kind="stable").reset_index(drop=True)


def _dates(frame: pd.DataFrame, column: str, name: str, *, allow_null: bool) -> np.ndarray:
    """A date column as datetime64[D] (NaT for a missing date, refused unless allowed)."""
    try:
        days = calendar_days(frame[column])
    except (TypeError, ValueError) as exc:
        raise ScoringInputError(f"{name}.{column} must hold dates ({exc})") from exc
    if not allow_null and np.isnat(days).any():
        raise ScoringInputError(f"{name}.{column} has null dates")
    return days


def _last_day(frame: pd.DataFrame, start: str, end: str | None, day: np.datetime64,
              ids: np.ndarray, name: str) -> np.ndarray:
    """Per person in ``ids``: the latest activity day of records begun by ``day``
    (datetime64[D], shape (len(ids),), NaT where none). A record's activity day is its
    ``end`` capped at ``day`` (``day`` when open), or its ``start`` when it has no end."""
    begun = _dates(frame, start, name, allow_null=False)
    upto = begun
    if end is not None:
        ends = _dates(frame, end, name, allow_null=True)
        upto = np.where(np.isnat(ends) | (ends > day), day, ends)
    keep = begun <= day
    series = pd.Series(upto[keep], index=frame["person_id"].to_numpy()[keep])
    per_person = series.groupby(level=0).max().reindex(ids)
    return np.asarray(per_person.to_numpy(), dtype="datetime64[D]")


def _seconds(days: np.ndarray) -> np.ndarray:
    """datetime64[D] as the frames' datetime64[s]."""
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]")
