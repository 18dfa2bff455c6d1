"""Fixtures for the scoring tests: the default catalogue and configuration, and one
synthetic force (fixed seed) with a threat model trained on it, shared by the session."""

from __future__ import annotations

import pytest

from scoring.catalogue import OffenceCatalogue, load_catalogue
from scoring.config import ScoringConfig, load_config
from scoring.synthetic import SyntheticData, synthetic_histories
from scoring.thr import ThreatModel
from scoring.training import train_threat_model


@pytest.fixture(scope="session")
def cat() -> OffenceCatalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def cfg() -> ScoringConfig:
    return load_config()


@pytest.fixture(scope="session")
def force() -> SyntheticData:
    """5,000 people over nine years: persistent offenders reoffend more.

    Most careers are short, so most back-test rows have a low chance of reoffending; 5,000
    people put over 300 held-out rows in each calibration bin up to 0.7 (2,500 filled two).
    """
    return synthetic_histories(5000, seed=7, start="2016-01-01", end="2024-12-31",
                               mean_offences=8.0)


@pytest.fixture(scope="session")
def model(force: SyntheticData, cat: OffenceCatalogue, cfg: ScoringConfig) -> ThreatModel:
    return train_threat_model(force.offences, force.persons, force.custody, catalogue=cat,
                              config=cfg, monitoring=force.monitoring)
