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
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

WINDOWS = ("before", "during", "after")
GROUP_KEYS = ("area", "cohort", "stream", "sex", "offence_group", "exit_reason")
COUNTING = ("recorded", "proven")
# Ministry of Justice proven reoffending: an offence that results in a conviction or a caution
# (reprimands and warnings are recorded as cautions here; community resolutions do not count).
PROVEN_OUTCOMES = frozenset({"conviction", "caution"})
WAITING_MONTHS = 6  # MoJ waiting period after the follow-up window for the outcome to arrive
EXCLUSION_REASONS = (
    "adopted_after_as_of",       # not yet a member on the report date
    "not_exited",                # still a member on the report date: no after window yet
    "after_window_not_ended",    # left, but the after window runs past the report date
    "waiting_period_not_ended",  # proven counting only: the 6-month wait has not passed
)
MEMBERSHIP_COLUMNS = ("membership_id", "person_id", "area", "cohort", "stream", "sex",
                      "adopted_on", "exited_on", "exit_reason")
OFFENCE_COLUMNS = ("person_id", "offence_date", "offence_type", "outcome", "outcome_date")
CUSTODY_COLUMNS = ("person_id", "start_on", "end_on")
UNKNOWN_GROUP = "unknown"

_NAT = np.iinfo(np.int64).min  # int64 form of a missing date
_EPOCH = date(1970, 1, 1)


# --------------------------------------------------------------------------- dates


def add_months(days: Any, months: int) -> np.ndarray:
    """Calendar month arithmetic, clamping to the last day of the target month.

    Parameters
    ----------
    days : array_like of datetime64[D] (or anything numpy turns into it), shape (n,)
    months : int
        May be negative.

    Returns
    -------
    numpy.ndarray of datetime64[D], shape (n,); NaT stays NaT.

    Examples
    --------
    >>> add_months(np.array(["2024-01-31", "2023-01-31", "2024-02-29"], "datetime64[D]"), 1)
    array(['2024-02-29', '2023-02-28', '2024-03-29'], dtype='datetime64[D]')
    >>> add_months(np.array(["2024-02-29"], "datetime64[D]"), -12)
    array(['2023-02-28'], dtype='datetime64[D]')
    """
    d = np.atleast_1d(np.asarray(days, dtype="datetime64[D]"))
    nat = np.isnat(d)
    safe = np.where(nat, np.datetime64("1970-01-01", "D"), d)
    month = safe.astype("datetime64[M]")
    day_index = (safe - month.astype("datetime64[D]")).astype(np.int64)  # 0-based
    target = month + np.timedelta64(months, "M")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]")
              - target.astype("datetime64[D]")).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day_index, length - 1)
    out[nat] = np.datetime64("NaT")
    return out


def _shift(days: np.ndarray, months: int) -> np.ndarray:
    """`add_months` on int64 day numbers (``_NAT`` for missing)."""
    d = np.asarray(days, dtype=np.int64)
    nat = d == _NAT
    out = add_months(np.where(nat, 0, d).astype("datetime64[D]"), months).astype(np.int64)
    out[nat] = _NAT
    return out


def _days(values: Any) -> np.ndarray:
    """Dates (date objects, ISO strings, datetime64) as int64 days since 1970-01-01."""
    ser = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if len(ser) == 0:
        return np.empty(0, dtype=np.int64)
    conv = pd.to_datetime(ser, errors="raise")
    out = conv.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.asarray(out, dtype=np.int64)


def _day(value: date) -> int:
    return (value - _EPOCH).days


def _to_datetime(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype=np.int64)
    out = d.astype("datetime64[D]")
    out[d == _NAT] = np.datetime64("NaT")
    return out


# --------------------------------------------------------------------------- inputs


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s): {', '.join(missing)}")


def _check_options(*, window_months: int, counting: str,
                   group_by: Sequence[str] = ()) -> None:
    if not isinstance(window_months, int | np.integer) or not 1 <= window_months <= 120:
        raise ValueError("window_months must be an integer from 1 to 120")
    if counting not in COUNTING:
        raise ValueError(f"counting must be one of {', '.join(COUNTING)}")
    unknown = [k for k in group_by if k not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; "
                         f"choose from {', '.join(GROUP_KEYS)}")
    if len(set(group_by)) != len(group_by):
        raise ValueError("group_by names a key twice")


