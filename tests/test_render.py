"""Rendering: strict, sandboxed, autoescaped; blanks formatted as the form writes them."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.checking.fields import format_date, format_price, format_shares
from generator.core.errors import TemplateError
from generator.core.resources import templates_dir
from generator.reading.grantrecord import GrantRecord
from generator.rendering.render import DocumentTemplate
from generator.rendering.templateset import TemplateSet
from generator.terms.plan import load_plan


def make_template(tmp_path: Path, text: str) -> Path:
    d = docx.Document()
    d.add_paragraph(text)
    path = tmp_path / "t.docx"
    d.save(str(path))
    return path


def rendered_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("3.25", "$3.25"),
        ("3.2500", "$3.25"),
        ("3", "$3.00"),
        ("3.125", "$3.125"),
        ("1234.5", "$1,234.50"),
        ("0.0001", "$0.0001"),
    ],
)
def test_price_has_two_decimals_at_least_and_never_rounds(value: str, text: str) -> None:
    assert format_price(Decimal(value)) == text


def test_date_and_shares_formats() -> None:
    assert format_date(date(2005, 5, 6)) == "May 6, 2005"
    assert format_shares(15000) == "15,000"
    assert format_shares(1234567) == "1,234,567"


def test_unknown_field_is_an_error_naming_field_and_template(tmp_path: Path) -> None:
    tpl = DocumentTemplate.from_file(make_template(tmp_path, "Dear {{ director_nickname }},"))
    with pytest.raises(TemplateError) as err:
        tpl.render({"participant": "A"}, {})
    assert err.value.field == "director_nickname"
    assert "t.docx" in str(err.value) and "director_nickname" in str(err.value)


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    tpl = DocumentTemplate.from_file(make_template(tmp_path, "{{ participant.__class__.__mro__ }}"))
    with pytest.raises(TemplateError, match="unsafe"):
        tpl.render({"participant": "A"}, {})


def test_syntax_error_is_refused_when_the_template_is_loaded(tmp_path: Path) -> None:
    path = make_template(tmp_path, "Grant to {{ participant ")
    with pytest.raises(TemplateError, match=r"t\.docx.*syntax error.*Grant to"):
        DocumentTemplate.from_file(path)


NASTY = 'Zoë O\'Brien & Sons <Trust> "QA"'


def test_special_characters_are_escaped_into_word_xml_and_read_back_exactly(tmp_path: Path) -> None:
    tpl = DocumentTemplate.from_file(make_template(tmp_path, "to {{ participant }}, a director"))
    out = tpl.render({"participant": NASTY}, {})
    assert rendered_text(out) == f"to {NASTY}, a director"
    xml = zipfile.ZipFile(io.BytesIO(out)).read("word/document.xml").decode()
    assert "&amp; Sons &lt;Trust&gt;" in xml


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"
        ),
        min_size=1,
        max_size=120,
    )
)
def test_any_printable_value_round_trips_into_the_docx(value: str) -> None:
    tpl = _ROUND_TRIP
    assert rendered_text(tpl.render({"participant": value}, {})) == f"[{value}]"


def _round_trip_template() -> DocumentTemplate:
    d = docx.Document()
    d.add_paragraph("[{{ participant }}]")
    buf = io.BytesIO()
    d.save(buf)
    return DocumentTemplate("round-trip.docx", buf.getvalue())


_ROUND_TRIP = _round_trip_template()


def test_rendering_is_deterministic() -> None:
    ts = TemplateSet(templates_dir())
    rec = GrantRecord(2, "G-1", "Ann Lee", date(2005, 5, 16), 1000, Decimal("3.25"))
    plan = load_plan()
    assert ts.render_grant(rec, plan) == ts.render_grant(rec, plan)


def test_bundled_templates_fill_every_blank() -> None:
    ts = TemplateSet(templates_dir())
    rec = GrantRecord(
        2, "G-1", "Ann Lee", date(2005, 5, 6), 1500, Decimal("3.2500"), ("1 Main St",)
    )
    text = rendered_text(ts.render_grant(rec, load_plan()))
    assert 'on May 6, 2005 (the "Grant Date") to Ann Lee, a director' in text
    assert "a total of 1,500 shares" in text and "at $3.25 per Share" in text
    assert "{{" not in text and "{%" not in text


def test_a_batch_document_holds_each_agreement_whole_in_its_own_sections() -> None:
    """combine(): every agreement's paragraphs, in order, each starting with its bookmark and
    ending its own section; namespace declarations written once, not on every paragraph."""
    from generator.converting.batchdoc import LANDMARKS, combine, landmark_marker, marker

    templates = TemplateSet(templates_dir())
    plan = load_plan()
    names = ["Ann Lee", 'Zoë O\'Brien & Sons <Trust> "QA"', "Li Wei"]
    docs = [
        templates.render_grant_parts(
            GrantRecord(n + 2, f"G-{n}", name, date(2005, 5, 16), 1000 + n, Decimal("3.25")),
            plan,
        )
        for n, name in enumerate(names)
    ]
    combined = combine(templates.agreement.prepared(False), docs)
    with zipfile.ZipFile(io.BytesIO(combined)) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    assert xml.count('xmlns:w14="') == 1
    whole = docx.Document(io.BytesIO(combined))
    alone = [docx.Document(io.BytesIO(d.docx)) for d in docs]
    expected = [p.text for d in alone for p in d.paragraphs]
    got = [p.text for p in whole.paragraphs]
    assert [t for t in got if t] == [t for t in expected if t]
    assert len(got) - len(expected) <= len(docs) - 1, "only a section-break paragraph between"
    assert len(whole.sections) == sum(len(d.sections) for d in alone)
    body = whole.element.body
    starts = [
        b.get(docx.oxml.ns.qn("w:name")) for b in body.iter(docx.oxml.ns.qn("w:bookmarkStart"))
    ]
    assert [m for m in starts if re.fullmatch(r"grantgen\d{6}", m)] == [marker(i) for i in range(3)]
    # and one on each document's signature labels and acceptance title (see split_marked)
    assert sorted(m for m in starts if "l" in m) == [
        landmark_marker(i, n) for i in range(3) for n in range(len(LANDMARKS))
    ]


def test_batch_pieces_made_on_the_text_are_those_the_tree_makes() -> None:
    """combine() edits each agreement's body as text (bookmarks, header references, section
    breaks) and leaves unusual bodies to lxml; both give the same elements, for the real
    agreement and for bodies built to reach every branch."""
    from dataclasses import replace

    from lxml import etree

    from generator.converting.batchdoc import W, _fast_piece, _piece

    templates = TemplateSet(templates_dir())
    plan = load_plan()
    prep = templates.agreement.prepared(False)
    real = templates.render_grant_parts(
        GrantRecord(2, "G-1", "Ann Lee", date(2005, 5, 16), 1000, Decimal("3.25")), plan
    )
    by_name = templates.render_grant_parts(
        GrantRecord(3, "G-2", "By:", date(2005, 5, 16), 1000, Decimal("3.25")), plan
    )
    opening = real.body[: real.body.index(">") + 1]
    sect = (
        '<w:sectPr><w:headerReference w:type="default" r:id="rId9"/><w:type w:val="continuous"/>'
        '<w:pgSz w:w="12240" w:h="15840"/><w:pgNumType w:fmt="lowerRoman"/><w:cols w:space="720"/>'
        "</w:sectPr>"
    )
    para = '<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:t>By:</w:t></w:r></w:p>'
    bodies = {
        "no properties first": "<w:p><w:r><w:t>First</w:t></w:r></w:p>" + para + sect,
        "empty first paragraph": '<w:p w:rsidR="1"/>' + para + sect,
        "table last": para + "<w:tbl><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>" + sect,
        "empty last paragraph": para + '<w:p w:rsidR="2"/>' + sect,
        "empty properties last": para + "<w:p><w:pPr/><w:r><w:t>x</w:t></w:r></w:p>" + sect,
        "no section": para + "<w:p><w:r><w:t>x &amp; y</w:t></w:r></w:p>",
        "empty section": para + "<w:sectPr/>",
        "two sections": "<w:p><w:pPr>"
        + sect
        + "</w:pPr></w:p>"
        + para
        + sect.replace("<w:pgNumType", '<w:pgNumType w:start="3"'),
        "no paragraph": "<w:tbl><w:tr><w:tc><w:tcPr/></w:tc></w:tr></w:tbl>" + sect,
    }
    docs = [real, by_name] + [
        replace(real, body=opening + children + "</w:body>") for children in bodies.values()
    ]

    def canonical(piece: str) -> bytes:
        whole = (prep.head + f'<w:body xmlns:w="{W}">' + piece + "</w:body>" + prep.tail).encode()
        return etree.tostring(etree.fromstring(whole), method="c14n")

    remap = {"rId9": "rIdGg1n1", "rId10": "rIdGg1n0"}
    for n, doc in enumerate(docs):
        for last in (False, True):
            fast = _fast_piece(doc, n, last, remap, prep.head, "")
            assert fast is not None, n
            assert canonical(fast) == canonical(_piece(doc, n, last, remap, prep.head, "")), (
                n,
                last,
            )
    boxed = replace(real, body=opening + "<w:p><w:txbxContent/></w:p></w:body>")
    assert _fast_piece(boxed, 0, False, {}, prep.head, "") is None  # left to the tree
