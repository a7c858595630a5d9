"""The grants file's columns: the headers each column is known by (and --map for others), what
a header looks like it holds, and the rows to read (--only, --where)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from generator.reading.values import parse_bool, parse_date, parse_price, parse_shares

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


#: What a blank cell (or a column the file lacks) stands for, for a --where test.
_WHERE_DEFAULTS = {"is_employee": "no", "substitute": "no", "award_type": "option"}


def where_cell(column: str, cells: list[str], index: dict[str, int]) -> str:
    """A row's cell for a --where test; a blank one (or none) as the value it defaults to."""
    at = index.get(column)
    cell = cells[at] if at is not None and at < len(cells) else ""
    return cell if cell.strip() else _WHERE_DEFAULTS.get(column, "\x00blank")


_WHERE_VALUES: dict[str, Callable[[str], object]] = {
    "shares": parse_shares,
    "exercise_price": parse_price,
    "grant_date": parse_date,
    "is_employee": parse_bool,
    "substitute": parse_bool,
}


def header_matches(column: str, cell: str, wanted: str) -> bool:
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


def map_header(header: list[str], mapping: dict[str, str]) -> list[str | None]:
    """The canonical column each header cell is read as (None: not recognised)."""
    out: list[str | None] = []
    for name in header:
        key = normalise_header(name)
        out.append(mapping.get(key) or _HEADER_INDEX.get(key))
    return out
