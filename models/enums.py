"""Closed vocabularies shared by tables and API schemas."""

from enum import StrEnum


class Sex(StrEnum):
    male = "male"
    female = "female"
    other = "other"
    unknown = "unknown"


class Outcome(StrEnum):
    arrest = "arrest"
    charge = "charge"
    summons = "summons"
    conviction = "conviction"
    caution = "caution"
    community_resolution = "community_resolution"
    no_further_action = "no_further_action"
    pending = "pending"


class Cohort(StrEnum):
    fixed = "fixed"
    flex = "flex"
    free = "free"


class ExitReason(StrEnum):
    custody_over_2_years = "custody_over_2_years"
    rehabilitated = "rehabilitated"
    no_longer_meets_criteria = "no_longer_meets_criteria"
    moved_area = "moved_area"
    deceased = "deceased"
    other = "other"


class Rag(StrEnum):
    red = "red"
    amber = "amber"
    green = "green"


class Band(StrEnum):
    """A score's headline band (scoring/data/rfg_config.yaml `bands.levels` names a subset,
    highest first; scoring.config.BAND_NAMES holds the same names)."""

    very_high = "very_high"
    high = "high"
    medium = "medium"
    low = "low"


class ThreatSource(StrEnum):
    """What made the threat: a trained model, or the rule-based fallback before one."""

    model = "model"
    rule_based = "rule_based"


class FactorPart(StrEnum):
    """Which score an explanation factor moved: rfg (points of the 0-100 score) or threat
    (percentage points)."""

    rfg = "rfg"
    threat = "threat"


class Knowledge(StrEnum):
    """What an answer as of a day knows: current (all known now about that day) or
    as_recorded (only what had been recorded by the end of it, so it never changes)."""

    current = "current"
    as_recorded = "as_recorded"


class Counting(StrEnum):
    """Which offences an IDIOM report counts: every recorded one, or proven ones only
    (a conviction or caution, after the waiting period)."""

    recorded = "recorded"
    proven = "proven"


class GroupKey(StrEnum):
    """What an IDIOM report can be grouped by (scoring.idiom.GROUP_KEYS)."""

    area = "area"
    cohort = "cohort"
    stream = "stream"
    sex = "sex"
    offence_group = "offence_group"
    exit_reason = "exit_reason"


class ScoreColumn(StrEnum):
    """A score a list can be ordered by (highest first)."""

    risk = "risk"
    rfg = "rfg"
    threat = "threat"
    harm = "harm"
    rfg_acquisitive = "rfg_acquisitive"
    rfg_domestic_abuse = "rfg_domestic_abuse"


class RfgColumn(StrEnum):
    """The RFG a stream's shortlist rule ranks on (scoring.shortlist.rules.RFG_COLUMNS)."""

    rfg = "rfg"
    rfg_acquisitive = "rfg_acquisitive"
    rfg_domestic_abuse = "rfg_domestic_abuse"


class RankBy(StrEnum):
    """How a migration shortlist ranks: by risk, or by the stream's RFG."""

    risk = "risk"
    rfg = "rfg"


class CandidateFlag(StrEnum):
    """Why a shortlist candidate stands out (scoring/shortlist/reasons.py)."""

    below_criteria = "below_criteria"
    referred = "referred"
    ogrs_high = "ogrs_high"
    escalating = "escalating"
    serial_perpetrator = "serial_perpetrator"
    # Under the stream's minimum age, listed as a referred youth justice transition case.
    under_min_age_referred = "under_min_age_referred"


class ExitFlag(StrEnum):
    """Why a member is suggested for an exit review (scoring/shortlist/exits.py)."""

    no_recent_offending = "no_recent_offending"
    long_custody = "long_custody"
    deceased = "deceased"


class ShortlistSection(StrEnum):
    """Where a decision's person stood on the list the meeting saw."""

    candidates = "candidates"
    exits = "exits"
    excluded = "excluded"


class ExclusionCode(StrEnum):
    """Why a person is excluded from a shortlist (scoring.shortlist.EXCLUSION_CODES)."""

    active_member = "active_member"
    in_custody = "in_custody"
    deceased = "deceased"
    other_area = "other_area"
    under_min_age = "under_min_age"


class RetentionReason(StrEnum):
    """Why a person is due for a records review (scoring.retention.REASONS)."""

    deceased = "deceased"
    no_activity_recorded = "no_activity_recorded"
    quiet_period = "quiet_period"


class RetentionActivity(StrEnum):
    """A kind of record the retention rule counts as activity (scoring.retention)."""

    offences = "offences"
    custody = "custody"
    memberships = "memberships"


# ONS 2021 Census ethnic groups, as the two-character codes police forces record
# ("self-defined ethnicity" 19+1: W4 Roma and O2 Arab added for 2021; NS = not stated).
ETHNICITY_CODES: dict[str, str] = {
    "A1": "Asian or Asian British: Indian",
    "A2": "Asian or Asian British: Pakistani",
    "A3": "Asian or Asian British: Bangladeshi",
    "A4": "Asian or Asian British: Chinese",
    "A9": "Asian or Asian British: any other Asian background",
    "B1": "Black, Black British, Caribbean or African: Caribbean",
    "B2": "Black, Black British, Caribbean or African: African",
    "B9": "Black, Black British, Caribbean or African: any other Black background",
    "M1": "Mixed or multiple: White and Black Caribbean",
    "M2": "Mixed or multiple: White and Black African",
    "M3": "Mixed or multiple: White and Asian",
    "M9": "Mixed or multiple: any other Mixed background",
    "W1": "White: English, Welsh, Scottish, Northern Irish or British",
    "W2": "White: Irish",
    "W3": "White: Gypsy or Irish Traveller",
    "W4": "White: Roma",
    "W9": "White: any other White background",
    "O2": "Other ethnic group: Arab",
    "O9": "Other ethnic group: any other ethnic group",
    "NS": "Not stated",
}


# The same codes as an enum, so the API schema lists the allowed values.
Ethnicity = StrEnum("Ethnicity", {code: code for code in ETHNICITY_CODES})  # type: ignore[misc]


class CodeMapping(StrEnum):
    """How a Home Office offence code reaches its catalogue type."""

    subgroup = "subgroup"  # through its Home Office offence subgroup
    override = "override"  # mapped by hand, with the reason in the catalogue


class ModelStatus(StrEnum):
    """Where a trained threat model stands (scoring/artefacts.py)."""

    current = "current"
    candidate = "candidate"
    rejected = "rejected"
    retired = "retired"
