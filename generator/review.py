"""The review packet of a batch folder, in ``DIR/review/``.

It describes every final document the folder's manifest lists, not only those of the last
run: a run of part of a batch (``--only``, ``--where``) or one whose grants were all refused
leaves a review of the whole folder. A draft run into a folder that holds final documents
gets its own files (``summary.draft.html``, ``packet.draft.pdf``, ``board_consent.draft.docx``,
...), over the folder's drafts, so it never replaces the final batch's review; in a folder of
drafts only, the drafts' review has the usual names.

* ``summary.html`` (standalone), ``summary.csv``, ``summary.xlsx``: one line per grant with its
  terms, status and findings; totals and the share reserve before and after the batch.
* ``packet.pdf``: the agreement and acceptance pages of every packet made, one after another,
  one bookmark per participant: the whole batch read in one sitting. A batch of more than
  :data:`PACKET_VOLUME` agreements gets volumes instead (``packet-01-of-12.pdf``, ...), each
  a PDF a viewer opens at once, and none of them ever held in memory with another.
* deviations: each rendered agreement's text against the approved form (:mod:`.deviations`),
  listed in ``summary.html`` with word-level diffs.
* ``board_consent.docx`` / ``.pdf``: the Board's written consent approving the grants made,
  with Exhibit A listing them (:mod:`.consent`).

Every file is written atomically. :func:`review_batch` builds the :class:`ReviewBatch` from
what :func:`.pipeline.check_batch` and :func:`.pipeline.generate` return.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pikepdf

from .consent import (
    ConsentGrant,
    PendingConsent,
    consent_name,
    consent_template,
    finish_consent,
    write_consent,
)
from .convert import Converter
from .deviations import Deviation, find_deviations
from .errors import GrantgenError, OutputError
from .ledger import batch_reserve
from .output import own_folder, remove_left_parts, write_atomic
from .pdfa import Collection, save_packet, set_pdfa_metadata
from .plan import Plan
from .publish import holds_finals
from .section16 import Reportable, form4_csv, form4_rows
from .summary import summary_csv, summary_html, summary_xlsx, totals_csv
from .vesting import one_line

if TYPE_CHECKING:
    from .pipeline import Checked, GenerateResult

Status = Literal["generated", "refused", "failed", "draft"]
REVIEW_DIR = "review"
#: The packet's bookmark where the Plan starts: the review packet stops there.
PLAN_BOOKMARK = "Plan"
#: Agreements per review packet file, at most.
PACKET_VOLUME = 1000


@dataclass(frozen=True)
class ReviewGrant:
    """One grant of the batch as the review shows it."""

    row: int
    grant_id: str
    participant: str
    grant_date: date | None
    """None (and the shares and price too) for a row refused because it could not be read."""
    shares: int | None
    exercise_price: Decimal | None
    price_source: str
    """Where the exercise price was checked from (e.g. ``close on grant date 2005-05-16``)."""
    final_exercise_date: date | None
    status: Status
    findings: list[dict[str, object]]
    """Every finding for the grant: row, column, grant_id, rule, section, severity, message."""
    docx: Path | None = None
    """The agreement DOCX (absolute, or relative to the batch folder)."""
    pdf: Path | None = None
    """The signature packet PDF (absolute, or relative to the batch folder)."""
    deviations: tuple[Deviation, ...] | None = None
    """An earlier run's document: its deviations from the form as the manifest recorded them
    (its DOCX is unchanged), so they are not worked out again; None: not recorded."""
    vesting: str = ""
    """Its vesting in one line (the schedule and its installments)."""
    award_type: str = "option"
    first_vests: date | None = None
    """The day its first installment vests (None: not known, or all at once)."""

    @property
    def valid(self) -> bool:
        """Made (a final document or a draft): on the consent and in the packet."""
        return self.status in ("generated", "draft")


@dataclass(frozen=True)
class ReviewBatch:
    """A batch as the review shows it."""

    out: Path
    """The batch folder; the review goes to ``out/review/``."""
    plan: Plan
    grants: list[ReviewGrant]
    reserve: int
    """Section 4(a) reserve (after Section 8 adjustments)."""
    available_before: int
    available_after: int
    draft: bool
    findings: list[dict[str, object]] = field(default_factory=list)
    """Findings not about a grant listed: batch-level ones, rows that could not be read."""
    untermed: int = 0
    """Documents listed from an earlier run whose terms the manifest does not record (made by
    an earlier grantgen): not in the consent."""
    already_recorded: int = 0
    """Shares of grants made again that the ledger had already (a rerun): in "available
    before", not taken again."""
    consent_date: date | None = None
    """The Board consent's stated date (None: the first grant date)."""


