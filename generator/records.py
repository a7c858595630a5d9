"""Read a grants spreadsheet (CSV) into typed, frozen grant records.

Every value is parsed before anything is rendered. A value that cannot be parsed becomes a
:class:`~generator.errors.RecordError` naming the spreadsheet row (header = row 1, first grant
= row 2), the column and the value; the row is then left out, and the other rows go on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from . import sheets
from .errors import InputError, RecordError
from .values import (
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

#: Canonical column names, and the header spellings that mean them. Header names are compared
#: after removing case and everything but letters and digits ("No. of Shares" = noofshares).
COLUMNS: dict[str, tuple[str, ...]] = {
    "grant_id": ("grantid", "id", "grantno", "grantnumber", "optionid", "awardid"),
    "participant": (
        "participant",
        "director",
        "name",
        "directorname",
        "participantname",
        "optionee",
        "grantee",
        "fullname",
        "legalname",
    ),
    "address": ("address", "mailingaddress", "homeaddress", "participantaddress"),
    "grant_date": ("grantdate", "dateofgrant", "date", "awarddate", "optiondate"),
    "shares": (
        "shares",
        "numberofshares",
        "noofshares",
        "numshares",
        "sharesgranted",
        "optionshares",
        "quantity",
        "optionsgranted",
        "numberofoptions",
        "sharesawarded",
        "numberofunits",
        "unitsgranted",
        "rsusgranted",
    ),
    "exercise_price": (
        "exerciseprice",
        "price",
        "pricepershare",
        "strikeprice",
        "strike",
        "optionprice",
        "exercisepricepershare",
        "strikepricepershare",
        "grantprice",
    ),
    "award_type": ("awardtype", "type", "granttype", "typeofaward", "typeofgrant", "equitytype"),
    "is_employee": ("isemployee", "employee", "employeeyn", "employeeflag", "isanemployee"),
    "substitute": ("substitute", "substituteoption"),
    "fair_market_value": ("fairmarketvalue", "fmv"),
    "final_exercise_date": ("finalexercisedate", "expirationdate", "expirydate"),
    "term_years": ("termyears", "term", "optionterm"),
    "vesting_schedule": ("vestingschedule", "vesting", "schedule", "vestingplan"),
    "vesting_start": (
        "vestingstart",
        "veststart",
        "veststartdate",
        "vestingstartdate",
        "vestingcommencementdate",
        "vestingcommencement",
        "vcd",
    ),
    "vesting_date": ("vestingdate", "vestdate"),
}
REQUIRED = ("participant", "grant_date", "shares", "exercise_price")

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


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.lower())


#: What ``--map 'Header=-'`` maps a header to: a column read by nobody, on purpose.
IGNORED = "-"
#: Words a header that grantgen does not understand may not contain: it is then probably
#: one of its columns, written another way (an ``Employee (Y/N)`` left unread would let an
#: employee pass the eligibility rule), and is refused with a suggestion.
_TELLING = {
    word: canon
    for canon, aliases in COLUMNS.items()
    for word in aliases
    if len(word) >= 6 and word not in ("fullname", "legalname", "address")
}


def looks_like(header: str) -> str | None:
    """The column(s) an unrecognised header may mean (it contains their words), in words
    (``'is_employee' or 'participant'``), or None."""
    key = normalise_header(header)
    found = {canon for word, canon in _TELLING.items() if word in key}
    if key.endswith("name"):  # "Employee Name" is a name, perhaps the participant's
        found.add("participant")
    return " or ".join(map(repr, sorted(found))) if found else None


@dataclass(frozen=True)
class ReadOptions:
    """How to read a grants file: which sheet, how to map headers, which rows to keep."""

    sheet: str | None = None
    """Excel sheet name (the first sheet when None)."""
    mapping: dict[str, str] = field(default_factory=dict)
    """Header as written → canonical column, for headers that aren't recognised."""
    only: RowSet | None = None
    """Spreadsheet row numbers to keep (None: all)."""
    where: tuple[tuple[str, str], ...] = ()
    """(canonical column, value): keep rows whose cell equals the value (case-insensitive)."""
    extra: tuple[str, ...] = ()
    """The kit's extra columns (``[columns] extra``): read as text, for its templates."""


