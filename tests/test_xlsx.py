"""The summary's XLSX writer: what a spreadsheet program reads back from it."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl

from generator.xlsx import (
    BOLD,
    COUNT,
    DATE,
    DOLLARS,
    QUOTED,
    WRAPPED,
    Cell,
    Sheet,
    column_name,
    workbook,
)


def test_column_names() -> None:
    assert [column_name(n) for n in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_cells_come_back_typed_formatted_and_exact() -> None:
    sheet = Sheet("Grants & <Co>", widths=(6, 30), freeze_header=True, filter_columns=3)
    sheet.append([Cell("row", BOLD), Cell("name", BOLD), Cell("price", BOLD)])
    sheet.append([Cell(2), Cell('  Zoë O\'Brien & <Sons> "QA" '), Cell(Decimal("3.125"), DOLLARS)])
    sheet.append([Cell(15000, COUNT), Cell("=HYPERLINK(1)", QUOTED), Cell(date(2005, 5, 16), DATE)])
    sheet.append([Cell(None), Cell("two\nlines", WRAPPED), Cell("bell\x07 here")])
    data = workbook([sheet, Sheet("Totals")], creator="grantgen")
    assert data == workbook([sheet, Sheet("Totals")], creator="grantgen")  # same bytes
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Grants & <Co>", "Totals"]
    ws = book["Grants & <Co>"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C4"
    assert ws.column_dimensions["B"].width == 30
    assert ws["A1"].font.b and ws["A1"].value == "row"
    assert ws["B2"].value == '  Zoë O\'Brien & <Sons> "QA" '  # spaces and markup kept
    assert ws["C2"].value == 3.125 and ws["C2"].number_format == "$#,##0.00##"
    assert ws["A3"].value == 15000 and ws["A3"].number_format == "#,##0"
    assert (ws["B3"].value, ws["B3"].data_type, ws["B3"].quotePrefix) == (
        "=HYPERLINK(1)",
        "s",
        True,
    )
    assert ws["C3"].is_date and ws["C3"].value == datetime(2005, 5, 16)
    assert ws["A4"].value is None
    assert ws["B4"].value == "two\nlines" and ws["B4"].alignment.wrap_text
    assert ws["C4"].value == "bell\ufffd here"  # a character XML cannot hold is marked, not lost
    assert book.properties.creator == "grantgen"
