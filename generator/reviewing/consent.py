"""The Board's action by unanimous written consent approving a batch's grants.

``templates/board_consent.docx`` (made by ``tools/build_board_consent.py``) is rendered with
the plan's values and one Exhibit A row per grant (docxtpl's ``{%tr for g in grants %}`` row
loop, so a hundred grants make a hundred rows), then converted to PDF by LibreOffice.

LibreOffice lays out one long table in time that grows faster than its length (3,000 rows:
15 s; 10,000: minutes), so a table longer than :data:`TABLE_BLOCK` rows is cut into tables of
that many rows, one right under the other, each starting with the heading row (3,000 rows:
4 s). Nothing else changes: the same rows in the same order, the heading repeated at the top
of every page as before, and once more where a block starts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pikepdf

from generator.assembling.pdfa import prepare_source, save_packet, set_pdfa_metadata
from generator.checking.fields import format_date, format_price, format_shares
from generator.converting.convert import Outcome
from generator.converting.converter import Converter
from generator.core.errors import ConvertError
from generator.core.layout import CONSENT_DOCX, consent_name
from generator.core.output import work_dir, write_atomic
from generator.core.resources import templates_dir
from generator.rendering.render import DocumentTemplate, plan_context
from generator.rendering.wording import indefinite_article, years
from generator.terms.planmodel import Plan

TEMPLATE = CONSENT_DOCX
#: Rows per Exhibit A table, at most (see the module's notes).
TABLE_BLOCK = 200
TITLE = "Action by Unanimous Written Consent of the Board of Directors"


@dataclass(frozen=True)
class ConsentGrant:
    """One row of Exhibit A."""

    participant: str
    shares: int
    exercise_price: Decimal
    grant_date: date
    award_type: str = "option"
    grant_id: str = ""
    expires: date | None = None
    """The option's final exercise date (None: not an option, or not known)."""


def consent_template(templates: Path) -> Path:
    """The consent template: ``templates`` itself when it is a file (a kit's), else
    ``templates/board_consent.docx``, or the bundled one when that folder has none."""
    if templates.is_file():
        return templates
    path = templates / TEMPLATE
    return path if path.is_file() else templates_dir() / TEMPLATE


def _plan_section(plan: Plan, key: str) -> str:
    # "5(c), Agreement 1" -> "5(c)": the consent cites the Plan's own section
    return plan.section(key).split(",")[0].strip()


def option_terms(plan: Plan) -> dict[str, Any]:
    """How the consent names the options it grants and the document each is made with, from
    the plan file: ``nonstatutory stock option`` unless the plan allows incentive options,
    and the name of the kit's option form (``Stock Option Grant Notice``)."""
    from generator.terms.kit import resolve_kit

    kind = "stock option" if plan.incentive_options else "nonstatutory stock option"
    form = resolve_kit(plan).forms.get("option")
    name = form.name if form is not None else "stock option agreement"
    return {
        "option": kind,
        "options": f"{kind}s",
        "an_option": f"{indefinite_article(kind)} {kind}",
        "incentive": plan.incentive_options,
        "form": name,
        "a_form": f"{indefinite_article(name)} {name}",
    }


def consent_context(
    plan: Plan, grants: Sequence[ConsentGrant], dated: date | None = None
) -> dict[str, Any]:
    """The values of the consent: the plan's, the sections it cites, and Exhibit A. It is
    dated ``dated`` (``--consent-date``), else the first grant date."""
    exhibits = _exhibits(plan, grants)
    if dated is None:
        dated = min((g.grant_date for g in grants), default=plan.effective_date)
    named = list(plan.directors)
    return {
        **plan_context(plan),
        "consent": {"date": format_date(dated), "iso_date": dated.isoformat()},
        # the Board's directors as the plan file names them; unnamed lines when it does not
        "directors": [{"name": name} for name in named] or [{"name": ""}] * UNNAMED_DIRECTORS,
        "sections": {
            "grant": _plan_section(plan, "nonstatutory"),
            "eligibility": _plan_section(plan, "eligibility"),
            "exercise_price": _plan_section(plan, "exercise_price"),
            "term": _plan_section(plan, "term"),
        },
        "terms": {
            "term_years": plan.term_years,
            "term": years(plan.term_years),
            "post_service": years(plan.post_service_exercise_years),
            **option_terms(plan),
            **exhibits.pop("terms"),
        },
        **exhibits,
    }


