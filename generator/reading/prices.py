"""Closing prices, and the Section 5(b) look-up: the grant date, or the nearest preceding day
with a reported price.

The price file is a CSV of ``date,close``; lines starting with ``#`` are comments (the bundled
sample file says in its first lines that it is sample data). Weekends, holidays and gaps are
simply days without a row.
"""

from __future__ import annotations

import bisect
import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from generator.core.errors import InputError
from generator.reading.values import parse_date, parse_price


@dataclass(frozen=True)
class Quote:
    """The reported price used for a grant date."""

    day: date
    """The day the price was reported (the grant date or the nearest preceding day)."""
    close: Decimal
    """The last reported sale price that day."""


class PriceTable:
    """Closing prices by day, with the nearest-preceding-day look-up."""

    def __init__(self, prices: dict[date, Decimal], source: str) -> None:
        self.source = source
        self._days = sorted(prices)
        self._close = prices

    def __len__(self) -> int:
        return len(self._days)

    def on_or_before(self, day: date) -> Quote | None:
        """The price on ``day``, else on the nearest preceding day that has one; None if none."""
        i = bisect.bisect_right(self._days, day)
        if i == 0:
            return None
        found = self._days[i - 1]
        return Quote(found, self._close[found])


def load_prices(path: str | Path) -> PriceTable:
    """Read a ``date,close`` CSV; every bad line is an error naming the line."""
    file = Path(path)
    from generator.reading.sheets import check_regular

    check_regular(file, "price file")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(file), f"cannot be read as a UTF-8 price file: {exc}") from None
    lines = [
        (n, ln) for n, ln in enumerate(text.splitlines(), 1) if not ln.lstrip().startswith("#")
    ]
    lines = [(n, ln) for n, ln in lines if ln.strip()]
    if not lines:
        raise InputError(str(file), "has no prices (expected a header date,close and rows)")
    header_no, header = lines[0]
    names = [h.strip().lower() for h in next(csv.reader([header]))]
    if "date" not in names or "close" not in names:
        raise InputError(
            str(file), f"line {header_no}: the header must name columns date and close"
        )
    di, ci = names.index("date"), names.index("close")
    prices: dict[date, Decimal] = {}
    for number, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) <= max(di, ci):
            raise InputError(
                str(file),
                f"line {number}: {len(cells)} cell(s), the header has {len(names)} ({line!r})",
            )
        try:
            day = parse_date(cells[di])
        except ValueError as exc:
            raise InputError(str(file), f"line {number}: date: {exc} ({line!r})") from None
        try:
            close = parse_price(cells[ci])
        except ValueError as exc:
            reason = str(exc).replace("the exercise price", "the closing price")
            raise InputError(str(file), f"line {number}: close: {reason} ({line!r})") from None
        if day in prices and prices[day] != close:
            raise InputError(
                str(file), f"line {number}: {day} is listed twice with different prices"
            )
        prices[day] = close
    return PriceTable(prices, str(file))
