"""The review packet: summary (HTML read back in headless Chromium, CSV, XLSX), packet.pdf,
deviations from the approved form, and the board consent with its Exhibit A."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import markupsafe
import openpyxl
import pikepdf
import pytest
from docx.oxml.ns import qn
from pypdf import PdfReader

from generator.assembling.reviewpacket import agreement_pages
from generator.checking.fields import format_date, format_price, format_shares
from generator.comparing.deviations import (
    Deviation,
    DeviationCheck,
    DeviationError,
    _masked,
    enforce,
    find_deviations,
    margin_deviations,
    plan_deviations,
)
from generator.converting.converter import Converter
from generator.core.output import restore_cell
from generator.core.resources import form_text, templates_dir
from generator.making.batch import ReviewBatch, ReviewGrant, ReviewResult
from generator.making.formcheck import blank_values
from generator.pipeline import GenerateOptions, GenerateResult, check_batch, generate
from generator.reading.columns import ReadOptions, parse_rows
from generator.reading.records import read_grants
from generator.rendering.form import DRAFT_MARK
from generator.rendering.templateset import TemplateSet
from generator.reviewing.review import batch_deviations, write_review
from generator.reviewing.reviewbatch import review_batch
from generator.reviewing.summary import COLUMNS, XLSX_HEADINGS, summary_xlsx
from generator.terms.plan import load_plan

from .conftest import PRICES, SAMPLE, grant, pdf_text, write_csv

FORM = form_text()
TEMPLATES = templates_dir()
PLAN = load_plan(None)
HYPERLINK = '=HYPERLINK("http://example.invalid/?q=1","click me")'
ZOE = 'Zoë O\'Brien & Sons <Trust> "QA"'
SCRIPT = '<script>alert("x")</script> Smith'

pytestmark = pytest.mark.soffice


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class Reviewed:
    result: GenerateResult
    batch: ReviewBatch
    review: ReviewResult


def run_review(
    grants: Path,
    out: Path,
    converter: Converter,
    *,
    templates: Path = TEMPLATES,
    draft: bool = False,
) -> Reviewed:
    ledger = out.parent / f"{out.name}-ledger.sqlite"
    checked = check_batch(grants, None, PRICES, ledger, documents=True)
    result = generate(
        GenerateOptions(
            grants=grants,
            out=out,
            prices=PRICES,
            ledger=ledger,
            templates=templates,
            draft=draft,
        )
    )
    batch = review_batch(checked, result)
    review = write_review(batch, templates_dir=templates, converter=converter, form_text=FORM)
    return Reviewed(result, batch, review)


class TableReader(HTMLParser):
    """The cells of the table with a given id, as text; and every tag name seen."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._inside and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_table(html: str, table_id: str) -> TableReader:
    reader = TableReader(table_id)
    reader.feed(html)
    reader.close()
    return reader


def chromium_dom(page: Path, tmp: Path) -> str:
    """The page as headless Chromium built it (its DOM after parsing), with no network."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is required for this test: apt-get install chromium"
    proc = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<table" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


EXHIBIT_HEADING = ["Participant", "Grant", "Shares", "Exercise Price", "Grant Date", "Expires"]


def consent_tables(path: Path) -> list[list[list[str]]]:
    """Exhibit A's tables (a long Exhibit A comes in blocks), each as rows of cell texts."""
    tables = docx.Document(str(path)).tables
    cells = [[[c.text for c in row.cells] for row in table.rows] for table in tables]
    return [rows for rows in cells if rows and rows[0] == EXHIBIT_HEADING]


def consent_rows(path: Path) -> list[list[str]]:
    """Exhibit A's rows (header first) from the consent DOCX, across its blocks."""
    tables = consent_tables(path)
    assert tables, "no Exhibit A table"
    return [EXHIBIT_HEADING] + [row for rows in tables for row in rows[1:]]


def edit_templates(tmp: Path, name: str, edit: Callable[[docx.document.Document], None]) -> Path:
    """A copy of the bundled templates with ``name`` edited by ``edit``."""
    folder = tmp / "edited-templates"
    shutil.copytree(TEMPLATES, folder, dirs_exist_ok=True)
    document = docx.Document(str(folder / name))
    edit(document)
    document.save(str(folder / name))
    return folder


def replace_text(old: str, new: str) -> Callable[[docx.document.Document], None]:
    def edit(document: docx.document.Document) -> None:
        hits = 0
        for paragraph in document.paragraphs:
            for run in paragraph.runs:
                if old in run.text:
                    run.text = run.text.replace(old, new)
                    hits += 1
        assert hits == 1, f"{old!r} found {hits} times"

    return edit


def twelve_years(document: docx.document.Document) -> None:
    """Counsel writes a term of twelve (12) years over the plan's term in the template."""
    replace_text("{{ plan.term_phrase }}", "twelve (12) years")(document)


def delete_paragraph(start: str) -> Callable[[docx.document.Document], None]:
    def edit(document: docx.document.Document) -> None:
        (hit,) = [p for p in document.paragraphs if p.text.startswith(start)]
        hit._element.getparent().remove(hit._element)

    return edit


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converter(soffice: str) -> Iterator[Converter]:
    with Converter(1) as conv:
        yield conv


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, converter: Converter) -> Reviewed:
    out = tmp_path_factory.mktemp("review-sample") / "out"
    reviewed = run_review(SAMPLE, out, converter)
    assert not reviewed.result.errors, reviewed.result.errors
    return reviewed


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, converter: Converter) -> Reviewed:
    """Good grants with hostile names, and two refused grants."""
    folder = tmp_path_factory.mktemp("review-mixed")
    rows = [
        grant(grant_id="M-1", participant=HYPERLINK),
        grant(grant_id="M-2", participant=ZOE, shares="7,500"),
        grant(grant_id="M-3", participant="+Plus Minus", exercise_price="$3.00"),
        grant(grant_id="M-4", participant="@Cmd Person", is_employee="yes"),
        grant(grant_id="M-5", participant=SCRIPT, shares="1,000"),
        grant(grant_id="M-6", participant="Unreadable Date", grant_date="02/30/2005"),
    ]
    reviewed = run_review(write_csv(folder / "mixed.csv", rows), folder / "out", converter)
    assert [g.status for g in reviewed.batch.grants] == [
        "generated",
        "generated",
        "refused",
        "refused",
        "generated",
        "refused",  # its grant date cannot be read: listed all the same, with the reason
    ]
    unread = reviewed.batch.grants[-1]
    assert (unread.grant_id, unread.grant_date, unread.shares) == ("M-6", None, None)
    assert any(f.get("column") == "grant_date" for f in unread.findings)
    return reviewed


# --- the summary -----------------------------------------------------------------------------


def test_summary_opened_in_chromium_shows_every_grant(mixed: Reviewed, tmp_path: Path) -> None:
    dom = chromium_dom(mixed.review.summary_html, tmp_path)
    table = read_table(dom, "grants")
    header, *rows = table.rows
    assert header[:3] == ["Row", "Grant", "Participant"]
    assert len(rows) == len(mixed.batch.grants) == 6
    by_id = {r[1]: r for r in rows}
    # hostile names come back literally, as text
    assert by_id["M-1"][2] == HYPERLINK
    assert by_id["M-2"][2] == ZOE
    assert by_id["M-5"][2] == SCRIPT
    assert "script" not in table.tags, "a participant's name became an element"
    assert by_id["M-2"][3:6] == ["May 16, 2005", "7,500", "$3.25"]
    assert by_id["M-1"][6] == "close on grant date 2005-05-16"
    assert by_id["M-1"][7] == "May 16, 2015"
    assert by_id["M-1"][8] == "at once: all 15,000 on 2005-05-16"  # its vesting
    assert by_id["M-1"][9].startswith("generated")
    assert by_id["M-3"][9] == "refused" and "5(b)" in by_id["M-3"][10]
    assert "exercise price $3.00 given" in by_id["M-3"][10]
    assert by_id["M-4"][9] == "refused" and "\u00a7 2 error" in by_id["M-4"][10].replace(
        "\u00a0", " "
    )
    totals = {r[0]: r[1] for r in read_table(dom, "totals").rows}
    assert totals["Share reserve (Section 4(a))"] == "800,000"
    assert totals["Available before this batch"] == "800,000"
    assert totals["Shares granted"] == "23,500"
    assert totals["Available after this batch"] == "776,500"
    assert totals["Refused"] == "3"  # the unreadable row is counted and listed with its reason
    assert by_id["M-6"][9] == "refused" and "there is no such date" in by_id["M-6"][10]


