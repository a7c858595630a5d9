"""The documents stage: render every agreement, convert them in chunks with LibreOffice, and
assemble each grant's packet, streaming (one chunk converts while the next renders and the
last is assembled). It returns what it made (:class:`Made`); nothing here is published:
:mod:`generator.publishing.publish` moves the staged files into place with the ledger.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from generator.assembling.assemble import (
    Layout,
    PacketInfo,
    assemble,
    grant_record,
    inert_pages,
    stamp_draft,
)
from generator.assembling.pdfa import prepare_source
from generator.assembling.reviewpacket import PacketPages
from generator.checking.findings import ERROR, Finding
from generator.comparing.deviations import Deviation, plan_deviations
from generator.converting.batchdoc import combine
from generator.converting.convert import Outcome
from generator.converting.converter import Converter
from generator.core.errors import AssembleError, ConvertError
from generator.core.output import sha256, write_atomic
from generator.core.resources import form_text
from generator.making.batch import GenerateOptions
from generator.making.chunks import (
    AHEAD,
    Chunk,
    Pages,
    by_form,
    chunk_sizes,
    converted,
    next_converted,
)
from generator.making.formcheck import FormCheck, bookmark_names, form_check, layout_of
from generator.reading.grantrecord import GrantRecord
from generator.rendering.form import DRAFT_MARK
from generator.rendering.render import Prepared, Rendered
from generator.rendering.templateset import TemplateSet
from generator.rendering.templateset import plan_pdf as furnished_pdf
from generator.terms.plan import bundled_plan
from generator.terms.planmodel import Plan

#: Called as progress(stage, done, total) while a batch runs.
Progress = Callable[[str, int, int], None]

#: The work folder's subfolder the batch's documents are converted into.
PDF_DIR = "pdf"


@dataclass(frozen=True)
class Staged:
    """One grant's agreement and packet, made in the work folder and not yet published."""

    record: GrantRecord
    docx: Path
    pdf: Path
    docx_hash: str
    pdf_hash: str
    origin: tuple[Path, range]
    """The converted PDF the agreement pages came from, and their range in it."""


@dataclass
class Made:
    """What the documents stage made: nothing of it is published yet."""

    staged: list[Staged] = field(default_factory=list)
    """The grants made, in the order of the grants given."""
    deviations: dict[str, list[Deviation]] = field(default_factory=dict)
    """Each agreement's deviations from its approved form, by grant id."""
    plan_copy: str = ""
    """sha256 of the source of the Plan copy the packets carry (its DOCX, or the PDF)."""
    errors: list[dict[str, object]] = field(default_factory=list)
    """The grants whose packet could not be made (converted or assembled)."""
    warnings: list[dict[str, object]] = field(default_factory=list)
    """About the batch: a chunk converted one by one, a form not compared, fields left out."""


def make_documents(
    todo: list[GrantRecord],
    plan: Plan,
    templates: TemplateSet,
    converter: Converter,
    work: Path,
    options: GenerateOptions,
    progress: Progress,
    review_pages: PacketPages | None = None,
) -> Made:
    """Render, convert and assemble in chunks, streaming: LibreOffice converts chunks while
    the next are rendered and the finished ones assembled; at most ``jobs * AHEAD + 1``
    chunks are in flight (their DOCX on disk, not in memory). ``review_pages``: each
    assembled agreement's pages are copied into it too, for the review packet."""
    making = _Making(plan, templates, converter, work, options, progress, review_pages)
    return making.run(todo)


