"""The IDIOM report's rules are data (idiom.yaml): one loader, every figure checked, and a
force's own file changes what the kernel does."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scoring.idiom import DEFAULT_RULES, IdiomRulesError, idiom_report, load_idiom_rules
from scoring.idiom.rules import DEFAULT_PATH
from tests.scoring.builders import COSTS, NO_CUSTODY


def _raw() -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load(DEFAULT_PATH.read_text()))


def _write(tmp_path: Path, raw: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "idiom.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_shipped_rules_say_what_seed_002_and_the_moj_measure_say() -> None:
    r = load_idiom_rules()
    assert (r.window_months, r.waiting_months, r.suppress_below) == (12, 6, 5)
    assert r.proven_outcomes == {"conviction", "caution"} and r.counting == "recorded"
    assert r.version and r == DEFAULT_RULES


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw.pop("version"), "version"),
    (lambda raw: raw["windows"].update(extra=1), "extra"),
    (lambda raw: raw["windows"].update(months=90), "min_months..max_months"),
    (lambda raw: raw["counting"].update(default="guessed"), "counting.default"),
    (lambda raw: raw["bootstrap"].update(level=1.5), "bootstrap.level"),
    (lambda raw: raw["counting"].update(proven_outcomes=[]), "proven_outcomes"),
    (lambda raw: raw["comparison"].update(caliper=-1), "comparison.caliper"),
])
def test_a_bad_rules_file_is_refused_naming_the_field(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    raw = _raw()
    change(raw)
    with pytest.raises(IdiomRulesError, match=message):
        load_idiom_rules(_write(tmp_path, raw))


def _members(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "membership_id": range(1, n + 1), "person_id": range(1, n + 1), "area": "BANES",
        "cohort": "fixed", "stream": "nsac", "sex": "male",
        "adopted_on": [date(2021, 1, 31)] * n, "exited_on": [date(2021, 7, 31)] * n,
        "exit_reason": "rehabilitated"})


def _offences(n: int) -> pd.DataFrame:
    return pd.DataFrame({"person_id": range(1, n + 1), "offence_date": [date(2020, 6, 1)] * n,
                         "offence_type": "burglary_residential", "outcome": "conviction",
                         "outcome_date": [date(2020, 9, 1)] * n})


def test_a_forces_own_rules_change_the_report() -> None:
    members, offences = _members(3), _offences(3)
    as_of = date(2023, 1, 30)
    shipped = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=as_of, n_boot=10)
    assert shipped.totals["suppress"] and shipped.rules_version == DEFAULT_RULES.version
    own = replace(DEFAULT_RULES, version="force-1", suppress_below=3, waiting_months=12)
    theirs = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=as_of, n_boot=10,
                          rules=own)
    assert not theirs.totals["suppress"] and theirs.rules_version == "force-1"
    proven = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=as_of, n_boot=10,
                          counting="proven")
    assert proven.included == 3
    # A 12-month wait after the after window (ends 31 Jul 2022) has not passed by as_of.
    waiting = idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=as_of, n_boot=10,
                           counting="proven", rules=own)
    assert waiting.excluded["waiting_period_not_ended"] == 3
    with pytest.raises(ValueError, match="window_months"):
        idiom_report(members, offences, NO_CUSTODY, COSTS, as_of=as_of, window_months=61)
