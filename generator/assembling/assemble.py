"""Assemble the signature-ready packet: agreement + acceptance page + the Plan, one PDF per grant.

Signature fields are placed by anchor text: the converted pages are searched for the label of
each signature block ("By:", "PARTICIPANT:") and the line of underscores just below it, so a
template edit that moves a signature block still gets its field over the right line. The
packet gets document metadata, bookmarks, and a file identifier derived from its content, so
the same input always gives the same bytes.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import pikepdf
import pypdfium2 as pdfium
from pikepdf import Array, Dictionary, Name, OutlineItem, String

from generator.assembling.dateline import DATE_FIELD, date_widget
from generator.assembling.fieldplace import (
    ACCEPTANCE_TITLE,
    SIGNATURE_FIELDS,
    FieldPlacement,
    LazyPages,
    Marks,
    PageText,
    first_with,
    locate_date_line,
    locate_fields,
)
from generator.assembling.pdfa import save_packet, set_pdfa_metadata
from generator.assembling.pdfstructure import extract, tag_widget
from generator.core.errors import AssembleError


@dataclass(frozen=True)
class Layout:
    """What a kit's form puts in its packet: the signature fields (each over its bookmarked
    line) and the outline entries. The defaults are the bundled example's."""

    signatures: tuple[str, ...] = tuple(spec.name for spec in SIGNATURE_FIELDS)
    labels: bool = True
    """Fields without a bookmark are found under their labels (the bundled templates)."""
    document: str = "Agreement"
    acceptance: str | None = "Participant's Acceptance"
    acceptance_mark: str = "grantgen_acceptance"
    plan: str = "Plan"


@dataclass(frozen=True)
class PacketInfo:
    """The metadata written into a packet."""

    title: str
    author: str
    subject: str
    keywords: str
    record: str = ""
    """The grant's terms as JSON (:func:`grant_record`), written under :data:`RECORD_KEY`: the
    Company's signature covers them, so ``verify`` takes who must sign from the packet itself."""


RECORD_KEY = "/GrantgenRecord"
"""The document information entry holding a packet's signed grant record."""
RECORD_TERMS = ("grant_id", "participant", "award_type", "grant_date", "shares", "exercise_price")
"""The manifest entry's terms a packet's record repeats (with the plan and signing officer)."""


