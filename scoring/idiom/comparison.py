"""A matched comparison group for the IDIOM report: people not adopted, similar at the same date.

People are adopted onto a cohort when their offending peaks, so their offending would
usually fall afterwards anyway (regression to the mean). To see what IOM added, each
included member is matched, at their adoption month and within their sex, to the ``k``
nearest people who were never adopted, on their offending up to that month:

* ``offences_12m``: recorded offences in the 12 whole months before the adoption month
* ``offences_12_24m``: recorded offences in the 12 months before that (the trajectory)
* ``harm_12m``: summed catalogue harm weight of the offences in the last 12 months
* ``months_since_last``: months since the last offence (capped at 25)
* ``age``: age in years at the start of the adoption month

Counts and harm enter the distance as ``log1p`` (so 10 vs 12 offences is closer than 1 vs 3),
all features are standardised by the candidate pool of that month, and a neighbour further
than ``caliper`` (Euclidean, in standard deviations) is not used. Each comparator is then
given the member's own before and after windows, so both are measured over the same dates,
and the report nets the cohort's change off the comparison group's:
``net reduction = 1 - (cohort after / before) / (comparison after / before)``.

Once RFG scores are available, the RFG score at the adoption date (and its band) can be
added as a matching feature, or replace ``harm_12m``; the service would pass it as a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.dates import NAT, day_number, first_day_of_month, month_numbers, nat_day_numbers
from scoring.idiom.inputs import PreparedOffences
from scoring.idiom.rules import DEFAULT_RULES, IdiomRules
from scoring.idiom.windows import window_bounds, window_counts
from scoring.validation import check_frame, check_unique

FEATURES = ("offences_12m", "offences_12_24m", "harm_12m", "months_since_last", "age")
POPULATION_COLUMNS = ("person_id", "date_of_birth", "sex", "deceased_on", "adopted")
# The features' look-back (months of history before the adoption month), and the months
# since the last offence given to someone with none in it.
_LOOKBACK = 24
RECENCY_CAP = _LOOKBACK + 1


@dataclass(frozen=True)
class Matching:
    """The matched comparison group.

    Attributes
    ----------
    pairs : DataFrame
        ``unit`` (member row), ``comparator_id``, ``distance``, ``weight`` (1 / matches).
    per_member : DataFrame indexed by ``unit``
        ``matched`` and the weighted mean comparator ``comp_before_offences``,
        ``comp_after_offences`` over the member's own windows.
    per_member_group : DataFrame or None
        The same by ``offence_group`` (``unit, offence_group, comp_...``), when asked for.
    summary : dict
        Method, parameters, pool sizes, match counts, balance table, warnings.
    """

    pairs: pd.DataFrame
    per_member: pd.DataFrame
    per_member_group: pd.DataFrame | None
    summary: dict[str, Any]


class _History:
    """Month-by-person offence counts and harm, cumulated, for features at any month.

    Arrays are month-major (month, person) so reading one month for everyone is a
    contiguous row.
    """

    def __init__(self, person_index: pd.Index, offences: pd.DataFrame, first_month: int,
                 n_months: int) -> None:
        self.first = first_month
        n_people = len(person_index)
        pos = person_index.get_indexer(offences["person_id"].to_numpy())
        month = month_numbers(offences["day"].to_numpy()) - first_month
        keep = (pos >= 0) & (month >= 0) & (month < n_months)
        flat = month[keep] * n_people + pos[keep]
        size = n_people * n_months
        counts = np.bincount(flat, minlength=size).reshape(n_months, n_people)
        harm = np.bincount(flat, weights=offences["harm"].to_numpy()[keep],
                           minlength=size).reshape(n_months, n_people)
        self.cum = np.zeros((n_months + 1, n_people), dtype=np.int32)
        np.cumsum(counts, axis=0, out=self.cum[1:])
        self.harm = np.zeros((n_months + 1, n_people), dtype=np.float64)
        np.cumsum(harm, axis=0, out=self.harm[1:])
        marks = np.where(counts > 0, np.arange(n_months, dtype=np.int32)[:, None], -1)
        self.last = (np.maximum.accumulate(marks, axis=0) if n_months
                     else marks).astype(np.int32)

    def features(self, month: int, dob: np.ndarray) -> np.ndarray:
        """Raw features (people x FEATURES) at the start of `month` (absolute month index)."""
        r = month - self.first
        n12 = self.cum[r] - self.cum[r - 12]
        n24 = self.cum[r - 12] - self.cum[r - 24]
        h12 = self.harm[r] - self.harm[r - 12]
        last = self.last[r - 1]
        recency = np.where(last >= 0, r - last, RECENCY_CAP).clip(max=RECENCY_CAP)
        start = first_day_of_month(int(month))
        age = (start - dob) / 365.25
        return np.column_stack([n12, n24, h12, recency, age]).astype(np.float64)


def _distance_space(raw: np.ndarray) -> np.ndarray:
    out = raw.copy()
    out[:, :3] = np.log1p(out[:, :3])
    return out


def _prepare_population(population: pd.DataFrame) -> pd.DataFrame:
    check_frame(population, POPULATION_COLUMNS, "population")
    pop = pd.DataFrame({
        "person_id": population["person_id"].to_numpy(dtype=np.int64),
        "dob": nat_day_numbers(population["date_of_birth"]),
        "sex": population["sex"].astype(str).to_numpy(),
        "deceased": nat_day_numbers(population["deceased_on"]),
        "adopted": population["adopted"].to_numpy(dtype=bool),
    })
    check_unique(pop["person_id"], "population has a person_id twice")
    return pop.set_index("person_id")


def _smd(m_mean: float, c_mean: float, m_var: float, c_var: float) -> float | None:
    scale = np.sqrt((m_var + c_var) / 2.0)
    if not np.isfinite(scale) or scale == 0:
        return None if m_mean != c_mean else 0.0
    return round(float((m_mean - c_mean) / scale), 3)


def match_comparison(members: pd.DataFrame, population: pd.DataFrame,
                     offences: PreparedOffences, *, as_of: date, window_months: int = 12,
                     counting: str = "recorded", k: int | None = None,
                     caliper: float | None = None, by_offence_group: bool = False,
                     rules: IdiomRules = DEFAULT_RULES) -> Matching:
    """Match each member to up to ``k`` never-adopted people at their adoption month.

    Parameters
    ----------
    members : DataFrame, shape (m, ...)
        The included memberships: ``unit`` (row id), ``person_id``, ``sex`` and int64 day
        numbers ``adopted`` and ``exited`` (as `scoring.idiom.idiom_report` passes them).
    population : DataFrame, shape (p, 5)
        ``person_id, date_of_birth, sex, deceased_on, adopted``. Candidates are people with
        ``adopted`` false, not dead by ``as_of``, aged at least
        ``rules.comparator_min_age`` and with an offence in the 24 months before the month.
    offences : PreparedOffences
        Offences of members and candidates (`scoring.idiom.prepare_offences`).
    as_of, window_months, counting
        As in the report: comparators' before/after offences follow the same rules.
    k, caliper
        Neighbours per member (with replacement across members) and the largest
        standardised Euclidean distance accepted (default: ``rules``).
    by_offence_group : bool
        Also return comparator counts by offence group.
    rules : IdiomRules
        The comparison's rules (``idiom.yaml``): defaults for k and caliper, the
        comparators' minimum age and the balance limit.

    Returns
    -------
    Matching
    """
    k = rules.neighbours if k is None else k
    caliper = rules.caliper if caliper is None else caliper
    if k < 1:
        raise ValueError("k must be at least 1")
    if caliper <= 0:
        raise ValueError("caliper must be positive")
    pop = _prepare_population(population)
    end_of_day = day_number(as_of) + 1
    members = members.reset_index(drop=True)
    summary = _method(k, caliper, rules.comparator_min_age)
    unmatched = pd.DataFrame({"matched": np.zeros(len(members), dtype=bool),
                              "comp_before_offences": np.nan,
                              "comp_after_offences": np.nan},
                             index=pd.Index(members["unit"].to_numpy(), name="unit"))
    if len(members) == 0:
        summary.update(candidates=0, comparators=0, members_matched=0, members_unmatched=0,
                       mean_distance=None, balance=[],
                       warnings=["no included members: no comparison group"])
        return Matching(pairs=pd.DataFrame(columns=["unit", "comparator_id", "distance",
                                                    "weight"]),
                        per_member=unmatched, per_member_group=None, summary=summary)

    search = _nearest_candidates(members, pop, offences, end_of_day=end_of_day, k=k,
                                 caliper=caliper, min_age=rules.comparator_min_age)
    pairs = search.pairs
    per_member, per_member_group = _comparator_offences(
        members, pairs, offences, unmatched, end_of_day=end_of_day, window_months=window_months,
        waiting_months=rules.waiting_months, proven=counting == "proven",
        by_offence_group=by_offence_group)
    matched_units = per_member["matched"].to_numpy(dtype=bool)
    balance = _balance(search, matched_units)
    n_matched = int(matched_units.sum())
    summary.update(
        candidates=int(search.ever_candidate.sum()),
        comparators=int(pairs["comparator_id"].nunique()),
        members_matched=n_matched,
        members_unmatched=len(members) - n_matched,
        mean_distance=round(float(pairs["distance"].mean()), 3) if len(pairs) else None,
        balance=balance,
        warnings=_warnings(len(members) - n_matched, balance, rules.balance_limit),
    )
    return Matching(pairs=pairs, per_member=per_member, per_member_group=per_member_group,
                    summary=summary)


def _method(k: int, caliper: float, min_age: int) -> dict[str, Any]:
    """How the comparison group is built, in words, for the report."""
    return {
        "method": ("nearest neighbours (scikit-learn ball tree), exact on sex and "
                   "adoption month, with replacement"),
        "parameters": {
            "k": k, "caliper": caliper, "features": list(FEATURES),
            "exact": ["sex", "adoption_month"],
            "distance": "Euclidean on log1p(counts, harm), months since last offence and age, "
                        "each standardised by that month's candidate pool",
            "candidate_pool": "people never adopted onto a cohort by as_of, alive on as_of, "
                              f"aged {min_age}+, with an offence in the {_LOOKBACK} months "
                              "before",
            "outcome": "comparator offences over the member's own before and after windows",
        },
    }


@dataclass(frozen=True)
class _Search:
    """The matched pairs and what the balance table needs: raw features of members and
    comparators, and running sums over every month's candidate pool."""

    pairs: pd.DataFrame      # unit, comparator_id, distance, weight
    comp_raw: np.ndarray     # (pairs, FEATURES)
    member_raw: np.ndarray   # (members, FEATURES); NaN for a member not in the population
    pool_sum: np.ndarray
    pool_sq: np.ndarray
    pool_n: int
    ever_candidate: np.ndarray


