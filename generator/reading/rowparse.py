"""One row of the grants file parsed into a :class:`~.grantrecord.GrantRecord`: each cell by its
column, every problem a :class:`~.errors.RecordError` naming the row and the column."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal

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


def _parse_row(
    row: int, cells: list[str], header: list[str], index: dict[str, int], excel: bool = False
) -> tuple[GrantRecord | None, list[RecordError]]:
    errors: list[RecordError] = []
    if len(cells) < len(header) and not excel:
        errors.append(
            RecordError(
                row,
                header[len(cells)] if len(cells) < len(header) else "",
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

    def raw(column: str) -> str | None:
        i = index.get(column)
        if i is None:
            return None
        if i >= len(cells):
            return ""
        return cells[i]

    def column_name(column: str) -> str:
        return header[index[column]] if column in index else column

    grant_id_text = (raw("grant_id") or "").strip()

    def get(column: str, parse: Callable[[str], object], *, required: bool) -> object:
        text = raw(column)
        if column in index and index[column] >= len(cells) and not excel:
            return None  # the short row is already reported
        if text is None or not text.strip():
            if required:
                errors.append(
                    RecordError(
                        row,
                        column_name(column),
                        "a value is required",
                        grant_id=grant_id_text or None,
                        rule="required",
                    )
                )
            return None
        if text.startswith(sheets.UNSAVED_FORMULA):
            where, formula = text.removeprefix(sheets.UNSAVED_FORMULA).split("\x00", 1)
            errors.append(
                RecordError(
                    row,
                    column_name(column),
                    f"cell {where} holds the formula {formula} with no saved value: open the "
                    "workbook in Excel and save it, then try again",
                    grant_id=grant_id_text or None,
                    rule="spreadsheet-error",
                )
            )
            return None
        text = text.strip()  # a trailing Alt+Enter or tab is not part of the value
        bad = _CONTROL.search(text)
        multiline = column == "address"
        if bad is None and not multiline:
            bad = re.search(r"[\t\r\n]", text)
        if bad is not None:
            errors.append(
                RecordError(
                    row,
                    column_name(column),
                    f"contains the control character U+{ord(bad.group()):04X} at position "
                    f"{bad.start() + 1}, which is not allowed in this column",
                    value=text,
                    grant_id=grant_id_text or None,
                    rule="control-character",
                )
            )
            return None
        hidden = next((i for i, c in enumerate(text) if unicodedata.category(c) == "Cf"), None)
        if hidden is not None:  # zero-width spaces, soft hyphens, direction overrides, BOMs
            char = text[hidden]
            errors.append(
                RecordError(
                    row,
                    column_name(column),
                    f"contains the invisible character U+{ord(char):04X} "
                    f"{unicodedata.name(char, 'FORMAT CHARACTER')} at position {hidden + 1}: "
                    "it does not print (or changes the order letters are shown in), so the "
                    "document would not show the value given; remove it",
                    value=text,
                    grant_id=grant_id_text or None,
                    rule="control-character",
                )
            )
            return None
        spreadsheet_error = _SPREADSHEET_ERROR.fullmatch(text)
        if spreadsheet_error:  # a #N/A from a lookup, saved or exported, is not a value
            errors.append(
                RecordError(
                    row,
                    column_name(column),
                    f"holds the spreadsheet error {spreadsheet_error.group()}, not a value: "
                    "fix the formula or type the value",
                    value=text,
                    grant_id=grant_id_text or None,
                    rule="spreadsheet-error",
                )
            )
            return None
        try:
            return parse(text)
        except ValueError as exc:
            errors.append(
                RecordError(
                    row,
                    column_name(column),
                    str(exc),
                    value=text,
                    grant_id=grant_id_text or None,
                    rule=getattr(exc, "rule", "parse"),
                )
            )
            return None

    participant = get("participant", parse_name, required=True)
    grant_date = get("grant_date", parse_date, required=True)
    shares = get("shares", parse_shares, required=True)
    award_type = get("award_type", parse_award_type, required=False) or "option"
    # an option's exercise price is required and positive; another award (restricted stock,
    # units) may have none, or an issue price of zero
    optional = award_type not in OPTION_AWARDS and "award_type" in index
    price = get(
        "exercise_price", parse_issue_price if optional else parse_price, required=not optional
    )
    if optional and price is None:
        price = Decimal(0)
    address = get("address", parse_address, required=False) or ()
    is_employee = get("is_employee", parse_bool, required=False) or False
    substitute = get("substitute", parse_bool, required=False) or False
    fmv = get("fair_market_value", parse_price, required=False)
    final_date = get("final_exercise_date", parse_date, required=False)
    term_years = get("term_years", parse_years, required=False)
    schedule = get("vesting_schedule", str, required=False)
    vesting_start = get("vesting_start", parse_date, required=False)
    vesting_date = get("vesting_date", parse_date, required=False)

    grant_id = grant_id_text
    if grant_id and not _GRANT_ID.fullmatch(grant_id):
        errors.append(
            RecordError(
                row,
                column_name("grant_id"),
                "a grant id may use only letters, digits, '-' and '_' (at most 64 characters)",
                value=grant_id,
            )
        )
    if errors:
        return None, errors
    assert isinstance(participant, str)
    assert isinstance(grant_date, date)
    assert isinstance(shares, int)
    assert isinstance(price, Decimal)
    derived = not grant_id
    if derived:
        grant_id = derive_grant_id(participant, grant_date, shares, price)
    return (
        GrantRecord(
            row=row,
            grant_id=grant_id,
            participant=participant,
            grant_date=grant_date,
            shares=shares,
            exercise_price=price,
            address=tuple(address),  # type: ignore[arg-type]
            award_type=str(award_type),
            is_employee=bool(is_employee),
            grant_id_derived=derived,
            substitute=bool(substitute),
            fair_market_value=fmv if isinstance(fmv, Decimal) else None,
            final_exercise_date=final_date if isinstance(final_date, date) else None,
            term_years=term_years if isinstance(term_years, int) else None,
            vesting_schedule=schedule if isinstance(schedule, str) else None,
            vesting_start=vesting_start if isinstance(vesting_start, date) else None,
            vesting_date=vesting_date if isinstance(vesting_date, date) else None,
        ),
        [],
    )
