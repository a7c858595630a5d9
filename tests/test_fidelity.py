"""Batching never changes a document: each grant's PDF pages out of a large batched conversion
are the document its own DOCX describes, converted on its own."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

from generator.converting.converter import Converter
from generator.pipeline import GenerateOptions, generate

from .conftest import PRICES, batch_document, grant, write_csv


def outline_pages(reader: PdfReader) -> dict[str, int]:
    return {item.title: reader.get_destination_page_number(item) for item in reader.outline}  # type: ignore[union-attr]


def test_batched_pdfs_match_one_by_one_conversions(tmp_path: Path, soffice: str) -> None:
    rows = []
    for i in range(14):
        name = f"Director {i}" + (" Bartholomew-Featherstonehaugh" * (i % 4) * 6)
        address = " / ".join(f"Line {k} of a long address" for k in range(i % 9 * 2))
        rows.append(
            grant(grant_id=f"F-{i:02d}", participant=name, address=address, shares=str(1000 + i))
        )
    out = tmp_path / "batch"
    result = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, prices=PRICES, jobs=2)
    )
    assert not result.errors and len(result.documents) == 14
    assert not [w for w in result.warnings if w.get("rule") == "convert"], result.warnings
    singles = tmp_path / "singles"
    docx = [out / d.docx for d in result.documents]
    with Converter(jobs=2) as conv:
        alone = {o.source.stem: o.pdf for o in conv.convert(docx, singles)}
    page_counts = set()
    for doc in result.documents:
        batched = PdfReader(out / doc.pdf)
        agreement_pages = outline_pages(batched)["Plan"]
        single_pdf = alone[Path(doc.docx).stem]
        assert single_pdf is not None
        single = PdfReader(single_pdf)
        assert agreement_pages == len(single.pages), doc.grant_id
        page_counts.add(agreement_pages)
        for n in range(agreement_pages):
            a = batched.pages[n].extract_text()
            b = single.pages[n].extract_text()
            assert a == b, f"{doc.grant_id} page {n + 1} differs"
            assert re.search(rf"(?m)^\s*-{n + 1}-\s*$", a), f"{doc.grant_id}: page number {n + 1}"
        # the fields sit where the single conversion has the signature lines
        assert set(batched.get_fields() or {}) == {
            "company_signature",
            "participant_signature",
            "company_date",  # the "Dated:" line beside the Company's signature
        }
    assert len(page_counts) > 1, "the test grants should differ in length"


def _converted_chunk(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[Path, int]:
    """The rows' agreements in one batch DOCX, converted by LibreOffice: the PDF."""
    chunk, count = batch_document(tmp_path, rows)
    with Converter(jobs=1) as conv:
        outcome = conv.submit(chunk, tmp_path / "pdf").result()
    assert outcome.pdf is not None, outcome.error
    return outcome.pdf, count


def test_the_pages_the_batch_marks_give_the_fields_reading_every_page_gives(
    tmp_path: Path, soffice: str
) -> None:
    """The bookmarks on the signature labels and the acceptance title say which page each
    came out on; the signature fields found from there are those found reading every page,
    and the first page (which has neither) is not read. A label that the values repeat (a
    participant called "By:", an address line "PARTICIPANT:") gets no mark: its field is
    found by reading every page, as without the marks."""
    import pypdfium2 as pdfium

    from generator.assembling.fieldplace import ACCEPTANCE_TITLE, LazyPages, PageText, find_fields
    from generator.converting.batchpdf import split_marked

    rows = [
        grant(grant_id="M-1", participant="Ann Lee"),
        grant(grant_id="M-2", participant="By:"),
        grant(grant_id="M-3", participant="Bo Ng", address="PARTICIPANT: / 1 Main St"),
        grant(grant_id="M-4", participant="Cy Oh " + "Featherstonehaugh-Bartholomew " * 12),
    ]
    pdf, count = _converted_chunk(tmp_path, rows)
    marked = split_marked(pdf, count)
    text = pdfium.PdfDocument(pdf)
    labels = {"By:", "PARTICIPANT:", ACCEPTANCE_TITLE}
    assert set(marked[0][1]) == labels
    assert "By:" not in marked[1][1] and set(marked[1][1]) == labels - {"By:"}
    assert "PARTICIPANT:" not in marked[2][1] and "By:" in marked[2][1]
    for span, marks in marked:
        every = [PageText(text[n]) for n in span]
        lazy = LazyPages(text, span)
        assert find_fields(lazy, hints=marks) == find_fields(every)
        for label, page in marks.items():
            assert label in every[page].text  # the page the mark says shows the text
        if "By:" in marks:
            assert 0 not in lazy.numbers_read() and len(lazy.numbers_read()) < len(span)
        else:  # read from the first page on, as without marks
            assert 0 in lazy.numbers_read()
