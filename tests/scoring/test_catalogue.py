"""The offence catalogue: confirmed costs, validation, HO code mapping."""

from pathlib import Path

import pytest
import yaml

from scoring.catalogue import DEFAULT_PATH, CatalogueError, load_catalogue, normalise_ho_code

CONFIRMED = {  # shared/domain.md, Home Office RR99 (2018), 2015/16 prices
    "rape": 39360, "violence_with_injury": 14050, "robbery_personal": 11320,
    "theft_of_vehicle": 10290, "arson": 8420, "other_sexual": 6520,
    "criminal_damage": 1350, "theft_from_vehicle": 870,
}
REQUIRED_TYPES = {
    "burglary_residential", "robbery_personal", "theft_from_person", "theft_of_vehicle",
    "theft_from_vehicle", "violence_with_injury", "violence_without_injury", "rape",
    "other_sexual", "homicide", "arson", "criminal_damage", "shoplifting", "other_theft",
    "drugs_supply", "drugs_possession", "weapons", "public_order", "fraud",
    "stalking_harassment", "breach", "other",
}


def test_default_catalogue_has_every_type_and_the_confirmed_costs() -> None:
    cat = load_catalogue()
    assert set(cat.offence_types) == REQUIRED_TYPES
    for key, cost in CONFIRMED.items():
        assert cat.table.loc[key, "unit_cost_gbp"] == cost
        assert bool(cat.table.loc[key, "cost_confirmed"]), key
    unconfirmed = set(cat.table.index[~cat.table["cost_confirmed"]])
    assert unconfirmed == REQUIRED_TYPES - set(CONFIRMED)
    for key in unconfirmed:
        assert "NOT confirmed" in cat.table.loc[key, "cost_source"] or \
            "no RR99" in cat.table.loc[key, "cost_source"] or \
            "not one unit cost" in cat.table.loc[key, "cost_source"], key


def test_neighbourhood_crime_is_the_national_definition() -> None:
    cat = load_catalogue()
    assert set(cat.table.index[cat.table["neighbourhood_crime"]]) == {
        "burglary_residential", "robbery_personal", "theft_from_person", "theft_of_vehicle",
        "theft_from_vehicle"}


def test_gravity_in_range_and_ho_codes_map_back() -> None:
    cat = load_catalogue()
    assert cat.table["gravity"].between(1, 4).all()
    for key, codes in cat.table["ho_codes"].items():
        for code in codes:
            assert cat.type_for_ho_code(code) == key
    assert cat.type_for_ho_code("99Z") is None
    assert normalise_ho_code(" 008n ") == "8N"
    assert normalise_ho_code("037/2") == "37/2"


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_catalogues_are_refused(tmp_path: Path) -> None:
    good = yaml.safe_load(DEFAULT_PATH.read_text())
    no_version = {k: v for k, v in good.items() if k != "version"}
    with pytest.raises(CatalogueError, match="version"):
        load_catalogue(_write(tmp_path, no_version))
    bad_gravity = yaml.safe_load(DEFAULT_PATH.read_text())
    bad_gravity["offence_types"]["rape"]["gravity"] = 7
    with pytest.raises(CatalogueError, match="rape: gravity"):
        load_catalogue(_write(tmp_path, bad_gravity))
    clash = yaml.safe_load(DEFAULT_PATH.read_text())
    clash["offence_types"]["other"]["ho_codes"] = ["39"]
    with pytest.raises(CatalogueError, match="HO code 39"):
        load_catalogue(_write(tmp_path, clash))


def test_a_force_catalogue_replaces_figures(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["version"] = "force-x-1"
    data["offence_types"]["burglary_residential"]["unit_cost_gbp"] = 7000
    cat = load_catalogue(_write(tmp_path, data))
    assert cat.version == "force-x-1"
    assert cat.table.loc["burglary_residential", "unit_cost_gbp"] == 7000
