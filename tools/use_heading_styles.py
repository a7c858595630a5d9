"""Give the bundled templates real Word heading styles, looking as they did.

The agreement's title lines and numbered section headings were bold Normal paragraphs: Word's
navigation pane listed nothing and the tagged PDF had no headings. This script sets the
centred bold lines before the first numbered section to ``Title``-like ``Heading 1`` and the
bold, keep-with-next section headings to ``Heading 2``, and defines both styles as the body
font, bold, black, with no spacing of their own (each paragraph keeps its own):

    .venv/bin/python tools/use_heading_styles.py templates/nso_agreement.docx ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

FONT = "Times New Roman"


def _plain_style(document: docx.document.Document, name: str, level: int) -> None:
    style = document.styles[name]
    style.base_style = document.styles["Normal"]
    font = style.font
    font.name, font.size, font.bold, font.italic = FONT, Pt(12), True, False
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in list(fonts.attrib):  # theme fonts (Calibri Light) would win over the names
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after, fmt.keep_with_next = Pt(0), Pt(0), True
    ppr = style.element.get_or_add_pPr()
    outline = ppr.find(qn("w:outlineLvl"))
    if outline is None:
        outline = OxmlElement("w:outlineLvl")
        ppr.append(outline)
    outline.set(qn("w:val"), str(level))


def use_heading_styles(path: Path) -> int:
    document = docx.Document(str(path))
    _plain_style(document, "Heading 1", 0)
    _plain_style(document, "Heading 2", 1)
    changed, in_title = 0, True
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        runs = [r for r in paragraph.runs if r.text.strip()]
        bold = bool(runs) and all(r.bold for r in runs)
        if not text or text.startswith("{%"):
            continue
        centred = paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
        if in_title and bold and centred and len(text) < 120:
            paragraph.style = document.styles["Heading 1"]
            changed += 1
            continue
        in_title = False
        if bold and paragraph.paragraph_format.keep_with_next and len(text) < 90:
            paragraph.style = document.styles["Heading 2"]
            changed += 1
    document.save(str(path))
    return changed


def main(paths: list[str]) -> int:
    for name in paths:
        print(f"{name}: {use_heading_styles(Path(name))} heading(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
