"""Build the Word documents of the bundled example form kit, data/kits/meridian/.

The kit is a fictional company's (Meridian Lattice Systems, Inc., and its 2024 Non-Employee
Director Equity Incentive Plan): it shows what a kit holds, and that nothing in grantgen is
tied to the ATG plan. The .docx files are the source of truth once committed, as with the
other templates (counsel edits them in Word); this script is how they were first made, and
how to make them again:

    .venv/bin/python tools/build_example_kit.py

It writes three files (plan.toml and README.md of the kit are written by hand):

* ``templates/option_notice.docx``: the Stock Option Grant Notice (award type ``option``);
* ``templates/rsu_notice.docx``: the Restricted Stock Unit Grant Notice (``stock_unit``);
* ``plan.docx``: the Plan's own text, furnished with each grant. Literal text, no Jinja tags;
  its ``identifier`` core property names the plan (``meridian-2024``).

Each notice ends with the signature blocks side by side; the line where each person signs
starts with a Word bookmark (``company_signature``, ``participant_signature``), the
signature fields the kit's plan.toml lists. Every Jinja tag is written into a single Word
run. The output is byte for byte the same on every run: fixed core-property dates, and zip
members written with one fixed timestamp.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.text.paragraph import Paragraph

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_templates import ROOT, _fill, new_document, para

KIT = ROOT / "data" / "kits" / "meridian"
PLAN_ID = "meridian-2024"
PLAN_NAME = "2024 Non-Employee Director Equity Incentive Plan"
COMPANY = "Meridian Lattice Systems, Inc."
#: The date written into every file's core properties (the Plan's effective date).
BUILT = datetime(2024, 6, 1, 0, 0, 0)
#: The timestamp of every zip member.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SIGN_LINE = "_" * 30
#: The signature fields: (bookmark name, id), as the kit's plan.toml lists them.
COMPANY_SIGNATURE = ("company_signature", 1)
PARTICIPANT_SIGNATURE = ("participant_signature", 2)
TERMS_WIDTHS = (2.75, 3.75)
SIGNATURE_WIDTHS = (3.25, 3.25)
BODY_SIZE = 11


# --- building blocks ---------------------------------------------------------------------


def bookmark(paragraph: Paragraph, name: str, bid: int) -> None:
    """A bookmark at the very start of the paragraph (its first children after pPr)."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bid))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bid))
    at = 1 if paragraph._p.pPr is not None else 0
    paragraph._p.insert(at, end)
    paragraph._p.insert(at, start)


def _no_split(row) -> None:  # type: ignore[no-untyped-def]
    """A table row that is never split across pages."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _table_borders(table, value: str) -> None:  # type: ignore[no-untyped-def]
    """The table's own borders (``single`` lines around and between cells, or ``nil``), set
    on the table itself rather than through Word's "Table Grid" style."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{side}")
        line.set(qn("w:val"), value)
        if value != "nil":
            for key, v in (("sz", "4"), ("space", "0"), ("color", "auto")):
                line.set(qn(f"w:{key}"), v)
        borders.append(line)
    tbl_pr = table._tbl.tblPr
    layout = tbl_pr.find(qn("w:tblLayout"))
    if layout is not None:  # the schema's order: tblBorders before tblLayout
        layout.addprevious(borders)
    else:
        tbl_pr.append(borders)


