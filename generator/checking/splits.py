"""Section 8 split arithmetic: what a split makes of an award, and the shares outstanding on
a grant date in that date's shares.

A split ``N:D`` multiplies an award's outstanding shares by N/D, the fraction dropped, and
divides its exercise price, rounded up to the cent. Because each award drops its own fraction,
shares counted in today's units understate what awards granted before a split held on their
grant date (799,999 + 1 + 1 shares become 1,199,998 + 1 + 1 after a 3:2 split, inside a
1,200,000 reserve): a grant is checked against the reserve in force on its date in the shares
of that date, by :class:`OnGrantDate`, as well as against today's figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import NamedTuple


def adjust_price(price: Decimal, step: Fraction) -> Decimal:
    """Divide a price by the split ratio, rounded up to the cent (or to the finer precision
    the price already had), so the aggregate exercise price is never reduced."""
    exponent = price.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    exact = price * Decimal(step.denominator) / Decimal(step.numerator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING)


class Holding(NamedTuple):
    """A grant's outstanding and forfeited shares and exercise price, in today's shares."""

    shares: int
    forfeited: int
    price: Decimal
    steps: tuple[tuple[int, int, int, Decimal, Decimal], ...] = ()
    """Each split that adjusted it: (index in the splits, shares before, after, price before,
    after)."""


class Overdrawn(Exception):
    """A forfeiture of more shares than the grant had outstanding on its date."""

    def __init__(self, index: int, day: date, shares: int, outstanding: int) -> None:
        super().__init__(index, day, shares, outstanding)
        self.index, self.day, self.shares, self.outstanding = index, day, shares, outstanding


def replay(
    shares: int,
    price: Decimal,
    granted: date,
    splits: Sequence[tuple[date, Fraction]],
    forfeits: Sequence[tuple[date, int]] = (),
) -> Holding:
    """A grant of ``shares`` at ``price`` on ``granted``, after its forfeitures (date, shares
    in the shares of that date; in the order recorded) and the plan's splits, in date order.

    A split adjusts what was outstanding and forfeited the day before it: the grant if it was
    made before the split's date, the forfeitures dated before it. A grant or forfeiture
    dated on or after a split is in post-split shares. Raises :class:`Overdrawn` (with the
    forfeiture's index) for a forfeiture of more shares than were outstanding on its date."""
    facts: list[tuple[date, int, int]] = [(day, 0, i) for i, (day, _) in enumerate(splits)]
    facts += [(day, 1, i) for i, (day, _) in enumerate(forfeits)]  # on a split's day: after it
    outstanding, forfeited, steps = shares, 0, []
    for day, kind, i in sorted(facts):
        if kind == 1:
            n = forfeits[i][1]
            if n > outstanding:
                raise Overdrawn(i, day, n, outstanding)
            outstanding, forfeited = outstanding - n, forfeited + n
        elif granted < day:
            step = splits[i][1]
            before, before_price = outstanding, price
            outstanding, forfeited = int(outstanding * step), int(forfeited * step)
            price = adjust_price(price, step)
            steps.append((i, before, outstanding, before_price, price))
    return Holding(outstanding, forfeited, price, tuple(steps))


def split_names(splits: Iterable[tuple[date, Fraction]]) -> str:
    """``the 3:2 split of 2007-01-01`` / ``the 3:2 split of 2007-01-01 and the 2:1 split of
    2009-01-04``."""
    return " and ".join(
        f"the {step.numerator}:{step.denominator} split of {day.isoformat()}"
        for day, step in splits
    )


#: The largest number on either side of a split ratio (shares must stay SQLite integers).
MAX_SPLIT = 1_000_000


@dataclass(frozen=True)
class Award:
    """A recorded award as granted: what :class:`OnGrantDate` replays to any later date."""

    granted: date
    shares: int
    """As granted, in the shares of its grant date."""
    is_option: bool
    forfeits: tuple[tuple[date, int], ...] = ()
    """Its forfeitures: (date, shares in the shares of that date), in the order recorded."""


class OnGrantDate:
    """The shares outstanding on a day, in the shares of that day, of every award granted on
    or before it (forfeitures dated after it not yet made): the use a grant dated that day
    adds to, with no rounding gap, however many splits were recorded since.

    ``used(day)`` gives (all awards, awards other than options); :meth:`add` counts a grant
    just checked, so a batch is checked in row order."""

    def __init__(self, splits: Sequence[tuple[date, Fraction]], awards: Iterable[Award]) -> None:
        self._splits = tuple(splits)
        self._awards = list(awards)
        self._used: dict[date, list[int]] = {}
        # (granted, its last forfeiture's date) of each award with a forfeiture: the ones that
        # can make today's figures more generous than a grant date's (grants added later have
        # no forfeitures)
        self._forfeiting = [
            (a.granted, max(d for d, _ in a.forfeits)) for a in self._awards if a.forfeits
        ]

    def splits_after(self, day: date) -> bool:
        """Whether a recorded split is dated after ``day`` (then today's shares can hide a
        rounding gap, and the check in ``day``'s shares matters)."""
        return any(d > day for d, _ in self._splits)

    def freed_after(self, day: date) -> bool:
        """Whether an award granted on or before ``day`` has a forfeiture dated after it
        (today's figures count those shares free; on ``day`` they were not)."""
        return any(granted <= day < last for granted, last in self._forfeiting)

    def scale(self, adopted: date | None, day: date) -> Fraction:
        """What a figure set on ``adopted`` (None: the Plan's own) is multiplied by, in the
        shares of ``day``: the splits after it, up to ``day``."""
        scale = Fraction(1)
        for d, step in self._splits:
            if (adopted is None or d > adopted) and d <= day:
                scale *= step
        return scale

    def used(self, day: date) -> tuple[int, int]:
        if day not in self._used:
            totals = [0, 0]
            for award in self._awards:
                self._count(award, day, totals)
            self._used[day] = totals
        found = self._used[day]
        return found[0], found[1]

    def add(self, award: Award) -> None:
        self._awards.append(award)
        for day, totals in self._used.items():
            self._count(award, day, totals)

    def _count(self, award: Award, day: date, totals: list[int]) -> None:
        if award.granted > day:
            return
        splits = [(d, step) for d, step in self._splits if d <= day]
        forfeits = [(d, n) for d, n in award.forfeits if d <= day]
        try:
            held = replay(award.shares, Decimal(0), award.granted, splits, forfeits).shares
        except Overdrawn:  # a history the ledger kept as it was recorded: counted as granted
            held = replay(award.shares, Decimal(0), award.granted, splits).shares
        totals[0] += held
        if not award.is_option:
            totals[1] += held


def short_on_grant_date(
    available: int, figure: int, day: date, since: Iterable[tuple[date, Fraction]]
) -> str:
    """Why a grant does not fit on its grant date, in that date's shares: the end of a reserve
    or cap message, after its first words. No split since (``since`` empty): shares forfeited
    after the grant date, which today's figures count free, were not free on it."""
    if not since:
        return (
            f"{max(available, 0):,} of the {figure:,} in force on {day.isoformat()} remained "
            "that day (shares forfeited after it were not free on it)"
        )
    return (
        f"{max(available, 0):,} of the {figure:,} in force on {day.isoformat()} remained that "
        f"day, counted in the shares of that day (before {split_names(since)}: each award "
        "drops its own fraction at a split, which frees no shares on the grant date)"
    )
