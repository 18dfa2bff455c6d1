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
