"""Value parsers for grant spreadsheets: each turns one cell's text into a typed value or
raises ValueError with a short reason (a :class:`RuleValueError` when the value parses but
breaks a rule of the agreement). :mod:`.records` adds the row and column; the ledger, price
files and the CLI use the same parsers, so a date or a price means the same everywhere.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from anyascii import anyascii

AWARD_TYPES = ("option", "incentive_option", "restricted_stock", "stock_unit")
#: The kinds of award that are options (and so need a positive exercise price).
OPTION_AWARDS = ("option", "incentive_option")

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9


class RuleValueError(ValueError):
    """A value that parses but breaks a rule of the agreement (e.g. fractional shares)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def parse_date(text: str) -> date:
    """``2005-05-16``, ``5/16/2005``, ``May 16, 2005`` (also ``May 16 2005``, ``Sept. 1, 2005``)."""
    s = text.strip()
    m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return _make_date(y, mo, d)
    m = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2,4})", s)
    if m:
        mo, d = int(m.group(1)), int(m.group(2))
        if len(m.group(3)) != 4:
            raise ValueError("the year must have four digits (a two-digit year is ambiguous)")
        return _make_date(int(m.group(3)), mo, d)
    m = re.fullmatch(r"([A-Za-z]+)\.?\s+([0-9]{1,2}),?\s+([0-9]{2,4})", s)
    if m:
        month = _MONTHS.get(m.group(1).lower())
        if month is None:
            raise ValueError(f"{m.group(1)!r} is not a month name")
        if len(m.group(3)) != 4:
            raise ValueError("the year must have four digits (a two-digit year is ambiguous)")
        return _make_date(int(m.group(3)), month, int(m.group(2)))
    if re.fullmatch(r"[0-9]{4,6}(\.0+)?", s):
        raise ValueError(
            "looks like an Excel date serial number; write the date as 2005-05-16 or 5/16/2005"
        )
    raise ValueError("not a date; write it as 2005-05-16, 5/16/2005 or May 16, 2005")


#: Years a grant date may fall in: anything else is a typing error, and dates must stay
#: computable when a term of years is added.
YEARS = range(1900, 3000)


def _make_date(y: int, mo: int, d: int) -> date:
    if y not in YEARS:
        raise ValueError(f"the year {y} is outside {YEARS.start}-{YEARS.stop - 1}")
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError(f"there is no such date (year {y}, month {mo}, day {d})") from None


