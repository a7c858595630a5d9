"""The plan's share pool as the ledger holds it: the reserve and the non-option cap in force on a
date, what the recorded awards use (in the shares of a date, after splits), and how a grant's
terms are compared with one recorded before."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Self

from generator.checking.splits import (
    Award,
    Holding,
    OnGrantDate,
    replay,
    split_names,
)
from generator.reading.grantrecord import GrantRecord
from generator.terms.planmodel import Plan


def batch_reserve(pool: Pool, plan: Plan, records: Iterable[GrantRecord]) -> int:
    """The reserve a batch's summary shows: the figure in force on its last grant date (an
    amendment may change it; the one in force today may not be the one its grants met)."""
    last = max((r.grant_date for r in records), default=None)
    return pool.reserve if last is None else pool.reserve_on(plan, last)


def participant_key(name: str) -> str:
    """A name as two grants to one person compare: spacing and case aside."""
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()


def terms_of(record: GrantRecord) -> tuple[str, str, str, str, str]:
    """What makes two grants with the same id the same grant: participant, grant date,
    shares, exercise price and award type, as text (the award type with the vesting asked
    for, when the record asks for any: a grant without stays as it was recorded before)."""
    vesting = [
        f"{name}={value}"
        for name, value in (
            ("schedule", record.vesting_schedule),
            ("start", record.vesting_start and record.vesting_start.isoformat()),
            ("on", record.vesting_date and record.vesting_date.isoformat()),
        )
        if value
    ]
    return (
        record.participant,
        record.grant_date.isoformat(),
        str(record.shares),
        str(record.exercise_price.normalize()),
        " ".join([record.award_type, *vesting]),
    )


def terms_hash(record: GrantRecord) -> str:
    """The digest of :func:`terms_of` the ledger keeps."""
    return hashlib.sha256("|".join(terms_of(record)).encode()).hexdigest()


def price_text(stored: object) -> str:
    """A recorded price as :func:`terms_of` writes one (as it is, if it is not a number)."""
    try:
        return str(Decimal(str(stored)).normalize())
    except ArithmeticError:  # decimal.InvalidOperation
        return str(stored)


_TERM_NAMES = ("participant", "grant_date", "shares", "exercise_price", "award_type")


def other_terms(record: GrantRecord, pool: Pool) -> str:
    """Why a grant id already in the ledger is not this grant: the terms that differ."""
    recorded = pool.terms.get(record.grant_id)
    if recorded is None:
        return f"grant id {record.grant_id} is already in the ledger with other terms"
    given = terms_of(record)
    diffs = [
        f"{name} {old!r} there, {new!r} here"
        for name, old, new in zip(_TERM_NAMES, recorded, given, strict=True)
        if old != new
    ]
    return f"grant id {record.grant_id} is already in the ledger with other terms: " + (
        "; ".join(diffs) or "the terms differ"
    )


@dataclass(frozen=True)
class Pool:
    """The share pool of one plan as the ledger has it now."""

    reserve: int
    """Section 4(a) reserve after Section 8 adjustments."""
    used: int
    """Outstanding shares of all recorded awards."""
    non_option_cap: int
    """Section 4(b) cap after adjustments."""
    non_option_used: int
    """Outstanding shares of recorded awards other than options."""
    known: dict[str, str] = field(default_factory=dict)
    """Recorded grant ids → their terms hash."""
    elsewhere: dict[str, str] = field(default_factory=dict)
    """Grant ids recorded under another plan → that plan's id (grant ids are unique)."""
    by_type: dict[str, int] = field(default_factory=dict)
    """Outstanding shares by award type."""
    ratio: Fraction = Fraction(1)
    """The plan's cumulative Section 8 split ratio."""
    splits: tuple[tuple[date, Fraction], ...] = ()
    """Each recorded split: its date and ratio, in date order."""
    terms: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)
    """Recorded grant ids → their terms as recorded (see :func:`terms_of`)."""
    on_day: dict[tuple[str, date, str], str] = field(default_factory=dict)
    """(participant key, grant date, award type) → a recorded grant's id (see
    :func:`participant_key`)."""
    awards: tuple[Award, ...] = ()
    """Every recorded award as granted, with its forfeitures (for :meth:`on_grant_date`)."""

    def on_grant_date(self) -> OnGrantDate:
        """The shares outstanding on any grant date, in that date's shares."""
        return OnGrantDate(self.splits, self.awards)

    def reserve_in_shares_of(self, plan: Plan, day: date) -> int:
        """The Section 4(a) reserve in force on ``day``, in the shares of ``day``."""
        scale = OnGrantDate(self.splits, ()).scale(plan.reserve_adopted(day), day)
        return int(plan.reserve_on(day) * scale)

    def cap_in_shares_of(self, plan: Plan, day: date) -> int:
        """The Section 4(b) cap in force on ``day``, in the shares of ``day``."""
        scale = OnGrantDate(self.splits, ()).scale(plan.non_option_cap_adopted(day), day)
        return int(plan.non_option_cap_on(day) * scale)

    def _scale(self, adopted: date | None) -> Fraction:
        """The splits a figure set on ``adopted`` (None: the Plan's own) has gone through:
        those dated after it. A figure an amendment set on or after a split's date is in
        post-split shares already."""
        if not self.splits:
            return self.ratio
        scale = Fraction(1)
        for day, step in self.splits:
            if adopted is None or day > adopted:
                scale *= step
        return scale

    def reserve_on(self, plan: Plan, day: date) -> int:
        """The Section 4(a) reserve in force on ``day`` (amendments, then splits)."""
        return int(plan.reserve_on(day) * self._scale(plan.reserve_adopted(day)))

    def non_option_cap_on(self, plan: Plan, day: date) -> int:
        """The Section 4(b) cap in force on ``day``."""
        return int(plan.non_option_cap_on(day) * self._scale(plan.non_option_cap_adopted(day)))

    def splits_since(self, granted: date) -> tuple[tuple[date, Fraction], ...]:
        """The recorded splits that adjust an award granted on ``granted``: those after it."""
        return tuple((day, step) for day, step in self.splits if day > granted)

    def adjusted(self, shares: int, price: Decimal, granted: date) -> Holding:
        """A grant of ``shares`` at ``price`` made on ``granted``, in today's shares: what
        the reserve counts and the ledger records (see :func:`replay`)."""
        return replay(shares, price, granted, self.splits)

    def adjusted_shares(self, shares: int, granted: date) -> int:
        """``shares`` of an award granted on ``granted``, in today's shares."""
        return self.adjusted(shares, Decimal(0), granted).shares

    def split_note(self, shares: int, granted: date) -> str:
        """`` (1,500 after the 3:2 split of 2007-01-01)`` for shares granted before a recorded
        split; empty otherwise."""
        since = self.splits_since(granted)
        if not since:
            return ""
        return f" ({self.adjusted_shares(shares, granted):,} after {split_names(since)})"

    @property
    def available(self) -> int:
        return self.reserve - self.used

    @property
    def non_option_available(self) -> int:
        return self.non_option_cap - self.non_option_used


@dataclass
class Usage:
    """The reserve and the cap as grants are counted one by one on top of the ledger (by
    ``validate``'s batch check and by the recording transaction): the shares used (in today's
    shares) and used by awards other than options, the awards by grant date, and every grant
    id met so far, by its case-folded form."""

    plan: Plan
    pool: Pool
    used: int
    non_option_used: int
    dated: OnGrantDate
    folded: dict[str, str]

    @classmethod
    def start(cls, plan: Plan, pool: Pool) -> Self:
        """The count as the ledger has it, before the first grant."""
        folded = {known.casefold(): known for known in [*pool.known, *pool.elsewhere]}
        return cls(plan, pool, pool.used, pool.non_option_used, pool.on_grant_date(), folded)
