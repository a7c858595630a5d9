"""The text of a rendered Word document as it is compared with the approved form: its body's
paragraphs (hidden text left out, the DRAFT mark and page lines aside) and its headers, footers
and footnotes."""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx.oxml import parse_xml
from lxml import etree

from generator.core.errors import GrantgenError
from generator.core.text import normalise
from generator.rendering.form import (
    ACCEPTANCE_TITLE,
    ADDRESS,
    Block,
    filled_in,
    ignored,
    ignored_mark,
    label,
    signature_values,
)
from generator.rendering.hidden import DIRECT, HiddenText

if TYPE_CHECKING:
    pass


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


#: A page number as a header or footer prints it: ``-1-``, ``- 2 -``, ``Page 3``, ``3 of 4``.
PAGE_LINE = re.compile(
    r"[-\u2013\u2014\s]*(?:page\s*)?\d{1,3}(?:\s*of\s*\d{1,3})?[-\u2013\u2014\s]*", re.I
)


_RUNNING = re.compile(r"Grant (\S+) \u00b7 (.+)")


_MARGIN_RELS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes",
)


def paragraph_text(p: Any, *, own: bool = False, hidden: HiddenText = DIRECT) -> str:
    """A paragraph's text as printed: tracked deletions and hidden text (by ``hidden``: the
    document's style table) left out. ``own``: without the text of the paragraphs inside it
    (a text box's, read on their own)."""
    out = []
    for el in p.iter(_w("t"), _w("tab"), _w("br"), _w("cr")):
        if own and next(a for a in el.iterancestors() if a.tag == _w("p")) is not p:
            continue
        if any(a.tag == _w("del") or (a.tag == _w("r") and hidden(a)) for a in el.iterancestors()):
            continue
        out.append(el.text or "" if el.tag == _w("t") else " ")
    return normalise("".join(out))


def document_paragraphs(docx: Path) -> list[str]:
    """The text of every body paragraph and table-cell paragraph, in order, less the
    signature-block labels, lines and address lines, the running header and DRAFT marks."""
    try:
        with zipfile.ZipFile(docx) as package:
            root = parse_xml(package.read("word/document.xml"))  # python-docx's safe parser
            hidden = hidden_text(package)
    except (OSError, KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise GrantgenError(f"{docx}: cannot be read as a Word document ({exc})") from exc
    body = root.find(_w("body"))
    if body is None:
        raise GrantgenError(f"{docx}: the Word document has no body")
    return body_paragraphs(body, hidden=hidden)


def hidden_text(package: zipfile.ZipFile) -> HiddenText:
    """What hides text in a Word document: direct formatting and its style table."""
    try:
        return HiddenText(package.read("word/styles.xml"))
    except KeyError:
        return DIRECT


_ACCEPTANCE = ACCEPTANCE_TITLE.casefold()


def body_paragraphs(
    body: Any, values: Mapping[str, str] | None = None, *, hidden: HiddenText = DIRECT
) -> list[str]:
    """:func:`document_paragraphs` of a parsed ``<w:body>`` element (``hidden``: what hides its
    text, see :mod:`generator.rendering.hidden`). With ``values`` (the
    agreement's own, by name: see :func:`generator.making.formcheck.blank_values`), a
    signature-block
    line is left out only when it holds nothing but what its label is for in its block
    (:data:`generator.assembling.fieldplace.SIGNATURE_FIELDS`): the Company's ``Name: <the
    officer>`` is,
    ``Name: <the participant>`` or ``Name: <a sentence>`` there is not."""
    out: list[str] = []
    allowed = signature_values(values) if values is not None else None
    block: Block = "company"  # until the acceptance page's title or its PARTICIPANT: label

    def skipped(text: str, address: bool) -> bool:
        if not (address or ignored(text)):
            return False
        name = label(text)
        if allowed is None or not (address or name):
            return True
        addresses = allowed.get((block, "address"), frozenset())
        if address and text.casefold() in addresses:
            return True  # an address line as a whole, whatever it starts with
        return filled_in(text, allowed.get((block, name or "address"), frozenset()))

    def walk(container: Any, in_cell: bool) -> None:
        nonlocal block
        address = False
        for child in container.iterchildren():
            if child.tag == _w("p"):
                text = paragraph_text(child, hidden=hidden)
                if text.casefold() == _ACCEPTANCE or label(text) == "participant":
                    block = "participant"
                if in_cell and ADDRESS.match(text):
                    address = True  # the lines after it are the participant's address
                if not skipped(text, address):
                    out.append(text)
            elif child.tag == _w("tbl"):
                for row in child.iterchildren(_w("tr")):
                    for cell in row.iterchildren(_w("tc")):
                        walk(cell, True)
            elif child.tag == _w("sdt"):
                for content in child.iterchildren(_w("sdtContent")):
                    walk(content, in_cell)

    walk(body, False)
    return out


def _margin_line(
    text: str, known: Collection[str] | None, grant_id: str | None, draft: bool | None = None
) -> bool:
    """Whether a header/footer/footnote paragraph holds only what a margin may: nothing, a page
    number, the DRAFT mark, the running header, or (with ``known``) one of the agreement's own
    values. Without ``known`` (a file read on its own) any running header passes."""
    if not text or PAGE_LINE.fullmatch(text) or (ignored_mark(text) and draft is not False):
        return True  # (the DRAFT mark has no place in a final batch)
    running = _RUNNING.fullmatch(text)
    if (
        running
        and grant_id in (None, running[1])
        and (known is None or running[2].casefold() in known)
    ):
        return True
    return known is not None and filled_in(text, known)


def margin_parts(package: zipfile.ZipFile) -> list[bytes]:
    """The header, footer and footnotes parts the document body refers to."""
    try:
        rels = parse_xml(package.read("word/_rels/document.xml.rels"))
    except (KeyError, etree.XMLSyntaxError):
        return []
    out = []
    for rel in rels:
        target = rel.get("Target", "")
        if rel.get("Type") in _MARGIN_RELS and rel.get("TargetMode") != "External":
            name = target.lstrip("/") if target.startswith("/") else f"word/{target}"
            with contextlib.suppress(KeyError):
                out.append(package.read(name))
    return out
