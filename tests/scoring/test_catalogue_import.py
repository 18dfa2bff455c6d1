"""Importing a force's CCHI workbook and cost table as a new catalogue version."""

from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from scoring.catalogue import DEFAULT_PATH, OffenceCatalogue, load_catalogue
from scoring.catalogue_import import (
    CatalogueImportError,
    chi_figures,
    cost_figures,
    imported_catalogue,
    read_table,
)

RESIDENTIAL = ["28A", "28B", "28C", "28D", "28E", "28F", "28G", "28H", "29", "29A"]


@pytest.fixture(scope="module")
def base() -> OffenceCatalogue:
    return load_catalogue()


def _csv(tmp_path: Path, text: str, name: str = "chi.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _import(**kw: object) -> OffenceCatalogue:
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    return imported_catalogue(raw, DEFAULT_PATH.parent, digest="test", **kw)[1]  # type: ignore[arg-type]


def test_a_chi_csv_gives_per_code_weights_and_a_new_version(tmp_path: Path,
                                                            base: OffenceCatalogue) -> None:
    rows = "".join(f"{code},400,\n" for code in RESIDENTIAL)
    path = _csv(tmp_path, "HO Code,Days,Description\n" + rows
                + "008N,730,assault with injury\n4.1,5475,murder\n\nAF,60,\n")
    chi = chi_figures(read_table(path), base, name=path.name)
    assert chi["8N"] == {"days": 730.0, "source": "force CCHI workbook chi.csv, row 12"}
    assert "4.1" in chi  # the code as the catalogue's list writes it
    cat = _import(chi=chi)
    assert cat.version == "2026.12-sourced-1+import-test"
    assert cat.codes.loc["8N", "harm_days"] == 730
    assert cat.codes.loc["8N", "harm_source"].startswith("per-code figure: force CCHI")
    assert cat.codes.loc["5D", "harm_days"] == 365  # not in the workbook: subgroup median
    assert cat.table.loc["burglary_residential", "harm_weight"] == 400
    assert cat.table.loc["violence_with_injury", "harm_weight"] == 365  # 12 x 365, 1 x 730
    # Fraud had a project default only because no code had a figure; now one has.
    assert cat.table.loc["fraud", "harm_weight"] == 60
    assert cat.table.loc["fraud", "harm_source"].startswith("median over the 1 ")


def test_an_xlsx_workbook_with_numeric_cells(tmp_path: Path, base: OffenceCatalogue) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["ho_code", "days", "source"])
    sheet.append([46, 1.5, "Cambridge CHI 2026 workbook, force licence"])
    sheet.append(["34B", "1,095", None])
    path = tmp_path / "chi.xlsx"
    book.save(path)
    chi = chi_figures(read_table(path), base, name=path.name)
    assert chi == {"46": {"days": 1.5, "source": "Cambridge CHI 2026 workbook, force licence"},
                   "34B": {"days": 1095.0, "source": "force CCHI workbook chi.xlsx, row 3"}}


def test_a_bad_chi_file_names_every_bad_row(tmp_path: Path, base: OffenceCatalogue) -> None:
    path = _csv(tmp_path, "ho_code,days\n28E,300\n99Z,10\n8N,lots\n,5\n28E,310\n8N,-1\n")
    with pytest.raises(CatalogueImportError) as err:
        chi_figures(read_table(path), base, name=path.name)
    message = str(err.value)
    assert message.startswith("chi.csv: ")
    for expected in ("row 3: ho_code '99Z' is not a Home Office code of the catalogue",
                     "row 4: days 'lots' is not a number >= 0", "row 5: ho_code is empty",
                     "row 6: ho_code 28E is given twice (first on row 2)",
                     "row 7: days '-1' is not a number >= 0"):
        assert expected in message
    with pytest.raises(CatalogueImportError, match="lacks column.s. days"):
        chi_figures(read_table(_csv(tmp_path, "ho_code,weight\n28E,1\n")), base, name="x")
    with pytest.raises(CatalogueImportError, match="give a .csv or .xlsx"):
        read_table(tmp_path / "chi.ods")
    with pytest.raises(CatalogueImportError, match="no rows"):
        chi_figures(read_table(_csv(tmp_path, "ho_code,days\n")), base, name="x")


def test_a_cost_table_by_type_or_subgroup(tmp_path: Path, base: OffenceCatalogue) -> None:
    path = _csv(tmp_path, "offence_type,offence_subgroup,cost_gbp,source\n"
                "shoplifting,,150,IDIOM cost table 2026\n"
                ",Domestic burglary,\"6,100\",\n"
                ",bicycle  theft,300,\n", name="costs.csv")
    costs = cost_figures(read_table(path), base, name=path.name)
    assert costs["burglary_residential"]["cost"] == 6100
    assert costs["other_theft"]["source"] == "force cost table costs.csv, row 4"
    cat = _import(costs=costs)
    row = cat.table.loc["shoplifting"]
    assert (row["unit_cost_gbp"], bool(row["cost_confirmed"]), row["cost_source"]) == (
        150, True, "IDIOM cost table 2026")
    assert cat.table.loc["rape", "unit_cost_gbp"] == 39360  # untouched: RR99
    assert "force figures for 3 types" in cat.cost_table


def test_a_bad_cost_table_names_every_bad_row(tmp_path: Path, base: OffenceCatalogue) -> None:
    path = _csv(tmp_path, "offence_type,offence_subgroup,cost_gbp\n"
                "other_theft,,200\n"
                ",Bicycle theft,100\n"
                "shoplifting,Shoplifting,10\n"
                "burglery,,10\n"
                ",Piracy,10\n"
                "arson,,free\n", name="costs.csv")
    with pytest.raises(CatalogueImportError) as err:
        cost_figures(read_table(path), base, name=path.name)
    message = str(err.value)
    for expected in ("row 3: subgroup Bicycle theft gives other_theft 100, but row 2 gave it "
                     "200", "row 4: give an offence_type or an offence_subgroup",
                     "row 5: offence_type 'burglery' is not a type",
                     "row 6: offence_subgroup 'Piracy' is not in the catalogue's ho_subgroups",
                     "row 7: cost_gbp 'free' is not a number >= 0"):
        assert expected in message
    with pytest.raises(CatalogueImportError, match="needs an offence_type or offence_subgroup"):
        cost_figures(read_table(_csv(tmp_path, "type,cost_gbp\nx,1\n")), base, name="x")
