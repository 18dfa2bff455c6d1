"""Who a stream's shortlist considers: qualifying offences in the look-back window, and
open referrals.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from scoring.dates import as_day, calendar_days, months_before
from scoring.shortlist.rules import ShortlistConfig, StreamRule
from scoring.validation import check_frame


def _type_mask(rule: StreamRule, catalogue_table: pd.DataFrame) -> np.ndarray:
    """Which catalogue rows (offence types) a stream's rule accepts, before the offence's
    own domestic-abuse flag is looked at (shape (len(catalogue_table),), bool)."""
    t = catalogue_table
    mask = np.ones(len(t), dtype=bool)
    if rule.neighbourhood_crime:
        mask &= t["neighbourhood_crime"].fillna(False).to_numpy(dtype=bool)
    if rule.min_gravity is not None:
        mask &= t["gravity"].fillna(0).to_numpy() >= rule.min_gravity
    if rule.offence_groups or rule.offence_types:
        mask &= (t["offence_group"].isin(rule.offence_groups).to_numpy()
                 | t.index.isin(rule.offence_types))
    return mask


def qualifying_mask(offences: pd.DataFrame, rule: StreamRule,
                    catalogue_table: pd.DataFrame) -> np.ndarray:
    """Which offence rows are qualifying offences of a stream (shape (n,), bool).

    All stated conditions must hold; ``offence_groups`` and ``offence_types`` combine as
    "either". Offence types missing from the catalogue never qualify.
    """
    # The rule is decided once per distinct offence type: per-row catalogue joins over
    # string columns cost milliseconds on a shortlist's pool.
    codes, kinds = pd.factorize(offences["offence_type"].to_numpy(dtype=object))
    accepted = dict(zip(catalogue_table.index, _type_mask(rule, catalogue_table), strict=True))
    by_kind = np.array([accepted.get(k, False) for k in kinds] + [False], dtype=bool)
    mask = by_kind[codes]  # code -1 (a missing type) takes the trailing False
    if rule.domestic_abuse:
        mask &= offences["domestic_abuse"].fillna(False).to_numpy(dtype=bool)
    return mask


def qualifying_types(rule: StreamRule, catalogue_table: pd.DataFrame) -> list[str]:
    """The catalogue offence types that can be qualifying offences of a stream (sorted).

    ``qualifying_mask`` restricted to what the offence type decides: an offence qualifies
    only if its type is listed here (and, for a ``domestic_abuse`` rule, it is flagged
    domestic abuse). Lets a database pre-select the look-back window's candidate rows.

    Examples
    --------
    >>> from scoring.catalogue import load_catalogue
    >>> from scoring.shortlist import load_shortlist_config
    >>> types = qualifying_types(load_shortlist_config().rule("nsac"), load_catalogue().table)
    >>> "burglary_residential" in types, "shoplifting" in types
    (True, False)
    """
    index = catalogue_table.index
    return sorted(str(t) for t in index[_type_mask(rule, catalogue_table)])


def lookback_start(as_of: dt.date | str, months: int) -> dt.date:
    """The (exclusive) first day of a look-back window: offences dated after it and on or
    before ``as_of`` are "in the ``months`` months to as_of"."""
    return pd.Timestamp(months_before(as_day(as_of), months)).date()


def open_referrals(referrals: pd.DataFrame | None, as_of: np.datetime64) -> pd.DataFrame:
    cols = ["person_id", "referral_id", "referring_agency", "reason", "referred_on",
            "ogrs_score"]
    if referrals is None or referrals.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    r = referrals
    referred = calendar_days(r["referred_on"])
    closed = (calendar_days(r["closed_on"]) if "closed_on" in r
              else np.full(len(r), np.datetime64("NaT")))
    keep = (referred <= as_of) & (np.isnat(closed) | (closed > as_of))
    out = r.loc[keep].copy()
    if "ogrs_score" not in out:
        out["ogrs_score"] = np.nan
    # One row per person: the earliest open referral speaks for them.
    out = out.sort_values(["person_id", "referred_on", "referral_id"], kind="stable")
    return out.drop_duplicates("person_id")[cols]


def active_on(frame: pd.DataFrame, start: str, end: str, as_of: np.datetime64) -> np.ndarray:
    """Rows whose half-open [start, end) contains as_of (end NaT: still running)."""
    s, e = calendar_days(frame[start]), calendar_days(frame[end])
    return np.asarray((s <= as_of) & (np.isnat(e) | (e > as_of)), dtype=bool)


def shortlist_pool(offences: pd.DataFrame, referrals: pd.DataFrame | None = None, *,
                   as_of: dt.date | str, stream: str, config: ShortlistConfig,
                   catalogue_table: pd.DataFrame) -> np.ndarray:
    """The people a shortlist has to consider (sorted person ids, shape (k,)).

    Those with enough qualifying offences in the look-back window, and those with a
    referral open on ``as_of``. Scoring only these people before calling
    ``migration_shortlist`` gives the same list as scoring everyone (scores are per person).
    """
    check_frame(offences, ("person_id", "offence_date", "offence_type"), "offences")
    rule = config.rule(stream)
    day = as_day(as_of)
    if len(offences):
        days = calendar_days(offences["offence_date"])
        inside = (days <= day) & (days > months_before(day, rule.lookback_months))
        qual = qualifying_mask(offences, rule, catalogue_table) & inside
        counts = offences.loc[qual, "person_id"].value_counts()
        meets = counts.index[counts.to_numpy() >= max(rule.min_offences, 1)].to_numpy()
    else:
        meets = np.array([], dtype=np.int64)
    refs = open_referrals(referrals, day)["person_id"].to_numpy()
    return np.union1d(meets.astype(np.int64), refs.astype(np.int64))


def serial_victims(off: pd.DataFrame, qual: np.ndarray, rule: StreamRule) -> dict[int, int]:
    """Distinct victims per person over the qualifying offences (DA serial perpetrators)."""
    if not rule.serial_victims or "victim_ref" not in off:
        return {}
    q = off.loc[qual, ["person_id", "victim_ref"]].dropna()
    return {int(k): int(v) for k, v in q.groupby("person_id")["victim_ref"].nunique().items()}

