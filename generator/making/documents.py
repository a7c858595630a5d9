"""The documents stage: render every agreement, convert them in chunks with LibreOffice, and
assemble each grant's packet, streaming (one chunk converts while the next renders and the
last is assembled). Nothing here is published: :mod:`.pipeline` moves the staged files into
place with the ledger.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from generator.assembling.assemble import (
    Layout,
    PacketInfo,
    assemble,
    grant_record,
    inert_pages,
    stamp_draft,
)
from generator.assembling.dateline import DATE_FIELD
from generator.assembling.pdfa import prepare_source
from generator.assembling.reviewpacket import PacketPages
from generator.checking.fields import format_date, format_price, format_shares
from generator.checking.findings import ERROR, Finding
from generator.comparing.approved import ApprovedCheck, ApprovedForm
from generator.comparing.deviations import Deviation, DeviationCheck, plan_deviations
from generator.converting.batchdoc import combine
from generator.converting.batchpdf import bookmark_places, split_marked
from generator.converting.convert import Outcome
from generator.converting.converter import Converter
from generator.core.errors import AssembleError, ConvertError
from generator.core.output import sha256, write_atomic
from generator.core.resources import form_text
from generator.making.batch import GenerateOptions, GenerateResult
from generator.reading.grantrecord import GrantRecord
from generator.rendering.form import DRAFT_MARK
from generator.rendering.render import Rendered
from generator.rendering.templateset import FormTemplate, TemplateSet
from generator.rendering.templateset import plan_pdf as furnished_pdf
from generator.terms.kit import ACCEPTANCE_MARK
from generator.terms.plan import bundled_plan
from generator.terms.planmodel import Plan

#: Called as progress(stage, done, total) while a batch runs.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Staged:
    record: GrantRecord
    docx: Path
    pdf: Path
    docx_hash: str
    pdf_hash: str
    origin: tuple[Path, range]
    """The converted PDF the agreement pages came from, and their range in it."""

    def with_origin(self, pdf: Path, pages: range) -> Staged:
        return dataclasses.replace(self, origin=(pdf, pages))


#: Agreements per LibreOffice document, at most (layout time grows faster than linearly).
CHUNK = 50
#: Chunks rendered ahead of assembly, per worker: a worker coming free takes several queued
#: chunks into one LibreOffice call (see :mod:`.convert`), so rendering runs ahead.
AHEAD = 8
#: The work folder's subfolder the batch's documents are converted into.
PDF_DIR = "pdf"


def make_documents(
    todo: list[GrantRecord],
    plan: Plan,
    templates: TemplateSet,
    converter: Converter,
    work: Path,
    options: GenerateOptions,
    result: GenerateResult,
    progress: Progress,
    deviations: dict[str, list[Deviation]],
    review_pages: PacketPages | None = None,
) -> list[Staged]:
    """Render, convert and assemble in chunks, streaming: LibreOffice converts chunks while
    the next are rendered and the finished ones assembled; at most ``jobs * AHEAD + 1``
    chunks are in flight (their DOCX on disk, not in memory). ``review_pages``: each
    assembled agreement's pages are copied into it too, for the review packet."""
    total = len(todo)
    pdf_dir = work / PDF_DIR
    furnished = furnished_pdf(plan)
    in_plan_copy: list[Deviation] = []
    if furnished is not None:  # the plan file names the Plan's text as a PDF: used as it is
        plan_job: Future[Outcome] = Future()
        plan_job.set_result(Outcome(furnished, furnished))
        result.plan_copy = sha256(furnished.read_bytes())
    else:
        plan_docx = work / "plan.docx"
        copy = templates.render_plan(plan, draft=options.draft)
        final = copy if not options.draft else templates.render_plan(plan)
        result.plan_copy = sha256(final)  # the text furnished, DRAFT mark or not
        write_atomic(plan_docx, copy)
        plan_job = converter.cached(plan_docx, pdf_dir)
        if plan.id == bundled_plan().id:
            # the bundled plan's text is in the form: the copy furnished must be it, word for
            # word; a difference is a deviation of every packet that carries the copy
            in_plan_copy = plan_deviations(copy, form_text())
    # chunks by the machine's cores, not --jobs: LibreOffice's embedded font subsets depend
    # on the agreements converted together, so --jobs must not change a packet's bytes
    cores = os.cpu_count() or 1
    pending: deque[_Chunk] = deque()
    hashes: dict[Path, str] = {}  # each DOCX's sha256, taken while it is in memory

    def warn(message: str) -> None:
        result.warnings.append({"row": None, "rule": "convert", "message": message})

    def unapproved(message: str) -> None:
        result.warnings.append({"row": None, "rule": "approved-form", "message": message})

    staged: list[Staged] = []
    plan_pdf: pikepdf.Pdf | None = None
    done = 0

    def finish(chunk: _Chunk) -> None:
        nonlocal plan_pdf, done
        if plan_pdf is None:
            outcome = plan_job.result()
            if outcome.pdf is None:
                raise ConvertError(f"the Plan document could not be converted: {outcome.error}")
            try:
                plan_pdf = pikepdf.open(outcome.pdf)
            except (pikepdf.PdfError, pikepdf.PasswordError, OSError) as exc:
                raise ConvertError(
                    f"the Plan document {outcome.pdf} is not a usable PDF: {exc}"
                ) from None
            if not len(plan_pdf.pages):
                raise ConvertError(f"the Plan document {outcome.pdf} has no pages")
            prepare_source(plan_pdf)  # its font subsets named for their programs, ICC steady
            if options.draft and furnished is not None:  # LibreOffice did not mark it
                stamp_draft(plan_pdf, DRAFT_MARK)
            if inert_pages(plan_pdf):
                warn(
                    f"the Plan document {outcome.pdf.name} had form fields, page actions or "
                    "script links; they were left out of the packets"
                )
        for number, pages in _converted(chunk, converter, pdf_dir, warn):
            record, source = chunk.records[number], chunk.sources[number]
            if isinstance(pages, str):
                result.errors.append(
                    Finding(
                        record.row,
                        record.grant_id,
                        "convert",
                        "LibreOffice",
                        ERROR,
                        f"the PDF could not be made: {pages}",
                    ).as_dict()
                )
                continue
            reader, text, span, origin, marks = pages
            try:
                staged.append(
                    _assemble_one(
                        record,
                        source,
                        hashes.pop(source),
                        reader,
                        text,
                        span,
                        plan_pdf,
                        plan,
                        options,
                        marks,
                        chunk.titles[number],
                        chunk.layout,
                    ).with_origin(origin, span)
                )
            except AssembleError as exc:
                result.errors.append(
                    Finding(
                        record.row, record.grant_id, "assemble", "PDF", ERROR, str(exc), exc.column
                    ).as_dict()
                )
                continue
            if review_pages is not None:  # while the converted PDF is open
                review_pages.add(origin, span, reader)
            done += 1
            progress("assemble", done, total)

    first = 0
    names = bookmark_names(templates)
    for kind, group in _by_form(todo, templates):
        form = templates.form_for(kind)
        prep = form.document.prepared(options.draft)
        against_form = _form_check(form, plan, options.draft, unapproved)
        layout = layout_of(form, templates)
        for size in chunk_sizes(len(group), cores):
            records = group[:size]
            group = group[size:]
            rendered: list[Rendered] = []
            sources: list[Path] = []
            titles: list[tuple[str, str]] = []  # each packet's title and subject
            for i, record in enumerate(records, start=first):
                doc = templates.render_grant_parts(record, plan, draft=options.draft)
                deviations[record.grant_id] = against_form(doc, record) + in_plan_copy
                source = work / f"g{i:06d}.docx"
                source.write_bytes(doc.docx)
                hashes[source] = sha256(doc.docx)
                rendered.append(doc)
                sources.append(source)
                titles.append((doc.properties["title"], doc.properties["subject"]))
            batch = work / f"chunk{first:06d}.docx"
            batch.write_bytes(combine(prep, rendered, names))
            del rendered
            progress("render", first + len(records), total)
            job = converter.submit(batch, pdf_dir, weight=len(records))
            pending.append(_Chunk(records, sources, batch, job, layout, names, titles))
            first += size
            while len(pending) > converter.jobs * AHEAD:
                finish(_next_converted(pending))
    while pending:
        finish(_next_converted(pending))
    order = {id(record): n for n, record in enumerate(todo)}
    staged.sort(key=lambda s: order[id(s.record)])  # assembled as converted, listed in order
    return staged


