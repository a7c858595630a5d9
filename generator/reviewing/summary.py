"""The review summary of a batch: one standalone HTML page, and the same table as CSV and XLSX
(and the totals as ``totals.csv``).

The page needs nothing from the network: its CSS is inline, it has no scripts and uses the
reader's own serif font, and a Content-Security-Policy forbids it from fetching anything.
Every value is HTML-escaped. The spreadsheets hold numbers as numbers and dates as dates; text
cells a spreadsheet would run as a formula are neutralised (:func:`.output.neutralise_cell`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from generator.checking.fields import format_date, format_price, format_shares
from generator.comparing.deviations import Deviation
from generator.core.output import neutralise_cell
from generator.terms.planmodel import Plan
from generator.terms.section16 import form4_due

if TYPE_CHECKING:
    from generator.making.batch import ReviewBatch, ReviewGrant

COLUMNS = (
    "row",
    "grant_id",
    "participant",
    "grant_date",
    "shares",
    "exercise_price",
    "price_source",
    "final_exercise_date",
    "vesting",
    "status",
    "findings",
    "sections",
    "deviations",
    "docx",
    "pdf",
)
HEADINGS = (
    "Row",
    "Grant",
    "Participant",
    "Grant date",
    "Shares",
    "Exercise price",
    "Price source",
    "Final Exercise Date",
    "Vesting",
    "Status",
    "Findings",
)


def finding_text(f: Mapping[str, object]) -> str:
    """``error 5(b) exercise-price: message``."""
    return f"{f.get('severity')} {f.get('section')} {f.get('rule')}: {f.get('message')}"


def totals(batch: ReviewBatch) -> list[tuple[str, int]]:
    """The batch's counts and the share reserve before and after it, as (label, number)."""
    count: dict[str, int] = {}
    for g in batch.grants:
        count[g.status] = count.get(g.status, 0) + 1
    made = "draft" if batch.draft else "generated"
    after = "Available after this batch" + (" (if made final)" if batch.draft else "")
    return [
        ("Grants in the batch", len(batch.grants)),
        ("Drafts made" if batch.draft else "Generated", count.get(made, 0)),
        ("Refused", count.get("refused", 0)),
        ("Failed", count.get("failed", 0)),
        ("Shares granted", sum(g.shares or 0 for g in batch.grants if g.valid)),
        *(
            [("of which already in the ledger (not counted again)", batch.already_recorded)]
            if batch.already_recorded
            else []
        ),
        (f"Share reserve (Section {batch.plan.section('reserve')})", batch.reserve),
        ("Available before this batch", batch.available_before),
        (after, batch.available_after),
    ]


# --- CSV and XLSX --------------------------------------------------------------------------


def _cells(g: ReviewGrant, deviations: Mapping[str, Sequence[Deviation]]) -> list[object]:
    """One grant's cells, typed: int, Decimal, date, text or None. ``deviations``: by grant
    id, for the agreements that were compared with the form (their count is a cell)."""
    found = deviations.get(g.grant_id)
    return [
        g.row,
        g.grant_id,
        g.participant,
        g.grant_date,
        g.shares,
        g.exercise_price,
        g.price_source,
        g.final_exercise_date,
        g.vesting or None,
        g.status,
        "\n".join(finding_text(f) for f in g.findings),
        ", ".join(dict.fromkeys(str(f.get("section")) for f in g.findings)),
        None if found is None else _count(found),
        g.docx.name if g.docx else None,
        g.pdf.name if g.pdf else None,
    ]


def _form4_due(g: ReviewGrant) -> date | None:
    """The last day to file the grant's Form 4 (a plan whose participants report)."""
    return form4_due(g.grant_date) if g.grant_date is not None else None


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_price(value)[1:].replace(",", "")  # 3.2500 -> 3.25, 3.125 -> 3.125
    if isinstance(value, int):
        return str(value)
    return neutralise_cell(str(value))


def _count(found: Sequence[Deviation]) -> int:
    """An agreement's deviations, one that occurs twice in it counted once (as listed)."""
    return len(dict.fromkeys(found))


