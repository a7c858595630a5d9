"""Plan rules: every rule of the plan that bears on a grant, each finding citing its section.

Per-grant rules are small functions ``rule(record, ctx) -> findings`` (:data:`RULES`); the
checks that need the whole batch (the share reserve and the non-option cap, in row order on
top of the ledger; repeated grants) are :mod:`generator.checking.batchcheck`'s, which runs
them all. Nothing stops at the first finding. Section numbers come from the plan file, so another
plan cites its own sections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from generator.checking.fields import anniversary, final_exercise_date, format_date, format_price
from generator.checking.findings import ERROR, NOTE, WARNING, Context, Finding
from generator.reading.grantrecord import GrantRecord
from generator.reading.prices import PriceTable, Quote
from generator.terms.planmodel import Plan
from generator.terms.section16 import form4_due
from generator.terms.vesting import VestingError, grant_vesting

#: A quote older than this many days before the grant date earns a warning (a gap in the file?).
STALE_QUOTE_DAYS = 5


# --- per-grant rules ---------------------------------------------------------------------


def option_award(rec: GrantRecord, plan: Plan) -> bool:
    return plan.is_option(rec.award_type)


def substitute_option(rec: GrantRecord, plan: Plan) -> bool:
    """Section 5(f) waives Sections 2 and 5 for Options granted in substitution only."""
    return rec.substitute and option_award(rec, plan)


def quote_for(rec: GrantRecord, ctx: Context) -> Quote | None:
    """The last reported sale on or before the grant date, when the stock was traded then
    (a reported price at most :data:`STALE_QUOTE_DAYS` before it) or no fair market value is
    given; None where Section 5(b)(2), the Board's fair market value, applies instead."""
    if ctx.prices is None:
        return None
    quote = ctx.prices.on_or_before(rec.grant_date)
    if quote is None:
        return None
    stale = (rec.grant_date - quote.day).days > STALE_QUOTE_DAYS
    return None if stale and rec.fair_market_value is not None else quote


def finding(
    rec: GrantRecord, rule: str, section: str, severity: str, message: str, column: str | None
) -> Finding:
    return Finding(rec.row, rec.grant_id, rule, section, severity, message, column)


def eligibility(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 2: awards go only to directors who are not employees of the Company."""
    if rec.is_employee and not substitute_option(rec, ctx.plan):
        yield finding(
            rec,
            "eligibility",
            ctx.plan.section("eligibility"),
            ERROR,
            f"{rec.participant} is marked as an employee; only directors who are not employees "
            "of the Company are Eligible Directors",
            "is_employee",
        )


def award_type(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 5(a): options are nonstatutory; the award type must be one the plan allows."""
    plan = ctx.plan
    if rec.award_type == "incentive_option":
        if not plan.incentive_options and not substitute_option(rec, plan):
            yield finding(
                rec,
                "nonstatutory",
                plan.section("nonstatutory"),
                ERROR,
                "none of the Options granted under the Plan are intended to be incentive stock "
                "options; an incentive option is refused",
                "award_type",
            )
    elif rec.award_type not in plan.award_types:
        yield finding(
            rec,
            "award-type",
            plan.section("nonstatutory"),
            ERROR,
            f"the Plan does not provide for {rec.award_type!r} awards "
            f"(it allows: {', '.join(plan.award_types)})",
            "award_type",
        )


def exercise_price(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 5(b): an Option's price is the last reported sale price on the grant date (or
    the nearest preceding day with one); only where the stock is not traded, the Board's fair
    market value."""
    plan = ctx.plan
    if not option_award(rec, plan) or substitute_option(rec, plan):
        return  # 5(b) prices Options; a substitute Option is exempt (5(f))
    traded = quote_for(rec, ctx) if plan.exercise_price == "last_sale" else None
    fair_value = plan.exercise_price == "fair_market_value" or (
        rec.fair_market_value is not None and traded is None
    )
    if fair_value:
        yield from _fair_value_price(rec, ctx)
    elif ctx.prices is not None:  # (no price file: reported once for the batch)
        yield from _last_sale_price(rec, ctx.plan, ctx.prices)


def _fair_value_price(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 5(b)(2): the price is the fair market value the Board determined; a warning
    where the price file has a sale before it (the stock may be traded after all)."""
    plan, section = ctx.plan, ctx.plan.section("exercise_price")
    if rec.fair_market_value is None:
        yield finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            "the Plan prices options at the Board-determined fair market value, and the "
            "record gives none",
            "fair_market_value",
        )
    elif rec.exercise_price != rec.fair_market_value:
        yield finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            f"exercise price {format_price(rec.exercise_price)} given; the Plan requires the "
            f"fair market value determined by the Board, {format_price(rec.fair_market_value)}",
            "exercise_price",
        )
    earlier = (
        ctx.prices.on_or_before(rec.grant_date)
        if ctx.prices is not None and plan.exercise_price == "last_sale"
        else None
    )
    if earlier is not None and rec.fair_market_value is not None:
        # a quote older than a few days: listed then, maybe still; the Board's value
        # stands in for the market's only if the stock was not traded (5(b)(2))
        yield finding(
            rec,
            "stale-price",
            section,
            WARNING,
            f"the Board's fair market value {format_price(rec.fair_market_value)} is used "
            f"because {ctx.prices.source if ctx.prices else 'the price file'} has no "
            f"price within {STALE_QUOTE_DAYS} days before the grant date; the last "
            f"reported sale was {format_price(earlier.close)} on "
            f"{format_date(earlier.day)}: confirm the stock was not traded then",
            "fair_market_value",
        )


