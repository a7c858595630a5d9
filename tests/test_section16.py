"""Issue 20: Section 16 reporting persons. Form 4 is due by the end of the second business day
after the grant date (weekends, federal holidays with their observed days, and federal
closings by executive order not counted); the review and an export give the Form 4 values."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.errors import PlanError
from generator.terms.kit import init_kit
from generator.terms.plan import load_plan
from generator.terms.section16 import FORM4_COLUMNS, business_day, form4_due

from .conftest import write_csv


@pytest.mark.parametrize(
    ("granted", "due"),
    [
        ("2026-12-01", "2026-12-03"),  # Tuesday: Thursday
        ("2026-12-04", "2026-12-08"),  # Friday: over the weekend
        ("2026-12-05", "2026-12-08"),  # a Saturday grant: Monday is the first day after
        ("2026-11-25", "2026-11-30"),  # Thanksgiving (the Friday after is a business day)
        ("2026-12-24", "2026-12-29"),  # Christmas on a Friday
        ("2026-12-31", "2027-01-05"),  # the year's end and New Year's Day
        ("2021-12-30", "2022-01-04"),  # New Year's Day 2022 (a Saturday) observed Dec 31
        ("2026-07-02", "2026-07-07"),  # Independence Day (a Saturday) observed July 3
        ("2022-06-16", "2022-06-21"),  # Juneteenth (a Sunday) observed June 20
        ("2020-06-18", "2020-06-22"),  # Juneteenth before it was a federal holiday (2021)
        ("2025-01-07", "2025-01-10"),  # the national day of mourning for President Carter
        ("2025-12-22", "2025-12-29"),  # December 24 and 26, 2025: closed by executive order
        ("2009-12-23", "2009-12-28"),  # a half-day closing is still a business day
        ("2024-02-16", "2024-02-21"),  # Washington's Birthday
    ],
)
def test_form4_due_dates(granted: str, due: str) -> None:
    assert form4_due(date.fromisoformat(granted)) == date.fromisoformat(due)


def test_business_days() -> None:
    assert business_day(date(2026, 12, 7)) and not business_day(date(2026, 12, 6))
    assert not business_day(date(2026, 1, 19))  # Martin Luther King Jr. Day
    assert not business_day(date(2026, 10, 12)) and not business_day(date(2026, 11, 11))


def _kit(tmp_path: Path, section: str) -> Path:
    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    (kit / "plan.toml").write_text((kit / "plan.toml").read_text() + "\n" + section)
    return kit


def test_the_plan_file_says_whether_participants_report(tmp_path: Path) -> None:
    kit = _kit(tmp_path, '[section16]\nreporting = true\noption_title = "Option (right to buy)"\n')
    terms = load_plan(kit).section16
    assert terms is not None and terms.option_title == "Option (right to buy)"
    assert terms.underlying_title == "Common Stock"
    for text, says in [
        ('reporting = "yes"', "section16.reporting"),
        ("reporting = true\nfiling_agent = 1", "section16.filing_agent"),
    ]:
        bad = _kit(tmp_path / says.replace(".", "_"), f"[section16]\n{text}\n")
        with pytest.raises(PlanError, match=says.replace(".", r"\.")):
            load_plan(bad)
    off = _kit(tmp_path / "off", "[section16]\nreporting = false\n")
    assert load_plan(off).section16 is None


@pytest.mark.soffice
def test_review_and_export_give_form4_values_and_late_grants_are_warned(
    tmp_path: Path, soffice: str
) -> None:
    kit = _kit(tmp_path, "[section16]\nreporting = true\n")
    yesterday = date.today() - timedelta(days=1)
    header = ["grant_id", "participant", "grant_date", "shares", "exercise_price",
              "vesting_schedule"]  # fmt: skip
    rows = [
        {"grant_id": "F-1", "participant": "Ana Núñez", "grant_date": yesterday.isoformat(),
         "shares": "12,000", "exercise_price": "18.40", "vesting_schedule": "initial"},
        {"grant_id": "F-2", "participant": "Bo Li & Co.", "grant_date": "2025-06-16",
         "shares": "7,500", "exercise_price": "18.40", "vesting_schedule": "initial"},
    ]  # fmt: skip
    grants = write_csv(tmp_path / "g.csv", rows, header)
    prices = tmp_path / "prices.csv"
    prices.write_text(f"date,close\n2025-06-16,18.40\n{yesterday.isoformat()},18.40\n")
    common = ["--plan", str(kit), "--prices", str(prices), "--ledger", str(tmp_path / "l.db")]
    checked = CliRunner().invoke(main, ["validate", str(grants), *common])
    late = [line for line in checked.output.splitlines() if "form4-late" in line]
    assert len(late) == 1 and "F-2" in late[0] and "due June 18, 2025" in late[0], late
    made = CliRunner().invoke(
        main, ["generate", str(grants), *common, "--out", str(tmp_path / "b"), "--accept-samples"]
    )
    assert made.exit_code == 0, made.output
    review = tmp_path / "b" / "review"
    table = list(csv.DictReader(io.StringIO((review / "form4.csv").read_text("utf-8-sig"))))
    assert list(table[0]) == list(FORM4_COLUMNS)
    first = {r["grant_id"]: r for r in table}["F-1"]
    assert first["table"] == "II" and first["title_of_security"] == "Stock Option (right to buy)"
    assert first["transaction_code"] == "A" and first["acquired_or_disposed"] == "A"
    assert first["amount"] == first["underlying_amount"] == "12000"
    assert first["conversion_or_exercise_price"] == "18.40"
    assert first["transaction_date"] == yesterday.isoformat()
    assert first["form4_due"] == form4_due(yesterday).isoformat()
    assert first["expiration_date"] == yesterday.replace(year=yesterday.year + 10).isoformat()
    assert first["date_exercisable"] > first["transaction_date"]  # the first installment
    summary = list(csv.DictReader(io.StringIO((review / "summary.csv").read_text("utf-8-sig"))))
    assert {r["grant_id"]: r["form4_due"] for r in summary}["F-2"] == "2025-06-18"
    assert "Form 4 due June 18, 2025" in (review / "summary.html").read_text()
    export = CliRunner().invoke(
        main, ["ledger", "export", "--format", "form4", "--since", yesterday.isoformat(),
               "--plan", str(kit), "--ledger", str(tmp_path / "l.db")],
    )  # fmt: skip
    assert export.exit_code == 0, export.output
    exported = list(csv.DictReader(io.StringIO(export.output)))
    assert [r["grant_id"] for r in exported] == ["F-1"]
    assert {k: v for k, v in exported[0].items() if k != "footnote"} == {
        k: v for k, v in first.items() if k != "footnote"
    }
