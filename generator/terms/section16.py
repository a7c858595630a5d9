"""Section 16: a grant to a reporting person (a director or officer of a company with a class
of registered equity) is reported on Form 4 before the end of the second business day after
the grant date (Exchange Act Section 16(a)(2)(C), Rule 16a-3(g)).

A business day is the SEC's: not a Saturday, Sunday or federal holiday, nor a day the federal
government was closed by executive order (a national day of mourning, a Christmas Eve), taken
from the maintained ``holidays`` package (US public and government calendars; half-day
closings are business days). A plan file turns this on with ``[section16] reporting = true``.

:func:`form4_rows` gives the Form 4 values of each grant for the filing agent: Table II for
options and units (Table I for restricted stock), transaction code A.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

REPORTING_DAYS = 2
"""Form 4 is due by the end of the second business day after the transaction."""


@functools.cache
def _closed(year: int) -> frozenset[date]:
    import holidays

    days = holidays.country_holidays("US", years=year, categories=("public", "government"))
    return frozenset(d for d, name in days.items() if "half-day" not in name.lower())


def business_day(day: date) -> bool:
    """Whether the SEC is open on ``day``."""
    return day.weekday() < 5 and day not in _closed(day.year)


def form4_due(transaction: date) -> date:
    """The last day to file the Form 4 of a transaction on ``transaction``: the second
    business day after it."""
    day, counted = transaction, 0
    while counted < REPORTING_DAYS:
        day += timedelta(days=1)
        counted += business_day(day)
    return day


@dataclass(frozen=True)
class Section16:
    """``[section16]`` of a plan file: its participants are reporting persons."""

    option_title: str = "Stock Option (right to buy)"
    """Form 4 Table II column 1 for an option."""
    unit_title: str = "Restricted Stock Units"
    """Table II column 1 for stock units."""
    underlying_title: str = "Common Stock"
    """Table II column 7 (and Table I column 1 for restricted stock)."""


@dataclass(frozen=True)
class Reportable:
    """A grant as Form 4 reports it."""

    grant_id: str
    participant: str
    award_type: str
    is_option: bool
    grant_date: date
    shares: int
    exercise_price: Decimal | None
    expires: date | None
    first_vests: date | None
    """The first day any of it vests (None: all of it on the grant date)."""
    vesting: str = ""
    """Its vesting in one line, for the footnote."""


FORM4_COLUMNS = (
    "reporting_person",
    "grant_id",
    "table",
    "title_of_security",
    "conversion_or_exercise_price",
    "transaction_date",
    "deemed_execution_date",
    "transaction_code",
    "v",
    "amount",
    "acquired_or_disposed",
    "date_exercisable",
    "expiration_date",
    "underlying_title",
    "underlying_amount",
    "price",
    "owned_following",
    "ownership_form",
    "nature_of_indirect_ownership",
    "footnote",
    "form4_due",
)


def form4_rows(grants: Iterable[Reportable], terms: Section16) -> list[dict[str, str]]:
    """One line per grant, the Form 4 columns in :data:`FORM4_COLUMNS` order."""
    rows = []
    for g in grants:
        derivative = g.is_option or g.award_type == "stock_unit"
        title = terms.option_title if g.is_option else terms.unit_title
        first = g.first_vests
        later = first is not None and first != g.grant_date
        exercisable = first.isoformat() if first is not None and later else "Immediately"
        note = f"Vesting: {g.vesting}." if g.vesting else ""
        if not derivative:
            note = (note + " Restricted stock, reported in Table I; add the shares of "
                    "common stock owned after the grant.").strip()  # fmt: skip
        rows.append(
            {
                "reporting_person": g.participant,
                "grant_id": g.grant_id,
                "table": "II" if derivative else "I",
                "title_of_security": title if derivative else terms.underlying_title,
                "conversion_or_exercise_price": (
                    f"{g.exercise_price:f}" if g.is_option and g.exercise_price is not None else ""
                ),
                "transaction_date": g.grant_date.isoformat(),
                "deemed_execution_date": "",
                "transaction_code": "A",
                "v": "",
                "amount": str(g.shares),
                "acquired_or_disposed": "A",
                "date_exercisable": exercisable if derivative else "",
                # (a unit has no exercise term: settled as it vests, it does not expire)
                "expiration_date": g.expires.isoformat() if g.is_option and g.expires else "",
                "underlying_title": terms.underlying_title if derivative else "",
                "underlying_amount": str(g.shares) if derivative else "",
                "price": "0",
                "owned_following": str(g.shares) if derivative else "",
                "ownership_form": "D",
                "nature_of_indirect_ownership": "",
                "footnote": note,
                "form4_due": form4_due(g.grant_date).isoformat(),
            }
        )
    return rows


def form4_csv(rows: Iterable[dict[str, str]]) -> bytes:
    """The rows as CSV (UTF-8 with a BOM, one header line)."""
    from generator.core.output import neutralise_cell

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(FORM4_COLUMNS)
    for row in rows:
        writer.writerow([neutralise_cell(row[c]) for c in FORM4_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def recorded_reportables(
    grants: Iterable[dict[str, object]], is_option: Callable[[str], bool]
) -> list[Reportable]:
    """The grants a ledger recorded (:meth:`generator.checking.ledger.Ledger.grants`), as Form 4
    reports them:
    their terms as granted (before any later split), their recorded vesting."""
    out = []
    for g in grants:
        vesting = str(g.get("vesting") or "")
        first = vesting.split(" ", 1)[0] if vesting else ""
        kind = str(g["award_type"])
        final = g.get("final_exercise_date")
        out.append(
            Reportable(
                grant_id=str(g["grant_id"]),
                participant=str(g["participant"]),
                award_type=kind,
                is_option=is_option(kind),
                grant_date=date.fromisoformat(str(g["grant_date"])),
                shares=int(str(g["original_shares"])),
                exercise_price=Decimal(str(g["original_price"])) if is_option(kind) else None,
                expires=date.fromisoformat(str(final)) if final else None,
                first_vests=date.fromisoformat(first) if first else None,
                vesting=vesting.replace(";", ",") if vesting else "",
            )
        )
    return out
