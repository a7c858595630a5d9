"""A grant as the ledger records it (:class:`Entry`: its terms, vesting and forfeitures), and what
recording a batch did (:class:`Recorded`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from generator.checking.ledgerhistory import (
    Refusal,
)
from generator.reading.grantrecord import GrantRecord
from generator.terms.planmodel import Plan
from generator.terms.vesting import Installment, VestingError, grant_vesting


@dataclass(frozen=True)
class Entry:
    """A grant to record, with what the rules worked out for it."""

    record: GrantRecord
    is_option: bool
    final_exercise_date: date | None
    source: str = ""
    forfeited: int = 0
    """Shares of it already back in the pool (an imported history's forfeitures): they do not
    count against the reserve."""
    schedule: str | None = None
    """Its vesting schedule's name (None: it vests at once)."""
    vesting: tuple[Installment, ...] = ()
    """Its installments, as granted (none: not recorded)."""


@dataclass
class Recorded:
    """What one recording transaction did."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What an import recorded although a plan rule says otherwise (a history is recorded as
    it happened), one sentence each."""


def entries_for(records: Iterable[GrantRecord], plan: Plan, finals: dict[int, date]) -> list[Entry]:
    return [Entry(r, plan.is_option(r.award_type), finals.get(r.row), "generate") for r in records]


def vesting_entry(record: GrantRecord, plan: Plan) -> tuple[str | None, tuple[Installment, ...]]:
    """A grant's schedule name and installments for the ledger (none when they cannot be
    worked out: the rules refuse such a grant)."""
    try:
        schedule, found = grant_vesting(record, plan)
    except VestingError:
        return None, ()
    return (schedule.name if schedule else None), tuple(found)
