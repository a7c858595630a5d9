"""Approved forms of form kits (generator/approved.py): snapshots of templates and counsel's
own texts, compared with rendered documents sentence by sentence."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn

from generator.comparing.approved import ApprovedCheck, ApprovedForm, snapshot
from generator.comparing.deviations import Deviation
from generator.core.errors import ApprovedFormError
from generator.reading.grantrecord import GrantRecord
from generator.rendering.form import DRAFT_MARK
from generator.rendering.render import DocumentTemplate, Rendered, grant_context
from generator.terms.plan import bundled_plan

INTRO = (
    '{{ company.name }}, {{ company.a_state }} corporation (the "Company"), hereby grants to '
    "{{ participant }} an option to purchase {{ shares }} shares of its common stock at "
    "{{ exercise_price }} per share. The option is subject to the terms of the Plan."
)
EXERCISE = (
    "The Participant may exercise the vested part of this option by written notice to the "
    "Company. Any part of this option that has not vested when service ends is forfeited."
)
ACCEPT = (
    "By signing below, the Participant accepts this option on the terms of this Grant Notice "
    "and the Plan."
)
BODY = ("STOCK OPTION GRANT NOTICE", INTRO, EXERCISE, "@terms", ACCEPT, "@signatures", "@address")
TERMS = [
    ("Participant:", "{{ participant }}"),
    ("Grant Date:", "{{ grant_date }}"),
    ("Shares:", "{{ shares }}"),
    ("Exercise Price:", "{{ exercise_price }}"),
]
SIGNATURES = [
    ("{{ company.name|upper }}", "PARTICIPANT"),
    ("By: ______________", "______________"),
    ("Name: {{ officer.name }}", "Name: {{ participant }}"),
    ("Title: {{ officer.title }}", "Address:"),
]
PAGE = "@page"


def record(**changes: Any) -> GrantRecord:
    base = GrantRecord(
        row=2,
        grant_id="G-1",
        participant="Alex Example",
        grant_date=date(2005, 5, 16),
        shares=15000,
        exercise_price=Decimal("3.25"),
        address=("1 Sample Street", "Springfield, IL 62701"),
    )
    return replace(base, **changes)


def _page_field(paragraph: Any) -> None:
    """A PAGE field (its last result: 1), as Word writes one."""
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.text = text
            run._r.append(instr)
            continue
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)
        if kind == "separate":
            paragraph.add_run("1")


def _table(document: Any, rows: Sequence[tuple[str, str]]) -> None:
    table = document.add_table(rows=0, cols=2)
    for left, right in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = left, right


def make_docx(
    body: Sequence[str] = BODY,
    footer: Sequence[str] = (PAGE,),
    terms: Sequence[tuple[str, str]] = TERMS,
    signatures: Sequence[tuple[str, str]] = SIGNATURES,
) -> bytes:
    """A notice template: paragraphs, the terms and signature tables, the address loop."""
    document = Document()
    for text in body:
        if text == "@terms":
            _table(document, terms)
        elif text == "@signatures":
            _table(document, signatures)
        elif text == "@address":
            for line in ("{%p for line in address_lines %}", "{{ line }}", "{%p endfor %}"):
                document.add_paragraph(line)
        else:
            document.add_paragraph(text)
    section_footer = document.sections[0].footer
    section_footer.paragraphs[0].text = ""
    for i, text in enumerate(footer):
        paragraph = section_footer.paragraphs[0] if i == 0 else section_footer.add_paragraph()
        if text == PAGE:
            paragraph.add_run("Page ")
            _page_field(paragraph)
        else:
            paragraph.add_run(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def approve(tmp_path: Path, template: bytes, name: str = "notice", **kwargs: Any) -> ApprovedForm:
    """The template's snapshot, written as its approved form and read back."""
    text = snapshot(
        template,
        source=f"templates/{name}.docx",
        template_sha256=hashlib.sha256(template).hexdigest(),
        approved_on=kwargs.get("approved_on", "2026-12-06"),
        approved_by=kwargs.get("approved_by", "Jane Counsel"),
    )
    path = tmp_path / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    return ApprovedForm.load(path)


