"""Plan files: the bundled plan loads; a missing or ill-typed term is rejected by key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.core.errors import PlanError
from generator.core.resources import default_plan
from generator.terms.plan import load_plan


def test_bundled_plan_has_the_company_identity() -> None:
    plan = load_plan()
    assert plan.company.name == "Art Technology Group, Inc."
    assert plan.company.state == "Delaware"
    assert plan.name == "Amended and Restated 1999 Outside Director Stock Option Plan"
    assert plan.company.officer.name and plan.company.officer.title


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('state = "Delaware"\n', "", "company.state"),
        ('state = "Delaware"', "state = 7", "company.state"),
        (
            'short_name = "1999 Outside Director Stock Option Plan"',
            'short_name = "  "',
            "plan.short_name",
        ),
        ("[company.officer]", "[company.signer]", "company.officer"),
        ("reserve = 800000", 'reserve = "800,000"', "shares.reserve"),
        ("reserve = 800000", "reserve = true", "shares.reserve"),
        ("last_grant_date = 2013-12-31", 'last_grant_date = "2013-12-31"', "plan.last_grant_date"),
        (
            'leap_day_anniversary = "feb28"',
            'leap_day_anniversary = "feb29"',
            "options.leap_day_anniversary",
        ),
        ('exercise_price = "last_sale"', 'exercise_price = "whatever"', "options.exercise_price"),
        ('eligibility = "2"\n', "", "sections.eligibility"),
        (
            "restatement_approved = true",
            'restatement_approved = "yes"',
            "plan.restatement_approved",
        ),
        ('option_types = ["option"]', 'option_types = ["warrant"]', "awards.option_types"),
        ("term_years = 10", "term_years = 0", "options.term_years"),
        ("term_years = 10", "term_years = 8000", "options.term_years"),
        # a key nothing reads: a misspelling, or a term grantgen cannot apply
        ("last_grant_date = 2013-12-31", "last_grant_dat = 2013-12-31", "plan.last_grant_date"),
        (
            "reserve = 800000",
            "reserve = 800000\nper_director_cap = 25000",
            "shares.per_director_cap",
        ),
        ("[sections]", "[vesting]\nschedule = 'monthly'\n\n[sections]", "vesting.schedule"),
        ("approved_by =", "vesting = 4\napproved_by =", "amendments[0].vesting"),
        # kinds of award
        ('types = ["option",', 'types = ["option", "stock_appreciation_right",', "awards.types"),
        ('types = ["option",', 'types = ["option", "option",', "awards.types"),
        ('option_types = ["option"]', 'option_types = ["restricted_stock"]', "awards.option_types"),
        ("incentive_options = false", "incentive_options = true", "awards.incentive_options"),
        (
            'types = ["option",',
            'types = ["option", "incentive_option",',
            "awards.incentive_options",
        ),
        # amendments and numbers that contradict the plan
        ("date = 2005-02-03", "date = 1990-01-01", "amendments[0].date"),
        (
            "[[amendments]]",
            "[[amendments]]\nnumber = 1\ndate = 2006-01-01\napproved_by = 'Board'\n"
            "summary = 'again'\n\n[[amendments]]",
            "amendments[1].number",
        ),
        ("non_option_cap = 100000", "non_option_cap = 900000", "shares.non_option_cap"),
        # text a document or the ledger would carry
        (
            'name = "Art Technology Group, Inc."',
            'name = "Art Technology\\fGroup, Inc."',
            "company.name",
        ),
        ('id = "atg-1999"', 'id = "atg/../1999"', "plan.id"),
    ],
)
def test_missing_or_ill_typed_terms_are_named(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = default_plan().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PlanError, match=f"key '{re.escape(key)}'"):
        load_plan(path)


def test_unreadable_plan_files(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[plan\nname=", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(bad)


def test_bundled_plan_terms_match_the_form() -> None:
    plan = load_plan()
    assert (plan.reserve, plan.non_option_cap, plan.term_years) == (800000, 100000, 10)
    assert str(plan.last_grant_date) == "2013-12-31"
    assert plan.post_service_exercise_years == 1 and not plan.incentive_options
    assert plan.sections["reserve"] == "4(a)" and plan.sections["plan_term"] == "10(c)"
    assert [(a.number, str(a.date)) for a in plan.amendments] == [(1, "2005-02-03")]


AMENDED = """
[[amendments]]
number = 2
date = 2010-03-01
approved_by = "Stockholders"
summary = "Section 4(a): reserve raised to 1,000,000 shares"
reserve = 1000000

