"""The form's "Dated:" line, filled when the Company signs.

A final packet whose form has a date line gets a read-only text field over it
(:data:`DATE_FIELD`): over the line a Word bookmark of that name marks, or, in the bundled
example's templates, the line under the label ``Dated:`` beside the Company's signature.
``grantgen sign --dated`` writes the day of signing into it, in the signer's time zone, in the
revision the Company's signature covers; the manifest records it, and ``verify`` names any
change to it after that signature.
"""

from __future__ import annotations

import io
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from pyhanko.pdf_utils import generic as pyhanko_generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pypdf import PdfReader

from generator.assembling.stamp import STAMP_FONTS, StampText, embedded_font, stamp_fonts
from generator.core.errors import SigningError

DATE_FIELD = "company_date"
"""The date line's field name, and the Word bookmark that marks the line in a kit's template."""
DATE_LABEL = "Dated:"
"""The label above the date line in the bundled example's templates."""
DATE_SIZE = 10.0
"""The filled date's type size (pt), at most: smaller when the field is lower than the text."""
_FONT = "/GgDate"
generic: Any = pyhanko_generic  # pyHanko's PDF objects (its constructors are untyped)


def date_widget(pdf: pikepdf.Pdf, page: pikepdf.Page, rect: list[float]) -> pikepdf.Object:
    """The empty, read-only text field over the date line (printable, with an empty
    appearance, as PDF/A wants); the AcroForm's default resources name a font of the page for
    its default appearance (the filled field draws its own)."""
    x1, y1, x2, y2 = rect
    fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
    font = next(iter(fonts.values()), None) if isinstance(fonts, Dictionary) else None
    if font is not None:
        form = pdf.Root.get("/AcroForm")
        if form is None:
            form = pdf.Root.AcroForm = Dictionary(Fields=Array())
        form.DR = Dictionary(Font=Dictionary({_FONT: font}))
    appearance = pdf.make_stream(
        b"", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, round(x2 - x1, 2), round(y2 - y1, 2)]
    )
    return pdf.make_indirect(
        Dictionary(
            FT=Name.Tx,
            T=String(DATE_FIELD),
            Ff=1,  # read-only: only the Company's signing run fills it
            DA=String(f"{_FONT} {DATE_SIZE:g} Tf 0 g" if font is not None else "0 g"),
            Type=Name.Annot,
            Subtype=Name.Widget,
            F=4,  # print
            Rect=[x1, y1, x2, y2],
            P=page.obj,
            AP=Dictionary(N=appearance),
        )
    )


def _date_field(writer: Any) -> Any:
    """The date line's field (its widget) in a pyHanko writer's document, or None."""
    form = writer.root.get("/AcroForm")
    fields = form.get_object().get("/Fields", []) if form is not None else []
    for ref in fields:
        field = ref.get_object()
        if field.get("/T") == DATE_FIELD and field.get("/FT") == "/Tx":
            return ref
    return None


def fill_date(writer: Any, text: str) -> None:
    """Write ``text`` into the date line of the document a pyHanko incremental writer is
    updating, with an appearance in an embedded font; raises when the packet has none."""
    ref = _date_field(writer)
    if ref is None:
        raise SigningError(
            f"the packet has no date line to fill (a field {DATE_FIELD!r}: mark the form's "
            f"date line with a Word bookmark {DATE_FIELD!r}, or sign without --dated)"
        )
    field = ref.get_object()
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    width, height = x2 - x1, y2 - y1
    serif_first = sorted(STAMP_FONTS, key=lambda family: "Serif" not in family)
    shaper = StampText(stamp_fonts(text, serif_first), text)
    size = min(DATE_SIZE, max(height - 2, 4.0), (width - 4) / max(shaper.width(text), 1e-6))
    fonts = generic.DictionaryObject()
    ops = [b"/Tx BMC q 0 g"]
    x, baseline = 2.0, 4.5  # just above the line (the field's foot is the line's)
    for number, part in shaper.runs(text):
        engine = embedded_font(shaper.data[number], size, writer)
        fonts[pdf_name(f"{_FONT}{number + 1}")] = engine.as_resource()
        shaped = engine.shape(part)
        ops.append(
            b"BT %s%d %g Tf 1 0 0 1 %g %g Tm %s ET"
            % (_FONT.encode(), number + 1, size, x, baseline, shaped.graphics_ops)
        )
        x += shaped.x_advance * size
    ops.append(b"Q EMC")
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                generic.FloatObject(v) for v in (0, 0, round(width, 2), round(height, 2))
            ),
            pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"): fonts}),
        },
        stream_data=b"\n".join(ops),
    )
    field[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): writer.add_object(stream)})
    field[pdf_name("/V")] = pdf_string(text)
    first = next(iter(fonts))
    field[pdf_name("/DA")] = pdf_string(f"{first} {size:g} Tf 0 g")
    writer.update_container(field)
    form = writer.root["/AcroForm"]  # its default resources name the font the DA does
    try:
        resources = form["/DR"]
    except KeyError:
        resources = form[pdf_name("/DR")] = generic.DictionaryObject()
    try:
        known = resources["/Font"]
    except KeyError:
        known = resources[pdf_name("/Font")] = generic.DictionaryObject()
    known[pdf_name(first)] = fonts.raw_get(first)  # the font is written later
    for part in (form, resources, known):  # any may be an object of its own
        writer.update_container(part)


def date_value(data: bytes, end: int | None = None) -> str | None:
    """What the date line of the PDF ``data`` (its revision ending at ``end``) holds: None
    for a packet without one, "" for an empty one."""
    try:
        fields = PdfReader(io.BytesIO(data[:end] if end else data)).get_fields() or {}
    except Exception:
        return None
    field = fields.get(DATE_FIELD)
    if field is None:
        return None
    value = field.get("/V")
    return "" if value is None else str(value)