def render(
    template: bytes, grant: GrantRecord, *, draft: bool = False
) -> tuple[Rendered, dict[str, Any]]:
    context = grant_context(grant, bundled_plan())
    return DocumentTemplate("notice.docx", template).render_parts(context, {}, draft=draft), context


def deviations(
    check: ApprovedCheck, template: bytes, grant: GrantRecord | None = None, *, draft: bool = False
) -> list[Deviation]:
    grant = grant or record()
    rendered, context = render(template, grant, draft=draft)
    return check.check(
        rendered.body,
        context,
        margins=list(rendered.parts.values()),
        grant_id=grant.grant_id,
        styles=rendered.styles,
    )


def edited(old: str, new: str) -> bytes:
    """The notice template with ``old`` replaced by ``new`` in its paragraphs."""
    assert any(old in p for p in BODY)
    return make_docx([p.replace(old, new) for p in BODY])


def printed(rendered: Rendered) -> str:
    return "".join(parse_xml(rendered.body.encode("utf-8")).itertext())


# --- snapshots of templates ----------------------------------------------------------------


def test_untouched_template_has_no_deviation(tmp_path: Path) -> None:
    template = make_docx()
    form = approve(tmp_path, template)
    assert (
        "{{ participant }}" in form.paragraphs
        and "{%p for line in address_lines %}" in form.paragraphs
    )
    assert deviations(ApprovedCheck([form]), template) == []


def test_snapshot_header_fields_parse(tmp_path: Path) -> None:
    template = make_docx()
    form = approve(tmp_path, template)
    assert (form.approved_on, form.approved_by) == ("2026-12-06", "Jane Counsel")
    assert form.template_sha256 == hashlib.sha256(template).hexdigest()
    assert form.fields() == {
        "company",
        "participant",
        "shares",
        "exercise_price",
        "grant_date",
        "officer",
        "address_lines",
    }
    anonymous = approve(tmp_path, template, name="anonymous", approved_by=None)
    assert (anonymous.approved_on, anonymous.approved_by) == ("2026-12-06", None)
    counsel = tmp_path / "counsel.txt"
    counsel.write_text("STOCK OPTION GRANT NOTICE\n\nThe option is granted.\n", encoding="utf-8")
    plain = ApprovedForm.load(counsel)
    assert (plain.approved_on, plain.approved_by, plain.template_sha256) == (None, None, None)
    assert plain.paragraphs == ("STOCK OPTION GRANT NOTICE", "The option is granted.")


def test_one_word_changed_is_one_changed_deviation(tmp_path: Path) -> None:
    form = approve(tmp_path, make_docx())
    found = deviations(ApprovedCheck([form]), edited("written notice", "oral notice"))
    assert [d.kind for d in found] == ["changed"]
    assert ("delete", "written") in found[0].diff and ("insert", "oral") in found[0].diff
    assert found[0].part == "agreement"
    assert found[0].form is not None and "written notice" in found[0].form


def test_added_and_removed_sentences(tmp_path: Path) -> None:
    check = ApprovedCheck([approve(tmp_path, make_docx())])
    extra = "The Company may cancel this option at any time."
    added = deviations(check, edited(ACCEPT, f"{ACCEPT} {extra}"))
    assert [(d.kind, d.rendered) for d in added] == [("added", extra)]
    shorter = EXERCISE.split(" Any part")[0]
    removed = deviations(check, edited(EXERCISE, shorter))
    assert [d.kind for d in removed] == ["removed"]
    assert removed[0].form is not None and removed[0].form.startswith("Any part of this option")
    paragraph = deviations(check, make_docx([*BODY[:2], "I also give my house away.", *BODY[2:]]))
    assert [(d.kind, d.rendered) for d in paragraph] == [("added", "I also give my house away.")]


def test_hostile_values_come_out_exact(tmp_path: Path) -> None:
    check = ApprovedCheck([approve(tmp_path, make_docx())])
    names = [
        'O\'Brien & <Sons> "Ltd" Ångström Müller-Łukasiewicz',
        "Zoë " + "x" * 495,
        "A. B. C. Smith. Jr.",
    ]
    for name in names:
        grant = record(participant=name, address=('1 <Main> & "Co" St.', "Åre, Sweden"))
        rendered, _ = render(make_docx(), grant)
        assert name in printed(rendered) and '1 <Main> & "Co" St.' in printed(rendered)
        assert deviations(check, make_docx(), grant) == []


