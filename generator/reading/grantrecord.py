"""A grant as it was read (:class:`GrantRecord`: typed and frozen, every value parsed), and what
reading a file gave (:class:`ReadResult`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from generator.core.errors import RecordError

#: The longest participant name accepted: longer is not a name, and a name that cannot be laid
#: out on the signature page would fail only after conversion.
MAX_NAME = 1000


def parse_name(text: str) -> str:
    """A participant's name: trimmed; at most :data:`MAX_NAME` characters; at least one
    letter, digit, mark-bearing letter or symbol that prints (a name of only a zero-width
    space or a lone accent would be a blank on the page)."""
    name = text.strip()
    if len(name) > MAX_NAME:
        raise ValueError(f"is {len(name):,} characters long; a name is at most {MAX_NAME:,}")
    if not any(unicodedata.category(c)[0] in "LNS" for c in name):
        raise ValueError(
            "has no letter or digit that prints (only spaces, accents or invisible characters)"
        )
    return name


@dataclass(frozen=True)
class GrantRecord:
    """One option grant, as read from one spreadsheet row."""

    row: int
    """Spreadsheet row number: the header is row 1, the first grant row 2."""
    grant_id: str
    """Unique id of the grant: letters, digits, ``-`` and ``_`` (derived when not given)."""
    participant: str
    """The director's full legal name, exactly as given (outer whitespace removed)."""
    grant_date: date
    """The Grant Date."""
    shares: int
    """Number of shares: a positive whole number."""
    exercise_price: Decimal
    """Price per share in dollars, with the precision the input had."""
    address: tuple[str, ...] = ()
    """Address lines for the acceptance page (may be empty)."""
    award_type: str = "option"
    """One of :data:`.values.AWARD_TYPES`."""
    is_employee: bool = False
    """Whether the participant is an employee of the Company."""
    grant_id_derived: bool = False
    """True when the grant id was not in the input but derived from the grant's terms."""
    substitute: bool = False
    """Section 5(f): an option granted in substitution for another entity's award in a merger."""
    fair_market_value: Decimal | None = None
    """Section 5(b)(2): the Board-determined fair market value, where the stock is not traded."""
    final_exercise_date: date | None = None
    """A Final Exercise Date the record asks for (checked against the plan's term)."""
    term_years: int | None = None
    """An option term in years the record asks for (checked against the plan's term)."""
    vesting_schedule: str | None = None
    """The name of one of the plan's vesting schedules (None: the plan's default)."""
    vesting_start: date | None = None
    """The vesting commencement date (None: the grant date)."""
    vesting_date: date | None = None
    """The date all shares vest, for a schedule that vests on a date given per grant."""
    extra: tuple[tuple[str, str], ...] = ()
    """The kit's extra columns' cells: (name, text), for its templates."""


@dataclass(frozen=True)
class ReadResult:
    """What :func:`read_grants` found: good records, row errors, and file-level warnings."""

    records: tuple[GrantRecord, ...]
    errors: tuple[RecordError, ...]
    warnings: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    """Each header as written in the file → the canonical column it was read as."""
    hidden: tuple[int, ...] = ()
    """Rows of grants the workbook hides (by hand or by a filter)."""
    hidden_columns: tuple[str, ...] = ()
    """Headers of columns grantgen reads that the workbook hides."""