@dataclass
class ReviewResult:
    """What :func:`write_review` wrote, and the deviations it found."""

    folder: Path
    summary_html: Path
    summary_csv: Path
    summary_xlsx: Path
    totals_csv: Path
    """The batch's totals (``totals.csv``)."""
    form4_csv: Path | None = None
    """The Form 4 values of each grant made (``form4.csv``), when the plan's participants
    are Section 16 reporting persons."""
    packet_pdfs: list[Path] = field(default_factory=list)
    """``packet.pdf``, or its volumes in order; empty when no packet was made."""
    board_consent_docx: Path | None = None
    """None when no grant was made."""
    board_consent_pdf: Path | None = None
    deviations: dict[str, list[Deviation]] = field(default_factory=dict)
    """By grant id, for every agreement compared (empty lists included)."""
    problems: list[str] = field(default_factory=list)
    """What could not be made (e.g. the consent PDF), in sentences."""

    @property
    def deviation_count(self) -> int:
        return sum(len(v) for v in self.deviations.values())


def form4_file(batch: ReviewBatch, made: Sequence[ReviewGrant]) -> bytes:
    """``form4.csv``: the Form 4 values of each grant made (:mod:`.section16`)."""
    terms = batch.plan.section16
    assert terms is not None
    reportable = [
        Reportable(
            grant_id=g.grant_id,
            participant=g.participant,
            award_type=g.award_type,
            is_option=batch.plan.is_option(g.award_type),
            grant_date=g.grant_date,
            shares=g.shares,
            exercise_price=g.exercise_price,
            expires=g.final_exercise_date,
            first_vests=g.first_vests,
            vesting=g.vesting,
        )
        for g in made
        if g.grant_date is not None and g.shares is not None
    ]
    return form4_csv(form4_rows(reportable, terms))


def _path(out: Path, path: Path | None) -> Path | None:
    return None if path is None else path if path.is_absolute() else out / path


def batch_deviations(
    batch: ReviewBatch,
    form_text: Path | None,
    *,
    known: Mapping[str, Sequence[Deviation]] | None = None,
) -> dict[str, list[Deviation]]:
    """Deviations of every agreement made in the batch (those in ``known`` are not redone)."""
    out: dict[str, list[Deviation]] = {}
    for g in batch.grants:
        docx = _path(batch.out, g.docx)
        if not g.valid or docx is None:
            continue
        if known is not None and g.grant_id in known:
            out[g.grant_id] = list(known[g.grant_id])
        elif g.deviations is not None:  # an earlier run's, as its manifest recorded them
            out[g.grant_id] = list(g.deviations)
        elif form_text is None:  # a kit's approved forms: compared when it was made
            out[g.grant_id] = []
        else:
            out[g.grant_id] = find_deviations(
                docx, form_text, participant=g.participant, plan=batch.plan
            )
    return out


