"""End to end: the sample CSV to Word drafts and signature-ready PDFs, checked against the form."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from generator.pipeline import GenerateResult
from generator.terms.plan import load_plan

from .conftest import SAMPLE, pdf_text, pdftotext_words
from .formtext import acceptance_text, agreement_text, fill, normalise, plan_sentences, sentences

PLAN = load_plan()


def expected_values(row: dict[str, str]) -> dict[str, str]:
    """The blanks as the form should show them, worked out here from the raw CSV cell."""
    raw = row["grant_date"].strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y", "%B %d %Y"):
        try:
            day = datetime.strptime(raw, fmt).date()
            break
        except ValueError:
            continue
    else:  # pragma: no cover - the sample uses the forms above
        raise AssertionError(raw)
    price = Decimal(row["exercise_price"].replace("$", "").replace(",", "")).normalize()
    places = max(2, -price.as_tuple().exponent)  # type: ignore[operator]
    return {
        "grant_date": f"{day:%B} {day.day}, {day.year}",
        "participant": row["participant"].strip(),
        "shares": f"{int(row['shares'].replace(',', '')):,}",
        "price": f"${price:,.{places}f}",
    }


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def body_text(pages: list[str], header: str) -> str:
    """Page texts joined, without the running header and the -N- page numbers."""
    cleaned = []
    for page in pages:
        page = page.replace(header, " ")
        page = re.sub(r"(?m)^\s*-\d+-\s*$", " ", page)
        cleaned.append(page)
    return normalise(" ".join(cleaned))


def plan_start(reader: PdfReader) -> int:
    outline = {item.title: reader.get_destination_page_number(item) for item in reader.outline}  # type: ignore[union-attr]
    return outline["Plan"]


@pytest.fixture(scope="module")
def batch(sample_batch: GenerateResult) -> GenerateResult:
    assert not sample_batch.errors, sample_batch.errors
    assert len(sample_batch.documents) == len(sample_rows())
    return sample_batch


def documents(batch: GenerateResult) -> list[tuple[dict[str, str], Path, Path, str]]:
    rows = {r["grant_id"]: r for r in sample_rows()}
    out = []
    for doc in batch.documents:
        out.append((rows[doc.grant_id], batch.out / doc.pdf, batch.out / doc.docx, doc.grant_id))
    return out


def test_every_sentence_of_the_form_is_in_every_pdf_with_blanks_filled(
    batch: GenerateResult,
) -> None:
    for row, pdf, _, grant_id in documents(batch):
        values = expected_values(row)
        reader = PdfReader(pdf)
        pages = pdf_text(pdf)[: plan_start(reader)]
        text = body_text(pages, f"Grant {grant_id} \u00b7 {values['participant']}")
        expected = sentences(fill(agreement_text(), **values)) + sentences(acceptance_text())
        missing = [s for s in expected if s not in text]
        assert not missing, f"{pdf.name}: sentences of the form not found: {missing}"
        # the filled sentence itself, in one piece
        assert (
            f'on {values["grant_date"]} (the "Grant Date") to {values["participant"]}, a director'
            in text
        )
        assert f"a total of {values['shares']} shares" in text
        assert f"at {values['price']} per Share" in text
        assert f"Name: {values['participant']}" in text
        assert f"Name: {PLAN.company.officer.name}" in text


def test_no_template_syntax_or_empty_blank_remains(batch: GenerateResult) -> None:
    for _, pdf, docx_path, _ in documents(batch):
        everything = "\n".join(pdf_text(pdf))
        for token in ("{{", "}}", "{%", "%}", "[ ]", "[ , ____]"):
            assert token not in everything, f"{pdf.name} contains {token!r}"
        d = docx.Document(str(docx_path))
        xml = d.element.xml
        for token in ("{{", "{%"):
            assert token not in xml, f"{docx_path.name} contains {token!r}"


def test_the_plan_copy_follows_the_acceptance_page(batch: GenerateResult) -> None:
    for _, pdf, _, _ in documents(batch):
        reader = PdfReader(pdf)
        start = plan_start(reader)
        pages = pdf_text(pdf)
        assert "PARTICIPANT'S ACCEPTANCE" in pages[start - 1]
        plan = normalise(" ".join(re.sub(r"(?m)^\s*-\d+-\s*$", " ", p) for p in pages[start:]))
        missing = [s for s in plan_sentences() if s not in plan]
        assert not missing, f"{pdf.name}: plan sentences not found: {missing[:3]}"
        assert "AMENDMENT NO. 1" in plan
        assert "Approved by the Board of Directors February 3, 2005" in plan


def test_page_numbers_restart_for_agreement_and_plan(batch: GenerateResult) -> None:
    _, pdf, _, _ = documents(batch)[0]
    reader = PdfReader(pdf)
    start = plan_start(reader)
    pages = pdf_text(pdf)
    numbers = [re.findall(r"(?m)^\s*-(\d+)-\s*$", p) for p in pages]
    assert [n[-1] for n in numbers[:start]] == [str(i) for i in range(1, start + 1)]
    assert [n[-1] for n in numbers[start:]] == [str(i) for i in range(1, len(pages) - start + 1)]


def _line_below(
    words: list[tuple[str, float, float, float, float]], label: str
) -> tuple[float, ...]:
    lab = next(w for w in words if w[0] == label)
    lines = [w for w in words if set(w[0]) == {"_"} and abs(w[1] - lab[1]) < 5 and w[4] < lab[2]]
    line = max(lines, key=lambda w: w[4])
    return line[1:]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def test_signature_fields_sit_over_their_lines(batch: GenerateResult) -> None:
    for _, pdf, _, _ in documents(batch):
        reader = PdfReader(pdf)
        fields = reader.get_fields() or {}
        assert set(fields) == {"company_signature", "participant_signature", "company_date"}
        pages = pdf_text(pdf)
        where = {}
        for index, page in enumerate(reader.pages):
            for annot in page.get("/Annots") or []:
                a = annot.get_object()
                assert a["/FT"] == ("/Tx" if a["/T"] == "company_date" else "/Sig")
                where[a["/T"]] = (index, tuple(float(v) for v in a["/Rect"]))
        company_page, company_rect = where["company_signature"]
        participant_page, participant_rect = where["participant_signature"]
        assert "IN WITNESS WHEREOF" in pages[company_page] or "By:" in pages[company_page]
        assert "PARTICIPANT'S ACCEPTANCE" in pages[participant_page]
        assert company_page < participant_page < plan_start(reader)
        line = _line_below(pdftotext_words(pdf, company_page + 1), "By:")
        assert _overlap(company_rect, line) > 0.8 * (line[2] - line[0]) * (line[3] - line[1]) * 0.3
        assert company_rect[0] <= line[0] + 1 and company_rect[2] >= line[2] - 1
        line = _line_below(pdftotext_words(pdf, participant_page + 1), "PARTICIPANT:")
        assert _overlap(participant_rect, line) > 0
        assert participant_rect[0] <= line[0] + 1 and participant_rect[2] >= line[2] - 1
        date_page, date_rect = where["company_date"]  # over the line under "Dated:"
        line = _line_below(pdftotext_words(pdf, date_page + 1), "Dated:")
        assert date_page == company_page and _overlap(date_rect, line) > 0


def test_pyhanko_sees_two_empty_signature_fields(batch: GenerateResult) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    _, pdf, _, _ = documents(batch)[0]
    with pdf.open("rb") as fh:
        fields = {name: value for name, value, _ in enumerate_sig_fields(PdfFileReader(fh))}
    assert fields == {"company_signature": None, "participant_signature": None}


def test_metadata_and_bookmarks(batch: GenerateResult) -> None:
    for row, pdf, _, grant_id in documents(batch):
        reader = PdfReader(pdf)
        meta = reader.metadata
        assert meta is not None
        assert meta.title == f"Nonstatutory Stock Option Agreement: {row['participant'].strip()}"
        assert meta.author == PLAN.company.name
        assert grant_id in (meta.get("/Keywords") or "")
        assert meta.subject and PLAN.name in meta.subject
        titles = [item.title for item in reader.outline]  # type: ignore[union-attr]
        assert titles == ["Agreement", "Participant's Acceptance", "Plan"]
        acceptance = reader.get_destination_page_number(reader.outline[1])  # type: ignore[arg-type]
        assert "PARTICIPANT'S ACCEPTANCE" in (reader.pages[acceptance].extract_text() or "")


def test_fonts_are_embedded(batch: GenerateResult) -> None:
    _, pdf, _, _ = documents(batch)[0]
    reader = PdfReader(pdf)
    seen = 0
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font") or {}
        for font in fonts.values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            desc = desc.get_object()
            assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
            seen += 1
    assert seen > 0


def docx_text(path: Path) -> tuple[str, str]:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            for cell in row.cells:
                parts += [p.text for p in cell.paragraphs]
    headers = [p.text for s in d.sections for p in s.header.paragraphs]
    return normalise("\n".join(parts)), normalise("\n".join(headers))


def test_docx_says_the_same_as_the_pdf(batch: GenerateResult) -> None:
    for row, _, docx_path, grant_id in documents(batch):
        values = expected_values(row)
        text, header = docx_text(docx_path)
        expected = sentences(fill(agreement_text(), **values)) + sentences(acceptance_text())
        missing = [s for s in expected if s not in text]
        assert not missing, f"{docx_path.name}: {missing}"
        assert header == f"Grant {grant_id} \u00b7 {values['participant']}"
        core = docx.Document(str(docx_path)).core_properties
        assert core.title == f"Nonstatutory Stock Option Agreement: {values['participant']}"
        assert core.author == PLAN.company.name


def test_special_characters_come_out_exactly_everywhere(batch: GenerateResult) -> None:
    name = 'Zo\u00eb O\'Brien & Sons <Trust> "QA"'
    doc = next(d for d in batch.documents if d.participant == name)
    pdf, docx_path = batch.out / doc.pdf, batch.out / doc.docx
    pages = pdf_text(pdf)
    assert f"to {name}, a director" in normalise(pages[0])  # body
    assert f"Name: {name}" in pages[2]  # table cell on the acceptance page
    assert f"Grant {doc.grant_id} \u00b7 {name}" in pages[0]  # running header
    assert PdfReader(pdf).metadata.title.endswith(name)  # type: ignore[union-attr]
    text, header = docx_text(docx_path)
    assert f"to {name}, a director" in text and f"Name: {name}" in text
    assert header.endswith(name)


def test_address_lines_fill_the_acceptance_page_and_blank_lines_stay(batch: GenerateResult) -> None:
    by_id = {d.grant_id: d for d in batch.documents}
    three = pdf_text(batch.out / by_id["SAMPLE-2005-003"].pdf)[2]
    lines = [ln.strip() for ln in three.splitlines()]
    i = lines.index("Address:")
    assert lines[i + 1 : i + 5] == ["200 West Street", "Suite 400", "Waltham, MA 02451", "_" * 24]
    none = pdf_text(batch.out / by_id["SAMPLE-2005-002"].pdf)[2]
    lines = [ln.strip() for ln in none.splitlines()]
    i = lines.index("Address:")
    assert lines[i + 1 : i + 5] == ["_" * 24] * 4


def test_manifest_lists_every_file_with_its_hash(batch: GenerateResult) -> None:
    manifest = json.loads((batch.out / "manifest.json").read_text(encoding="utf-8"))
    rows = sample_rows()
    assert [d["grant_id"] for d in manifest["documents"]] == [r["grant_id"] for r in rows]
    assert [d["row"] for d in manifest["documents"]] == list(range(2, len(rows) + 2))
    assert manifest["errors"] == []
    for entry in manifest["documents"]:
        for kind in ("docx", "pdf"):
            data = (batch.out / entry[kind]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"][kind]
            assert not Path(entry[kind]).is_absolute()
    leftovers = [p.name for p in batch.out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "temporary files were left in the output folder"


def test_same_input_gives_identical_files(
    batch: GenerateResult, run_batch: object, tmp_path: Path
) -> None:
    from generator.pipeline import GenerateOptions, generate

    again = generate(GenerateOptions(grants=SAMPLE, out=tmp_path / "again"))
    for first, second in zip(batch.documents, again.documents, strict=True):
        assert first.sha256 == second.sha256
    for name in ("board_consent.pdf", "board_consent.docx", "packet.pdf"):
        assert (batch.out / "review" / name).read_bytes() == (
            tmp_path / "again" / "review" / name
        ).read_bytes(), name


def test_the_number_of_workers_does_not_change_the_files(tmp_path: Path, soffice: str) -> None:
    from generator.pipeline import GenerateOptions, generate

    runs = [
        generate(GenerateOptions(grants=SAMPLE, out=tmp_path / f"jobs{jobs}", jobs=jobs))
        for jobs in (1, 2)
    ]
    assert [d.sha256 for d in runs[0].documents] == [d.sha256 for d in runs[1].documents]


# --- how a batch is cut into LibreOffice documents -------------------------------------------


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8])
def test_a_batch_is_cut_into_even_chunks_with_halved_ends(cores: int) -> None:
    """Every grant in exactly one chunk, none over CHUNK; the chunks as even as can be, except
    that with more chunks than cores the first and each core's last are halved (the first
    reaches LibreOffice sooner, the workers finish together). The cut depends only on the
    count and the cores."""
    from generator.making.chunks import CHUNK, chunk_sizes

    assert chunk_sizes(0, cores) == []
    for total in [*range(1, 260), 999, 1000, 1001, 10_000]:
        sizes = chunk_sizes(total, cores)
        assert sum(sizes) == total and all(1 <= n <= CHUNK for n in sizes), (total, sizes)
        assert sizes == chunk_sizes(total, cores)
        whole = math.ceil(total / min(CHUNK, math.ceil(total / cores)))
        if whole <= cores:  # one chunk per core or fewer: nothing to even out
            assert len(sizes) == whole and max(sizes) - min(sizes) <= 1, (total, sizes)
            continue
        assert len(sizes) == whole + 1 + cores, (total, sizes)
        largest = math.ceil(total / whole)  # the even chunks: this size or one less
        middle = sizes[2 : -2 * cores]
        assert all(largest - 1 <= n <= largest for n in middle), (total, sizes)
        ends = sizes[:2] + sizes[-2 * cores :]
        assert max(ends) <= (largest + 1) // 2, (total, sizes)
    assert chunk_sizes(1000, 2) == [25, 25] + [50] * 17 + [25] * 4
