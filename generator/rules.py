"""Plan rules: every rule of the plan that bears on a grant, each finding citing its section.

Per-grant rules are small functions ``rule(record, ctx) -> findings``; the rules that need
the whole batch (the share reserve and the non-option cap, in row order on top of the ledger;
repeated grants) run after them. Nothing stops at the first finding: :func:`check` reports
them all. Section numbers come from the plan file, so another plan cites its own sections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from .errors import RecordError
from .fields import anniversary, final_exercise_date, format_date, format_price
from .grantrecord import GrantRecord
from .ledgerhistory import grant_date_shortfall
from .planmodel import Plan, samples_accepted
from .pool import Pool, other_terms, participant_key, terms_hash
from .prices import PriceTable, Quote
from .section16 import form4_due
from .splits import Award, split_names
from .values import shares_exceed
from .vesting import Installment, VestingError, grant_vesting

ERROR = "error"
WARNING = "warning"
NOTE = "note"
#: A quote older than this many days before the grant date earns a warning (a gap in the file?).
STALE_QUOTE_DAYS = 5


@dataclass(frozen=True)
class Finding:
    """What one rule found about one grant (or, with ``row`` None, about the whole batch)."""

    row: int | None
    """Spreadsheet row of the grant (header = 1); None for a batch-level finding."""
    grant_id: str | None
    """The grant's id."""
    rule: str
    """Short rule name, e.g. ``eligibility``."""
    section: str
    """The plan (or agreement) section the rule comes from, e.g. ``2`` or ``5(a)``."""
    severity: str
    """``error`` (no documents for the grant), ``warning`` or ``note``."""
    message: str
    """What is wrong, in a sentence."""
    column: str | None = None
    """The column the finding is about, when there is one."""

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "grant_id": self.grant_id,
            "rule": self.rule,
            "section": self.section,
            "severity": self.severity,
            "message": str(self),
        }

    def __str__(self) -> str:
        where = "batch" if self.row is None else f"row {self.row}"
        if self.column:
            where += f", column {self.column}"
        cite = f"Plan Section {self.section}" if self.section[:1].isdigit() else self.section
        return f"{where}: {self.message} [{self.rule}, {cite}]"


@dataclass(frozen=True)
class Facts:
    """What the rules worked out for a grant: shown in the manifest and reports."""

    final_exercise_date: date
    """Section 5(c): the tenth anniversary of the grant date (or the plan's term)."""
    expected_price: Decimal | None = None
    """Section 5(b): the exercise price the plan requires, when it could be worked out."""
    price_day: date | None = None
    """The day the expected price was reported."""
    price_source: str = "not checked"
    """Where the expected price came from, in words."""
    schedule: str | None = None
    """The name of the grant's vesting schedule (None: it vests at once)."""
    vesting: tuple[Installment, ...] = ()
    """Its installments (empty when they could not be worked out: a finding says why)."""


@dataclass
class Report:
    """Every finding for a batch, the facts per grant and the share pool before and after."""

    findings: list[Finding] = field(default_factory=list)
    facts: dict[int, Facts] = field(default_factory=dict)
    pool: Pool | None = None
    batch_shares: int = 0
    """Shares this batch adds to the ledger (grants without errors, not already recorded)."""

    @property
    def refused_rows(self) -> set[int]:
        return {f.row for f in self.findings if f.severity == ERROR and f.row is not None}

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def by_row(self) -> dict[int | None, list[Finding]]:
        """The findings of each row, in order (None: those about the file or the batch)."""
        rows: dict[int | None, list[Finding]] = {}
        for f in self.findings:
            rows.setdefault(f.row, []).append(f)
        return rows


@dataclass(frozen=True)
class Context:
    """What the per-grant rules may consult."""

    plan: Plan
    prices: PriceTable | None
    consent_date: date | None = None
    """The date of the Board's consent granting the batch (``--consent-date``), if stated."""
    today: date | None = None
    """The day the batch is checked (for deadlines that may have passed)."""


# --- per-grant rules ---------------------------------------------------------------------


def _is_option(rec: GrantRecord, plan: Plan) -> bool:
    return plan.is_option(rec.award_type)


def _substitute_option(rec: GrantRecord, plan: Plan) -> bool:
    """Section 5(f) waives Sections 2 and 5 for Options granted in substitution only."""
    return rec.substitute and _is_option(rec, plan)


def _quote(rec: GrantRecord, ctx: Context) -> Quote | None:
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