def summary_csv(
    batch: ReviewBatch, deviations: Mapping[str, Sequence[Deviation]] | None = None
) -> bytes:
    """One line per grant under one header line, nothing else: a plain import reads it (the
    totals are in :func:`totals_csv`). UTF-8 with a BOM, so a spreadsheet opens accented names
    as they are."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    reporting = batch.plan.section16 is not None
    writer.writerow(COLUMNS + (("form4_due",) if reporting else ()))
    for g in batch.grants:
        cells = _cells(g, deviations or {}) + ([_form4_due(g)] if reporting else [])
        writer.writerow([_csv_cell(v) for v in cells])
    return buf.getvalue().encode("utf-8-sig")


def totals_csv(batch: ReviewBatch) -> bytes:
    """The batch's totals and the share reserve: a ``total,number`` header, a line each."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["total", "number"])
    for label, number in totals(batch):
        writer.writerow([_csv_cell(label), number])
    return buf.getvalue().encode("utf-8-sig")


#: The XLSX header of each column of :data:`COLUMNS`, for a reader.
XLSX_HEADINGS = (
    *HEADINGS[:-1],
    "Findings",
    "Plan sections",
    "Deviations from the form",
    "Word file",
    "PDF packet",
)
_WIDTHS = (6, 18, 30, 12, 10, 12, 30, 14, 30, 10, 80, 12, 11, 22, 22)