def write_review(
    batch: ReviewBatch,
    *,
    templates_dir: Path,
    converter: Converter | None,
    form_text: Path | None,
    deviations: Mapping[str, Sequence[Deviation]] | None = None,
    pages: Mapping[str, tuple[Path, range]] | None = None,
    early_consent: PendingConsent | None = None,
    copied: PacketPages | None = None,
    uncompared: Sequence[str] = (),
) -> ReviewResult:
    """Write ``batch.out/review/``: summary (HTML, CSV, XLSX), packet.pdf, the board consent.

    ``deviations``: those already found (by grant id), e.g. before publishing for
    ``--strict``; the other agreements are compared here. ``converter``: the batch's
    LibreOffice pool, for the consent PDF; None starts one worker when a consent is made.
    ``pages``: where each grant's agreement pages already are (by grant id: a PDF and its page
    range, e.g. the batch's converted chunks), so the packet need not open every packet PDF.
    ``early_consent``: a consent already on its way for the grants expected to be made; used
    when those are the grants made, else a new one is made. ``copied``: agreement pages
    copied in for the review packet while the batch was made (used when it has one volume).
    A consent or packet that cannot be made is reported in ``problems``; the summary is
    always written.
    """
    folder = own_folder(batch.out / REVIEW_DIR)
    aside = batch.draft and holds_finals(batch.out)  # drafts' files beside the final review
    result = ReviewResult(
        folder,
        folder / review_name("summary.html", aside),
        folder / review_name("summary.csv", aside),
        folder / review_name("summary.xlsx", aside),
        folder / review_name("totals.csv", aside),
    )
    result.deviations = batch_deviations(batch, form_text, known=deviations)
    made = [g for g in batch.grants if g.valid]
    files: dict[str, str] = {"CSV": result.summary_csv.name, "XLSX": result.summary_xlsx.name}
    files["Totals (CSV)"] = result.totals_csv.name
    if batch.plan.section16 is not None:
        result.form4_csv = folder / review_name("form4.csv", aside)
        files["Form 4 (CSV)"] = result.form4_csv.name
    if batch.untermed:
        result.problems.append(
            f"{batch.untermed} document(s) listed from an earlier run are not in the Board "
            "consent: their manifest entries, made by an earlier grantgen, do not record their "
            "terms (generate them again to add them)"
        )

    with ThreadPoolExecutor(max_workers=1) as background:
        consent = None
        if made:  # LibreOffice converts the consent while the packet and summaries are written
            rows = [
                ConsentGrant(
                    g.participant,
                    g.shares,
                    g.exercise_price,
                    g.grant_date,
                    g.award_type,
                    g.grant_id,
                    g.final_exercise_date,
                )
                for g in made
                if g.shares is not None and g.exercise_price is not None and g.grant_date
            ]
            if early_consent is not None and early_consent.grants == tuple(rows):
                consent = background.submit(finish_consent, early_consent, folder, aside)
            else:
                consent = background.submit(
                    write_consent,
                    folder,
                    batch.plan,
                    rows,
                    templates=templates_dir,
                    converter=converter,
                    draft=batch.draft,
                    aside=aside,
                    dated=batch.consent_date,
                )
        entries: list[tuple[str, Path, range | None]] = []
        twice = _repeated_names(made)
        for g in made:
            label = f"{g.participant} ({g.grant_id})" if g.participant in twice else g.participant
            if pages is not None and g.grant_id in pages:
                entries.append((label, *pages[g.grant_id]))
            elif (path := _path(batch.out, g.pdf)) is not None:
                entries.append((label, path, None))
        volumes = [entries[i : i + PACKET_VOLUME] for i in range(0, len(entries), PACKET_VOLUME)]
        for number, volume in enumerate(volumes, start=1):
            name = packet_name(number, len(volumes), draft=aside)
            _allow_open_files(len({path for _, path, _ in volume}))
            first = (number - 1) * PACKET_VOLUME + 1
            of = f", agreements {first}-{first + len(volume) - 1} of {len(entries)}"
            try:
                review_packet(
                    volume,
                    folder / name,
                    title=f"Review packet: {len(entries)} agreement(s) under the "
                    f"{batch.plan.name}" + (of if len(volumes) > 1 else ""),
                    author=batch.plan.company.name,
                    copied=copied if len(volumes) == 1 else None,
                )
            except (OSError, ValueError, GrantgenError, pikepdf.PdfError) as exc:
                result.problems.append(f"{name} could not be made: {exc}")
            else:
                result.packet_pdfs.append(folder / name)
                label = "Review packet (PDF)" if len(volumes) == 1 else f"Review packet {number}"
                files[label] = name
        if consent is not None:
            try:
                result.board_consent_docx, result.board_consent_pdf = consent.result()
            except GrantgenError as exc:
                result.problems.append(str(exc))
            except (OSError, ValueError, pikepdf.PdfError) as exc:  # e.g. a damaged PDF
                result.problems.append(f"the Board consent could not be made: {exc}")
                docx = folder / consent_name(aside)
                result.board_consent_docx = docx if docx.is_file() else None
            if result.board_consent_docx is not None:
                files["Board consent (DOCX)"] = result.board_consent_docx.name
            if result.board_consent_pdf is not None:
                files["Board consent (PDF)"] = result.board_consent_pdf.name

    made_now = {*result.packet_pdfs, result.board_consent_docx, result.board_consent_pdf}
    ours = (consent_name(aside), str(Path(consent_name(aside)).with_suffix(".pdf")))
    for stale in folder.iterdir():
        packet = _PACKET_NAME.fullmatch(stale.name)
        if stale.name in ours or (packet and bool(packet.group(2)) == aside):
            if stale in made_now:
                continue
            stale.unlink(missing_ok=True)  # left by an earlier run in this folder
    remove_left_parts(folder)  # files a killed run was writing
    summaries: tuple[tuple[Path, Callable[[], bytes]], ...] = (
        (result.summary_csv, lambda: summary_csv(batch, result.deviations)),
        (result.totals_csv, lambda: totals_csv(batch)),
        (result.summary_xlsx, lambda: summary_xlsx(batch, result.deviations)),
        (
            result.summary_html,
            lambda: summary_html(
                batch,
                result.deviations,
                files,
                str(consent_template(templates_dir)),
                uncompared,
            ),
        ),
    )
    if result.form4_csv is not None:
        summaries += ((result.form4_csv, lambda: form4_file(batch, made)),)
    for path, content in summaries:  # one that cannot be written is a problem, like the packet
        try:
            write_atomic(path, content())
        except OutputError as exc:
            result.problems.append(f"{path.name} could not be written: {exc}")
    return result