def _table(doc, widths: tuple[float, ...], rows: int):  # type: ignore[no-untyped-def]
    table = doc.add_table(rows=rows, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Inches(width)  # the grid LibreOffice lays out by
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Inches(width)
    return table


def _cell_text(cell, text: str, *, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    p = cell.paragraphs[0]
    _fill(p, text, bold=bold)
    p.paragraph_format.space_before = Pt(2)
    p.paragraph_format.space_after = Pt(2)


def terms_table(doc, rows: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """The grant's terms: a label and its value on each row, in a grid, no header row."""
    table = _table(doc, TERMS_WIDTHS, len(rows))
    for row, (label, value) in zip(table.rows, rows, strict=True):
        _no_split(row)
        label_cell, value_cell = row.cells
        _cell_text(label_cell, label, bold=True)
        _cell_text(value_cell, value)
    _table_borders(table, "single")


def lead(doc, title: str, text: str, *, after: float = 6) -> Paragraph:  # type: ignore[no-untyped-def]
    """A justified paragraph that opens with a bold run-in heading."""
    p = para(doc, "", justify=True, after=after)
    run = p.add_run(title + " ")
    run.bold = True
    _fill(p, text)
    return p


def signature_blocks(doc) -> None:  # type: ignore[no-untyped-def]
    """The Company's block (left) and the Participant's (right), side by side, borderless,
    on one row that never splits; each signature line starts with its bookmark."""
    table = _table(doc, SIGNATURE_WIDTHS, 1)
    _no_split(table.rows[0])
    _table_borders(table, "nil")
    left, right = table.rows[0].cells
    for cell, lines, (name, bid) in (
        (
            left,
            ["{{ company.name|upper }}", SIGN_LINE, "{{ officer.name }}", "{{ officer.title }}"],
            COMPANY_SIGNATURE,
        ),
        (
            right,
            ["PARTICIPANT", SIGN_LINE, "{{ participant }}", "Date: ______________"],
            PARTICIPANT_SIGNATURE,
        ),
    ):
        for n, text in enumerate(lines):
            p = cell.paragraphs[0] if n == 0 else cell.add_paragraph()
            _fill(p, text, bold=n == 0)
            fmt = p.paragraph_format
            fmt.space_before = Pt({0: 0, 1: 26, 2: 2}.get(n, 0))
            fmt.space_after = Pt(0)
            fmt.keep_with_next = True
            if text == SIGN_LINE:
                bookmark(p, name, bid)


def fixed_properties(doc, *, title: str, subject: str) -> None:  # type: ignore[no-untyped-def]
    props = doc.core_properties
    props.title = title
    props.subject = subject
    props.author = ""
    props.keywords = ""
    props.comments = ""
    props.category = ""
    props.last_modified_by = ""
    props.revision = 1
    props.created = BUILT
    props.modified = BUILT


def kit_document(title: str, subject: str):  # type: ignore[no-untyped-def]
    """A letter-size document in Times New Roman 11, `-N-` page numbers in the footer, no
    header (a notice fits on one page, signatures included)."""
    doc = new_document(title, None)
    doc.styles["Normal"].font.size = Pt(BODY_SIZE)
    section = doc.sections[0]
    section.left_margin = section.right_margin = Inches(1)
    section.top_margin = section.bottom_margin = Inches(0.75)
    fixed_properties(doc, title=title, subject=subject)
    return doc


def title_block(doc, kind: str) -> None:  # type: ignore[no-untyped-def]
    para(doc, "{{ company.name|upper }}", bold=True, center=True, after=4)
    para(doc, kind, bold=True, center=True, after=4)
    para(doc, "({{ plan.name }})", center=True, after=12)


def acknowledgement_and_signatures(doc, award: str) -> None:  # type: ignore[no-untyped-def]
    p = para(
        doc,
        f"By signing below, the Participant accepts this {award} on the terms of this Grant "
        "Notice and the Plan and acknowledges receiving a copy of the Plan. This Grant Notice "
        "may be signed electronically.",
        justify=True,
        before=4,
        after=8,
        keep_next=True,
    )
    p.paragraph_format.keep_together = True
    signature_blocks(doc)


# --- the Stock Option Grant Notice -------------------------------------------------------

OPTION_INTRO = (
    "{{ company.name }}, {{ company.a_state }} corporation (the \u201cCompany\u201d), pursuant "
    "to its {{ plan.name }} (the \u201cPlan\u201d), hereby grants to the Participant named "
    "below an option to purchase the number of shares of the Company\u2019s common stock set "
    "forth below. This option is subject to all of the terms and conditions set forth in this "
    "Grant Notice and in the Plan, which is furnished with this Grant Notice."
)
OPTION_TERMS = [
    ("Participant:", "{{ participant }}"),
    ("Grant Date:", "{{ grant_date }}"),
    ("Vesting Commencement Date:", "{{ vesting_start }}"),
    ("Number of Shares Subject to Option:", "{{ shares }}"),
    ("Exercise Price (Per Share):", "{{ exercise_price }}"),
    ("Expiration Date:", "{{ final_exercise_date }}"),
    ("Type of Option:", "Nonstatutory Stock Option"),
]
OPTION_VESTING = (
    "The Shares subject to this option shall vest {{ vesting_description }}, subject to the "
    "Participant\u2019s Continuous Service through each vesting date, as follows:"
)
#: One line per installment (a docxtpl paragraph loop: the lines are the installments).
OPTION_INSTALLMENTS = (
    "{%p for i in vesting %}",
    "{{ i.date }}: {{ i.shares }} Shares ({{ i.percent }}; {{ i.cumulative }} in all)",
    "{%p endfor %}",
)
OPTION_CLAUSES = [
    (
        "1. Exercise.",
        "The Participant may exercise the vested part of this option by written notice to the "
        "Company of the number of whole Shares to be bought, paying the full exercise price "
        "as the Plan allows.",
    ),
    (
        "2. End of Service.",
        "Any part of this option that has not vested when the Participant\u2019s Continuous "
        "Service ends is forfeited. The vested part may be exercised for "
        "{{ plan.post_service }} after the Participant\u2019s service as a director ends, but "
        "not after the Expiration Date.",
    ),
    (
        "3. No Transfer.",
        "Only the Participant may exercise this option while alive, and it cannot be sold, "
        "pledged or otherwise transferred other than by will or under the laws of descent and "
        "distribution.",
    ),
    (
        "4. Tax Treatment.",
        "This option is a nonstatutory stock option. It is not intended to qualify as an "
        "incentive stock option under Section 422 of the Internal Revenue Code of 1986, as "
        "amended.",
    ),
    (
        "5. The Plan Governs.",
        "Words with initial capitals that this Grant Notice does not define have the meanings "
        "the Plan gives them. Where this Grant Notice and the Plan differ, the Plan prevails.",
    ),
]


def build_option_notice():  # type: ignore[no-untyped-def]
    doc = kit_document(
        "Stock Option Grant Notice: {{ participant }}",
        "Stock option granted under the {{ plan.name }}",
    )
    title_block(doc, "STOCK OPTION GRANT NOTICE")
    para(doc, OPTION_INTRO, justify=True, after=8)
    terms_table(doc, OPTION_TERMS)
    lead(doc, "Vesting Schedule:", OPTION_VESTING).paragraph_format.space_before = Pt(8)
    for line in OPTION_INSTALLMENTS:
        item = para(doc, line, after=2)
        item.paragraph_format.left_indent = Pt(24)
    for title, text in OPTION_CLAUSES:
        lead(doc, title, text)
    acknowledgement_and_signatures(doc, "option")
    return doc


# --- the Restricted Stock Unit Grant Notice ----------------------------------------------

RSU_INTRO = (
    "{{ company.name }}, {{ company.a_state }} corporation (the \u201cCompany\u201d), pursuant "
    "to its {{ plan.name }} (the \u201cPlan\u201d), hereby grants to the Participant named "
    "below the number of restricted stock units set forth below (the \u201cRestricted Stock "
    "Units\u201d), each representing the right to receive one share of the Company\u2019s "
    "common stock. This award is subject to all of the terms and conditions set forth in this "
    "Grant Notice and in the Plan, which is furnished with this Grant Notice."
)
RSU_TERMS = [
    ("Participant:", "{{ participant }}"),
    ("Grant Date:", "{{ grant_date }}"),
    ("Vesting Commencement Date:", "{{ vesting_start }}"),
    ("Number of Restricted Stock Units:", "{{ shares }}"),
    ("Vesting Date:", "{{ vesting[-1].date }}"),
]
RSU_VESTING = (
    "100% of the Restricted Stock Units shall vest on the earlier of the first anniversary of "
    "the Grant Date or the date of the Company\u2019s next annual meeting of stockholders "
    "held after the Grant Date, subject to the Participant\u2019s Continuous Service through "
    "the vesting date."
)
RSU_CLAUSES = [
    (
        "1. Settlement.",
        "For each Restricted Stock Unit that vests, the Company will issue to the Participant "
        "one share of its common stock within 30 days after the vesting date. Each unit is "
        "cancelled when its share is issued.",
    ),
    (
        "2. End of Service.",
        "Restricted Stock Units that have not vested when the Participant\u2019s Continuous "
        "Service ends are forfeited on that date, and nothing is paid for them.",
    ),
    (
        "3. No Stockholder Rights Before Settlement.",
        "The Restricted Stock Units carry no right to vote, to receive dividends or any other "
        "right of a stockholder. The Participant has those rights only in shares actually "
        "issued on settlement, from the date they are issued.",
    ),
    (
        "4. No Transfer.",
        "The Restricted Stock Units cannot be sold, given away, pledged or otherwise "
        "transferred, other than by will or under the laws of descent and distribution.",
    ),
    (
        "5. The Plan Governs.",
        "Words with initial capitals that this Grant Notice does not define have the meanings "
        "the Plan gives them. Where this Grant Notice and the Plan differ, the Plan prevails.",
    ),
]


def build_rsu_notice():  # type: ignore[no-untyped-def]
    doc = kit_document(
        "Restricted Stock Unit Grant Notice: {{ participant }}",
        "Restricted stock units granted under the {{ plan.name }}",
    )
    title_block(doc, "RESTRICTED STOCK UNIT GRANT NOTICE")
    para(doc, RSU_INTRO, justify=True, after=8)
    terms_table(doc, RSU_TERMS)
    lead(doc, "Vesting Schedule:", RSU_VESTING).paragraph_format.space_before = Pt(8)
    for title, text in RSU_CLAUSES:
        lead(doc, title, text)
    acknowledgement_and_signatures(doc, "award")
    return doc


# --- the Plan ----------------------------------------------------------------------------

#: The Plan's text: ("h", section heading), ("p", paragraph), ("s", "(a) Heading.", text).
#: Section numbers agree with [sections] in the kit's plan.toml.
PLAN = [
    ("h", "1. Purpose."),
    (
        "p",
        f"{COMPANY}, a Delaware corporation (the \u201cCompany\u201d), adopts this {PLAN_NAME} "
        "(the \u201cPlan\u201d) so that the members of its Board who are not its employees may "
        "acquire a stake in the Company\u2019s common stock. By paying part of their "
        "compensation in equity, the Plan links the rewards of those directors to the value "
        "they help build for the Company\u2019s stockholders.",
    ),
    ("h", "2. Definitions."),
    ("p", "In the Plan, the following words have the meanings given below."),
    ("s", "(a) \u201cAward\u201d", "means an Option, Restricted Stock or a Restricted Stock Unit."),
    ("s", "(b) \u201cBoard\u201d", "means the Board of Directors of the Company."),
    ("s", "(c) \u201cCode\u201d", "means the Internal Revenue Code of 1986, as amended."),
    (
        "s",
        "(d) \u201cCommon Stock\u201d",
        "means the common stock, $0.001 par value per share, of the Company.",
    ),
    (
        "s",
        "(e) \u201cContinuous Service\u201d",
        "means uninterrupted membership of the Board. A Participant\u2019s Continuous Service "
        "ends on the day the Participant stops serving on the Board for any reason, including "
        "death, disability, resignation or not being re-elected.",
    ),
    (
        "s",
        "(f) \u201cEligible Director\u201d",
        "means a member of the Board who is not an employee of the Company or of any of its "
        "subsidiaries.",
    ),
    (
        "s",
        "(g) \u201cGrant Date\u201d",
        "means the date on which the Board grants an Award, as stated in the grant notice "
        "for that Award.",
    ),
    (
        "s",
        "(h) \u201cParticipant\u201d",
        "means an Eligible Director to whom an Award has been granted.",
    ),
    (
        "s",
        "(i) \u201cTrading Market\u201d",
        "means the national securities exchange on which the Common Stock is principally listed.",
    ),
    ("h", "3. Eligibility."),
    (
        "p",
        "Only Eligible Directors may receive Awards. A director who is also an employee of the "
        "Company or of a subsidiary may not receive an Award while so employed.",
    ),
    ("h", "4. Shares Subject to the Plan."),
    (
        "s",
        "(a) Share Reserve.",
        "Subject to adjustment under Section 10, the total number of shares of Common Stock "
        "that may be issued under the Plan is 1,500,000. The shares may be authorized but "
        "unissued shares or shares the Company holds in its treasury.",
    ),
    (
        "s",
        "(b) Cap on Awards Other Than Options.",
        "Of the shares reserved under Section 4(a), no more than 500,000 may be issued under "
        "Awards other than Options.",
    ),
    (
        "s",
        "(c) Shares Available Again.",
        "Shares covered by an Award that expires, is forfeited or is cancelled before they are "
        "issued may be used for new Awards. Shares withheld to pay an exercise price or taxes "
        "may not.",
    ),
    ("h", "5. Administration."),
    (
        "p",
        "The Board administers the Plan. It may interpret the Plan and each Award, make rules "
        "for carrying out the Plan, and correct any error or omission in the Plan or in an "
        "Award. Its decisions are final and bind every Participant. The Board may delegate any "
        "of these powers to a committee of its members.",
    ),
    ("h", "6. Options."),
    (
        "s",
        "(a) Nonstatutory Options Only.",
        "The Board may grant Eligible Directors options to buy shares of Common Stock "
        "(\u201cOptions\u201d). "
        "Every Option is a nonstatutory stock option; no Option is intended to qualify as an "
        "incentive stock option under Section 422 of the Code.",
    ),
    (
        "s",
        "(b) Exercise Price.",
        "The exercise price per share of an Option equals the last reported sale price of a "
        "share of Common Stock on the Trading Market on the Grant Date or, if no sale is "
        "reported on that date, on the last earlier day on which a sale was reported. If the "
        "Common Stock is not listed on a national securities exchange, the exercise price is "
        "the fair market value of a share on the Grant Date as the Board determines it in "
        "good faith.",
    ),
    (
        "s",
        "(c) Term; Exercise After Service Ends.",
        "Each Option expires on the tenth anniversary of its Grant Date, ten (10) years after "
        "it is granted. When a Participant\u2019s Continuous Service ends, the unvested part of "
        "each of the Participant\u2019s Options is forfeited, and the vested part may be "
        "exercised for one year afterwards, but not after the Option expires.",
    ),
    (
        "s",
        "(d) Whole Shares.",
        "An Option may be exercised only for whole shares of Common Stock. No fractional share "
        "will be issued, and any fraction of a share that an Option would otherwise cover is "
        "disregarded.",
    ),
    (
        "s",
        "(e) Substitute Options.",
        "When the Company acquires or combines with another business, the Board may grant "
        "Options in place of options that business granted to its directors, on terms the "
        "Board considers fair to preserve the value of the options replaced, even where those "
        "terms differ from Sections 6(b) and 6(c).",
    ),
    ("h", "7. Restricted Stock."),
    (
        "p",
        "The Board may grant shares of Common Stock that are forfeited unless conditions the "
        "Board sets are met (\u201cRestricted Stock\u201d). A Participant may vote shares of "
        "Restricted Stock before they vest, but dividends on shares that have not vested are "
        "held by the Company and paid only if and when those shares vest.",
    ),
    ("h", "8. Restricted Stock Units."),
    (
        "p",
        "The Board may grant restricted stock units (\u201cRestricted Stock Units\u201d), each "
        "a right to receive one share of Common Stock when it vests, on the vesting conditions "
        "the Board sets. Vested Restricted Stock Units are settled in shares of Common Stock "
        "within 30 days after they vest. A Participant has no rights as a stockholder in the "
        "shares underlying Restricted Stock Units until those shares are issued.",
    ),
    ("h", "9. Transferability."),
    (
        "p",
        "No Award may be sold, pledged, assigned or otherwise transferred, other than by will "
        "or under the laws of descent and distribution. During a Participant\u2019s lifetime, "
        "only the Participant may exercise the Participant\u2019s Options.",
    ),
    ("h", "10. Adjustments."),
    (
        "p",
        "If the outstanding Common Stock changes through a stock split, reverse split, stock "
        "dividend, recapitalization, merger, reorganization or similar event, the Board will "
        "equitably adjust the number and kind of shares reserved under Section 4(a), the limit "
        "in Section 4(b), and the number, kind and exercise price of the shares covered by "
        "each outstanding Award.",
    ),
    ("h", "11. Amendment and Termination."),
    (
        "p",
        "The Board may amend, suspend or end the Plan at any time. An amendment that "
        "applicable law or the rules of the Trading Market require the stockholders to approve "
        "takes effect only once they approve it, and no amendment may materially impair an "
        "outstanding Award without the consent of its holder.",
    ),
    ("h", "12. General Provisions."),
    (
        "s",
        "(a) Grant Notices.",
        "Each Award is evidenced by a grant notice in a form the Board approves, which may set "
        "further terms that are consistent with the Plan.",
    ),
    (
        "s",
        "(b) No Right to Continued Service.",
        "Neither the Plan nor any Award gives any person a right to be nominated for, elected "
        "to or kept on the Board.",
    ),
    (
        "s",
        "(c) Compliance With Law.",
        "The Company need not issue shares under an Award until the issue complies with all "
        "applicable securities laws and the rules of the Trading Market.",
    ),
    (
        "s",
        "(d) Governing Law.",
        "The Plan and every Award are governed by the laws of the State of Delaware, without "
        "regard to its rules on conflicts of laws.",
    ),
    ("h", "13. Effective Date and Term."),
    (
        "p",
        "The Plan takes effect on June 1, 2024. No Award may be granted after May 31, 2034; "
        "Awards granted on or before that date remain in effect on their own terms.",
    ),
]


def build_plan():  # type: ignore[no-untyped-def]
    doc = kit_document(PLAN_NAME, "")
    # the plan this text is: grantgen furnishes it only with this plan's grants
    doc.core_properties.identifier = PLAN_ID
    para(doc, COMPANY.upper(), bold=True, center=True, after=6)
    para(doc, PLAN_NAME.upper(), bold=True, center=True, after=18)
    for kind, *text in PLAN:
        if kind == "h":
            para(doc, text[0], bold=True, keep_next=True, before=4, after=6)
        elif kind == "p":
            para(doc, text[0], first=0.5, justify=True, after=10)
        else:
            title, rest = text
            p = para(doc, "", indent=0.5, justify=True, after=8)
            run = p.add_run(title + " ")
            run.bold = True
            p.add_run(rest)
    return doc


# --- writing -----------------------------------------------------------------------------


def deterministic(docx: bytes) -> bytes:
    """The same package, every zip member stamped with one fixed time."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info))
    return out.getvalue()


def save(doc, path: Path) -> None:  # type: ignore[no-untyped-def]
    doc.sections[0].start_type = WD_SECTION.NEW_PAGE
    buf = io.BytesIO()
    doc.save(buf)
    data = deterministic(buf.getvalue())
    if path.name == "plan.docx":  # literal text: what looks like a tag would print as it is
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if re.search(rb"\{[{%#]", z.read("word/document.xml")):
                raise SystemExit("plan.docx must hold no Jinja tags")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    save(build_option_notice(), KIT / "templates" / "option_notice.docx")
    save(build_rsu_notice(), KIT / "templates" / "rsu_notice.docx")
    save(build_plan(), KIT / "plan.docx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