def _nearest_candidates(members: pd.DataFrame, pop: pd.DataFrame, offences: PreparedOffences,
                        *, end_of_day: int, k: int, caliper: float, min_age: int) -> _Search:
    """Up to ``k`` candidates within ``caliper`` per member, month by month of adoption."""
    months = month_numbers(members["adopted"].to_numpy(dtype=np.int64))
    first = int(months.min()) - _LOOKBACK
    # Only people with an offence in the look-back range can be candidates (and members are
    # needed for their own features): dropping the rest keeps every month's work small.
    first_day = first_day_of_month(first)
    recent = offences.frame.loc[offences.frame["day"].to_numpy() >= first_day, "person_id"]
    keep = pop.index.isin(recent.unique()) | pop.index.isin(members["person_id"].unique())
    pop = pop[keep]
    history = _History(pop.index, offences.frame, first, int(months.max()) - first)
    dob = pop["dob"].to_numpy()
    alive = (pop["deceased"].to_numpy() == NAT) | (pop["deceased"].to_numpy() >= end_of_day)
    never = ~pop["adopted"].to_numpy()
    pop_sex = pop["sex"].to_numpy()
    pop_ids = pop.index.to_numpy()
    member_pos = pop.index.get_indexer(members["person_id"].to_numpy())
    member_sex = members["sex"].astype(str).to_numpy()
    member_units = members["unit"].to_numpy()

    n_feat = len(FEATURES)
    member_raw = np.full((len(members), n_feat), np.nan)
    pool_sum, pool_sq, pool_n = np.zeros(n_feat), np.zeros(n_feat), 0
    ever_candidate = np.zeros(len(pop), dtype=bool)
    pair_unit, pair_comp, pair_dist, pair_raw = [], [], [], []

    for month in np.unique(months):
        raw = history.features(int(month), dob)
        eligible = never & alive & (raw[:, 4] >= min_age) & ((raw[:, 0] + raw[:, 1]) > 0)
        ever_candidate |= eligible
        pool_rows = np.flatnonzero(eligible)
        pool = raw[pool_rows]
        pool_sum += pool.sum(axis=0)
        pool_sq += (pool ** 2).sum(axis=0)
        pool_n += len(pool)
        in_month = np.flatnonzero(months == month)
        known = in_month[member_pos[in_month] >= 0]
        member_raw[known] = raw[member_pos[known]]
        if len(pool_rows) == 0 or len(known) == 0:
            continue
        space = _distance_space(pool)
        centre = space.mean(axis=0)
        scale = space.std(axis=0)
        scale[~(scale > 0)] = 1.0
        z_pool = (space - centre) / scale
        z_members = (_distance_space(raw[member_pos[known]]) - centre) / scale
        pool_sex = pop_sex[pool_rows]
        for sex in np.unique(member_sex[known]):
            which = member_sex[known] == sex
            found = _within_caliper(z_pool, np.flatnonzero(pool_sex == sex), z_members[which],
                                    k=k, caliper=caliper)
            if found is None:
                continue
            query_row, candidate, dist = found
            chosen = pool_rows[candidate]
            pair_unit.append(member_units[known[which]][query_row])
            pair_comp.append(pop_ids[chosen])
            pair_dist.append(dist)
            pair_raw.append(raw[chosen])

    pairs = pd.DataFrame({
        "unit": np.concatenate(pair_unit) if pair_unit else np.empty(0, np.int64),
        "comparator_id": np.concatenate(pair_comp) if pair_comp else np.empty(0, np.int64),
        "distance": np.concatenate(pair_dist) if pair_dist else np.empty(0),
    })
    pairs["weight"] = 1.0 / pairs.groupby("unit")["unit"].transform("size").to_numpy(dtype=float)
    comp_raw = np.concatenate(pair_raw) if pair_raw else np.empty((0, n_feat))
    return _Search(pairs=pairs, comp_raw=comp_raw, member_raw=member_raw, pool_sum=pool_sum,
                   pool_sq=pool_sq, pool_n=pool_n, ever_candidate=ever_candidate)


