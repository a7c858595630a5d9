"""One row of the grants file parsed into a :class:`~.grantrecord.GrantRecord`: each cell by its
column, every problem a :class:`~generator.core.errors.RecordError` naming the row and the
column."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypedDict

from generator.core.errors import RecordError
from generator.reading import sheets
from generator.reading.grantrecord import GrantRecord, parse_name
from generator.reading.values import (
    OPTION_AWARDS,
    derive_grant_id,
    parse_address,
    parse_award_type,
    parse_bool,
    parse_date,
    parse_issue_price,
    parse_price,
    parse_shares,
    parse_years,
)

# C0 controls other than tab/newline/carriage return, DEL, C1 controls (NEL...), and the
# Unicode line and paragraph separators. A form feed in a name must not become a page break,
# and none of them may silently disappear (LibreOffice drops U+2028 and shows U+0085 as a
# space): they are refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


_GRANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


#: What Excel and LibreOffice show (and export to CSV) for a formula that failed.
_SPREADSHEET_ERROR = re.compile(
    r"#(?:N/A|REF!|VALUE!|DIV/0!|NAME\?|NULL!|NUM!|SPILL!|CALC!|GETTING_DATA|FIELD!|BLOCKED!"
    r"|CONNECT!|BUSY!|UNKNOWN!|PYTHON!)"
    r"|Err:\d{3}"  # LibreOffice Calc's (Err:502 ...)
)


def parse_row(
    row: int, cells: list[str], header: list[str], index: dict[str, int], excel: bool = False
) -> tuple[GrantRecord | None, list[RecordError]]:
    """A row's :class:`GrantRecord`, or None and every problem found in it: a row of the wrong
    length first, then each column in the order read, the grant id's spelling last."""
    reader = _RowReader(row, cells, header, index, excel, _length_errors(row, cells, header, excel))
    participant = reader.get("participant", parse_name, required=True)
    grant_date = reader.get("grant_date", parse_date, required=True)
    shares = reader.get("shares", parse_shares, required=True)
    award_type = reader.get("award_type", parse_award_type, required=False) or "option"
    # an option's exercise price is required and positive; another award (restricted stock,
    # units) may have none, or an issue price of zero
    optional = award_type not in OPTION_AWARDS and "award_type" in index
    price = reader.get(
        "exercise_price", parse_issue_price if optional else parse_price, required=not optional
    )
    if optional and price is None:
        price = Decimal(0)
    terms = _optional_terms(reader)
    grant_id = reader.grant_id
    if grant_id and not _GRANT_ID.fullmatch(grant_id):
        reader.errors.append(
            RecordError(
                row,
                reader.column_name("grant_id"),
                "a grant id may use only letters, digits, '-' and '_' (at most 64 characters)",
                value=grant_id,
            )
        )
    if reader.errors:
        return None, reader.errors
    assert isinstance(participant, str)
    assert isinstance(grant_date, date)
    assert isinstance(shares, int)
    assert isinstance(price, Decimal)
    derived = not grant_id
    if derived:
        grant_id = derive_grant_id(participant, grant_date, shares, price)
    record = GrantRecord(
        row=row,
        grant_id=grant_id,
        participant=participant,
        grant_date=grant_date,
        shares=shares,
        exercise_price=price,
        award_type=str(award_type),
        grant_id_derived=derived,
        **terms,
    )
    return record, []


def _length_errors(row: int, cells: list[str], header: list[str], excel: bool) -> list[RecordError]:
    """A row with fewer cells than the header (in a CSV file), or with cells filled past it."""
    errors: list[RecordError] = []
    if len(cells) < len(header) and not excel:
        errors.append(
            RecordError(
                row,
                header[len(cells)],
                f"this row has {len(cells)} cells but the header has {len(header)} "
                "(a missing comma or an unquoted line break?)",
            )
        )
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        errors.append(
            RecordError(
                row,
                f"(cell {len(header) + 1})",
                f"this row has {len(cells)} cells but the header has {len(header)}",
            )
        )
    return errors