def test_summary_is_standalone(mixed: Reviewed) -> None:
    html = mixed.review.summary_html.read_text(encoding="utf-8")
    assert "<script" not in html.replace("&lt;script", "")
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"\bsrc=|@import|url\(|@font-face", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r'href="(?!\.\./|summary|totals|packet|board_consent)', html)
    assert "&lt;script&gt;" in html and "Zoë O&#x27;Brien &amp; Sons &lt;Trust&gt;" in html


def test_csv_cells_are_neutralised_and_numbers_stay_numbers(mixed: Reviewed) -> None:
    text = mixed.review.summary_csv.read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert [] not in lines  # one table: a plain import reads it
    header, rows = lines[0], lines[1:]
    totals_text = mixed.review.totals_csv.read_bytes().decode("utf-8-sig")
    total_lines = list(csv.reader(io.StringIO(totals_text)))
    assert total_lines[0] == ["total", "number"]
    totals = dict(total_lines[1:])
    grants = [dict(zip(header, r, strict=True)) for r in rows]
    by_id = {g["grant_id"]: g for g in grants}
    assert by_id["M-1"]["participant"] == "'" + HYPERLINK
    assert restore_cell(by_id["M-1"]["participant"]) == HYPERLINK
    assert by_id["M-3"]["participant"] == "'+Plus Minus"
    assert by_id["M-4"]["participant"] == "'@Cmd Person"
    assert by_id["M-2"]["participant"] == ZOE
    assert by_id["M-2"]["shares"] == "7500" and by_id["M-2"]["exercise_price"] == "3.25"
    assert by_id["M-2"]["grant_date"] == "2005-05-16"
    assert by_id["M-2"]["final_exercise_date"] == "2015-05-16"
    assert "5(b)" in by_id["M-3"]["sections"] and "exercise-price" in by_id["M-3"]["findings"]
    # compared with the form and found the same; a refused grant's agreement was never made
    assert (by_id["M-2"]["deviations"], by_id["M-3"]["deviations"]) == ("0", "")
    for g in grants:
        for value in g.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    assert totals["Available after this batch"] == "776500"