def _finding(
    rec: GrantRecord, rule: str, section: str, severity: str, message: str, column: str | None
) -> Finding:
    return Finding(rec.row, rec.grant_id, rule, section, severity, message, column)


def eligibility(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """Section 2: awards go only to directors who are not employees of the Company."""
    if rec.is_employee and not _substitute_option(rec, ctx.plan):
        yield _finding(
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
        if not plan.incentive_options and not _substitute_option(rec, plan):
            yield _finding(
                rec,
                "nonstatutory",
                plan.section("nonstatutory"),
                ERROR,
                "none of the Options granted under the Plan are intended to be incentive stock "
                "options; an incentive option is refused",
                "award_type",
            )
    elif rec.award_type not in plan.award_types:
        yield _finding(
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
    plan, section = ctx.plan, ctx.plan.section("exercise_price")
    if not _is_option(rec, plan) or _substitute_option(rec, plan):
        return  # 5(b) prices Options; a substitute Option is exempt (5(f))
    given = format_price(rec.exercise_price)
    traded = _quote(rec, ctx) if plan.exercise_price == "last_sale" else None
    fair_value = plan.exercise_price == "fair_market_value" or (
        rec.fair_market_value is not None and traded is None
    )
    if fair_value:
        if rec.fair_market_value is None:
            yield _finding(
                rec,
                "exercise-price",
                section,
                ERROR,
                "the Plan prices options at the Board-determined fair market value, and the "
                "record gives none",
                "fair_market_value",
            )
        elif rec.exercise_price != rec.fair_market_value:
            yield _finding(
                rec,
                "exercise-price",
                section,
                ERROR,
                f"exercise price {given} given; the Plan requires the fair market value "
                f"determined by the Board, {format_price(rec.fair_market_value)}",
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
            yield _finding(
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
        return
    if ctx.prices is None:
        return  # reported once for the batch
    quote = ctx.prices.on_or_before(rec.grant_date)
    if quote is None:
        yield _finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            f"no reported price on or before the grant date {format_date(rec.grant_date)} in "
            f"{ctx.prices.source}; the exercise price cannot be confirmed",
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
        yield _finding(
            rec,
            "exercise-price",
            section,
            ERROR,
            f"exercise price {given} given; the Plan requires {format_price(quote.close)}, the "
            f"last reported sale price on {when}{board}",
            "exercise_price",
        )
    if (rec.grant_date - quote.day).days > STALE_QUOTE_DAYS:
        yield _finding(
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
    if not _is_option(rec, plan):
        return  # 5(c) sets an Option's term
    final = final_exercise_date(rec, plan)
    if _substitute_option(rec, plan):  # exempt from 5(c) (5(f)), but the form fixes the date
        asked_day = rec.final_exercise_date or (
            anniversary(rec.grant_date, rec.term_years, plan.leap_day_anniversary)
            if rec.term_years is not None
            else None
        )
        if asked_day is not None and asked_day != final:
            yield _finding(
                rec,
                "term",
                plan.section("substitute"),
                WARNING,
                f"a substitute Option may have its own term, but it asks for a Final Exercise "
                f"Date of {format_date(asked_day)} and the agreement form fixes it at "
                f"{format_date(final)}: the documents say {format_date(final)}",
                "final_exercise_date" if rec.final_exercise_date else "term_years",
            )
        return
    asked: list[tuple[date, str]] = []
    if rec.final_exercise_date is not None:
        asked.append((rec.final_exercise_date, "final_exercise_date"))
    if rec.term_years is not None:
        asked.append(
            (anniversary(rec.grant_date, rec.term_years, plan.leap_day_anniversary), "term_years")
        )
    for day, column in asked:
        if day > final:
            yield _finding(
                rec,
                "term",
                section,
                ERROR,
                f"asks for a Final Exercise Date of {format_date(day)}, later than "
                f"{format_date(final)}, {plan.term_years} years from the grant date",
                column,
            )
        elif day <= rec.grant_date:
            yield _finding(
                rec,
                "term",
                section,
                ERROR,
                f"asks for a Final Exercise Date of {format_date(day)}, not after the grant "
                f"date {format_date(rec.grant_date)}",
                column,
            )
        elif day < final:
            yield _finding(
                rec,
                "term",
                section,
                WARNING,
                f"asks for a Final Exercise Date of {format_date(day)}, but the agreement "
                f"fixes it at the {plan.term_years}-year anniversary of the grant date, "
                f"{format_date(final)}",
                column,
            )


def vesting(rec: GrantRecord, ctx: Context) -> Iterable[Finding]:
    """The grant's vesting schedule is one of the plan's, and vests within the option's term
    (Section 5(c)): a schedule that outlasts the term would leave shares that never vest."""
    plan = ctx.plan
    try:
        schedule, found = grant_vesting(rec, plan)
    except VestingError as exc:
        yield _finding(rec, "vesting", plan.section("vesting"), ERROR, str(exc), exc.column)
        return
    last = found[-1].day
    early = [i for i in found if i.day < rec.grant_date]
    if early:
        yield _finding(
            rec,
            "vesting",
            plan.section("vesting"),
            WARNING,
            f"{early[-1].cumulative:,} shares vest before the grant date (the vesting start is "
            f"{(rec.vesting_start or rec.grant_date).isoformat()}): is the vesting start right?",
            "vesting_start",
        )
    if _is_option(rec, plan) and not _substitute_option(rec, plan):
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
            yield _finding(
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
        yield _finding(
            rec,
            "plan-term",
            section,
            ERROR,
            f"no Awards may be granted under the Plan after {format_date(plan.last_grant_date)}",
            "grant_date",
        )
    elif rec.grant_date < plan.effective_date:
        yield _finding(
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
    if not _is_option(rec, ctx.plan):
        yield _finding(
            rec,
            "substitute",
            ctx.plan.section("substitute"),
            ERROR,
            f"only Options may be granted in substitution; a {rec.award_type!r} award gets no "
            f"waiver of {_waived(ctx.plan)}",
            "substitute",
        )
        return
    yield _finding(
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
        yield _finding(
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
        yield _finding(
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


# --- the batch ---------------------------------------------------------------------------


def parse_findings(errors: Iterable[RecordError], plan: Plan) -> list[Finding]:
    """Row/column errors from reading the file, as findings (whole shares cite Agreement 3(a))."""
    out = []
    for e in errors:
        section = plan.section("whole_shares") if e.rule == "whole-shares" else "input"
        out.append(Finding(e.row, e.grant_id, e.rule, section, ERROR, _strip(str(e)), e.column))
    return out


def _strip(text: str) -> str:
    # RecordError's text starts with "row N, column C: "; Finding adds its own
    return text.split(": ", 1)[1] if text.startswith("row ") and ": " in text else text


def check(
    records: Sequence[GrantRecord],
    plan: Plan,
    prices: PriceTable | None,
    pool: Pool,
    more: Callable[[Report], Iterable[Finding]] | None = None,
    *,
    consent: date | None = None,
) -> Report:
    """Every finding of every rule for every grant, plus the reserve and cap in row order.
    ``more``: further refusals (given the report so far), made before the reserve is counted,
    so a grant refused by them does not use up shares the ledger would never record.
    ``consent``: the Board consent's stated date; a grant dated before it is refused."""
    ctx = Context(plan, prices, consent, date.today())
    report = Report(pool=pool)
    for rec in records:
        report.facts[rec.row] = _facts(rec, ctx)
        report.findings.extend(f for rule in RULES for f in rule(rec, ctx))
    report.findings.extend(_batch_findings(records, ctx))
    _repeats(records, report, pool)
    _incentive_limit(records, ctx, report)
    if more is not None:
        report.findings.extend(list(more(report)))
    _reserve(records, plan, pool, report)
    report.findings.sort(key=lambda f: (f.row or 0, f.severity != ERROR))
    return report


def _facts(rec: GrantRecord, ctx: Context) -> Facts:
    facts = _price_facts(rec, ctx)
    try:
        schedule, found = grant_vesting(rec, ctx.plan)
    except VestingError:
        return facts
    return replace(facts, schedule=schedule.name if schedule else None, vesting=tuple(found))


def _price_facts(rec: GrantRecord, ctx: Context) -> Facts:
    final = final_exercise_date(rec, ctx.plan)
    if not _is_option(rec, ctx.plan):  # no exercise price, no term: not an option
        return Facts(final, price_source="not an option")
    if _substitute_option(rec, ctx.plan):
        return Facts(
            final, price_source=f"substitute option (Section {ctx.plan.section('substitute')})"
        )
    quote = _quote(rec, ctx) if ctx.plan.exercise_price == "last_sale" else None
    if rec.fair_market_value is not None and quote is None:
        return Facts(final, rec.fair_market_value, rec.grant_date, "fair market value (Board)")
    if quote is not None:
        kind = (
            "close on grant date" if quote.day == rec.grant_date else "close, nearest preceding day"
        )
        return Facts(final, quote.close, quote.day, f"{kind} {quote.day.isoformat()}")
    return Facts(final)


def _batch_findings(records: Sequence[GrantRecord], ctx: Context) -> Iterable[Finding]:
    plan = ctx.plan
    needs_quote = plan.exercise_price == "last_sale" and any(  # even with a fair market
        # value: only the price file says whether the stock was traded (Section 5(b)(2))
        _is_option(r, plan) and not _substitute_option(r, plan)
        for r in records
    )
    if ctx.prices is None and needs_quote:
        yield Finding(
            None,
            None,
            "exercise-price",
            plan.section("exercise_price"),
            WARNING,
            "exercise prices were not checked: no price file was given (--prices)",
        )
    for key, why in plan.samples.items():
        yield Finding(
            None,
            None,
            "sample-value",
            "plan file",
            NOTE if samples_accepted() else WARNING,
            f"{key} in {Path(plan.source).name} is a sample or assumed value, not this "
            f"company's ({why}); replace it and take it out of [samples]",
        )
    if not plan.directors:
        yield Finding(
            None,
            None,
            "board-directors",
            "plan file",
            NOTE,
            f"{Path(plan.source).name} names no directors ([board] directors): the Board "
            "consent's signature lines are unnamed",
        )
    if not plan.restatement_approved:
        yield Finding(
            None,
            None,
            "restatement",
            plan.section("restatement"),
            WARNING,
            "stockholder approval of the restatement is not recorded in the plan file; the "
            "restatement is not effective, and no option is exercisable, until it is",
        )


#: Internal Revenue Code section 422(d): incentive options first exercisable in one calendar
#: year count as such up to this fair market value (at grant) of their shares.
INCENTIVE_LIMIT = Decimal(100_000)


def _incentive_limit(records: Sequence[GrantRecord], ctx: Context, report: Report) -> None:
    """422(d): a participant's incentive options first exercisable in any calendar year, by
    the fair market value of their shares when granted (the exercise price, which is at
    least that, unless a fair market value is given), over $100,000: the excess is a
    nonstatutory option (a warning) or, as the plan file says, the grant is refused.
    Counted in row order over the batch (earlier grants recorded in the ledger are not)."""
    plan = ctx.plan
    used: dict[tuple[str, int], Decimal] = {}
    refused = report.refused_rows
    for rec in records:
        if rec.award_type != "incentive_option" or rec.row in refused:
            continue
        facts = report.facts.get(rec.row)
        if facts is None or not facts.vesting:
            continue
        value = rec.fair_market_value or rec.exercise_price
        for year in sorted({i.day.year for i in facts.vesting}):
            shares = sum(i.shares for i in facts.vesting if i.day.year == year)
            key = (participant_key(rec.participant), year)
            before = used.get(key, Decimal(0))
            used[key] = before + value * Decimal(shares)
            if used[key] <= INCENTIVE_LIMIT:
                continue
            over = used[key] - max(INCENTIVE_LIMIT, before)
            excess = min(shares, int((over / value).to_integral_value(rounding="ROUND_CEILING")))
            refuse = plan.incentive_excess == "refuse"
            report.findings.append(
                _finding(
                    rec,
                    "incentive-limit",
                    "IRC 422(d)",
                    ERROR if refuse else WARNING,
                    f"incentive options of {rec.participant} first exercisable in {year} "
                    f"come to {format_price(used[key])} of shares at their value when granted, "
                    f"over the $100,000 a year that may be incentive stock options: "
                    + (
                        "the plan file refuses such a grant ([options] incentive_excess)"
                        if refuse
                        else f"{excess:,} of this grant's shares vesting in {year} are a "
                        "nonstatutory option"
                    ),
                    "shares",
                )
            )


def _repeats(records: Sequence[GrantRecord], report: Report, pool: Pool) -> None:
    seen: dict[tuple[str, date, str], int] = {}
    for rec in records:  # (an option and units the same day are two awards, not a repeat)
        key = (participant_key(rec.participant), rec.grant_date, rec.award_type)
        recorded = pool.on_day.get(key)
        repeats = []
        if recorded is not None and recorded != rec.grant_id:
            repeats.append(
                f"{rec.participant} already has grant {recorded} of "
                f"{format_date(rec.grant_date)} in the ledger: is this a batch made "
                "again under new grant ids?"
            )
        if key in seen:
            repeats.append(
                f"{rec.participant} already has a grant on {format_date(rec.grant_date)} "
                f"in row {seen[key]}"
            )
        else:
            seen[key] = rec.row
        report.findings.extend(
            _finding(rec, "repeat-grant", "—", WARNING, message, "participant")
            for message in repeats
        )


def _reserve(records: Sequence[GrantRecord], plan: Plan, pool: Pool, report: Report) -> None:
    """Sections 4(a) and 4(b), in row order, on top of what the ledger already holds."""
    refused = report.refused_rows
    used, non_option_used = pool.used, pool.non_option_used
    dated = pool.on_grant_date()
    folded = {known.casefold(): known for known in [*pool.known, *pool.elsewhere]}
    for rec in records:
        # a grant refused for another reason is still checked (and the finding reported), but
        # not counted: the ledger will never record it
        counted = rec.row not in refused
        conflict = None
        other = folded.get(rec.grant_id.casefold(), rec.grant_id)
        if other != rec.grant_id:
            conflict = (
                f"grant id {rec.grant_id} is the ledger's {other!r} in other capitals: one "
                "grant's file name, or another grant's; give it its own id"
            )
        elif rec.grant_id in pool.elsewhere:
            conflict = (
                f"grant id {rec.grant_id} is already in the ledger under plan "
                f"{pool.elsewhere[rec.grant_id]}; grant ids must be unique"
            )
        elif rec.grant_id in pool.known and pool.known[rec.grant_id] != terms_hash(rec):
            conflict = other_terms(rec, pool)
        if conflict is not None:
            report.findings.append(
                _finding(rec, "ledger-conflict", "ledger", ERROR, conflict, "grant_id")
            )
            continue
        if rec.grant_id in pool.known:
            report.findings.append(
                _finding(
                    rec,
                    "already-recorded",
                    "ledger",
                    NOTE,
                    "already recorded in the ledger with the same terms; not counted again",
                    None,
                )
            )
            continue
        is_option = _is_option(rec, plan)
        # the figures in force on the grant date (an amendment may have changed them since),
        # in today's shares, and so the grant: one made before a recorded split, adjusted by it
        reserve = pool.reserve_on(plan, rec.grant_date)
        cap = pool.non_option_cap_on(plan, rec.grant_date)
        available, non_option = reserve - used, cap - non_option_used
        when = "" if reserve == pool.reserve else f" on {rec.grant_date.isoformat()}"
        shares, note = pool.adjusted_shares(rec.shares, rec.grant_date), ""
        if since := pool.splits_since(rec.grant_date):
            note = pool.split_note(rec.shares, rec.grant_date)
            now = pool.adjusted(rec.shares, rec.exercise_price, rec.grant_date)
            report.findings.append(
                _finding(
                    rec,
                    "split-adjusted",
                    plan.section("adjustments"),
                    NOTE,
                    f"granted before {split_names(since)} recorded in the ledger: its "
                    f"{rec.shares:,} shares at {format_price(rec.exercise_price)} are "
                    f"{now.shares:,} at {format_price(now.price)} in today's shares, as the "
                    "ledger records them and the reserve counts them",
                    "grant_date",
                )
            )
        if shares > available:
            report.findings.append(
                _finding(
                    rec,
                    "reserve",
                    plan.section("reserve"),
                    ERROR,
                    f"{shares_exceed(rec.shares, note)} the shares available under the Plan: "
                    f"{max(available, 0):,} of the {reserve:,} reserved{when} remain",
                    "shares",
                )
            )
            continue
        short = (
            grant_date_shortfall(pool, dated, plan, rec, rec.shares, is_option) if since else None
        )
        if short is not None:  # a grant before a recorded split, counted on its own date
            report.findings.append(
                _finding(rec, short.rule, short.section, ERROR, short.message, short.column)
            )
            continue
        if not is_option and shares > non_option:
            cap_when = "" if cap == pool.non_option_cap else f" on {rec.grant_date.isoformat()}"
            report.findings.append(
                _finding(
                    rec,
                    "non-option-cap",
                    plan.section("non_option_cap"),
                    ERROR,
                    f"{shares_exceed(rec.shares, note)} the limit on Awards other than Options: "
                    f"{max(non_option, 0):,} of {cap:,}{cap_when} remain",
                    "shares",
                )
            )
            continue
        if not counted:
            continue
        used += shares
        if not is_option:
            non_option_used += shares
        dated.add(Award(rec.grant_date, rec.shares, is_option))
        report.batch_shares += shares
