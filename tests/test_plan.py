"""Plan files: the bundled plan loads; a missing or ill-typed term is rejected by key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.errors import PlanError
from generator.plan import load_plan
from generator.resources import default_plan


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
        ("[sections]", "[vesting]\nschedule = 'monthly'\n\n[sections]", "vesting"),
        ("approved_by =", "reserve = 900000\napproved_by =", "amendments[0].reserve"),
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
