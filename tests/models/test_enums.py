"""The API's closed sets (models/enums.py) are the kernel's: models import nothing of ours,
so each set the kernel also names is checked here to be the same, in the same order."""

from models.enums import (
    Band,
    Counting,
    GroupKey,
    RetentionActivity,
    RetentionReason,
    RfgColumn,
)
from models.report import IdiomExclusions
from scoring.config import BAND_NAMES, load_config
from scoring.idiom.inputs import COUNTING, GROUP_KEYS
from scoring.idiom.windows import EXCLUSION_REASONS
from scoring.retention import ACTIVITY_KINDS, REASONS
from scoring.shortlist.rules import RFG_COLUMNS


def test_the_api_enums_are_the_kernels_sets() -> None:
    assert tuple(Band) == BAND_NAMES
    assert tuple(Counting) == COUNTING
    assert tuple(GroupKey) == GROUP_KEYS
    assert tuple(RfgColumn) == RFG_COLUMNS
    assert tuple(RetentionReason) == REASONS
    assert tuple(RetentionActivity) == ACTIVITY_KINDS
    assert tuple(IdiomExclusions.model_fields) == ("total", *EXCLUSION_REASONS)


def test_the_default_configuration_names_only_known_bands() -> None:
    assert {name for name, _ in load_config().bands.levels} <= set(Band)
