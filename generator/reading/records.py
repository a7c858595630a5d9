"""Read a grants spreadsheet (CSV) into typed, frozen grant records.

Every value is parsed before anything is rendered. A value that cannot be parsed becomes a
:class:`~generator.errors.RecordError` naming the spreadsheet row (header = row 1, first grant
= row 2), the column and the value; the row is then left out, and the other rows go on.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from generator.core.errors import InputError, RecordError
from generator.reading import sheets
from generator.reading.columns import (
    IGNORED,
    REQUIRED,
    ReadOptions,
    _matches,
    _where_cell,
    looks_like,
    map_header,
    normalise_header,
)
from generator.reading.grantrecord import GrantRecord, ReadResult
from generator.reading.rowparse import _parse_row

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
