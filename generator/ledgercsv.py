"""The share ledger as CSV: ``grantgen ledger export`` and ``grantgen ledger import``.

The export lists every recorded grant (cells a spreadsheet would run as formulas are
neutralised) with the plan's cumulative split ratio. An import is all or nothing: it runs in
the ledger's recording transaction, forfeitures included, and any refused row refuses the file.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from .ledger import EXPORT_COLUMNS, Entry, Ledger, LedgerError, Recorded, forfeit_in
from .output import neutralise_cell, restore_cell
from .plan import Plan
from .records import GrantRecord
from .values import parse_date, parse_price


def export_csv(book: Ledger, plan_id: str | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow((*EXPORT_COLUMNS, "split"))
    ratios: dict[str, Fraction] = {}
    for row in book.grants(plan_id):
        ratio = ratios.setdefault(row["plan_id"], book.ratio(row["plan_id"]))
        writer.writerow(
            [neutralise_cell("" if row[c] is None else str(row[c])) for c in EXPORT_COLUMNS]
            + [f"{ratio.numerator}:{ratio.denominator}"]
        )
    return buf.getvalue()


def import_csv(book: Ledger, plan: Plan, text: str, *, source: str = "import") -> Recorded:
    """Bring in an existing grant history (the format ``export`` writes)."""
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
    for number, raw in enumerate(reader, start=2):
        row = {k: restore_cell(v or "") for k, v in raw.items() if k}
        try:
            rec = GrantRecord(
                row=number,
                grant_id=row["grant_id"].strip(),
                participant=row["participant"].strip(),
                grant_date=parse_date(row["grant_date"]),
                shares=int(row.get("original_shares") or row["shares"]),
                exercise_price=parse_price(row.get("original_price") or row["exercise_price"]),
                award_type=row["award_type"].strip() or "option",
            )
            forfeited = int(row.get("forfeited") or 0)
        except (ValueError, KeyError) as exc:
            raise LedgerError(f"import row {number}: {exc}") from None
        if not rec.grant_id or not rec.participant:
            raise LedgerError(f"import row {number}: grant_id and participant are required")
        if rec.grant_id in seen:
            raise LedgerError(
                f"import row {number}: grant id {rec.grant_id} repeats row {seen[rec.grant_id]}"
            )
        seen[rec.grant_id] = number
        split = (row.get("split") or "1:1").strip()
        if split != "1:1":
            raise LedgerError(
                f"import row {number}: grant {row.get('grant_id', '').strip()} comes from a "
                f"ledger whose shares were adjusted for a {split} split (Section "
                f"{plan.section('adjustments')}); its split-adjusted numbers cannot be "
                "imported exactly: copy that ledger file instead"
            )
        other_plan = (row.get("plan_id") or "").strip()
        if other_plan and other_plan != plan.id:
            raise LedgerError(
                f"import row {number}: grant {rec.grant_id} is under plan {other_plan}, "
                f"not {plan.id} (import it with that plan's file)"
            )
        if rec.award_type not in plan.award_types:
            raise LedgerError(
                f"import row {number}: award type {rec.award_type!r} is not one the plan "
                f"allows ({', '.join(plan.award_types)})"
            )
        if forfeited < 0 or forfeited > rec.shares:
            raise LedgerError(
                f"import row {number}: forfeited must be between 0 and the grant's "
                f"{rec.shares:,} original shares"
            )
        final = row.get("final_exercise_date") or ""
        if final and parse_date(final) <= rec.grant_date:
            raise LedgerError(
                f"import row {number}: final_exercise_date {final} is not after the grant "
                f"date {rec.grant_date.isoformat()}"
            )
        entries.append(
            Entry(
                rec,
                plan.is_option(rec.award_type),
                parse_date(final) if final else None,
                source,
                forfeited,  # back in the pool: a history's re-granted shares fit again
            )
        )

    def all_or_nothing(result: Recorded) -> None:  # inside record()'s transaction
        if result.refused:
            first = next(iter(result.refused.items()))
            raise LedgerError(f"import refused, nothing recorded: {first[0]}: {first[1].message}")
        for entry in entries:
            if entry.forfeited and entry.record.grant_id in result.added:
                rec = entry.record
                forfeit_in(book.conn, plan, rec.grant_id, entry.forfeited, rec.grant_date)

    return book.record(plan, entries, all_or_nothing)