#: How Exhibit B names each kind of award other than an option.
AWARD_NAMES = {"restricted_stock": "Restricted stock", "stock_unit": "Restricted stock units"}


def _exhibits(plan: Plan, grants: Sequence[ConsentGrant]) -> dict[str, Any]:
    """Exhibit A (the options) and Exhibit B (the other awards: restricted stock, units,
    each named as the kit names its form), and their totals."""
    options = [g for g in grants if plan.is_option(g.award_type)]
    others = [g for g in grants if not plan.is_option(g.award_type)]
    exhibits = " or ".join(
        name for name, listed in (("Exhibit A", options), ("Exhibit B", others)) if listed
    )
    return {
        "terms": {"exhibits": exhibits or "Exhibit A"},
        "totals": {
            "grants": len(options),
            "options": _counted(len(options), "option"),
            "shares": format_shares(sum(g.shares for g in options)),
            "awards": len(others),
            "awards_text": _counted(len(others), "award"),
            "award_shares": format_shares(sum(g.shares for g in others)),
        },
        "grants": [
            {
                "participant": g.participant,
                "shares": format_shares(g.shares),
                "exercise_price": format_price(g.exercise_price),
                "grant_date": format_date(g.grant_date),
                "grant_id": g.grant_id,
                "expires": format_date(g.expires) if g.expires is not None else "",
            }
            for g in options
        ],
        "awards": [
            {
                "participant": g.participant,
                "award": AWARD_NAMES.get(g.award_type, g.award_type.replace("_", " ")),
                "shares": format_shares(g.shares),
                "grant_date": format_date(g.grant_date),
            }
            for g in others
        ],
    }


#: Signature lines the consent has when the plan file names no directors ([board]).
UNNAMED_DIRECTORS = 4


def _counted(number: int, noun: str) -> str:
    """``1 option``, ``5 options``."""
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def render_consent(
    template: Path,
    plan: Plan,
    grants: Sequence[ConsentGrant],
    *,
    draft: bool = False,
    dated: date | None = None,
) -> bytes:
    """The consent as DOCX bytes (a DRAFT mark on every page for ``draft``), dated ``dated``
    (None: its first grant date)."""
    return DocumentTemplate.from_file(template).render(
        consent_context(plan, grants, dated),
        {
            "title": TITLE,
            "author": plan.company.name,
            "subject": f"Option grants under the {plan.name}",
            "keywords": f"plan={plan.id}; grants={len(grants)}",
            "created": max((g.grant_date for g in grants), default=plan.effective_date).isoformat(),
        },
        draft=draft,
        body_filter=lambda xml: split_long_tables(xml, TABLE_BLOCK),
    )


_GAP = (  # between two blocks of one table: a paragraph of no visible height
    '<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
    '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>'
)
_TABLE = re.compile(r"<w:tbl>.*?</w:tbl>", re.S)  # Exhibit A holds no nested table
_ROW = re.compile(r"<w:tr[ >].*?</w:tr>", re.S)


def split_long_tables(xml: str, block: int) -> str:
    """Word XML with every table of more than ``block`` rows after its heading rows (rows
    marked to repeat as a heading) cut into tables of ``block`` rows, each starting with
    those heading rows. Tables without heading rows, nested tables and short ones are left
    alone. Done on the XML text (no tree): a 10,000-row table costs a few copies of its text."""

    def cut(match: re.Match[str]) -> str:
        table = match.group(0)
        if table.count("<w:tbl>") > 1:
            return table
        rows = _ROW.findall(table)
        heading = list(itertools.takewhile(lambda row: "<w:tblHeader/>" in row, rows))
        if not heading or len(rows) - len(heading) <= block:
            return table
        first = table.index(rows[0])
        start, end = table[:first], table[table.rindex(rows[-1]) + len(rows[-1]) :]
        body = rows[len(heading) :]
        blocks = (
            start + "".join(heading) + "".join(body[i : i + block]) + end
            for i in range(0, len(body), block)
        )
        return _GAP.join(blocks)

    return _TABLE.sub(cut, xml)