def grant_record(terms: Mapping[str, object]) -> str:
    """The record a packet carries: its terms as compact JSON, keys sorted."""
    return json.dumps(dict(terms), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _not_shown(name: str, pages: Iterable[PageText]) -> list[str]:
    """The characters of ``name`` (but spaces) that no page of ``pages`` shows."""
    shown = set("".join(p.text for p in pages))
    return sorted({c for c in name if not c.isspace() and c not in shown})


def _add_fields(
    out: pikepdf.Pdf, placements: Sequence[FieldPlacement]
) -> list[tuple[pikepdf.Object, int]]:
    """Empty signature fields (``/FT /Sig``) as widget annotations, listed in the AcroForm
    (and the date line's text field: :mod:`.dateline`); each widget and its page."""
    fields = []
    placed: list[tuple[pikepdf.Object, int]] = []
    for placement in placements:
        page = out.pages[placement.page]
        x1, y1, x2, y2 = (round(v, 2) for v in placement.rect)
        if placement.name == DATE_FIELD:
            widget = date_widget(out, page, [x1, y1, x2, y2])
            if "/Annots" not in page.obj:
                page.obj.Annots = Array()
            page.obj.Annots.append(widget)
            fields.append(widget)
            placed.append((widget, placement.page))
            continue
        appearance = out.make_stream(
            b"",
            Type=Name.XObject,
            Subtype=Name.Form,
            BBox=[0, 0, round(x2 - x1, 2), round(y2 - y1, 2)],
        )
        widget = out.make_indirect(
            Dictionary(
                FT=Name.Sig,
                T=String(placement.name),
                Type=Name.Annot,
                Subtype=Name.Widget,
                F=4,  # print
                Rect=[x1, y1, x2, y2],
                P=page.obj,
                AP=Dictionary(N=appearance),
            )
        )
        if "/Annots" not in page.obj:
            page.obj.Annots = Array()
        page.obj.Annots.append(widget)
        fields.append(widget)
        placed.append((widget, placement.page))
    if fields:
        if "/AcroForm" not in out.Root:
            out.Root.AcroForm = Dictionary()
        out.Root.AcroForm.Fields = Array(fields)
    return placed


#: Link actions a furnished Plan's pages may keep: going to a page or a web address.
_SAFE_ACTIONS = (Name.URI, Name.GoTo, Name.GoToR)
#: Annotations that carry files, media or 3-D content: never kept.
_ACTIVE_ANNOTS = (
    Name.FileAttachment,
    Name.RichMedia,
    Name.Screen,
    Name.Movie,
    Name.Sound,
    Name("/3D"),
)


def _unsafe_action(action: object) -> bool:
    """An action (and the chain of /Next actions after it) that does more than go somewhere."""
    seen = 0
    todo = [action]
    while todo and seen < 100:
        current = todo.pop()
        seen += 1
        if not isinstance(current, Dictionary):
            if isinstance(current, Array):
                todo.extend(current)
            continue
        if current.get("/S") not in _SAFE_ACTIONS:
            return True
        if "/Next" in current:
            todo.append(current.Next)
    return bool(todo)


def inert_pages(pdf: pikepdf.Pdf) -> int:
    """Make the pages of a furnished Plan PDF inert, in memory: page actions (``/AA``), form
    fields and signature widgets (a packet's only fields are its own signature fields) and
    links that run script or programs are removed. Returns how many things were removed."""
    removed = 0
    for page in pdf.pages:
        obj = page.obj
        if "/AA" in obj:
            del obj.AA
            removed += 1
        if "/Annots" not in obj:
            continue
        keep = []
        for annot in obj.Annots:
            action = annot.get("/A")
            if (
                annot.get("/Subtype") in (Name.Widget, *_ACTIVE_ANNOTS)
                or "/AA" in annot
                or (action is not None and _unsafe_action(action))
            ):
                removed += 1
                continue
            keep.append(annot)
        if keep:
            obj.Annots = Array(keep)
        else:
            del obj.Annots
    return removed


def stamp_draft(pdf: pikepdf.Pdf, mark: str) -> None:
    """Print ``mark`` at the top of every page, in memory: a furnished Plan PDF in a draft
    packet is marked like the pages LibreOffice made from the templates."""
    font = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name("/Helvetica-Bold"),
            Encoding=Name.WinAnsiEncoding,
        )
    )
    text = mark.encode("cp1252", "replace")
    for page in pdf.pages:
        left, _, right, top = (float(v) for v in page.cropbox)  # the part a reader shows
        width = 0.6 * 11 * len(text)  # Helvetica-Bold capitals: about 0.6 em wide
        name = page.add_resource(font, Name.Font, prefix="GgDraft")
        x, y = left + max((right - left - width) / 2, 10), top - 28
        # the page's own drawing may leave a scaled or moved coordinate system: close it
        page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        content = (
            b"\nQ q 0.75 0 0 rg BT "
            + bytes(str(name), "ascii")
            + b" 11 Tf "
            + f"{x:.1f} {y:.1f} Td (".encode("ascii")
            + text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            + b") Tj ET Q"
        )
        page.contents_add(pdf.make_stream(content), prepend=False)


def assemble(
    source: pikepdf.Pdf,
    pages: range,
    text: pdfium.PdfDocument,
    plan: pikepdf.Pdf,
    info: PacketInfo,
    *,
    signature_fields: bool = True,
    must_show: str = "",
    hints: Mapping[str, int] | None = None,
    layout: Layout | None = None,
) -> bytes:
    """The packet for one grant: its agreement pages (``pages`` of ``source``, whose text
    ``text`` is the same PDF opened in PDFium), then the Plan, with fields and metadata.

    The file identifier is derived from the content (qpdf's deterministic id), so the same
    input gives the same bytes. Every character of ``must_show`` (the participant's name) must
    be in the converted text, or the packet is refused: nothing comes out silently mangled.
    ``hints``: where the signature labels and the acceptance title can only be (see
    :func:`find_fields`); pages nothing needs are not read, and the packet is the same.
    ``layout``: the signature fields and outline of the kit's form (the bundled example's
    when None). The fields are located even when ``signature_fields`` is false (a draft):
    a draft fails where the final document would, and only a final one gets them.
    """
    layout = layout or Layout()
    marks = hints if isinstance(hints, Marks) else Marks(hints)
    try:
        page_text = LazyPages(text, pages)
        widths = [float(source.pages[n].mediabox[2]) for n in pages]
        placements, missing = _placements(page_text, marks, layout, widths)
        if not signature_fields:
            placements = []
        acceptance = _acceptance_page(page_text, marks, layout)
        _check_shown(page_text, must_show)
        if missing is not None:
            raise missing
        with warnings.catch_warnings():  # the Plan's own fields were removed (inert_pages)
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            out = extract(source, pages, plan)  # tagged: the structure of these pages
    except AssembleError:
        raise
    except Exception as exc:
        raise AssembleError(f"cannot assemble the packet from the converted PDF: {exc}") from exc
    widgets = _add_fields(out, placements)
    _add_outline(out, layout, acceptance, len(pages))
    _add_docinfo(out, info)
    for widget, page in widgets:  # in the structure tree, named for a screen reader
        tag_widget(out, widget, page, _FIELD_NAMES.get(str(widget.T), "Signature"))
    set_pdfa_metadata(out)  # the XMP says what the document information says
    return save_packet(out)


