"""The share ledger as CSV: ``grantgen ledger export`` and ``grantgen ledger import``.

The export lists every recorded grant (cells a spreadsheet would run as formulas are
neutralised) with the plan's cumulative split ratio. An import is all or nothing: it runs in
the ledger's recording transaction, forfeitures included, and any refused row refuses the file
(naming the row and the column). A history is recorded as it happened: a breach of a plan rule
that a grant could still have been made with is a warning, one that makes it no award under
the plan (dated outside its life) refuses the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from generator.checking.fields import final_exercise_date, format_date
from generator.checking.ledger import Ledger
from generator.checking.ledgerentry import Entry, Recorded
from generator.checking.ledgerhistory import forfeit_in
from generator.checking.ledgerschema import EXPORT_COLUMNS, VESTING_COLUMNS
from generator.core.errors import LedgerError
from generator.core.output import neutralise_cell, restore_cell
from generator.reading.grantrecord import GrantRecord
from generator.reading.values import parse_date, parse_issue_price, parse_price, parse_shares
from generator.terms.planmodel import Plan
from generator.terms.vesting import Installment

T = TypeVar("T")


def export_csv(book: Ledger, plan_id: str | None = None, *, since: date | None = None) -> str:
    """The grants (of ``plan_id``; made on or after ``since``) as CSV that import reads."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow((*EXPORT_COLUMNS, *VESTING_COLUMNS, "split"))
    ratios: dict[str, Fraction] = {}
    for row in book.grants(plan_id):
        if since is not None and str(row["grant_date"]) < since.isoformat():
            continue
        ratio = ratios.setdefault(row["plan_id"], book.ratio(row["plan_id"]))
        writer.writerow(
            [
                neutralise_cell("" if row[c] is None else str(row[c]))
                for c in (*EXPORT_COLUMNS, *VESTING_COLUMNS)
            ]
            + [f"{ratio.numerator}:{ratio.denominator}"]
        )
    return buf.getvalue()


def _count(text: str) -> int:
    """A whole number of shares that may be 0 (outstanding, forfeited)."""
    return 0 if re.fullmatch(r"\s*0+\s*", text) else parse_shares(text)


