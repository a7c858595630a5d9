"""The review packet: every agreement of a batch (with its acceptance page) in one PDF for
counsel to read, bookmarked by participant, tagged and PDF/A as the packets are; volumes of
:data:`PACKET_VOLUME` agreements for a larger batch. Its pages are copied in while the batch
is made (:class:`PacketPages`), or from the packets afterwards.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable
from pathlib import Path

import pikepdf

from generator.assembling.pdfa import save_packet, set_pdfa_metadata
from generator.assembling.pdfstructure import Collection
from generator.core.output import write_atomic

#: The packet's bookmark where the Plan starts: the review packet stops there.
PLAN_BOOKMARK = "Plan"
#: Agreements per review packet file, at most.
PACKET_VOLUME = 1000


def allow_open_files(count: int) -> None:
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
    try:
        pages, marks = _gather(packets, into, opened)
        _set_pages(out, pages)
        _add_bookmarks(out, marks, pages)
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


def _gather(
    packets: Iterable[tuple[str, Path, range | None]],
    into: PacketPages,
    opened: dict[Path, pikepdf.Pdf],
) -> tuple[list[pikepdf.Object], list[tuple[str, int]]]:
    """The packet's pages in order (copied in already, else copied now from their PDFs,
    opened into ``opened``), and each bookmark title with the index of its first page."""
    marks: list[tuple[str, int]] = []
    pages: list[pikepdf.Object] = []  # the packet's pages, in order
    taken: set[tuple[Path, int, int]] = set()  # copied pages used (a page is in a tree once)
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
    return pages, marks


def _set_pages(out: pikepdf.Pdf, pages: list[pikepdf.Object]) -> None:
    """The page tree of ``out`` in the packet's order, without signature fields: pages
    copied in for an agreement not in the packet (refused when the files were placed) are
    left out, and not saved."""
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


def _add_bookmarks(
    out: pikepdf.Pdf, marks: list[tuple[str, int]], pages: list[pikepdf.Object]
) -> None:
    """A bookmark for each ``(title, index of its first page)``."""
    with out.open_outline() as outline:
        for label, start in marks:  # explicit destinations: a page number would be
            # looked up in the whole page tree once per bookmark
            fit = pikepdf.Array([pages[min(start, len(pages) - 1)], pikepdf.Name.Fit])
            outline.root.append(pikepdf.OutlineItem(label, fit))
    out.Root.PageMode = pikepdf.Name.UseOutlines
