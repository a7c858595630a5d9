"""Vesting schedules: a plan's named schedules and the installments of one grant.

A schedule is plan data (``[vesting.<name>]`` in the plan file): vesting at once, in N
installments every M months (after an optional cliff), or all on one date given per grant.
How the shares are divided among installments follows one of the Open Cap Format's
allocation types (OCF 1.2.0 ``AllocationType``); for 18 shares in 4 installments:

==================================  ===============
``CUMULATIVE_ROUNDING``             5 - 4 - 5 - 4
``CUMULATIVE_ROUND_DOWN``           4 - 5 - 4 - 5
``FRONT_LOADED``                    5 - 5 - 4 - 4
``BACK_LOADED``                     4 - 4 - 5 - 5
``FRONT_LOADED_TO_SINGLE_TRANCHE``  6 - 4 - 4 - 4
``BACK_LOADED_TO_SINGLE_TRANCHE``   4 - 4 - 4 - 6
``FRACTIONAL``                      4.5 - 4.5 - 4.5 - 4.5
==================================  ===============

Installments always add up to the grant exactly. A date N months on keeps the day of the
month where that month has it (counted from the vesting start each time, so a 31 January start
vests on 28 or 29 February and then on 31 March); where it has not (29 February in a common
year, the 31st of a short month), the plan's rule says: the month's last day (``feb28``) or
the next month's first (``mar1``).
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from generator.reading.grantrecord import GrantRecord

ALLOCATIONS = (
    "CUMULATIVE_ROUNDING",
    "CUMULATIVE_ROUND_DOWN",
    "FRONT_LOADED",
    "BACK_LOADED",
    "FRONT_LOADED_TO_SINGLE_TRANCHE",
    "BACK_LOADED_TO_SINGLE_TRANCHE",
    "FRACTIONAL",
)
#: The most installments a schedule may have (monthly for 100 years).
MAX_INSTALLMENTS = 1200
#: Decimal places of a fractional installment.
FRACTION_PLACES = 6


@dataclass(frozen=True)
class Schedule:
    """One of a plan's vesting schedules."""

    name: str
    """Its name in the plan file, and in the spreadsheet's ``vesting_schedule`` column."""
    description: str
    """How a document or the review says it, e.g. "one-third on each of the first three
    anniversaries of the vesting start"."""
    installments: int = 1
    """How many installments (1 with ``every_months`` 0: all at once)."""
    every_months: int = 0
    """Months between installments, from the vesting start (0: all on the start)."""
    cliff_months: int = 0
    """Nothing vests before this many months; the installments due before it vest then."""
    rounding: str = "CUMULATIVE_ROUND_DOWN"
    """How shares are divided among installments: one of :data:`ALLOCATIONS`."""
    on_date: bool = False
    """All shares vest on one date given per grant (the ``vesting_date`` column)."""

    @property
    def immediate(self) -> bool:
        return not self.on_date and (self.every_months == 0 or self.installments == 0)

    def months(self) -> int:
        """How long the schedule runs from the vesting start, in months."""
        return max(self.every_months * self.installments, self.cliff_months)


@dataclass(frozen=True)
class Installment:
    """One date on which part of a grant vests."""

    day: date
    shares: int | Decimal
    """Shares vesting that day (a Decimal only for ``FRACTIONAL``)."""
    cumulative: int | Decimal
    """Shares vested by the end of that day."""

    def percent(self, total: int) -> Decimal:
        """This installment's share of the grant, in percent, to two places."""
        return _percent(self.shares, total)

    def cumulative_percent(self, total: int) -> Decimal:
        return _percent(self.cumulative, total)