def test_a_value_changed_in_the_template_is_caught(tmp_path: Path) -> None:
    check = ApprovedCheck([approve(tmp_path, make_docx())])
    found = deviations(check, edited("{{ shares }} shares", "{{ shares }}0 shares"))
    assert [d.kind for d in found] == ["changed"]
    assert ("insert", "15,0000") in found[0].diff


# --- counsel's own texts -------------------------------------------------------------------

COUNSEL = """STOCK OPTION GRANT NOTICE

[Company Name], [●] corporation (the "Company"), hereby grants to [Participant Name] an
option to purchase [ ] shares of its common stock at $[ ] per share. The option is subject
to the terms of the Plan.

The Participant may exercise the vested part of this option by written notice to the Company.
Any part of this option that has not vested when service ends is forfeited.

Participant: [Participant Name]
Grant Date: [Date]
Shares: [•]
Exercise Price: $[____]

By signing below, the Participant accepts this option on the terms of this Grant Notice and
the Plan.

[COMPANY] PARTICIPANT
By: ____ ____
Name: [Officer] Name: [Participant Name]
Title: [Title] Address: [Address]

=== margins ===

Page [ ]
"""


def test_counsel_text_with_blanks_matches(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(COUNSEL, encoding="utf-8")
    check = ApprovedCheck([ApprovedForm.load(path)])
    assert deviations(check, make_docx()) == []
    three_lines = record(participant="Jane Q. Public", address=("1 Main", "Apt 2", "Springfield"))
    assert deviations(check, make_docx(), three_lines) == []


def test_a_currency_sign_spaced_from_its_blank_matches_the_value_beside_it(
    tmp_path: Path,
) -> None:
    """A filed form writes "$ [ ]" where the agreement prints "$3.25" (a real form's trial:
    every agreement had two deviations); the space is optional there, and only there."""
    path = tmp_path / "notice.txt"
    path.write_text(COUNSEL.replace("$[ ] per share", "$ [ ] per share"), encoding="utf-8")
    assert "$ [ ] per share" in path.read_text()
    check = ApprovedCheck([ApprovedForm.load(path)])
    assert deviations(check, make_docx()) == []
    spaced = COUNSEL.replace("option to purchase [ ] shares", "option to purchase[ ] shares")
    path.write_text(spaced, encoding="utf-8")  # a word's space is not optional
    found = deviations(ApprovedCheck([ApprovedForm.load(path)]), make_docx())
    assert [d.kind for d in found] == ["changed"]


def test_edit_beside_a_blank_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(COUNSEL, encoding="utf-8")
    check = ApprovedCheck([ApprovedForm.load(path)])
    found = deviations(check, edited("}} an option", "}} an irrevocable option"))
    assert [d.kind for d in found] == ["changed"]
    assert ("insert", "irrevocable") in found[0].diff
    assert found[0].rendered is not None and "Alex Example an irrevocable" in found[0].rendered
    assert any(op == "equal" and "Alex Example" in text for op, text in found[0].diff)


def test_docx_approved_form(tmp_path: Path) -> None:
    counsel = Document()
    paragraphs, margins = COUNSEL.split("=== margins ===")
    for block in paragraphs.strip().split("\n\n"):
        if block.startswith("Participant:"):
            rows = [line.split(": ", 1) for line in block.splitlines()]
            _table(counsel, [(f"{label}:", blank) for label, blank in rows])
        else:
            counsel.add_paragraph(" ".join(block.splitlines()))
    counsel.sections[0].footer.paragraphs[0].text = margins.strip()
    path = tmp_path / "notice.docx"
    counsel.save(str(path))
    form = ApprovedForm.load(path)
    assert form.margins == ("Page [ ]",) and form.paragraphs[0] == "STOCK OPTION GRANT NOTICE"
    check = ApprovedCheck([form])
    assert deviations(check, make_docx()) == []
    assert [d.kind for d in deviations(check, edited("written notice", "oral notice"))] == [
        "changed"
    ]


# --- margins -------------------------------------------------------------------------------


def test_footer_text_added_is_a_footer_deviation(tmp_path: Path) -> None:
    footer = ("{{ company.name }} confidential", PAGE)
    check = ApprovedCheck([approve(tmp_path, make_docx(footer=footer))])
    assert deviations(check, make_docx(footer=footer)) == []
    found = deviations(check, make_docx(footer=(*footer, "Void if not signed by June 1.")))
    assert [(d.kind, d.part, d.rendered) for d in found] == [
        ("added", "footer", "Void if not signed by June 1.")
    ]
    bare = ApprovedCheck([approve(tmp_path, make_docx(footer=()), name="bare")])
    assert deviations(bare, make_docx(footer=(PAGE,))) == []  # a page number passes
    assert [d.part for d in deviations(bare, make_docx(footer=footer))] == ["footer"]


def test_draft_mark(tmp_path: Path) -> None:
    form = approve(tmp_path, make_docx())
    assert deviations(ApprovedCheck([form], draft=True), make_docx(), draft=True) == []
    assert deviations(ApprovedCheck([form]), make_docx(), draft=True) == []
    final = deviations(ApprovedCheck([form], draft=False), make_docx(), draft=True)
    assert [(d.kind, d.part, d.rendered) for d in final] == [("added", "header", DRAFT_MARK)]


# --- several forms, caching, errors --------------------------------------------------------


ACCEPTANCE = ["PARTICIPANT'S ACCEPTANCE", EXERCISE.replace("Participant", "Optionee")]


def check_joined(
    check: ApprovedCheck, tmp_path: Path, notice: bytes, page: bytes
) -> list[Deviation]:
    """The deviations of a notice followed by an acceptance page, as one rendered document."""
    (tmp_path / "n.docx").write_bytes(notice)
    (tmp_path / "a.docx").write_bytes(page)
    context = grant_context(record(), bundled_plan())
    joined = DocumentTemplate.joined(tmp_path / "n.docx", tmp_path / "a.docx")
    rendered = joined.render_parts(context, {})
    parts = list(rendered.parts.values())
    return check.check(rendered.body, context, margins=parts, styles=rendered.styles)


def test_acceptance_page_deviations_are_in_the_acceptance(tmp_path: Path) -> None:
    notice, page = make_docx([*BODY, "Signature page follows"]), make_docx(ACCEPTANCE, footer=())
    check = ApprovedCheck([approve(tmp_path, notice, "n"), approve(tmp_path, page, "a")])
    assert check_joined(check, tmp_path, notice, page) == []
    holder = make_docx([p.replace("Optionee", "Holder") for p in ACCEPTANCE], footer=())
    found = check_joined(check, tmp_path, notice, holder)
    assert [(d.kind, d.part) for d in found] == [("changed", "acceptance")]
    # the notice's last words run into the acceptance page (no full stop between them): an
    # edit there is still one sentence changed, in the notice
    attached = make_docx([*BODY, "Signature page attached"])
    found = check_joined(check, tmp_path, attached, page)
    assert [(d.kind, d.part) for d in found] == [("changed", "agreement")]


def test_counsel_blank_ending_a_form_ends_before_the_next(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(COUNSEL, encoding="utf-8")
    page = make_docx(ACCEPTANCE, footer=())
    check = ApprovedCheck([ApprovedForm.load(path), approve(tmp_path, page, "a")])
    assert check_joined(check, tmp_path, make_docx(), page) == []
    holder = make_docx([p.replace("Optionee", "Holder") for p in ACCEPTANCE], footer=())
    found = check_joined(check, tmp_path, make_docx(), holder)
    assert [(d.kind, d.part) for d in found] == [("changed", "acceptance")]


def test_cache_passes_other_grants_and_catches_one_grant_edit(tmp_path: Path) -> None:
    check = ApprovedCheck([approve(tmp_path, make_docx())])
    assert deviations(check, make_docx()) == []
    assert len(check._clean) == 1
    other = record(grant_id="G-2", participant="Bea Other", shares=2500, address=("9 Elm", "Ely"))
    assert deviations(check, make_docx(), other) == []
    assert len(check._clean) == 1  # the same document, its values aside: found in the cache
    assert deviations(check, make_docx(), replace(other, address=("9 Elm Road",))) == []
    sneaky = make_docx(
        [*BODY, '{% if grant_id == "G-2" %}The Company may cancel this option.{% endif %}']
    )
    assert deviations(check, sneaky) == []
    assert [(d.kind, d.rendered) for d in deviations(check, sneaky, other)] == [
        ("added", "The Company may cancel this option.")
    ]


def test_cache_does_not_hide_a_filter_dropped_from_the_template(tmp_path: Path) -> None:
    upper = [(a, b.replace("{{ participant }}", "{{ participant|upper }}")) for a, b in SIGNATURES]
    check = ApprovedCheck([approve(tmp_path, make_docx(signatures=upper))])
    capitals = record(participant="ACME HOLDINGS LLC")
    assert deviations(check, make_docx(), capitals) == []  # prints alike for this grant
    found = deviations(check, make_docx(), record(grant_id="G-2", participant="Jane Doe"))
    assert found and all(d.kind != "changed" or "Jane Doe" in (d.rendered or "") for d in found)
    assert any("JANE DOE" in (d.form or "") for d in found)
    assert any("Jane Doe" in (d.rendered or "") for d in found)


def test_two_fields_with_one_value_only_meet_grants_alike(tmp_path: Path) -> None:
    """A grant whose participant is the officer is cached apart: a template printing the
    officer's name where the participant's belongs passes for it, and not for the next."""
    officer = bundled_plan().company.officer.name
    swapped = [(a, b.replace("{{ participant }}", "{{ officer.name }}")) for a, b in SIGNATURES]
    check = ApprovedCheck([approve(tmp_path, make_docx())])
    assert deviations(check, make_docx(signatures=swapped), record(participant=officer)) == []
    assert len(check._clean) == 1
    found = deviations(check, make_docx(signatures=swapped), record(participant="Jane Doe"))
    assert found and any(officer in (d.rendered or "") for d in found)


def test_unknown_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(
        COUNSEL.replace("STOCK OPTION", "{{ vesting_scheme }} STOCK OPTION"), encoding="utf-8"
    )
    form = ApprovedForm.load(path)
    assert "vesting_scheme" in form.fields()
    with pytest.raises(ApprovedFormError, match="vesting_scheme") as caught:
        deviations(ApprovedCheck([form]), make_docx())
    assert caught.value.field == "vesting_scheme" and "notice.txt" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe bad", "UTF-8"),
        (b"# grantgen approved form of x\n\n\n", "no text"),
        (b"Text {% if participant %} never closed\n", "Jinja"),
    ],
)
def test_unreadable_forms_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(content)
    with pytest.raises(ApprovedFormError, match=message) as caught:
        ApprovedForm.load(path)
    assert "broken.txt" in str(caught.value)
    with pytest.raises(ApprovedFormError, match="cannot be read"):
        ApprovedForm.load(tmp_path / "missing.txt")