def _repeated_names(made: Sequence[ReviewGrant]) -> set[str]:
    """Participants named more than once: their bookmarks also give the grant id."""
    counts = Counter(g.participant for g in made)
    return {name for name, count in counts.items() if count > 1}


_PACKET_NAME = re.compile(r"packet(-\d+-of-\d+)?(\.draft)?\.pdf")


def packet_name(number: int, volumes: int, *, draft: bool = False) -> str:
    """``packet.pdf``, or the ``number``-th of ``volumes`` (``packet-02-of-12.pdf``); with
    ``.draft`` before ``.pdf`` for drafts."""
    if volumes == 1:
        return review_name("packet.pdf", draft)
    width = max(2, len(str(volumes)))
    return review_name(f"packet-{number:0{width}d}-of-{volumes:0{width}d}.pdf", draft)


def review_name(name: str, draft: bool) -> str:
    """A review file's name: ``summary.html``, or ``summary.draft.html`` for drafts."""
    if not draft:
        return name
    stem, _, extension = name.rpartition(".")
    return f"{stem}.draft.{extension}"


def _allow_open_files(count: int) -> None:
    """Let the process hold ``count`` PDFs open at once (a review packet volume of documents
    from earlier runs opens each one), as far as the hard limit allows."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = count + 256  # LibreOffice pipes, the ledger, the files being written
        if soft != resource.RLIM_INFINITY and soft < wanted:
            top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def agreement_pages(pdf: pikepdf.Pdf) -> int:
    """Pages before the packet's ``Plan`` bookmark (all pages when it has none)."""
    with pdf.open_outline() as outline:
        for item in outline.root:
            if item.title == PLAN_BOOKMARK and item.destination is not None:
                target = (
                    item.destination[0] if isinstance(item.destination, pikepdf.Array) else None
                )
                if target is not None:
                    for number, page in enumerate(pdf.pages):
                        if page.obj.objgen == target.objgen:
                            return number
    return len(pdf.pages)


