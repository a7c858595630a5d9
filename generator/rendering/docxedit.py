"""Edits made to a rendered Word document: signature blocks kept on one page, bookmarks at the
signature lines, the DRAFT mark, a check that the XML is well formed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.parsers import expat

from generator.core.errors import TemplateError
from generator.rendering.form import DRAFT_MARK

#: Paragraphs before a signature line kept on its page (its block: the company's name, a
#: "By:" label or a heading).
KEEP_BEFORE = 2


def keep_signature_blocks(document: Any, names: Sequence[str]) -> bool:
    """Keep each signature line (a paragraph holding a bookmark ``names`` lists) on one page
    with its block: "keep with next" on the :data:`KEEP_BEFORE` paragraphs before it and on
    itself (so the name and title lines under it follow too); a table row holding it is not
    split across pages, and kept with the row and paragraphs before it. Returns whether any
    line was found."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def keep_next(paragraph: Any) -> None:
        ppr = paragraph.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            paragraph.insert(0, ppr)
        if ppr.find(qn("w:keepNext")) is None:
            element = OxmlElement("w:keepNext")
            # w:keepNext comes after w:pStyle in the schema's order
            style = ppr.find(qn("w:pStyle"))
            ppr.insert(1 if style is not None else 0, element)

    body = document.element.body
    found = False
    for start in body.iter(qn("w:bookmarkStart")):
        if start.get(qn("w:name")) not in names:
            continue
        paragraph = next((a for a in start.iterancestors(qn("w:p"))), None)
        if paragraph is None:
            continue
        found = True
        container = paragraph.getparent()
        siblings = [c for c in container if c.tag == qn("w:p")]
        at = siblings.index(paragraph)
        for before in siblings[max(0, at - KEEP_BEFORE) : at + 1]:
            keep_next(before)
        if container.tag == qn("w:tc"):
            row = container.getparent()
            trpr = row.find(qn("w:trPr"))
            if trpr is None:
                trpr = OxmlElement("w:trPr")
                row.insert(1 if len(row) and row[0].tag == qn("w:tblPrEx") else 0, trpr)
            if trpr.find(qn("w:cantSplit")) is None:
                trpr.append(OxmlElement("w:cantSplit"))
            table = row.getparent()
            rows = [r for r in table if r.tag == qn("w:tr")]
            previous = rows[rows.index(row) - 1] if rows.index(row) else None
            if previous is not None:
                for p in previous.iter(qn("w:p")):
                    keep_next(p)
            else:  # the paragraphs just before the table
                before = [c for c in table.itersiblings(preceding=True)][:2]
                for p in before:
                    if p.tag == qn("w:p"):
                        keep_next(p)
    return found


def _bookmark_start(document: Any, name: str) -> None:
    """An empty bookmark ``name`` at the start of a document's first paragraph, which starts
    a new page (a paragraph is put first when the document starts with a table)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    body = document.element.body
    first = body[0] if len(body) else None
    if first is None or first.tag != qn("w:p"):
        first = OxmlElement("w:p")
        body.insert(0, first)
    ppr = first.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        first.insert(0, ppr)
    if ppr.find(qn("w:pageBreakBefore")) is None:
        after = [qn(t) for t in ("w:pStyle", "w:keepNext", "w:keepLines")]
        at = sum(1 for child in ppr if child.tag in after)
        ppr.insert(at, OxmlElement("w:pageBreakBefore"))
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), "990000")
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), "990000")
    at = 1 if len(first) and first[0].tag == qn("w:pPr") else 0
    first.insert(at, end)
    first.insert(at, start)


def _well_formed(template: str, member: str, xml: bytes) -> None:
    """Refuse a rendering that is not well-formed XML (namespaces checked too). Expat reads it
    without building a tree: a 10,000-row Exhibit A is checked in constant memory."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise TemplateError(
            template, f"rendering {member} gave malformed Word XML ({exc}); check its tags"
        ) from exc


def _mark_draft(document: Any) -> None:
    """Put the DRAFT mark first in every header a page can show, so it is on every page: the
    default header, and the first-page and even-page headers where the template uses them
    (Word's "Different first page" and "Different odd and even pages")."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    even_pages = document.settings.odd_and_even_pages_header_footer
    defined: set[str] = set()  # header kinds an earlier section defines (later ones inherit)
    for section in document.sections:
        kinds = [("default", section.header)]
        if section.different_first_page_header_footer:
            kinds.append(("first", section.first_page_header))
        if even_pages:
            kinds.append(("even", section.even_page_header))
        for kind, header in kinds:
            if header.is_linked_to_previous and kind in defined:
                continue  # shows the earlier section's header, marked already
            defined.add(kind)
            header.is_linked_to_previous = False
            first = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
            mark = first.insert_paragraph_before()
            mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = mark.add_run(DRAFT_MARK)
            run.bold = True
            run.font.size = Pt(14)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
