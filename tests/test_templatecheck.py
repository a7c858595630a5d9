"""User-edited templates: every problem reported with file and text; sandbox holds."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.errors import TemplateError
from generator.core.resources import templates_dir
from generator.kitchecks.templatecheck import check_templates, load_templates
from generator.rendering.render import DocumentTemplate
from generator.terms.plan import load_plan

from .conftest import SAMPLE

PLAN = load_plan()


def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "t"
    shutil.copytree(templates_dir(), folder)
    return folder


def edit(folder: Path, name: str, text: str, *, split: bool = False) -> None:
    d = docx.Document(str(folder / name))
    p = d.add_paragraph()
    if split:  # the tag broken over two paragraphs, as a stray Enter in Word does
        p.add_run(text[: len(text) // 2])
        d.add_paragraph(text[len(text) // 2 :])
    else:
        for piece in (text[:3], text[3:8], text[8:]):  # Word splits text into runs
            p.add_run(piece)
    d.save(str(folder / name))


@pytest.mark.parametrize(
    ("name", "text", "kind", "needle"),
    [
        (
            "nso_agreement.docx",
            "Vesting per {{ vesting_scheme }}.",
            "unknown field",
            "vesting_scheme",
        ),
        ("acceptance.docx", "Dear {{ participant }", "split or unclosed tag", "Dear"),
        ("nso_agreement.docx", "{% if participant %}Unclosed if", "template error", "endif"),
        ("plan.docx", "{{ participant }}", "unknown field", "participant"),
        (
            "nso_agreement.docx",
            "Bad {{ participant | nosuchfilter }}",
            "template error",
            "nosuchfilter",
        ),
        ("nso_agreement.docx", "{{ company.nmae }}", "template error", "nmae"),
        ("acceptance.docx", "Signed: {{ company.nmae }}", "template error", "{{ company.nmae }}"),
        ("nso_agreement.docx", "{{ 1/0 }}", "template error", "ZeroDivisionError"),
        ("nso_agreement.docx", "Name: {{ officer.get('nmae') }}", "template error", "None"),
    ],
)
def test_each_problem_is_reported_with_file_and_text(
    tmp_path: Path, name: str, text: str, kind: str, needle: str
) -> None:
    folder = copy(tmp_path)
    edit(folder, name, text)
    problems, templates = check_templates(folder, PLAN)
    assert templates is None
    assert any(
        p.template.startswith(name) and p.kind == kind and needle in str(p) for p in problems
    ), problems
    if "company.nmae" in text:  # an unknown field is located in its own file, not the pair
        assert [p.template for p in problems] == [name]


def test_tag_split_across_paragraphs(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    edit(folder, "nso_agreement.docx", "Granted to {{ participant }} today", split=True)
    problems, _ = check_templates(folder, PLAN)
    assert [p.kind for p in problems] == ["split or unclosed tag", "split or unclosed tag"]


def test_tag_split_across_runs_is_fine(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    edit(folder, "nso_agreement.docx", "Also granted to {{ participant }}.")
    problems, templates = check_templates(folder, PLAN)
    assert problems == [] and templates is not None


def test_bundled_templates_are_clean_and_cli_says_so(tmp_path: Path) -> None:
    assert check_templates(templates_dir(), PLAN)[0] == []
    ok = CliRunner().invoke(main, ["check-templates"])
    assert ok.exit_code == 0 and "no problems" in ok.output
    folder = copy(tmp_path)
    edit(folder, "nso_agreement.docx", "{{ vesting_scheme }}")
    bad = CliRunner().invoke(main, ["check-templates", str(folder)])
    assert bad.exit_code == 1 and "nso_agreement.docx: unknown field" in bad.stderr


def test_generate_refuses_a_bad_template_before_rendering_anything(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    edit(folder, "acceptance.docx", "{% for x in address_lines %}no end")
    with pytest.raises(TemplateError, match=r"acceptance\.docx"):
        load_templates(folder, PLAN)


def test_zip_bomb_and_entities_in_a_template_are_refused(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    with zipfile.ZipFile(folder / "plan.docx", "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/huge.bin", b"\0" * (30 * 1024 * 1024))
    problems, _ = check_templates(folder, PLAN)
    assert [(p.template, p.kind) for p in problems] == [("plan.docx", "unsafe file")]
    folder = copy(tmp_path / "b")
    src = zipfile.ZipFile(templates_dir() / "acceptance.docx")
    with zipfile.ZipFile(folder / "acceptance.docx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(
                    b"?>", b'?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1
                )
            dst.writestr(item, data)
    problems, _ = check_templates(folder, PLAN)
    assert any("declares XML entities" in p.message for p in problems)


@pytest.mark.parametrize(
    ("member", "damage", "needle"),
    [
        ("word/document.xml", None, "KeyError"),
        ("word/document.xml", "truncate", "XMLSyntaxError"),
    ],
)
@pytest.mark.parametrize("name", ["plan.docx", "acceptance.docx"])
def test_a_broken_template_package_is_named(
    tmp_path: Path, name: str, member: str, damage: str | None, needle: str
) -> None:
    folder = copy(tmp_path)
    src = zipfile.ZipFile(templates_dir() / name)
    with zipfile.ZipFile(folder / name, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == member:
                if damage is None:
                    continue
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    problems, templates = check_templates(folder, PLAN)
    assert templates is None
    assert [(p.template, p.kind) for p in problems] == [(name, "not a Word document")]
    assert needle in problems[0].message
    result = CliRunner().invoke(main, ["check-templates", str(folder)])
    assert result.exit_code == 1 and "unexpected" not in result.output


def one_paragraph(tmp_path: Path, text: str) -> DocumentTemplate:
    d = docx.Document()
    d.add_paragraph(text)
    path = tmp_path / "evil.docx"
    d.save(str(path))
    return DocumentTemplate.from_file(path)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ participant.__class__.__mro__[1].__subclasses__() }}",
        "{{ participant|attr('__class__') }}",
        "{{ '{0.__class__}'.format(participant) }}",
        "{{ '{x.__class__}'.format_map({'x': participant}) }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self.__init__.__globals__ }}",
    ],
)
def test_the_sandbox_refuses_python_internals(tmp_path: Path, payload: str) -> None:
    tpl = one_paragraph(tmp_path, payload)
    with pytest.raises(TemplateError) as err:
        tpl.render({"participant": "Ann"}, {})
    assert "unsafe" in str(err.value) or "no value" in str(err.value), str(err.value)


@pytest.mark.parametrize("payload", ["{% include '/etc/passwd' %}", "{% import 'os' as os %}"])
def test_templates_cannot_read_files(tmp_path: Path, payload: str) -> None:
    tpl = one_paragraph(tmp_path, payload)
    with pytest.raises(TemplateError):
        tpl.render({"participant": "Ann"}, {})


def _body_xml(folder: Path, name: str, change: str) -> None:
    """Rewrite a part of a template with ``change`` inserted before ``</w:body>`` (or into
    numbering.xml's first label, for 'numbering')."""
    path = folder / name
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    if change == "numbering":
        xml = parts["word/numbering.xml"].decode()
        parts["word/numbering.xml"] = xml.replace(
            'w:lvlText w:val="%1."',
            'w:lvlText w:val="The Participant waives all claims %1."',
            1,
        ).encode()
    else:
        xml = parts["word/document.xml"].decode()
        parts["word/document.xml"] = xml.replace("<w:sectPr", change + "<w:sectPr", 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


W_RUN = '<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>'


@pytest.mark.parametrize(
    ("change", "kind", "needle"),
    [
        (  # a document property printed by a field whose saved result is empty
            '<w:p><w:fldSimple w:instr=" SUBJECT  \\* MERGEFORMAT "><w:r><w:t></w:t></w:r>'
            "</w:fldSimple></w:p>",
            "field",
            "SUBJECT",
        ),
        (  # a complex field, its instruction split over runs as Word writes it
            '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> TI'
            "</w:instrText></w:r><w:r><w:instrText>TLE </w:instrText></w:r><w:r>"
            '<w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>option</w:t></w:r><w:r>'
            '<w:fldChar w:fldCharType="end"/></w:r></w:p>',
            "field",
            "TITLE",
        ),
        (
            '<w:p><w:ins w:id="1" w:author="x" w:date="2026-01-01T00:00:00Z"><w:r>'
            "<w:t>The Participant waives all claims.</w:t></w:r></w:ins></w:p>",
            "tracked changes",
            "waives",
        ),
        ("numbering", "numbering text", "waives"),
    ],
)
def test_text_printed_but_not_compared_with_the_form_is_refused(
    tmp_path: Path, change: str, kind: str, needle: str
) -> None:
    folder = copy(tmp_path)
    _body_xml(folder, "nso_agreement.docx", change)
    problems, templates = check_templates(folder, PLAN)
    assert templates is None
    assert [(p.template, p.kind) for p in problems] == [("nso_agreement.docx", kind)]
    assert needle in str(problems[0])


def test_page_number_fields_and_plain_labels_pass(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    _body_xml(
        folder,
        "nso_agreement.docx",
        '<w:p><w:fldSimple w:instr=" NUMPAGES "><w:r><w:t>3</w:t></w:r></w:fldSimple></w:p>'
        + W_RUN.format("Plain text."),
    )
    problems, templates = check_templates(folder, PLAN)
    assert problems == [] and templates is not None


def _replace(folder: Path, name: str, old: str, new: str) -> None:
    """Rewrite ``old`` as ``new`` in a template's document.xml (the text of one run)."""
    path = folder / name
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["word/document.xml"].decode()
    assert old in xml
    parts["word/document.xml"] = xml.replace(old, new, 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ("{{ none }}", "gives no value (None)"),  # a constant: Jinja folds it when compiling
        ("{{ [none]|first }}", "gives no value (None)"),
        ("{{ none if participant else 'x' }}", "gives no value (None)"),
        ("{{ blank or none }}", "gives no value (None)"),
        ("{{ company }}", "gives a dict"),
        ("{{ [1, 2] }}", "gives a list"),
        ("{{ participant.upper }}", "builtin_function_or_method"),
        ("{{ participant is defined }}", "gives a bool"),
        ("{{ 1 / 2 }}", "gives a float"),
    ],
)
def test_only_text_and_numbers_print(tmp_path: Path, payload: str, said: str) -> None:
    tpl = one_paragraph(tmp_path, f"Granted to {payload} today.")
    context = {"participant": "Ann", "blank": "", "company": {"name": "ACME"}}
    with pytest.raises(TemplateError) as err:
        tpl.render(context, {})
    assert said in str(err.value) and "evil.docx" in str(err.value)
    assert payload in str(err.value) and "Granted to" in str(err.value)  # the tag, its text


@pytest.mark.parametrize(
    "payload",
    ["{{ none|string }}", '{{ none ~ "" }}', "{{ (none,)|join }}", "{{ [none]|join(', ') }}"],
)
def test_none_turned_into_text_is_refused(tmp_path: Path, payload: str) -> None:
    """Converted to text, the constant none would reach the print check as the word None."""
    with pytest.raises(TemplateError) as err:
        one_paragraph(tmp_path, f"Granted to {payload} today.").render({"participant": "A"}, {})
    assert "evil.docx" in str(err.value) and "None" in str(err.value)


def test_a_value_that_is_none_given_to_the_string_filter_is_refused(tmp_path: Path) -> None:
    tpl = one_paragraph(tmp_path, "Granted to {{ holder|string }} today.")
    with pytest.raises(TemplateError, match="gives no value"):
        tpl.render({"holder": None}, {})


def test_text_and_numbers_print_as_they_are(tmp_path: Path) -> None:
    tpl = one_paragraph(
        tmp_path,
        "{{ participant }} {{ 3 }} {% for x in ['a'] %}{{ loop.index }}{{ x }}{% endfor %}",
    )
    assert b"Ann 3 1a" in zipfile.ZipFile(io.BytesIO(tpl.render({"participant": "Ann"}, {}))).read(
        "word/document.xml"
    )


def test_a_template_printing_none_is_refused_by_check_and_generate(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    _replace(folder, "nso_agreement.docx", "{{ shares }}", "{{ none }}")
    checked = CliRunner().invoke(main, ["check-templates", str(folder)])
    assert checked.exit_code == 1
    assert "nso_agreement.docx: template error: {{ none }} gives no value (None)" in checked.stderr
    assert "a total of {{ none }} shares" in checked.stderr
    assert "acceptance.docx" not in checked.stderr
    out, ledger = tmp_path / "out", tmp_path / "l.sqlite"
    made = CliRunner().invoke(
        main,
        [
            "generate",
            str(SAMPLE),
            "--templates",
            str(folder),
            "-o",
            str(out),
            "--ledger",
            str(ledger),
        ],
    )
    assert made.exit_code == 1 and "{{ none }} gives no value" in made.stderr
    assert not list(out.glob("*.pdf")) and not ledger.exists()


@pytest.mark.parametrize(
    ("name", "old", "new", "said", "near"),
    [
        (
            "nso_agreement.docx",
            "{{ shares }}",
            "{% if shares %}{{ shares }}",
            "{% if shares %} is not closed: no {% endif %} follows it",
            "{% if shares %}{{ shares }} shares of common stock",
        ),
        (
            "acceptance.docx",
            "{{ participant }}",
            "{%- for x in address_lines -%}{{ participant }}",
            "{% for x in address_lines %} is not closed: no {% endfor %} follows it",
            "{{ participant }}",
        ),
    ],
)
def test_an_unclosed_block_is_named_in_its_own_file(
    tmp_path: Path, name: str, old: str, new: str, said: str, near: str
) -> None:
    folder = copy(tmp_path)
    _replace(folder, name, old, new)
    problems, templates = check_templates(folder, PLAN)
    assert templates is None
    assert [(p.template, p.kind) for p in problems] == [(name, "template error")], problems
    assert said in problems[0].message and near in problems[0].message, problems[0]