[[amendments]]
number = 3
date = 2012-06-15
approved_by = "Stockholders"
summary = "Section 4(a) and 4(b): reserve 1,200,000, non-option cap 50,000"
reserve = 1200000
non_option_cap = 50000
"""


def amended_plan(tmp_path: Path, extra: str = AMENDED) -> Path:
    path = tmp_path / "amended.toml"
    path.write_text(default_plan().read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def test_amendments_change_the_share_figures_from_their_date(tmp_path: Path) -> None:
    from datetime import date, timedelta

    plan = load_plan(amended_plan(tmp_path))
    assert (plan.reserve, plan.non_option_cap) == (1_200_000, 50_000)  # in force now
    first, second = date(2010, 3, 1), date(2012, 6, 15)
    assert plan.reserve_on(first - timedelta(days=1)) == 800_000
    assert plan.reserve_on(first) == 1_000_000
    assert plan.reserve_on(second - timedelta(days=1)) == 1_000_000
    assert plan.reserve_on(second) == 1_200_000
    assert plan.non_option_cap_on(second - timedelta(days=1)) == 100_000
    assert plan.non_option_cap_on(second) == 50_000
    unamended = load_plan()
    assert unamended.reserve_on(date(2013, 1, 1)) == unamended.reserve == 800_000


def test_an_amendment_that_makes_the_cap_exceed_the_reserve_is_refused(tmp_path: Path) -> None:
    bad = AMENDED.replace("non_option_cap = 50000", "non_option_cap = 5000000")
    with pytest.raises(PlanError, match=r"key 'amendments'.*from 2012-06-15"):
        load_plan(amended_plan(tmp_path, bad))


def test_the_reserve_in_force_on_the_grant_date_is_checked(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import date
    from decimal import Decimal

    from generator.checking.batchcheck import check
    from generator.checking.ledger import Ledger
    from generator.checking.ledgerentry import Entry
    from generator.reading.grantrecord import GrantRecord

    plan = load_plan(amended_plan(tmp_path))

    def rec(row: int, day: date, shares: int) -> GrantRecord:
        return GrantRecord(row, f"A-{row}", f"Person {row}", day, shares, Decimal("1"))

    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(plan, [Entry(rec(1, date(2009, 1, 5), 700_000), True, None, "test")])
        pool = book.pool(plan)
        day_before, on_the_day = (
            rec(2, date(2010, 2, 28), 200_000),
            rec(3, date(2010, 3, 1), 200_000),
        )
        errors = {
            f.row: f.message
            for f in check([day_before, on_the_day], plan, None, pool).findings
            if f.rule == "reserve"
        }
        assert list(errors) == [2] and "100,000 of the 800,000 reserved on 2010-02-28" in errors[2]
        # the ledger applies the same figures when it records
        got = book.record(plan, [Entry(r, True, None, "test") for r in (day_before, on_the_day)])
        assert got.added == ["A-3"] and "A-2" in got.refused
        # a later split scales the amended figures too
        assert pool.reserve_on(plan, date(2013, 1, 1)) == 1_200_000
        assert replace(pool, ratio=pool.ratio * 2).reserve_on(plan, date(2013, 1, 1)) == 2_400_000


def test_a_misspelt_key_is_named_with_the_one_missing(tmp_path: Path) -> None:
    text = default_plan().read_text(encoding="utf-8")
    path = tmp_path / "plan.toml"
    path.write_text(text.replace("last_grant_date =", "last_grant_dat ="), encoding="utf-8")
    with pytest.raises(PlanError, match=r"'plan.last_grant_date'.*'plan.last_grant_dat' a miss"):
        load_plan(path)


def test_on_one_date_the_later_amendment_wins(tmp_path: Path) -> None:
    from datetime import date

    again = (
        AMENDED
        + """
[[amendments]]
number = 4
date = 2010-03-01
approved_by = "Stockholders"
summary = "Corrects Amendment No. 2: 900,000"
reserve = 900000
"""
    )
    plan = load_plan(amended_plan(tmp_path, again))
    assert plan.reserve_on(date(2011, 1, 1)) == 900_000
