"""Assemble the signature-ready packet: agreement + acceptance page + the Plan, one PDF per grant.

Signature fields are placed by anchor text: the converted pages are searched for the label of
each signature block ("By:", "PARTICIPANT:") and the line of underscores just below it, so a
template edit that moves a signature block still gets its field over the right line. The
packet gets document metadata, bookmarks, and a file identifier derived from its content, so
the same input always gives the same bytes.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import overload

import pikepdf
import pypdfium2 as pdfium
from pikepdf import Array, Dictionary, Name, OutlineItem, String

from .dateline import DATE_FIELD, DATE_LABEL, date_widget
from .errors import AssembleError
from .pdfa import save_packet, set_pdfa_metadata
from .pdfstructure import extract, tag_widget


@dataclass(frozen=True)
class FieldSpec:
    """Where a signature field goes: below the text ``label``, over the line under it."""

    name: str
    """Field name in the PDF form (``/T``)."""
    label: str
    """The text of the line just above the signature line, e.g. ``By:``."""
    after: str | None = None
    """Search only pages from the first one containing this text (e.g. the acceptance title)."""


SIGNATURE_FIELDS = (
    FieldSpec("company_signature", "By:"),
    FieldSpec("participant_signature", "PARTICIPANT:", after="PARTICIPANT'S ACCEPTANCE"),
)
ACCEPTANCE_TITLE = "PARTICIPANT'S ACCEPTANCE"


@dataclass(frozen=True)
class Place:
    """Where a Word bookmark came out in the PDF: its page (0-based, within the document's
    pages) and the point LibreOffice's named destination gives, the left of the bookmarked
    text and the top of its line, in PDF units."""

    page: int
    x: float
    y: float


class Marks(dict[str, int]):
    """The page each landmark text of a document came out on (see
    :func:`.batchdoc.split_marked`), and in ``places`` where each of its bookmarks did."""

    def __init__(self, pages: Mapping[str, int] | None = None) -> None:
        super().__init__(pages or {})
        self.places: dict[str, Place] = {}


#: How far a signature field reaches above its line's top (the room to sign), at most.
SIGN_ROOM = 16.0
#: A signature field's width when its bookmarked line has no underscores to measure.
SIGN_WIDTH = 200.0


@dataclass(frozen=True)
class FieldPlacement:
    """A signature field's page (0-based, within the packet) and rectangle."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


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


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class PageText:
    """The text of one PDF page with the position of every character (PDFium)."""

    def __init__(self, page: pdfium.PdfPage) -> None:
        self._tp = page.get_textpage()
        self.text: str = self._tp.get_text_range()
        # PDFium counts UTF-16 code units: a character beyond U+FFFF (𠮷, emoji) is two of its
        # characters and one of ours, so every index after it is shifted
        self._shift: list[int] | None = None
        if _ASTRAL.search(self.text):
            shift, extra = [], 0
            for c in self.text:
                shift.append(extra)
                extra += ord(c) > 0xFFFF
            self._shift = shift

    def box(self, index: int) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a character (an index into ``text``), with the
        font's full height."""
        if self._shift is not None:
            index += self._shift[index]
        left, bottom, right, top = self._tp.get_charbox(index, loose=True)
        return (float(left), float(bottom), float(right), float(top))

    def lines_equal(self, label: str) -> list[int]:
        """Indexes where ``label`` stands alone on its line."""
        found, start = [], 0
        while (i := self.text.find(label, start)) >= 0:
            start = i + 1
            before = self.text[i - 1] if i else "\n"
            after = self.text[i + len(label) : i + len(label) + 1] or "\n"
            if before in "\r\n" and after in "\r\n":
                found.append(i)
        return found

    def room_above(self, left: float, top: float, right: float) -> float:
        """The top of a signature field over a line whose top is ``top``: up to
        :data:`SIGN_ROOM` above it, less where text above the line (between ``left`` and
        ``right``) begins."""
        for room in (SIGN_ROOM, 12.0, 8.0, 4.0):
            if not self._tp.get_text_bounded(left, top + 0.5, right, top + room).strip():
                return top + room
        return top

    def underscore_runs(self) -> list[tuple[float, float, float, float]]:
        """The boxes of every run of three or more underscores."""
        runs, start = [], 0
        while (i := self.text.find("___", start)) >= 0:
            j = i
            while j < len(self.text) and self.text[j] == "_":
                j += 1
            first, last = self.box(i), self.box(j - 1)
            runs.append((first[0], min(first[1], last[1]), last[2], max(first[3], last[3])))
            start = j
        return runs


