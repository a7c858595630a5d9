"""Read a grants spreadsheet (CSV, or an Excel workbook through :mod:`.sheets`) into typed,
frozen grant records.

Every value is parsed before anything is rendered. A value that cannot be parsed becomes a
:class:`~generator.core.errors.RecordError` naming the spreadsheet row (header = row 1, first grant
= row 2), the column and the value; the row is then left out, and the other rows go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.core.errors import InputError, RecordError
from generator.reading import sheets
from generator.reading.columns import (
    IGNORED,
    REQUIRED,
    ReadOptions,
    header_matches,
    looks_like,
    map_header,
    normalise_header,
    where_cell,
)
from generator.reading.grantrecord import GrantRecord, ReadResult
from generator.reading.rowparse import parse_row

# --- reading the file ----------------------------------------------------------------------


def read_grants(path: str | Path, options: ReadOptions | None = None) -> ReadResult:
    """Parse every row of a grants CSV or Excel file; bad values become row/column errors."""
    path = Path(path)
    options = options or ReadOptions()
    sheets.check_regular(path)
    hidden_rows: set[int] = set()  # filled as the workbook is opened
    hidden_cols: set[int] = set()
    rows = sheets.rows(path, options.sheet, hidden_rows, hidden_cols)
    excel = path.suffix.lower() in sheets.EXCEL_SUFFIXES
    head = _read_header(path, rows, options)
    warnings = _check_header(path, head, options)
    found = _read_rows(rows, head, options, excel)
    _check_found(path, found, options)
    hidden = tuple(sorted(hidden_rows & {r.row for r in found.records}))
    hidden_columns = tuple(
        head.cells[i] for i in sorted(head.index.values()) if i + 1 in hidden_cols
    )
    # a row refused for another reason still claims its grant id: a later row with the same
    # id is a repeat (fixing the first row would make two grants of one id)
    claimed = {e.row: e.grant_id for e in found.errors if e.grant_id}
    records, duplicates = _drop_repeated_ids(
        found.records, head.columns, head.index, head.cells, claimed
    )
    errors = found.errors + duplicates
    errors.sort(key=lambda e: e.row)
    return ReadResult(
        tuple(records), tuple(errors), tuple(warnings), head.columns, hidden, hidden_columns
    )


# --- the header row ------------------------------------------------------------------------


@dataclass
class _Header:
    """The header row, and which cell holds each column grantgen reads."""

    cells: list[str]
    columns: dict[str, str] = field(default_factory=dict)
    """Each header as written → the canonical column it is read as."""
    index: dict[str, int] = field(default_factory=dict)
    """Each canonical column → its cell."""
    extras: dict[str, int] = field(default_factory=dict)
    """The kit's extra columns: name → cell."""
    unknown: list[str] = field(default_factory=list)
    """Headers grantgen does not understand, in order."""


def _read_header(
    path: Path, rows: Iterator[tuple[int, list[str]]], options: ReadOptions
) -> _Header:
    """The first row that is not blank, and the column each of its cells is read as (two
    cells of one column are refused)."""
    cells: list[str] | None = None
    for _, row in rows:
        if any(c.strip() for c in row):
            cells = row
            break
    if cells is None:
        raise InputError(str(path), "is empty: expected a header row and at least one grant")
    head = _Header(cells)
    declared = {normalise_header(name): name for name in options.extra}
    for i, (name, canon) in enumerate(zip(cells, map_header(cells, options.mapping), strict=True)):
        if canon is None and normalise_header(name) in declared:
            head.extras[declared[normalise_header(name)]] = i
            continue
        if canon == IGNORED:
            continue  # left unread on purpose: no warning
        if canon is None:
            if name.strip():
                head.unknown.append(name)
            continue
        if canon in head.index:
            raise InputError(
                str(path),
                f"columns {cells[head.index[canon]]!r} and {name!r} both mean {canon!r}",
            )
        head.index[canon] = i
        head.columns[name] = canon
    return head


def _check_header(path: Path, head: _Header, options: ReadOptions) -> list[str]:
    """Refuse a header without a required column or a kit's extra column, or with a column
    that looks like one grantgen reads; the warnings about the other headers it ignores."""
    present = {normalise_header(h) for h in head.cells}
    # a mapping file may serve several spreadsheets: a header it names that this file lacks is
    # said only where it matters (a required column missing)
    absent = [h for h in options.mapping if h not in present]
    missing = [c for c in REQUIRED if c not in head.index]
    if "exercise_price" in missing and "award_type" in head.index:
        missing.remove("exercise_price")  # awards other than options have none: said per row
    named = ", ".join(map(repr, absent))
    unmatched = f"; --map names header(s) the file does not have: {named}" if absent else ""
    if missing:
        raise InputError(
            str(path),
            f"missing required column(s): {', '.join(missing)} (the header row has: "
            f"{', '.join(repr(h) for h in head.cells)}{unmatched})",
        )
    lacking = [name for name in options.extra if name not in head.extras]
    if lacking:
        raise InputError(
            str(path),
            f"has no column for the kit's extra field(s) {', '.join(map(repr, lacking))}, "
            "which its templates print ([columns] extra in the plan file): add the column",
        )
    _refuse_lookalikes(path, head.unknown)
    if not head.unknown:
        return []
    shown = ", ".join(repr(u) for u in head.unknown[:20])
    more = f" and {len(head.unknown) - 20} more" if len(head.unknown) > 20 else ""
    return [f"unknown column(s) ignored: {shown}{more}"]


def _refuse_lookalikes(path: Path, unknown: list[str]) -> None:
    """An unknown header that looks like a column grantgen reads must be mapped or ignored
    by name (``--map``), not ignored unsaid."""
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


