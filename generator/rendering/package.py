"""Writing a DOCX package (a zip of XML parts) directly and deterministically: fixed
timestamps and member order, so the same parts always give the same bytes; parts that do not
change between documents are compressed once (:func:`deflate`) and reused.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Mapping

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


Deflated = tuple[int, bytes, int]
"""A zip member compressed once: (CRC-32, raw deflate data, uncompressed size)."""


def deflate(data: bytes, level: int = 6) -> Deflated:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return zlib.crc32(data), packer.compress(data) + packer.flush(), len(data)


#: The compression of the members made anew for each document (its body, headers, footers,
#: properties): the fastest level, a few hundred bytes larger than the default for three
#: times less time; the template's other members are compressed once, at the default.
FRESH_LEVEL = 1


def zip_files(files: Mapping[str, bytes | Deflated], *, store: bool = False) -> bytes:
    """A DOCX (zip) of ``files`` with fixed timestamps: the same parts give the same bytes.

    Members may be given already compressed (:func:`deflate`), so a template's unchanged
    parts are compressed once per batch, not once per document. With ``store``, members given
    as bytes are stored uncompressed: for a temporary document only LibreOffice reads, where
    compressing would cost more than it saves.
    """
    out, central = bytearray(), bytearray()
    stamp_time, stamp_date = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00
    for name, data in files.items():
        method = 8
        if isinstance(data, bytes) and store:
            crc, packed, size, method = zlib.crc32(data), data, len(data), 0
        else:
            crc, packed, size = deflate(data, FRESH_LEVEL) if isinstance(data, bytes) else data
        raw_name = name.encode("utf-8")
        flags = 0 if raw_name.isascii() else 0x800
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            method,
            stamp_time,
            stamp_date,
            crc,
            len(packed),
            size,
            len(raw_name),
            0,
        )
        out += raw_name + packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            (3 << 8) | 20,
            20,
            flags,
            method,
            stamp_time,
            stamp_date,
            crc,
            len(packed),
            size,
            len(raw_name),
            0,
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        central += raw_name
    count = len(files)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def core_properties(properties: Mapping[str, str]) -> bytes:
    """docProps/core.xml with the given title, subject, ...; created and modified on
    ``properties["created"]`` (an ISO date: the grant date, so the same grant gives the same
    bytes), else 2000-01-01."""
    from xml.sax.saxutils import escape

    tags = {
        "title": "dc:title",
        "subject": "dc:subject",
        "author": "dc:creator",
        "keywords": "cp:keywords",
        "comments": "dc:description",
        "identifier": "dc:identifier",
    }
    body = "".join(
        f"<{tags[key]}>{escape(value)}</{tags[key]}>"
        for key, value in properties.items()
        if key in tags and value
    )
    stamp = f"{properties.get('created') or '2000-01-01'}T00:00:00Z"
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{body}<cp:lastModifiedBy>grantgen</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
    return xml.encode("utf-8")


#: ``docProps/app.xml`` of every document grantgen writes: it is grantgen's, not the template
#: maker's ("Microsoft Macintosh Word", its page and word counts).
APP_PROPERTIES = (
    XML_DECLARATION
    + b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
    b'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    b"<Template>Normal.dotm</Template><TotalTime>0</TotalTime><Application>grantgen"
    b"</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
    b"<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
    b"<HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0000</AppVersion></Properties>"
)

#: Word 2013 and later: a document in an older mode opens in Compatibility Mode.
COMPATIBILITY_MODE = 15

_COMPAT = re.compile(rb'(<w:compatSetting w:name="compatibilityMode"[^>]*?w:val=")(\d+)(")')
_STYLES_WITH_EFFECTS = "word/stylesWithEffects.xml"


def word_native(files: dict[str, bytes]) -> dict[str, bytes]:
    """A template's members as a current Word writes them: no thumbnail of another document
    (``docProps/thumbnail.*``), no ``stylesWithEffects.xml`` (Word 2010's copy of the styles,
    which Word repairs when it differs from ``styles.xml``), grantgen's ``app.xml``, and the
    current compatibility mode (Word 2013+ opens the document in its own mode)."""
    drop = {
        name
        for name in files
        if name.startswith("docProps/thumbnail.") or name == _STYLES_WITH_EFFECTS
    }
    out = {name: data for name, data in files.items() if name not in drop}
    for rels in ("_rels/.rels", "word/_rels/document.xml.rels"):
        if rels in out:
            out[rels] = _without_relationships(out[rels], drop)
    if "[Content_Types].xml" in out:
        types = out["[Content_Types].xml"]
        for name in drop:
            types = re.sub(rb'<Override PartName="/' + re.escape(name.encode()) + rb'"[^>]*/>',
                           b"", types)  # fmt: skip
        out["[Content_Types].xml"] = types
    if "docProps/app.xml" in out:
        out["docProps/app.xml"] = APP_PROPERTIES
    settings = out.get("word/settings.xml")
    if settings is not None:
        mode = str(COMPATIBILITY_MODE).encode()
        if _COMPAT.search(settings):
            settings = _COMPAT.sub(lambda m: m.group(1) + mode + m.group(3), settings)
        else:
            setting = (
                b'<w:compatSetting w:name="compatibilityMode" '
                b'w:uri="http://schemas.microsoft.com/office/word" w:val="' + mode + b'"/>'
            )
            if b"<w:compat>" in settings:
                settings = settings.replace(b"<w:compat>", b"<w:compat>" + setting, 1)
            elif b"<w:compat/>" in settings:
                settings = settings.replace(
                    b"<w:compat/>", b"<w:compat>" + setting + b"</w:compat>"
                )
        out["word/settings.xml"] = settings
    return out


def _without_relationships(rels: bytes, targets: set[str]) -> bytes:
    """A relationships part without those pointing at ``targets`` (package paths)."""
    for target in targets:
        for form in (target, target.removeprefix("word/"), "/" + target):
            rels = re.sub(
                rb'<Relationship [^>]*Target="' + re.escape(form.encode()) + rb'"[^>]*/>', b"", rels
            )
    return rels
