"""Each plan rule with a grant that passes and one that fails, at its boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.checking.batchcheck import check
from generator.checking.fields import anniversary
from generator.checking.findings import ERROR, NOTE, WARNING
from generator.checking.pool import Pool
from generator.reading.grantrecord import GrantRecord
from generator.reading.prices import PriceTable
from generator.terms.plan import load_plan

PLAN = replace(
    load_plan(), samples={}, directors=("A. Director",)
)  # the rules on the grants: the plan's samples aside
# Invented prices: Friday 2005-05-20 closes at 3.31; nothing on the weekend; Memorial Day gap.
PRICES = PriceTable(
    {
        date(2005, 5, 19): Decimal("3.29"),
        date(2005, 5, 20): Decimal("3.31"),
        date(2005, 5, 23): Decimal("3.30"),
        date(2005, 5, 27): Decimal("3.35"),
        date(2005, 5, 31): Decimal("3.38"),
        date(2013, 12, 31): Decimal("10.00"),
        date(2014, 1, 2): Decimal("10.10"),
        date(2004, 2, 27): Decimal("4.00"),
    },
    "test-prices",
)


def rec(row: int = 2, **kw: object) -> GrantRecord:
    base = GrantRecord(
        row=row,
        grant_id=f"G-{row}",
        participant=f"Director {row}",
        grant_date=date(2005, 5, 20),
        shares=15000,
        exercise_price=Decimal("3.31"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def empty_pool(**kw: int) -> Pool:
    values = {"reserve": PLAN.reserve, "used": 0, "non_option_cap": PLAN.non_option_cap}
    values.update(kw)
    return Pool(
        reserve=values["reserve"],
        used=values["used"],
        non_option_cap=values["non_option_cap"],
        non_option_used=values.get("non_option_used", 0),
    )


def findings(*records: GrantRecord, pool: Pool | None = None, prices: PriceTable | None = PRICES):
    """The findings about the grants (the bundled plan's own sample values aside)."""
    found = check(list(records), PLAN, prices, pool or empty_pool()).findings
    return [f for f in found if f.rule != "sample-value"]


def rules_of(
    *records: GrantRecord, severity: str = ERROR, **kw: object
) -> list[tuple[int | None, str]]:
    return [(f.row, f.rule) for f in findings(*records, **kw) if f.severity == severity]  # type: ignore[arg-type]


def test_a_clean_grant_has_no_findings() -> None:
    assert findings(rec()) == []


def test_section_2_employee_is_refused_and_cited() -> None:
    (f,) = findings(rec(is_employee=True))
    assert (f.rule, f.section, f.severity, f.column) == ("eligibility", "2", ERROR, "is_employee")
    assert "Plan Section 2" in str(f)


def test_section_4a_reserve_boundary_exactly_full_passes_one_more_fails() -> None:
    pool = empty_pool(used=PLAN.reserve - 15000)
    assert rules_of(rec(shares=15000), pool=pool) == []
    (f,) = findings(rec(shares=15001), pool=pool)
    assert (f.rule, f.section) == ("reserve", "4(a)")
    assert "15,000 of the 800,000 reserved remain" in f.message


def test_section_4a_counts_the_batch_in_row_order_and_flags_the_first_overflow() -> None:
    pool = empty_pool(used=PLAN.reserve - 25000)
    batch = [rec(2, shares=10000), rec(3, shares=10000), rec(4, shares=10000), rec(5, shares=5000)]
    assert rules_of(*batch, pool=pool) == [
        (4, "reserve")
    ]  # row 5 still fits after row 4 is refused
    report = check(batch, PLAN, PRICES, pool)
    assert report.batch_shares == 25000
    assert "5,000 of the 800,000 reserved remain" in next(f.message for f in report.findings)


def test_refused_grants_do_not_use_the_reserve() -> None:
    pool = empty_pool(used=PLAN.reserve - 15000)
    assert rules_of(rec(2, is_employee=True), rec(3)) == [(2, "eligibility")]
    assert rules_of(rec(2, is_employee=True), rec(3), pool=pool) == [(2, "eligibility")]


def test_section_4b_cap_on_awards_other_than_options() -> None:
    pool = empty_pool(non_option_used=PLAN.non_option_cap - 1000)
    ok = rec(award_type="restricted_stock", shares=1000)
    assert rules_of(ok, pool=pool) == []
    assert rules_of(replace(ok, shares=1001), pool=pool) == [(2, "non-option-cap")]
    # options do not count against the 4(b) cap
    assert rules_of(rec(shares=50000), pool=pool) == []


def test_a_grant_made_before_a_recorded_split_counts_in_post_split_shares(
    tmp_path: Path,
) -> None:
    """Section 8: a grant dated before a split the ledger records is in pre-split shares; it
    takes its adjusted shares from the adjusted reserve, as the ledger will record it."""
    from generator.checking.ledger import Ledger
    from generator.checking.ledgerentry import Entry

    with Ledger(tmp_path / "l.sqlite") as book:
        book.adjust(PLAN, 3, 2, date(2007, 1, 1), today=date(2026, 1, 1))
        filler = rec(9, grant_id="FILL", grant_date=date(2008, 1, 2), shares=1_200_000 - 1500)
        book.record(PLAN, [Entry(filler, True, None, "test")])
        pool = book.pool(PLAN)
    assert (pool.reserve, pool.available) == (1_200_000, 1500)
    fits = rec(2, shares=1000)  # 1,500 in today's shares: exactly what is left
    report = check([fits], PLAN, PRICES, pool)
    assert report.batch_shares == 1500
    (note,) = report.findings
    assert (note.rule, note.section, note.severity, note.column) == (
        "split-adjusted",
        "8",
        NOTE,
        "grant_date",
    )
    assert "before the 3:2 split of 2007-01-01" in note.message
    assert "1,000 shares at $3.31 are 1,500 at $2.21" in note.message
    (over,) = [f for f in findings(rec(2, shares=1001), pool=pool) if f.severity == ERROR]
    assert over.rule == "reserve"
    assert "1,001 shares (1,501 after the 3:2 split of 2007-01-01) exceed" in over.message
    # a grant on or after the split's date is in post-split shares already
    after = rec(2, grant_date=date(2007, 1, 1), shares=1500)
    assert check([after], PLAN, None, pool).batch_shares == 1500
    assert not [f for f in findings(after, pool=pool, prices=None) if f.row is not None]
    # and the cap on awards other than options counts them the same way
    stock = rec(2, award_type="restricted_stock", shares=1000)
    report = check([stock], PLAN, None, replace(pool, used=0, non_option_used=150_000 - 1499))
    assert [f.rule for f in report.findings if f.severity == ERROR] == ["non-option-cap"]


def test_section_5a_incentive_option_is_refused() -> None:
    (f,) = findings(rec(award_type="incentive_option"))
    assert (f.rule, f.section) == ("nonstatutory", "5(a)")


def test_section_5b_price_on_the_grant_date() -> None:
    assert rules_of(rec(exercise_price=Decimal("3.3100"))) == []
    (f,) = findings(rec(exercise_price=Decimal("3.30")))
    assert (f.rule, f.section, f.column) == ("exercise-price", "5(b)", "exercise_price")
    assert "$3.30 given" in f.message and "$3.31" in f.message and "the grant date" in f.message


def test_section_5b_saturday_grant_priced_at_fridays_close_passes() -> None:
    saturday = date(2005, 5, 21)
    assert saturday.weekday() == 5
    assert rules_of(rec(grant_date=saturday, exercise_price=Decimal("3.31"))) == []
    (f,) = findings(rec(grant_date=saturday, exercise_price=Decimal("3.30")))
    assert "May 20, 2005, the nearest preceding day" in f.message
    report = check([rec(grant_date=saturday)], PLAN, PRICES, empty_pool())
    assert report.facts[2].price_day == date(2005, 5, 20)
    assert "nearest preceding day 2005-05-20" in report.facts[2].price_source


def test_section_5b_holiday_gap_uses_the_day_before() -> None:
    memorial_day = date(2005, 5, 30)
    assert rules_of(rec(grant_date=memorial_day, exercise_price=Decimal("3.35"))) == []


def test_section_5b_no_price_on_or_before_is_an_error_not_a_guess() -> None:
    early = rec(grant_date=date(2004, 1, 5), exercise_price=Decimal("4.00"))
    (f,) = findings(early)
    assert f.rule == "exercise-price" and "no reported price on or before" in f.message


def test_section_5b_stale_price_is_a_warning() -> None:
    late = rec(grant_date=date(2005, 5, 27) + timedelta(days=10), exercise_price=Decimal("3.38"))
    assert rules_of(late, severity=WARNING) == [(2, "stale-price")]


def test_section_5b_board_fair_market_value_when_not_traded() -> None:
    ok = rec(fair_market_value=Decimal("2.00"), exercise_price=Decimal("2.00"))
    assert rules_of(ok, prices=None) == []
    (f,) = [f for f in findings(replace(ok, exercise_price=Decimal("2.50")), prices=None) if f.row]
    assert f.rule == "exercise-price" and "$2.00" in f.message
    # no price file: whether the stock was traded is not known, and the batch says so
    assert rules_of(ok, prices=None, severity=WARNING) == [(None, "exercise-price")]
    # not traded: no reported price on or near the grant date (the last one is months before)
    quiet = PriceTable({date(2005, 1, 3): Decimal("3.00")}, source="p.csv")
    assert rules_of(ok, prices=quiet) == []
    # but the file shows it was listed once: the fair market value is used with a warning
    (f,) = findings(ok, prices=quiet)
    assert (f.rule, f.severity, f.column) == ("stale-price", WARNING, "fair_market_value")
    assert "$2.00" in f.message and "$3.00" in f.message and "January 3, 2005" in f.message
    # a file whose prices all come after the grant: not listed yet, nothing to confirm
    listed_later = PriceTable({date(2006, 1, 3): Decimal("3.00")}, source="p.csv")
    assert findings(ok, prices=listed_later) == []
    assert check([ok], PLAN, quiet, empty_pool()).facts[2].price_source.startswith("fair market")


def test_section_5b_a_fair_market_value_does_not_replace_the_traded_price() -> None:
    """5(b)(2) applies only where the stock is not traded: a price file with the day's sale
    price wins over a fair market value column."""
    low = rec(fair_market_value=Decimal("1.00"), exercise_price=Decimal("1.00"))
    (f,) = findings(low)
    assert (f.rule, f.section, f.column) == ("exercise-price", "5(b)", "exercise_price")
    assert "$3.31" in f.message and "only where the stock is not traded" in f.message
    assert rules_of(replace(low, exercise_price=Decimal("3.31"))) == []


def test_section_5c_a_final_date_not_after_the_grant_is_refused() -> None:
    assert rules_of(rec(final_exercise_date=date(2005, 5, 20))) == [(2, "term")]
    (f,) = findings(rec(final_exercise_date=date(2010, 5, 20)))
    assert f.severity == WARNING and "10-year anniversary of the grant date" in f.message


def test_section_5b_and_5c_apply_to_options_only() -> None:
    stock = rec(award_type="restricted_stock", exercise_price=Decimal("0.01"), term_years=20)
    assert rules_of(stock) == []


def test_no_price_file_is_one_batch_warning() -> None:
    got = findings(rec(2), rec(3), prices=None)
    assert [(f.row, f.rule, f.severity) for f in got] == [(None, "exercise-price", WARNING)]


def test_section_5c_longer_term_is_refused_and_final_exercise_date_computed() -> None:
    report = check([rec()], PLAN, PRICES, empty_pool())
    assert report.facts[2].final_exercise_date == date(2015, 5, 20)
    assert rules_of(rec(final_exercise_date=date(2015, 5, 20))) == []
    (f,) = findings(rec(final_exercise_date=date(2015, 5, 21)))
    assert (f.rule, f.section) == ("term", "5(c), Agreement 1")
    assert rules_of(rec(term_years=11)) == [(2, "term")]
    assert rules_of(rec(term_years=5), severity=WARNING) == [(2, "term")]


def test_leap_day_anniversary_is_configurable() -> None:
    assert anniversary(date(2004, 2, 29), 10) == date(2014, 2, 28)
    assert anniversary(date(2004, 2, 29), 10, "mar1") == date(2014, 3, 1)
    assert anniversary(date(2004, 2, 29), 8) == date(2012, 2, 29)


def test_section_10c_last_grant_date_boundary() -> None:
    last = rec(grant_date=date(2013, 12, 31), exercise_price=Decimal("10.00"))
    assert rules_of(last) == []
    after = rec(grant_date=date(2014, 1, 1), exercise_price=Decimal("10.00"))
    (f,) = findings(after)
    assert (f.rule, f.section, f.column) == ("plan-term", "10(c)", "grant_date")


def test_section_10c_before_the_plan_took_effect() -> None:
    before = rec(
        grant_date=PLAN.effective_date - timedelta(days=1),
        fair_market_value=Decimal("1"),
        exercise_price=Decimal("1"),
    )
    assert rules_of(before) == [(2, "plan-term")]


def test_section_5f_substitute_waives_sections_2_and_5_with_a_note() -> None:
    sub = rec(
        substitute=True,
        is_employee=True,
        exercise_price=Decimal("0.50"),
        term_years=12,
        award_type="incentive_option",
    )
    got = findings(sub)
    assert [(f.rule, f.severity, f.section) for f in got] == [
        ("term", WARNING, "5(f)"),  # 12 years asked; the form documents ten: said
        ("substitute", NOTE, "5(f)"),
    ]
    assert "the documents say May 20, 2015" in got[0].message
    plain = replace(sub, term_years=None)
    assert [(f.rule, f.severity) for f in findings(plain)] == [("substitute", NOTE)]
    # 10(c) and 4(a) still apply to substitutes
    assert rules_of(replace(sub, grant_date=date(2014, 1, 2))) == [(2, "plan-term")]
    # only Options are granted in substitution: restricted stock to an employee is refused
    stock = replace(sub, award_type="restricted_stock", term_years=None)
    assert rules_of(stock) == [(2, "eligibility"), (2, "substitute")]


def test_substitute_messages_cite_this_plans_sections() -> None:
    renumbered = replace(
        PLAN,
        sections=dict(
            PLAN.sections,
            eligibility="3.1",
            exercise_price="6.2",
            term="6.3",
            nonstatutory="6.1",
            substitute="6.9",
        ),
    )
    sub = rec(substitute=True, is_employee=True, exercise_price=Decimal("0.50"))
    both = [sub, replace(sub, row=3, award_type="restricted_stock")]
    report = check(both, renumbered, PRICES, empty_pool())
    text = " ".join(f.message for f in report.findings)
    for cited in ("Section 3.1", "Section 6.2", "Section 6.3", "Section 6.1"):
        assert text.count(cited) == 2, cited
    assert "Section 2" not in text and "Section 5" not in text
    assert report.facts[2].price_source == "substitute option (Section 6.9)"


def test_generate_refuses_an_incentive_option_the_nonstatutory_form_cannot_document(
    tmp_path: Path,
) -> None:
    from generator.core.resources import default_plan
    from generator.pipeline import check_batch

    text = default_plan().read_text(encoding="utf-8")
    text = text.replace('types = ["option",', 'types = ["option", "incentive_option",')
    text = text.replace(
        'option_types = ["option"]', 'option_types = ["option", "incentive_option"]'
    )
    text = text.replace("incentive_options = false", "incentive_options = true")
    plan = tmp_path / "iso.toml"
    plan.write_text(text, encoding="utf-8")
    grants = tmp_path / "g.csv"
    grants.write_text(
        "grant_id,participant,grant_date,shares,exercise_price,award_type\n"
        "I-1,Ann Lee,2005-05-16,1000,3.25,incentive_option\n"
        "N-1,Bo Chan,2005-05-16,1000,3.25,option\n",
        encoding="utf-8",
    )
    checked = check_batch(grants, plan, documents=True)
    errors = [(f.row, f.rule, f.section) for f in checked.report.findings if f.severity == ERROR]
    assert errors == [(2, "agreement-form", "—")]
    assert not check_batch(grants, plan).report.refused_rows  # the rules alone allow it


def test_repeated_participant_on_same_date_warns() -> None:
    got = rules_of(rec(2), rec(3, participant="director  2"), severity=WARNING)
    assert got == [(3, "repeat-grant")]
    composed, decomposed = "Jos\u00e9 N\u00fa\u00f1ez", "Jose\u0301 Nu\u0301n\u0303ez"
    got = rules_of(rec(2, participant=composed), rec(3, participant=decomposed), severity=WARNING)
    assert got == [(3, "repeat-grant")]


def test_ledger_conflicts_and_already_recorded() -> None:
    from generator.checking.pool import terms_hash

    pool = Pool(PLAN.reserve, 15000, PLAN.non_option_cap, 0, known={"G-2": terms_hash(rec())})
    got = findings(rec(), pool=pool)
    assert [(f.rule, f.severity) for f in got] == [("already-recorded", NOTE)]
    assert check([rec()], PLAN, PRICES, pool).batch_shares == 0
    assert rules_of(rec(shares=1), pool=pool) == [(2, "ledger-conflict")]


def test_plan_sections_come_from_the_plan_file(tmp_path: Path) -> None:
    from generator.terms.plan import load_plan as load

    text = (
        Path(PLAN.source)
        .read_text(encoding="utf-8")
        .replace('eligibility = "2"', 'eligibility = "3.1"')
    )
    other = tmp_path / "other.toml"
    other.write_text(text, encoding="utf-8")
    found = check([rec(is_employee=True)], load(other), PRICES, empty_pool()).findings
    (f,) = [f for f in found if f.rule not in ("sample-value", "board-directors")]
    assert f.section == "3.1"


@given(
    st.dates(min_value=date(1999, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(["feb28", "mar1"]),
)
def test_final_exercise_date_is_never_later_than_ten_years(day: date, rule: str) -> None:
    final = anniversary(day, 10, rule)
    try:
        exact = day.replace(year=day.year + 10)
    except ValueError:  # February 29: ten years on is the day after February 28
        exact = date(day.year + 10, 3, 1)
    assert exact - timedelta(days=1) <= final <= exact
    if (day.month, day.day) != (2, 29):
        assert final == exact


@pytest.mark.parametrize("severity", [ERROR, WARNING, NOTE])
def test_findings_render_with_row_rule_and_section(severity: str) -> None:
    from generator.checking.findings import Finding

    f = Finding(7, "G-7", "reserve", "4(a)", severity, "too many shares", "shares")
    assert str(f) == "row 7, column shares: too many shares [reserve, Plan Section 4(a)]"
    assert f.as_dict()["section"] == "4(a)" and f.as_dict()["row"] == 7
