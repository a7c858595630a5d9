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
from pathlib import Path

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

#: Advance width of "_" in Times New Roman / Liberation Serif, in ems.
UNDERSCORE_EM = 0.5


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
class TextLine:
    """One run of text as drawn on a page: position of its start, in PDF points."""

    text: str
    x: float
    y: float
    size: float


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


def page_lines(reader: PdfReader, index: int) -> list[TextLine]:
    """The text runs of one page with their positions (via pypdf's text visitor)."""
    lines: list[TextLine] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if not text.strip():
            return
        # position = tm × cm (PDF matrices are row vectors: [a b c d e f])
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (tm[0] * cm[0] + tm[1] * cm[2]) or 1.0
        lines.append(TextLine(text.strip("\n"), x, y, abs(size * scale)))

    reader.pages[index].extract_text(visitor_text=visit)
    return lines


def find_fields(
    reader: PdfReader, specs: Sequence[FieldSpec] = SIGNATURE_FIELDS
) -> list[FieldPlacement]:
    """Locate each signature line under its label; raise naming the label when one is missing."""
    pages = [page_lines(reader, i) for i in range(len(reader.pages))]
    found: list[FieldPlacement] = []
    for spec in specs:
        start = 0
        if spec.after is not None:
            start = next(
                (i for i, lines in enumerate(pages) if any(spec.after in ln.text for ln in lines)),
                len(pages),
            )
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


def _place(spec: FieldSpec, index: int, lines: list[TextLine]) -> FieldPlacement | None:
    for label in (ln for ln in lines if ln.text.strip() == spec.label):
        below = [
            ln
            for ln in lines
            if set(ln.text.strip()) == {"_"}
            and abs(ln.x - label.x) < 24
            and 0 < label.y - ln.y < 6 * label.size
        ]
        if not below:
            continue
        line = max(below, key=lambda ln: ln.y)  # the nearest line below the label
        width = len(line.text.strip()) * UNDERSCORE_EM * line.size
        bottom = line.y - 0.3 * line.size
        top = label.y - 0.3 * label.size
        return FieldPlacement(spec.name, index, (line.x, bottom, line.x + width, top))
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
    agreement_pdf: Path,
    plan_pdf: Path,
    info: PacketInfo,
    *,
    identity: str,
    signature_fields: bool = True,
) -> bytes:
    """The packet for one grant: agreement + acceptance (one PDF), then the Plan.

    ``identity`` (e.g. the hashes of the DOCX files the PDFs came from) seeds the PDF file
    identifier, so the same input gives the same bytes.
    """
    try:
        agreement = PdfReader(agreement_pdf)
        plan = PdfReader(plan_pdf)
        placements = find_fields(agreement) if signature_fields else []
        acceptance = next(
            (
                i
                for i in range(len(agreement.pages))
                if ACCEPTANCE_TITLE in (agreement.pages[i].extract_text() or "")
            ),
            None,
        )
    except AssembleError:
        raise
    except Exception as exc:
        raise AssembleError(f"cannot read the converted PDF {agreement_pdf.name}: {exc}") from exc

    writer = PdfWriter()
    writer.append(agreement)
    agreement_pages = len(agreement.pages)
    writer.append(plan, import_outline=False)

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
    writer.add_outline_item(title="Plan", page_number=agreement_pages)
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
