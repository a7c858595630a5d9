"""A small, deterministic XLSX writer for the review summary: typed cells (text, whole
numbers, decimals, dates), a bold header row, column widths, frozen panes and a filter.

The workbook is written directly as SpreadsheetML (inline strings, one styles part), the same
bytes for the same rows: a 1,000-row summary takes a few hundredths of a second, where
building it cell by cell with openpyxl took more than ten times that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from .package import zip_files

#: Cell formats (the ``s`` index of a cell): see :data:`_STYLES`.
PLAIN, BOLD, DATE, DOLLARS, COUNT, QUOTED, QUOTED_WRAPPED, WRAPPED = range(8)
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>\
<numFmt numFmtId="165" formatCode="$#,##0.00##"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="{WRAPPED + 1}">\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" \
applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf>\
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
#: Characters XML 1.0 cannot hold: shown as U+FFFD rather than making the file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = date(1899, 12, 30)  # serial 0 of the 1900 date system (1900-03-01 onwards)
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

Value = str | int | Decimal | date | None


@dataclass(frozen=True)
class Cell:
    """A value and its format (one of :data:`PLAIN` … :data:`WRAPPED`)."""

    value: Value
    style: int = PLAIN


@dataclass
class Sheet:
    """One worksheet: its rows, and how it is shown."""

    name: str
    widths: Sequence[float] = ()
    """Column widths from column A, in characters."""
    rows: list[list[Cell]] | None = None
    freeze_header: bool = False
    """Keep the first row in view while scrolling."""
    filter_columns: int = 0
    """Put a filter on the first row over this many columns (0: none)."""

    def __post_init__(self) -> None:
        if self.rows is None:
            self.rows = []

    def append(self, cells: Iterable[Cell]) -> None:
        assert self.rows is not None
        self.rows.append(list(cells))


def column_name(index: int) -> str:
    """``A`` for 0, ``Z`` for 25, ``AA`` for 26, …"""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: str) -> str:
    value = _NOT_XML.sub("\ufffd", value)
    space = ' xml:space="preserve"' if value != value.strip() or "\n" in value else ""
    return f"<is><t{space}>{escape(value)}</t></is>"


def _cell(ref: str, cell: Cell) -> str:
    value, style = cell.value, cell.style
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):  # (a bool is an int: never wanted as 0/1 here)
        value = str(value)
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr">{_text(value)}</c>'
    if isinstance(value, date):
        return f'<c r="{ref}"{s}><v>{(value - _EPOCH).days}</v></c>'
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


def _sheet_xml(sheet: Sheet) -> bytes:
    rows = sheet.rows or []
    width = max((len(r) for r in rows), default=1)
    last = f"{column_name(width - 1)}{max(len(rows), 1)}"
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last}"/>',
        '<sheetViews><sheetView workbookViewId="0">',
    ]
    if sheet.freeze_header:
        parts.append(
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        )
    parts.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        parts.append("<cols>")
        for n, w in enumerate(sheet.widths, start=1):
            parts.append(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>')
        parts.append("</cols>")
    parts.append("<sheetData>")
    names = [column_name(n) for n in range(width)]
    for number, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{names[n]}{number}", c) for n, c in enumerate(row))
        parts.append(f'<row r="{number}">{cells}</row>')
    parts.append("</sheetData>")
    if sheet.filter_columns:
        ref = f"A1:{column_name(sheet.filter_columns - 1)}{max(len(rows), 1)}"
        parts.append(f'<autoFilter ref="{ref}"/>')
    parts.append(
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )
    return "".join(parts).encode("utf-8")


def workbook(sheets: Sequence[Sheet], *, creator: str) -> bytes:
    """The XLSX file of ``sheets`` (the same bytes for the same content)."""
    count = len(sheets)
    files: dict[str, bytes] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for n in range(1, count + 1)
            )
            + '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'
        ).encode("utf-8"),
        "_rels/.rels": (
            _HEAD + f'<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'
        ).encode(),
        "docProps/app.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns='
            '"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>{escape(creator)}</Application></Properties>"
        ).encode(),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{escape(creator)}</dc:creator>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">1980-01-01T00:00:00Z</dcterms:created>'
            '<dcterms:modified xsi:type="dcterms:W3CDTF">1980-01-01T00:00:00Z</dcterms:modified>'
            "</cp:coreProperties>"
        ).encode(),
        "xl/workbook.xml": (
            _HEAD + f'<workbook xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><bookViews><workbookView/></bookViews><sheets>'
            + "".join(
                f'<sheet name="{escape(s.name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                for n, s in enumerate(sheets, start=1)
            )
            + "</sheets>"
            + _filter_names(sheets)
            + "</workbook>"
        ).encode("utf-8"),
        "xl/_rels/workbook.xml.rels": (
            _HEAD
            + f'<Relationships xmlns="{_PKG}">'
            + "".join(
                f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" '
                f'Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, count + 1)
            )
            + f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ).encode("utf-8"),
        "xl/styles.xml": _STYLES.encode("utf-8"),
    }
    for n, sheet in enumerate(sheets, start=1):
        files[f"xl/worksheets/sheet{n}.xml"] = _sheet_xml(sheet)
    return zip_files(files)


def _filter_names(sheets: Sequence[Sheet]) -> str:
    """The hidden names Excel keeps for each sheet's filter range."""
    names = []
    for n, sheet in enumerate(sheets):
        if sheet.filter_columns:
            end = f"${column_name(sheet.filter_columns - 1)}${max(len(sheet.rows or []), 1)}"
            title = sheet.name.replace("'", "''")
            names.append(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
                f"{escape(f'{chr(39)}{title}{chr(39)}!$A$1:{end}')}</definedName>"
            )
    return f"<definedNames>{''.join(names)}</definedNames>" if names else ""