class PacketPages:
    """The review packet's pages, copied in while the batch is made: each agreement's pages
    as its chunk is assembled (the chunk's PDF is open then), so that writing the review
    packet after the last conversion only puts them in order and saves.

    Pages are kept by the converted PDF they came from and their range in it (what
    :func:`write_review` is given as ``pages``); :func:`review_packet` copies any others.
    The page objects are copied on their own and put in the page tree once, at the end:
    adding pages one agreement at a time to a tree of thousands costs more with each one.
    """

    _INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")

    def __init__(self) -> None:
        self.pdf = pikepdf.new()
        self.structure = Collection(self.pdf)  # the copied pages' tags
        self._pages: dict[tuple[Path, int, int], list[pikepdf.Object]] = {}
        self._flat: tuple[pikepdf.Pdf, bool] | None = None  # the last source: no inherited

    def add(self, path: Path, span: range, source: pikepdf.Pdf) -> None:
        """Copy the pages ``span`` of ``source`` (opened from ``path``)."""
        self._pages[(path, span.start, span.stop)] = self.copy(source, span)

    def copy(self, source: pikepdf.Pdf, span: range) -> list[pikepdf.Object]:
        """Copy pages ``span`` of ``source`` in (not yet in the page tree); their objects."""
        if self._alone(source):
            pages = [self.pdf.copy_foreign(source.pages[n].obj) for n in span]
        else:  # a page tree whose nodes hand attributes down: qpdf's page copy puts them on
            count = len(self.pdf.pages)  # the page
            with warnings.catch_warnings():  # the fields are dropped later: a reading copy
                warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
                self.pdf.pages.extend(source.pages[span.start : span.stop])
            pages = [self.pdf.pages[n].obj for n in range(count, count + len(span))]
        self.structure.add(source, span, pages)
        return pages

    def _alone(self, source: pikepdf.Pdf) -> bool:
        """No node of the page tree of ``source`` holds attributes its pages inherit."""
        known = self._flat
        if known is None or known[0] is not source:  # (the last source only: a chunk's
            nodes, alone = [source.Root.Pages], True  # pages come together, and keeping
            while nodes and alone:  # every chunk's PDF open would hold them all in memory)
                node = nodes.pop()
                alone = not any(key in node for key in self._INHERITED)
                nodes += [kid for kid in node.get("/Kids", []) if kid.get("/Type") == "/Pages"]
            known = self._flat = (source, alone)
        return known[1]

    def get(self, path: Path, span: range) -> list[pikepdf.Object] | None:
        """The page objects the pages ``span`` of ``path`` were copied to, if they were."""
        return self._pages.get((path, span.start, span.stop))