class _Row:
    """One row of an import file, for reading its values and refusing it by column."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number, self.cells = number, cells

    def cell(self, column: str) -> str:
        return self.cells.get(column) or ""

    def refuse(self, column: str, why: str) -> LedgerError:
        return LedgerError(f"import row {self.number}, column {column}: {why}")

    def value(self, column: str, parse: Callable[[str], T]) -> T:
        try:
            return parse(self.cell(column))
        except ValueError as exc:
            raise self.refuse(column, f"{self.cell(column).strip()!r}: {exc}") from None


def _entry(row: _Row, plan: Plan, source: str) -> tuple[Entry, list[str]]:
    """The grant an import row records, and its warnings; a :class:`LedgerError` naming the
    row and column for a row that cannot be recorded."""
    grant_id, participant = row.cell("grant_id").strip(), row.cell("participant").strip()
    if not grant_id or not participant:
        raise LedgerError(f"import row {row.number}: grant_id and participant are required")
    _check_origin(row, plan, grant_id)
    rec = _as_granted(row, plan, grant_id, participant)
    forfeited = row.value("forfeited", _count) if row.cell("forfeited").strip() else 0
    _check_shares(row, plan, rec, forfeited)
    _check_in_force(row, plan, rec, forfeited)
    _check_plan_term(row, plan, rec)
    final = _final_date(row, rec)
    warnings = _term_warnings(row, plan, rec, final)
    schedule, vesting = _vesting(row, rec)
    warnings += _vesting_warnings(row, plan, rec, final, schedule, vesting)
    # forfeited: back in the pool (a history's re-granted shares fit again)
    entry = Entry(rec, plan.is_option(rec.award_type), final, source, forfeited, schedule, vesting)
    return entry, warnings


def _check_origin(row: _Row, plan: Plan, grant_id: str) -> None:
    """Refuse a row of a split-adjusted export, or of another plan."""
    split = (row.cell("split") or "1:1").strip()
    if split != "1:1":
        raise row.refuse(
            "split",
            f"grant {grant_id} comes from a ledger whose shares were adjusted for a {split} "
            f"split (Section {plan.section('adjustments')}); its split-adjusted numbers "
            "cannot be imported exactly: copy that ledger file instead",
        )
    other_plan = row.cell("plan_id").strip()
    if other_plan and other_plan != plan.id:
        raise row.refuse(
            "plan_id",
            f"grant {grant_id} is under plan {other_plan}, not {plan.id} (import it with "
            "that plan's file)",
        )


def _granted_columns(row: _Row) -> tuple[str, str]:
    """The columns of the grant as made: original_* in an export, shares / exercise_price
    otherwise."""
    shares_column = "original_shares" if row.cell("original_shares").strip() else "shares"
    price_column = "original_price" if row.cell("original_price").strip() else "exercise_price"
    return shares_column, price_column


def _price_parser(plan: Plan, kind: str) -> Callable[[str], Decimal]:
    """An option's price is positive; an award other than an option may be issued at no
    cost (a price of 0)."""
    return parse_price if plan.is_option(kind) else parse_issue_price


def _as_granted(row: _Row, plan: Plan, grant_id: str, participant: str) -> GrantRecord:
    """The grant as it was made: its date, shares, price, award type and vesting start."""
    shares_column, price_column = _granted_columns(row)
    kind = row.cell("award_type").strip() or "option"
    rec = GrantRecord(
        row=row.number,
        grant_id=grant_id,
        participant=participant,
        grant_date=row.value("grant_date", parse_date),
        shares=row.value(shares_column, parse_shares),
        exercise_price=row.value(price_column, _price_parser(plan, kind)),
        award_type=kind,
    )
    if row.cell("vesting_start").strip():  # (as the grant was asked for: none when the date)
        start = row.value("vesting_start", parse_date)
        rec = replace(rec, vesting_start=None if start == rec.grant_date else start)
    return rec


def _check_shares(row: _Row, plan: Plan, rec: GrantRecord, forfeited: int) -> None:
    """Refuse an award type the plan does not have, or more shares forfeited than granted."""
    if rec.award_type not in plan.award_types:
        raise row.refuse(
            "award_type",
            f"award type {rec.award_type!r} is not one the plan allows "
            f"({', '.join(plan.award_types)})",
        )
    if forfeited > rec.shares:
        raise row.refuse(
            "forfeited",
            f"forfeited must be between 0 and the grant's {rec.shares:,} original shares",
        )


def _check_in_force(row: _Row, plan: Plan, rec: GrantRecord, forfeited: int) -> None:
    """An export's shares and exercise price in force must agree with the grant as made:
    what is outstanding, and (with no split) the price granted."""
    shares_column, price_column = _granted_columns(row)
    if shares_column == "original_shares" and row.cell("shares").strip():
        outstanding = row.value("shares", _count)  # an export's: what is outstanding
        if outstanding + forfeited != rec.shares:
            raise row.refuse(
                "shares",
                f"{outstanding:,} outstanding and {forfeited:,} forfeited make "
                f"{outstanding + forfeited:,}, not the {rec.shares:,} of original_shares "
                "(shares is what is outstanding: original_shares less forfeited)",
            )
    if price_column == "original_price" and row.cell("exercise_price").strip():
        in_force = row.value("exercise_price", _price_parser(plan, rec.award_type))
        if in_force != rec.exercise_price:
            raise row.refuse(
                "exercise_price",
                f"{in_force} is not the original_price {rec.exercise_price}: with no split "
                "(split 1:1) the exercise price is the one granted",
            )


def _check_plan_term(row: _Row, plan: Plan, rec: GrantRecord) -> None:
    """Section 10(c): a grant dated outside the plan's life is no award under it."""
    if not plan.effective_date <= rec.grant_date <= plan.last_grant_date:
        when = (
            f"after {format_date(plan.last_grant_date)}, the last day"
            if rec.grant_date > plan.last_grant_date
            else f"before {format_date(plan.effective_date)}, the day it took effect"
        )
        raise row.refuse(
            "grant_date",
            f"grant {rec.grant_id} is dated {rec.grant_date.isoformat()}, {when} the Plan "
            f"allows Awards (Section {plan.section('plan_term')}): it cannot be an Award "
            "under this plan",
        )


def _final_date(row: _Row, rec: GrantRecord) -> date | None:
    """The row's Final Exercise Date, which must be after the grant date (None: not given)."""
    if not row.cell("final_exercise_date").strip():
        return None
    final = row.value("final_exercise_date", parse_date)
    if final <= rec.grant_date:
        raise row.refuse(
            "final_exercise_date",
            f"{final.isoformat()} is not after the grant date {rec.grant_date.isoformat()}",
        )
    return final


def _term_warnings(row: _Row, plan: Plan, rec: GrantRecord, final: date | None) -> list[str]:
    """An option's Final Exercise Date later than the plan's term allows: recorded as given."""
    term = final_exercise_date(rec, plan)
    if final is not None and final > term and plan.is_option(rec.award_type):
        return [
            f"import row {row.number}, column final_exercise_date: grant {rec.grant_id} has a "
            f"Final Exercise Date of {final.isoformat()}, later than {term.isoformat()}, "
            f"{plan.term_years} years from the grant date; recorded as given (only an Option "
            f"granted in substitution, Section {plan.section('substitute')}, may have a longer "
            f"term) [term, Plan Section {plan.section('term')}]"
        ]
    return []


