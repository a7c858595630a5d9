"""Another company's plan: its terms in the agreement, its own Plan text furnished, the form
read with its phrases, and no word of the bundled plan in its documents."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

from generator.comparing.deviations import Deviation, DeviationCheck
from generator.core.errors import GrantgenError, PlanError
from generator.core.resources import default_plan, form_text, templates_dir
from generator.making.formcheck import blank_values
from generator.pipeline import GenerateOptions, generate
from generator.reading.records import read_grants
from generator.rendering.form import form_sentences
from generator.rendering.templateset import TemplateSet
from generator.rendering.wording import indefinite_article, number_words, ordinal_words, years
from generator.terms.plan import load_plan
from generator.terms.planmodel import Plan

from .conftest import PRICES, grant, pdf_text, write_csv

ATG = load_plan()
#: Words of the bundled plan that must not appear in another plan's documents.
ATG_WORDS = ("Art Technology", "ART TECHNOLOGY", "Delaware", "1999", "tenth", "ten (10)")


def other_plan(folder: Path, *, document: str | None = None) -> Path:
    """The bundled plan file rewritten as Buckeye Tools' plan: Ohio, 7-year term, three years
    after service, its own names and section numbers."""
    text = default_plan().read_text(encoding="utf-8")
    for old, new in (
        ('id = "atg-1999"', 'id = "bkt-2016"'),
        (f'name = "{ATG.name}"', 'name = "2016 Director Stock Option Plan"'),
        (f'short_name = "{ATG.short_name}"', 'short_name = "Director Option Plan"'),
        ('name = "Art Technology Group, Inc."', 'name = "Buckeye Tools Co."'),
        ('state = "Delaware"', 'state = "Ohio"'),
        ("effective_date = 1999-05-01", "effective_date = 2004-01-01"),
        ("term_years = 10", "term_years = 7"),
        ("post_service_exercise_years = 1", "post_service_exercise_years = 3"),
        ('reserve = "4(a)"', 'reserve = "3.1"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    if document is not None:
        text = text.replace("[shares]", f'document = "{document}"\n\n[shares]', 1)
    path = folder / "buckeye.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plan_pdf(folder: Path) -> Path:
    """A one-page PDF of Buckeye's plan text, made by LibreOffice from plain text."""
    src = folder / "buckeye-plan.txt"
    src.write_text(
        "BUCKEYE TOOLS CO.\n2016 DIRECTOR STOCK OPTION PLAN\n\n1. Purpose. Buckeye plan text.\n",
        encoding="utf-8",
    )
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder / "buckeye-plan.pdf"


def test_numbers_in_words() -> None:
    assert [number_words(n) for n in (1, 7, 10, 13, 20, 45, 100)] == [
        "one",
        "seven",
        "ten",
        "thirteen",
        "twenty",
        "forty-five",
        "one hundred",
    ]
    assert [ordinal_words(n) for n in (1, 2, 3, 5, 7, 8, 9, 10, 12, 20, 21, 33, 100)] == [
        "first",
        "second",
        "third",
        "fifth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "twelfth",
        "twentieth",
        "twenty-first",
        "thirty-third",
        "one hundredth",
    ]
    assert (years(1), years(3)) == ("one year", "three years")
    assert [indefinite_article(s) for s in ("Delaware", "Ohio", "Idaho", "Utah")] == [
        "a",
        "an",
        "an",
        "a",
    ]


def test_the_bundled_plan_reads_the_form_as_written() -> None:
    assert form_sentences(form_text(), ATG) == form_sentences(form_text())


def _deviations(tmp: Path, plan: Plan, form_plan: Plan) -> list[Deviation]:
    """The deviations of one agreement rendered under ``plan``, read against the form as
    ``form_plan`` words it."""
    record = read_grants(write_csv(tmp / "g.csv", [grant()])).records[0]
    rendered = TemplateSet(templates_dir()).render_grant_parts(record, plan)
    return DeviationCheck(form_text(), form_plan).check(
        rendered.body,
        blank_values(record, plan),
        record.participant,
        margins=list(rendered.parts.values()),
        grant_id=record.grant_id,
    )


