"""The fields a template can print, as values that print as the form writes them.

``{{ grant_date }}`` prints "May 16, 2005", and is also the date: ``{{ grant_date.value }}``,
``{{ grant_date.year }}``, ``{{ grant_date|add_years(1) }}`` ("May 16, 2006"). Shares and
prices likewise (``{{ shares }}`` "15,000", ``{{ shares.value * 2 }}``), so a template computes
with values, never by slicing text. :data:`FIELDS` lists every field with what it holds;
``grantgen fields`` prints them with a sample grant's values.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from generator.terms.vesting import Installment, Schedule, add_months, grant_vesting

if TYPE_CHECKING:
    from generator.reading.grantrecord import GrantRecord
    from generator.terms.planmodel import Plan


def format_date(value: date) -> str:
    """``May 16, 2005``."""
    return f"{value:%B} {value.day}, {value.year}"


def format_shares(value: int | Decimal) -> str:
    """``15,000`` (a fractional installment: ``4.5``)."""
    if isinstance(value, Decimal) and value != value.to_integral_value():
        whole, _, fraction = f"{value.normalize():f}".partition(".")
        return f"{int(whole):,}.{fraction}"
    return f"{int(value):,}"


def format_price(value: Decimal) -> str:
    """``$3.25``: at least two decimals, and every significant digit the input had."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(2, -exponent)
    return f"${value:,.{places}f}"


def anniversary(day: date, years: int, leap_rule: str = "feb28") -> date:
    """``day`` plus whole years; a February 29 lands on Feb 28 (or Mar 1) in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # February 29 in a common year
        feb28 = day.replace(year=day.year + years, day=28)
        return feb28 + timedelta(days=1) if leap_rule == "mar1" else feb28


def final_exercise_date(record: GrantRecord, plan: Plan) -> date:
    """Section 5(c): the anniversary of the grant date the plan's term gives."""
    return anniversary(record.grant_date, plan.term_years, plan.leap_day_anniversary)


class Day(str):
    """A date that prints as the form writes dates ("May 16, 2005"); ``.value`` is the
    date, and ``.year``, ``.month``, ``.day``, ``.iso`` its parts."""

    value: date

    def __new__(cls, value: date) -> Day:
        made = super().__new__(cls, format_date(value))
        made.value = value
        return made

    @property
    def year(self) -> int:
        return self.value.year

    @property
    def month(self) -> int:
        return self.value.month

    @property
    def day(self) -> int:
        return self.value.day

    @property
    def iso(self) -> str:
        return self.value.isoformat()


class Count(str):
    """A number of shares that prints with thousands separators ("15,000"); ``.value`` is
    the number."""

    value: int | Decimal

    def __new__(cls, value: int | Decimal) -> Count:
        made = super().__new__(cls, format_shares(value))
        made.value = value
        return made


class Money(str):
    """A price that prints as "$3.25"; ``.value`` is the amount (a Decimal)."""

    value: Decimal

    def __new__(cls, value: Decimal) -> Money:
        made = super().__new__(cls, format_price(value))
        made.value = value
        return made


def _as_date(value: object) -> date:
    if isinstance(value, Day):
        return value.value
    if isinstance(value, date):
        return value
    raise TypeError(f"{value!r} is not a date")


def add_months_filter(value: object, months: int, rule: str = "feb28") -> Day:
    """``{{ grant_date|add_months(6) }}``: a day the month lacks is its last day."""
    return Day(add_months(_as_date(value), int(months), rule))


def add_years_filter(value: object, years: int, rule: str = "feb28") -> Day:
    """``{{ grant_date|add_years(1) }}``: 29 February is 28 February in a common year."""
    return Day(add_months(_as_date(value), 12 * int(years), rule))


def add_days_filter(value: object, days: int) -> Day:
    return Day(_as_date(value) + timedelta(days=int(days)))


def longdate(value: object) -> str:
    return format_date(_as_date(value))


#: Filters that work on field values, for the template environment.
FILTERS = {
    "add_months": add_months_filter,
    "add_years": add_years_filter,
    "add_days": add_days_filter,
    "longdate": longdate,
}


def _percent(value: Decimal) -> str:
    """``33.33%``, ``25.00%``: two places always."""
    return f"{value:.2f}%"


def installment_fields(found: list[Installment], total: int) -> list[dict[str, Any]]:
    """The ``vesting`` field: each installment's date, shares, cumulative shares and percent
    (of the grant, to two places; the percents add up to what the shares do)."""
    return [
        {
            "date": Day(i.day),
            "shares": Count(i.shares),
            "cumulative": Count(i.cumulative),
            "percent": _percent(i.percent(total)),
            "cumulative_percent": _percent(i.cumulative_percent(total)),
            "number": n,
        }
        for n, i in enumerate(found, start=1)
    ]


def vesting_fields(record: GrantRecord, plan: Plan, final: date | None) -> dict[str, Any]:
    """The vesting fields of one grant (``vesting``, ``vesting_start``, and where they have a
    value ``vesting_schedule``, ``vesting_description`` and ``final_exercise_date``: a field
    without one is an error where a template prints it, never a blank)."""
    schedule: Schedule | None
    schedule, found = grant_vesting(record, plan)
    out: dict[str, Any] = {
        "vesting": installment_fields(found, record.shares),
        "vesting_start": Day(record.vesting_start or record.grant_date),
    }
    if schedule is not None:
        out |= {"vesting_schedule": schedule.name, "vesting_description": schedule.description}
    if final is not None:
        out["final_exercise_date"] = Day(final)
    return out


#: Every field a grant's templates can print: name -> what it holds (``grantgen fields``).
FIELDS: dict[str, str] = {
    "grant_id": "the grant's id",
    "participant": "the participant's full legal name, as given",
    "grant_date": 'the Grant Date ("May 16, 2005"; .value the date, .year, .month, .day)',
    "shares": 'the number of shares ("15,000"; .value the number)',
    "exercise_price": 'the exercise price per share ("$3.25"; .value the amount; no value for '
    "an award at no cost)",
    "award_type": "option, incentive_option, restricted_stock or stock_unit",
    "address_lines": "the address, a list of lines (padded with blank lines to four)",
    "final_exercise_date": "the day the option expires: the grant date plus the plan's term "
    "(options only)",
    "vesting_start": "the vesting commencement date (the grant date unless given)",
    "vesting_schedule": "the name of the grant's vesting schedule (no value when it has none: "
    "it vests at once on its vesting start)",
    "vesting_description": "the schedule's description from the plan file (or made from its "
    "numbers)",
    "vesting": "the installments: each with .date, .shares, .cumulative, .percent, "
    ".cumulative_percent, .number",
    "company.name": "the company's legal name",
    "company.state": "its state of incorporation",
    "company.a_state": '"a Delaware" / "an Ohio"',
    "officer.name": "the officer who signs for the Company",
    "officer.title": "the officer's title",
    "plan.name": "the Plan's name",
    "plan.short_name": "its shorter name",
    "plan.id": "its id in the plan file",
    "plan.term_years": "the option term in years (10)",
    "plan.term_words": '"ten"',
    "plan.term_ordinal": '"tenth"',
    "plan.term_phrase": '"ten (10) years"',
    "plan.post_service": 'the post-service exercise period ("one year")',
}