def summary_xlsx(
    batch: ReviewBatch, deviations: Mapping[str, Sequence[Deviation]] | None = None
) -> bytes:
    """Sheet ``Grants`` (one row per grant, a reader's headers, filter and frozen header) and
    sheet ``Totals``, written with XlsxWriter; the same bytes every time (its created date is
    the batch's last grant date)."""
    import datetime as dt

    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    days = [g.grant_date for g in batch.grants if g.grant_date is not None]
    created = dt.datetime.combine(max(days, default=dt.date(2000, 1, 1)), dt.time())
    book.set_properties(
        {
            "title": f"Review summary: {batch.plan.name}",
            "author": batch.plan.company.name,
            "company": batch.plan.company.name,
            "created": created,
        }
    )
    styles = {
        "bold": book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        "plain": book.add_format({"valign": "top"}),
        "wrapped": book.add_format({"text_wrap": True, "valign": "top"}),
        "quoted": book.add_format({"quote_prefix": True, "valign": "top"}),
        "quoted_wrapped": book.add_format(
            {"quote_prefix": True, "text_wrap": True, "valign": "top"}
        ),
        "count": book.add_format({"num_format": "#,##0", "valign": "top"}),
        "dollars": book.add_format({"num_format": "$#,##0.00##", "valign": "top"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"}),
    }
    grants = book.add_worksheet("Grants")
    reporting = batch.plan.section16 is not None
    headings = XLSX_HEADINGS + (("Form 4 due",) if reporting else ())
    for column, width in enumerate((*_WIDTHS, 12)[: len(headings)]):
        grants.set_column(column, column, width)
    grants.write_row(0, 0, headings, styles["bold"])
    grants.freeze_panes(1, 0)
    for number, g in enumerate(batch.grants, start=1):
        cells = _cells(g, deviations or {}) + ([_form4_due(g)] if reporting else [])
        for column, value in enumerate(cells):
            _write(grants, number, column, value, styles)
    grants.autofilter(0, 0, max(len(batch.grants), 1), len(headings) - 1)
    sums = book.add_worksheet("Totals")
    sums.set_column(0, 0, 44)
    sums.set_column(1, 1, 14)
    for number, (label, count) in enumerate(totals(batch)):
        _write(sums, number, 0, label, styles)
        sums.write_number(number, 1, count, styles["count"])
    book.close()
    return buf.getvalue()


def _write(sheet: Any, row: int, column: int, value: object, styles: dict[str, Any]) -> None:
    """One cell, typed and formatted. Text a spreadsheet would take for a formula (``=…``,
    ``+…``, ``@…``) is written as text with Excel's quote-prefix mark, as if typed after an
    apostrophe: it shows as it is and stays text when edited."""
    if value is None:
        return
    if isinstance(value, str):
        wrapped = "\n" in value
        quoted = value != neutralise_cell(value) and value[0] != "'"
        style = {(False, False): "plain", (False, True): "wrapped", (True, False): "quoted"}
        name = style.get((quoted, wrapped), "quoted_wrapped")
        sheet.write_string(row, column, _printable(value), styles[name])
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, styles["date"])
    elif isinstance(value, Decimal):
        sheet.write_number(row, column, float(value), styles["dollars"])
    elif isinstance(value, int) and not isinstance(value, bool):
        sheet.write_number(row, column, value, styles["count" if column else "plain"])
    else:
        sheet.write_string(row, column, _printable(str(value)), styles["plain"])


def _printable(text: str) -> str:
    """Text without the control characters XML 1.0 cannot hold (as a spreadsheet would
    refuse them), tabs and line ends kept."""
    return "".join(c for c in text if c >= " " or c in "\t\n\r")


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;margin:2em auto;max-width:78em;padding:0 1em;
color:#1a1a1a;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#eee}td.num{text-align:right;white-space:nowrap}td.date,td.id{white-space:nowrap}
#totals{width:auto}#totals td:first-child{padding-right:2em}
.status{font-weight:bold}.status-generated,.status-draft{color:#1d6b1d}
.status-refused,.status-failed{color:#b00020}
ul.findings{margin:0;padding-left:1.1em}li.error{color:#b00020}li.warning{color:#8a5a00}
.sec{font-weight:bold}.sub{color:#555}
.deviation{border:1px solid #ccc;margin:1em 0;padding:.5em 1em}
.diff del{background:#fdd;text-decoration:line-through}.diff ins{background:#dfd}
.kind{text-transform:uppercase;font-weight:bold}
"""


#: Nothing may be fetched: no scripts, images, fonts, frames or connections; inline CSS only.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"


def _h(value: object) -> str:
    return escape(str(value), quote=True)


def _findings_html(findings: Sequence[Mapping[str, object]]) -> str:
    if not findings:
        return ""
    items = "".join(
        f'<li class="{_h(f.get("severity"))}"><span class="sec">\u00a7\u00a0'
        f"{_h(f.get('section'))}</span> {_h(f.get('severity'))}: {_h(f.get('message'))}</li>"
        for f in findings
    )
    return f'<ul class="findings">{items}</ul>'


def _link(path: object, label: str) -> str:
    return f'<a href="../{_h(getattr(path, "name", path))}">{_h(label)}</a>'


def _grant_row(
    g: ReviewGrant, deviations: Mapping[str, Sequence[Deviation]], reporting: bool = False
) -> str:
    files = " ".join(
        _link(p, kind) for p, kind in ((g.docx, "DOCX"), (g.pdf, "PDF")) if p is not None
    )
    final = format_date(g.final_exercise_date) if g.final_exercise_date else ""
    cells = [
        f'<td class="num">{g.row}</td>',
        f'<td class="id">{_h(g.grant_id)}</td>',
        f"<td>{_h(g.participant)}</td>",
        f'<td class="date">{_h(format_date(g.grant_date) if g.grant_date else "")}'
        + (
            f'<br><span class="sub form4">Form 4 due {_h(format_date(form4_due(g.grant_date)))}'
            "</span>"
            if reporting and g.grant_date
            else ""
        )
        + "</td>",
        f'<td class="num">{_h(format_shares(g.shares) if g.shares is not None else "")}</td>',
        f'<td class="num">{_h(format_price(g.exercise_price) if g.exercise_price else "")}</td>',
        f"<td>{_h(g.price_source)}</td>",
        f'<td class="date">{_h(final)}</td>',
        f'<td class="vesting">{_h(g.vesting)}</td>',
        f'<td class="status status-{_h(g.status)}">{_h(g.status)}'
        + (f'<br><span class="sub">{files}</span>' if files else "")
        + "</td>",
        f"<td>{_findings_html(g.findings)}{_deviation_note(g, deviations)}</td>",
    ]
    return f'<tr id="row-{g.row}">' + "".join(cells) + "</tr>"


def _deviation_note(g: ReviewGrant, deviations: Mapping[str, Sequence[Deviation]]) -> str:
    """A line under a grant's findings when its agreement deviates from the form."""
    found = deviations.get(g.grant_id)
    if not found:
        return ""
    return (
        f'<p class="deviates"><a href="#deviations">{_count(found)} deviation(s) from the '
        "approved form</a></p>"
    )


def _diff_html(diff: Sequence[tuple[str, str]]) -> str:
    tags = {"delete": "del", "insert": "ins"}
    return " ".join(
        f"<{tags[op]}>{_h(text)}</{tags[op]}>" if op in tags else _h(text) for op, text in diff
    )


def _deviations_html(
    deviations: Mapping[str, Sequence[Deviation]], uncompared: Sequence[str] = ()
) -> str:
    total = sum(len(v) for v in deviations.values())
    if not deviations:
        return '<p id="no-agreements">No document was made, so none was compared.</p>'
    if uncompared:
        notes = "".join(f"<li>{_h(text)}</li>" for text in uncompared)
        head = f'<p id="not-compared">Not compared with an approved form:</p><ul>{notes}</ul>'
    else:
        head = ""
    if not total:
        return head + (
            '<p id="no-deviations">No deviations: the text of every document compared is the '
            "approved form's, blanks aside.</p>"
        )
    grouped: dict[Deviation, list[str]] = {}
    for grant_id, found in deviations.items():
        for d in found:
            ids = grouped.setdefault(d, [])
            if grant_id not in ids[-1:]:  # one deviation twice in an agreement: listed once
                ids.append(grant_id)
    parts = [
        head,
        f"<p><strong>{total} deviation(s)</strong> from the approved form in "
        f"{sum(1 for v in deviations.values() if v)} document(s). A final batch with "
        "deviations is refused by <code>generate --strict</code> unless counsel approves the "
        "templates (<code>grantgen approve</code>) or the batch's deviations "
        "(<code>--accept-deviations</code>).</p>",
    ]
    for d, ids in grouped.items():
        lines = [
            f'<div class="deviation kind-{_h(d.kind)}">',
            f'<p><span class="kind">{_h(d.kind)}</span> in the {_h(d.part)} '
            f'<span class="sub">({len(ids)} document(s): {_h(", ".join(ids))})</span></p>',
        ]
        if d.form is not None:
            lines.append(f'<p class="form"><span class="sub">Form:</span> {_h(d.form)}</p>')
        if d.rendered is not None:
            lines.append(
                f'<p class="rendered"><span class="sub">Document:</span> {_h(d.rendered)}</p>'
            )
        if d.kind == "changed":
            lines.append(
                f'<p class="diff"><span class="sub">Difference:</span> {_diff_html(d.diff)}</p>'
            )
        lines.append("</div>")
        parts.append("".join(lines))
    return "\n".join(parts)


def _forms(plan: Plan) -> str:
    """The kit's documents, by award type: ``Stock Option Grant Notice (option), …``."""
    from generator.terms.kit import resolve_kit

    return ", ".join(f"{f.name} ({kind})" for kind, f in resolve_kit(plan).forms.items())


def summary_html(
    batch: ReviewBatch,
    deviations: Mapping[str, Sequence[Deviation]],
    files: Mapping[str, str] | None = None,
    consent_from: str | None = None,
    uncompared: Sequence[str] = (),
) -> bytes:
    """The standalone page: grants, totals, batch findings, deviations, links to ``files``
    (label -> name in the review folder); ``consent_from``: the Board consent's template."""
    plan = batch.plan
    kind = "Draft batch (nothing recorded in the ledger)" if batch.draft else "Final batch"
    header = "".join(f"<th>{_h(h)}</th>" for h in HEADINGS)
    reporting = plan.section16 is not None
    rows = "\n".join(_grant_row(g, deviations, reporting) for g in batch.grants)
    form4 = (
        '<p class="sub" id="section16">Section 16: each grant is reported on Form 4 by the '
        "second business day after its grant date (weekends, federal holidays and federal "
        "closings not counted); form4.csv has the values for the filing agent.</p>"
        if reporting
        else ""
    )
    sums = "".join(
        f'<tr><td>{_h(label)}</td><td class="num">{_h(format_shares(n))}</td></tr>'
        for label, n in totals(batch)
    )
    links = " \u00b7 ".join(
        f'<a href="{_h(name)}">{_h(label)}</a>' for label, name in (files or {}).items()
    )
    batch_findings = (
        f"<h2>Batch findings</h2>{_findings_html(batch.findings)}" if batch.findings else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="grantgen">
<title>Review: {_h(plan.company.name)} option grants</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Review of the batch: {_h(plan.company.name)}</h1>
<p class="sub">{_h(kind)} under the {_h(plan.name)} ({_h(plan.id)})</p>
<p>{links}</p>
<p class="sub" id="kit">Kit: {_h(plan.source)} ({_h(_forms(plan))}){
        f"; Board consent made from {_h(consent_from)}" if consent_from else ""
    }</p>
<h2>Grants</h2>
{form4}
<table id="grants">
<thead><tr>{header}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Totals and the share reserve</h2>
<table id="totals"><tbody>{sums}</tbody></table>
{batch_findings}
<h2>Deviations from the approved form</h2>
<section id="deviations">
{_deviations_html(deviations, uncompared)}
</section>
</body>
</html>
"""
    return page.encode("utf-8")