def chunk_sizes(total: int, cores: int) -> list[int]:
    """How many agreements go into each LibreOffice document, in order: :data:`CHUNK` at most,
    fewer when there are few grants per core, the chunks as even as can be. The first chunk
    and each core's last one are halved when there are more chunks than cores: the first
    reaches LibreOffice sooner, and the workers, each taking the next chunk as it comes free,
    finish nearer together. Depends only on the count and the cores, never on timing: the
    same batch is always cut the same way (a packet's embedded font subsets depend on its
    chunk)."""
    if total <= 0:
        return []
    per_core = math.ceil(total / max(1, cores))
    count = math.ceil(total / min(CHUNK, per_core))
    sizes = [total // count + (n < total % count) for n in range(count)]  # as even as can be
    if len(sizes) <= cores:
        return sizes
    tail = [half for whole in sizes[-cores:] for half in _halves(whole)]
    return _halves(sizes[0]) + sizes[1:-cores] + tail


def _halves(size: int) -> list[int]:
    return [size] if size < 2 else [size - size // 2, size // 2]


def _next_converted(pending: deque[_Chunk]) -> _Chunk:
    """Take the oldest chunk LibreOffice has finished, or else wait for the first to finish.

    Chunks are assembled as they come out of LibreOffice, not in the order they went in: each
    worker converts a run of chunks, and waiting for one worker's run while the other's
    finished chunks queue up would leave all of their assembly for after the last conversion.
    """
    while True:
        for chunk in pending:
            if chunk.job.done():
                pending.remove(chunk)
                return chunk
        wait([chunk.job for chunk in pending], return_when=FIRST_COMPLETED)


def blank_values(record: GrantRecord, plan: Plan) -> dict[str, str]:
    """The form's blanks as one agreement fills them, and the company and signing officer
    its signature block shows (what a signature-block line may hold)."""
    values = {
        "participant": record.participant,
        "grant_date": format_date(record.grant_date),
        "shares": format_shares(record.shares),
        "exercise_price": format_price(record.exercise_price),
    }
    values.update({f"address{n}": line for n, line in enumerate(record.address)})
    values["officer_name"] = plan.company.officer.name
    values["officer_title"] = plan.company.officer.title
    values["company"] = plan.company.name
    return values


@dataclass
class _Chunk:
    records: list[GrantRecord]
    sources: list[Path]
    batch: Path
    job: Future[Outcome]
    layout: Layout
    names: tuple[str, ...]
    titles: list[tuple[str, str]]
    """Each document's title and subject, as its DOCX has them."""


def _by_form(
    todo: list[GrantRecord], templates: TemplateSet
) -> list[tuple[str, list[GrantRecord]]]:
    """The grants by the form they are made with (a chunk holds one template's documents),
    the forms in the order their first grant comes."""
    groups: dict[str, list[GrantRecord]] = {}
    for record in todo:
        kind = templates.form_for(record.award_type).form.award_type
        groups.setdefault(kind, []).append(record)
    return list(groups.items())


def bookmark_names(templates: TemplateSet) -> tuple[str, ...]:
    """The bookmarks whose place in the PDF the packet needs: the signature lines, where a
    separate acceptance page starts, and the date line (:mod:`.dateline`)."""
    return (*templates.kit.signatures, ACCEPTANCE_MARK, DATE_FIELD)


def layout_of(form: FormTemplate, templates: TemplateSet) -> Layout:
    """The signature fields and outline entries of a form's packets."""
    entry = form.form
    return Layout(
        signatures=templates.kit.signatures,
        labels=not templates.kit.marked,
        document=entry.outline,
        acceptance=entry.acceptance_outline if entry.acceptance is not None else None,
        acceptance_mark=ACCEPTANCE_MARK,
    )


#: Compares one rendered document with its approved form: its deviations.
FormCheck = Callable[[Rendered, GrantRecord], list[Deviation]]


def _form_check(
    form: FormTemplate, plan: Plan, draft: bool, warn: Callable[[str], None]
) -> FormCheck:
    """How a form's documents are compared with what counsel approved: the filed exhibit
    (the bundled example), the kit's approved forms, or (none approved yet) not at all."""
    entry = form.form
    if entry.exhibit is not None:
        exhibit = DeviationCheck(entry.exhibit, plan, draft=draft)
        return lambda doc, record: exhibit.check(
            doc.body,
            blank_values(record, plan),
            record.participant,
            margins=list(doc.parts.values()),
            grant_id=record.grant_id,
            styles=doc.styles,
        )
    if any(path is None for path in entry.approved):
        missing = [
            t.name for t, a in zip(entry.templates, entry.approved, strict=True) if a is None
        ]
        warn(
            f"no approved form for {', '.join(missing)}: its documents were not compared with "
            "what counsel approved (run `grantgen approve` once counsel has signed off)"
        )
        return lambda doc, record: []
    approved = ApprovedCheck(
        [ApprovedForm.load(path) for path in entry.approved if path is not None], draft=draft
    )
    return lambda doc, record: approved.check(
        doc.body,
        doc.context,
        margins=list(doc.parts.values()),
        grant_id=record.grant_id,
        styles=doc.styles,
    )


#: A document's converted pages: the PDF (pikepdf, PDFium), their range in it, its path, and
#: the pages its landmarks came out on (see :func:`.batchdoc.split_marked`).
_Pages = tuple[pikepdf.Pdf, pdfium.PdfDocument, range, Path, dict[str, int]]


def _converted(
    chunk: _Chunk, converter: Converter, pdf_dir: Path, warn: Callable[[str], None]
) -> Iterator[tuple[int, _Pages | str]]:
    """Each document of a chunk with its pages, or the reason it has none.

    When the chunk's conversion fails (LibreOffice crashed, hung, wrote nothing, or the PDF
    is not what was asked for), each agreement is converted on its own instead, so one bad
    document cannot take the others with it.
    """
    outcome = chunk.job.result()
    reason = outcome.error or "no PDF"
    if outcome.pdf is not None:
        try:
            spans = split_marked(outcome.pdf, len(chunk.records), chunk.names)
            reader, text = pikepdf.open(outcome.pdf), pdfium.PdfDocument(outcome.pdf)
            prepare_source(reader)  # subset names from their programs: distinct in any packet
        except ConvertError as exc:
            reason = str(exc)
        else:
            for number, (span, marks) in enumerate(spans):
                yield number, (reader, text, span, outcome.pdf, marks)
            return
    rows = f"rows {chunk.records[0].row}-{chunk.records[-1].row}"
    warn(f"the batch conversion of {rows} failed ({reason}); converting them one by one")
    singles = converter.convert(chunk.sources, pdf_dir / "single")
    for number, single in enumerate(singles):
        if single.pdf is None:
            yield number, single.error or outcome.error or "LibreOffice failed"
            continue
        reader = pikepdf.open(single.pdf)
        prepare_source(reader)
        pages = range(len(reader.pages))
        marks = bookmark_places(single.pdf, chunk.names)
        yield number, (reader, pdfium.PdfDocument(single.pdf), pages, single.pdf, marks)


def _assemble_one(
    record: GrantRecord,
    source: Path,
    docx_hash: str,
    reader: pikepdf.Pdf,
    text: pdfium.PdfDocument,
    span: range,
    plan_pdf: pikepdf.Pdf,
    plan: Plan,
    options: GenerateOptions,
    marks: dict[str, int],
    titles: tuple[str, str],
    layout: Layout,
) -> Staged:
    title, subject = titles
    packet = assemble(
        reader,
        span,
        text,
        plan_pdf,
        PacketInfo(
            title=title,
            author=plan.company.name,
            subject=subject + (" (DRAFT)" if options.draft else ""),
            keywords=f"grant_id={record.grant_id}; plan={plan.id}",
            record=grant_record(
                {
                    "grant_id": record.grant_id,
                    "participant": record.participant,
                    "award_type": record.award_type,
                    "grant_date": record.grant_date.isoformat(),
                    "shares": record.shares,
                    "exercise_price": str(record.exercise_price),
                    "plan": plan.id,
                    "officer": plan.company.officer.name,
                }
            ),
        ),
        signature_fields=not options.draft,
        must_show=record.participant,
        hints=marks,
        layout=layout,
    )
    pdf = source.with_suffix(".packet.pdf")
    pdf.write_bytes(packet)
    return Staged(record, source, pdf, docx_hash, sha256(packet), (pdf, range(0)))