def write_consent(
    outdir: Path,
    plan: Plan,
    grants: Sequence[ConsentGrant],
    *,
    templates: Path,
    converter: Converter | None,
    draft: bool = False,
    aside: bool = False,
    dated: date | None = None,
) -> tuple[Path, Path]:
    """Write ``outdir/board_consent.docx`` and ``.pdf`` (a DRAFT mark on every page for
    ``draft``; named ``board_consent.draft.docx``, ... with ``aside``: drafts beside a final
    batch's consent); raise ConvertError when LibreOffice cannot make the PDF (the DOCX is
    written all the same). Without a ``converter``, one LibreOffice worker is started for it."""
    docx = outdir / consent_name(aside)
    data = render_consent(consent_template(templates), plan, grants, draft=draft, dated=dated)
    write_atomic(docx, data)
    pdf = docx.with_suffix(".pdf")
    with work_dir(outdir) as work:
        source = work / TEMPLATE
        source.write_bytes(data)
        weight = _weight(grants)
        if converter is None:
            with Converter(1) as own:
                outcome = own.submit(source, work / "pdf", weight).result()
        else:
            outcome = converter.submit(source, work / "pdf", weight).result()
        if outcome.pdf is None:
            raise ConvertError(f"the board consent could not be converted: {outcome.error}")
        write_atomic(pdf, stable_pdf(outcome.pdf))
    return docx, pdf


@dataclass
class PendingConsent:
    """A consent rendered and handed to LibreOffice early, for the grants expected to be made."""

    grants: tuple[ConsentGrant, ...]
    docx: bytes
    job: Future[Outcome]
    draft: bool = False


def start_consent(
    work: Path,
    plan: Plan,
    grants: Sequence[ConsentGrant],
    *,
    templates: Path,
    converter: Converter,
    pdf_dir: Path,
    draft: bool = False,
    dated: date | None = None,
) -> PendingConsent:
    """Render the consent now and convert it while the agreements are made, into ``pdf_dir``
    (the agreements' folder: one LibreOffice call can then take the consent with them)."""
    data = render_consent(consent_template(templates), plan, grants, draft=draft, dated=dated)
    source = work / TEMPLATE
    try:
        source.write_bytes(data)
    except OSError as exc:  # (a write cut short says no file name: it is this one)
        raise OSError(exc.errno, exc.strerror, str(exc.filename or source)) from exc
    job = converter.submit(source, pdf_dir, weight=_weight(grants))
    return PendingConsent(tuple(grants), data, job, draft)


def _weight(grants: Sequence[ConsentGrant]) -> int:
    """The consent's weight for the converter's time limit: 50 rows count as one agreement."""
    return max(1, len(grants) // 50)


def finish_consent(pending: PendingConsent, outdir: Path, aside: bool = False) -> tuple[Path, Path]:
    """Write the early consent's DOCX and PDF into ``outdir`` (waiting for the PDF), named as
    drafts beside a final consent with ``aside``."""
    docx = outdir / consent_name(aside)
    write_atomic(docx, pending.docx)
    outcome = pending.job.result()
    if outcome.pdf is None:
        raise ConvertError(f"the board consent could not be converted: {outcome.error}")
    pdf = docx.with_suffix(".pdf")
    write_atomic(pdf, stable_pdf(outcome.pdf))
    return docx, pdf


def stable_pdf(path: Path) -> bytes:
    """LibreOffice's PDF without its creation time, with an identifier derived from its
    content: the same consent gives the same bytes on every run."""
    with pikepdf.open(path) as pdf:
        for key in ("/DocChecksum", "/ID"):  # LibreOffice's, made with the time in them
            if key in pdf.trailer:
                del pdf.trailer[key]
        if "/Info" in pdf.trailer:
            for key in ("/CreationDate", "/ModDate"):
                if key in pdf.docinfo:
                    del pdf.docinfo[key]
        prepare_source(pdf)  # its font subsets named for their programs, its ICC time fixed
        set_pdfa_metadata(pdf)  # the XMP from the document information, without the time
        return save_packet(pdf)