def _offence_table(offence_types: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Normalise the catalogue argument: a DataFrame with unit_cost_gbp, offence_group, harm."""
    if isinstance(offence_types, pd.Series):
        table = offence_types.rename("unit_cost_gbp").to_frame()
    else:
        _require(offence_types, ["unit_cost_gbp"], "offence_types")
        table = offence_types
    out = pd.DataFrame(index=table.index.astype(str))
    out["unit_cost_gbp"] = pd.to_numeric(table["unit_cost_gbp"]).to_numpy(dtype=float)
    out["offence_group"] = (table["offence_group"].astype(str).to_numpy()
                            if "offence_group" in table else UNKNOWN_GROUP)
    out["harm_weight"] = (pd.to_numeric(table["harm_weight"]).to_numpy(dtype=float)
                          if "harm_weight" in table else 0.0)
    return out


@dataclass(frozen=True)
class PreparedOffences:
    """Offences as arrays the window code uses: one row per offence."""

    frame: pd.DataFrame  # person_id, day, cost, harm, offence_group, is_proven, outcome_day
    unknown_types: dict[str, int]


def prepare_offences(offences: pd.DataFrame,
                     offence_types: pd.DataFrame | pd.Series) -> PreparedOffences:
    """Attach unit cost, harm and offence group; flag proven outcomes.

    An offence type missing from the cost table costs 0 and is reported in
    ``unknown_types`` (the report turns that into a warning rather than failing).
    """
    _require(offences, OFFENCE_COLUMNS, "offences")
    table = _offence_table(offence_types)
    types = offences["offence_type"].astype(str).to_numpy()
    pos = table.index.get_indexer(types)
    known = pos >= 0
    safe = np.where(known, pos, 0)
    cost = np.where(known, table["unit_cost_gbp"].to_numpy()[safe], 0.0) if len(table) else \
        np.zeros(len(types))
    harm = np.where(known, table["harm_weight"].to_numpy()[safe], 0.0)
    group = np.where(known, table["offence_group"].to_numpy(dtype=object)[safe], UNKNOWN_GROUP)
    outcome_day = _days(offences["outcome_date"])
    outcome = offences["outcome"].astype(str).to_numpy()
    is_proven = np.isin(outcome, list(PROVEN_OUTCOMES)) & (outcome_day != _NAT)
    frame = pd.DataFrame({
        "person_id": offences["person_id"].to_numpy(dtype=np.int64),
        "day": _days(offences["offence_date"]),
        "cost": cost.astype(float),
        "harm": harm.astype(float),
        "offence_group": group.astype(object),
        "is_proven": is_proven,
        "outcome_day": outcome_day,
    })
    if (frame["day"] == _NAT).any():
        raise ValueError("every offence needs an offence_date")
    unknown = pd.Series(types[~known]).value_counts()
    return PreparedOffences(frame=frame,
                            unknown_types={str(k): int(v) for k, v in unknown.items()})


def _merged_spells(custody: pd.DataFrame, *, end_of_day: int) -> pd.DataFrame:
    """Custody spells as half-open [start, end) day ranges, overlaps merged per person.

    The release day counts as at liberty. An open spell (no ``end_on``), or one ending
    after ``as_of``, runs to the end of ``as_of``; spells starting after ``as_of`` are unknown
    on the report date and ignored.
    """
    _require(custody, CUSTODY_COLUMNS, "custody")
    start = _days(custody["start_on"])
    end = _days(custody["end_on"])
    end = np.where(end == _NAT, end_of_day, np.minimum(end, end_of_day))
    frame = pd.DataFrame({"person_id": custody["person_id"].to_numpy(dtype=np.int64),
                          "cs": start, "ce": end})
    frame = frame[(frame["cs"] != _NAT) & (frame["cs"] < end_of_day) & (frame["ce"] > frame["cs"])]
    if frame.empty:
        return frame
    frame = frame.sort_values(["person_id", "cs"], kind="stable")
    reach = frame.groupby("person_id")["ce"].cummax()
    prev_reach = reach.groupby(frame["person_id"]).shift(1)
    new_block = prev_reach.isna() | (frame["cs"] > prev_reach)
    block = new_block.to_numpy().cumsum()
    merged = frame.groupby(block).agg(person_id=("person_id", "first"), cs=("cs", "min"),
                                      ce=("ce", "max"))
    return merged.reset_index(drop=True)


# --------------------------------------------------------------------------- windows


def window_bounds(adopted: np.ndarray, exited: np.ndarray, *, end_of_day: int,
                  window_months: int) -> dict[str, np.ndarray]:
    """Window start/end (half-open, clipped to the report date) and proven-outcome limits.

    ``adopted``/``exited`` are int64 day numbers (``exited`` may hold the missing value);
    ``end_of_day`` is ``as_of + 1``. An exit after ``as_of`` is not yet known on the report
    date and treated as no exit. Empty windows have ``start >= end``. ``{w}_limit`` is the
    day by which an outcome must have happened to count as proven (window end + 6 months).
    """
    a = np.asarray(adopted, dtype=np.int64)
    e = np.asarray(exited, dtype=np.int64)
    t = end_of_day
    has_exit = (e != _NAT) & (e < t)
    x = np.where(has_exit, e, t)
    after_end = np.where(has_exit, _shift(np.where(has_exit, e, 0), window_months), t)
    bounds = {
        "before_start": _shift(a, -window_months),
        "before_end": np.minimum(a, t),
        "during_start": a,
        "during_end": np.minimum(x, t),
        "after_start": np.where(has_exit, x, t),
        "after_end": np.minimum(after_end, t),
        "before_limit": _shift(a, WAITING_MONTHS),
        "during_limit": _shift(x, WAITING_MONTHS),
        "after_limit": _shift(after_end, WAITING_MONTHS),
        "after_nominal_end": np.where(has_exit, after_end, _NAT),
        "has_exit": has_exit,
    }
    return bounds


def window_counts(units: pd.DataFrame, offences: pd.DataFrame, *, end_of_day: int,
                  proven: bool, by_group: bool) -> pd.DataFrame:
    """Offences and cost per unit and window, by one merge and three masks.

    ``units`` has ``unit``, ``person_id`` and the ``window_bounds`` columns; ``offences`` is a
    ``PreparedOffences.frame``. Returns one row per unit (or per unit and offence group)
    with ``{w}_offences`` and ``{w}_cost``; units without offences are absent.
    """
    cols = ["unit", "person_id"] + [f"{w}_{s}" for w in WINDOWS for s in ("start", "end", "limit")]
    offs = offences[["person_id", "day", "cost", "offence_group", "is_proven", "outcome_day"]]
    joined = units[cols].merge(offs, on="person_id", how="inner")
    day = joined["day"].to_numpy()
    window = np.full(len(joined), -1, dtype=np.int64)
    for i, w in enumerate(WINDOWS):
        inside = (day >= joined[f"{w}_start"].to_numpy()) & (day < joined[f"{w}_end"].to_numpy())
        if proven:
            outcome = joined["outcome_day"].to_numpy()
            inside &= (joined["is_proven"].to_numpy() & (outcome < joined[f"{w}_limit"].to_numpy())
                       & (outcome < end_of_day))
        window[inside] = i
    keep = window >= 0
    kept = pd.DataFrame({"unit": joined["unit"].to_numpy()[keep], "window": window[keep],
                         "cost": joined["cost"].to_numpy()[keep]})
    keys = ["unit"]
    if by_group:
        kept["offence_group"] = joined["offence_group"].to_numpy()[keep]
        keys.append("offence_group")
    grouped = kept.groupby([*keys, "window"]).agg(offences=("cost", "size"), cost=("cost", "sum"))
    wide = grouped.unstack("window", fill_value=0)
    out = pd.DataFrame(index=wide.index)
    for i, w in enumerate(WINDOWS):
        for measure in ("offences", "cost"):
            col = (measure, i)
            values = wide[col].to_numpy() if col in wide.columns else np.zeros(len(out))
            out[f"{w}_{measure}"] = values.astype(np.int64 if measure == "offences" else float)
    return out


def custody_days(units: pd.DataFrame, spells: pd.DataFrame) -> pd.DataFrame:
    """Days in custody inside each window, per unit (units without custody are absent)."""
    cols = ["unit", "person_id"] + [f"{w}_{s}" for w in WINDOWS for s in ("start", "end")]
    joined = units[cols].merge(spells, on="person_id", how="inner")
    out = pd.DataFrame({"unit": joined["unit"].to_numpy()})
    cs, ce = joined["cs"].to_numpy(), joined["ce"].to_numpy()
    for w in WINDOWS:
        lo = np.maximum(joined[f"{w}_start"].to_numpy(), cs)
        hi = np.minimum(joined[f"{w}_end"].to_numpy(), ce)
        out[f"{w}_custody_days"] = np.clip(hi - lo, 0, None)
    return out.groupby("unit").sum()


def _prepare_memberships(memberships: pd.DataFrame) -> pd.DataFrame:
    _require(memberships, MEMBERSHIP_COLUMNS, "memberships")
    m = memberships.reset_index(drop=True)
    if m["membership_id"].duplicated().any():
        raise ValueError("membership_id must be unique")
    out = pd.DataFrame({
        "membership_id": m["membership_id"].to_numpy(),
        "person_id": m["person_id"].to_numpy(dtype=np.int64),
    })
    for key in ("area", "cohort", "stream", "sex", "exit_reason"):
        out[key] = m[key].astype(object).where(m[key].notna(), None).to_numpy()
    out["adopted"] = _days(m["adopted_on"])
    out["exited"] = _days(m["exited_on"])
    if (out["adopted"] == _NAT).any():
        raise ValueError("every membership needs adopted_on")
    ex = out["exited"].to_numpy()
    if ((ex != _NAT) & (ex < out["adopted"].to_numpy())).any():
        raise ValueError("exited_on cannot be before adopted_on")
    return out


@dataclass(frozen=True)
class _Windows:
    per: pd.DataFrame                 # one row per membership, int day columns
    by_group: pd.DataFrame | None     # (membership row, offence_group) counts, non-zero only
    offences: PreparedOffences


def _compute_windows(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                     offence_types: pd.DataFrame | pd.Series, *, as_of: date, window_months: int,
                     counting: str, by_offence_group: bool) -> _Windows:
    _check_options(window_months=window_months, counting=counting)
    per = _prepare_memberships(memberships)
    prepared = prepare_offences(offences, offence_types)
    t = _day(as_of) + 1
    bounds = window_bounds(per["adopted"].to_numpy(), per["exited"].to_numpy(), end_of_day=t,
                           window_months=window_months)
    for name, values in bounds.items():
        per[name] = values
    has_exit = bounds["has_exit"]
    after_end = bounds["after_nominal_end"]
    waiting_end = np.where(has_exit, _shift(np.where(has_exit, after_end, 0), WAITING_MONTHS), _NAT)
    conditions = [
        per["adopted"].to_numpy() >= t,
        ~has_exit,
        has_exit & (after_end > t),
        has_exit & (waiting_end > t) & (counting == "proven"),
    ]
    reason = np.select(conditions, list(EXCLUSION_REASONS), default="")
    per["excluded_reason"] = pd.Series(reason, dtype=object).where(reason != "", None).to_numpy()
    per["included"] = reason == ""
    per["unit"] = np.arange(len(per))

    counts = window_counts(per, prepared.frame, end_of_day=t, proven=counting == "proven",
                           by_group=False)
    counts = counts.reindex(per["unit"], fill_value=0)
    for col in counts.columns:
        per[col] = counts[col].to_numpy()
    spells = _merged_spells(custody, end_of_day=t)
    held = custody_days(per, spells).reindex(per["unit"], fill_value=0)
    for w in WINDOWS:
        days = np.clip(per[f"{w}_end"].to_numpy() - per[f"{w}_start"].to_numpy(), 0, None)
        per[f"{w}_days"] = days
        col = f"{w}_custody_days"
        in_custody = held[col].to_numpy() if col in held.columns else np.zeros(len(per), np.int64)
        per[f"{w}_liberty_days"] = np.clip(days - in_custody, 0, None)

    by_group = None
    if by_offence_group:
        by_group = window_counts(per, prepared.frame, end_of_day=t,
                                 proven=counting == "proven", by_group=True).reset_index()
    return _Windows(per=per, by_group=by_group, offences=prepared)


_PUBLIC_DATES = ("before_start", "before_end", "during_start", "during_end", "after_start",
                 "after_end")


def member_windows(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                   offence_types: pd.DataFrame | pd.Series, *, as_of: date,
                   window_months: int = 12, counting: str = "recorded") -> pd.DataFrame:
    """Per membership: the three windows, inclusion, offences, cost and days at liberty.

    Parameters
    ----------
    memberships : DataFrame, shape (m, 9)
        ``membership_id, person_id, area, cohort, stream, sex, adopted_on, exited_on,
        exit_reason`` (``exited_on`` null while a member).
    offences : DataFrame, shape (n, 5)
        ``person_id, offence_date, offence_type, outcome, outcome_date``.
    custody : DataFrame, shape (c, 3)
        ``person_id, start_on, end_on`` (``end_on`` null while in custody).
    offence_types : DataFrame indexed by offence_type with ``unit_cost_gbp`` (and optionally
        ``offence_group``, ``harm_weight``), or a Series of unit costs.
    as_of : date
        Report date: offences up to and including it count.
    window_months : int
        Length of the before and after windows.
    counting : {"recorded", "proven"}

    Returns
    -------
    DataFrame, shape (m, ...)
        Membership columns, window starts/ends (half-open, clipped to ``as_of``; an empty
        window has start == end), ``included``, ``excluded_reason``, and per window
        ``{w}_offences``, ``{w}_cost``, ``{w}_days``, ``{w}_liberty_days``.

    Examples
    --------
    >>> ms = pd.DataFrame({"membership_id": [1], "person_id": [7], "area": ["BANES"],
    ...     "cohort": ["fixed"], "stream": ["nsac"], "sex": ["male"],
    ...     "adopted_on": [date(2021, 1, 31)], "exited_on": [date(2021, 7, 1)],
    ...     "exit_reason": ["rehabilitated"]})
    >>> offs = pd.DataFrame({"person_id": [7, 7], "offence_type": ["burglary", "burglary"],
    ...     "offence_date": [date(2020, 3, 1), date(2022, 6, 30)], "outcome": ["charge"] * 2,
    ...     "outcome_date": [None, None]})
    >>> custody = pd.DataFrame({"person_id": [], "start_on": [], "end_on": []})
    >>> row = member_windows(ms, offs, custody, pd.Series({"burglary": 100.0}),
    ...                      as_of=date(2023, 1, 1)).iloc[0]
    >>> str(row["before_start"].date()), int(row["before_offences"]), int(row["after_offences"])
    ('2020-01-31', 1, 1)
    """
    result = _compute_windows(memberships, offences, custody, offence_types, as_of=as_of,
                              window_months=window_months, counting=counting,
                              by_offence_group=False)
    return _public(result.per)


def _public(per: pd.DataFrame) -> pd.DataFrame:
    cols = ["membership_id", "person_id", "area", "cohort", "stream", "sex", "exit_reason",
            "included", "excluded_reason", *_PUBLIC_DATES]
    cols += [f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost", "days", "liberty_days")]
    out = per[cols].copy()
    out.insert(7, "adopted_on", _to_datetime(per["adopted"].to_numpy()))
    out.insert(8, "exited_on", _to_datetime(per["exited"].to_numpy()))
    for col in _PUBLIC_DATES:
        out[col] = _to_datetime(per[col].to_numpy())
    return out


def member_windows_reference(memberships: pd.DataFrame, offences: pd.DataFrame,
                             custody: pd.DataFrame, unit_costs: pd.Series, *, as_of: date,
                             window_months: int = 12, counting: str = "recorded"
                             ) -> pd.DataFrame:
    """Slow, obviously-correct twin of `member_windows` (loops over members and offences).

    Kept for the tests (the two must agree on random data) and as the benchmark baseline.
    Returns ``membership_id``, ``included``, ``excluded_reason`` and per window
    ``{w}_offences``, ``{w}_cost``, ``{w}_days``, ``{w}_liberty_days``.
    """

    def plus_months(d: date, n: int) -> date:
        month0 = d.year * 12 + d.month - 1 + n
        year, month = divmod(month0, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, min(d.day, last))

    def as_date(value: Any) -> date | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        return pd.Timestamp(value).date()

    end = as_of + timedelta(days=1)
    offences_of: dict[Any, list[dict[str, Any]]] = {}
    for o in offences.to_dict("records"):
        offences_of.setdefault(o["person_id"], []).append(o)
    spells_of: dict[Any, list[dict[str, Any]]] = {}
    for s in custody.to_dict("records"):
        spells_of.setdefault(s["person_id"], []).append(s)
    rows = []
    for m in memberships.to_dict("records"):
        adopted = as_date(m["adopted_on"])
        assert adopted is not None
        exited = as_date(m["exited_on"])
        if exited is not None and exited > as_of:
            exited = None
        windows: dict[str, tuple[date, date, date]] = {}  # start, end, proven limit
        windows["before"] = (plus_months(adopted, -window_months), min(adopted, end),
                             plus_months(adopted, WAITING_MONTHS))
        during_end = exited if exited is not None else end
        windows["during"] = (adopted, min(during_end, end),
                             plus_months(during_end, WAITING_MONTHS))
        if exited is not None:
            after_end = plus_months(exited, window_months)
            windows["after"] = (exited, min(after_end, end),
                                plus_months(after_end, WAITING_MONTHS))
        else:
            windows["after"] = (end, end, plus_months(end, WAITING_MONTHS))
        if adopted > as_of:
            reason = "adopted_after_as_of"
        elif exited is None:
            reason = "not_exited"
        elif plus_months(exited, window_months) > end:
            reason = "after_window_not_ended"
        elif counting == "proven" and plus_months(plus_months(exited, window_months),
                                                  WAITING_MONTHS) > end:
            reason = "waiting_period_not_ended"
        else:
            reason = None
        row: dict[str, Any] = {"membership_id": m["membership_id"], "included": reason is None,
                               "excluded_reason": reason}
        spells = spells_of.get(m["person_id"], [])
        for w, (start, stop, limit) in windows.items():
            n, cost = 0, 0.0
            for o in offences_of.get(m["person_id"], []):
                day = as_date(o["offence_date"])
                assert day is not None
                if not start <= day < stop:
                    continue
                if counting == "proven":
                    outcome_on = as_date(o["outcome_date"])
                    if (o["outcome"] not in PROVEN_OUTCOMES or outcome_on is None
                            or outcome_on >= limit or outcome_on > as_of):
                        continue
                n += 1
                cost += float(unit_costs.get(o["offence_type"], 0.0))
            days = max(0, (stop - start).days)
            held = set()
            for s in spells:
                s_start = as_date(s["start_on"])
                s_end = as_date(s["end_on"]) or end
                if s_start is None or s_start > as_of:
                    continue
                s_end = min(s_end, end)
                d = max(s_start, start)
                while d < min(s_end, stop):
                    held.add(d)
                    d += timedelta(days=1)
            row.update({f"{w}_offences": n, f"{w}_cost": cost, f"{w}_days": days,
                        f"{w}_liberty_days": days - len(held)})
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class IdiomReport:
    """An IDIOM report, ready to serialise.

    ``groups`` and ``totals`` are plain dicts in the API's shape (see `idiom_report`);
    ``members`` is the per-membership table behind them (not person-level output: the
    service does not return it).
    """

    as_of: date
    window_months: int
    counting: str
    group_by: tuple[str, ...]
    included: int
    excluded: dict[str, int]
    groups: list[dict[str, Any]]
    totals: dict[str, Any]
    warnings: list[str]
    comparison: dict[str, Any] | None
    members: pd.DataFrame = field(repr=False)


def _pct(before: float, after: float) -> float | None:
    """Reduction from before to after, % (positive = fewer); None when before is 0."""
    if before <= 0:
        return None
    return round(100.0 * float(before - after) / float(before), 1) + 0.0


def _rate(offences: float, days: float) -> float | None:
    return None if days <= 0 else round(365.0 * float(offences) / float(days), 2)


def _percentile_interval(samples: np.ndarray, level: float,
                         digits: int = 1) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return [round(float(lo), digits) + 0.0, round(float(hi), digits) + 0.0]


def _bootstrap_sums(arrays: Sequence[np.ndarray], rng: np.random.Generator,
                    n_boot: int) -> list[np.ndarray]:
    """Sums of each array over `n_boot` resamples of its rows (same resample for all)."""
    n = len(arrays[0])
    sums = [np.empty(n_boot) for _ in arrays]
    chunk = max(1, 4_000_000 // max(n, 1))  # bound memory: chunk x n indices at a time
    for lo in range(0, n_boot, chunk):
        hi = min(n_boot, lo + chunk)
        idx = rng.integers(0, n, size=(hi - lo, n))
        for out, arr in zip(sums, arrays, strict=True):
            out[lo:hi] = arr[idx].sum(axis=1)
    return sums


def _reduction_samples(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, 100.0 * (before - after) / before, np.nan)


@dataclass(frozen=True)
class _Settings:
    n_boot: int
    level: float
    small_group: int
    suppress_below: int
    min_liberty_days: int


class _Cols:
    """A group's rows as numpy columns: indexing a DataFrame once per group is what made
    reports with many groups slow, so the report takes the arrays out once."""

    NAMES = ("person_id", "matched", "comp_before_offences", "comp_after_offences",
             *(f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost", "days",
                                                     "liberty_days")))

    def __init__(self, arrays: dict[str, np.ndarray], idx: np.ndarray | None = None) -> None:
        self._arrays = arrays
        self._idx = idx
        self._n = len(arrays["person_id"]) if idx is None else len(idx)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Cols:
        return cls({c: frame[c].to_numpy() for c in cls.NAMES if c in frame.columns})

    def rows(self, idx: np.ndarray) -> _Cols:
        return _Cols(self._arrays, idx if self._idx is None else self._idx[idx])

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._arrays[name]
        return values if self._idx is None else values[self._idx]


def _summarise(rows: _Cols, key: dict[str, Any], rng: np.random.Generator,
               s: _Settings, *, with_comparison: bool) -> dict[str, Any]:
    """One group's figures (rows: one per membership, or membership x offence group)."""
    members = len(rows)
    people = len(np.unique(rows["person_id"]))
    out: dict[str, Any] = {"key": key, "members": members, "people": people}
    totals = {}
    for w in WINDOWS:
        n = int(rows[f"{w}_offences"].sum())
        cost = float(rows[f"{w}_cost"].sum())
        totals[w] = (n, cost)
        out[w] = {"offences": n, "cost": round(cost, 2)}
    (nb, cb), (na, ca) = totals["before"], totals["after"]
    out["offence_reduction_pct"] = _pct(nb, na)
    out["cost_reduction_pct"] = _pct(cb, ca)
    out["cost_saving"] = round(cb - ca, 2)

    liberty: dict[str, Any] = {}
    for w in WINDOWS:
        days = int(rows[f"{w}_liberty_days"].sum())
        liberty[w] = {
            "window_days": int(rows[f"{w}_days"].sum()),
            "days": days,
            "offences_per_365_days": _rate(totals[w][0], days),
            "members_under_min_days": int((rows[f"{w}_liberty_days"]
                                           < s.min_liberty_days).sum()),
        }
    rb, ra = liberty["before"]["offences_per_365_days"], liberty["after"]["offences_per_365_days"]
    liberty["offence_rate_reduction_pct"] = (None if rb is None or ra is None
                                             else _pct(rb, ra))
    liberty["min_days"] = s.min_liberty_days
    out["at_liberty"] = liberty

    interval: dict[str, Any] = {
        "level": s.level,
        "method": f"percentile bootstrap over members ({s.n_boot} resamples)",
        "offence_reduction_pct": None, "cost_reduction_pct": None,
    }
    if members >= 2:
        b_n, a_n, b_c, a_c = _bootstrap_sums(
            [rows[c].astype(float) for c in
             ("before_offences", "after_offences", "before_cost", "after_cost")], rng, s.n_boot)
        if nb > 0:
            interval["offence_reduction_pct"] = _percentile_interval(
                _reduction_samples(b_n, a_n), s.level)
        if cb > 0:
            interval["cost_reduction_pct"] = _percentile_interval(
                _reduction_samples(b_c, a_c), s.level)
    out["interval"] = interval

    out["small_group"] = members < s.small_group
    out["suppress"] = people < s.suppress_below
    warnings = []
    if members == 0:
        out["warnings"] = ["no memberships in the before/after comparison"]
        out["comparison"] = _group_comparison(rows, rng, s) if with_comparison else None
        return out
    if out["small_group"]:
        warnings.append(f"fewer than {s.small_group} members: the reduction is uncertain "
                        "(see interval)")
    if out["suppress"]:
        warnings.append(f"fewer than {s.suppress_below} people: suppress before publication")
    if members == 1:
        warnings.append("one member: no interval")
    if nb == 0:
        warnings.append("no offences before: reduction undefined")
    low_after = liberty["after"]["members_under_min_days"]
    if low_after:
        warnings.append(f"{low_after} member(s) had under {s.min_liberty_days} days at "
                        "liberty after leaving: their low 'after' count reflects custody")
    out["warnings"] = warnings
    out["comparison"] = _group_comparison(rows, rng, s) if with_comparison else None
    return out


def _group_comparison(rows: _Cols, rng: np.random.Generator,
                      s: _Settings) -> dict[str, Any]:
    """Cohort change net of its matched comparison group's change, for one group."""
    matched = rows.rows(np.flatnonzero(rows["matched"].astype(bool)))
    mb = matched["before_offences"].astype(float)
    ma = matched["after_offences"].astype(float)
    cb = matched["comp_before_offences"].astype(float)
    ca = matched["comp_after_offences"].astype(float)
    out: dict[str, Any] = {
        "members_matched": len(matched),
        "cohort_before": int(mb.sum()), "cohort_after": int(ma.sum()),
        "comparison_before": round(float(cb.sum()), 2),
        "comparison_after": round(float(ca.sum()), 2),
        "cohort_reduction_pct": _pct(mb.sum(), ma.sum()),
        "comparison_reduction_pct": _pct(cb.sum(), ca.sum()),
        "net_reduction_pct": _net(mb.sum(), ma.sum(), cb.sum(), ca.sum()),
        "net_change_per_member": (round(float(((ma - mb) - (ca - cb)).mean()), 3)
                                  if len(matched) else None),
        "interval": None, "net_change_interval": None,
    }
    if len(matched) >= 2:
        sb, sa, scb, sca = _bootstrap_sums([mb, ma, cb, ca], rng, s.n_boot)
        with np.errstate(divide="ignore", invalid="ignore"):
            net = np.where((sb > 0) & (scb > 0) & (sca > 0),
                           100.0 * (1.0 - (sa / sb) / (sca / scb)), np.nan)
        out["interval"] = _percentile_interval(net, s.level)
        out["net_change_interval"] = _percentile_interval(
            ((sa - sb) - (sca - scb)) / len(matched), s.level, digits=3)
    return out


def _net(mb: float, ma: float, cb: float, ca: float) -> float | None:
    """Reduction net of the comparison: 1 - (cohort after/before) / (comparison after/before)."""
    if mb <= 0 or cb <= 0 or ca <= 0:
        return None
    return round(100.0 * (1.0 - float(ma / mb) / float(ca / cb)), 1) + 0.0


def idiom_report(memberships: pd.DataFrame, offences: pd.DataFrame, custody: pd.DataFrame,
                 offence_types: pd.DataFrame | pd.Series, *, as_of: date,
                 window_months: int = 12, counting: str = "recorded",
                 group_by: Sequence[str] = ("area",), population: pd.DataFrame | None = None,
                 n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                 small_group: int = 20, suppress_below: int = 5, min_liberty_days: int = 90,
                 match_k: int = 5, caliper: float = 0.5) -> IdiomReport:
    """The IDIOM before/after report, with time at liberty, intervals and a comparison group.

    Parameters
    ----------
    memberships, offences, custody, offence_types, as_of, window_months, counting
        As in `member_windows`. Filter memberships (cohort, area, dates) before calling.
    group_by : sequence of {"area", "cohort", "stream", "sex", "offence_group",
        "exit_reason"}
        With ``offence_group`` each membership contributes to every offence group (its
        offences of that group); a group row appears when it has any offence.
    population : DataFrame, optional
        ``person_id, date_of_birth, sex, deceased_on, adopted`` for everyone who could be a
        comparator (``adopted``: ever a member by ``as_of``); ``offences`` must then hold
        their offences too. When given, a matched comparison group is built
        (`scoring.comparison.match_comparison`).
    n_boot, seed, level
        Bootstrap resamples, seed (fixed: the same data gives the same interval) and level.
    small_group, suppress_below, min_liberty_days
        Warn below this many members; mark for suppression below this many people; count
        members with fewer days than this at liberty in a window.
    match_k, caliper
        Comparison: neighbours per member and the largest standardised distance accepted.

    Returns
    -------
    IdiomReport
        Each group (and ``totals``): ``key``, ``members``, ``people``, ``before``/``during``/
        ``after`` ``{"offences", "cost"}``, ``offence_reduction_pct``,
        ``cost_reduction_pct`` (1 dp; None when the before figure is 0), ``cost_saving``,
        ``at_liberty``, ``interval``, ``small_group``, ``suppress``, ``warnings`` and
        ``comparison`` (None without a population). Groups are sorted by key.

    Raises
    ------
    ValueError
        On a missing column, an unknown group key or counting rule, or a bad window.
    """
    group_by = tuple(group_by)
    _check_options(window_months=window_months, counting=counting, group_by=group_by)
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    by_group = "offence_group" in group_by
    result = _compute_windows(memberships, offences, custody, offence_types, as_of=as_of,
                              window_months=window_months, counting=counting,
                              by_offence_group=by_group)
    per = result.per
    included = per[per["included"].to_numpy(dtype=bool)].reset_index(drop=True)
    reasons = per["excluded_reason"].value_counts()
    excluded = {"total": int(len(per) - len(included))}
    excluded.update({r: int(reasons.get(r, 0)) for r in EXCLUSION_REASONS})

    comparison_summary = None
    comp_group = None
    if population is not None:
        from scoring.comparison import match_comparison

        matching = match_comparison(included, population, result.offences, as_of=as_of,
                                    window_months=window_months, counting=counting,
                                    k=match_k, caliper=caliper, by_offence_group=by_group)
        comparison_summary = matching.summary
        comp = matching.per_member.reindex(included["unit"])
        included["matched"] = comp["matched"].fillna(False).to_numpy(dtype=bool)
        for col in ("comp_before_offences", "comp_after_offences"):
            included[col] = comp[col].fillna(0.0).to_numpy(dtype=float)
        comp_group = matching.per_member_group

    units = included
    if by_group:
        units = _expand_by_offence_group(included, result.by_group, comp_group)

    settings = _Settings(n_boot=n_boot, level=level, small_group=small_group,
                         suppress_below=suppress_below, min_liberty_days=min_liberty_days)
    rng = np.random.default_rng(seed)
    with_comparison = population is not None
    groups = []
    if group_by and len(units):
        columns = _Cols.of(units)
        for label, positions in _group_positions(units, group_by):
            rows = columns.rows(positions)
            if by_group and not any(rows[f"{w}_offences"].sum() for w in WINDOWS):
                continue
            key = dict(zip(group_by, label, strict=True))
            groups.append(_summarise(rows, key, rng, settings, with_comparison=with_comparison))
    totals = _summarise(_Cols.of(included), {}, rng, settings, with_comparison=with_comparison)

    warnings = []
    if excluded["total"]:
        parts = [f"{n} {r.replace('_', ' ')}" for r, n in excluded.items()
                 if r != "total" and n]
        warnings.append(f"{excluded['total']} membership(s) left out of the before/after "
                        f"comparison: {', '.join(parts)}")
    unknown = result.offences.unknown_types
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items()))
        warnings.append(f"offence types not in the cost table were costed at 0: {listed}")
    low = int((included["before_liberty_days"] < min_liberty_days).sum()
              + (included["after_liberty_days"] < min_liberty_days).sum())
    if low:
        warnings.append(f"{low} member window(s) had under {min_liberty_days} days at liberty: "
                        "compare offences per 365 days at liberty, not raw counts")
    if population is None:
        warnings.append("no comparison group: people are often adopted at a peak of offending, "
                        "so part of any before/after fall is regression to the mean "
                        "(ask for comparison=true)")
    if any(g["suppress"] for g in groups):
        warnings.append(f"some groups have fewer than {suppress_below} people: marked "
                        "suppress=true")
    if comparison_summary is not None:
        warnings.extend(comparison_summary.get("warnings", []))

    return IdiomReport(as_of=as_of, window_months=window_months, counting=counting,
                       group_by=group_by, included=int(len(included)), excluded=excluded,
                       groups=groups, totals=totals, warnings=warnings,
                       comparison=comparison_summary, members=_public(per))


