"""Another company's kit from spreadsheet to verified signatures (real LibreOffice): a grant
notice signed on the notice itself with a company block without "By:", and an agreement with
its own acceptance page; nothing of the bundled ATG form in any output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from generator.cli import main
from generator.terms.kit import init_kit

from .conftest import write_csv
from .signing_tools import make_pki, make_signer
from .test_kit import ATG_WORDS, edit_docx, replace_text

HEADER = ["grant_id", "participant", "address", "grant_date", "shares", "exercise_price"]
ROWS = [
    {
        "grant_id": "MLS-1",
        "participant": "Priya Raman-Okafor",
        "address": "41 Orchard Lane / Palo Alto, CA 94301",
        "grant_date": "2025-06-16",
        "shares": "12,000",
        "exercise_price": "$18.40",
    },
    {
        "grant_id": "MLS-2",
        "participant": 'Zoë O\'Brien & Sons <Trust> "QA"',
        "address": "1 Main Street",
        "grant_date": "2025-06-16",
        "shares": "7,500",
        "exercise_price": "18.40",
    },
]


def run(*args: object, ok: bool = True) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def underscore_lines(pdf: Path, page: int) -> list[tuple[float, float, float, float]]:
    """Runs of underscores on a page as poppler's pdftotext sees them, in PDF units
    (left, bottom, right, top)."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page + 1), "-l", str(page + 1), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    height = float(re.search(r'<page width="[^"]+" height="([^"]+)"', xml).group(1))  # type: ignore[union-attr]
    out = []
    for m in re.finditer(
        r'<word xMin="([^"]+)" yMin="([^"]+)" xMax="([^"]+)" yMax="([^"]+)">_{3,}</word>', xml
    ):
        x1, y1, x2, y2 = map(float, m.groups())
        out.append((x1, height - y2, x2, height - y1))
    return out


def fields(pdf: Path) -> dict[str, tuple[int, list[float]]]:
    """Signature fields: name -> (page, rectangle)."""
    found = {}
    with pikepdf.open(pdf) as doc:
        for n, page in enumerate(doc.pages):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/FT") == "/Sig":
                    found[str(annot.T)] = (n, [float(v) for v in annot.Rect])
    return found


def outline(pdf: Path) -> list[str]:
    with pikepdf.open(pdf) as doc, doc.open_outline() as tree:
        return [item.title for item in tree.root]


def plan_start(pdf: Path) -> int:
    """The page the packet's Plan starts on (its last outline entry)."""
    with pikepdf.open(pdf) as doc, doc.open_outline() as tree:
        target = tree.root[-1].destination[0]
        return next(n for n, page in enumerate(doc.pages) if page.obj.objgen == target.objgen)


def over_a_line(pdf: Path, page: int, rect: list[float]) -> bool:
    """The field covers a run of underscores poppler finds: the same left and right edge
    within a point, the line inside the field's height."""
    return any(
        abs(rect[0] - x1) < 1.5 and abs(rect[2] - x2) < 1.5 and rect[1] <= y2 and y1 <= rect[3]
        for x1, y1, x2, y2 in underscore_lines(pdf, page)
    )


def all_output_text(folder: Path) -> str:
    """Every word a batch folder shows: PDF text, metadata and outline; the review's files;
    the Word files' text."""
    texts = []
    for pdf in folder.rglob("*.pdf"):
        texts.append(pdftotext(pdf))
        with pikepdf.open(pdf) as doc:
            texts += [str(v) for v in doc.docinfo.values()]
        texts += outline(pdf)
    for docx in folder.rglob("*.docx"):
        document = Document(str(docx))
        texts += [p.text for p in document.paragraphs]
        texts += [c.text for t in document.tables for r in t.rows for c in r.cells]
        texts += [document.core_properties.title or "", document.core_properties.subject or ""]
    for name in ("summary.html", "summary.csv"):
        texts += [p.read_text(encoding="utf-8") for p in folder.rglob(name)]
    return "\n".join(texts)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_pki(tmp_path_factory.mktemp("kitpki"))


