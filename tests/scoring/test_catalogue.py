"""The offence catalogue: sourced figures, validation, the Home Office code mapping."""

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from scoring.catalogue import DEFAULT_PATH, CatalogueError, load_catalogue, normalise_ho_code
from scoring.paths import DATA as DATA_DIR

# shared/domain.md, "Cost of crime": Home Office RR99 (2018), 2015/16 prices, the figures
# confirmed from a report of the table (homicide's "about 3.2 million" is not confirmed).
CONFIRMED = {
    "rape": 39360, "violence_with_injury": 14050, "robbery_personal": 11320,
    "theft_of_vehicle": 10290, "arson": 8420, "other_sexual": 6520,
    "criminal_damage": 1350, "theft_from_vehicle": 870,
}
# shared/domain.md, "Reference data: sources to use": Cambridge Crime Harm Index, median days
# per Home Office offence subgroup in the public tabulation of the 2026 update.
CHI_MEDIANS = {
    "homicide": 5475, "rape": 2555, "violence with injury": 365,
    "death or serious injury by unlawful driving": 365, "robbery of personal property": 365,
    "robbery of business property": 365, "possession of weapons": 273.75,
    "residential burglary": 273.5, "arson": 185, "non-residential burglary": 183.5,
    "other sexual offences": 182.25, "violence without injury": 10,
    "stalking and harassment": 10, "miscellaneous crimes against society": 10,
    "public order": 7.5, "vehicle offences": 5, "trafficking of drugs": 5,
    "possession of drugs": 3, "other theft": 2, "theft from the person": 2,
    "bicycle theft": 2, "criminal damage": 2, "shoplifting": 1,
}
# burglary_business and robbery_business are new in 2026.12-sourced-1: the Home Office
# subgroups "Non-domestic burglary" and "Robbery of business property" had no type.
REQUIRED_TYPES = {
    "burglary_residential", "burglary_business", "robbery_personal", "robbery_business",
    "theft_from_person", "theft_of_vehicle", "theft_from_vehicle", "violence_with_injury",
    "violence_without_injury", "rape", "other_sexual", "homicide", "arson", "criminal_damage",
    "shoplifting", "other_theft", "drugs_supply", "drugs_possession", "weapons",
    "public_order", "fraud", "stalking_harassment", "breach", "other",
}
# The hand mapping of catalogue 2026.11-as-default-1, written out: each code must still
# resolve to its type, except where its Home Office subgroup says otherwise (CHANGED).
PREVIOUS_MAPPING = {
    "burglary_residential": ["28A", "28B", "28C", "28D", "28E", "28F"],
    "robbery_personal": ["34A", "34B"], "theft_from_person": ["39"],
    "theft_of_vehicle": ["48", "37/2"], "theft_from_vehicle": ["45", "126"],
    "violence_with_injury": ["5D", "5E", "8N", "8S"],
    "violence_without_injury": ["104", "105A", "105B"],
    "rape": ["19C", "19D", "19E", "19F", "19G", "19H"],
    "other_sexual": ["17A", "17B", "20A", "20B", "21", "22A", "22B", "23", "88A"],
    "homicide": ["1", "4/1", "4/2"], "arson": ["56A", "56B"],
    "criminal_damage": ["58A", "58B", "58C", "58D", "58E", "58F", "58G", "58H", "58J"],
    "shoplifting": ["46"], "other_theft": ["40", "41", "42", "43", "44", "47", "49", "54"],
    "drugs_supply": ["92A"], "drugs_possession": ["92D", "92E"],
    "weapons": ["10A", "10B", "10C", "10D", "81"], "public_order": ["9A", "9B", "62A", "66"],
    "fraud": ["51", "52", "53A", "53B", "53C", "53D", "53E", "53F", "53G", "53H", "53J",
              "55"],
    "stalking_harassment": ["8L", "8Q", "8R", "8U"],
}
CHANGED = {"34A": "robbery_business"}  # subgroup "Robbery of business property"
GRAVITY_DEFAULT = "project default (indicative, ACPO/NPCC matrix scale 1-4)"


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _shipped_codes() -> list[dict[str, str]]:
    with (DATA_DIR / "ho_offence_codes.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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
    assert cat.table.loc["homicide", "unit_cost_gbp"] == 3_200_000  # "about 3.2 million"


def test_cost_rows_name_rr99_or_say_they_are_a_default() -> None:
    table = load_catalogue().table
    for key, source in table["cost_source"].items():
        assert source.startswith(("RR99", "project default 0")), key
        if table.loc[key, "cost_confirmed"]:
            assert source.endswith(", confirmed"), key
        else:
            assert "NOT confirmed" in source or source.startswith("project default 0"), key
        if source.startswith("project default 0"):
            assert table.loc[key, "unit_cost_gbp"] == 0, key


def test_neighbourhood_crime_is_the_national_definition() -> None:
    # domain.md: "robbery, burglary, vehicle crime and theft from the person", so the new
    # business burglary and robbery types count too (34A counted before, as personal robbery).
    cat = load_catalogue()
    assert set(cat.table.index[cat.table["neighbourhood_crime"]]) == {
        "burglary_residential", "burglary_business", "robbery_personal", "robbery_business",
        "theft_from_person", "theft_of_vehicle", "theft_from_vehicle"}


def test_every_shipped_home_office_code_resolves_through_its_subgroup() -> None:
    cat = load_catalogue()
    rows = _shipped_codes()
    assert len(rows) == 135  # the 132 rows of the source, the homicide cell split in four
    subgroups = {s.casefold(): t for s, t in cat.subgroups["offence_type"].items()}
    overridden = set(cat.codes.index[cat.codes["mapped_by"] == "override"])
    for row in rows:
        got = cat.type_for_ho_code(row["ho_code"])
        assert got in REQUIRED_TYPES, row
        if normalise_ho_code(row["ho_code"]) not in overridden:
            assert got == subgroups[row["offence_subgroup"].casefold()], row
    assert cat.type_for_ho_code("99Z") is None


def test_the_previous_hand_mapping_still_holds_but_for_the_subgroup_changes() -> None:
    cat = load_catalogue()
    for offence_type, codes in PREVIOUS_MAPPING.items():
        for code in codes:
            assert cat.type_for_ho_code(code) == CHANGED.get(code, offence_type), code


def test_hand_mappings_give_their_reason() -> None:
    codes = load_catalogue().codes
    overrides = codes[codes["mapped_by"] == "override"]
    assert set(overrides.index) >= {"54", "80", "83"}
    assert overrides["mapping_note"].str.len().gt(20).all()
    assert codes.loc["54", "offence_type"] == "other_theft"  # handling, as before
    assert codes.loc["54", "harm_days"] == 10  # its harm stays its subgroup's


def test_codes_are_one_spelling() -> None:
    assert normalise_ho_code(" 008n ") == "8N"
    assert normalise_ho_code("037/2") == "37/2"
    assert normalise_ho_code("37.2") == normalise_ho_code("37/2")
    assert normalise_ho_code("4.10") != normalise_ho_code("4.1")
    cat = load_catalogue()
    assert cat.type_for_ho_code("004/10") == cat.type_for_ho_code("4.10") == "homicide"


def test_chi_medians_are_domain_md_s_table_exactly() -> None:
    subgroups = load_catalogue().subgroups
    sourced = subgroups[subgroups["chi_subgroup"].notna()]
    for name, row in sourced.iterrows():
        assert row["harm_days"] == CHI_MEDIANS[row["chi_subgroup"]], name
        assert "Sherman, Neyroud & Neyroud 2016" in row["harm_source"], name
        assert "2026 update" in row["harm_source"], name
    assert set(sourced["chi_subgroup"]) == set(CHI_MEDIANS)  # every median is used
    assert subgroups.loc[subgroups["chi_subgroup"].isna(), "harm_days"].isna().all()


def test_a_type_s_harm_is_the_median_of_its_codes_figures() -> None:
    cat = load_catalogue()
    for key in cat.offence_types:
        figures = cat.codes.loc[cat.codes["offence_type"] == key, "harm_days"].dropna()
        if len(figures):
            assert cat.table.loc[key, "harm_weight"] == np.median(figures), key
            assert cat.table.loc[key, "harm_source"].startswith("median over"), key
        else:
            assert cat.table.loc[key, "harm_source"].startswith("project default"), key
    harm = cat.table["harm_weight"]
    assert (harm["burglary_residential"], harm["rape"], harm["homicide"]) == (273.5, 2555, 5475)
    assert harm["other_theft"] == 2  # 9 codes at 2 days, handling (54) at 10
    assert list(cat.table.index[cat.table["harm_source"].str.startswith("project")]) == [
        "fraud"]


def test_every_row_has_a_source() -> None:
    cat = load_catalogue()
    for col in ("gravity_source", "cost_source", "harm_source"):
        assert cat.table[col].str.strip().str.len().gt(0).all(), col
    # The per-offence matrix is not held: every level says it is the project's.
    assert (cat.table["gravity_source"] == GRAVITY_DEFAULT).all()
    assert cat.subgroups["harm_source"].str.len().gt(0).all()
    assert cat.codes["harm_source"].notna().sum() == cat.codes["harm_days"].notna().sum()
    assert all(c.source for c in cat.code_lists)
    assert cat.code_lists[0].licence.startswith("MIT")


@pytest.mark.parametrize(("drop", "match"), [
    (("offence_types", "rape", "gravity_source"), "offence_types.rape.gravity_source: missing"),
    (("offence_types", "rape", "cost_source"), "offence_types.rape.cost_source: missing"),
    (("offence_types", "fraud", "harm_source"), "fraud: harm_weight and harm_source go"),
    (("ho_subgroups", "Arson", "harm_source"), "ho_subgroups.Arson.harm_source: missing"),
    (("ho_code_overrides", "54", "reason"), "ho_code_overrides.54.reason: missing"),
])
def test_the_loader_refuses_a_row_without_a_source(tmp_path: Path, drop: tuple[str, ...],
                                                   match: str) -> None:
    data = _raw()
    section, key, column = drop
    data[section][key] = {k: v for k, v in data[section][key].items() if k != column}
    with pytest.raises(CatalogueError, match=match):
        load_catalogue(_write(tmp_path, data))
    blank = _raw()
    blank["offence_types"]["rape"]["cost_source"] = "  "
    with pytest.raises(CatalogueError, match="cost_source: must name its source"):
        load_catalogue(_write(tmp_path, blank))


def test_bad_catalogues_are_refused(tmp_path: Path) -> None:
    no_version = {k: v for k, v in _raw().items() if k != "version"}
    with pytest.raises(CatalogueError, match="version"):
        load_catalogue(_write(tmp_path, no_version))
    bad_gravity = _raw()
    bad_gravity["offence_types"]["rape"]["gravity"] = 7
    with pytest.raises(CatalogueError, match="rape: gravity"):
        load_catalogue(_write(tmp_path, bad_gravity))
    twice = _raw()
    twice["ho_code_overrides"]["053A"] = twice["ho_code_overrides"]["53A"]
    with pytest.raises(CatalogueError, match="code 53A is given twice"):
        load_catalogue(_write(tmp_path, twice))
    old_style = _raw()
    old_style["offence_types"]["other"]["ho_codes"] = ["39"]
    with pytest.raises(CatalogueError, match="no longer listed per type"):
        load_catalogue(_write(tmp_path, old_style))
    both = _raw()
    both["offence_types"]["rape"]["harm_weight"] = 1825
    both["offence_types"]["rape"]["harm_source"] = "project default"
    with pytest.raises(CatalogueError, match="rape.harm_weight: its Home Office codes"):
        load_catalogue(_write(tmp_path, both))
    unknown_type = _raw()
    unknown_type["ho_subgroups"]["Arson"]["offence_type"] = "arsen"
    with pytest.raises(CatalogueError, match="'arsen' is not an offence type"):
        load_catalogue(_write(tmp_path, unknown_type))


def test_a_force_extends_the_code_list_with_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "force_codes.csv").write_text(
        "ho_code,description,offence_group,offence_subgroup\n"
        "8V,A newer stalking code,Violence against the person,Stalking and harassment\n"
        "28Z,A newer burglary code,Theft offences,Residential burglary\n"
        "126,Interfering (reclassified for the test),Theft offences,Theft of a motor vehicle\n")
    data = _raw()
    data["version"] = "force-x-codes-1"
    data["ho_code_lists"].append({"path": "force_codes.csv", "source": "force list 2026"})
    cat = load_catalogue(_write(tmp_path, data))
    assert cat.type_for_ho_code("8V") == "stalking_harassment"
    assert cat.type_for_ho_code("28Z") == "burglary_residential"  # the 2026 subgroup name
    assert cat.type_for_ho_code("126") == "theft_of_vehicle"  # the later list wins
    assert cat.codes.loc["8V", "code_list"] == "force_codes.csv"
    assert "8V" in cat.table.loc["stalking_harassment", "ho_codes"]