def _vesting_warnings(
    row: _Row,
    plan: Plan,
    rec: GrantRecord,
    final: date | None,
    schedule: str | None,
    vesting: tuple[Installment, ...],
) -> list[str]:
    """A schedule the plan file does not have, or installments after the Final Exercise
    Date: recorded as given."""
    warnings = []
    if schedule is not None and schedule not in plan.vesting:
        warnings.append(
            f"import row {row.number}, column vesting_schedule: grant {rec.grant_id} vests on "
            f"{schedule!r}, which is not a schedule of the plan file; recorded as given"
        )
    if vesting and final is not None and vesting[-1].day > final:
        warnings.append(
            f"import row {row.number}, column vesting: grant {rec.grant_id} has installments "
            f"after its Final Exercise Date {final.isoformat()}; recorded as given"
        )
    return warnings


def _vesting(row: _Row, rec: GrantRecord) -> tuple[str | None, tuple[Installment, ...]]:
    """An export's vesting columns read back: the schedule's name and the installments
    (``2026-06-16 4000; 2027-06-16 4000``), which must add up to the grant."""
    text = row.cell("vesting").strip()
    schedule = row.cell("vesting_schedule").strip() or None
    if not text:
        return schedule, ()
    parts: list[Installment] = []
    total: int | Decimal = 0
    for item in text.split(";"):
        day_text, _, shares_text = item.strip().partition(" ")
        try:
            day, shares = parse_date(day_text), Decimal(shares_text.strip())
        except (ValueError, ArithmeticError):
            raise row.refuse(
                "vesting", f"{item.strip()!r} is not an installment (write 2026-06-16 4000)"
            ) from None
        count: int | Decimal = int(shares) if shares == shares.to_integral_value() else shares
        total += count
        parts.append(Installment(day, count, total))
    if total != rec.shares:
        raise row.refuse(
            "vesting", f"the installments add up to {total:,}, not the grant's {rec.shares:,}"
        )
    return schedule, tuple(parts)


def import_csv(book: Ledger, plan: Plan, text: str, *, source: str = "import") -> Recorded:
    """Bring in an existing grant history (the format ``export`` writes).

    Columns: ``shares`` and ``exercise_price`` are the grant as made, unless the file has
    ``original_shares`` / ``original_price`` (as an export does): then they are what is
    outstanding and the price in force, and must agree with them (``shares`` + ``forfeited``
    = ``original_shares``). Any refused row refuses the file: unreadable values, impossible
    forfeitures or dates, a grant dated outside the plan's life (Section 10(c): not an award
    under this plan), another plan, an award type the plan does not have, a split-adjusted
    export. A Final Exercise Date later than the plan's term allows is recorded as given,
    with a warning (``Recorded.warnings``): a substitute Option may have its own term."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {
        "grant_id",
        "participant",
        "grant_date",
        "award_type",
        "shares",
        "exercise_price",
    }
    missing -= set(reader.fieldnames or [])
    if missing:
        raise LedgerError(f"the import file lacks the column(s): {', '.join(sorted(missing))}")
    entries: list[Entry] = []
    seen: dict[str, int] = {}  # grant id -> the import row it is on
    warnings: dict[str, list[str]] = {}  # grant id -> what its row breaks
    for number, raw in enumerate(reader, start=2):
        row = _Row(number, {k: restore_cell(v or "") for k, v in raw.items() if k})
        grant_id = row.cell("grant_id").strip()
        if grant_id in seen:
            raise LedgerError(
                f"import row {number}: grant id {grant_id} repeats row {seen[grant_id]}"
            )
        entry, warned = _entry(row, plan, source)
        seen[grant_id] = number
        entries.append(entry)
        warnings[grant_id] = warned

    def all_or_nothing(result: Recorded) -> None:  # inside record()'s transaction
        if result.refused:
            grant_id, why = next(iter(result.refused.items()))
            raise LedgerError(
                f"import refused, nothing recorded: import row {seen[grant_id]}, column "
                f"{why.column}: grant {grant_id}: {why.message}"
            )
        for entry in entries:
            if entry.forfeited and entry.record.grant_id in result.added:
                rec = entry.record
                forfeit_in(book.conn, plan, rec.grant_id, entry.forfeited, rec.grant_date)

    done = book.record(plan, entries, all_or_nothing)
    done.warnings = [w for grant_id in done.added for w in warnings.get(grant_id, [])]
    return done
