"""Vesting schedules (generator/vesting.py): the plan's schedules, each grant's installments,
the template fields that print them, the rules that check them and the ledger that keeps
them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from generator.checking.findings import Context
from generator.checking.rules import vesting
from generator.cli import main
from generator.core.errors import PlanError
from generator.core.resources import default_plan
from generator.reading.grantrecord import GrantRecord
from generator.terms.plan import load_plan
from generator.terms.vesting import (
    ALLOCATIONS,
    Schedule,
    VestingError,
    add_months,
    allocate,
    grant_vesting,
    installments,
    one_line,
)

VESTING = """
[vesting]
default = "initial"

[vesting.initial]
description = "one-third on each of the first three anniversaries of the vesting start"
installments = 3
every_months = 12
rounding = "FRONT_LOADED"

[vesting.monthly]
installments = 48
every_months = 1
cliff_months = 12
rounding = "CUMULATIVE_ROUND_DOWN"

[vesting.annual]
immediate = true

[vesting.meeting]
description = "all at the next annual meeting"
on_date = true

[vesting.long]
installments = 11
every_months = 12
rounding = "CUMULATIVE_ROUNDING"
"""


def plan_with(tmp_path: Path, text: str = VESTING):  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.toml"
    path.write_text(default_plan().read_text(encoding="utf-8") + text, encoding="utf-8")
    return load_plan(path)


def grant(**kw: object) -> GrantRecord:
    base: dict[str, object] = {
        "row": 2,
        "grant_id": "V-1",
        "participant": "Ann Lee",
        "grant_date": date(2005, 5, 16),
        "shares": 10000,
        "exercise_price": Decimal("3.25"),
    }
    base.update(kw)
    return GrantRecord(**base)  # type: ignore[arg-type]


# --- arithmetic ----------------------------------------------------------------------------


def test_the_ocf_examples_of_each_allocation_type() -> None:
    """18 shares in 4 installments, as the OCF 1.2.0 AllocationType enumeration shows them."""
    expected = {
        "CUMULATIVE_ROUNDING": [5, 4, 5, 4],
        "CUMULATIVE_ROUND_DOWN": [4, 5, 4, 5],
        "FRONT_LOADED": [5, 5, 4, 4],
        "BACK_LOADED": [4, 4, 5, 5],
        "FRONT_LOADED_TO_SINGLE_TRANCHE": [6, 4, 4, 4],
        "BACK_LOADED_TO_SINGLE_TRANCHE": [4, 4, 4, 6],
        "FRACTIONAL": [Decimal("4.5")] * 4,
    }
    assert set(expected) == set(ALLOCATIONS)
    for rounding, parts in expected.items():
        assert allocate(18, 4, rounding) == parts, rounding


@given(
    total=st.integers(min_value=1, max_value=10**9),
    count=st.integers(min_value=1, max_value=120),
    rounding=st.sampled_from(ALLOCATIONS),
)
def test_installments_always_add_up_to_the_grant(total: int, count: int, rounding: str) -> None:
    parts = allocate(total, count, rounding)
    assert len(parts) == count and sum(parts) == total
    assert all(p >= 0 for p in parts)
    if rounding != "FRACTIONAL":
        assert all(isinstance(p, int) for p in parts) and max(parts) - min(parts) <= total


@pytest.mark.parametrize(
    ("start", "months", "rule", "expected"),
    [
        (date(2024, 2, 29), 12, "feb28", date(2025, 2, 28)),
        (date(2024, 2, 29), 12, "mar1", date(2025, 3, 1)),
        (date(2024, 2, 29), 48, "feb28", date(2028, 2, 29)),
        (date(2025, 1, 31), 1, "feb28", date(2025, 2, 28)),
        (date(2025, 1, 31), 1, "mar1", date(2025, 3, 1)),
        (date(2025, 1, 31), 2, "feb28", date(2025, 3, 31)),  # from the start, not the last
        (date(2023, 8, 31), 6, "feb28", date(2024, 2, 29)),
        (date(2025, 12, 15), 1, "feb28", date(2026, 1, 15)),  # over a year end
    ],
)
def test_month_ends_and_leap_days_follow_the_plans_rule(
    start: date, months: int, rule: str, expected: date
) -> None:
    assert add_months(start, months, rule) == expected


def test_a_cliff_vests_the_installments_before_it_together() -> None:
    monthly = Schedule("monthly", "", 48, 1, 12, "CUMULATIVE_ROUND_DOWN")
    found = installments(monthly, 48_000, date(2025, 1, 31))
    assert len(found) == 37 and found[0].day == date(2026, 1, 31)
    assert found[0].shares == 12_000 and found[0].cumulative == 12_000
    assert found[1].day == date(2026, 2, 28) and found[1].shares == 1_000
    assert found[-1].day == date(2029, 1, 31) and found[-1].cumulative == 48_000
    assert sum(i.shares for i in found) == 48_000


def test_fewer_shares_than_installments_skips_the_empty_ones() -> None:
    found = installments(Schedule("m", "", 12, 1, 0, "CUMULATIVE_ROUND_DOWN"), 5, date(2025, 1, 1))
    assert [i.shares for i in found] == [1] * 5 and found[-1].cumulative == 5


def test_one_line() -> None:
    initial = Schedule("initial", "", 3, 12, 0, "FRONT_LOADED")
    found = installments(initial, 10_000, date(2025, 6, 16))
    assert one_line("initial", found) == (
        "initial: 3 installments, 2026-06-16 to 2028-06-16 (3,334 / 3,333 / 3,333)"
    )
    assert one_line(None, found[:1]) == "at once: all 3,334 on 2026-06-16"


# --- the plan file ---------------------------------------------------------------------------


def test_schedules_are_read_from_the_plan_file(tmp_path: Path) -> None:
    plan = plan_with(tmp_path)
    assert plan.default_vesting == "initial"
    described = (
        "in 48 installments, one every 1 month from the vesting commencement date, none "
        "before 12 months"
    )
    assert plan.vesting["monthly"] == Schedule(
        "monthly", described, 48, 1, 12, "CUMULATIVE_ROUND_DOWN"
    )
    assert plan.vesting["annual"].immediate and plan.vesting["meeting"].on_date


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('\n[vesting]\ndefault = "nope"\n[vesting.a]\nimmediate = true\n', "vesting.default"),
        ("\n[vesting.a]\ninstallments = 3\nevery_months = 12\nrounding = 'ROUND'\n", "rounding"),
        ("\n[vesting.a]\ninstallments = 0\nevery_months = 12\nrounding = 'FRACTIONAL'\n", "a"),
        ("\n[vesting.a]\nevery_months = 12\nrounding = 'FRACTIONAL'\n", "installments"),
        (
            "\n[vesting.a]\ninstallments = 2\nevery_months = 6\ncliff_months = 12\n"
            "rounding = 'FRACTIONAL'\n",
            "cliff_months",
        ),
        ("\n[vesting.a]\nimmediate = true\nspeed = 3\n", "speed"),
    ],
)
def test_a_bad_schedule_is_refused_naming_its_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(PlanError, match=key):
        plan_with(tmp_path, text)


# --- the rules -------------------------------------------------------------------------------


def test_each_grant_gets_its_own_schedule_or_the_default(tmp_path: Path) -> None:
    plan = plan_with(tmp_path)
    schedule, found = grant_vesting(grant(), plan)
    assert schedule is not None and schedule.name == "initial"
    assert [(i.day, i.shares) for i in found] == [
        (date(2006, 5, 16), 3334),
        (date(2007, 5, 16), 3333),
        (date(2008, 5, 16), 3333),
    ]
    _, found = grant_vesting(grant(vesting_schedule="annual"), plan)
    assert [(i.day, i.shares) for i in found] == [(date(2005, 5, 16), 10000)]
    _, found = grant_vesting(grant(vesting_start=date(2005, 1, 1)), plan)
    assert found[0].day == date(2006, 1, 1)
    _, found = grant_vesting(grant(vesting_schedule="meeting", vesting_date=date(2006, 5, 3)), plan)
    assert [(i.day, i.shares) for i in found] == [(date(2006, 5, 3), 10000)]


@pytest.mark.parametrize(
    ("record", "column", "says"),
    [
        (grant(vesting_schedule="quarterly"), "vesting_schedule", "not a vesting schedule"),
        (grant(vesting_schedule="meeting"), "vesting_date", "give it in vesting_date"),
        (grant(vesting_date=date(2006, 1, 1)), "vesting_date", "works out its own dates"),
        (grant(vesting_schedule="long"), "vesting_schedule", "after the option expires"),
    ],
)
def test_a_schedule_that_cannot_apply_is_an_error_for_its_row_and_column(
    tmp_path: Path, record: GrantRecord, column: str, says: str
) -> None:
    plan = plan_with(tmp_path)
    found = list(vesting(record, Context(plan, None)))
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].column == column and says in found[0].message and found[0].row == 2
    if "expires" in says:
        assert found[0].section == plan.section("term")


def test_a_plan_without_schedules_vests_at_once(tmp_path: Path) -> None:
    schedule, found = grant_vesting(grant(), load_plan())
    assert schedule is None and [(i.day, i.shares) for i in found] == [(date(2005, 5, 16), 10000)]
    with pytest.raises(VestingError, match="no vesting schedule"):
        grant_vesting(grant(vesting_date=date(2006, 1, 1)), load_plan())


# --- template fields -------------------------------------------------------------------------


def test_template_fields_print_as_the_form_and_compute_as_values(tmp_path: Path) -> None:
    from generator.rendering.jinjaenv import make_environment
    from generator.rendering.render import grant_context

    plan = plan_with(tmp_path)
    context = grant_context(grant(grant_date=date(2024, 2, 29)), plan)
    env = make_environment()

    def show(source: str) -> str:
        return env.from_string(source).render(context)

    assert show("{{ grant_date }}") == "February 29, 2024"
    assert show("{{ grant_date|add_years(1) }}") == "February 28, 2025"
    assert show("{{ grant_date.year + 1 }}") == "2025"
    assert show("{{ final_exercise_date }}") == "February 28, 2034"
    assert show("{{ shares }} / {{ (shares.value / 2)|int }}") == "10,000 / 5000"
    assert show("{{ exercise_price }} {{ exercise_price.value * 2 }}") == "$3.25 6.50"
    listed = "{% for i in vesting %}{{ i.date }}: {{ i.shares }} ({{ i.percent }}); {% endfor %}"
    assert show(listed) == (
        "February 28, 2025: 3,334 (33.34%); February 28, 2026: 3,333 (33.33%); "
        "February 28, 2027: 3,333 (33.33%); "
    )
    assert show("{{ vesting[-1].cumulative }} {{ vesting_schedule }}") == "10,000 initial"
    assert "one-third" in show("{{ vesting_description }}")


def test_grantgen_fields_lists_each_field_with_a_sample_value(tmp_path: Path) -> None:
    plan_with(tmp_path)
    result = CliRunner().invoke(main, ["fields", "--plan", str(tmp_path / "plan.toml")])
    assert result.exit_code == 0, result.output
    for name in ("final_exercise_date", "vesting_start", "vesting", "officer.title"):
        assert name in result.output
    assert "3,334" in result.output  # the sample grant's first installment


# --- the ledger ------------------------------------------------------------------------------


def test_the_ledger_keeps_each_grants_installments(tmp_path: Path) -> None:
    from generator.checking.ledger import Ledger
    from generator.checking.ledgercsv import export_csv, import_csv
    from generator.checking.ledgerentry import Entry

    plan = plan_with(tmp_path)
    rec = grant(vesting_schedule="initial")
    _, found = grant_vesting(rec, plan)
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(plan, [Entry(rec, True, None, "test", 0, "initial", tuple(found))])
        text = export_csv(book, plan.id)
    assert "initial" in text and "2006-05-16 3334; 2007-05-16 3333; 2008-05-16 3333" in text
    with Ledger(tmp_path / "again.sqlite") as book:
        import_csv(book, plan, text)
        assert export_csv(book, plan.id) == text  # export -> import -> export
    shown = CliRunner().invoke(
        main,
        ["ledger", "show", "--plan", str(tmp_path / "plan.toml"), "--ledger",
         str(tmp_path / "l.sqlite"), "--grants"],
    )  # fmt: skip
    assert shown.exit_code == 0 and "vesting: initial" in shown.output
    as_json = CliRunner().invoke(
        main,
        ["ledger", "show", "--plan", str(tmp_path / "plan.toml"), "--ledger",
         str(tmp_path / "l.sqlite"), "--format", "json"],
    )  # fmt: skip
    assert json.loads(as_json.output)["vesting"]["V-1"]["schedule"] == "initial"


def test_a_recorded_grant_asked_for_with_another_schedule_is_another_grant(
    tmp_path: Path,
) -> None:
    from generator.checking.pool import terms_hash

    assert terms_hash(grant()) == terms_hash(replace(grant(), row=9))
    assert terms_hash(grant()) != terms_hash(grant(vesting_schedule="monthly"))


@pytest.mark.soffice
def test_one_run_makes_initial_annual_and_unit_grants_with_their_schedules(
    tmp_path: Path, soffice: str
) -> None:
    """The example kit's sample batch: options on a three-year schedule and at once, and
    restricted stock units vesting on a date given, from one spreadsheet and one kit; the
    installments in the PDF text and the ledger export add up to each grant."""
    import re
    import subprocess

    from generator.core.resources import kits_dir

    kit = kits_dir() / "meridian"
    out, ledger = tmp_path / "out", tmp_path / "l.sqlite"
    made = CliRunner().invoke(
        main,
        ["generate", str(kit / "sample-grants.csv"), "--plan", str(kit), "--prices",
         str(kit / "sample-prices.csv"), "--ledger", str(ledger), "--out", str(out), "--strict"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output

    def text(name: str) -> str:
        return subprocess.run(
            ["pdftotext", "-layout", str(out / name), "-"], capture_output=True, text=True
        ).stdout

    lines = re.findall(r"(\w+ \d+, \d{4}): ([\d,]+) Shares", text("MLS-2025-001.pdf"))
    assert lines == [
        ("June 16, 2026", "4,000"),
        ("June 16, 2027", "4,000"),
        ("June 16, 2028", "4,000"),
    ]
    at_once = re.findall(r"(\w+ \d+, \d{4}): ([\d,]+) Shares \(100\.00%", text("MLS-2025-003.pdf"))
    assert at_once == [("June 16, 2025", "5,000")]
    units = text("MLS-2025-004.pdf").split("\f")[0]  # the notice, not the Plan after it
    assert "Vesting Date:" in units and "June 10, 2026" in units and "$" not in units
    exported = CliRunner().invoke(
        main, ["ledger", "export", "--plan", str(kit), "--ledger", str(ledger)]
    )
    assert "initial,2025-06-16,2026-06-16 4000; 2027-06-16 4000; 2028-06-16 4000" in (
        exported.output
    )
    assert "meeting,2025-06-16,2026-06-10 2500" in exported.output
    consent = subprocess.run(
        ["pdftotext", "-layout", str(out / "review" / "board_consent.pdf"), "-"],
        capture_output=True,
        text=True,
    ).stdout
    assert "EXHIBIT B" in consent and "Restricted stock units" in consent
    assert "3 options covering 29,000 shares" in consent


# --- found by trying it as a user ------------------------------------------------------------


def test_fractional_installments_keep_exact_cumulative_amounts() -> None:
    thirds = allocate(10_001, 3, "FRACTIONAL")
    assert sum(thirds) == 10_001 and max(thirds) - min(thirds) <= Decimal("0.000001")
    twelfths = allocate(7, 12, "FRACTIONAL")
    assert sum(twelfths[:3]) == Decimal("1.75") and sum(twelfths[:6]) == Decimal("3.5")
    monthly = Schedule("m", "", 48, 1, 12, "FRACTIONAL")
    found = installments(monthly, 10_001, date(2025, 1, 1))
    assert found[0].cumulative == Decimal("2500.25") and found[-1].cumulative == 10_001


def test_schedule_names_are_matched_without_regard_to_case(tmp_path: Path) -> None:
    schedule, _ = grant_vesting(grant(vesting_schedule="Initial"), plan_with(tmp_path))
    assert schedule is not None and schedule.name == "initial"


def test_vesting_before_the_grant_date(tmp_path: Path) -> None:
    plan = plan_with(tmp_path)
    with pytest.raises(VestingError, match="before the grant date") as caught:
        grant_vesting(grant(vesting_schedule="meeting", vesting_date=date(2005, 5, 1)), plan)
    assert caught.value.column == "vesting_date"
    early = grant(vesting_start=date(2003, 1, 1))  # two installments before the grant
    found = list(vesting(early, Context(plan, None)))
    assert [(f.severity, f.column) for f in found] == [("warning", "vesting_start")]
    assert "6,667 shares vest before the grant date" in found[0].message


def test_a_schedule_pushed_past_the_term_by_its_start_names_the_start(tmp_path: Path) -> None:
    plan = plan_with(tmp_path)
    late = grant(vesting_start=date(2013, 1, 1))  # 3 years from 2013: past May 2015
    (found,) = list(vesting(late, Context(plan, None)))
    assert found.severity == "error" and found.column == "vesting_start"


def test_fields_without_a_value_are_errors_where_printed_never_blanks(tmp_path: Path) -> None:
    from generator.rendering.jinjaenv import make_environment
    from generator.rendering.render import grant_context

    plan = plan_with(tmp_path, VESTING.replace('default = "initial"\n', ""))
    env = make_environment()
    at_once = grant_context(grant(), plan)  # no schedule: it vests at once
    assert "vesting_description" not in at_once and "vesting_schedule" not in at_once
    with pytest.raises(Exception, match="vesting_description"):
        env.from_string("{{ vesting_description }}").render(at_once)
    units = grant_context(grant(award_type="stock_unit", exercise_price=Decimal(0)), plan)
    assert "final_exercise_date" not in units and "exercise_price" not in units
    monthly = grant_context(grant(vesting_schedule="monthly"), plan)  # no description given
    assert monthly["vesting_description"] == (
        "in 48 installments, one every 1 month from the vesting commencement date, none "
        "before 12 months"
    )


def test_a_kind_of_award_may_have_its_own_default_schedule(tmp_path: Path) -> None:
    plan = plan_with(
        tmp_path,
        VESTING.replace(
            'default = "initial"', 'default = "initial"\ndefault_stock_unit = "meeting"'
        ),
    )
    with pytest.raises(VestingError, match="give it in vesting_date"):
        grant_vesting(grant(award_type="stock_unit"), plan)
    schedule, _ = grant_vesting(grant(), plan)
    assert schedule is not None and schedule.name == "initial"


def test_import_keeps_the_vesting_start(tmp_path: Path) -> None:
    from generator.checking.ledger import Ledger
    from generator.checking.ledgercsv import export_csv, import_csv
    from generator.checking.ledgerentry import Entry

    plan = plan_with(tmp_path)
    rec = grant(vesting_start=date(2005, 9, 30))
    _, found = grant_vesting(rec, plan)
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(plan, [Entry(rec, True, None, "t", 0, "initial", tuple(found))])
        text = export_csv(book, plan.id)
    assert ",2005-09-30,2006-09-30 3334;" in text
    with Ledger(tmp_path / "b.sqlite") as book:
        import_csv(book, plan, text)
        assert export_csv(book, plan.id) == text
