"""What checking a batch finds: each :class:`Finding` with its row, column, rule, plan section and
:class:`Severity`; the facts worked out per grant; the report of a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from generator.checking.pool import Pool
from generator.reading.prices import PriceTable
from generator.terms.planmodel import Plan
from generator.terms.vesting import Installment


class Severity(StrEnum):
    """How much a finding weighs: an error refuses the grant (no documents), a warning is
    reported (and refuses the batch under ``--strict``), a note is for the record."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


ERROR, WARNING, NOTE = Severity.ERROR, Severity.WARNING, Severity.NOTE


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