def _percent(part: int | Decimal, total: int) -> Decimal:  # (two places: 8.33%, 25.00%)
    return (Decimal(part) * 100 / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def add_months(day: date, months: int, rule: str = "feb28") -> date:
    """``day`` plus ``months`` months; a day the month lacks is its last day (``feb28``) or
    the first of the next month (``mar1``)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if day.day <= last:
        return date(year, month, day.day)
    if rule == "mar1":
        return date(year, month, last) + timedelta(days=1)
    return date(year, month, last)


def allocate(total: int, count: int, rounding: str) -> list[int | Decimal]:
    """``total`` shares divided into ``count`` installments by the allocation type
    ``rounding``; they add up to ``total`` exactly."""
    if count <= 0:
        raise ValueError("a schedule needs at least one installment")
    if rounding == "FRACTIONAL":
        # equal parts; where the division does not end (10,001 / 3), each cumulative amount
        # is the exact one rounded to FRACTION_PLACES, so the cumulative figures are right
        # and the parts differ in the last place at most
        place = Decimal(1).scaleb(-FRACTION_PLACES)
        exact = [
            (Decimal(total) * k / count).quantize(place, ROUND_HALF_UP) for k in range(count + 1)
        ]
        return [(b - a).normalize() for a, b in itertools.pairwise(exact)]
    base, rest = divmod(total, count)
    if rounding in ("CUMULATIVE_ROUNDING", "CUMULATIVE_ROUND_DOWN"):
        mode = ROUND_HALF_UP if rounding == "CUMULATIVE_ROUNDING" else ROUND_FLOOR
        marks = [
            int((Decimal(total) * k / count).quantize(Decimal(1), mode)) for k in range(count + 1)
        ]
        return [b - a for a, b in itertools.pairwise(marks)]
    whole: list[int | Decimal] = [base] * count
    if rounding == "FRONT_LOADED":
        return [base + (k < rest) for k in range(count)]
    if rounding == "BACK_LOADED":
        return [base + (k >= count - rest) for k in range(count)]
    if rounding == "FRONT_LOADED_TO_SINGLE_TRANCHE":
        whole[0] = base + rest
        return whole
    if rounding == "BACK_LOADED_TO_SINGLE_TRANCHE":
        whole[-1] = base + rest
        return whole
    raise ValueError(f"unknown allocation type {rounding!r}; use one of {', '.join(ALLOCATIONS)}")


def installments(
    schedule: Schedule,
    shares: int,
    start: date,
    *,
    rule: str = "feb28",
    vest_date: date | None = None,
) -> list[Installment]:
    """The installments of a grant of ``shares`` vesting from ``start`` on ``schedule``
    (``vest_date``: the date of an ``on_date`` schedule); installments due before the cliff
    vest on it, together."""
    if schedule.on_date:
        if vest_date is None:
            raise ValueError(f"the schedule {schedule.name!r} vests on a date given per grant")
        return [Installment(vest_date, shares, shares)]
    if schedule.immediate:
        return [Installment(start, shares, shares)]
    parts = allocate(shares, schedule.installments, schedule.rounding)
    cliff = add_months(start, schedule.cliff_months, rule) if schedule.cliff_months else None
    out: list[Installment] = []
    vested: int | Decimal = 0
    for k, part in enumerate(parts, start=1):
        day = add_months(start, k * schedule.every_months, rule)
        vested += part
        if cliff is not None and day <= cliff:
            day = cliff
        if out and out[-1].day == day:  # before the cliff: one installment on it
            out[-1] = Installment(day, out[-1].shares + part, vested)
        elif part:
            out.append(Installment(day, part, vested))
        elif out:  # nothing vests this time (fewer shares than installments)
            continue
    return out


def one_line(schedule: str | None, found: Sequence[Installment]) -> str:
    """A grant's vesting in one line, for the review and the manifest: ``initial: 3
    installments, 2026-06-16 to 2028-06-16 (3,334 / 3,333 / 3,333)``."""
    name = schedule or "at once"
    if not found:
        return name
    if len(found) == 1:
        return f"{name}: all {_count(found[0].shares)} on {found[0].day.isoformat()}"
    amounts = [_count(i.shares) for i in found]
    shown = " / ".join(amounts) if len(amounts) <= 4 else f"{amounts[0]} / … / {amounts[-1]}"
    return (
        f"{name}: {len(found)} installments, {found[0].day.isoformat()} to "
        f"{found[-1].day.isoformat()} ({shown})"
    )


def _count(value: int | Decimal) -> str:
    return f"{value:,}" if value == int(value) else f"{Decimal(value).normalize():f}"


class VestingError(ValueError):
    """Raised when a grant's vesting cannot be worked out: ``column`` is the spreadsheet
    column to blame."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


class VestingTerms(Protocol):
    """What a grant's vesting is worked out from: the plan's schedules (a
    :class:`~.plan.Plan` is one; this module does not read plan files)."""

    @property
    def vesting(self) -> Mapping[str, Schedule]: ...
    @property
    def leap_day_anniversary(self) -> str: ...
    def default_schedule(self, award_type: str) -> str | None: ...


def grant_vesting(
    record: GrantRecord, plan: VestingTerms
) -> tuple[Schedule | None, list[Installment]]:
    """A grant's schedule (its ``vesting_schedule``, else the plan's default; None: it vests
    at once on its vesting start) and its installments. A schedule the plan lacks, or a
    vesting date missing or given where the schedule takes none, is a :class:`VestingError`."""
    name = record.vesting_schedule or plan.default_schedule(record.award_type)
    start = record.vesting_start or record.grant_date
    rule = plan.leap_day_anniversary
    if name is None:
        if record.vesting_date is not None:
            raise VestingError(
                "a vesting date is given, but the grant has no vesting schedule that vests on "
                "a date given per grant (vesting_schedule)",
                "vesting_date",
            )
        return None, [Installment(start, record.shares, record.shares)]
    schedule = plan.vesting.get(name) or next(
        (s for key, s in plan.vesting.items() if key.casefold() == name.casefold()), None
    )
    if schedule is None:
        known = ", ".join(sorted(plan.vesting)) or "the plan file has none"
        raise VestingError(
            f"{name!r} is not a vesting schedule of the plan (its schedules: {known})",
            "vesting_schedule",
        )
    if schedule.on_date and record.vesting_date is None:
        raise VestingError(
            f"the schedule {name!r} vests on a date given per grant: give it in vesting_date",
            "vesting_date",
        )
    if (
        schedule.on_date
        and record.vesting_date is not None
        and (record.vesting_date < record.grant_date)
    ):
        raise VestingError(
            f"the vesting date {record.vesting_date.isoformat()} is before the grant date "
            f"{record.grant_date.isoformat()}",
            "vesting_date",
        )
    if not schedule.on_date and record.vesting_date is not None:
        raise VestingError(
            f"a vesting date is given, but the schedule {name!r} works out its own dates "
            "(leave vesting_date blank, or use a schedule with on_date = true)",
            "vesting_date",
        )
    found = installments(schedule, record.shares, start, rule=rule, vest_date=record.vesting_date)
    return schedule, found
