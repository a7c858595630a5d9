"""Spreadsheet columns as HR systems export them, columns left unread on purpose, a kit's
extra columns, and the incentive stock option limit (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.errors import InputError
from generator.core.resources import default_plan
from generator.pipeline import check_batch
from generator.reading.columns import ReadOptions, parse_mapping
from generator.reading.records import read_grants


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Employee (Y/N)", "is_employee"),
        ("Employee?", "is_employee"),
        ("Options Granted", "shares"),
        ("Strike", "exercise_price"),
        ("Option Price", "exercise_price"),
        ("Grant Type", "award_type"),
        ("Vesting Schedule", "vesting_schedule"),
        ("Vesting Commencement Date", "vesting_start"),
    ],
)
def test_headers_hr_systems_export_are_understood(tmp_path: Path, header: str, column: str) -> None:
    base = "Director,Date of Grant,Shares,Price"
    value = {"is_employee": "N", "shares": "100", "exercise_price": "3.25"}.get(column, "x")
    if column in ("shares", "exercise_price"):
        base = base.replace(",Shares" if column == "shares" else ",Price", "")
    cells = {"shares": "3.25", "exercise_price": "100"}
    if column in cells:
        text = f"{base},{header}\nAnn Lee,2005-05-16,{cells[column]},{value}\n"
    else:
        text = f"{base},{header}\nAnn Lee,2005-05-16,100,3.25,{value}\n"
    result = read_grants(write(tmp_path / "g.csv", text))
    assert result.columns[header] == column
    assert not result.warnings


def test_a_header_that_looks_like_a_column_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path / "g.csv",
        "Director,Date of Grant,Shares,Price,Employee Status\nAnn Lee,2005-05-16,100,3.25,FT\n",
    )
    with pytest.raises(InputError) as caught:
        read_grants(path)
    message = str(caught.value)
    assert "'Employee Status'" in message and "is_employee" in message
    assert "--map 'Employee Status=-'" in message
    # left unread on purpose: read, no warning
    ok = read_grants(path, ReadOptions(mapping=parse_mapping(["Employee Status=-"])))
    assert ok.records and not ok.warnings


def test_a_kit_lists_columns_to_leave_unread_and_extra_columns_its_templates_print(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        default_plan().read_text(encoding="utf-8")
        + '\n[columns]\nignore = ["Employee ID"]\nextra = ["mailing_code"]\n',
        encoding="utf-8",
    )
    grants = write(
        tmp_path / "g.csv",
        "Director,Date of Grant,Shares,Price,Employee ID,Mailing Code\n"
        "Ann Lee,2005-05-16,100,3.25,E-1,MC-7\n"
        "Bo Ng,2005-05-16,100,3.25,E-2,\n",
    )
    checked = check_batch(grants, plan)
    assert not [f for f in checked.findings if f.rule == "unknown-column"]
    (ann,) = checked.grants.records
    assert dict(ann.extra) == {"mailing_code": "MC-7"}
    (blank,) = checked.grants.errors  # printed by a template: never a blank
    assert blank.row == 3 and "Mailing Code" in str(blank)
    from generator.rendering.render import grant_context

    assert grant_context(ann, checked.plan)["mailing_code"] == "MC-7"
    shown = CliRunner().invoke(main, ["fields", "--plan", str(plan)])
    assert "mailing_code" in shown.output and "[mailing_code]" in shown.output


def test_incentive_options_over_the_yearly_limit(tmp_path: Path) -> None:
    """IRC 422(d): $100,000 a year of incentive options, by value at grant, counted over the
    participant's grants in the batch; the excess is nonstatutory, or refused."""
    text = default_plan().read_text(encoding="utf-8")
    text = text.replace(
        'types = ["option", "restricted_stock", "stock_unit"]',
        'types = ["option", "incentive_option", "restricted_stock", "stock_unit"]',
    ).replace("incentive_options = false", "incentive_options = true")
    text += (
        '\n[vesting]\ndefault = "three"\n[vesting.three]\ninstallments = 3\n'
        'every_months = 12\nrounding = "FRONT_LOADED"\n'
    )
    plan = write(tmp_path / "plan.toml", text)
    grants = write(
        tmp_path / "g.csv",
        "Director,Date of Grant,Shares,Price,Award Type\n"
        'Ann Lee,2005-05-16,"30,000",10.00,incentive_option\n'  # $100,000 a year: at the limit
        "Ann Lee,2005-05-17,300,10.00,incentive_option\n",  # $1,000 a year more
    )
    found = [f for f in check_batch(grants, plan).findings if f.rule == "incentive-limit"]
    assert [f.row for f in found] == [3, 3, 3] and all(f.severity == "warning" for f in found)
    assert "100 of this grant's shares vesting in 2006 are a nonstatutory option" in (
        found[0].message
    )
    assert found[0].section == "IRC 422(d)"
    plan.write_text(
        text.replace(
            'exercise_price = "last_sale"',
            'exercise_price = "last_sale"\nincentive_excess = "refuse"',
        ),
        encoding="utf-8",
    )
    refused = [f for f in check_batch(grants, plan).findings if f.rule == "incentive-limit"]
    assert refused and all(f.severity == "error" for f in refused)


def test_columns_says_what_validate_refuses(tmp_path: Path) -> None:
    path = write(
        tmp_path / "g.csv",
        "Director,Date of Grant,Shares,Price,Employee Name,Vest Start\nA,2005-05-16,1,3.25,x,\n",
    )
    shown = CliRunner().invoke(main, ["columns", str(path)])
    assert shown.exit_code == 1
    assert "looks like 'is_employee' or 'participant'" in shown.output
    assert "'Vest Start'" in shown.output and "-> vesting_start" in shown.output
    ignored = CliRunner().invoke(main, ["columns", str(path), "--map", "Employee Name=-"])
    assert ignored.exit_code == 0 and "left unread on purpose" in ignored.output


def test_a_kits_extra_column_missing_from_the_file_and_one_it_also_ignores(
    tmp_path: Path,
) -> None:
    from generator.core.errors import PlanError
    from generator.terms.plan import load_plan

    plan = write(
        tmp_path / "plan.toml",
        default_plan().read_text(encoding="utf-8") + '\n[columns]\nextra = ["mailing_code"]\n',
    )
    grants = write(tmp_path / "g.csv", "Director,Date of Grant,Shares,Price\nA,2005-05-16,1,3.25\n")
    with pytest.raises(InputError, match="'mailing_code'"):
        check_batch(grants, plan)
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "[columns]", '[columns]\nignore = ["Mailing Code"]'
        ),
        encoding="utf-8",
    )
    with pytest.raises(PlanError, match=r"columns\.ignore"):
        load_plan(plan)
