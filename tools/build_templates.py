"""Build the Word templates under templates/ from the form text.

The .docx files in templates/ are the source of truth once committed: counsel edits them in
Word. This script is how they were first made, and how to make them again from the approved
form (data/forms/atg-1999-exhibit-10.3.txt) if an edit needs to be thrown away:

    .venv/bin/python tools/build_templates.py

The agreement and acceptance page are written out here sentence by sentence, with Jinja tags
where the form has blanks; the Plan is read from the form file itself, paragraph by paragraph.
Every Jinja tag is written into a single Word run, so docxtpl sees it whole.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / "data" / "forms" / "atg-1999-exhibit-10.3.txt"
TEMPLATES = ROOT / "templates"

FONT = "Times New Roman"
LINE = "_" * 27  # the signature and blank lines of the form
HEADER = "Grant {{ grant_id }} \u00b7 {{ participant }}"


def new_document(title: str, header: str | None) -> Document:  # type: ignore[valid-type]
    """A letter-size document in Times New Roman 12 with `-N-` page numbers in the footer."""
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(12)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    section = doc.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Inches(1.1))
    section.top_margin = Inches(1)
    section.bottom_margin = Inches(1)
    if header is not None:
        hp = section.header.paragraphs[0]
        hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = hp.add_run(header)
        run.font.size = Pt(8)
    fp = section.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("-")
    _page_field(fp)
    fp.add_run("-")
    doc.core_properties.title = title
    doc.core_properties.author = "{{ company.name }}"
    doc.core_properties.comments = ""
    doc.core_properties.keywords = ""
    doc.core_properties.revision = 1
    return doc


def _page_field(paragraph: Paragraph) -> None:
    """Append a PAGE field (complex field, as Word writes it) to the paragraph."""

    def fld(kind: str) -> None:
        run = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        run._r.append(el)

    fld("begin")
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    run._r.append(instr)
    fld("separate")
    paragraph.add_run("1")
    fld("end")


def para(
    doc: Document,  # type: ignore[valid-type]
    text: str = "",
    *,
    bold: bool = False,
    center: bool = False,
    indent: float = 0.0,
    first: float = 0.0,
    before: float = 0.0,
    after: float = 12.0,
    keep_next: bool = False,
    justify: bool = False,
) -> Paragraph:
    p = doc.add_paragraph()  # type: ignore[attr-defined]
    _fill(p, text, bold=bold)
    fmt = p.paragraph_format
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif justify:
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.left_indent = Inches(indent) if indent else None
    fmt.first_line_indent = Inches(first) if first else None
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    if keep_next:
        fmt.keep_with_next = True
    return p


def _fill(p: Paragraph, text: str, *, bold: bool = False) -> None:
    """Add text as runs, each Jinja tag in a run of its own (so Word edits keep it whole)."""
    for piece in re.split(r"(\{\{.*?\}\}|\{%.*?%\})", text):
        if piece:
            run = p.add_run(piece)
            run.bold = bold or None


from use_heading_styles import use_heading_styles  # noqa: E402


def heading(doc: Document, text: str) -> None:  # type: ignore[valid-type]
    para(doc, text, bold=True, keep_next=True, after=6)


def body(doc: Document, text: str) -> None:  # type: ignore[valid-type]
    para(doc, text, first=0.5, justify=True)


def borderless_table(doc: Document, rows: int, widths: list[float]):  # type: ignore[no-untyped-def, valid-type]
    table = doc.add_table(rows=rows, cols=len(widths))  # type: ignore[attr-defined]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Inches(width)
    return table


def cell_lines(cell, lines: list[tuple[str, float]]) -> None:  # type: ignore[no-untyped-def]
    """Fill a table cell with paragraphs: (text, space before in points)."""
    first = True
    for text, before in lines:
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        _fill(p, text)
        p.paragraph_format.space_before = Pt(before)
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.keep_with_next = True


# --- the agreement ------------------------------------------------------------------------

AGREEMENT = [
    ("h", "1. Grant of Option."),
    (
        "p",
        "This agreement evidences the grant by {{ company.name }}, {{ company.a_state }} "
        'corporation (the "Company"), on {{ grant_date }} (the "Grant Date") to '
        '{{ participant }}, a director of the Company (the "Participant"), of an option to '
        "purchase, in whole or in part, on the terms provided herein and in the Company's "
        '{{ plan.name }} (the "Plan"), a total of {{ shares }} shares of common stock, '
        '$.01 par value per share, of the Company ("Common Stock") (the "Shares") at '
        "{{ exercise_price }} per Share. Unless earlier terminated, this option shall expire "
        "on the {{ plan.term_ordinal }} anniversary of the Grant Date (the "
        '"Final Exercise Date").',
    ),
    (
        "p",
        "It is intended that the option evidenced by this agreement shall not be an incentive "
        "stock option as defined in Section 422 of the Internal Revenue Code of 1986, as "
        'amended, and any regulations promulgated thereunder (the "Code"). Except as otherwise '
        'indicated by the context, the term "Participant," as used in this option, shall be '
        "deemed to include any person who acquires the right to exercise this option validly "
        "under its terms.",
    ),
    ("h", "2. Vesting Schedule."),
    (
        "p",
        'This option will become exercisable ("vest") as to 100% of the original number of '
        "Shares on the Grant Date. This option shall expire upon, and will not be exercisable "
        "after, the Final Exercise Date.",
    ),
    (
        "p",
        "The right of exercise shall be cumulative so that to the extent the option is not "
        "exercised in any period to the maximum extent permissible it shall continue to be "
        "exercisable, in whole or in part, with respect to all shares for which it is vested "
        "until the earlier of the Final Exercise Date or the termination of this option under "
        "Section 3 hereof or the Plan.",
    ),
    ("h", "3. Exercise of Option."),
    (
        "q",
        "a. Form of Exercise. Each election to exercise this option shall be in writing, signed "
        "by the Participant, and received by the Company at its principal office, accompanied "
        "by this agreement, and payment in full in the manner provided in the Plan. The "
        "Participant may purchase less than the number of shares covered hereby, provided that "
        "no partial exercise of this option may be for any fractional share.",
    ),
    (
        "q",
        "b. Exercise Period. Each Option shall immediately vest and be exercisable. In "
        "addition, no Option may be exercised more than {{ plan.post_service }} after the "
        "Participant ceases "
        "to serve as a director of the Company. No Option shall be exercisable after the "
        "expiration of {{ plan.term_phrase }} from the date of grant or prior to approval of "
        "the Plan "
        "by the stockholders of the Company.",
    ),
    ("h", "4. Nontransferability of Option."),
    (
        "p",
        "This option may not be sold, assigned, transferred, pledged or otherwise encumbered by "
        "the Participant, either voluntarily or by operation of law, except by will or the laws "
        "of descent and distribution, and, during the lifetime of the Participant, this option "
        "shall be exercisable only by the Participant.",
    ),
    ("h", "5. Provisions of the Plan."),
    (
        "p",
        "This option is subject to the provisions of the Plan, a copy of which is furnished to "
        "the Participant with this option.",
    ),
    (
        "p",
        "IN WITNESS WHEREOF, the Company has caused this option to be executed under its "
        "corporate seal by its duly authorized officer. This option shall take effect as a "
        "sealed instrument.",
    ),
]


def build_agreement() -> Document:  # type: ignore[valid-type]
    doc = new_document("Nonstatutory Stock Option Agreement: {{ participant }}", HEADER)
    # the PDF packet's Subject (its Title is the title above, fields filled)
    doc.core_properties.subject = (
        "Option grant under the {{ plan.name }}, with the Participant's Acceptance and a copy "
        "of the Plan"
    )
    para(doc, "{{ company.name|upper }}", bold=True, center=True, after=12)
    para(doc, "NONSTATUTORY STOCK OPTION AGREEMENT", bold=True, center=True, after=12)
    para(doc, "GRANTED UNDER THE {{ plan.name|upper }}", bold=True, center=True, after=18)
    for kind, text in AGREEMENT:
        if kind == "h":
            heading(doc, text)
        elif kind == "q":
            para(doc, text, justify=True)
        else:
            body(doc, text)
    # The Company's signature block, as in the form: Dated on the left, the officer on the right.
    table = borderless_table(doc, 1, [2.9, 3.4])
    left, right = table.rows[0].cells
    cell_lines(left, [("", 0), ("Dated:", 24), (LINE, 18)])
    cell_lines(
        right,
        [
            ("{{ company.name|upper }}", 0),
            ("By:", 24),
            (LINE, 18),
            ("Name: {{ officer.name }}", 14),
            ("Title: {{ officer.title }}", 14),
        ],
    )
    return doc


def build_acceptance() -> Document:  # type: ignore[valid-type]
    doc = new_document("Participant's Acceptance", HEADER)
    title = para(doc, "PARTICIPANT'S ACCEPTANCE", bold=True, center=True, after=18)
    title.paragraph_format.page_break_before = True
    para(
        doc,
        "The undersigned hereby accepts the foregoing option and agrees to the terms and "
        "conditions thereof. The undersigned hereby acknowledges receipt of a copy of the "
        "{{ company.name }} {{ plan.short_name }}.",
        justify=True,
        after=24,
    )
    table = borderless_table(doc, 1, [2.6, 3.7])
    _, right = table.rows[0].cells
    cell_lines(
        right,
        [
            ("PARTICIPANT:", 0),
            ("_" * 34, 30),
            ("Name: {{ participant }}", 14),
            ("Address:", 14),
        ],
    )
    # One paragraph per address line; a blank line is drawn for the director to write on.
    loop_open = right.add_paragraph()
    loop_open.add_run("{%p for line in address_lines %}")
    line = right.add_paragraph()
    line.paragraph_format.space_before = Pt(12)
    line.paragraph_format.left_indent = Inches(0.8)
    line.add_run("{{ line }}")
    loop_close = right.add_paragraph()
    loop_close.add_run("{%p endfor %}")
    return doc


# --- the Plan, read from the form file -----------------------------------------------------

PAGE_NUMBER = re.compile(r"^\s*-\d+-\s*$")
#: The id (in data/plans/) of the plan whose text plan.docx is.
PLAN_ID = "atg-1999"


def plan_paragraphs(text: str) -> list[tuple[int, str, list[str]]]:
    """The Plan (sections 1 to 10) and Amendment No. 1 as (indent, text, lines) paragraphs."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "ART TECHNOLOGY GROUP, INC.")
    agreement = next(i for i, ln in enumerate(lines) if "NONSTATUTORY STOCK OPTION AGREEMENT" in ln)
    agreement = max(i for i in range(agreement) if lines[i].strip() == "ART TECHNOLOGY GROUP, INC.")
    amendment = next(i for i, ln in enumerate(lines) if ln.strip() == "AMENDMENT NO. 1")
    chosen = [*lines[start:agreement], "", *lines[amendment:]]
    paras: list[tuple[int, str, list[str]]] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            indent = len(block[0]) - len(block[0].lstrip())
            lines = [b.strip() for b in block]
            paras.append((indent, " ".join(lines), lines))
            block.clear()

    for ln in chosen:
        if not ln.strip() or PAGE_NUMBER.match(ln):
            flush()
        else:
            block.append(ln)
    flush()
    return paras