# --- the grant rows ------------------------------------------------------------------------


@dataclass
class _Rows:
    """What the grant rows gave: the records and the row errors, in row order, and how many
    rows there were and were chosen."""

    records: list[GrantRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    seen: int = 0
    selected: int = 0


def _read_rows(
    rows: Iterator[tuple[int, list[str]]], head: _Header, options: ReadOptions, excel: bool
) -> _Rows:
    """Parse each grant row ``--row`` and ``--where`` choose (blank rows are skipped)."""
    found = _Rows()
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank rows are skipped, not errors
        found.seen += 1
        if not _chosen(number, cells, head.index, options):
            continue
        found.selected += 1
        record, row_errors = _parse_with_extras(number, cells, head, options.extra, excel)
        if record is not None:
            found.records.append(record)
        found.errors.extend(row_errors)
    return found


def _chosen(number: int, cells: list[str], index: dict[str, int], options: ReadOptions) -> bool:
    """Whether ``--row`` and ``--where`` keep the row."""
    if options.only is not None and number not in options.only:
        return False
    return all(
        header_matches(column, where_cell(column, cells, index), value)
        for column, value in options.where
    )


def _parse_with_extras(
    number: int, cells: list[str], head: _Header, extra: tuple[str, ...], excel: bool
) -> tuple[GrantRecord | None, list[RecordError]]:
    """:func:`parse_row`, with the cells of the kit's extra columns (a blank one refuses the
    row)."""
    record, row_errors = parse_row(number, cells, head.cells, head.index, excel)
    if record is None or not extra:
        return record, row_errors
    values = _extra_cells(cells, head.extras, extra)
    blank = [name for name, value in values if not value]
    if not blank:
        return replace(record, extra=values), row_errors
    row_errors.append(  # a template prints it: never a blank in a document
        RecordError(
            number,
            head.cells[head.extras[blank[0]]] if blank[0] in head.extras else blank[0],
            "a value is required (the kit's templates print this column)",
            grant_id=record.grant_id,
            rule="required",
        )
    )
    return None, row_errors


def _check_found(path: Path, found: _Rows, options: ReadOptions) -> None:
    """Refuse a file with no grant row, or none that ``--row`` and ``--where`` choose."""
    if found.seen == 0:
        raise InputError(str(path), "has a header row but no grants")
    if found.selected == 0:
        wanted = ([f"row {options.only}"] if options.only is not None else []) + [
            f"{column}={value}" for column, value in options.where
        ]
        raise InputError(
            str(path),
            f"no grant row matches {' and '.join(wanted)} (the file has {found.seen} grant row(s))",
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
    ids = _SeenIds()
    for row, gid in sorted((claimed or {}).items(), reverse=True):
        ids.add(row, gid)  # the earliest row wins
    kept: list[GrantRecord] = []
    errors: list[RecordError] = []
    column = header[index["grant_id"]] if "grant_id" in index else "grant_id"
    for rec in records:
        earlier = ids.first.get(rec.grant_id.casefold())
        if earlier is None or earlier >= rec.row:
            ids.add(rec.row, rec.grant_id)
            if rec.grant_id_derived:
                ids.derived.add(rec.grant_id)
            kept.append(rec)
        elif rec.grant_id_derived and rec.grant_id in ids.derived:
            errors.append(_repeated_row(rec, earlier, header[index["participant"]]))
        else:
            errors.append(
                RecordError(
                    rec.row,
                    column,
                    _repeated_id(rec, earlier, ids),
                    value=None if rec.grant_id_derived else rec.grant_id,  # none was written
                    grant_id=rec.grant_id,
                    rule="unique-grant-id",
                )
            )
    return kept, errors


@dataclass
class _SeenIds:
    """The grant ids of the rows so far. Ids compare without regard to case: CASE-1 and case-1
    would be one file on a case-insensitive disk, and are two names for one grant to a reader."""

    first: dict[str, int] = field(default_factory=dict)
    """Folded id → the row that gave it."""
    spelt: dict[str, str] = field(default_factory=dict)
    """Folded id → as that row wrote it."""
    derived: set[str] = field(default_factory=set)
    """Ids no row gave, derived from the terms of the row first seen."""

    def add(self, row: int, grant_id: str) -> None:
        self.first[grant_id.casefold()] = row
        self.spelt[grant_id.casefold()] = grant_id


def _repeated_row(rec: GrantRecord, earlier: int, participant: str) -> RecordError:
    """A row that gives no grant id and repeats the terms of an earlier such row."""
    return RecordError(
        rec.row,
        participant,
        f"repeats row {earlier}: the same participant, grant date, shares "
        "and exercise price, and no grant id to tell them apart. A grant "
        "entered twice? Delete one, or give each row its own grant_id if both "
        "grants are meant",
        grant_id=rec.grant_id,
        rule="repeated-row",
    )


def _repeated_id(rec: GrantRecord, earlier: int, ids: _SeenIds) -> str:
    """Why a row's grant id is the one of row ``earlier``."""
    if rec.grant_id_derived:
        return (
            f"no grant id given, and the one derived from the grant's terms is the "
            f"grant id row {earlier} gives: give this row its own grant_id"
        )
    if rec.grant_id in ids.derived:
        return (
            f"repeated grant id: it is the id derived from the terms of row {earlier}, "
            "which gives none"
        )
    if ids.spelt.get(rec.grant_id.casefold(), rec.grant_id) != rec.grant_id:
        return (
            f"repeated grant id: row {earlier} uses "
            f"{ids.spelt[rec.grant_id.casefold()]!r}, the same id in other capitals"
        )
    return f"repeated grant id: row {earlier} already uses it"