def test_another_plans_agreement_states_its_terms_and_is_no_deviation(tmp_path: Path) -> None:
    plan = load_plan(other_plan(tmp_path))
    record = read_grants(write_csv(tmp_path / "g.csv", [grant()])).records[0]
    body = TemplateSet(templates_dir()).render_grant_parts(record, plan).body
    for wording in ("Buckeye Tools Co.", "an Ohio", "seventh", "three years", "Director Stock"):
        assert wording in body, wording
    assert [w for w in ("Art Technology", "Delaware", "tenth") if w in body] == []
    assert _deviations(tmp_path, plan, plan) == []
    assert _deviations(tmp_path, ATG, ATG) == []
    # read against the bundled plan's wording, the other plan's agreement deviates: the
    # phrases are compared, not skipped
    changed = _deviations(tmp_path, plan, ATG)
    assert len(changed) >= 5 and {d.kind for d in changed} <= {"changed", "removed", "added"}


def test_another_plan_without_its_own_text_is_refused_before_anything_is_made(
    tmp_path: Path, soffice: str
) -> None:
    grants = write_csv(tmp_path / "g.csv", [grant()])
    with pytest.raises(GrantgenError, match=r"plan\.docx.*'atg-1999', not that of plan 'bkt-2016'"):
        generate(GenerateOptions(grants=grants, out=tmp_path / "out", plan=other_plan(tmp_path)))
    assert not (tmp_path / "out").exists()


def test_another_plan_furnishes_its_own_pdf_and_no_word_of_the_bundled_plan(
    tmp_path: Path, soffice: str
) -> None:
    text_pdf = plan_pdf(tmp_path)
    plan_file = other_plan(tmp_path, document=text_pdf.name)
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="B-1")])
    result = generate(
        GenerateOptions(
            grants=grants, out=tmp_path / "out", plan=plan_file, prices=PRICES, strict=True
        )
    )
    assert not result.errors, result.errors
    (doc,) = result.documents
    pages = pdf_text(tmp_path / "out" / doc.pdf)
    furnished = pdf_text(text_pdf)
    assert pages[-len(furnished) :] == furnished  # the plan file's PDF, as it is
    agreement = " ".join(" ".join(p.split()) for p in pages[: -len(furnished)])
    for wording in (
        "Buckeye Tools Co., an Ohio corporation",
        "seventh anniversary",
        "expiration of seven (7)",
        "more than three years after",
        "2016 Director Stock Option Plan",
    ):
        assert wording in agreement, wording
    every = " ".join(pages + pdf_text(tmp_path / "out" / "review" / "board_consent.pdf"))
    assert [w for w in ATG_WORDS if w in every] == []
    with pikepdf.open(tmp_path / "out" / doc.pdf) as pdf:
        assert str(pdf.docinfo.get("/Author")) == "Buckeye Tools Co."
    assert result.review is not None and result.review.deviation_count == 0


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("missing.pdf", "no such file"),
        ("buckeye.toml", "must be a .docx or .pdf file"),
        ("fake.pdf", "is not a PDF file"),
    ],
)
def test_a_bad_plan_document_is_named(tmp_path: Path, value: str, needle: str) -> None:
    (tmp_path / "fake.pdf").write_text("not a pdf", encoding="utf-8")
    with pytest.raises(PlanError, match=rf"key 'plan\.document'.*{needle}"):
        load_plan(other_plan(tmp_path, document=value))


@pytest.mark.parametrize(
    ("company", "plan_name"),
    [
        ("O\u2019Neil & Sons, L.L.C.", "Directors\u2019 \u201cGrowth\u201d Option Plan"),
        ("Acme  Widgets Inc.", "2016  Director Plan"),
        ("Draft Holdings, Inc.", "Grant Plan \u00b7 2016"),
    ],
)
def test_names_with_typographic_quotes_spaces_or_draft_are_no_deviation(
    tmp_path: Path, company: str, plan_name: str
) -> None:
    text = other_plan(tmp_path).read_text(encoding="utf-8")
    text = text.replace('name = "Buckeye Tools Co."', f'name = "{company}"')
    text = text.replace('name = "2016 Director Stock Option Plan"', f'name = "{plan_name}"')
    path = tmp_path / "named.toml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    assert plan.company.name == company
    assert _deviations(tmp_path, plan, plan) == []


