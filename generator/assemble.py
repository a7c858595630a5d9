"""Assemble the signature-ready packet: agreement + acceptance page + the Plan, one PDF per grant.

Signature fields are placed by anchor text: the converted pages are searched for the label of
each signature block ("By:", "PARTICIPANT:") and the line of underscores just below it, so a
template edit that moves a signature block still gets its field over the right line. The
packet gets document metadata, bookmarks, and a file identifier derived from its content, so
the same input always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from .errors import AssembleError


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
class FieldPlacement:
    """A signature field's page (0-based, within the packet) and rectangle."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


@dataclass(frozen=True)
class PacketInfo:
    """The metadata written into a packet."""

    title: str
    author: str
    subject: str
    keywords: str


class PageText:
    """The text of one PDF page with the position of every character (PDFium)."""

    def __init__(self, page: pdfium.PdfPage) -> None:
        self._tp = page.get_textpage()
        self.text: str = self._tp.get_text_range()

    def box(self, index: int) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a character, with the font's full height."""
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


def find_fields(
    pages: Sequence[PageText], specs: Sequence[FieldSpec] = SIGNATURE_FIELDS
) -> list[FieldPlacement]:
    """Locate each signature line under its label; raise naming the label when one is missing."""
    found: list[FieldPlacement] = []
    for spec in specs:
        start = 0
        if spec.after is not None:
            start = next((i for i, p in enumerate(pages) if spec.after in p.text), len(pages))
        placement = None
        for index in range(start, len(pages)):
            placement = _place(spec, index, pages[index])
            if placement is not None:
                break
        if placement is None:
            raise AssembleError(
                f"no signature line for {spec.name}: the text {spec.label!r} with a line of "
                "underscores below it was not found in the converted agreement (was the "
                "signature block edited?)"
            )
        found.append(placement)
    return found


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


def _signature_field(
    writer: PdfWriter, page_index: int, placement: FieldPlacement
) -> DictionaryObject:
    page = writer.pages[page_index]
    x1, y1, x2, y2 = placement.rect
    appearance = StreamObject()
    appearance.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [FloatObject(0), FloatObject(0), FloatObject(x2 - x1), FloatObject(y2 - y1)]
            ),
        }
    )
    field = DictionaryObject(
        {
            NameObject("/FT"): NameObject("/Sig"),
            NameObject("/T"): TextStringObject(placement.name),
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/F"): NumberObject(4),  # print
            NameObject("/Rect"): ArrayObject([FloatObject(round(v, 2)) for v in placement.rect]),
            NameObject("/P"): page.indirect_reference,
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)}),
        }
    )
    return field


def assemble(
    source: PdfReader,
    pages: range,
    text: pdfium.PdfDocument,
    plan: PdfReader,
    info: PacketInfo,
    *,
    identity: str,
    signature_fields: bool = True,
) -> bytes:
    """The packet for one grant: its agreement pages (``pages`` of ``source``, whose text
    ``text`` is the same PDF opened in PDFium), then the Plan, with fields and metadata.

    ``identity`` (e.g. the hashes of the DOCX files the PDFs came from) seeds the PDF file
    identifier, so the same input gives the same bytes.
    """
    try:
        page_text = [PageText(text[i]) for i in pages]
        placements = find_fields(page_text) if signature_fields else []
        acceptance = next((i for i, p in enumerate(page_text) if ACCEPTANCE_TITLE in p.text), None)
        writer = PdfWriter()
        writer.append(source, pages=(pages.start, pages.stop))
        writer.append(plan, import_outline=False)
    except AssembleError:
        raise
    except Exception as exc:
        raise AssembleError(f"cannot assemble the packet from the converted PDF: {exc}") from exc

    annotations = []
    for placement in placements:
        ref = writer._add_object(_signature_field(writer, placement.page, placement))
        page = writer.pages[placement.page]
        if "/Annots" not in page:
            page[NameObject("/Annots")] = ArrayObject()
        annots = page["/Annots"]
        assert isinstance(annots, ArrayObject)
        annots.append(ref)
        annotations.append(ref)
    if annotations:
        writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
            {NameObject("/Fields"): ArrayObject(annotations)}
        )

    writer.add_outline_item(title="Agreement", page_number=0)
    if acceptance is not None:
        writer.add_outline_item(title="Participant's Acceptance", page_number=acceptance)
    writer.add_outline_item(title="Plan", page_number=len(pages))
    writer.page_mode = "/UseOutlines"

    writer.add_metadata(
        {
            "/Title": info.title,
            "/Author": info.author,
            "/Subject": info.subject,
            "/Keywords": info.keywords,
            "/Creator": "grantgen",
            "/Producer": "grantgen (LibreOffice, pypdf)",
        }
    )
    digest = hashlib.sha256(f"{identity}|{info!r}".encode())
    ident = ByteStringObject(digest.digest()[:16])
    writer._ID = ArrayObject([ident, ident])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