class _Making:
    """One batch's documents on their way: the Plan's copy, the chunks in flight, and what
    is made so far."""

    def __init__(
        self,
        plan: Plan,
        templates: TemplateSet,
        converter: Converter,
        work: Path,
        options: GenerateOptions,
        progress: Progress,
        review_pages: PacketPages | None,
    ) -> None:
        self.plan, self.templates, self.converter = plan, templates, converter
        self.work, self.pdf_dir = work, work / PDF_DIR
        self.options, self.progress, self.review_pages = options, progress, review_pages
        self.made = Made()
        self.hashes: dict[Path, str] = {}  # each DOCX's sha256, taken while it is in memory
        self.plan_pdf: pikepdf.Pdf | None = None  # opened when the first chunk is assembled
        self.total = self.done = 0
        self.plan_job, self.in_plan_copy = self._plan_copy()

    def run(self, todo: list[GrantRecord]) -> Made:
        """Make every grant's documents; what was made, in the order of ``todo``."""
        self.total = len(todo)
        # chunks by the machine's cores, not --jobs: LibreOffice's embedded font subsets
        # depend on the agreements converted together, so --jobs must not change a packet
        cores = os.cpu_count() or 1
        pending: deque[Chunk] = deque()
        first = 0
        for kind, group in by_form(todo, self.templates):
            form = self.templates.form_for(kind)
            prep = form.document.prepared(self.options.draft)
            against = form_check(form, self.plan, self.options.draft, self._unapproved)
            layout = layout_of(form, self.templates)
            for size in chunk_sizes(len(group), cores):
                records, group = group[:size], group[size:]
                pending.append(self._render(records, first, prep, against, layout))
                first += size
                while len(pending) > self.converter.jobs * AHEAD:
                    self._finish(next_converted(pending))
        while pending:
            self._finish(next_converted(pending))
        order = {id(record): n for n, record in enumerate(todo)}
        self.made.staged.sort(key=lambda s: order[id(s.record)])  # assembled as converted
        return self.made

    def _plan_copy(self) -> tuple[Future[Outcome], list[Deviation]]:
        """The Plan's PDF on its way (furnished, or its DOCX converting), and the deviations
        of the copy furnished from the form's text (the bundled plan only)."""
        furnished = furnished_pdf(self.plan)
        if furnished is not None:  # the plan file names the Plan's text as a PDF: used as is
            ready: Future[Outcome] = Future()
            ready.set_result(Outcome(furnished, furnished))
            self.made.plan_copy = sha256(furnished.read_bytes())
            return ready, []
        plan_docx = self.work / "plan.docx"
        copy = self.templates.render_plan(self.plan, draft=self.options.draft)
        final = copy if not self.options.draft else self.templates.render_plan(self.plan)
        self.made.plan_copy = sha256(final)  # the text furnished, DRAFT mark or not
        write_atomic(plan_docx, copy)
        job = self.converter.cached(plan_docx, self.pdf_dir)
        if self.plan.id != bundled_plan().id:
            return job, []
        # the bundled plan's text is in the form: the copy furnished must be it, word for
        # word; a difference is a deviation of every packet that carries the copy
        return job, plan_deviations(copy, form_text())

    def _render(
        self,
        records: list[GrantRecord],
        first: int,
        prep: Prepared,
        against: FormCheck,
        layout: Layout,
    ) -> Chunk:
        """Render a chunk's agreements (each compared with its approved form) into one
        document and send it to LibreOffice."""
        names = bookmark_names(self.templates)
        rendered: list[Rendered] = []
        sources: list[Path] = []
        titles: list[tuple[str, str]] = []  # each packet's title and subject
        for i, record in enumerate(records, start=first):
            doc = self.templates.render_grant_parts(record, self.plan, draft=self.options.draft)
            self.made.deviations[record.grant_id] = against(doc, record) + self.in_plan_copy
            source = self.work / f"g{i:06d}.docx"
            source.write_bytes(doc.docx)
            self.hashes[source] = sha256(doc.docx)
            rendered.append(doc)
            sources.append(source)
            titles.append((doc.properties["title"], doc.properties["subject"]))
        batch = self.work / f"chunk{first:06d}.docx"
        batch.write_bytes(combine(prep, rendered, names))
        del rendered
        self.progress("render", first + len(records), self.total)
        job = self.converter.submit(batch, self.pdf_dir, weight=len(records))
        return Chunk(records, sources, batch, job, layout, names, titles)

    def _open_plan(self) -> pikepdf.Pdf:
        """The Plan's PDF, ready to be appended to every packet."""
        outcome = self.plan_job.result()
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
        if self.options.draft and furnished_pdf(self.plan) is not None:  # not marked yet
            stamp_draft(plan_pdf, DRAFT_MARK)
        if inert_pages(plan_pdf):
            self._warn(
                f"the Plan document {outcome.pdf.name} had form fields, page actions or "
                "script links; they were left out of the packets"
            )
        return plan_pdf

    def _finish(self, chunk: Chunk) -> None:
        """Assemble the packets of a converted chunk (a grant that fails is an error)."""
        if self.plan_pdf is None:
            self.plan_pdf = self._open_plan()
        for number, pages in converted(chunk, self.converter, self.pdf_dir, self._warn):
            record = chunk.records[number]
            if isinstance(pages, str):
                self._refuse(
                    record, "convert", "LibreOffice", f"the PDF could not be made: {pages}"
                )
                continue
            try:
                staged = self._packet(chunk, number, pages)
            except AssembleError as exc:
                self._refuse(record, "assemble", "PDF", str(exc), exc.column)
                continue
            self.made.staged.append(staged)
            if self.review_pages is not None:  # while the converted PDF is open
                self.review_pages.add(*staged.origin, pages[0])
            self.done += 1
            self.progress("assemble", self.done, self.total)

    def _packet(self, chunk: Chunk, number: int, pages: Pages) -> Staged:
        """One grant's packet from its converted pages: its agreement (and acceptance page),
        the Plan, the signature fields and the grant's record; staged beside its DOCX."""
        record, source = chunk.records[number], chunk.sources[number]
        reader, text, span, origin, marks = pages
        title, subject = chunk.titles[number]
        plan, draft = self.plan, self.options.draft
        assert self.plan_pdf is not None  # opened before the first packet
        info = PacketInfo(
            title=title,
            author=plan.company.name,
            subject=subject + (" (DRAFT)" if draft else ""),
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
        )
        packet = assemble(
            reader, span, text, self.plan_pdf, info, signature_fields=not draft,
            must_show=record.participant, hints=marks, layout=chunk.layout,
        )  # fmt: skip
        pdf = source.with_suffix(".packet.pdf")
        pdf.write_bytes(packet)
        docx_hash = self.hashes.pop(source)
        return Staged(record, source, pdf, docx_hash, sha256(packet), (origin, span))

    def _refuse(
        self, record: GrantRecord, rule: str, section: str, message: str, column: str | None = None
    ) -> None:
        finding = Finding(record.row, record.grant_id, rule, section, ERROR, message, column)
        self.made.errors.append(finding.as_dict())

    def _warn(self, message: str) -> None:
        self.made.warnings.append({"row": None, "rule": "convert", "message": message})

    def _unapproved(self, message: str) -> None:
        self.made.warnings.append({"row": None, "rule": "approved-form", "message": message})