@dataclass(frozen=True)
class RowSet:
    """Row numbers as inclusive ranges, so ``2-999999999`` costs no memory."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and any(lo <= number <= hi for lo, hi in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)


def parse_rows(text: str) -> RowSet:
    """``2-10,15`` → rows 2 to 10 and 15."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"([0-9]+)\s*-\s*([0-9]+)|([0-9]+)", part)
        if not m:
            raise ValueError(f"{part!r} is not a row or a range of rows (e.g. 2-10,15)")
        if m.group(3):
            ranges.append((int(m.group(3)), int(m.group(3))))
        else:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise ValueError(f"{part!r}: the range runs backwards")
            ranges.append((lo, hi))
    if not ranges or min(lo for lo, _ in ranges) < 2:
        raise ValueError("grant rows start at 2 (row 1 is the header)")
    return RowSet(tuple(ranges))


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``Director Name=participant`` (or a file of such lines) → {header: column}."""
    mapping: dict[str, str] = {}
    lines: list[str] = []
    for item in items:
        path = Path(item)
        if "=" not in item and path.is_file():
            lines += [ln for ln in path.read_text(encoding="utf-8-sig").splitlines()]
        else:
            lines.append(item)
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header, sep, column = line.rpartition("=")
        column = column.strip()
        if not sep or not header.strip():
            raise ValueError(f"{line!r}: write a mapping as 'Header in the file=column'")
        if column not in COLUMNS and column != IGNORED:
            raise ValueError(
                f"{line!r}: {column!r} is not a column (columns: {', '.join(COLUMNS)}; "
                f"or {IGNORED} to leave the column unread on purpose)"
            )
        mapping[normalise_header(header)] = column
    return mapping


#: Columns a --where value is compared with as the value it stands for (15000 = 15,000).
_WHERE_VALUES: dict[str, Callable[[str], object]] = {
    "shares": parse_shares,
    "exercise_price": parse_price,
    "grant_date": parse_date,
    "is_employee": parse_bool,
    "substitute": parse_bool,
}
#: What a blank cell (or a column the file lacks) stands for, for a --where test.
_WHERE_DEFAULTS = {"is_employee": "no", "substitute": "no", "award_type": "option"}


def _where_cell(column: str, cells: list[str], index: dict[str, int]) -> str:
    """A row's cell for a --where test; a blank one (or none) as the value it defaults to."""
    at = index.get(column)
    cell = cells[at] if at is not None and at < len(cells) else ""
    return cell if cell.strip() else _WHERE_DEFAULTS.get(column, "\x00blank")


def _matches(column: str, cell: str, wanted: str) -> bool:
    """A --where test: equal as values for numbers and dates, else as text ignoring case."""
    parse = _WHERE_VALUES.get(column)
    if parse is not None:
        try:
            return parse(cell) == parse(wanted)
        except ValueError:
            pass
    return cell.strip().casefold() == wanted.strip().casefold()