def test_a_paragraph_that_starts_like_a_mark_is_compared(tmp_path: Path) -> None:
    import docx

    for added in (
        "DRAFT provisions aside, the Company may cancel this option at any time.",
        "Grant terms \u00b7 the Company may cancel this option at any time.",
    ):
        folder = tmp_path / str(len(added))
        shutil.copytree(templates_dir(), folder)
        document = docx.Document(str(folder / "nso_agreement.docx"))
        document.add_paragraph(added)
        document.save(str(folder / "nso_agreement.docx"))
        record = read_grants(write_csv(tmp_path / "g.csv", [grant()])).records[0]
        rendered = TemplateSet(folder).render_grant_parts(record, ATG)
        found = DeviationCheck(form_text(), ATG).check(
            rendered.body, blank_values(record, ATG), record.participant
        )
        assert [(d.kind, d.rendered) for d in found] == [("added", added)]


def test_a_changed_plan_document_is_not_applied_silently_on_a_rerun(
    tmp_path: Path, soffice: str
) -> None:
    text_pdf = plan_pdf(tmp_path)
    plan_file = other_plan(tmp_path, document=text_pdf.name)
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="B-1"), grant(grant_id="B-2")])
    options = GenerateOptions(grants=grants, out=tmp_path / "out", plan=plan_file, prices=PRICES)
    first = generate(options)
    assert not first.errors and len(first.documents) == 2
    rerun = generate(GenerateOptions(**{**options.__dict__, "grants": grants}))  # unchanged
    assert not rerun.errors
    # the plan's text is corrected: another PDF under the same name
    (tmp_path / "buckeye-plan.txt").write_text("BUCKEYE TOOLS CO.\nCORRECTED PLAN TEXT\n")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "buckeye-plan.txt"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for _ in range(2):  # refused, and refused again: the refusal does not forget the copy
        refused = generate(options)
        assert len(refused.errors) == 2
        assert all("copy of the Plan it carries changed" in e["message"] for e in refused.errors)
        assert "CORRECTED" not in " ".join(pdf_text(tmp_path / "out" / "B-1.pdf"))
    drafts = generate(GenerateOptions(**{**options.__dict__, "draft": True}))
    assert not drafts.errors  # drafts have their own files; the finals' record stays
    assert len(generate(options).errors) == 2
    forced = generate(GenerateOptions(**{**options.__dict__, "force": True}))
    assert not forced.errors
    assert "CORRECTED" in " ".join(pdf_text(tmp_path / "out" / "B-1.pdf"))


def test_a_draft_marks_a_furnished_plan_pdf_and_leaves_out_its_fields(
    tmp_path: Path, soffice: str
) -> None:
    source = plan_pdf(tmp_path)
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:  # a field and a page script
        page = pdf.pages[0]
        widget = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Widget,
                FT=pikepdf.Name.Sig,
                T=pikepdf.String("company_signature"),
                Rect=[0, 0, 10, 10],
            )
        )
        page.obj.Annots = pikepdf.Array([widget])
        page.obj.AA = pikepdf.Dictionary(
            O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        )
        pdf.save(source)
    plan_file = other_plan(tmp_path, document=source.name)
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="B-1")])
    for draft in (True, False):
        out = tmp_path / f"out-{draft}"
        result = generate(
            GenerateOptions(
                grants=grants,
                out=out,
                plan=plan_file,
                prices=PRICES,
                draft=draft,
                ledger=tmp_path / "l.sqlite",
            )
        )
        assert not result.errors, result.errors
        (doc,) = result.documents
        pages = pdf_text(out / doc.pdf)
        assert ("DRAFT" in pages[-1]) is draft
        with pikepdf.open(out / doc.pdf) as packet:
            plan_page = packet.pages[-1].obj
            assert "/AA" not in plan_page and "/Annots" not in plan_page
            fields = [str(f.T) for f in packet.Root.AcroForm.Fields] if not draft else []
        assert fields == (
            [] if draft else ["company_signature", "participant_signature", "company_date"]
        )
        assert any("left out of the packets" in w["message"] for w in result.warnings)