@pytest.mark.soffice
def test_a_grant_notice_kit_from_init_to_verified_signatures(
    tmp_path: Path, soffice: str, pki: Any
) -> None:
    kit = tmp_path / "kit"
    run("init", kit)
    grants = write_csv(tmp_path / "grants.csv", ROWS, HEADER)
    ledger = tmp_path / "ledger.sqlite"
    common = ["--plan", kit, "--ledger", ledger, "--prices", kit / "sample-prices.csv"]
    run("validate", grants, "--plan", kit, "--ledger", ledger)

    drafts = tmp_path / "drafts"
    run("generate", grants, *common, "--out", drafts, "--draft")
    draft = drafts / "MLS-1.draft.pdf"
    assert fields(draft) == {}  # located (a draft fails where a final would), not added
    assert "DRAFT" in pdftotext(draft)

    batch = tmp_path / "batch"
    run("generate", grants, *common, "--out", batch, "--strict")
    manifest = json.loads((batch / "manifest.json").read_text())
    assert manifest["kit"]["plan"] == "meridian-2024"
    assert manifest["review"]["deviations"] == 0  # the untouched templates
    for row in ROWS:
        pdf = batch / f"{row['grant_id']}.pdf"
        placed = fields(pdf)
        assert set(placed) == {"company_signature", "participant_signature"}
        pages = {page for page, _ in placed.values()}
        assert len(pages) == 1  # both sign on the notice, on its last page
        for page, rect in placed.values():
            assert over_a_line(pdf, page, rect), (pdf.name, rect)
            assert page == plan_start(pdf) - 1  # the notice's last page
        assert placed["company_signature"][1][0] < placed["participant_signature"][1][0]
        with pikepdf.open(pdf) as doc:
            assert str(doc.docinfo.Title) == f"Stock Option Grant Notice: {row['participant']}"
            assert "2024 Non-Employee Director Equity Incentive Plan" in str(doc.docinfo.Subject)
        assert outline(pdf) == ["Stock Option Grant Notice", "Plan"]
    assert "Stock Option Grant Notice" in (batch / "review" / "summary.html").read_text()

    officer = make_signer(pki, tmp_path, "Dana R. Whitfield", "officer")
    run("sign", batch, "--cert", officer, "--passphrase-file", pki.passfile)  # no --plan
    verified = run("verify", batch, "--trust", pki.ca)
    assert "MLS-1.signed.pdf" in verified.output

    text = all_output_text(batch) + all_output_text(drafts)
    assert "Meridian Lattice Systems, Inc." in text
    for word in ATG_WORDS:
        assert word not in text, word


@pytest.mark.soffice
def test_one_changed_word_is_one_deviation(tmp_path: Path, soffice: str) -> None:
    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    edit_docx(kit / "templates" / "option_notice.docx", replace_text("pledged", "mortgaged"))
    grants = write_csv(tmp_path / "grants.csv", ROWS[:1], HEADER)
    out = tmp_path / "out"
    result = run(
        "generate", grants, "--plan", kit, "--ledger", tmp_path / "l.sqlite", "--out", out,
        "--draft",
    )  # fmt: skip
    assert "1 deviation(s) from the approved form" in result.output
    found = json.loads((out / "manifest.json").read_text())["documents"][0]["deviations"]
    assert [d["kind"] for d in found] == ["changed"]
    assert ["delete", "pledged"] in found[0]["diff"] or any(
        op == "delete" and "pledged" in t for op, t in found[0]["diff"]
    )
    strict = run(
        "generate", grants, "--plan", kit, "--ledger", tmp_path / "l.sqlite", "--out",
        tmp_path / "final", "--strict", "--prices", kit / "sample-prices.csv", ok=False,
    )  # fmt: skip
    assert strict.exit_code == 1 and "deviation" in strict.output


def _bookmark(paragraph: Any, name: str, number: int) -> None:
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), str(number))
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), str(number))
    paragraph._p.insert(0, end)
    paragraph._p.insert(0, start)


def _agreement_style(kit: Path) -> None:
    """The notice becomes an agreement signed by the Company on a "By:" line, the director
    signing on an acceptance page of its own."""

    def company_by_line(document: Any) -> None:
        for start in list(document.element.body.iter(qn("w:bookmarkStart"))):
            if start.get(qn("w:name")) == "participant_signature":
                start.set(qn("w:name"), "former_place")  # not a *_signature bookmark
        for cell in document.tables[-1].rows[0].cells[:1]:
            for paragraph in cell.paragraphs:
                if paragraph.text.startswith("____"):
                    for run in paragraph.runs:
                        run.text = run.text.replace("____", "By: ____", 1)
                    break

    edit_docx(kit / "templates" / "option_notice.docx", company_by_line)
    page = Document()
    page.add_paragraph("ACCEPTANCE BY THE DIRECTOR")
    page.add_paragraph(
        "The undersigned accepts the foregoing option on its terms and acknowledges receipt "
        "of a copy of the {{ plan.short_name }}."
    )
    line = page.add_paragraph("__________________________________")
    _bookmark(line, "participant_signature", 41)
    page.add_paragraph("{{ participant }}")
    page.save(str(kit / "templates" / "acceptance.docx"))
    text = (kit / "plan.toml").read_text()
    text = text.replace(
        'template = "templates/option_notice.docx"',
        'template = "templates/option_notice.docx"\nacceptance = "templates/acceptance.docx"\n'
        'acceptance_outline = "Acceptance by the Director"',
    )
    (kit / "plan.toml").write_text(text)


