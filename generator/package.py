"""Writing a DOCX package (a zip of XML parts) directly and deterministically: fixed
timestamps and member order, so the same parts always give the same bytes; parts that do not
change between documents are compressed once (:func:`deflate`) and reused.
"""

from __future__ import annotations

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
    """docProps/core.xml with the given title, subject, ... and fixed dates."""
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
    stamp = "1980-01-01T00:00:00Z"
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