def review_packet(
    packets: Iterable[tuple[str, Path, range | None]],
    dest: Path,
    *,
    title: str,
    author: str,
    copied: PacketPages | None = None,
) -> None:
    """Write ``dest``: one PDF of the agreement and acceptance pages of each packet, one
    bookmark per ``(bookmark title, PDF, page range)`` (None: the pages before the PDF's Plan
    bookmark); signature fields left out (this copy is for reading). ``copied``: pages
    copied in already (see :class:`PacketPages`); the packet is made in its PDF (which cannot
    be used again after). Saved to memory, then written atomically."""
    into = copied if copied is not None else PacketPages()
    out = into.pdf
    opened: dict[Path, pikepdf.Pdf] = {}
    marks: list[tuple[str, int]] = []
    pages: list[pikepdf.Object] = []  # the packet's pages, in order
    taken: set[tuple[Path, int, int]] = set()  # copied pages used (a page is in a tree once)
    try:
        for label, path, span in packets:
            marks.append((label, len(pages)))
            found = None
            if span is not None and (path, span.start, span.stop) not in taken:
                found = into.get(path, span)
                taken.add((path, span.start, span.stop))
            if found is None:
                if path not in opened:
                    opened[path] = pikepdf.open(path)
                source = opened[path]
                chosen = span if span is not None else range(agreement_pages(source))
                found = into.copy(source, chosen)
            pages.extend(found)
        # the page tree in the packet's order: pages copied in for an agreement not in the
        # packet (refused when the files were placed) are left out, and not saved
        tree = out.Root.Pages
        for page in pages:
            page.Parent = tree
        tree.Kids = pikepdf.Array(pages)
        tree.Count = len(pages)
        for page in pages:
            if "/Annots" in page:
                keep = [a for a in page.Annots if a.get("/Subtype") != pikepdf.Name.Widget]
                if keep:
                    page.Annots = pikepdf.Array(keep)
                else:
                    del page.Annots
        with out.open_outline() as outline:
            for label, start in marks:  # explicit destinations: a page number would be
                # looked up in the whole page tree once per bookmark
                fit = pikepdf.Array([pages[min(start, len(pages) - 1)], pikepdf.Name.Fit])
                outline.root.append(pikepdf.OutlineItem(label, fit))
        out.Root.PageMode = pikepdf.Name.UseOutlines
        into.structure.finish(pages)  # tagged, PDF/A-2b as the packets are
        out.docinfo = out.make_indirect(
            pikepdf.Dictionary(
                Title=pikepdf.String(title),
                Author=pikepdf.String(author),
                Creator=pikepdf.String("grantgen"),
                Producer=pikepdf.String("grantgen"),
            )
        )
        set_pdfa_metadata(out)
        # saved to memory, then written: qpdf writing to a file that hits a full disk aborts
        # the whole process (its C++ error cannot cross into Python there); a volume is at
        # most PACKET_VOLUME agreements (~7 MB per 1,000)
        write_atomic(dest, save_packet(out, object_streams=False))  # same bytes every run
    finally:
        for source in opened.values():
            source.close()


# --- from the pipeline's results -------------------------------------------------------------

#: Errors the pipeline adds after the checks: the grant passed them and then could not be made.
FAILURE_RULES = ("convert", "assemble", "render")


def review_batch(
    checked: Checked, result: GenerateResult, earlier: Sequence[Mapping[str, Any]] = ()
) -> ReviewBatch:
    """The review's view of a batch: ``checked`` as :func:`.pipeline.check_batch` returned it
    before the batch was generated, ``result`` as :func:`.pipeline.generate` returned it, and
    ``earlier``: the manifest entries of the documents (of the same kind: final or draft) an
    earlier run left in the folder and this one did not make."""
    report = checked.report
    pool = report.pool
    assert pool is not None
    documents = {d.row: d for d in result.documents}
    errors: dict[int, list[dict[str, object]]] = {}
    for e in result.errors:
        row = e.get("row")
        if isinstance(row, int):
            errors.setdefault(row, []).append(e)
    rows = {r.row for r in checked.grants.records}
    grants: list[ReviewGrant] = []
    added = recorded_before = 0  # shares this batch records; shares it made documents for again
    by_row = report.by_row()
    refused = report.refused_rows  # (worked out once: a property over every finding)
    for rec in checked.grants.records:
        findings = [f.as_dict() for f in by_row.get(rec.row, [])]
        seen = {str(f["message"]) for f in findings}
        findings += [e for e in errors.get(rec.row, []) if str(e.get("message")) not in seen]
        doc = documents.get(rec.row)
        status: Status
        if doc is not None:
            status = "draft" if result.draft else "generated"
            held = pool.adjusted_shares(rec.shares, rec.grant_date)  # as the reserve counts it
            if not any(f.get("rule") == "already-recorded" for f in findings):
                added += held
            else:
                recorded_before += held
        elif rec.row in refused or any(
            e.get("rule") not in FAILURE_RULES for e in errors.get(rec.row, [])
        ):
            status = "refused"
        else:
            status = "failed"
        facts = report.facts.get(rec.row)
        grants.append(
            ReviewGrant(
                row=rec.row,
                grant_id=rec.grant_id,
                participant=rec.participant,
                grant_date=rec.grant_date,
                shares=rec.shares,
                exercise_price=rec.exercise_price,
                price_source=facts.price_source if facts else "not checked",
                final_exercise_date=facts.final_exercise_date if facts else None,
                status=status,
                findings=findings,
                docx=Path(doc.docx) if doc else None,  # relative to the batch folder
                pdf=Path(doc.pdf) if doc else None,
                vesting=one_line(facts.schedule, facts.vesting) if facts else "",
                award_type=rec.award_type,
                first_vests=facts.vesting[0].day if facts and facts.vesting else None,
            )
        )
    untermed = 0
    for entry in earlier:
        grant = earlier_grant(entry, draft=result.draft)
        grants.append(grant)
        if grant.shares is None:
            untermed += 1
        elif grant.grant_id in pool.known:
            recorded_before += grant.shares
        else:
            added += grant.shares
    unread: dict[int, list[dict[str, object]]] = {}  # rows refused because they could not be read
    for f in report.findings:
        if f.row is not None and f.row not in rows:
            unread.setdefault(f.row, []).append(f.as_dict())
    for row, found in unread.items():
        named = next((f.get("grant_id") for f in found if f.get("grant_id")), None)
        grants.append(
            ReviewGrant(
                row=row,
                grant_id=str(named or ""),
                participant="",
                grant_date=None,
                shares=None,
                exercise_price=None,
                price_source="not checked",
                final_exercise_date=None,
                status="refused",
                findings=found,
            )
        )
    grants.sort(key=lambda g: g.row)
    other = [f.as_dict() for f in report.findings if f.row is None]
    reserve = batch_reserve(pool, checked.plan, checked.grants.records)
    return ReviewBatch(
        out=result.out,
        plan=checked.plan,
        grants=grants,
        reserve=reserve,
        available_before=reserve - pool.used,
        available_after=reserve - pool.used - added,
        already_recorded=recorded_before,
        draft=result.draft,
        findings=other,
        untermed=untermed,
        consent_date=checked.consent_date,
    )