def test_row_loop_and_docx_errors(tmp_path: Path) -> None:
    rows = [
        ("{%tr for line in address_lines %}", "(docxtpl drops the row)"),
        ("Address line:", "{{ line }}"),
        ("{%tr endfor %}", ""),
    ]
    template = make_docx(terms=[*TERMS, *rows])
    form = approve(tmp_path, template)
    assert "{%tr for line in address_lines %}" in form.paragraphs
    assert not any("drops the row" in p for p in form.paragraphs)
    check = ApprovedCheck([form])
    assert deviations(check, template) == []
    assert (
        deviations(check, template, record(address=("1 A St", "2 B St", "3 C St", "4 D St"))) == []
    )
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ApprovedFormError, match=r"broken\.docx"):
        ApprovedForm.load(broken)


@pytest.mark.parametrize("value", [" ", "\u00ad", " \u00ad "])
def test_a_value_that_normalises_to_nothing_is_not_masked_and_never_hangs(value: str) -> None:
    # an extra column holding only spaces or a soft hyphen normalises to "": searching for ""
    # found it at every place, forever; it is now no span at all
    from generator.comparing.comparecache import cache_key, mask_values

    assert mask_values("a b", [("x", "")]) == "a b"
    assert mask_values("A b", [("x", ""), ("y", "b")], fold=True) == "A \x00y\x00"
    key = cache_key("<w:t>Zoë</w:t>", "Zoë", {"participant": "Zoë", "extra": value}, "G-1")
    other = cache_key("<w:t>Al</w:t>", "Al", {"participant": "Al", "extra": value}, "G-2")
    assert key is not None and key == other  # the same text but for the masked value