class LazyPages(Sequence[PageText]):
    """The text of some pages of a PDF, each page read by PDFium when it is first asked for
    (a packet's assembly reads only the pages it needs: see ``hints`` in :func:`find_fields`)."""

    def __init__(self, doc: pdfium.PdfDocument, pages: range) -> None:
        self._doc = doc
        self._pages = pages
        self._read: dict[int, PageText] = {}

    def __len__(self) -> int:
        return len(self._pages)

    @overload
    def __getitem__(self, index: int) -> PageText: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PageText]: ...
    def __getitem__(self, index: int | slice) -> PageText | Sequence[PageText]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index not in self._read:
            self._read[index] = PageText(self._doc[self._pages[index]])
        return self._read[index]

    def __iter__(self) -> Iterator[PageText]:
        return (self[i] for i in range(len(self)))

    def read(self) -> list[PageText]:
        """The pages read so far."""
        return list(self._read.values())

    def numbers_read(self) -> list[int]:
        """The indexes of the pages read so far."""
        return sorted(self._read)


def first_with(
    pages: Sequence[PageText], text: str, hints: Mapping[str, int] | None = None
) -> int | None:
    """The first page whose text contains ``text``. ``hints``: the page a text can only be on
    (the batch's bookmarks, see :func:`.batchdoc.split_marked`), tried first."""
    at = (hints or {}).get(text)
    if at is not None and 0 <= at < len(pages) and text in pages[at].text:
        return at
    return next((i for i, p in enumerate(pages) if text in p.text), None)


def place_marked(name: str, place: Place, page: PageText, width: float) -> FieldPlacement:
    """A signature field over the line a bookmark marks: the run of underscores that line
    holds from the bookmark on (the whole run), else a field :data:`SIGN_WIDTH` wide from the
    bookmark (a line drawn by a border, or none; a line's height); reaching up to
    :data:`SIGN_ROOM` above the line where no text is."""
    # the destination's top is the line's (and any space above the paragraph): the runs of
    # that line are those whose top is below it by less than about a line
    below = [
        run
        for run in page.underscore_runs()
        if run[0] >= place.x - 4
        and run[2] > place.x + 1
        and run[1] - 2 <= place.y
        and place.y - run[3] <= max(2 * (run[3] - run[1]), 12.0)
    ]
    nearest = max((run[3] for run in below), default=None)
    on_line = [run for run in below if nearest is not None and nearest - run[3] < 2]
    if on_line:
        left, bottom, right, top = min(on_line, key=lambda run: run[0])
    else:
        left, right = place.x, min(place.x + SIGN_WIDTH, max(width - 36.0, place.x + 72.0))
        bottom, top = place.y - 14.0, place.y
    return FieldPlacement(
        name,
        place.page,
        # up to where the bookmarked line starts at least (its top, as LibreOffice gives it)
        (left, bottom, right, max(page.room_above(left, top, right), min(place.y, top + 30))),
    )


def locate_fields(
    pages: Sequence[PageText],
    names: Sequence[str],
    places: Mapping[str, Place],
    *,
    labels: bool = True,
    hints: Mapping[str, int] | None = None,
    widths: Sequence[float] = (),
) -> list[FieldPlacement]:
    """Each signature field ``names`` lists: over its bookmarked line (``places``), or, for
    the bundled example's templates (``labels``), found under its label; an error naming the
    field when neither is there."""
    by_label = {spec.name: spec for spec in SIGNATURE_FIELDS} if labels else {}
    found: list[FieldPlacement] = []
    for name in names:
        place = places.get(name)
        if place is not None and 0 <= place.page < len(pages):
            width = widths[place.page] if place.page < len(widths) else 612.0
            found.append(place_marked(name, place, pages[place.page], width))
        elif name in by_label:
            found += find_fields(pages, [by_label[name]], hints)
        else:
            raise AssembleError(
                f"no signature line for {name}: the converted document has no bookmark "
                f"{name!r} (mark the signature line with a Word bookmark of that name)"
            )
    return found