def _placements(
    page_text: LazyPages, marks: Marks, layout: Layout, widths: Sequence[float]
) -> tuple[list[FieldPlacement], AssembleError | None]:
    """Where the signature fields and the date line go; a signature field that cannot be
    placed is returned as the error, for :func:`assemble` to raise after its checks of the
    text (which come first)."""
    missing: AssembleError | None = None
    placements: list[FieldPlacement] = []
    try:
        placements = locate_fields(
            page_text,
            layout.signatures,
            marks.places,
            labels=layout.labels,
            hints=marks,
            widths=widths,
        )
    except AssembleError as exc:  # raised after the checks of the text, as they come first
        missing = exc
    company = next((p for p in placements if p.name == SIGNATURE_FIELDS[0].name), None)
    dated = locate_date_line(page_text, marks.places, company, labels=layout.labels, widths=widths)
    if dated is not None:
        placements.append(dated)
    return placements, missing


def _acceptance_page(page_text: LazyPages, marks: Marks, layout: Layout) -> int | None:
    """The page the acceptance starts on (by its bookmark, else its title), if the form has
    one and it is found."""
    if layout.acceptance is None:
        return None
    if layout.acceptance_mark in marks.places:
        return marks.places[layout.acceptance_mark].page
    if layout.labels:
        return first_with(page_text, ACCEPTANCE_TITLE, marks)
    return None


def _check_shown(page_text: LazyPages, must_show: str) -> None:
    """Refuse pages that show no text at all, or not every character of ``must_show``."""
    # the pages read so far, then (only when they do not show it) all of them
    if must_show and not any(p.text.strip() for p in chain(page_text.read(), page_text)):
        raise AssembleError(
            "the converted PDF shows no text at all (LibreOffice made blank pages); "
            "try again, or convert this grant alone with `grantgen preview`"
        )
    lost = _not_shown(must_show, page_text.read()) and _not_shown(must_show, page_text)
    if lost:
        raise AssembleError(
            "the converted PDF does not show the character(s) "
            + ", ".join(f"{c!r} (U+{ord(c):04X})" for c in lost)
            + " of the participant's name",
            column="participant",
        )


def _add_outline(out: pikepdf.Pdf, layout: Layout, acceptance: int | None, plan_at: int) -> None:
    """The packet's bookmarks: the agreement, its acceptance page, the Plan (at ``plan_at``)."""
    with out.open_outline() as outline:
        outline.root.append(OutlineItem(layout.document, 0))
        if acceptance is not None and layout.acceptance is not None:
            outline.root.append(OutlineItem(layout.acceptance, acceptance))
        outline.root.append(OutlineItem(layout.plan, plan_at))
    out.Root.PageMode = Name.UseOutlines


def _add_docinfo(out: pikepdf.Pdf, info: PacketInfo) -> None:
    """The document information: ``info``, and the grant record when it has one."""
    out.docinfo = out.make_indirect(
        Dictionary(
            Title=String(info.title),
            Author=String(info.author),
            Subject=String(info.subject),
            Keywords=String(info.keywords),
            Creator=String("grantgen"),
            Producer=String("grantgen (LibreOffice, qpdf)"),
        )
    )
    if info.record:
        out.docinfo[RECORD_KEY] = String(info.record)


#: What a screen reader says for a signature field.
_FIELD_NAMES = {
    "company_signature": "Signature of the Company",
    "participant_signature": "Signature of the Participant",
    DATE_FIELD: "Date of the Company's signature",
}
