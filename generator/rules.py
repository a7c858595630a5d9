"""Plan rules: one function per rule, each returning findings that cite the plan section.

This module starts with the rules the agreement form itself depends on; the full set of plan
rules (share reserve, exercise price, plan term, ...) is built on the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .plan import Plan
from .records import GrantRecord

ERROR = "error"
WARNING = "warning"
NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """What one rule found about one grant."""

    row: int
    """Spreadsheet row of the grant (header = 1)."""
    grant_id: str
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
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message} [{self.rule}, Plan Section {self.section}]"


Rule = Callable[[GrantRecord, Plan], Iterable[Finding]]


def eligibility(record: GrantRecord, plan: Plan) -> Iterable[Finding]:
    """Section 2: only a director who is not an employee of the Company may receive an award."""
    if record.is_employee:
        yield Finding(
            record.row,
            record.grant_id,
            "eligibility",
            "2",
            ERROR,
            f"{record.participant} is marked as an employee; only directors who are not "
            "employees of the Company are Eligible Directors",
            "is_employee",
        )


def option_form(record: GrantRecord, plan: Plan) -> Iterable[Finding]:
    """Section 5(a): the form is a nonstatutory option agreement; other awards need other forms."""
    if record.award_type == "incentive_option":
        yield Finding(
            record.row,
            record.grant_id,
            "nonstatutory-only",
            "5(a)",
            ERROR,
            "none of the Options granted under the Plan are intended to be incentive stock "
            "options; an incentive option cannot be granted",
            "award_type",
        )
    elif record.award_type != "option":
        yield Finding(
            record.row,
            record.grant_id,
            "option-form",
            "5(a)",
            ERROR,
            f"award type {record.award_type!r} is not an option; the Nonstatutory Stock Option "
            "Agreement can document options only",
            "award_type",
        )


RULES: tuple[Rule, ...] = (eligibility, option_form)


def check(records: Iterable[GrantRecord], plan: Plan) -> list[Finding]:
    """Every finding of every rule for every record, in row order."""
    findings = [f for record in records for rule in RULES for f in rule(record, plan)]
    return sorted(findings, key=lambda f: f.row)
