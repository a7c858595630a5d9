"""A grants file checked: read (with the kit's columns), every rule run against the plan, the
closing prices and the share ledger, and what the documents could not show (characters no font
has, awards the kit has no form for). What ``validate`` reports and ``generate`` starts from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from generator.checking.batchcheck import check, parse_findings
from generator.checking.findings import ERROR, WARNING, Finding, Report
from generator.checking.ledger import Ledger, ledger_path
from generator.checking.pool import batch_reserve
from generator.reading.columns import ReadOptions
from generator.reading.grantrecord import GrantRecord, ReadResult
from generator.reading.prices import PriceTable, load_prices
from generator.reading.records import read_grants
from generator.terms.kit import resolve_kit
from generator.terms.plan import load_plan
from generator.terms.planmodel import Plan


@dataclass
class Checked:
    """A batch read and checked: what ``validate`` reports and ``generate`` starts from."""

    plan: Plan
    grants: ReadResult
    report: Report
    prices: PriceTable | None
    consent_date: date | None = None
    """The Board consent's stated date (``--consent-date``), if any."""

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def todo(self) -> list[GrantRecord]:
        """The grants read that no check refused: those ``generate`` makes documents for."""
        refused = self.report.refused_rows
        return [r for r in self.grants.records if r.row not in refused]

    def summary(self) -> dict[str, Any]:
        pool = self.report.pool
        assert pool is not None
        refused = self.report.refused_rows
        rows = {r.row for r in self.grants.records} | {e.row for e in self.grants.errors}
        reserve = batch_reserve(pool, self.plan, self.grants.records)
        available = reserve - pool.used
        return {
            "grants": len(rows),
            "ok": len(rows - refused),
            "refused": len(refused),
            "errors": self.report.count(ERROR),
            "warnings": self.report.count("warning"),
            "notes": self.report.count("note"),
            "reserve": reserve,
            "used_before": pool.used,
            "available_before": available,
            "batch_shares": self.report.batch_shares,
            "available_after": available - self.report.batch_shares,
            "non_option_cap": pool.non_option_cap,
            "non_option_available_before": pool.non_option_available,
        }


def check_batch(
    grants: Path,
    plan_path: Path | None = None,
    prices: Path | None = None,
    ledger: Path | None = None,
    *,
    documents: bool = False,
    read: ReadOptions | None = None,
    templates: Path | None = None,
    consent_date: date | None = None,
) -> Checked:
    """Read the grants and run every rule against the plan, the prices and the ledger.

    Reads the ledger and writes nothing. ``documents``: also refuse awards the agreement form
    cannot document (only options have a form).
    """
    plan = load_plan(plan_path)
    table = load_prices(prices) if prices is not None else None
    rows = read_grants(grants, kit_reading(plan, read or ReadOptions()))
    with Ledger(ledger_path(ledger), create=False) as book:
        pool = book.pool(plan)

    def unformable(report: Report) -> list[Finding]:
        return _unformable(rows.records, report, plan, templates) if documents else []

    report = check(rows.records, plan, table, pool, unformable, consent=consent_date)
    report.findings[:0] = parse_findings(rows.errors, plan)
    report.findings += _file_findings(rows)
    report.findings.sort(key=lambda f: (f.row or 0, f.severity != ERROR))
    return Checked(plan, rows, report, table, consent_date)


def _unformable(
    records: Sequence[GrantRecord], report: Report, plan: Plan, templates: Path | None
) -> list[Finding]:
    """What the documents cannot be made for: characters no font has, awards the kit has
    no agreement form for."""
    out = _glyph_findings(records)
    refused = report.refused_rows | {f.row for f in out if f.severity == ERROR}
    forms = resolve_kit(plan, templates).forms
    for rec in records:
        if rec.award_type not in forms and rec.row not in refused:
            out.append(
                Finding(
                    rec.row,
                    rec.grant_id,
                    "agreement-form",
                    "—",  # the Plan may allow such awards; the kit has no form for them
                    ERROR,
                    f"the kit has no form for {rec.award_type} awards (its forms: "
                    f"{', '.join(forms) or 'none'}); add [forms.{rec.award_type}] with its "
                    f"template to the plan file {Path(plan.source).name}",
                    "award_type",
                )
            )
    return out


def _file_findings(rows: ReadResult) -> list[Finding]:
    """Warnings about the grants file itself: unknown columns (a misspelt one?), hidden
    columns and rows (their values go into the documents without anyone seeing them)."""
    found = [
        Finding(None, None, "unknown-column", "input", WARNING, warning)
        for warning in rows.warnings
    ]
    found += [
        Finding(
            None,
            None,
            "hidden-column",
            "input",
            WARNING,
            f"column {name!r} is hidden in the workbook and is read like the others: unhide "
            "it to see what goes into the documents",
            name,
        )
        for name in rows.hidden_columns
    ]
    ids = {r.row: r.grant_id for r in rows.records}
    found += [  # a row hidden by hand or by a filter is often a grant set aside
        Finding(
            row,
            ids.get(row),
            "hidden-row",
            "input",
            WARNING,
            "the row is hidden in the workbook and is read like the others: unhide it to "
            "check it is a grant to make (delete it if it is not)",
        )
        for row in rows.hidden
    ]
    return found


def kit_reading(plan: Plan, read: ReadOptions) -> ReadOptions:
    """How a kit reads its grants files: the headers its plan file says to leave unread, and
    the extra columns its templates print, added to the options given."""
    from dataclasses import replace

    from generator.reading.columns import IGNORED, normalise_header

    ignored = {normalise_header(h): IGNORED for h in plan.ignore_columns}
    return replace(read, mapping={**ignored, **read.mapping}, extra=plan.extra_columns)


def _glyph_findings(records: Sequence[GrantRecord]) -> list[Finding]:
    """Characters no installed font has: refused, naming the character, instead of a box."""
    from generator.checking.fonts import DOCUMENT_FONTS, describe, missing_glyphs

    out = []
    for rec in records:
        for column, text in (("participant", rec.participant), ("address", " ".join(rec.address))):
            missing = missing_glyphs(text)
            if missing:
                chars = ", ".join(describe(c) for c in missing)
                out.append(
                    Finding(
                        rec.row,
                        rec.grant_id,
                        "glyph",
                        "input",
                        ERROR,
                        f"{chars}: neither {DOCUMENT_FONTS[0]} ({DOCUMENT_FONTS[1]}) nor any "
                        "installed font has this character, so the PDF could not show it "
                        "(install a font that has it, e.g. fonts-noto-core, or correct the value)",
                        column,
                    )
                )
    return out