def build_plan() -> Document:  # type: ignore[valid-type]
    doc = new_document("{{ plan.name }}", None)
    # the plan this text is: grantgen refuses to furnish it with another plan's agreements
    doc.core_properties.identifier = PLAN_ID
    paras = plan_paragraphs(FORM.read_text(encoding="utf-8"))
    in_amendment = False
    title_lines = 0
    for indent, text, lines in paras:
        if text.startswith("AMENDMENT NO. 1"):
            in_amendment = True
            for n, line in enumerate(lines):  # the form's title lines, one under the other
                p = para(doc, line, bold=True, center=True, after=18 if n == len(lines) - 1 else 0)
                if n == 0:
                    p.paragraph_format.page_break_before = True
            continue
        if title_lines < 3 and indent >= 15:
            # title block lines (centered in the form)
            title_lines += 1
            para(doc, text, bold=True, center=True, after=12)
            continue
        if in_amendment and text.startswith("Approved by"):
            for n, line in enumerate(lines):  # "Approved by the Board of Directors" / the date
                last = n == len(lines) - 1
                para(doc, line, indent=3.0, before=0 if n else 12, after=12 if last else 0)
            continue
        if re.match(r"^\d+\. [A-Z]", text) and len(text) < 60 and indent == 0:
            heading(doc, text)
        elif indent >= 12:
            para(doc, text, indent=1.0, justify=True)
        else:
            body(doc, text)
    return doc


def main() -> int:
    TEMPLATES.mkdir(exist_ok=True)
    for name, build in (
        ("nso_agreement.docx", build_agreement),
        ("acceptance.docx", build_acceptance),
        ("plan.docx", build_plan),
    ):
        doc = build()
        doc.sections[0].start_type = WD_SECTION.NEW_PAGE
        doc.save(TEMPLATES / name)  # type: ignore[attr-defined]
        use_heading_styles(TEMPLATES / name)  # titles and section headings as Word headings
        print(f"wrote templates/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