def parse_where(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        column, sep, value = item.partition("=")
        column = column.strip()
        if not sep:
            raise ValueError(f"{item!r}: write it as column=value (columns: {', '.join(COLUMNS)})")
        if column not in COLUMNS:
            raise ValueError(
                f"{item!r}: {column!r} is not a column grantgen reads (columns: "
                f"{', '.join(COLUMNS)})"
            )
        out.append((column, value.strip()))
    return tuple(out)


_HEADER_INDEX = {alias: canon for canon, aliases in COLUMNS.items() for alias in aliases}


# --- reading the file ----------------------------------------------------------------------


def map_header(header: list[str], mapping: dict[str, str]) -> list[str | None]:
    """The canonical column each header cell is read as (None: not recognised)."""
    out: list[str | None] = []
    for name in header:
        key = normalise_header(name)
        out.append(mapping.get(key) or _HEADER_INDEX.get(key))
    return out


def read_grants(path: str | Path, options: ReadOptions | None = None) -> ReadResult:
    """Parse every row of a grants CSV or Excel file; bad values become row/column errors."""
    path = Path(path)
    options = options or ReadOptions()
    sheets.check_regular(path)
    hidden_rows: set[int] = set()  # filled as the workbook is opened
    hidden_cols: set[int] = set()
    rows = sheets.rows(path, options.sheet, hidden_rows, hidden_cols)
    excel = path.suffix.lower() in sheets.EXCEL_SUFFIXES
    header: list[str] | None = None
    for _, cells in rows:
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise InputError(str(path), "is empty: expected a header row and at least one grant")

    present = {normalise_header(h) for h in header}
    # a mapping file may serve several spreadsheets: a header it names that this file lacks is
    # said only where it matters (a required column missing)
    absent = [h for h in options.mapping if h not in present]
    columns: dict[str, str] = {}
    index: dict[str, int] = {}
    warnings: list[str] = []
    unknown: list[str] = []
    declared = {normalise_header(name): name for name in options.extra}
    extras: dict[str, int] = {}  # the kit's extra columns: name -> cell index
    for i, (name, canon) in enumerate(
        zip(header, map_header(header, options.mapping), strict=True)
    ):
        if canon is None and normalise_header(name) in declared:
            extras[declared[normalise_header(name)]] = i
            continue
        if canon == IGNORED:
            continue  # left unread on purpose: no warning
        if canon is None:
            if name.strip():
                unknown.append(name)
            continue
        if canon in index:
            raise InputError(
                str(path),
                f"columns {header[index[canon]]!r} and {name!r} both mean {canon!r}",
            )
        index[canon] = i
        columns[name] = canon
    missing = [c for c in REQUIRED if c not in index]
    if "exercise_price" in missing and "award_type" in index:
        missing.remove("exercise_price")  # awards other than options have none: said per row
    named = ", ".join(map(repr, absent))
    unmatched = f"; --map names header(s) the file does not have: {named}" if absent else ""
    if missing:
        raise InputError(
            str(path),
            f"missing required column(s): {', '.join(missing)} (the header row has: "
            f"{', '.join(repr(h) for h in header)}{unmatched})",
        )
    lacking = [name for name in options.extra if name not in extras]
    if lacking:
        raise InputError(
            str(path),
            f"has no column for the kit's extra field(s) {', '.join(map(repr, lacking))}, "
            "which its templates print ([columns] extra in the plan file): add the column",
        )
    suspect = [(name, near) for name in unknown if (near := looks_like(name)) is not None]
    if suspect:
        name, canon = suspect[0]
        more = f" (and {len(suspect) - 1} more such column(s))" if len(suspect) > 1 else ""
        first = canon.split(" or ")[0].strip("'")
        raise InputError(
            str(path),
            f"column {name!r} is not understood, but it looks like {canon}{more}: say which "
            f"it is with --map '{name}={first}', or leave it unread with --map '{name}=-'",
        )
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        warnings.append(f"unknown column(s) ignored: {shown}{more}")

    records: list[GrantRecord] = []
    errors: list[RecordError] = []
    seen_rows = selected = 0
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank rows are skipped, not errors
        seen_rows += 1
        if options.only is not None and number not in options.only:
            continue
        if not all(
            _matches(column, _where_cell(column, cells, index), value)
            for column, value in options.where
        ):
            continue
        selected += 1
        record, row_errors = _parse_row(number, cells, header, index, excel)
        if record is not None and options.extra:
            values = _extra_cells(cells, extras, options.extra)
            blank = [name for name, value in values if not value]
            if blank:  # a template prints it: never a blank in a document
                row_errors.append(
                    RecordError(
                        number,
                        header[extras[blank[0]]] if blank[0] in extras else blank[0],
                        "a value is required (the kit's templates print this column)",
                        grant_id=record.grant_id,
                        rule="required",
                    )
                )
                record = None
            else:
                record = replace(record, extra=values)
        if record is not None:
            records.append(record)
        errors.extend(row_errors)
    if seen_rows == 0:
        raise InputError(str(path), "has a header row but no grants")
    if selected == 0:
        wanted = ([f"row {options.only}"] if options.only is not None else []) + [
            f"{column}={value}" for column, value in options.where
        ]
        raise InputError(
            str(path),
            f"no grant row matches {' and '.join(wanted)} (the file has {seen_rows} grant row(s))",
        )
    hidden = tuple(sorted(hidden_rows & {r.row for r in records}))
    hidden_columns = tuple(header[i] for i in sorted(index.values()) if i + 1 in hidden_cols)
    # a row refused for another reason still claims its grant id: a later row with the same
    # id is a repeat (fixing the first row would make two grants of one id)
    claimed = {e.row: e.grant_id for e in errors if e.grant_id}
    records, duplicates = _drop_repeated_ids(records, columns, index, header, claimed)
    errors.extend(duplicates)
    errors.sort(key=lambda e: e.row)
    return ReadResult(
        tuple(records), tuple(errors), tuple(warnings), columns, hidden, hidden_columns
    )


def _extra_cells(
    cells: list[str], extras: dict[str, int], names: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """A row's cells of the kit's extra columns, trimmed (a column the file lacks: empty)."""
    return tuple(
        (name, cells[extras[name]].strip() if name in extras and extras[name] < len(cells) else "")
        for name in names
    )


def _drop_repeated_ids(
    records: list[GrantRecord],
    columns: dict[str, str],
    index: dict[str, int],
    header: list[str],
    claimed: dict[int, str] | None = None,
) -> tuple[list[GrantRecord], list[RecordError]]:
    """A grant id used by an earlier row is an error on the later row (files are named by id).
    ``claimed``: rows refused for another reason, by row → the grant id they give. A row that
    gives no id and repeats an earlier such row exactly (its derived id is the same) is said to
    be a repeated row, on its participant: the file has no id to blame."""
    # ids compare without regard to case: CASE-1 and case-1 would be one file on a
    # case-insensitive disk, and are two names for one grant to a reader
    first: dict[str, int] = {}
    spelt: dict[str, str] = {}  # folded id -> as the earlier row wrote it
    for row, gid in sorted((claimed or {}).items(), reverse=True):
        first[gid.casefold()] = row  # the earliest row wins
        spelt[gid.casefold()] = gid
    derived: set[str] = set()  # ids no row gave, derived from the terms of the row first seen
    kept: list[GrantRecord] = []
    errors: list[RecordError] = []
    column = header[index["grant_id"]] if "grant_id" in index else "grant_id"
    for rec in records:
        earlier = first.get(rec.grant_id.casefold())
        if earlier is not None and earlier < rec.row:
            if rec.grant_id_derived and rec.grant_id in derived:
                errors.append(
                    RecordError(
                        rec.row,
                        header[index["participant"]],
                        f"repeats row {earlier}: the same participant, grant date, shares "
                        "and exercise price, and no grant id to tell them apart. A grant "
                        "entered twice? Delete one, or give each row its own grant_id if both "
                        "grants are meant",
                        grant_id=rec.grant_id,
                        rule="repeated-row",
                    )
                )
                continue
            if rec.grant_id_derived:
                message = (
                    f"no grant id given, and the one derived from the grant's terms is the "
                    f"grant id row {earlier} gives: give this row its own grant_id"
                )
            elif rec.grant_id in derived:
                message = (
                    f"repeated grant id: it is the id derived from the terms of row {earlier}, "
                    "which gives none"
                )
            elif spelt.get(rec.grant_id.casefold(), rec.grant_id) != rec.grant_id:
                message = (
                    f"repeated grant id: row {earlier} uses "
                    f"{spelt[rec.grant_id.casefold()]!r}, the same id in other capitals"
                )
            else:
                message = f"repeated grant id: row {earlier} already uses it"
            errors.append(
                RecordError(
                    rec.row,
                    column,
                    message,
                    value=None if rec.grant_id_derived else rec.grant_id,  # none was written
                    grant_id=rec.grant_id,
                    rule="unique-grant-id",
                )
            )
            continue
        first[rec.grant_id.casefold()] = rec.row
        spelt[rec.grant_id.casefold()] = rec.grant_id
        if rec.grant_id_derived:
            derived.add(rec.grant_id)
        kept.append(rec)
    return kept, errors


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