def test_xlsx_cells_are_neutralised_and_typed(mixed: Reviewed) -> None:
    book = openpyxl.load_workbook(mixed.review.summary_xlsx)
    sheet = book["Grants"]
    assert [c.value for c in sheet[1]] == list(XLSX_HEADINGS)  # a reader's headers
    header = list(COLUMNS)
    rows = [dict(zip(header, (c for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    by_id = {r["grant_id"].value: r for r in rows}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {ws.title}!{cell.coordinate}"
    # text that looks like a formula is text, shown as typed (no apostrophe in the name)
    for grant_id, name in (("M-1", HYPERLINK), ("M-3", "+Plus Minus")):
        cell = by_id[grant_id]["participant"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True)
    assert by_id["M-2"]["participant"].value == ZOE
    shares = by_id["M-2"]["shares"]
    assert shares.data_type == "n" and shares.value == 7500
    price = by_id["M-2"]["exercise_price"]
    assert price.data_type == "n" and price.value == pytest.approx(3.25)
    assert by_id["M-2"]["row"].value == 3
    assert by_id["M-2"]["grant_date"].value == datetime(2005, 5, 16)
    assert by_id["M-2"]["grant_date"].is_date
    totals = {r[0].value: r[1].value for r in book["Totals"].iter_rows()}
    assert totals["Available before this batch"] == 800000
    assert totals["Available after this batch"] == 776500
    again = summary_xlsx(mixed.batch, mixed.review.deviations)
    assert again == mixed.review.summary_xlsx.read_bytes()  # same bytes


def test_review_files_written_without_leftovers(sample: Reviewed) -> None:
    names = sorted(p.name for p in sample.review.folder.iterdir())
    assert names == [
        "board_consent.docx",
        "board_consent.pdf",
        "packet.pdf",
        "summary.csv",
        "summary.html",
        "summary.xlsx",
        "totals.csv",
    ]
    assert not sample.review.problems


# --- packet.pdf ------------------------------------------------------------------------------


def outline(reader: PdfReader) -> list[tuple[str, int]]:
    """The top-level bookmarks: (title, 0-based page)."""
    out = []
    for item in reader.outline:
        assert not isinstance(item, list), "nested bookmarks"
        page = reader.get_destination_page_number(item)
        assert page is not None
        out.append((str(item.title), page))
    return out


def test_packet_is_every_agreement_bookmarked_by_participant(sample: Reviewed) -> None:
    reader = PdfReader(only_packet(sample.review))
    documents = sample.result.documents
    titles = [title for title, _ in outline(reader)]
    assert titles == [d.participant for d in documents]
    lengths = [agreement_pages(pikepdf.open(sample.result.out / d.pdf)) for d in documents]
    assert all(n >= 2 for n in lengths)
    assert len(reader.pages) == sum(lengths)
    starts = [page for _, page in outline(reader)]
    assert starts == [sum(lengths[:i]) for i in range(len(lengths))]
    for d, start, n in zip(documents, starts, lengths, strict=True):
        first = reader.pages[start].extract_text()
        last = reader.pages[start + n - 1].extract_text()
        assert "NONSTATUTORY STOCK OPTION AGREEMENT" in first
        assert d.grant_id in first
        assert "PARTICIPANT'S ACCEPTANCE" in last
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "1. Purpose" not in text, "the Plan is not part of the review packet"
    assert not reader.get_fields()


def only_packet(review: ReviewResult) -> Path:
    assert [p.name for p in review.packet_pdfs] == ["packet.pdf"]
    return review.packet_pdfs[0]


def test_a_large_packet_comes_in_volumes_and_replaces_the_single_file(
    sample: Reviewed, tmp_path: Path, converter: Converter, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(sample.result.out, out)
    batch = dataclasses.replace(sample.batch, out=out)
    single = PdfReader(only_packet(sample.review))
    monkeypatch.setattr("generator.reviewing.review.PACKET_VOLUME", 2)
    review = write_review(batch, templates_dir=TEMPLATES, converter=converter, form_text=FORM)
    assert not review.problems
    names = [p.name for p in review.packet_pdfs]
    assert names == ["packet-01-of-03.pdf", "packet-02-of-03.pdf", "packet-03-of-03.pdf"]
    assert sorted(p.name for p in review.folder.glob("packet*.pdf")) == names, "no stale packet"
    # the volumes, one after another, are the single packet: same bookmarks, same pages
    joined: list[tuple[str, int]] = []
    texts: list[str] = []
    for number, path in enumerate(review.packet_pdfs, start=1):
        reader = PdfReader(path)
        joined += [(title, page + len(texts)) for title, page in outline(reader)]
        texts += [page.extract_text() for page in reader.pages]
        assert f"agreements {2 * number - 1}-" in str(reader.metadata.title)
    assert joined == outline(single)
    assert texts == [page.extract_text() for page in single.pages]
    html = review.summary_html.read_text(encoding="utf-8")
    assert all(name in html for name in names)
    # back to one file: the volumes go
    monkeypatch.setattr("generator.reviewing.review.PACKET_VOLUME", 1000)
    again = write_review(batch, templates_dir=TEMPLATES, converter=converter, form_text=FORM)
    assert sorted(p.name for p in again.folder.glob("packet*.pdf")) == ["packet.pdf"]


def test_packet_leaves_out_refused_grants(mixed: Reviewed) -> None:
    titles = [title for title, _ in outline(PdfReader(only_packet(mixed.review)))]
    assert titles == [HYPERLINK, ZOE, SCRIPT]


# --- deviations ------------------------------------------------------------------------------


def test_bundled_templates_have_no_deviations(sample: Reviewed) -> None:
    assert set(sample.review.deviations) == {d.grant_id for d in sample.result.documents}
    assert sample.review.deviation_count == 0
    html = sample.review.summary_html.read_text(encoding="utf-8")
    assert 'id="no-deviations"' in html
    enforce(sample.review.deviations, strict=True, draft=False, accepted=False)


def _render(templates: Path, tmp: Path) -> list[tuple[str, Path]]:
    """Every sample grant rendered with ``templates``: (participant, DOCX)."""
    out = []
    for record in read_grants(SAMPLE).records:
        path = tmp / f"{record.grant_id}.docx"
        path.write_bytes(TemplateSet(templates).render_grant(record, PLAN))
        out.append((record.participant, path))
    return out


@pytest.mark.parametrize("draft", [False, True])
def test_every_sample_grant_renders_without_deviation(tmp_path: Path, draft: bool) -> None:
    for record in read_grants(SAMPLE).records:
        path = tmp_path / f"{record.grant_id}.docx"
        path.write_bytes(TemplateSet(TEMPLATES).render_grant(record, PLAN, draft=draft))
        assert find_deviations(path, FORM, participant=record.participant) == []
        assert find_deviations(path, FORM) == []


def test_a_changed_sentence_is_found_with_its_word_diff(tmp_path: Path) -> None:
    templates = edit_templates(tmp_path, "nso_agreement.docx", twelve_years)
    for participant, path in _render(templates, tmp_path):
        (found,) = find_deviations(path, FORM, participant=participant)
        assert found.kind == "changed" and found.part == "agreement"
        assert found.form is not None and "ten (10) years from the date of grant" in found.form
        assert found.rendered is not None and "twelve (12) years" in found.rendered
        changes = [d for d in found.diff if d[0] != "equal"]
        assert changes == [("delete", "ten (10)"), ("insert", "twelve (12)")]


def test_an_added_sentence_is_found(tmp_path: Path) -> None:
    added = "The Participant shall keep the terms of this option confidential."
    templates = edit_templates(
        tmp_path,
        "nso_agreement.docx",
        replace_text("with this option.", f"with this option. {added}"),
    )
    for participant, path in _render(templates, tmp_path):
        assert find_deviations(path, FORM, participant=participant) == [
            Deviation("added", "agreement", None, added, (("insert", added),))
        ]


def test_a_deleted_sentence_is_found(tmp_path: Path) -> None:
    templates = edit_templates(
        tmp_path, "nso_agreement.docx", delete_paragraph("This option may not be sold")
    )
    for participant, path in _render(templates, tmp_path):
        (found,) = find_deviations(path, FORM, participant=participant)
        assert found.kind == "removed" and found.rendered is None
        assert found.form is not None and found.form.startswith("This option may not be sold")


def test_an_edit_beside_a_blank_is_not_taken_for_the_value(tmp_path: Path) -> None:
    templates = edit_templates(
        tmp_path,
        "nso_agreement.docx",
        replace_text(", a director of the Company", ", an individual, a director of the Company"),
    )
    for participant, path in _render(templates, tmp_path):
        (found,) = find_deviations(path, FORM, participant=participant)
        assert found.kind == "changed"
        assert [d for d in found.diff if d[0] != "equal"] == [("insert", "an individual,")]


def test_a_hidden_sentence_is_found_missing(tmp_path: Path) -> None:
    def hide(document: docx.document.Document) -> None:
        (paragraph,) = [p for p in document.paragraphs if "This option may not be sold" in p.text]
        for run in paragraph.runs:
            run.font.hidden = True  # Word's hidden text: not printed, not in the PDF

    templates = edit_templates(tmp_path, "nso_agreement.docx", hide)
    for participant, path in _render(templates, tmp_path):
        (found,) = find_deviations(path, FORM, participant=participant)
        assert found.kind == "removed"
        assert found.form is not None and found.form.startswith("This option may not be sold")


@pytest.mark.parametrize(
    ("blank", "written", "expected"),
    [
        ("{{ shares }}", "15,000", "shares"),  # typed in, not the grant's own number
        ("{{ exercise_price }}", "${{ shares }}", "exercise_price"),  # another value
        ("{{ grant_date }}", "May 16, 2005", "grant_date"),
    ],
)
def test_a_blank_must_hold_the_grants_own_value(
    tmp_path: Path, blank: str, written: str, expected: str
) -> None:
    templates = edit_templates(tmp_path, "nso_agreement.docx", replace_text(blank, written))
    check = DeviationCheck(FORM)
    record = dataclasses.replace(
        read_grants(SAMPLE).records[0], shares=1002, grant_date=date(2005, 6, 1)
    )
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    values = blank_values(record, PLAN)
    (found,) = check.check(rendered.body, values, record.participant)
    assert found.kind == "changed" and found.part == "agreement"
    deleted = [text for op, text in found.diff if op == "delete"]
    assert deleted and all(w in values[expected].split() for t in deleted for w in t.split())
    # the bundled template, same grant: its blanks hold its values, no deviation
    plain = TemplateSet(TEMPLATES).render_grant_parts(record, PLAN)
    assert check.check(plain.body, values, record.participant) == []


@pytest.mark.parametrize(
    "participant",
    [
        "Margaret A. Ellison",
        "Zoë O'Brien & <Sons>",
        "王小明 山田太郎",
        "A " + "very " * 40 + "long",
    ],
)
def test_signature_blocks_filled_with_the_grants_values_are_no_deviation(participant: str) -> None:
    record = dataclasses.replace(
        read_grants(SAMPLE).records[0],
        participant=participant,
        address=("1 Main Street & Co.", "Springfield, MA 01101"),
    )
    rendered = TemplateSet(TEMPLATES).render_grant_parts(record, PLAN)
    check = DeviationCheck(FORM)
    assert check.check(rendered.body, blank_values(record, PLAN), participant) == []


@pytest.mark.parametrize(
    ("old", "new", "added"),
    [
        (
            "Name: {{ officer.name }}",
            "Name: The Company may revoke this option at any time without notice.",
            "The Company may revoke this option at any time without notice.",
        ),
        (
            "Title: {{ officer.title }}",
            "Title: {{ officer.title }}. This option is void.",
            "This option is void.",
        ),
    ],
)
def test_a_sentence_in_a_signature_block_is_found(
    tmp_path: Path, old: str, new: str, added: str
) -> None:
    def edit(document: docx.document.Document) -> None:
        cells = [c for t in document.tables for row in t.rows for c in row.cells]
        hits = 0
        for paragraph in [p for c in cells for p in c.paragraphs]:
            if paragraph.text == old:
                for run in paragraph.runs[1:]:
                    run.text = ""
                paragraph.runs[0].text = new
                hits += 1
        assert hits == 1

    templates = edit_templates(tmp_path, "nso_agreement.docx", edit)
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    found = DeviationCheck(FORM).check(
        rendered.body, blank_values(record, PLAN), record.participant
    )
    assert found and {d.kind for d in found} == {"added"}
    assert added in [d.rendered for d in found]


def test_a_signature_block_value_in_capitals_is_no_deviation(tmp_path: Path) -> None:
    def edit(document: docx.document.Document) -> None:
        cells = [c for t in document.tables for row in t.rows for c in row.cells]
        (paragraph,) = [
            p for c in cells for p in c.paragraphs if p.text == "Title: {{ officer.title }}"
        ]
        for run in paragraph.runs[1:]:
            run.text = ""
        paragraph.runs[0].text = "Title: {{ officer.title|upper }}"

    templates = edit_templates(tmp_path, "nso_agreement.docx", edit)
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    check = DeviationCheck(FORM)
    assert check.check(rendered.body, blank_values(record, PLAN), record.participant) == []


def edit_cells(**lines: str) -> Callable[[docx.document.Document], None]:
    """Rewrite table-cell paragraphs by their text: ``{old: new}``, each found exactly once."""

    def edit(document: docx.document.Document) -> None:
        cells = [c for t in document.tables for row in t.rows for c in row.cells]
        for old, new in lines.items():
            (paragraph,) = {
                p._element: p for c in cells for p in c.paragraphs if p.text == old
            }.values()
            for run in paragraph.runs[1:]:
                run.text = ""
            paragraph.runs[0].text = new

    return edit


@pytest.mark.parametrize(
    ("name", "old", "new", "wrong"),
    [
        (
            "nso_agreement.docx",
            "Title: {{ officer.title }}",
            "Title: {{ participant }}",
            "participant",
        ),
        (
            "nso_agreement.docx",
            "Name: {{ officer.name }}",
            "Name: {{ officer.title }}",
            "officer_title",
        ),
        (
            "nso_agreement.docx",
            "Name: {{ officer.name }}",
            "Name: {{ participant }}",
            "participant",
        ),
        (
            "nso_agreement.docx",
            "Title: {{ officer.title }}",
            "Title: {{ company.name }}",
            "company",
        ),
        ("nso_agreement.docx", "Dated:", "Dated: {{ shares }}", "shares"),
        ("nso_agreement.docx", "By:", "By: {{ participant|upper }}", "participant"),
        ("acceptance.docx", "Name: {{ participant }}", "Name: {{ officer.name }}", "officer_name"),
        ("acceptance.docx", "PARTICIPANT:", "PARTICIPANT: {{ officer.name }}", "officer_name"),
        ("acceptance.docx", "Address:", "Address: {{ officer.title }}", "officer_title"),
        ("acceptance.docx", "{{ line }}", "{{ officer.name }}", "officer_name"),
    ],
)
def test_a_signature_block_line_holding_another_blanks_value_is_found(
    tmp_path: Path, name: str, old: str, new: str, wrong: str
) -> None:
    # (officer.name where the participant's belongs, the participant's name as the
    # officer's title ...: each a value of the agreement's own, in another blank's place)
    templates = edit_templates(tmp_path, name, edit_cells(**{old: new}))
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    values = blank_values(record, PLAN)
    found = DeviationCheck(FORM).check(rendered.body, values, record.participant)
    part = "agreement" if name == "nso_agreement.docx" else "acceptance"
    assert found and {(d.kind, d.part) for d in found} == {("added", part)}
    reported = " ".join(d.rendered or "" for d in found)
    assert values[wrong].casefold() in reported.casefold()


@pytest.mark.parametrize(
    "participant",
    [
        "Bob",
        "J. R. Smith, Jr.",
        "A.B.",
        PLAN.company.officer.name,  # the participant is the signing officer
        PLAN.company.officer.title,  # a name that is also the officer's title
        PLAN.company.name,
    ],
)
def test_signature_block_values_in_their_own_places_are_no_deviation(
    tmp_path: Path, participant: str
) -> None:
    templates = edit_templates(
        tmp_path,
        "nso_agreement.docx",
        edit_cells(
            **{
                "Dated:": "Dated: {{ grant_date }}",
                "By:": "By: {{ officer.name|upper }}",
                "Title: {{ officer.title }}": "Title: {{ officer.title|upper }}",
            }
        ),
    )
    acceptance = docx.Document(str(templates / "acceptance.docx"))
    edit_cells(
        **{
            "PARTICIPANT:": "PARTICIPANT: {{ participant|upper }}",
            "Address:": "Address: {{ address_lines[0] }}",
        }
    )(acceptance)
    acceptance.save(str(templates / "acceptance.docx"))
    # (an address line that starts like a label is an address line all the same)
    record = dataclasses.replace(
        read_grants(SAMPLE).records[0], participant=participant, address=("Name: Bob", "Apt. 4")
    )
    check = DeviationCheck(FORM)
    values = blank_values(record, PLAN)
    for folder in (TEMPLATES, templates):
        rendered = TemplateSet(folder).render_grant_parts(record, PLAN)
        assert check.check(rendered.body, values, participant) == []
    written = markupsafe.escape(f"PARTICIPANT: {participant.upper()}")
    assert f"Dated: {values['grant_date']}" in rendered.body and written in rendered.body


def test_the_cache_does_not_pass_a_swapped_signature_value(tmp_path: Path) -> None:
    # the first grant's participant is the signing officer: the Company's "Name:" line holding
    # the participant's name is right for it, and wrong for the next grant
    templates = edit_templates(
        tmp_path,
        "nso_agreement.docx",
        edit_cells(**{"Name: {{ officer.name }}": "Name: {{ participant }}"}),
    )
    records = read_grants(SAMPLE).records
    first = dataclasses.replace(records[0], participant=PLAN.company.officer.name)
    check = DeviationCheck(FORM)
    found = []
    for record in (first, records[1]):
        rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
        found.append(check.check(rendered.body, blank_values(record, PLAN), record.participant))
    assert found[0] == []
    assert records[1].participant in " ".join(d.rendered or "" for d in found[1])


def test_a_sentence_after_the_address_lines_is_found(tmp_path: Path) -> None:
    waiver = "The Participant waives all rights under Section 8 of the Plan."

    def edit(document: docx.document.Document) -> None:
        cells = [c for t in document.tables for row in t.rows for c in row.cells]
        (cell,) = [c for c in cells if any(p.text.startswith("Address:") for p in c.paragraphs)]
        cell.add_paragraph(waiver)

    templates = edit_templates(tmp_path, "acceptance.docx", edit)
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    found = DeviationCheck(FORM).check(
        rendered.body, blank_values(record, PLAN), record.participant
    )
    assert [(d.kind, d.part, d.rendered) for d in found] == [("added", "acceptance", waiver)]


@pytest.mark.parametrize(
    ("name", "where", "text"),
    [
        ("nso_agreement.docx", "footer", "This option is void if the Participant competes."),
        ("nso_agreement.docx", "header", "CONFIDENTIAL"),
    ],
)
def test_text_added_to_a_header_or_footer_is_found(
    tmp_path: Path, name: str, where: str, text: str
) -> None:
    def edit(document: docx.document.Document) -> None:
        section = document.sections[0]
        (section.footer if where == "footer" else section.header).add_paragraph(text)

    templates = edit_templates(tmp_path, name, edit)
    record = read_grants(SAMPLE).records[0]
    for draft in (False, True):
        rendered = TemplateSet(templates).render_grant_parts(record, PLAN, draft=draft)
        found = DeviationCheck(FORM).check(
            rendered.body,
            blank_values(record, PLAN),
            record.participant,
            margins=list(rendered.parts.values()),
            grant_id=record.grant_id,
        )
        assert [(d.kind, d.part, d.rendered) for d in found] == [("added", where, text)]
    for participant, path in _render(templates, tmp_path):
        assert [(d.kind, d.part, d.rendered) for d in find_deviations(path, FORM)] == [
            ("added", where, text)
        ]
        assert len(find_deviations(path, FORM, participant=participant)) == 1


def test_the_cache_does_not_pass_another_grants_name_in_a_footer(tmp_path: Path) -> None:
    first, other = read_grants(SAMPLE).records[0], read_grants(SAMPLE).records[4]
    typed = first.participant.upper()  # a name typed into the template: the first grant's

    def edit(document: docx.document.Document) -> None:
        document.sections[0].footer.add_paragraph(typed)

    templates = TemplateSet(edit_templates(tmp_path, "nso_agreement.docx", edit))
    check = DeviationCheck(FORM)  # one checker for the batch, as generate uses it
    found = []
    for record in (first, other):
        rendered = templates.render_grant_parts(record, PLAN)
        found.append(
            check.check(
                rendered.body,
                blank_values(record, PLAN),
                record.participant,
                margins=list(rendered.parts.values()),
                grant_id=record.grant_id,
            )
        )
    assert found[0] == []  # the first grant's own name
    assert [(d.part, d.rendered) for d in found[1]] == [("footer", typed)]


@pytest.mark.parametrize(
    "participant",
    ["Zoë O'Brien & Sons <Ltd>", "STRASSE Straße Ǆemal", "Ahmet İnce", "Al"],
)
def test_the_cache_key_masks_each_value_as_a_case_blind_search_would(participant: str) -> None:
    # the fast masking (lower-case, find) must mask what a case-insensitive regex over the
    # rendered XML masks, longest value first; a value inside a longer one is not masked there
    record = dataclasses.replace(read_grants(SAMPLE).records[0], participant=participant)
    rendered = TemplateSet(templates_dir()).render_grant_parts(record, PLAN)
    values = dict(blank_values(record, PLAN), grant_id=record.grant_id)
    xml = rendered.body + "".join(
        map(markupsafe.escape, (participant.upper(), participant.lower()))
    )
    expected = xml
    for role, value in sorted(values.items(), key=lambda kv: -len(kv[1])):
        written = re.escape(str(markupsafe.escape(value)))
        expected = re.sub(written, f"\x00{role}\x00", expected, flags=re.IGNORECASE)
    masked = _masked(xml, values)
    assert masked == expected
    assert participant not in masked and "\x00participant\x00" in masked


def test_a_header_holding_the_grants_own_values_is_no_deviation(tmp_path: Path) -> None:
    def edit(document: docx.document.Document) -> None:
        document.sections[0].header.add_paragraph("{{ company.name }}")
        document.sections[0].footer.add_paragraph("Page {{ 3 }} of 4")

    templates = edit_templates(tmp_path, "nso_agreement.docx", edit)
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    assert PLAN.company.name.encode() in b"".join(rendered.parts.values())
    found = DeviationCheck(FORM).check(
        rendered.body,
        blank_values(record, PLAN),
        record.participant,
        margins=list(rendered.parts.values()),
        grant_id=record.grant_id,
    )
    assert found == []
    other = dataclasses.replace(record, grant_id="OTHER-1")  # the running header names its grant
    found = DeviationCheck(FORM).check(
        rendered.body,
        blank_values(other, PLAN),
        other.participant,
        margins=list(rendered.parts.values()),
        grant_id=other.grant_id,
    )
    assert [(d.part, d.rendered) for d in found] == [
        ("header", f"Grant {record.grant_id} \u00b7 {record.participant}")
    ]


def test_margin_text_beside_a_text_box_and_marks_out_of_place_are_found() -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    footer = (
        f'<w:ftr xmlns:w="{w}"><w:p><w:r><w:t>This option is void.</w:t></w:r><w:r><w:pict>'
        "<w:txbxContent><w:p/></w:txbxContent></w:pict></w:r></w:p>"
        "<w:p><w:r><w:t>- 2 -</w:t></w:r></w:p><w:p><w:r><w:t>2013</w:t></w:r></w:p>"
        f"<w:p><w:r><w:t>{DRAFT_MARK}</w:t></w:r></w:p></w:ftr>"
    ).encode()
    found = [d.rendered for d in margin_deviations([footer], set(), draft=False)]
    assert found == ["This option is void.", "2013", DRAFT_MARK]  # a final batch
    drafts = [d.rendered for d in margin_deviations([footer], set(), draft=True)]
    assert drafts == ["This option is void.", "2013"]


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
#: Styles that hide text or print it, for the hidden-text tests: (type, id, basedOn, rPr).
HIDING_STYLES = [
    ("character", "Secret", None, "<w:vanish/>"),
    ("character", "SecretToo", "Secret", ""),  # hidden by the style it is based on
    ("character", "Unsecret", "Secret", '<w:vanish w:val="0"/>'),  # based on it, but shown
    ("paragraph", "SecretPara", "Normal", "<w:vanish/>"),
]
#: Paragraphs added to the agreement: (its text, pStyle, its pPr/rPr, rStyle, its own rPr
#: vanish), and whether LibreOffice prints it.
HIDDEN_CASES = [
    ("Hidden by a character style.", None, "", "Secret", "", False),
    ("Hidden by a style based on a hidden one.", None, "", "SecretToo", "", False),
    ("Hidden by a paragraph style.", "SecretPara", "", None, "", False),
    ("Hidden directly, as before.", None, "", None, "<w:vanish/>", False),
    ("Shown over a hidden paragraph style.", "SecretPara", "", None, '<w:vanish w:val="0"/>', True),
    ("Shown over a hidden character style.", None, "", "Secret", '<w:vanish w:val="false"/>', True),
    ("Shown by a style that shows what its base hides.", None, "", "Unsecret", "", True),
    ("Shown beside a hidden paragraph mark.", None, "<w:vanish/>", None, "", True),
    ("Shown where a paragraph style says shown.", "SecretPara", "", "Unsecret", "", True),
]
#: Hidden by LibreOffice, printed by Word (vanish toggles: two hiding styles cancel out).
WORD_PRINTS = ("Printed by Word: two hiding styles cancel.", "SecretPara", "", "Secret", "", False)


def hiding_styles(document: docx.document.Document, cases: list[tuple[str, ...]]) -> None:
    """Add :data:`HIDING_STYLES` to the template's style table and a paragraph per case at
    the end of its body."""
    from docx.oxml import parse_xml

    for kind, sid, based, props in HIDING_STYLES:
        base = f'<w:basedOn w:val="{based}"/>' if based else ""
        document.styles.element.append(
            parse_xml(
                f'<w:style {W_NS} w:type="{kind}" w:customStyle="1" w:styleId="{sid}">'
                f'<w:name w:val="{sid}"/>{base}<w:rPr>{props}</w:rPr></w:style>'
            )
        )
    for text, pstyle, mark, rstyle, own, *_ in cases:
        ppr = f'<w:pStyle w:val="{pstyle}"/>' if pstyle else ""
        ppr += f"<w:rPr>{mark}</w:rPr>" if mark else ""
        rpr = (f'<w:rStyle w:val="{rstyle}"/>' if rstyle else "") + own
        paragraph = document.add_paragraph()._p
        paragraph.append(parse_xml(f"<w:pPr {W_NS}>{ppr}</w:pPr>" if ppr else f"<w:pPr {W_NS}/>"))
        paragraph.append(parse_xml(f"<w:r {W_NS}><w:rPr>{rpr}</w:rPr><w:t>{text}</w:t></w:r>"))


def test_text_hidden_by_a_style_is_not_printed_and_no_deviation(
    tmp_path: Path, soffice: str
) -> None:
    cases = [*HIDDEN_CASES, WORD_PRINTS]
    templates = edit_templates(
        tmp_path, "nso_agreement.docx", lambda document: hiding_styles(document, cases)
    )
    record = read_grants(SAMPLE).records[0]
    rendered = TemplateSet(templates).render_grant_parts(record, PLAN)
    path = tmp_path / "hidden.docx"
    path.write_bytes(rendered.docx)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    printed = " ".join(" ".join(page.split()) for page in pdf_text(tmp_path / "hidden.pdf"))
    for text, *_, shown in cases:
        assert (text in printed) == shown, text
    # what the deviation check reads as printed: what LibreOffice prints, and what Word
    # prints too (a hiding paragraph style and a hiding character style cancel out there)
    expected = [(text, shown) for text, *_, shown in HIDDEN_CASES if shown] + [
        (WORD_PRINTS[0], False)
    ]
    found = DeviationCheck(FORM).check(
        rendered.body,
        blank_values(record, PLAN),
        record.participant,
        styles=rendered.styles,
    )
    assert [(d.kind, d.rendered) for d in found] == [("added", t) for t, _ in expected]
    # a file read on its own (the review of an earlier batch) reads its own style table
    assert [d.rendered for d in find_deviations(path, FORM)] == [t for t, _ in expected]


def test_a_batch_with_text_hidden_by_styles_passes_strict(tmp_path: Path, soffice: str) -> None:
    cases = [c for c in HIDDEN_CASES if not c[-1]]

    def edit(document: docx.document.Document) -> None:
        hiding_styles(document, cases)
        run = document.sections[0].footer.add_paragraph().add_run("Void where prohibited.")
        run.style = document.styles["Secret"]  # hidden in a footer too

    templates = edit_templates(tmp_path, "nso_agreement.docx", edit)
    grants = write_csv(tmp_path / "g.csv", [grant()])
    result = generate(
        GenerateOptions(
            grants=grants, out=tmp_path / "out", prices=PRICES, templates=templates, strict=True
        )
    )
    assert not result.errors, result.errors
    assert result.review is not None and result.review.deviation_count == 0
    (doc,) = result.documents
    printed = " ".join(pdf_text(tmp_path / "out" / doc.pdf))
    assert [t for t, *_ in cases if t in printed] == []
    assert "Void where prohibited." not in printed


def test_hidden_text_where_word_and_libreoffice_may_differ_counts_as_printed() -> None:
    from docx.oxml import parse_xml

    from generator.rendering.hidden import HiddenText

    def styles(extra: str = "", defaults: str = "") -> bytes:
        return (
            f"<w:styles {W_NS}><w:docDefaults><w:rPrDefault><w:rPr>{defaults}</w:rPr>"
            '</w:rPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" '
            'w:styleId="Normal"/><w:style w:type="character" w:styleId="Secret"><w:rPr>'
            '<w:vanish/></w:rPr></w:style><w:style w:type="character" w:styleId="Loop">'
            '<w:basedOn w:val="Loop2"/></w:style><w:style w:type="character" '
            f'w:styleId="Loop2"><w:basedOn w:val="Loop"/></w:style>{extra}</w:styles>'
        ).encode()

    def run(props: str) -> object:
        return parse_xml(f"<w:p {W_NS}><w:r><w:rPr>{props}</w:rPr><w:t>x</w:t></w:r></w:p>")[0]

    secret, direct = run('<w:rStyle w:val="Secret"/>'), run("<w:vanish/>")
    loop = run('<w:rStyle w:val="Loop"/>')
    assert HiddenText(styles())(secret) and HiddenText(styles())(direct)
    assert not HiddenText(styles())(loop)  # a basedOn loop ends
    table = '<w:style w:type="table" w:styleId="T"><w:rPr><w:vanish/></w:rPr></w:style>'
    for unsure in (
        styles(defaults="<w:vanish/>"),  # Word hides all text, LibreOffice none
        styles(extra=table),  # how a table style's vanish combines is not modelled
        b"<w:styles",  # no style table read
        None,
    ):
        assert not HiddenText(unsure)(secret), unsure  # compared: it may well print
        assert HiddenText(unsure)(direct)  # a run's own formatting decides everywhere


def test_a_footnote_is_added_text() -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xml = (
        f'<w:footnotes xmlns:w="{w}"><w:footnote w:type="separator" w:id="-1"><w:p><w:r>'
        '<w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r>'
        "<w:t>Void where prohibited.</w:t></w:r></w:p></w:footnote></w:footnotes>"
    ).encode()
    assert [(d.kind, d.part, d.rendered) for d in margin_deviations([xml], set())] == [
        ("added", "footnote", "Void where prohibited.")
    ]


def test_an_edited_plan_copy_is_found_word_by_word(tmp_path: Path) -> None:
    def edit(document: docx.document.Document) -> None:
        replace_text("up to 800,000 shares", "up to 900,000 shares")(document)
        replace_text(
            " No Awards shall be granted under the Plan after December 31, 2013, but Awards "
            "previously granted may extend beyond that date.",
            "",
        )(document)

    templates = edit_templates(tmp_path, "plan.docx", edit)
    assert plan_deviations(TemplateSet(TEMPLATES).render_plan(PLAN), FORM) == []
    found = plan_deviations(TemplateSet(templates).render_plan(PLAN), FORM)
    assert [(d.kind, d.part) for d in found] == [("changed", "plan"), ("removed", "plan")]
    changed, removed = found
    assert [d for d in changed.diff if d[0] in ("delete", "insert")] == [
        ("delete", "800,000"),
        ("insert", "900,000"),
    ]
    assert removed.form is not None and "December 31, 2013" in removed.form


def test_a_text_box_in_the_plan_copy_is_read_once(tmp_path: Path) -> None:
    copy = TemplateSet(TEMPLATES).render_plan(PLAN)
    box = (
        b"<w:r><w:pict><w:txbxContent><w:p><w:r><w:t>EXTRA</w:t></w:r></w:p>"
        b"</w:txbxContent></w:pict></w:r></w:p>"
    )
    edited = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(copy)) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:p>", box, 1)
            dst.writestr(item, data)
    (found,) = plan_deviations(edited.getvalue(), FORM)
    assert (found.kind, [d for d in found.diff if d[0] == "insert"]) == (
        "added",
        [("insert", "EXTRA")],
    )


def test_strict_refuses_a_batch_whose_plan_copy_was_edited(
    tmp_path: Path, converter: Converter
) -> None:
    templates = edit_templates(
        tmp_path, "plan.docx", replace_text("up to 800,000 shares", "up to 900,000 shares")
    )
    reviewed = run_review(SAMPLE, tmp_path / "out", converter, templates=templates)
    assert reviewed.result.review is not None
    deviations = reviewed.result.review.deviations  # as generate found them
    assert len(deviations) == 5
    assert all([d.part for d in v] == ["plan"] for v in deviations.values())
    with pytest.raises(DeviationError, match=r"5 deviation\(s\)"):
        enforce(deviations, strict=True, draft=False, accepted=False)


def test_an_acceptance_edit_is_found(tmp_path: Path) -> None:
    templates = edit_templates(
        tmp_path, "acceptance.docx", replace_text("hereby accepts", "hereby gratefully accepts")
    )
    for participant, path in _render(templates, tmp_path):
        (found,) = find_deviations(path, FORM, participant=participant)
        assert found.kind == "changed" and found.part == "acceptance"
        assert [d for d in found.diff if d[0] != "equal"] == [("insert", "gratefully")]


def test_strict_refuses_a_final_batch_from_an_edited_template(
    tmp_path: Path, converter: Converter
) -> None:
    templates = edit_templates(tmp_path, "nso_agreement.docx", twelve_years)
    reviewed = run_review(SAMPLE, tmp_path / "out", converter, templates=templates)
    deviations = batch_deviations(reviewed.batch, FORM)
    assert deviations == reviewed.review.deviations
    assert len(deviations) == 5 and all(len(v) == 1 for v in deviations.values())
    with pytest.raises(DeviationError, match=r"5 deviation\(s\) .* --accept-deviations"):
        enforce(deviations, strict=True, draft=False, accepted=False)
    enforce(deviations, strict=True, draft=False, accepted=True)  # approved
    enforce(deviations, strict=False, draft=False, accepted=False)  # not --strict
    enforce(deviations, strict=True, draft=True, accepted=False)  # drafts are for review
    html = reviewed.review.summary_html.read_text(encoding="utf-8")
    assert "<del>ten (10)</del> <ins>twelve (12)</ins>" in html
    assert 'id="no-deviations"' not in html
    assert "5 document(s): SAMPLE-2005-001, SAMPLE-2005-002" in html  # one entry for all
    # each grant's line says its agreement deviates, in every summary
    table = read_table(html, "grants")
    assert all("1 deviation(s) from the approved form" in row[-1] for row in table.rows[1:])
    lines = list(csv.reader(io.StringIO(reviewed.review.summary_csv.read_text("utf-8-sig"))))
    column = lines[0].index("deviations")
    assert [line[column] for line in lines[1:]] == ["1"] * 5
    sheet = openpyxl.load_workbook(reviewed.review.summary_xlsx)["Grants"]
    header = [c.value for c in sheet[1]]
    column = header.index("Deviations from the form")
    assert [r[column].value for r in sheet.iter_rows(min_row=2)] == [1] * 5


# --- the board consent -----------------------------------------------------------------------


def _expected_rows(grants: list[ReviewGrant]) -> list[list[str]]:
    return [
        [
            g.participant,
            g.grant_id,
            format_shares(g.shares),
            format_price(g.exercise_price),
            format_date(g.grant_date),
            format_date(g.final_exercise_date) if g.final_exercise_date else "",
        ]
        for g in grants
        if g.status == "generated"
    ]


def test_board_consent_lists_exactly_the_valid_grants(mixed: Reviewed) -> None:
    assert mixed.review.board_consent_docx and mixed.review.board_consent_pdf
    header, *rows = consent_rows(mixed.review.board_consent_docx)
    assert header == EXHIBIT_HEADING
    assert rows == _expected_rows(mixed.batch.grants)
    assert [r[0] for r in rows] == [HYPERLINK, ZOE, SCRIPT]
    reader = PdfReader(mixed.review.board_consent_pdf)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "ACTION BY UNANIMOUS WRITTEN CONSENT" in text
    assert "OF ART TECHNOLOGY GROUP, INC." in text
    assert squash("Amended and Restated 1999 Outside Director Stock Option Plan") in squash(text)
    for section in ("Section 5(a)", "Section 5(b)", "Section 5(c)"):
        assert section in text
    exhibit = squash(text[text.index("EXHIBIT A") :])
    for participant, grant_id, shares, price, day, expires in rows:
        assert squash(participant) in exhibit and squash(grant_id) in exhibit
        assert squash(f"{shares}") in exhibit and squash(day) in exhibit and price in exhibit
        assert expires and squash(expires) in exhibit
    for refused in ("+Plus Minus", "@Cmd Person"):
        assert squash(refused) not in squash(text)
    assert squash("3 options covering 23,500 shares") in exhibit
    # dated, and effective no earlier than the grants: a late signature cannot backdate them
    first = min(g.grant_date for g in mixed.batch.grants if g.status == "generated")
    assert squash(f"Dated {format_date(first)}") in squash(text)
    assert squash(f"It is effective on {format_date(first)} or, if the last director") in squash(
        text
    )
    assert squash("the grant date set forth there or, if later, the Effective Date") in squash(text)


def test_board_consent_of_the_sample_batch(sample: Reviewed) -> None:
    assert sample.review.board_consent_docx is not None
    _, *rows = consent_rows(sample.review.board_consent_docx)
    assert rows == _expected_rows(sample.batch.grants)
    assert len(rows) == len(sample.result.documents) == 5


@pytest.mark.parametrize("block", [200, 50])
def test_a_hundred_and_twenty_grants_break_across_pages_with_the_header_repeated(
    tmp_path: Path, converter: Converter, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """With the default block all rows are one table; with blocks of 50 (how a batch of
    thousands is laid out in reasonable time) three tables hold the same rows."""
    monkeypatch.setattr("generator.reviewing.consent.TABLE_BLOCK", block)
    grants = [
        ReviewGrant(
            row=i + 2,
            grant_id=f"BIG-{i:03d}",
            participant=f"Director Number {i:03d}",
            grant_date=date(2005, 5, 16),
            shares=1000 + i,
            exercise_price=Decimal("3.25"),
            price_source="close on grant date 2005-05-16",
            final_exercise_date=date(2015, 5, 16),
            status="generated",
            findings=[],
        )
        for i in range(120)
    ]
    batch = ReviewBatch(
        out=tmp_path / "big",
        plan=PLAN,
        grants=grants,
        reserve=800_000,
        available_before=800_000,
        available_after=800_000 - sum(g.shares for g in grants),
        draft=False,
    )
    review = write_review(batch, templates_dir=TEMPLATES, converter=converter, form_text=FORM)
    assert review.board_consent_docx and review.board_consent_pdf and not review.problems
    _, *rows = consent_rows(review.board_consent_docx)
    assert rows == _expected_rows(grants) and len(rows) == 120
    blocks = consent_tables(review.board_consent_docx)
    assert [len(b) - 1 for b in blocks] == ([120] if block == 200 else [50, 50, 20])
    exhibit_tables = [
        t
        for t in docx.Document(str(review.board_consent_docx)).tables
        if t.rows[0].cells[0].text == "Participant"
    ]
    for table in exhibit_tables:
        head_row = table.rows[0]
        assert head_row._tr.trPr is not None
        assert head_row._tr.trPr.find(qn("w:tblHeader")) is not None
        # a grid: single lines around and between the cells, the table's own (no table
        # style, which LibreOffice lays out ~30% slower), cells single-spaced
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        assert borders is not None
        sides = {el.tag.split("}")[1]: el.get(qn("w:val")) for el in borders}
        assert sides == dict.fromkeys(
            ("top", "left", "bottom", "right", "insideH", "insideV"), "single"
        )
        for row in table.rows:
            for cell in row.cells:
                assert cell.paragraphs[0].paragraph_format.line_spacing == 1.0

    pages = [p.extract_text() for p in PdfReader(review.board_consent_pdf).pages]
    first = next(i for i, t in enumerate(pages) if "EXHIBIT A" in t)
    exhibit = pages[first:]
    assert len(exhibit) >= 3, "120 rows fit on one page?"
    for page in exhibit:
        assert "Participant Grant Shares Exercise Price Grant Date Expires" in " ".join(
            page.split()
        )
    names = [n for page in exhibit for n in re.findall(r"Director Number (\d{3})", page)]
    assert names == [f"{i:03d}" for i in range(120)], "every grant once, in order"
    table = read_table(review.summary_html.read_text(encoding="utf-8"), "grants")
    assert len(table.rows) == 121
    assert review.packet_pdfs == []  # no packets were made for these


def test_a_draft_batch_is_reviewed_as_drafts(tmp_path: Path, converter: Converter) -> None:
    reviewed = run_review(SAMPLE, tmp_path / "out", converter, draft=True)
    assert {g.status for g in reviewed.batch.grants} == {"draft"}
    assert reviewed.review.deviation_count == 0
    assert reviewed.batch.available_after == 800_000 - 62_500  # what a final batch would leave
    assert reviewed.review.board_consent_pdf
    pages = [p.extract_text() for p in PdfReader(reviewed.review.board_consent_pdf).pages]
    assert all("DRAFT" in page for page in pages)
    # a folder of drafts only: the review has its usual names (.draft ones only beside a
    # final batch's review, see below)
    review = reviewed.review
    assert [p.name for p in review.packet_pdfs] == ["packet.pdf"]
    assert len(outline(PdfReader(review.packet_pdfs[0]))) == 5
    assert review.board_consent_pdf.name == "board_consent.pdf"
    assert {review.summary_html.name, review.summary_csv.name, review.summary_xlsx.name} == {
        "summary.html",
        "summary.csv",
        "summary.xlsx",
    }


def test_a_rerun_summary_says_which_shares_the_ledger_had_already(
    tmp_path: Path, soffice: str
) -> None:
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="S-1", shares="1,000")])
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    first = (out / "review" / "summary.html").read_text(encoding="utf-8")
    generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    again = (out / "review" / "summary.html").read_text(encoding="utf-8")
    label = "of which already in the ledger (not counted again)"
    assert label not in first and label in again
    # before and after agree: the grant was counted by the first run, not again
    assert re.search(r"Available before this batch</t[hd]>\s*<td[^>]*>799,000", again)
    assert re.search(r"Available after this batch</t[hd]>\s*<td[^>]*>799,000", again)


def _summary_rows(out: Path, name: str = "summary.csv") -> list[tuple[str, str]]:
    text = (out / "review" / name).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return [(r["grant_id"], r["status"]) for r in rows if r.get("status")]


@pytest.mark.parametrize(
    ("value", "hidden"),
    [
        (None, True),
        ("1", True),
        ("true", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("off", False),
        ("False", False),  # not an ST_OnOff value: LibreOffice prints the run
        ("none", False),
    ],
)
def test_only_a_vanish_surely_on_hides_a_run(value: str | None, hidden: bool) -> None:
    from docx.oxml import parse_xml

    from generator.rendering.hidden import HiddenText

    attribute = "" if value is None else f' w:val="{value}"'
    run = parse_xml(
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:rPr><w:vanish{attribute}/></w:rPr><w:t>PLUS 90,000 BONUS SHARES</w:t></w:r>"
    )
    assert HiddenText()(run) is hidden


def test_a_partial_rerun_takes_earlier_agreements_deviations_from_the_manifest(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier run's agreements (DOCX unchanged) are not compared with the form again:
    their deviations, recorded in the manifest, are listed (a folder of a thousand reruns one
    grant in seconds); an entry that records none, from an earlier grantgen, is compared."""
    import generator.reviewing.review

    templates = edit_templates(tmp_path, "nso_agreement.docx", twelve_years)
    rows = [grant(grant_id=f"D-{i}", participant=f"Director {i}") for i in (1, 2, 3)]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    full = GenerateOptions(
        grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger, templates=templates
    )
    generate(full)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    recorded = [d["deviations"] for d in manifest["documents"]]
    assert [len(r) for r in recorded] == [1, 1, 1] and recorded[0][0]["kind"] == "changed"
    del manifest["documents"][2]["deviations"]  # as an earlier grantgen wrote it
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    compared: list[str] = []
    real = generator.reviewing.review.find_deviations

    def counting(docx: Path, *args: Any, **kwargs: Any) -> list[Deviation]:
        compared.append(docx.name)
        return real(docx, *args, **kwargs)

    monkeypatch.setattr(generator.reviewing.review, "find_deviations", counting)
    again = generate(dataclasses.replace(full, read=ReadOptions(only=parse_rows("2"))))
    assert [d.grant_id for d in again.documents] == ["D-1"]
    assert compared == ["D-3.docx"]  # D-2 from its record, D-1 made now
    assert again.review is not None and again.review.deviation_count == 3
    html = (out / "review" / "summary.html").read_text(encoding="utf-8")
    assert "3 document(s): D-1, D-2, D-3" in html
    after = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    assert all(len(d["deviations"]) == 1 for d in after)  # D-3's is recorded now


def test_running_part_of_a_batch_again_keeps_the_review_of_the_whole_folder(
    tmp_path: Path, soffice: str
) -> None:
    """The review describes every final document the folder holds: one grant made again, or
    refused, leaves the summary, packet and Board consent of the whole batch."""
    names = ("Ann Lee", "Bob Roe", "Cy Diaz")
    rows = [grant(grant_id=f"P-{i}", participant=n) for i, n in enumerate(names, start=1)]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    full = GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger)
    generate(full)
    listed = json.loads((out / "manifest.json").read_text("utf-8"))["review"]["files"]

    def consent_names() -> list[str]:
        text = " ".join(
            p.extract_text() for p in PdfReader(out / "review" / "board_consent.pdf").pages
        )
        return [n for n in names if n in text]

    one = dataclasses.replace(full, read=ReadOptions(only=parse_rows("3")))
    again = generate(one)
    assert [d.grant_id for d in again.documents] == ["P-2"]
    assert _summary_rows(out) == [(f"P-{i}", "generated") for i in (1, 2, 3)]
    assert consent_names() == list(names)
    assert [t for t, _ in outline(PdfReader(out / "review" / "packet.pdf"))] == list(names)
    html = (out / "review" / "summary.html").read_text(encoding="utf-8")
    assert html.count("made by an earlier run from g.csv") == 2
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["review"]["files"] == listed
    assert [d["grant_id"] for d in manifest["documents"]] == ["P-1", "P-2", "P-3"]  # row order
    # refused (other content, no --force): the folder's documents are still all reviewed
    rows[1] = grant(grant_id="P-2", participant="Bob Roe", address="9 Elm Street")
    write_csv(tmp_path / "g.csv", rows)
    refused = generate(one)
    assert [e["rule"] for e in refused.errors] == ["overwrite"] and not refused.documents
    assert _summary_rows(out) == [
        ("P-1", "generated"),
        ("P-2", "refused"),
        ("P-2", "generated"),
        ("P-3", "generated"),
    ]
    assert consent_names() == list(names)
    assert [t for t, _ in outline(PdfReader(out / "review" / "packet.pdf"))] == list(names)
    # a document listed by an earlier grantgen, whose entry has no terms: named, not guessed
    data = json.loads((out / "manifest.json").read_text("utf-8"))
    for doc in data["documents"]:
        if doc["grant_id"] == "P-1":
            del doc["grant_date"], doc["shares"], doc["exercise_price"]
    (out / "manifest.json").write_text(json.dumps(data), "utf-8")
    forced = generate(dataclasses.replace(one, force=True))
    assert forced.review is not None and not forced.errors
    (problem,) = forced.review.problems
    assert problem.startswith("1 document(s) listed from an earlier run are not in the Board")
    assert consent_names() == ["Bob Roe", "Cy Diaz"]
    assert _summary_rows(out) == [(f"P-{i}", "generated") for i in (1, 2, 3)]


def test_drafts_first_then_the_final_batch_takes_the_usual_review_names(
    tmp_path: Path, soffice: str
) -> None:
    rows = [grant(grant_id="F-1", participant="Ann Lee")]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    final = GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger)
    generate(dataclasses.replace(final, draft=True))
    assert _summary_rows(out) == [("F-1", "draft")]  # review/summary.csv: a folder of drafts
    first = json.loads((out / "manifest.json").read_text("utf-8"))
    assert first["draft"] is True and "review/summary.html" in first["draft_review"]["files"]
    generate(final)
    assert _summary_rows(out) == [("F-1", "generated")]  # the final review replaced it
    assert not list((out / "review").glob("*.draft.*"))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["draft"] is False and "review/summary.html" in manifest["review"]["files"]
    assert "draft_review" not in manifest  # its files are the final review's now


def test_a_draft_run_never_replaces_the_final_review_nor_makes_the_folder_a_draft(
    tmp_path: Path, soffice: str
) -> None:
    rows = [
        grant(grant_id="F-1", participant="Ann Lee"),
        grant(grant_id="F-2", participant="Bob Roe"),
    ]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    final = GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger)
    generate(final)
    review = {p.name: p.read_bytes() for p in (out / "review").iterdir()}
    before = json.loads((out / "manifest.json").read_text("utf-8"))
    drafts = generate(
        dataclasses.replace(final, draft=True, read=ReadOptions(only=parse_rows("2")))
    )
    assert [d.pdf for d in drafts.documents] == ["F-1.draft.pdf"]
    now = {p.name: p.read_bytes() for p in (out / "review").iterdir()}
    assert {name: now[name] for name in review} == review  # the final review, untouched
    assert sorted(set(now) - set(review)) == [
        "board_consent.draft.docx",
        "board_consent.draft.pdf",
        "packet.draft.pdf",
        "summary.draft.csv",
        "summary.draft.html",
        "summary.draft.xlsx",
        "totals.draft.csv",
    ]
    assert _summary_rows(out, "summary.draft.csv") == [("F-1", "draft")]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["draft"] is False  # the folder holds final documents
    assert manifest["review"] == before["review"]
    assert "review/summary.draft.html" in manifest["draft_review"]["files"]
    # the final batch again: its review is made again, the drafts' stays listed
    generate(final)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["draft"] is False and manifest["review"] == before["review"]
    assert "review/summary.draft.html" in manifest["draft_review"]["files"]
    assert _summary_rows(out) == [("F-1", "generated"), ("F-2", "generated")]
    assert _summary_rows(out, "summary.draft.csv") == [("F-1", "draft")]
    for name in ("board_consent.pdf", "packet.pdf", "packet.draft.pdf"):
        assert (out / "review" / name).read_bytes() == now[name]