def earlier_grant(doc: Mapping[str, Any], *, draft: bool) -> ReviewGrant:
    """A document an earlier run left in the folder, from its manifest entry (its terms are
    None when the entry does not record them: made by an earlier grantgen)."""

    def day(value: object) -> date | None:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None

    try:
        shares: int | None = int(doc["shares"])
        price: Decimal | None = Decimal(str(doc["exercise_price"]))
        granted = day(doc["grant_date"])
    except (KeyError, TypeError, ValueError, ArithmeticError):
        shares = price = granted = None
    if granted is None:
        shares = price = None
    source = doc.get("input")
    note = {
        "row": doc.get("row"),
        "column": None,
        "grant_id": doc.get("grant_id"),
        "rule": "earlier-run",
        "section": "output",
        "severity": "note",
        "message": "made by an earlier run"
        + (f" from {source}" if source else "")
        + "; its files are unchanged",
    }
    found = doc.get("findings")
    recorded = doc.get("deviations")
    deviations = None
    if isinstance(recorded, list):
        parsed = [Deviation.from_dict(d) for d in recorded]
        deviations = None if None in parsed else tuple(d for d in parsed if d is not None)
    return ReviewGrant(
        row=int(doc.get("row") or 0),
        grant_id=str(doc.get("grant_id") or ""),
        participant=str(doc.get("participant") or ""),
        grant_date=granted,
        shares=shares,
        exercise_price=price,
        price_source=str(doc.get("price_source") or "not recorded"),
        final_exercise_date=day(doc.get("final_exercise_date")),
        status="draft" if draft else "generated",
        findings=[*(found if isinstance(found, list) else []), note],
        docx=Path(str(doc["docx"])),
        pdf=Path(str(doc["pdf"])),
        deviations=deviations,
        vesting=str(doc.get("vesting") or ""),
        award_type=str(doc.get("award_type") or "option"),
        first_vests=_first_vests(doc.get("installments"), day),
    )


def _first_vests(installments: object, day: Any) -> date | None:
    """The first installment's day of a manifest entry's ``installments``."""
    if isinstance(installments, list) and installments and isinstance(installments[0], dict):
        found = day(installments[0].get("date"))
        return found if isinstance(found, date) else None
    return None
