"""Form kits: a company's plan file, templates, approved forms and Plan document in one folder
(generator/kit.py), and what grantgen does with another company's kit than the bundled one."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from generator.cli import main
from generator.comparing.approve import unapproved_changes
from generator.core.errors import PlanError
from generator.core.resources import kits_dir
from generator.kitchecks.templatecheck import check_templates
from generator.terms.kit import examples, init_kit, kit_record, resolve_kit
from generator.terms.manifest import kit_changes
from generator.terms.plan import load_plan

EXAMPLE = kits_dir() / "meridian"
#: Words of the bundled ATG form that no document of another company's kit may hold.
ATG_WORDS = (
    "Art Technology",
    "Participant's Acceptance",
    "PARTICIPANT'S ACCEPTANCE",
    "Nonstatutory Stock Option Agreement",
    "NONSTATUTORY STOCK OPTION AGREEMENT",
    "Outside Director",
    "1999",
    "Julie",
    "Bradley",
    "atg-1999",
)


def make_kit(tmp_path: Path, name: str = "kit") -> Path:
    """A copy of the bundled second example kit (its approved forms included)."""
    folder = tmp_path / name
    init_kit(folder, "meridian")
    return folder


def edit_docx(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    document = Document(str(path))
    edit(document)
    document.save(str(path))


def replace_text(old: str, new: str):  # type: ignore[no-untyped-def]
    def edit(document) -> None:  # type: ignore[no-untyped-def]
        found = 0
        for paragraph in _all_paragraphs(document):
            for run in paragraph.runs:
                if old in run.text:
                    run.text = run.text.replace(old, new)
                    found += 1
        assert found, f"{old!r} not in the template"

    return edit


def _all_paragraphs(document):  # type: ignore[no-untyped-def]
    yield from document.paragraphs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def bookmark_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode()
    return re.findall(r'<w:bookmarkStart[^>]*w:name="([^"]+)"', xml)


# --- the kit's plan file ------------------------------------------------------------------


def test_a_kit_folder_is_read_by_its_plan_file(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    plan = load_plan(kit)
    assert plan.id == "meridian-2024" and Path(plan.source) == kit / "plan.toml"
    assert [f.award_type for f in plan.forms] == ["option", "stock_unit"]
    assert plan.signatures == ("company_signature", "participant_signature")
    resolved = resolve_kit(plan)
    assert resolved.forms["option"].template == kit / "templates" / "option_notice.docx"
    assert resolved.forms["option"].approved[0] == kit / "approved" / "option_notice.txt"
    assert resolved.plan_docx is None  # the plan file names its own Plan document


def test_a_folder_without_a_plan_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlanError, match=r"plan\.toml"):
        load_plan(tmp_path / "empty")


def test_a_form_for_an_award_type_the_plan_lacks_is_refused(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    text = (kit / "plan.toml").read_text()
    text = text.replace(
        'types = ["option", "restricted_stock", "stock_unit"]', 'types = ["option"]'
    )
    (kit / "plan.toml").write_text(text)
    with pytest.raises(PlanError, match=r"forms\.stock_unit.*awards\.types"):
        load_plan(kit)


def test_a_form_whose_template_is_missing_is_refused_naming_the_key(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    (kit / "templates" / "rsu_notice.docx").unlink()
    with pytest.raises(PlanError, match=r"forms\.stock_unit\.template.*no such file"):
        load_plan(kit)


def test_a_signature_field_name_must_say_signature(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    text = (kit / "plan.toml").read_text()
    (kit / "plan.toml").write_text(text.replace('"participant_signature"]', '"Spouse"]'))
    with pytest.raises(PlanError, match=r"kit\.signatures.*_signature"):
        load_plan(kit)


# --- check-templates of a whole kit ---------------------------------------------------------


def test_the_bundled_example_kits_have_no_problems() -> None:
    assert "meridian" in examples()
    problems, templates = check_templates(None, load_plan(EXAMPLE))
    assert problems == [] and templates is not None
    assert unapproved_changes(resolve_kit(load_plan(EXAMPLE))) == []


def _drop_bookmark(name: str):  # type: ignore[no-untyped-def]
    def edit(document) -> None:  # type: ignore[no-untyped-def]
        for start in list(document.element.body.iter(qn("w:bookmarkStart"))):
            if start.get(qn("w:name")) == name:
                start.getparent().remove(start)

    return edit


def _add_bookmark(name: str):  # type: ignore[no-untyped-def]
    def edit(document) -> None:  # type: ignore[no-untyped-def]
        paragraph = document.paragraphs[-1]._p
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), "77")
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), "77")
        paragraph.append(start)
        paragraph.append(end)

    return edit


def _twice(edit):  # type: ignore[no-untyped-def]
    return lambda document: (edit(document), edit(document))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_drop_bookmark("company_signature"), "no bookmark 'company_signature'"),
        (_add_bookmark("participant_signature"), "'participant_signature' is there 2 times"),
        (_add_bookmark("spouse_signature"), "'spouse_signature' is not a signature field"),
        (_twice(_add_bookmark("company_date")), "'company_date' is there 2 times"),
    ],
)
def test_signature_bookmarks_are_checked(tmp_path: Path, edit, says: str) -> None:  # type: ignore[no-untyped-def]
    kit = make_kit(tmp_path)
    edit_docx(kit / "templates" / "option_notice.docx", edit)
    problems, templates = check_templates(None, load_plan(kit))
    assert templates is None
    assert any(says in str(p) and "option_notice.docx" in str(p) for p in problems), problems
    result = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert result.exit_code == 1 and says in result.output


def test_a_declared_extra_signature_needs_its_bookmark(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    text = (kit / "plan.toml").read_text()
    (kit / "plan.toml").write_text(
        text.replace('"participant_signature"]', '"participant_signature", "spouse_signature"]')
    )
    problems, _ = check_templates(None, load_plan(kit))
    assert any("no bookmark 'spouse_signature'" in str(p) for p in problems)


def test_an_approved_form_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    approved = kit / "approved" / "option_notice.txt"
    approved.write_text(approved.read_text() + "\n\nSigned for {{ spouse_name }}.\n")
    problems, _ = check_templates(None, load_plan(kit))
    assert any("spouse_name" in str(p) and p.template == "option_notice.txt" for p in problems)


def test_check_templates_of_a_kit_folder(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    result = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output and "Stock Option Grant Notice" in result.output


def test_plan_docx_is_needed_only_when_the_plan_file_names_no_plan_document(
    tmp_path: Path,
) -> None:
    kit = make_kit(tmp_path)
    assert not (kit / "templates" / "plan.docx").exists()
    assert check_templates(None, load_plan(kit))[0] == []
    text = (kit / "plan.toml").read_text()
    (kit / "plan.toml").write_text(text.replace('document = "plan.docx"', ""))
    problems, _ = check_templates(None, load_plan(kit))
    assert any(p.template == "plan.docx" and p.kind == "missing" for p in problems)


# --- init and approve ------------------------------------------------------------------


def test_init_makes_a_kit_ready_to_edit(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "acme")])
    assert result.exit_code == 0, result.output
    for name in ("plan.toml", "templates/option_notice.docx", "approved/option_notice.txt"):
        assert (tmp_path / "acme" / name).is_file(), name
    assert "#" in (tmp_path / "acme" / "plan.toml").read_text()  # commented
    again = CliRunner().invoke(main, ["init", str(tmp_path / "acme")])
    assert again.exit_code == 1 and "not an empty folder" in again.output
    unknown = CliRunner().invoke(main, ["init", str(tmp_path / "x"), "--example", "nope"])
    assert unknown.exit_code == 1 and "meridian" in unknown.output


def test_approve_records_the_templates_and_an_edit_is_named_until_approved(
    tmp_path: Path,
) -> None:
    kit = make_kit(tmp_path)
    template = kit / "templates" / "option_notice.docx"
    edit_docx(template, replace_text("Only the Participant", "Only the Director"))
    notes = unapproved_changes(resolve_kit(load_plan(kit)))
    assert len(notes) == 1 and "option_notice.docx has changed" in notes[0]
    shown = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert shown.exit_code == 0 and "has changed since counsel approved it" in shown.output
    result = CliRunner().invoke(
        main, ["approve", str(kit), "--by", "Avery Counsel", "--date", "2026-11-30"]
    )
    assert result.exit_code == 0, result.output
    text = (kit / "approved" / "option_notice.txt").read_text()
    assert "Avery Counsel" in text and "2026-11-30" in text
    assert "Only the Director" in text and "{{ participant }}" in text
    assert unapproved_changes(resolve_kit(load_plan(kit))) == []


def test_approve_refuses_the_bundled_exhibit_kit() -> None:
    result = CliRunner().invoke(main, ["approve"])
    assert result.exit_code == 1 and "exhibit" in result.output


# --- the manifest's record of the kit ---------------------------------------------------------


def test_the_kit_record_names_each_file_and_a_change(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    record = kit_record(resolve_kit(load_plan(kit)))
    assert record["plan"] == "meridian-2024"
    assert {"plan.toml", "templates/option_notice.docx", "plan.docx"} <= set(record["files"])
    assert kit_changes(record) == []
    edit_docx(kit / "templates" / "rsu_notice.docx", replace_text("Settlement", "Delivery"))
    assert kit_changes(record) == [str(kit / "templates" / "rsu_notice.docx")]


# --- the Board consent ------------------------------------------------------------------------


def test_the_bundled_consent_states_the_kits_terms(tmp_path: Path) -> None:
    from generator.kitchecks.templatecheck import sample_record
    from generator.reviewing.consent import ConsentGrant, render_consent

    kit = make_kit(tmp_path)
    plan = load_plan(kit)
    sample = sample_record()
    row = ConsentGrant(sample.participant, sample.shares, sample.exercise_price, sample.grant_date)
    data = render_consent(resolve_kit(plan).consent, plan, [row])
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "evidenced by a Stock Option Grant Notice" in text
    assert "Grant of Nonstatutory Stock Options" in text  # the plan allows no ISOs
    assert "Meridian Lattice Systems, Inc." in text and "Section 6(a)" in text
    for word in ATG_WORDS:
        assert word not in text


# --- signature blocks kept together ---------------------------------------------------------


def test_signature_lines_are_kept_with_their_block(tmp_path: Path) -> None:
    from generator.kitchecks.templatecheck import sample_record
    from generator.rendering.templateset import TemplateSet

    kit = make_kit(tmp_path)
    plan = load_plan(kit)
    rendered = TemplateSet(None, plan).render_grant_parts(sample_record(), plan)
    body = rendered.body
    row = body[body.rfind("<w:tr", 0, body.index('w:name="company_signature"')) :]
    assert "<w:cantSplit/>" in row[: row.index("</w:trPr>")]
    cell = body[: body.index('w:name="company_signature"')]
    last_paragraphs = cell.split("<w:p>")[-3:] + cell.split("<w:p ")[-3:]
    assert any("<w:keepNext/>" in p for p in last_paragraphs)


def test_the_meridian_templates_carry_their_bookmarks() -> None:
    for name in ("option_notice.docx", "rsu_notice.docx"):
        marks = bookmark_names(EXAMPLE / "templates" / name)
        assert marks.count("company_signature") == 1 and marks.count("participant_signature") == 1


def test_no_atg_words_in_the_second_kit() -> None:
    for path in EXAMPLE.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                text = " ".join(
                    z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
                )
        else:
            text = path.read_text(encoding="utf-8")
        for word in ATG_WORDS:
            assert word not in text, (path, word)


def copy_kit(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def manifest_of(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text())


def test_an_approved_form_of_no_template_is_refused(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    (kit / "approved" / "option_notice.txt").rename(kit / "approved" / "old_notice.txt")
    problems, _ = check_templates(None, load_plan(kit))
    assert any("old_notice.txt" in str(p) and "approves no template" in str(p) for p in problems)


def test_a_kit_with_templates_but_no_forms_is_refused(tmp_path: Path) -> None:
    from generator.core.errors import KitError

    kit = make_kit(tmp_path)
    text = (kit / "plan.toml").read_text()
    (kit / "plan.toml").write_text(text.split("[forms.option]")[0])
    with pytest.raises(KitError, match=r"names no \[forms\]"):
        resolve_kit(load_plan(kit))
    result = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert result.exit_code == 1 and "[forms.<award type>]" in result.output


def test_a_consent_of_units_only_recites_eligibility_and_lists_them_in_exhibit_b(
    tmp_path: Path,
) -> None:
    from datetime import date
    from decimal import Decimal

    from generator.reviewing.consent import ConsentGrant, render_consent

    kit = make_kit(tmp_path)
    plan = load_plan(kit)
    units = ConsentGrant("Ann Lee", 2500, Decimal(0), date(2025, 6, 16), "stock_unit")
    data = render_consent(resolve_kit(plan).consent, plan, [units])
    document = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "each person listed on Exhibit B is a director" in text
    assert "eligible for awards under Section 3" in text and '(the "Plan")' in text
    assert "EXHIBIT B" in text and "EXHIBIT A" not in text and "Grant of" not in text
    assert "Restricted stock units" in cells and "2,500" in cells
