"""PDF/A-2b packets out of the tagged PDF/A-2b documents LibreOffice makes.

extract(src, pages, plan)   -> new Pdf: src pages[range] + all plan pages, with a rebuilt,
                               valid structure tree, ParentTree, RoleMap, /Lang, /MarkInfo
                               and OutputIntent.
Collection(out)             -> the same for pages of many sources (the review packet).
prepare_source(pdf)         -> ready a LibreOffice PDF for copying (subset names, ICC time).
tag_widget(pdf, widget, page_index, alt)
                            -> put an annotation (e.g. a signature widget added afterwards)
                               into the structure tree (Form element + OBJR + StructParent).
set_pdfa_metadata(pdf)      -> (re)write XMP from the Info dict (call after changing docinfo).
retag_fonts(pdf)            -> give every embedded subset a distinct tag from a hash of its
                               font program; returns {old BaseFont: new BaseFont}.
save_packet(pdf)            -> bytes, as grantgen saves (deterministic id, streams kept).

Why not ``out.copy_foreign(struct_elem)``: qpdf follows /P up to the StructTreeRoot and
/ParentTree, so copying ONE element drags the whole tree (5,600 objects for 150 pages) into
the packet, and /Pg references to pages that were not copied silently become null. So
elements are rebuilt here; only their attribute values are copied with copy_foreign, and
/Pg / OBJR references are mapped to the page and annotation copies that
``out.pages.extend`` already made (copy_foreign reuses them: no duplicated pages).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from typing import Any

import pikepdf
from pikepdf import Dictionary, Name

PDFA_PART = "2"
PDFA_CONFORMANCE = "B"
#: LibreOffice writes PDF/A-2b as 1.6; pikepdf.new() would be saved as 1.3 without this.
MIN_VERSION = "1.6"


# --------------------------------------------------------------------------- metadata
def set_pdfa_metadata(
    pdf: pikepdf.Pdf, part: str = PDFA_PART, conformance: str = PDFA_CONFORMANCE
) -> None:
    """XMP from the Info dict (dc:title, dc:creator, dc:description, pdf:Keywords,
    xmp:CreatorTool, pdf:Producer) plus pdfaid:part/conformance. Nothing else is stamped (no
    pikepdf Producer, no MetadataDate), so the bytes stay deterministic. Written directly
    (a packet's few entries); document information with dates goes through pikepdf's
    conversion."""
    if "/Metadata" in pdf.Root:
        del pdf.Root.Metadata  # start clean: LibreOffice's XMP is the chunk's, not the packet's
    info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    xmp = _xmp(info, part, conformance)
    if xmp is not None:
        pdf.Root.Metadata = pdf.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)
        return
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        with warnings.catch_warnings():  # custom Info keys (/GrantgenRecord) have no XMP twin:
            warnings.filterwarnings("ignore", "The metadata field", UserWarning)  # allowed
            meta.load_from_docinfo(pdf.docinfo, delete_missing=True)
        meta["pdfaid:part"] = part
        meta["pdfaid:conformance"] = conformance


#: Document information entries and their XMP properties (the others have no twin).
_XMP = {
    "/Author": ("dc", "creator", "Seq"),
    "/Subject": ("dc", "description", "Alt"),
    "/Title": ("dc", "title", "Alt"),
    "/Keywords": ("pdf", "Keywords", None),
    "/Producer": ("pdf", "Producer", None),
    "/Creator": ("xmp", "CreatorTool", None),
}
_CONVERTED = ("/CreationDate", "/ModDate", "/Trapped")
"""Entries whose XMP twin is written in another form (dates): left to pikepdf."""
_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xmp(info: Mapping[str, str], part: str, conformance: str) -> bytes | None:
    """The XMP packet for ``info``; None when it holds what needs pikepdf's conversion
    (dates, unknown entries, characters XML cannot hold)."""
    from xml.sax.saxutils import escape

    if any(k in _CONVERTED for k in info) or any(_NOT_XML.search(v) for v in info.values()):
        return None  # (an entry of its own, such as /GrantgenRecord, has no XMP twin)
    props = []
    for key in sorted(_XMP, key=lambda k: _XMP[k][:2]):
        if key not in info:
            continue
        prefix, name, kind = _XMP[key]
        value = escape(info[key])
        if kind == "Seq":
            value = f"<rdf:Seq><rdf:li>{value}</rdf:li></rdf:Seq>"
        elif kind == "Alt":
            value = f'<rdf:Alt><rdf:li xml:lang="x-default">{value}</rdf:li></rdf:Alt>'
        props.append(f'<{prefix}:{name} xmlns:{prefix}="{_NS[prefix]}">{value}</{prefix}:{name}>')
    for name, value in (("part", part), ("conformance", conformance)):
        props.append(f'<pdfaid:{name} xmlns:pdfaid="{_NS["pdfaid"]}">{value}</pdfaid:{name}>')
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        ' <rdf:Description rdf:about="">' + "".join(props) + "</rdf:Description></rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    ).encode("utf-8")


# --------------------------------------------------------------------------- fonts
_TAGGED = re.compile(r"^[A-Z]{6}\+")


def _tag(digest: bytes, bump: int = 0) -> str:
    n = int.from_bytes(hashlib.sha256(digest + bytes([bump])).digest()[:8], "big")
    letters = []
    for _ in range(6):
        n, r = divmod(n, 26)
        letters.append(chr(65 + r))
    return "".join(letters)


def _font_program(descriptor: Any) -> Any:
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor[key]
    return None


def retag_fonts(pdf: pikepdf.Pdf) -> dict[str, str]:
    """Every embedded subset font (``ABCDEF+Name``) gets the tag of the SHA-256 of its
    decoded font program and base name, written to the font's /BaseFont, its descriptor's
    /FontName and, for Type0 fonts, the parent's /BaseFont (``TAG+Name-Identity-H``) too.
    Identical programs keep one tag; different programs never share one (collisions are
    bumped). Returns {old name: new name} (old names may repeat across fonts, so the map
    is informative only)."""
    by_descriptor: dict[tuple[int, int], str] = {}
    used: dict[str, bytes] = {}
    renamed: dict[str, str] = {}
    fonts = [o for o in pdf.objects if isinstance(o, Dictionary) and o.get("/Type") == Name.Font]
    simple = [f for f in fonts if f.get("/Subtype") != Name.Type0]
    for font in simple:  # TrueType, Type1, CIDFontType0/2: the ones with a descriptor
        descriptor = font.get("/FontDescriptor")
        base = str(font.get("/BaseFont", ""))[1:]
        if descriptor is None or not _TAGGED.match(base):
            continue
        program = _font_program(descriptor)
        if program is None:
            continue
        og = descriptor.objgen
        if og not in by_descriptor:
            name = base[7:]
            digest = hashlib.sha256(program.read_bytes()).digest() + name.encode()
            bump = 0
            tag = _tag(digest)
            while tag in used and used[tag] != digest:
                bump += 1
                tag = _tag(digest, bump)
            used[tag] = digest
            by_descriptor[og] = f"{tag}+{name}"
        new = by_descriptor[og]
        renamed[base] = new
        font.BaseFont = Name("/" + new)
        descriptor.FontName = Name("/" + new)
    for font in fonts:
        if font.get("/Subtype") != Name.Type0:
            continue
        desc = font.get("/DescendantFonts")
        if not desc:
            continue
        child = str(desc[0].get("/BaseFont", ""))[1:]
        base = str(font.get("/BaseFont", ""))[1:]
        if _TAGGED.match(base) and _TAGGED.match(child):
            suffix = base[7:]
            # "ABCDEF+Name-Identity-H" or "ABCDEF+Name": keep whatever follows the name
            new = child[:7] + suffix
            renamed[base] = new
            font.BaseFont = Name("/" + new)
    return renamed


# --------------------------------------------------------------------------- steady bytes
#: The creation time written into every output intent's ICC profile (its header's dateTime):
#: LibreOffice's colour library stamps the time of the export there, which would make the same
#: document come out different on every run.
ICC_TIME = bytes.fromhex("07d000010001000000000000")  # 2000-01-01 00:00:00


def prepare_source(pdf: pikepdf.Pdf) -> None:
    """Ready a PDF LibreOffice made for copying pages out of, in memory: its font subsets
    renamed from their programs (:func:`retag_fonts`) and its ICC profiles' creation time
    fixed (:data:`ICC_TIME`), so the same document gives the same bytes."""
    retag_fonts(pdf)
    steady_profiles(pdf)


def steady_profiles(pdf: pikepdf.Pdf) -> None:
    """Every output intent's ICC profile with the creation time :data:`ICC_TIME` (and no
    profile ID, which would have been computed over the time)."""
    import zlib

    for intent in pdf.Root.get("/OutputIntents", ()):
        profile = intent.get("/DestOutputProfile")
        if profile is None:
            continue
        data = profile.read_bytes()
        if len(data) < 128 or data[36:40] != b"acsp":
            continue
        steady = data[:24] + ICC_TIME + data[36:84] + bytes(16) + data[100:]
        if steady != data:
            profile.write(zlib.compress(steady, 9), filter=Name.FlateDecode)


# --------------------------------------------------------------------------- saving
def save_packet(
    pdf: pikepdf.Pdf, *, min_version: str = MIN_VERSION, object_streams: bool = True
) -> bytes:
    """Save as grantgen does (deterministic /ID, streams as LibreOffice compressed them),
    with the header version at least the sources' (PDF/A-2 allows 1.0-1.7; tagging needs
    1.4+). Object streams are allowed by PDF/A-2 and shrink tagged packets a lot; qpdf fills
    them in the order the objects were made, so a PDF whose objects were made in an order
    that depends on timing (the review packet, copied in as chunks finish) is saved without
    (``object_streams=False``) to come out the same every time."""
    import io

    buf = io.BytesIO()
    pdf.save(
        buf,
        deterministic_id=True,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        min_version=min_version,
        object_stream_mode=(
            pikepdf.ObjectStreamMode.generate
            if object_streams
            else pikepdf.ObjectStreamMode.disable
        ),
    )
    return buf.getvalue()
