"""Checking a batch: every per-grant rule for every grant (:mod:`.rules`), the facts worked out
for each, then the batch's own checks: a quote missing for the batch, repeated grants, the
incentive option limit, and the reserve and cap in row order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from generator.checking.fields import final_exercise_date, format_date, format_price
from generator.checking.findings import ERROR, NOTE, WARNING, Context, Facts, Finding, Report
from generator.checking.ledgerhistory import grant_date_shortfall
from generator.checking.pool import Pool, Usage, other_terms, participant_key, terms_hash
from generator.checking.rules import RULES, finding, option_award, quote_for, substitute_option
from generator.checking.splits import Award, split_names
from generator.core.errors import RecordError
from generator.reading.grantrecord import GrantRecord
from generator.reading.prices import PriceTable
from generator.reading.values import shares_exceed
from generator.terms.planmodel import Plan, samples_accepted
from generator.terms.vesting import VestingError, grant_vesting


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
    if not option_award(rec, ctx.plan):  # no exercise price, no term: not an option
        return Facts(final, price_source="not an option")
    if substitute_option(rec, ctx.plan):
        return Facts(
            final, price_source=f"substitute option (Section {ctx.plan.section('substitute')})"
        )
    quote = quote_for(rec, ctx) if ctx.plan.exercise_price == "last_sale" else None
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
        option_award(r, plan) and not substitute_option(r, plan)
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
                finding(
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
            finding(rec, "repeat-grant", "—", WARNING, message, "participant")
            for message in repeats
        )


def _reserve(records: Sequence[GrantRecord], plan: Plan, pool: Pool, report: Report) -> None:
    """Sections 4(a) and 4(b), in row order, on top of what the ledger already holds."""
    refused = report.refused_rows
    count = _Count.start(plan, pool)
    for rec in records:
        conflict = _ledger_conflict(rec, pool, count.folded)
        if conflict is not None:
            report.findings.append(
                finding(rec, "ledger-conflict", "ledger", ERROR, conflict, "grant_id")
            )
            continue
        if rec.grant_id in pool.known:
            report.findings.append(
                finding(
                    rec,
                    "already-recorded",
                    "ledger",
                    NOTE,
                    "already recorded in the ledger with the same terms; not counted again",
                    None,
                )
            )
            continue
        is_option = option_award(rec, plan)
        # in today's shares, and so the grant: one made before a recorded split, adjusted by it
        shares = pool.adjusted_shares(rec.shares, rec.grant_date)
        if since := pool.splits_since(rec.grant_date):
            report.findings.append(_split_adjusted(rec, plan, pool, since))
        refusal = count.refusal(rec, is_option, shares)
        if refusal is not None:
            report.findings.append(refusal)
        # a grant refused for another reason is still checked (and the finding reported), but
        # not counted: the ledger will never record it
        elif rec.row not in refused:
            count.take(rec, is_option, shares)
            report.batch_shares += shares


def _ledger_conflict(rec: GrantRecord, pool: Pool, folded: dict[str, str]) -> str | None:
    """Why the grant's id clashes with the ledger's: one of its ids in other capitals, an id
    of another plan, or an id recorded with other terms (None: it does not)."""
    other = folded.get(rec.grant_id.casefold(), rec.grant_id)
    if other != rec.grant_id:
        return (
            f"grant id {rec.grant_id} is the ledger's {other!r} in other capitals: one "
            "grant's file name, or another grant's; give it its own id"
        )
    if rec.grant_id in pool.elsewhere:
        return (
            f"grant id {rec.grant_id} is already in the ledger under plan "
            f"{pool.elsewhere[rec.grant_id]}; grant ids must be unique"
        )
    if rec.grant_id in pool.known and pool.known[rec.grant_id] != terms_hash(rec):
        return other_terms(rec, pool)
    return None


def _split_adjusted(
    rec: GrantRecord, plan: Plan, pool: Pool, since: tuple[tuple[date, Fraction], ...]
) -> Finding:
    """A note that a grant made before a recorded split is counted, and recorded, adjusted."""
    now = pool.adjusted(rec.shares, rec.exercise_price, rec.grant_date)
    return finding(
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


class _Count(Usage):
    """The reserve and the cap as the batch uses them, in row order, on top of the ledger
    (:class:`generator.checking.pool.Usage`)."""

    def refusal(
        self,
        rec: GrantRecord,
        is_option: bool,
        shares: int,
    ) -> Finding | None:
        """Why the grant (``shares`` in today's shares) does not fit what is left of the
        reserve, or of the cap on awards other than options, in force on its grant date (an
        amendment may have changed them since); None: it fits."""
        plan, pool = self.plan, self.pool
        reserve = pool.reserve_on(plan, rec.grant_date)
        cap = pool.non_option_cap_on(plan, rec.grant_date)
        available, non_option = reserve - self.used, cap - self.non_option_used
        note = pool.split_note(rec.shares, rec.grant_date)
        if shares > available:
            when = "" if reserve == pool.reserve else f" on {rec.grant_date.isoformat()}"
            return finding(
                rec,
                "reserve",
                plan.section("reserve"),
                ERROR,
                f"{shares_exceed(rec.shares, note)} the shares available under the Plan: "
                f"{max(available, 0):,} of the {reserve:,} reserved{when} remain",
                "shares",
            )
        short = grant_date_shortfall(pool, self.dated, plan, rec, rec.shares, is_option)
        if short is not None:  # before a recorded split or a forfeiture: on its own date
            return finding(rec, short.rule, short.section, ERROR, short.message, short.column)
        if not is_option and shares > non_option:
            cap_when = "" if cap == pool.non_option_cap else f" on {rec.grant_date.isoformat()}"
            return finding(
                rec,
                "non-option-cap",
                plan.section("non_option_cap"),
                ERROR,
                f"{shares_exceed(rec.shares, note)} the limit on Awards other than Options: "
                f"{max(non_option, 0):,} of {cap:,}{cap_when} remain",
                "shares",
            )
        return None

    def take(self, rec: GrantRecord, is_option: bool, shares: int) -> None:
        """Count a grant that fits."""
        self.used += shares
        if not is_option:
            self.non_option_used += shares
        self.dated.add(Award(rec.grant_date, rec.shares, is_option))
