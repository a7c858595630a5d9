"""The review summary of a batch: one standalone HTML page, and the same table as CSV and XLSX
(and the totals as ``totals.csv``).

The page needs nothing from the network: its CSS is inline, it has no scripts and uses the
reader's own serif font, and a Content-Security-Policy forbids it from fetching anything.
It is rendered from a Jinja2 template shipped with the package (``templates/summary.html.j2``)
with autoescape on: every value is HTML-escaped. The spreadsheets hold numbers as numbers and
dates as dates; text cells a spreadsheet would run as a formula are neutralised
(:func:`generator.core.output.neutralise_cell`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

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

#: The page's template, shipped as package data (``generator/reviewing/templates/``).
_TEMPLATE = "summary.html.j2"


def _escaped(value: object) -> object:
    """The environment's ``finalize``: each ``{{ value }}`` of the page escaped as
    :func:`html.escape` does it, ``'`` and ``"`` as ``&#x27;`` and ``&quot;`` (the page's
    spelling before it had a template; autoescape's own escape writes ``&#39;`` and ``&#34;``).
    The result is Markup, so autoescape does not escape it twice; Markup given (a macro's
    output, escaped already) passes as it is."""
    if hasattr(value, "__html__"):
        return value
    return Markup(escape(str(value), quote=True))


@cache
def _page() -> jinja2.Template:
    """The page's template, read through :mod:`importlib.resources` (a wheel ships it)."""
    source = resources.files("generator.reviewing") / "templates" / _TEMPLATE
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_escaped,
    )
    return env.from_string(source.read_text(encoding="utf-8"))


def _grant_view(
    g: ReviewGrant, deviations: Mapping[str, Sequence[Deviation]], reporting: bool
) -> dict[str, object]:
    """One grant's line of the page, its values formatted as text (escaped on output)."""
    found = deviations.get(g.grant_id)
    return {
        "row": g.row,
        "grant_id": g.grant_id,
        "participant": g.participant,
        "grant_date": format_date(g.grant_date) if g.grant_date else "",
        "form4_due": format_date(form4_due(g.grant_date)) if reporting and g.grant_date else None,
        "shares": format_shares(g.shares) if g.shares is not None else "",
        "exercise_price": format_price(g.exercise_price) if g.exercise_price else "",
        "price_source": g.price_source,
        "final_exercise_date": (
            format_date(g.final_exercise_date) if g.final_exercise_date else ""
        ),
        "vesting": g.vesting,
        "status": g.status,
        "files": [
            (p.name, kind) for p, kind in ((g.docx, "DOCX"), (g.pdf, "PDF")) if p is not None
        ],
        "findings": g.findings,
        "deviations": _count(found) if found else 0,
    }


def _deviations_view(
    deviations: Mapping[str, Sequence[Deviation]], uncompared: Sequence[str]
) -> dict[str, object]:
    """The deviations section: each deviation once, with the documents it is in."""
    grouped: dict[Deviation, list[str]] = {}
    for grant_id, found in deviations.items():
        for d in found:
            ids = grouped.setdefault(d, [])
            if grant_id not in ids[-1:]:  # one deviation twice in an agreement: listed once
                ids.append(grant_id)
    return {
        "compared": bool(deviations),
        "uncompared": list(uncompared),
        "total": sum(len(v) for v in deviations.values()),
        "documents": sum(1 for v in deviations.values() if v),
        "groups": [(d, len(ids), ", ".join(ids)) for d, ids in grouped.items()],
    }


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
    (label -> name in the review folder); ``consent_from``: the Board consent's template.
    Rendered from ``templates/summary.html.j2`` with autoescape on: every value is escaped."""
    plan = batch.plan
    reporting = plan.section16 is not None
    page = _page().render(
        plan=plan,
        draft=batch.draft,
        files=list((files or {}).items()),
        forms=_forms(plan),
        consent_from=consent_from,
        reporting=reporting,
        headings=HEADINGS,
        grants=[_grant_view(g, deviations, reporting) for g in batch.grants],
        totals=[(label, format_shares(n)) for label, n in totals(batch)],
        batch_findings=batch.findings,
        deviations=_deviations_view(deviations, uncompared),
    )
    return page.encode("utf-8")
