"""Hostile and unusual input: a clear row/column error, or the value exactly in the documents."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import docx
import pikepdf
import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.pipeline import GenerateOptions, generate
from generator.reading.records import read_grants

from .conftest import grant, write_csv

CONTROL = [chr(c) for c in [*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("column", ["participant", "grant_id", "shares", "address"])
def test_control_characters_are_refused_in_every_column(
    tmp_path: Path, char: str, column: str
) -> None:
    value = {"participant": "Ann", "grant_id": "G-1", "shares": "100", "address": "1 Main"}[column]
    path = write_csv(tmp_path / "g.csv", [grant(**{column: value[:1] + char + value[1:]})])
    result = read_grants(path)
    assert not result.records
    assert [(e.row, e.column) for e in result.errors] == [(2, column)]
    assert f"U+{ord(char):04X}" in str(result.errors[0]) or column == "grant_id"


def test_tabs_and_newlines_only_where_allowed(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "g.csv",
        [
            grant(grant_id="A", address="1 Main St\n\tApt 2\r\nBoston"),
            grant(grant_id="B", participant="Ann\nLee"),
        ],
    )
    result = read_grants(path)
    assert [r.grant_id for r in result.records] == ["A"]
    assert result.records[0].address == ("1 Main St", "Apt 2", "Boston")
    assert [(e.row, e.column) for e in result.errors] == [(3, "participant")]


def test_rows_with_too_few_or_too_many_cells(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "participant,grant_date,shares,exercise_price\nAnn,2005-05-16,1\nBo,2005-05-16,1,1,extra\n",
        encoding="utf-8",
    )
    result = read_grants(path)
    assert not result.records
    assert [e.row for e in result.errors] == [2, 3]
    assert "3 cells but the header has 4" in str(result.errors[0])


SCRIPTS = {
    "latin": "Zoë Ångström-Øster Çelik",
    "cyrillic": "Дмитрий Шостакович",
    "greek": "Ωμέγα Αλφάδης",
    "cjk": "王小明 山田太郎",
    "korean": "김민준",
    "hebrew": "שרה כהן",
    "arabic": "محمد علي",
    # beyond U+FFFF: PDFium counts these as two characters, Python as one
    "supplementary": "𠮷田 太郎 😀",
}


def page_text(pdf: Path, upto: int | None = None) -> str:
    doc = pdfium.PdfDocument(pdf)
    pages = range(len(doc) if upto is None else upto)
    return "".join(doc[i].get_textpage().get_text_range() for i in pages)


def test_names_in_any_script_are_in_the_pdf_with_embedded_fonts(
    tmp_path: Path, soffice: str
) -> None:
    rows = [grant(grant_id=key.upper(), participant=name) for key, name in SCRIPTS.items()]
    result = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=tmp_path / "o")
    )
    assert not result.errors, result.errors
    for doc in result.documents:
        pdf = tmp_path / "o" / doc.pdf
        text = page_text(pdf, 3)
        missing = {c for c in doc.participant if not c.isspace() and c not in text}
        assert not missing, f"{doc.grant_id}: {missing}"
        with pikepdf.open(pdf) as p:
            for page in p.pages[:3]:
                for font in page.Resources.Font.values():
                    fonts = font.get("/DescendantFonts")
                    desc = (fonts[0] if fonts else font).FontDescriptor
                    assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                        doc.grant_id
                    )
        # and exactly as given in the DOCX for counsel
        words = docx.Document(str(tmp_path / "o" / doc.docx)).paragraphs
        assert any(f"to {doc.participant}, a director" in p.text for p in words)


def test_a_character_no_font_has_is_refused_naming_it(tmp_path: Path, soffice: str) -> None:
    rows = [
        grant(grant_id="PUA", participant="Ann \ue000 Lee"),
        grant(grant_id="OK", participant="Bo"),
    ]
    result = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=tmp_path / "o")
    )
    (error,) = result.errors
    assert (error["row"], error["column"], error["rule"]) == (2, "participant", "glyph")
    assert "U+E000" in error["message"]
    assert [d.grant_id for d in result.documents] == ["OK"]


def boxes(pdf: Path, page: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    doc = pdfium.PdfDocument(pdf)
    tp = doc[page].get_textpage()
    text = tp.get_text_range()
    return [(ch, tp.get_charbox(i)) for i, ch in enumerate(text) if not ch.isspace()]


def test_long_values_wrap_inside_the_page_and_clear_the_signature_fields(
    tmp_path: Path, soffice: str
) -> None:
    name = ("Maximilianus Alexander Featherstonehaugh-Cholmondeley " * 6)[:300].strip()
    address = " / ".join(f"Address line {i} of eight, Building {i}, Floor {i}" for i in range(1, 9))
    rows = [grant(grant_id="LONG", participant=name, address=address)]
    result = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=tmp_path / "o")
    )
    assert not result.errors, result.errors
    pdf = tmp_path / "o" / result.documents[0].pdf
    with pikepdf.open(pdf) as p:
        outline = {}
        with p.open_outline() as o:
            for item in o.root:
                outline[item.title] = item
        fields = []
        for number, page in enumerate(p.pages):
            for annot in page.get("/Annots") or []:
                fields.append((number, [float(v) for v in annot.Rect]))
        width, height = float(p.pages[0].MediaBox[2]), float(p.pages[0].MediaBox[3])
    flat = re.sub(r"\s+", "", page_text(pdf))
    assert re.sub(r"\s+", "", name) in flat
    for i in range(1, 9):
        assert f"Addressline{i}ofeight,Building{i},Floor{i}" in flat
    agreement_pages = len(pdfium.PdfDocument(pdf)) - 7
    for number in range(agreement_pages):
        for ch, (left, bottom, right, top) in boxes(pdf, number):
            assert left >= 0 and right <= width and bottom >= 0 and top <= height, (number, ch)
            for page, (x1, y1, x2, y2) in fields:
                if page == number and ch != "_":
                    inside = left < x2 - 1 and right > x1 + 1 and bottom < y2 - 1 and top > y1 + 1
                    assert not inside, f"{ch!r} on page {number + 1} lies under a signature field"


names = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Lo", "Nd", "Pd", "Po", "Ps", "Pe", "Sm", "Sc", "Zs"),
        max_codepoint=0xFFFF,
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() and not any(unicodedata.category(c) == "Zs" and c != " " for c in s))


@pytest.mark.soffice
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(names, min_size=6, max_size=6))
@example(batch=["0", "0", "0", "0", "0", "\ufe70"])  # an Arabic presentation form, reshaped
def test_any_name_round_trips_exactly_or_is_refused_with_row_and_column(
    tmp_path_factory: pytest.TempPathFactory, batch: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("rt")
    rows = [grant(grant_id=f"H-{i}", participant=name) for i, name in enumerate(batch)]
    result = generate(
        GenerateOptions(
            grants=write_csv(tmp / "g.csv", rows), out=tmp / "o", ledger=tmp / "l.sqlite"
        )
    )
    made = {d.row: d for d in result.documents}
    refused = {e["row"]: e for e in result.errors}
    for i, name in enumerate(batch):
        row = i + 2
        assert (row in made) != (row in refused), f"row {row} neither made nor refused"
        if row in refused:
            assert refused[row]["column"] == "participant", refused[row]
            continue
        doc = made[row]
        assert doc.participant == name.strip()
        body = "\n".join(
            p.text
            for p in docx.Document(io.BytesIO((tmp / "o" / doc.docx).read_bytes())).paragraphs
        )
        assert f"to {name.strip()}, a director" in body
        text = re.sub(r"\s+", " ", page_text(tmp / "o" / doc.pdf, 3))
        assert re.sub(r"\s+", " ", name.strip()) in text or set(name) - {" "} <= set(text)


def test_file_names_are_safe_and_unique() -> None:
    from generator.core.output import safe_stem

    used: set[str] = set()
    assert safe_stem("CON", used) == "CON_"
    assert safe_stem("con", used) == "con_-2"  # unique regardless of case
    assert safe_stem("G-1", used) == "G-1"
    assert safe_stem("g-1", used) == "g-1-2"
    assert safe_stem("../../etc/x", used) == "etc_x"
    long = safe_stem("a" * 300, used)
    assert len(long) <= 64 and "/" not in long


def test_duplicate_headers_are_refused(tmp_path: Path) -> None:
    from generator.core.errors import InputError

    path = tmp_path / "g.csv"
    path.write_text("participant,Director,grant_date,shares,exercise_price\n", encoding="utf-8")
    with pytest.raises(InputError, match="both mean 'participant'"):
        read_grants(path)


def test_a_mapping_file(tmp_path: Path) -> None:
    from generator.reading.columns import ReadOptions, parse_mapping

    mapping = tmp_path / "map.txt"
    mapping.write_text("# ours\nWho Gets It=participant\nWhen=grant_date\n", encoding="utf-8")
    path = tmp_path / "g.csv"
    path.write_text(
        "Who Gets It,When,shares,exercise_price\nAnn,2005-05-16,1,1\n", encoding="utf-8"
    )
    (rec,) = read_grants(path, ReadOptions(mapping=parse_mapping([str(mapping)]))).records
    assert (rec.participant, str(rec.grant_date)) == ("Ann", "2005-05-16")


def test_blank_pages_from_libreoffice_are_blamed_on_the_conversion(tmp_path: Path) -> None:
    import pikepdf
    import pypdfium2 as pdfium

    from generator.assembling.assemble import PacketInfo, assemble
    from generator.core.errors import AssembleError

    blank = pikepdf.new()
    for _ in range(3):
        blank.add_blank_page()
    blank.save(tmp_path / "blank.pdf")
    source = pikepdf.open(tmp_path / "blank.pdf")
    info = PacketInfo("t", "a", "s", "k")
    with pytest.raises(AssembleError, match="shows no text at all") as caught:
        assemble(
            source,
            range(3),
            pdfium.PdfDocument(tmp_path / "blank.pdf"),
            source,
            info,
            must_show="Ann Lee",
        )
    assert "U+" not in str(caught.value)  # not every letter of the name listed as missing
