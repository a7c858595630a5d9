"""Batching never changes a document: each grant's PDF pages out of a large batched conversion
are the document its own DOCX describes, converted on its own."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

from generator.convert import Converter
from generator.pipeline import GenerateOptions, generate

from .conftest import PRICES, grant, write_csv


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
        assert set(batched.get_fields() or {}) == {"company_signature", "participant_signature"}
    assert len(page_counts) > 1, "the test grants should differ in length"