def test_a_code_whose_subgroup_is_not_mapped_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "force_codes.csv").write_text(
        "ho_code,description,offence_group,offence_subgroup\n"
        "8V,A newer stalking code,Violence against the person,Stalking and harassment\n"
        "77X,Something new,Miscellaneous crimes,Brand new subgroup\n")
    data = _raw()
    data["ho_code_lists"].append({"path": "force_codes.csv", "source": "force list 2026"})
    with pytest.raises(CatalogueError,
                       match=r"force_codes.csv line 3: code 77X's subgroup 'Brand new"):
        load_catalogue(_write(tmp_path, data))
    data["ho_code_lists"][-1] = {"path": "missing.csv", "source": "force list"}
    with pytest.raises(CatalogueError, match="cannot read missing.csv"):
        load_catalogue(_write(tmp_path, data))


def test_per_code_harm_replaces_the_subgroup_median(tmp_path: Path) -> None:
    data = _raw()
    data["code_harm"] = {"28E": {"days": 400, "source": "force CCHI workbook"},
                         "28F": {"days": 300, "source": "force CCHI workbook"}}
    cat = load_catalogue(_write(tmp_path, data))
    assert cat.codes.loc["28E", "harm_days"] == 400
    assert cat.codes.loc["28E", "harm_source"] == "per-code figure: force CCHI workbook"
    # 10 residential burglary codes: 8 at the median 273.5, then 300 and 400.
    assert cat.table.loc["burglary_residential", "harm_weight"] == 273.5
    assert "force CCHI workbook" in cat.table.loc["burglary_residential", "harm_source"]
    data["code_harm"] = {"99Z": {"days": 1, "source": "x"}, "28E": {"days": -1, "source": "x"}}
    with pytest.raises(CatalogueError, match="99Z is not a code") as err:
        load_catalogue(_write(tmp_path, data))
    assert "code_harm.28E.days: must be a number >= 0" in str(err.value)


def test_a_force_catalogue_replaces_figures(tmp_path: Path) -> None:
    data = _raw()
    data["version"] = "force-x-1"
    data["offence_types"]["burglary_residential"]["unit_cost_gbp"] = 7000
    cat = load_catalogue(_write(tmp_path, data))  # package: code lists load from anywhere
    assert cat.version == "force-x-1"
    assert cat.table.loc["burglary_residential", "unit_cost_gbp"] == 7000
    assert cat.type_for_ho_code("28E") == "burglary_residential"