def _last_sale_price(rec: GrantRecord, plan: Plan, prices: PriceTable) -> Iterable[Finding]:
    """Section 5(b)(1): the price is the last reported sale on the grant date, or the nearest
    preceding day with one; a warning where that day is long before the grant date."""
    section = plan.section("exercise_price")
    quote = prices.on_or_before(rec.grant_date)
    if quote is None:
        yield finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            f"no reported price on or before the grant date {format_date(rec.grant_date)} in "
            f"{prices.source}; the exercise price cannot be confirmed",
            "grant_date",
        )
        return
    when = (
        "the grant date"
        if quote.day == rec.grant_date
        else f"{format_date(quote.day)}, the nearest preceding day with a reported price"
    )
    if rec.exercise_price != quote.close:
        board = (
            "; a fair market value applies only where the stock is not traded"
            if rec.fair_market_value is not None
            else ""
        )
        yield finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            f"exercise price {format_price(rec.exercise_price)} given; the Plan requires "
            f"{format_price(quote.close)}, the last reported sale price on {when}{board}",
            "exercise_price",
        )
    if (rec.grant_date - quote.day).days > STALE_QUOTE_DAYS:
        yield finding(
            rec,
            "stale-price",
            section,
            WARNING,
            f"the nearest reported price is from {format_date(quote.day)}, "
            f"{(rec.grant_date - quote.day).days} days before the grant date: is the price "
            "file missing days?",
            "grant_date",
        )