def _group_positions(units: pd.DataFrame, group_by: Sequence[str]
                     ) -> list[tuple[tuple[str | None, ...], np.ndarray]]:
    """Row positions of each group, keys as strings (None for missing), sorted by key."""
    indices = units.groupby(list(group_by), dropna=False, sort=False).indices
    items = []
    for raw, positions in indices.items():
        label = raw if isinstance(raw, tuple) else (raw,)
        clean = tuple(None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in label)
        items.append((clean, np.asarray(positions)))
    items.sort(key=lambda item: tuple("" if v is None else v for v in item[0]))
    return items


def _expand_by_offence_group(included: pd.DataFrame, by_group: pd.DataFrame | None,
                             comp_group: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (included membership, offence group seen among them), counts of that group.

    Every membership appears under every group (with zeros where it had none), so a group's
    members, days at liberty and rates cover the whole cohort, not only those who offended.
    """
    counts = by_group if by_group is not None else pd.DataFrame(columns=["unit", "offence_group"])
    counts = counts[counts["unit"].isin(included["unit"])]
    names = sorted(counts["offence_group"].astype(str).unique())
    if not names:
        return included.iloc[0:0].assign(offence_group=pd.Series(dtype=object))
    measure_cols = [f"{w}_{m}" for w in WINDOWS for m in ("offences", "cost")]
    base = included.drop(columns=measure_cols)
    grid = base.merge(pd.DataFrame({"offence_group": names}), how="cross")
    grid = grid.merge(counts, on=["unit", "offence_group"], how="left")
    for col in measure_cols:
        kind = np.int64 if col.endswith("offences") else float
        grid[col] = grid[col].fillna(0).to_numpy(dtype=kind)
    if comp_group is not None:
        grid = grid.drop(columns=["comp_before_offences", "comp_after_offences"])
        grid = grid.merge(comp_group, on=["unit", "offence_group"], how="left")
        for col in ("comp_before_offences", "comp_after_offences"):
            grid[col] = grid[col].fillna(0.0).to_numpy(dtype=float)
    return grid


# --------------------------------------------------------------------------- the panel table


def _whole_pct(before: float, after: float) -> int | None:
    """Reduction in whole per cent, halves rounded up (as a spreadsheet shows it), computed
    from the counts so a 1-dp figure is never rounded twice."""
    if before <= 0:
        return None
    return int(np.floor(100.0 * (before - after) / before + 0.5))


def report_table(report: IdiomReport) -> pd.DataFrame:
    """The panel's table: one row per group and a totals row (the CSV export).

    Columns: the group keys, members, cost and offences in the before and after windows,
    the offence reduction in whole per cent (as IDIOM shows it), cost saving, the
    interval, the at-liberty rates, and the small-group and suppression markers.
    """
    w = report.window_months
    rows = []
    for g in [*report.groups, report.totals]:
        row: dict[str, Any] = {}
        if g is report.totals:
            for i, k in enumerate(report.group_by or ("group",)):
                row[k] = "Totals" if i == 0 else ""
        else:
            row.update(g["key"])
        interval = g["interval"]["offence_reduction_pct"] or [None, None]
        tail = round(g["interval"]["level"] * 100)
        row.update({
            "members": g["members"],
            f"cost_{w}m_before": g["before"]["cost"],
            f"cost_{w}m_after": g["after"]["cost"],
            f"offences_{w}m_before": g["before"]["offences"],
            f"offences_{w}m_after": g["after"]["offences"],
            "reducing_offending_pct": _whole_pct(g["before"]["offences"],
                                                 g["after"]["offences"]),
            "cost_saving": g["cost_saving"],
            f"reduction_{tail}_low": interval[0],
            f"reduction_{tail}_high": interval[1],
            "offences_per_365_at_liberty_before":
                g["at_liberty"]["before"]["offences_per_365_days"],
            "offences_per_365_at_liberty_after":
                g["at_liberty"]["after"]["offences_per_365_days"],
            "small_group": g["small_group"],
            "suppress": g["suppress"],
        })
        if g.get("comparison") is not None:
            row["net_of_comparison_pct"] = g["comparison"]["net_reduction_pct"]
        rows.append(row)
    return pd.DataFrame(rows)