@dataclass
class _RowReader:
    """One row's cells, read by column; every problem found is added to ``errors``."""

    row: int
    cells: list[str]
    header: list[str]
    index: dict[str, int]
    excel: bool
    errors: list[RecordError]
    grant_id: str = field(init=False)
    """The grant id the row gives, trimmed (empty: none)."""

    def __post_init__(self) -> None:
        self.grant_id = (self.raw("grant_id") or "").strip()

    def raw(self, column: str) -> str | None:
        """The cell as read (None: the file has no such column; empty past a short row)."""
        i = self.index.get(column)
        if i is None:
            return None
        if i >= len(self.cells):
            return ""
        return self.cells[i]

    def column_name(self, column: str) -> str:
        """The header the file gives the column."""
        return self.header[self.index[column]] if column in self.index else column

    def refuse(self, column: str, message: str, rule: str, value: str | None = None) -> None:
        """Add the problem of the column's cell, with the row's grant id when it gives one."""
        self.errors.append(
            RecordError(
                self.row,
                self.column_name(column),
                message,
                value=value,
                grant_id=self.grant_id or None,
                rule=rule,
            )
        )

    def get(self, column: str, parse: Callable[[str], object], *, required: bool) -> object:
        """The cell parsed; None when it is blank or refused (the problem is in ``errors``)."""
        text = self.raw(column)
        if column in self.index and self.index[column] >= len(self.cells) and not self.excel:
            return None  # the short row is already reported
        if text is None or not text.strip():
            if required:
                self.refuse(column, "a value is required", "required")
            return None
        if text.startswith(sheets.UNSAVED_FORMULA):
            self.refuse(column, _unsaved_formula(text), "spreadsheet-error")
            return None
        text = text.strip()  # a trailing Alt+Enter or tab is not part of the value
        unprintable = _control_character(text, column == "address") or _invisible_character(text)
        if unprintable is not None:
            self.refuse(column, unprintable, "control-character", text)
            return None
        spreadsheet_error = _SPREADSHEET_ERROR.fullmatch(text)
        if spreadsheet_error:  # a #N/A from a lookup, saved or exported, is not a value
            self.refuse(
                column,
                f"holds the spreadsheet error {spreadsheet_error.group()}, not a value: "
                "fix the formula or type the value",
                "spreadsheet-error",
                text,
            )
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.refuse(column, str(exc), getattr(exc, "rule", "parse"), text)
            return None


def _unsaved_formula(text: str) -> str:
    """What to say of a workbook's formula cell saved without its value."""
    where, formula = text.removeprefix(sheets.UNSAVED_FORMULA).split("\x00", 1)
    return (
        f"cell {where} holds the formula {formula} with no saved value: open the "
        "workbook in Excel and save it, then try again"
    )


def _control_character(text: str, multiline: bool) -> str | None:
    """What to say of a control character in a cell (a line break or tab only where the
    column is not ``multiline``); None when it has none."""
    bad = _CONTROL.search(text)
    if bad is None and not multiline:
        bad = re.search(r"[\t\r\n]", text)
    if bad is None:
        return None
    return (
        f"contains the control character U+{ord(bad.group()):04X} at position "
        f"{bad.start() + 1}, which is not allowed in this column"
    )


def _invisible_character(text: str) -> str | None:
    """What to say of a format character in a cell (zero-width spaces, soft hyphens,
    direction overrides, BOMs); None when it has none."""
    hidden = next((i for i, c in enumerate(text) if unicodedata.category(c) == "Cf"), None)
    if hidden is None:
        return None
    char = text[hidden]
    return (
        f"contains the invisible character U+{ord(char):04X} "
        f"{unicodedata.name(char, 'FORMAT CHARACTER')} at position {hidden + 1}: "
        "it does not print (or changes the order letters are shown in), so the "
        "document would not show the value given; remove it"
    )


class _Terms(TypedDict):
    """The columns a row may leave blank, as :class:`GrantRecord`'s keyword arguments."""

    address: tuple[str, ...]
    is_employee: bool
    substitute: bool
    fair_market_value: Decimal | None
    final_exercise_date: date | None
    term_years: int | None
    vesting_schedule: str | None
    vesting_start: date | None
    vesting_date: date | None


def _optional_terms(reader: _RowReader) -> _Terms:
    """The columns a row may leave blank, read in this order (blank or refused: None, or
    the default)."""
    address = reader.get("address", parse_address, required=False) or ()
    is_employee = reader.get("is_employee", parse_bool, required=False) or False
    substitute = reader.get("substitute", parse_bool, required=False) or False
    fmv = reader.get("fair_market_value", parse_price, required=False)
    final_date = reader.get("final_exercise_date", parse_date, required=False)
    term_years = reader.get("term_years", parse_years, required=False)
    schedule = reader.get("vesting_schedule", str, required=False)
    vesting_start = reader.get("vesting_start", parse_date, required=False)
    vesting_date = reader.get("vesting_date", parse_date, required=False)
    return _Terms(
        address=tuple(address),  # type: ignore[arg-type]
        is_employee=bool(is_employee),
        substitute=bool(substitute),
        fair_market_value=fmv if isinstance(fmv, Decimal) else None,
        final_exercise_date=final_date if isinstance(final_date, date) else None,
        term_years=term_years if isinstance(term_years, int) else None,
        vesting_schedule=schedule if isinstance(schedule, str) else None,
        vesting_start=vesting_start if isinstance(vesting_start, date) else None,
        vesting_date=vesting_date if isinstance(vesting_date, date) else None,
    )