def term(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 5(c) and Agreement 1: the option expires on the tenth anniversary."""
    plan, section = ctx.plan, ctx.plan.section("term")
    if not option_award(rec, plan):
        return  # 5(c) sets an Option's term
    final = final_exercise_date(rec, plan)
    if substitute_option(rec, plan):  # exempt from 5(c) (5(f)), but the form fixes the date
        yield from _substitute_term(rec, plan, final)
        return
    for day, column in _asked_final_dates(rec, plan):
        if day > final:
            yield finding(
                rec,
                "term",
                section,
                ERROR,
                f"asks for a Final Exercise Date of {format_date(day)}, later than "
                f"{format_date(final)}, {plan.term_years} years from the grant date",
                column,
            )
        elif day <= rec.grant_date:
            yield finding(
                rec,
                "term",
                section,
                ERROR,
                f"asks for a Final Exercise Date of {format_date(day)}, not after the grant "
                f"date {format_date(rec.grant_date)}",
                column,
            )
        elif day < final:
            yield finding(
                rec,
                "term",
                section,
                WARNING,
                f"asks for a Final Exercise Date of {format_date(day)}, but the agreement "
                f"fixes it at the {plan.term_years}-year anniversary of the grant date, "
                f"{format_date(final)}",
                column,
            )


def _asked_final_dates(rec: GrantRecord, plan: Plan) -> list[tuple[date, str]]:
    """The Final Exercise Dates a record asks for, with the column that asks: its own date,
    and the anniversary its term in years gives."""
    asked: list[tuple[date, str]] = []
    if rec.final_exercise_date is not None:
        asked.append((rec.final_exercise_date, "final_exercise_date"))
    if rec.term_years is not None:
        asked.append(
            (anniversary(rec.grant_date, rec.term_years, plan.leap_day_anniversary), "term_years")
        )
    return asked


def _substitute_term(rec: GrantRecord, plan: Plan, final: date) -> Iterable[Finding]:
    """A substitute Option may have its own term (5(f)), but the agreement form fixes the
    Final Exercise Date: a warning where the record asks for another."""
    asked_day = rec.final_exercise_date or (
        anniversary(rec.grant_date, rec.term_years, plan.leap_day_anniversary)
        if rec.term_years is not None
        else None
    )
    if asked_day is not None and asked_day != final:
        yield finding(
            rec,
            "term",
            plan.section("substitute"),
            WARNING,
            f"a substitute Option may have its own term, but it asks for a Final Exercise "
            f"Date of {format_date(asked_day)} and the agreement form fixes it at "
            f"{format_date(final)}: the documents say {format_date(final)}",
            "final_exercise_date" if rec.final_exercise_date else "term_years",
        )


def vesting(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """The grant's vesting schedule is one of the plan's, and vests within the option's term
    (Section 5(c)): a schedule that outlasts the term would leave shares that never vest."""
    plan = ctx.plan
    try:
        schedule, found = grant_vesting(rec, plan)
    except VestingError as exc:
        yield finding(rec, "vesting", plan.section("vesting"), ERROR, str(exc), exc.column)
        return
    last = found[-1].day
    early = [i for i in found if i.day < rec.grant_date]
    if early:
        yield finding(
            rec,
            "vesting",
            plan.section("vesting"),
            WARNING,
            f"{early[-1].cumulative:,} shares vest before the grant date (the vesting start is "
            f"{(rec.vesting_start or rec.grant_date).isoformat()}): is the vesting start right?",
            "vesting_start",
        )
    if option_award(rec, plan) and not substitute_option(rec, plan):
        final = final_exercise_date(rec, plan)
        if last > final:
            what = f"the schedule {schedule.name!r}" if schedule else "the grant"
            column = (
                "vesting_date"
                if schedule is not None and schedule.on_date
                else "vesting_start"
                if rec.vesting_start is not None and rec.vesting_start > rec.grant_date
                else "vesting_schedule"
            )
            yield finding(
                rec,
                "vesting",
                plan.section("term"),
                ERROR,
                f"{what} vests its last installment on {format_date(last)}, after the "
                f"option expires on {format_date(final)} ({plan.term_years} years from the "
                "grant date): those shares would never be exercisable",
                column,
            )


def plan_term(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 10(c): no award before the plan took effect or after its last grant date."""
    plan, section = ctx.plan, ctx.plan.section("plan_term")
    if rec.grant_date > plan.last_grant_date:
        yield finding(
            rec,
            "plan-term",
            section,
            ERROR,
            f"no Awards may be granted under the Plan after {format_date(plan.last_grant_date)}",
            "grant_date",
        )
    elif rec.grant_date < plan.effective_date:
        yield finding(
            rec,
            "plan-term",
            section,
            ERROR,
            f"the Plan took effect on {format_date(plan.effective_date)}; no Award before it",
            "grant_date",
        )


def _waived(plan: Plan) -> str:
    """What a substitute Option is excused from, with this plan's section numbers."""
    s = plan.section
    return (
        f"the limits on exercise price (Section {s('exercise_price')}), term (Section "
        f"{s('term')}) and incentive options (Section {s('nonstatutory')}) and eligibility "
        f"(Section {s('eligibility')})"
    )


def substitute(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 5(f): substitute Options in a merger, notwithstanding Section 5 and Section 2."""
    if not rec.substitute:
        return
    if not option_award(rec, ctx.plan):
        yield finding(
            rec,
            "substitute",
            ctx.plan.section("substitute"),
            ERROR,
            f"only Options may be granted in substitution; a {rec.award_type!r} award gets no "
            f"waiver of {_waived(ctx.plan)}",
            "substitute",
        )
        return
    yield finding(
        rec,
        "substitute",
        ctx.plan.section("substitute"),
        NOTE,
        f"substitute option: {_waived(ctx.plan)} are waived for it",
        "substitute",
    )


def consent_date(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """The Board grants on the day it consents, never before: a grant dated before the
    consent's stated date would be backdated."""
    if ctx.consent_date is not None and rec.grant_date < ctx.consent_date:
        yield finding(
            rec,
            "consent-date",
            ctx.plan.section("nonstatutory"),
            ERROR,
            f"the grant date {format_date(rec.grant_date)} is before the Board consent's date "
            f"{format_date(ctx.consent_date)} (--consent-date): the Board cannot grant an award "
            "dated before it acts; date the grant on or after the consent",
            "grant_date",
        )


def form4_deadline(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 16(a): a reporting person's grant is reported on Form 4 by the second business
    day after the grant date; a batch made after that is late."""
    if ctx.plan.section16 is None or ctx.today is None:
        return
    due = form4_due(rec.grant_date)
    if ctx.today > due:
        yield finding(
            rec,
            "form4-late",
            "Exchange Act 16(a)",
            WARNING,
            f"the Form 4 reporting this grant was due {format_date(due)}, the second business "
            f"day after the grant date {format_date(rec.grant_date)}: it is late already (file "
            "it at once; late filings are disclosed in the proxy statement)",
            "grant_date",
        )


RULES: tuple[Callable[[GrantRecord, Context], Iterable[Finding]], ...] = (
    eligibility,
    award_type,
    exercise_price,
    term,
    vesting,
    plan_term,
    substitute,
    consent_date,
    form4_deadline,
)