def locate_date_line(
    pages: Sequence[PageText],
    places: Mapping[str, Place],
    company: FieldPlacement | None,
    *,
    labels: bool = True,
    widths: Sequence[float] = (),
) -> FieldPlacement | None:
    """The form's date line (:mod:`.dateline`), when it has one: the line the bookmark
    :data:`~.dateline.DATE_FIELD` marks, or, for the bundled example's templates, the line
    under ``Dated:`` on the Company's signature page."""
    place = places.get(DATE_FIELD)
    if place is not None and 0 <= place.page < len(pages):
        width = widths[place.page] if place.page < len(widths) else 612.0
        return place_marked(DATE_FIELD, place, pages[place.page], width)
    if labels and company is not None:
        return _place(FieldSpec(DATE_FIELD, DATE_LABEL), company.page, pages[company.page])
    return None


def find_fields(
    pages: Sequence[PageText],
    specs: Sequence[FieldSpec] = SIGNATURE_FIELDS,
    hints: Mapping[str, int] | None = None,
) -> list[FieldPlacement]:
    """Locate each signature line under its label; raise naming the label when one is missing.

    ``hints``: for a label (or ``after`` text) the only page it can be on, when the batch knows
    it (no other page shows that text): the pages before are not read. The result is the same
    as without hints; a label not found from its hinted page on is looked for from the start.
    """
    hints = hints or {}
    found: list[FieldPlacement] = []
    for spec in specs:
        start = 0
        if spec.after is not None:
            after = first_with(pages, spec.after, hints)
            start = len(pages) if after is None else after
        placement = _search(spec, pages, max(start, hints.get(spec.label, start)))
        if placement is None and spec.label in hints:
            placement = _search(spec, pages, start)
        if placement is None:
            raise AssembleError(
                f"no signature line for {spec.name}: the text {spec.label!r} with a line of "
                "underscores below it was not found in the converted agreement (was the "
                "signature block edited?)"
            )
        found.append(placement)
    return found


def _search(spec: FieldSpec, pages: Sequence[PageText], start: int) -> FieldPlacement | None:
    for index in range(start, len(pages)):
        placement = _place(spec, index, pages[index])
        if placement is not None:
            return placement
    return None


def _place(spec: FieldSpec, index: int, page: PageText) -> FieldPlacement | None:
    runs = page.underscore_runs()
    for at in page.lines_equal(spec.label):
        label = page.box(at)
        height = label[3] - label[1]
        below = [
            run
            for run in runs
            if abs(run[0] - label[0]) < 24
            and run[3] <= label[1] + 1
            and label[1] - run[3] < 5 * height
        ]
        if not below:
            continue
        line = max(below, key=lambda run: run[3])  # the nearest line below the label
        return FieldPlacement(spec.name, index, (line[0], line[1], line[2], label[1]))
    return None


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
        missing: AssembleError | None = None
        placements: list[FieldPlacement] = []
        widths = [float(source.pages[n].mediabox[2]) for n in pages]
        try:
            placements = locate_fields(
                page_text,
                layout.signatures,
                marks.places,
                labels=layout.labels,
                hints=marks,
                widths=widths,
            )
        except AssembleError as exc:  # raised after the checks below, as they come first
            missing = exc
        company = next((p for p in placements if p.name == SIGNATURE_FIELDS[0].name), None)
        dated = locate_date_line(
            page_text, marks.places, company, labels=layout.labels, widths=widths
        )
        if dated is not None:
            placements.append(dated)
        if not signature_fields:
            placements = []
        if layout.acceptance is None:
            acceptance = None
        elif layout.acceptance_mark in marks.places:
            acceptance = marks.places[layout.acceptance_mark].page
        elif layout.labels:
            acceptance = first_with(page_text, ACCEPTANCE_TITLE, hints)
        else:
            acceptance = None
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
    with out.open_outline() as outline:
        outline.root.append(OutlineItem(layout.document, 0))
        if acceptance is not None and layout.acceptance is not None:
            outline.root.append(OutlineItem(layout.acceptance, acceptance))
        outline.root.append(OutlineItem(layout.plan, len(pages)))
    out.Root.PageMode = Name.UseOutlines
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
    for widget, page in widgets:  # in the structure tree, named for a screen reader
        tag_widget(out, widget, page, _FIELD_NAMES.get(str(widget.T), "Signature"))
    set_pdfa_metadata(out)  # the XMP says what the document information says
    return save_packet(out)


#: What a screen reader says for a signature field.
_FIELD_NAMES = {
    "company_signature": "Signature of the Company",
    "participant_signature": "Signature of the Participant",
    DATE_FIELD: "Date of the Company's signature",
}
