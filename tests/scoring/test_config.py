"""The scoring configuration: defaults, reasons, validation, and a force's own file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from scoring.config import DEFAULT_CONFIG_PATH, ConfigError, band_for, load_config
from scoring.rfg import rfg_scores
from tests.scoring.builders import AS_OF, make_offences

RAW = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "force.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def changed(**edits: Any) -> dict[str, Any]:
    """The default config with dotted-path edits; a value of ... deletes the key."""
    data = copy.deepcopy(RAW)
    for dotted, value in edits.items():
        *path, last = dotted.split("__")
        node = data
        for key in path:
            node = node[int(key) if key.isdigit() else key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def test_default_config_loads_with_a_version_and_the_documented_numbers() -> None:
    cfg = load_config()
    # 2026.12-default-2: harm's full scale moved to homicide's CCHI median, and OGRS3 terms
    # for the catalogue's new business burglary and robbery types.
    assert cfg.version == "2026.12-default-2"
    assert cfg.thr.harm_full_scale_days == 5475
    assert cfg.thr.rule_based.offence_terms["burglary_business"] == 0.2406
    assert cfg.rfg.lookback_months == 24
    assert cfg.rfg.gravity_points == {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0}
    for weights in cfg.rfg.weights.values():
        assert sum(weights.values()) == pytest.approx(1.0)
    assert cfg.rfg.weights["domestic_abuse"]["victims"] > 0
    assert cfg.escalation.recent_months == cfg.escalation.prior_months == 6
    assert cfg.thr.horizon_months == 12
    assert cfg.source.endswith("rfg_config.yaml")


def test_every_default_has_its_reasoning_in_a_comment() -> None:
    text = DEFAULT_CONFIG_PATH.read_text()
    for key in ("lookback_months", "half_life_days", "half_saturation", "measure", "points",
                "weights", "recent_months", "min_recent_offences", "horizon_months",
                "windows_months", "full_scale_days", "test_dates", "regularisation_c",
                "selection_threshold", "age_terms", "offence_terms"):
        line = next(i for i, ln in enumerate(text.splitlines()) if ln.strip().startswith(key))
        before = text.splitlines()[max(line - 3, 0):line + 1]
        assert any("#" in ln for ln in before), f"{key} has no comment giving a reason"


@pytest.mark.parametrize(("edits", "message"), [
    ({"version": ...}, r"version: missing"),
    ({"rfg__lookback_months": 0}, r"rfg.lookback_months: must be > 0"),
    ({"rfg__lookback_months": 1.5}, r"whole number"),
    ({"rfg__recency__half_life_days": -5}, r"half_life_days: must be > 0"),
    ({"rfg__recency__half_life_days": "soon"}, r"must be a number"),
    ({"rfg__gravity__measure": "vibes"}, r"rfg.gravity.measure: must be one of"),
    ({"rfg__gravity__points": {1: 1, 2: 4, 3: 2, 4: 8}}, r"non-decreasing"),
    ({"rfg__gravity__points": {1: 1, 2: 2}}, r"each gravity level"),
    ({"rfg__streams__all__weights__recency": 0.5}, r"streams.all.weights: must sum to 1"),
    ({"rfg__streams__all__weights__victims": -0.1}, r"victims: must be >= 0"),
    ({"rfg__streams__all__weights__recncy": 0.1}, r"recncy: unknown key"),
    ({"rfg__streams__acquisitive": ...}, r"rfg.streams.acquisitive: missing"),
    ({"escalation__min_recent_offences": 0}, r"min_recent_offences: must be >= 1"),
    ({"thr__features__windows_months": [12, 6]}, r"strictly increasing"),
    ({"thr__training__selection_threshold": 1.5}, r"below 1"),
    ({"thr__rule_based__age_terms": [0.1, 0.2]}, r"one term per age band"),
    ({"bands__levels": [{"name": "high", "min": 50}, {"name": "low", "min": 10}]},
     r"ending at 0"),
    ({"bands__score": "threat"}, r"bands.score: must be one of"),
    ({"bands__levels": [{"name": "severe", "min": 50}, {"name": "low", "min": 0}]},
     r"bands.levels\[0\].name: must be one of"),
    ({"surprise": 1}, r"surprise: unknown key"),
])
def test_bad_configs_are_refused_with_the_setting_named(tmp_path: Path, edits: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, changed(**edits)))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = changed(rfg__lookback_months=-1, escalation__prior_months=0)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, data))
    assert "rfg.lookback_months" in str(caught.value)
    assert "escalation.prior_months" in str(caught.value)


def test_config_error_is_a_value_error_and_yaml_errors_are_config_errors(
        tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("rfg: [unclosed")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(path)


def test_a_force_file_changes_the_numbers_and_its_version_is_recorded(tmp_path: Path,
                                                                       cat) -> None:
    data = changed(version="force-x-7", rfg__recency__half_life_days=90)
    cfg = load_config(write(tmp_path, data))
    offences = make_offences((1, 90, "shoplifting"))
    default = rfg_scores(offences, as_of=AS_OF, catalogue=cat, config=load_config())
    force = rfg_scores(offences, as_of=AS_OF, catalogue=cat, config=cfg)
    assert default.loc[0, "recency"] == pytest.approx(100 * 0.5 ** 0.5)
    assert force.loc[0, "recency"] == pytest.approx(50.0)
    assert set(force["config_version"]) == {"force-x-7"}


def test_bands_are_read_highest_first() -> None:
    cfg = load_config()
    got = band_for(np.array([100, 75, 74.99, 50, 25, 24.9, 0]), cfg).tolist()
    assert got == ["very_high", "very_high", "high", "high", "medium", "low", "low"]