def _within_caliper(z_pool: np.ndarray, cand: np.ndarray, queries: np.ndarray, *, k: int,
                    caliper: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The ``k`` nearest of the candidate rows ``cand`` to each query, kept within the
    caliper: (query row, candidate row in ``z_pool``, distance) per pair, or None."""
    # Exact shortcut: a candidate outside the members' bounding box widened by the
    # caliper is further than the caliper from every member, so never accepted.
    box = np.all((z_pool[cand] >= queries.min(axis=0) - caliper)
                 & (z_pool[cand] <= queries.max(axis=0) + caliper), axis=1)
    cand = cand[box]
    if len(cand) == 0:
        return None
    # Imported here: scikit-learn (with scipy) costs about a second to import, and every
    # process that imports the app would pay it for a matched comparison few reports ask for.
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(k, len(cand)), algorithm="ball_tree")
    nn.fit(z_pool[cand])
    dist, ind = nn.kneighbors(queries)
    which_row, which_nb = np.nonzero(dist <= caliper)
    return which_row, cand[ind[which_row, which_nb]], dist[which_row, which_nb]


def _comparator_offences(members: pd.DataFrame, pairs: pd.DataFrame,
                         offences: PreparedOffences, unmatched: pd.DataFrame, *,
                         end_of_day: int, window_months: int, waiting_months: int,
                         proven: bool,
                         by_offence_group: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Comparators' weighted offences over their member's own windows, per member (and per
    member and offence group when asked)."""
    bounds = window_bounds(members["adopted"].to_numpy(dtype=np.int64),
                           members["exited"].to_numpy(dtype=np.int64),
                           end_of_day=end_of_day, window_months=window_months,
                           waiting_months=waiting_months)
    bound_frame = pd.DataFrame({name: v for name, v in bounds.items()
                                if name.endswith(("_start", "_end", "_limit"))})
    bound_frame["member_unit"] = members["unit"].to_numpy()
    pair_units = pairs.reset_index(names="unit_pair").merge(
        bound_frame, left_on="unit", right_on="member_unit", how="left")
    pair_units = pair_units.rename(columns={"comparator_id": "person_id", "unit": "member"})
    pair_units["unit"] = pair_units["unit_pair"]
    per_member = unmatched.copy()
    per_member_group = None
    counts = window_counts(pair_units, offences.frame, end_of_day=end_of_day, proven=proven,
                           by_group=False).reindex(pair_units["unit"], fill_value=0)
    weighted = pd.DataFrame({
        "unit": pair_units["member"].to_numpy(),
        "comp_before_offences": counts["before_offences"].to_numpy() * pairs["weight"].to_numpy(),
        "comp_after_offences": counts["after_offences"].to_numpy() * pairs["weight"].to_numpy(),
    }).groupby("unit").sum()
    per_member.loc[weighted.index, "matched"] = True
    per_member.loc[weighted.index, ["comp_before_offences", "comp_after_offences"]] = \
        weighted[["comp_before_offences", "comp_after_offences"]].to_numpy()
    if by_offence_group:
        grouped = window_counts(pair_units, offences.frame, end_of_day=end_of_day,
                                proven=proven, by_group=True).reset_index()
        weights = pd.Series(pairs["weight"].to_numpy(), index=pair_units["unit"].to_numpy())
        members_of = pd.Series(pair_units["member"].to_numpy(), index=pair_units["unit"].to_numpy())
        w = weights.loc[grouped["unit"].to_numpy()].to_numpy()
        per_member_group = pd.DataFrame({
            "unit": members_of.loc[grouped["unit"].to_numpy()].to_numpy(),
            "offence_group": grouped["offence_group"].to_numpy(),
            "comp_before_offences": grouped["before_offences"].to_numpy() * w,
            "comp_after_offences": grouped["after_offences"].to_numpy() * w,
        }).groupby(["unit", "offence_group"], as_index=False).sum()
    return per_member, per_member_group


def _balance(search: _Search, matched_units: np.ndarray) -> list[dict[str, Any]]:
    """Per feature: means of members, pool, matched members and comparators, and the
    standardised mean differences before and after matching."""
    member_raw, comp_raw, pool_n = search.member_raw, search.comp_raw, search.pool_n
    balance: list[dict[str, Any]] = []
    pool_mean = search.pool_sum / max(pool_n, 1)
    pool_var = search.pool_sq / max(pool_n, 1) - pool_mean ** 2
    has_raw = ~np.isnan(member_raw[:, 0])
    m_all = member_raw[has_raw]
    m_matched = member_raw[matched_units & has_raw]
    w = search.pairs["weight"].to_numpy()
    for j, name in enumerate(FEATURES):
        m_mean = float(m_all[:, j].mean()) if len(m_all) else float("nan")
        m_var = float(m_all[:, j].var()) if len(m_all) else float("nan")
        c_mean = (float(np.average(comp_raw[:, j], weights=w)) if len(comp_raw)
                  else float("nan"))
        mm_mean = float(m_matched[:, j].mean()) if len(m_matched) else float("nan")
        balance.append({
            "feature": name,
            "members_mean": round(m_mean, 3),
            "pool_mean": round(float(pool_mean[j]), 3) if pool_n else None,
            "matched_members_mean": round(mm_mean, 3) if len(m_matched) else None,
            "comparators_mean": round(c_mean, 3) if len(comp_raw) else None,
            "smd_before": _smd(m_mean, float(pool_mean[j]), m_var, float(pool_var[j]))
            if pool_n and len(m_all) else None,
            "smd_after": _smd(mm_mean, c_mean, m_var, float(pool_var[j]))
            if len(comp_raw) and len(m_matched) else None,
        })
    return balance


def _warnings(unmatched: int, balance: list[dict[str, Any]], limit: float) -> list[str]:
    warnings = []
    if unmatched:
        warnings.append(f"{unmatched} member(s) had no comparator within the caliper: they are "
                        "left out of the comparison")
    loose = [b["feature"] for b in balance
             if b["smd_after"] is not None and abs(b["smd_after"]) >= limit]
    if loose:
        warnings.append(f"comparison group not balanced on {', '.join(loose)} "
                        f"(|SMD| >= {limit:g}): read the net figure with care")
    return warnings
