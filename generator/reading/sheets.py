"""Rows of cells from a grants spreadsheet: CSV (any common encoding, detected or refused with
the encoding named) or Excel .xlsx (read with openpyxl, defusedxml guarding the XML).

Every cell comes out as text, the form the record parsers read: an Excel date as
``2005-05-16``, a number as its exact decimal text, a formula as its cached value. A hostile
workbook (a zip bomb, thousands of members, XML entity declarations) is refused before it is
parsed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator.core.errors import InputError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Limits for archives (DOCX templates, XLSX inputs) checked before anything is parsed.
MAX_MEMBERS = 2000
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200


def kind_of_file(head: bytes) -> str | None:
    """What a file that is not the expected one is, from its first bytes, for the message."""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return (
            "an old-style Excel .xls workbook or a password-protected one: save it (without a "
            "password) as .xlsx or CSV UTF-8"
        )
    if head.startswith(b"PK\x03\x04") and b"opendocument" in head[:200]:
        return "an OpenDocument (.ods/.odt) file: save it as .xlsx or CSV UTF-8"
    return None


def check_archive(path: Path | str, data: bytes | None = None, *, what: str = "file") -> None:
    """Refuse a zip that is a bomb: too many members, too large unpacked, or compressed far
    beyond what documents compress to; and XML that declares entities (billion laughs, XXE)."""
    source: Any = io.BytesIO(data) if data is not None else path
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        head = data[:512] if data is not None else _head(Path(path))
        kind = kind_of_file(head)
        if kind is not None:
            raise InputError(str(path), f"is {kind}") from None
        if what == "Excel workbook" and head and b"\x00" not in head and b"," in head:
            raise InputError(
                str(path), f"is not a valid {what}: it looks like CSV text; name it .csv"
            ) from None
        raise InputError(str(path), f"is not a valid {what} (not a zip archive: {exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise InputError(str(path), f"has {len(members)} archive members; refused (zip bomb?)")
        total = sum(m.file_size for m in members)
        if total > MAX_TOTAL_BYTES:
            raise InputError(str(path), f"unpacks to {total:,} bytes; refused (zip bomb?)")
        for m in members:
            if m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
                raise InputError(
                    str(path),
                    f"member {m.filename} is compressed {m.file_size // max(m.compress_size, 1)}"
                    ":1; refused (zip bomb?)",
                )
        for m in members:
            if m.filename.endswith((".xml", ".rels")):
                with archive.open(m) as fh:
                    head = fh.read(64 * 1024)
                if re.search(rb"<!(DOCTYPE|ENTITY)", head):
                    raise InputError(
                        str(path), f"member {m.filename} declares XML entities; refused"
                    )
        if what == "Excel workbook" and "[Content_Types].xml" not in archive.namelist():
            kind = kind_of_file(_head(Path(path)) if data is None else data[:512])
            raise InputError(
                str(path), f"is {kind}" if kind else f"is not a valid {what} (no [Content_Types])"
            )


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(512)
    except OSError:
        return b""


_BINARY = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF", b"\xd0\xcf\x11\xe0")


def decode(path: Path, raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM) or UTF-16 with a BOM; else refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(str(path), "claims UTF-16 (it has a BOM) but is not") from None
    if raw.count(b"\x00") > max(8, len(raw) // 100) or raw.startswith(_BINARY):
        raise InputError(str(path), "is not a CSV text file (it looks like a binary file)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path),
            f"is not UTF-8 (bad byte 0x{raw[exc.start]:02x} at offset {exc.start}); it may be "
            "Latin-1 or Windows-1252: save it as 'CSV UTF-8' and try again",
        ) from None


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every row of a CSV file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror}") from None
    kind = kind_of_file(raw[:512])
    if kind is not None:
        raise InputError(str(path), f"is {kind}")
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(str(path), "is a zip archive (an Excel file?), not CSV: name it .xlsx")
    text = decode(path, raw)
    text, delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number, ended = 0, 0  # records read; the line the last one ended on
    try:
        for number, cells in enumerate(reader, start=1):
            ended = reader.line_num
            yield number, cells
    except csv.Error as exc:
        where = f"row {number + 1} (line {ended + 1})"
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            opened = text.count('"', _offset_of_line(text, ended)) % 2 == 1
            raise InputError(
                str(path),
                f"{where}: a cell is longer than {limit:,} characters, far more than any "
                "grant's value"
                + (
                    "; a quote opened there and never closed would make the rest of the file "
                    "one cell: check the quotes in that row"
                    if opened
                    else ": shorten it (is a whole document pasted into the cell?)"
                ),
            ) from None
        # a quote opened and never closed swallows every line after it: name where it opened
        raise InputError(
            str(path), f"{where}: not valid CSV ({exc}); check the quotes in that row"
        ) from None


def _offset_of_line(text: str, line: int) -> int:
    """Where line ``line`` + 1 (counted from 1) starts in ``text``: after ``line`` ends."""
    at = 0
    for _ in range(line):
        found = text.find("\n", at)
        if found < 0:
            return len(text)
        at = found + 1
    return at


_SEP_LINE = re.compile(r'"?sep=(.)"?[ \t]*\r?\n', re.IGNORECASE)
_DELIMITERS = (",", ";", "\t")


def _delimiter(text: str) -> tuple[str, str]:
    """The text without Excel's ``sep=;`` line, and the cell delimiter: that line's, or else
    the one of comma, semicolon (Excel's CSV where the decimal mark is a comma) and tab that
    splits the header (the first record that is not blank, quotes respected) into the most
    cells; a comma when they tie."""
    if m := _SEP_LINE.match(text):
        return text[m.end() :], m[1]
    best, most = ",", 0
    for candidate in _DELIMITERS:
        cells = _header_cells(text, candidate)
        if cells > most:
            best, most = candidate, cells
    return text, best


def _header_cells(text: str, delimiter: str) -> int:
    """How many cells the first record that is not blank has, read with ``delimiter``."""
    reader = csv.reader(io.StringIO(text[:65536], newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                return len(cells)
    except csv.Error:
        return 0
    return 0


def xlsx_rows(
    path: Path,
    sheet: str | None = None,
    hidden: set[int] | None = None,
    hidden_columns: set[int] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells as text) for every row of one sheet of a workbook.
    ``hidden`` and ``hidden_columns``: filled, before the first row, with the rows the sheet
    hides (by hand or by a filter) and the columns it hides (1 for column A)."""
    import openpyxl

    # openpyxl warns on stderr about parts it does not read (data validation lists, ...):
    # they do not change a cell's value, and a user should not see a library's file paths
    warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")

    check_archive(path, what="Excel workbook")
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(str(path), f"cannot be read as an Excel workbook: {exc}") from None
    try:
        name = _chosen_sheet(path, values, sheet)
        if hidden is not None or hidden_columns is not None:
            rows_hidden, columns_hidden = _hidden_rows(
                path, getattr(values[name], "_worksheet_path", "")
            )
            for found, into in ((rows_hidden, hidden), (columns_hidden, hidden_columns)):
                if into is not None:
                    into |= found
        for book in (values, formulas):
            # the size a file records can be wrong (some programs write it so): read every row
            book[name].reset_dimensions()
        cached = values[name].iter_rows()
        source = formulas[name].iter_rows()
        for number, (row, raw) in enumerate(zip(cached, source, strict=True), start=1):
            yield number, [_cell_text(path, number, c, f) for c, f in zip(row, raw, strict=True)]
    finally:
        values.close()
        formulas.close()


def _chosen_sheet(path: Path, book: Any, sheet: str | None) -> str:
    """The sheet to read: ``sheet``, else the first visible sheet of cells."""
    names = book.sheetnames
    if sheet is not None and sheet not in names:
        raise InputError(str(path), f"has no sheet {sheet!r} (sheets: {', '.join(names)})")
    tables = [n for n in names if hasattr(book[n], "iter_rows")]  # not chart sheets
    if sheet is not None and sheet not in tables:
        raise InputError(str(path), f"sheet {sheet!r} is a chart, not a table of grants")
    visible = [n for n in tables if book[n].sheet_state == "visible"]
    if sheet is None and not visible:
        raise InputError(str(path), "has no visible sheet of cells; name one with --sheet")
    return sheet or visible[0]  # a hidden sheet (old data, lookups) is read only by name


_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*>")


_HIDDEN_COLUMNS = re.compile(rb"<(?:\w+:)?col\b[^>]*>")


def _hidden_rows(path: Path, member: str) -> tuple[set[int], set[int]]:
    """The numbers of the rows, and of the columns (1 = A), a sheet (its part ``member`` of
    the workbook) hides."""
    hidden: set[int] = set()
    columns: set[int] = set()
    if not member:
        return hidden, columns
    with zipfile.ZipFile(path) as package, package.open(member) as fh:
        xml = fh.read()
    for tag in _HIDDEN_ROW.finditer(xml):
        text = tag.group()
        number = re.search(rb'\br="(\d+)"', text)
        if number and re.search(rb'\bhidden="(?:1|true)"', text):
            hidden.add(int(number.group(1)))
    for tag in _HIDDEN_COLUMNS.finditer(xml):
        text = tag.group()
        first, last = re.search(rb'\bmin="(\d+)"', text), re.search(rb'\bmax="(\d+)"', text)
        if first and last and re.search(rb'\bhidden="(?:1|true)"', text):
            columns.update(range(int(first.group(1)), min(int(last.group(1)), 16384) + 1))
    return hidden, columns


#: What a cell holding a formula with no saved value reads as: this, the cell, NUL, the formula.
UNSAVED_FORMULA = "\x00formula-without-value\x00"


def _cell_text(path: Path, row: int, cell: Any, source: Any) -> str:
    value = cell.value
    formula = isinstance(source.value, str) and source.value.startswith("=")
    if value is None:
        if formula and getattr(cell, "data_type", None) == "str":
            return ""  # a formula whose saved result is the empty text, e.g. =IF(x,"",y)
        if formula:  # an error only if grantgen reads that column (a Notes column is not)
            return f"{UNSAVED_FORMULA}{source.coordinate}\x00{source.value}"
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            return value.isoformat(sep=" ")
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        fmt = getattr(cell, "number_format", "") or ""
        if isinstance(value, int) and re.fullmatch(r"0+", fmt):  # leading zeros: 00123
            return str(value).zfill(len(fmt))
        # as a spreadsheet shows it: 15 significant digits at most, so a formula's binary
        # noise (15000.000000000002) is not read as data
        shown = Decimal(format(value, ".15g"))
        if shown == shown.to_integral_value() and abs(shown) < Decimal(10**15):
            number = str(int(shown))
        else:
            number = format(shown.normalize(), "f")
        unit = _shown_unit(fmt)  # a price in euros or a percentage is not a number of dollars
        if unit == "%":
            return format((shown * 100).normalize(), "f") + "%"
        return number if unit is None else f"{unit} {number}"
    return str(value)


#: Currency signs a cell's number format may show other than the dollar's.
_OTHER_CURRENCY = re.compile(r"[€£¥₹₩₽₺₪₫฿₦₱₴₲₡₵]|\[\$(?!\$|-)[^\]]*\]|\b(?:EUR|GBP|JPY|CHF|CAD)\b")


def _shown_unit(fmt: str) -> str | None:
    """What a number format shows beside the number that is not dollars: a percent sign, or
    another currency (``€``, ``[$EUR]``, ``"£"``), as the text to put before the number; None
    for plain numbers and dollars."""
    unquoted = re.sub(r'"[^"]*"', lambda m: m.group().strip('"'), fmt.split(";")[0])
    found = _OTHER_CURRENCY.search(unquoted)
    if found:
        return found.group().strip("[]$").split("-")[0] or found.group()
    if "%" in re.sub(r"\\%", "", unquoted):
        return "%"
    return None


#: The largest grants file read (a spreadsheet of this size holds millions of grants).
MAX_INPUT_BYTES = 512 * 1024 * 1024


def check_regular(path: Path, what: str = "grants file") -> None:
    """Refuse what is not a regular file of sane size: a FIFO or a device (``/dev/zero``)
    would block or be read without end."""
    import stat

    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            str(path), f"is not a regular file (a pipe, a device or a folder): give a {what}"
        )
    if info.st_size > MAX_INPUT_BYTES:
        raise InputError(
            str(path),
            f"is {info.st_size:,} bytes; a {what} of more than {MAX_INPUT_BYTES:,} bytes is "
            "not read",
        )


def rows(
    path: Path,
    sheet: str | None = None,
    hidden: set[int] | None = None,
    hidden_columns: set[int] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV or Excel file, chosen by the file's name (``hidden``, ``hidden_columns``:
    see :func:`xlsx_rows`; a CSV file hides none)."""
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return xlsx_rows(path, sheet, hidden, hidden_columns)
    if sheet is not None:
        raise InputError(str(path), "--sheet applies to Excel workbooks only")
    return csv_rows(path)