@pytest.mark.soffice
def test_an_agreement_with_its_own_acceptance_page(tmp_path: Path, soffice: str) -> None:
    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    _agreement_style(kit)
    run("approve", kit, "--by", "Avery Counsel")
    run("check-templates", kit)
    grants = write_csv(tmp_path / "grants.csv", ROWS, HEADER)
    out = tmp_path / "out"
    run("generate", grants, "--plan", kit, "--ledger", tmp_path / "l.sqlite", "--out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["review"]["deviations"] == 0
    pdf = out / "MLS-2.pdf"
    assert outline(pdf) == ["Stock Option Grant Notice", "Acceptance by the Director", "Plan"]
    placed = fields(pdf)
    company_page, company = placed["company_signature"]
    participant_page, participant = placed["participant_signature"]
    assert participant_page == company_page + 1  # on the acceptance page
    assert over_a_line(pdf, participant_page, participant)
    # the Company's field lies over the underscores after "By:", not over the label
    lines = underscore_lines(pdf, company_page)
    assert any(abs(company[0] - x1) < 1.5 for x1, _, _, _ in lines)
    words = pdftotext(pdf)
    assert "By:" in words and "ACCEPTANCE BY THE DIRECTOR" in words


@pytest.mark.soffice
def test_a_draft_fails_where_the_final_would(tmp_path: Path, soffice: str) -> None:
    """The bundled templates' Company field is found under "By:": a template without it
    fails the draft (and preview) as the final run would, naming the field."""
    from generator.core.resources import templates_dir

    folder = Path(shutil.copytree(templates_dir(), tmp_path / "templates"))
    edit_docx(folder / "nso_agreement.docx", replace_text("By:", "Per:"))
    from .conftest import PRICES, SAMPLE

    out = tmp_path / "out"
    result = run(
        "generate", SAMPLE, "--prices", PRICES, "--templates", folder, "--ledger",
        tmp_path / "l.sqlite", "--out", out, "--draft", ok=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no signature line for company_signature" in result.output


def readme_walkthrough() -> list[list[str]]:
    """The commands of the README's "Your own forms" walkthrough, as argument lists."""
    import shlex

    from .conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own forms", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console", 1)[1].split("```", 1)[0]
    return [shlex.split(line[2:])[1:] for line in block.splitlines() if line.startswith("$ ")]


@pytest.mark.soffice
def test_the_readme_walkthrough_runs_step_by_step(
    tmp_path: Path, soffice: str, pki: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = readme_walkthrough()
    assert [s[0] for s in steps] == [
        "init", "check-templates", "generate", "approve", "generate", "sign", "verify",
    ]  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRANTGEN_ACCEPT_SAMPLES", raising=False)  # as a user runs it
    make_signer(pki, tmp_path, "Dana R. Whitfield", "officer")  # officer.p12, in the cwd
    shutil.copy(pki.passfile, "pass.txt")
    shutil.copy(pki.ca, "ca.pem")
    for step in steps:
        if "--strict" in step:  # what the README asks first: the officer and Board made ours
            plan = Path("acme-kit/plan.toml")
            text = plan.read_text(encoding="utf-8")
            kept = [line for line in text.splitlines() if not line.startswith('"company.officer"')]
            kept = [line for line in kept if not line.startswith('"board.directors"')]
            assert len(kept) == len(text.splitlines()) - 2
            plan.write_text("\n".join(kept) + "\n", encoding="utf-8")
        result = CliRunner().invoke(main, step)
        assert result.exit_code == 0, (step, result.output)
    assert len(list(Path("acme-batch").glob("*.signed.pdf"))) == 4  # 3 options, 1 RSU
    assert "all files ok" in result.output or "ok" in result.output


@pytest.mark.soffice
def test_a_kits_date_line_is_its_bookmark_and_sign_dated_fills_it(
    tmp_path: Path, soffice: str, pki: Any
) -> None:
    """A "Date: ____" line a kit marks with the bookmark company_date gets the read-only
    field over its underscores; `sign --dated` writes the day there, and verify passes."""
    from .signing_tools import stamp_text

    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    _agreement_style(kit)

    def date_line(document: Any) -> None:
        line = document.add_paragraph("Date: ______________________")
        _bookmark(line, "company_date", 57)

    edit_docx(kit / "templates" / "option_notice.docx", date_line)
    run("approve", kit, "--by", "Avery Counsel")
    run("check-templates", kit)
    grants = write_csv(tmp_path / "grants.csv", ROWS[:1], HEADER)
    out = tmp_path / "out"
    run("generate", grants, "--plan", kit, "--ledger", tmp_path / "l.sqlite", "--out", out)
    pdf = out / "MLS-1.pdf"
    with pikepdf.open(pdf) as doc:
        found = [
            (n, [float(v) for v in a.Rect], int(a.Ff))
            for n, page in enumerate(doc.pages)
            for a in page.obj.get("/Annots", [])
            if a.get("/T") == "company_date"
        ]
    assert len(found) == 1
    page, rect, flags = found[0]
    assert flags & 1 and over_a_line(pdf, page, rect)
    officer = make_signer(pki, tmp_path, "Dana R. Whitfield", "officer")
    run("sign", out, "--cert", officer, "--passphrase-file", pki.passfile, "--dated",
        "--tz", "America/Los_Angeles")  # fmt: skip
    recorded = json.loads((out / "manifest.json").read_text())["documents"][0]["signed"]
    assert stamp_text(out / "MLS-1.signed.pdf", "company_date") == recorded["dated"]
    assert "ok" in run("verify", out, "--trust", pki.ca).output