def parse_shares(text: str) -> int:
    """A positive whole number, with or without thousands separators: ``15000``, ``15,000``;
    decimals that are all zeros are whole too (``15000.00``), but not ``15.000``, which may
    be a European 15,000."""
    s = text.strip()
    if re.fullmatch(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+", s):
        n = int(s.replace(",", ""))
        if n <= 0:
            raise RuleValueError("the number of shares must be positive", "whole-shares")
        return n
    if re.fullmatch(r"[-\u2212]\s*[0-9,.]+", s):
        raise RuleValueError("the number of shares must be positive", "whole-shares")
    if re.search(r"[0-9][eE][+-]?[0-9]", s):
        raise ValueError("scientific notation is not accepted; write the whole number")
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+", s):  # 15.000: a European thousands point?
        n = int(s.replace(".", ""))
        whole, _, fraction = s.partition(".")
        if "." in fraction:  # 1.500.000: a thousands point, and never read as one
            raise ValueError(f"a point is not read as a thousands separator; write {n} or {n:,}")
        if not fraction.strip("0"):
            raise ValueError(
                f"{s} may be {int(whole)} shares, or {n:,} with a European thousands point: "
                f"write {int(whole)}, or {n} or {n:,}"
            )
        raise RuleValueError(
            f"whole shares only; if the point is a European thousands separator, write {n} or "
            f"{n:,}",
            "whole-shares",
        )
    decimal = re.fullmatch(r"([0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)\.([0-9]+)", s)
    if decimal:  # 15000.00, as a spreadsheet exports a number with two decimals, is whole
        if decimal.group(2).strip("0"):
            raise RuleValueError(
                f"whole shares only: {s} is not a whole number of shares", "whole-shares"
            )
        n = int(decimal.group(1).replace(",", ""))
        if n <= 0:
            raise RuleValueError("the number of shares must be positive", "whole-shares")
        return n
    if re.fullmatch(r"[0-9,]+", s):
        raise ValueError("misplaced thousands separator; write 15000 or 15,000")
    raise ValueError("not a whole number of shares")


def parse_price(text: str) -> Decimal:
    """Dollars per share: ``3.25``, ``$3.25``, ``3.2500``, ``$1,234.50``."""
    s = text.strip()
    if s.startswith("$"):
        s = s[1:].strip()
    if re.fullmatch(r"[-\u2212].*", s):
        raise ValueError("the exercise price must be positive")
    if not re.fullmatch(r"([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?|\.[0-9]+", s):
        if re.search(r"[0-9][eE][+-]?[0-9]", s):
            raise ValueError("scientific notation is not accepted; write the price in dollars")
        raise ValueError("not a price in dollars; write it as 3.25 or $3.25")
    try:
        value = Decimal(s.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise ValueError("not a price in dollars") from None
    if value <= 0:
        raise ValueError("the exercise price must be positive")
    return value


def parse_issue_price(text: str) -> Decimal:
    """The price of an award other than an option: as :func:`parse_price`, or zero (issued
    at no cost)."""
    s = text.strip().removeprefix("$").strip()
    if re.fullmatch(r"0+(\.0*)?|\.0+", s):
        return Decimal(0)
    return parse_price(text)


_TRUE = {"yes", "y", "true", "t", "1"}
_FALSE = {"no", "n", "false", "f", "0"}


def parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("write yes or no (also true/false, y/n, 1/0)")


def parse_award_type(text: str) -> str:
    s = re.sub(r"[\s\-]+", "_", text.strip().lower())
    if s not in AWARD_TYPES:
        raise ValueError(f"unknown award type; use one of {', '.join(AWARD_TYPES)}")
    return s


def parse_years(text: str) -> int:
    """A whole number of years, at least one: ``10`` (also ``10.00``, as a spreadsheet may
    export it)."""
    s = text.strip()
    found = re.fullmatch(r"([0-9]+)(?:\.0+)?", s)
    if not found:
        raise ValueError("write the term as a whole number of years, e.g. 10")
    years = int(found.group(1))
    if years == 0:
        raise ValueError("a term of 0 years ends on the grant date: it must be at least 1 year")
    if years > 999:
        raise ValueError(f"a term of {years:,} years is not an option's term; write it in years")
    return years


def parse_address(text: str) -> tuple[str, ...]:
    """Lines separated by a newline or `` / ``; empty lines are dropped."""
    parts = re.split(r"\r\n|\r|\n| / ", text)
    return tuple(line.strip() for line in parts if line.strip())


def derive_grant_id(participant: str, grant_date: date, shares: int, price: Decimal) -> str:
    """A stable id made from the grant's terms: the same grant always gets the same id (a
    name with composed or decomposed accents, é or e + ◌́, is the same name)."""
    participant = unicodedata.normalize("NFC", participant)
    # transliterated: Sinéad Ó Connor-Walsh is sinead-o-connor-walsh, Дмитрий dmitriy
    ascii_name = anyascii(participant).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:32].strip("-") or "grant"
    digest = hashlib.sha256(
        f"{participant}|{grant_date.isoformat()}|{shares}|{price.normalize()}".encode()
    ).hexdigest()[:6]
    return f"{slug}-{grant_date:%Y%m%d}-{digest}"


def shares_exceed(n: int, note: str = "") -> str:
    """``1 share exceeds`` / ``2,000 shares exceed``: the start of an over-the-limit message
    (``note``, e.g. the shares after a split, goes before the verb)."""
    return f"1 share{note} exceeds" if n == 1 else f"{n:,} shares{note} exceed"
