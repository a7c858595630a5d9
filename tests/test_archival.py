"""Documents a law firm files and archives (issue 19): Word-native DOCX with honest
properties, spreadsheets a plain import reads, all checked with a validator grantgen did not
write (openxml-audit)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from generator.pipeline import GenerateOptions, GenerateResult, generate

from .conftest import grant, write_csv

AUDIT = Path(sys.executable).with_name("openxml-audit")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, soffice: str) -> GenerateResult:
    root = tmp_path_factory.mktemp("archival")
    rows = [
        grant(grant_id="A-1", participant="Zoë O'Brien & <Sons>", grant_date="2005-05-16"),
        grant(grant_id="A-2", participant="Henrik Solberg", grant_date="2005-06-01"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRANTGEN_LEDGER", str(root / "l.sqlite"))
        return generate(GenerateOptions(grants=write_csv(root / "g.csv", rows), out=root / "b"))


def _audit(path: Path) -> str:
    if not AUDIT.exists():
        pytest.skip("openxml-audit is not installed (pip install -e '.[dev]')")
    done = subprocess.run([str(AUDIT), str(path)], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_every_docx_and_xlsx_passes_openxml_audit(batch: GenerateResult) -> None:
    files = [*batch.out.glob("*.docx"), *(batch.out / "review").glob("*.docx")]
    files += list((batch.out / "review").glob("*.xlsx"))
    assert len(files) == 4
    for path in files:
        said = _audit(path)
        assert "Errors: 0" in said, f"{path.name}: {said}"


def test_docx_properties_are_the_grants_not_a_templates_leftovers(batch: GenerateResult) -> None:
    with zipfile.ZipFile(batch.out / "A-1.docx") as z:
        names = z.namelist()
        core = z.read("docProps/core.xml").decode()
        app = z.read("docProps/app.xml").decode()
        settings = z.read("word/settings.xml").decode()
        rels = z.read("_rels/.rels").decode() + z.read("word/_rels/document.xml.rels").decode()
    assert not [n for n in names if "thumbnail" in n or n == "word/stylesWithEffects.xml"]
    assert "thumbnail" not in rels and "stylesWithEffects" not in rels
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2005-05-16T00:00:00Z' in core
    assert "1980" not in core and "<dc:creator>Art Technology Group, Inc.</dc:creator>" in core
    assert "Zoë O&#x27;Brien" in core or "Zoë O'Brien &amp; &lt;Sons&gt;" in core
    assert "Macintosh" not in app and "<Application>grantgen</Application>" in app
    assert re.search(r'w:name="compatibilityMode"[^>]*w:val="15"', settings)


def test_summary_csv_is_one_table_and_the_totals_are_their_own_file(
    batch: GenerateResult,
) -> None:
    import csv
    import io

    review = batch.out / "review"
    lines = list(csv.reader(io.StringIO((review / "summary.csv").read_text("utf-8-sig"))))
    assert [] not in lines and len(lines) == 3 and lines[0][:2] == ["row", "grant_id"]
    assert all(len(line) == len(lines[0]) for line in lines)
    totals = list(csv.reader(io.StringIO((review / "totals.csv").read_text("utf-8-sig"))))
    assert totals[0] == ["total", "number"] and ["Grants in the batch", "2"] in totals


def test_summary_xlsx_is_written_by_a_library_with_a_theme_and_human_headers(
    batch: GenerateResult,
) -> None:
    import openpyxl

    path = batch.out / "review" / "summary.xlsx"
    with zipfile.ZipFile(path) as z:
        assert "xl/theme/theme1.xml" in z.namelist()
    sheet = openpyxl.load_workbook(path)["Grants"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Row", "Grant", "Participant", "Grant date", "Shares"]
    assert not [h for h in header if h and "_" in h]


@pytest.mark.soffice
def test_a_sample_signing_officer_refuses_final_documents_until_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the bundled plan marks its officer, effective date and stockholder approval
    as samples: validate warns, a final run is refused naming the officer and what to do, a
    draft run is not, and --accept-samples makes the final batch (the samples then notes)."""
    from click.testing import CliRunner

    from generator.cli import main

    monkeypatch.delenv("GRANTGEN_ACCEPT_SAMPLES", raising=False)
    path = write_csv(tmp_path / "g.csv", [grant()])
    checked = CliRunner().invoke(main, ["validate", str(path)])
    assert checked.output.count("sample-value") == 3 and "4 warning(s)" in checked.output
    args = ["generate", str(path), "--ledger", str(tmp_path / "l.sqlite")]
    refused = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "final")])
    assert refused.exit_code == 1
    assert "the signing officer 'Julie M.B. Bradley' is a sample value" in refused.output
    assert "--accept-samples" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "final").exists() and not (tmp_path / "l.sqlite").exists()
    draft = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "d"), "--draft"])
    assert draft.exit_code == 0, draft.output
    made = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "f"), "--accept-samples"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "f" / "G-1.pdf").is_file()


def test_samples_must_name_keys_the_plan_file_sets(tmp_path: Path) -> None:
    from generator.core.errors import PlanError
    from generator.terms.plan import default_plan, load_plan

    text = default_plan().read_text(encoding="utf-8")
    bad = tmp_path / "p.toml"
    bad.write_text(text.replace('"plan.effective_date" =', '"plan.efective_date" ='), "utf-8")
    with pytest.raises(PlanError, match=r"names 'plan\.efective_date', which this plan file"):
        load_plan(bad)


# --- PDF/A-2b, tagged ------------------------------------------------------------------------


def _independent(pdf_path: Path, *, one_font_each: bool = True) -> None:
    """What pikepdf and poppler see, without grantgen's checker: PDF/A-2 identification,
    tagged, a language, every font embedded, no subset tag shared by two fonts."""
    import pikepdf

    with pikepdf.open(pdf_path) as pdf:
        meta = pdf.open_metadata()
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")
        assert "/StructTreeRoot" in pdf.Root and bool(pdf.Root.MarkInfo.Marked)
        assert str(pdf.Root.Lang) and "/OutputIntents" in pdf.Root
        assert pdf.pdf_version >= "1.4"
    if shutil.which("pdffonts") is None:
        return
    listed = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, text=True)
    rows = [line.split() for line in listed.stdout.splitlines()[2:]]
    assert rows and all(row[-5] == "yes" for row in rows), listed.stdout  # emb
    names = [row[0] for row in rows]
    if one_font_each:  # (in the review packet, chunks may embed the same subset twice)
        assert len(set(names)) == len(names), listed.stdout
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info


def test_packets_and_consent_are_pdfa_2b_tagged_before_and_after_both_signatures(
    batch: GenerateResult, tmp_path: Path
) -> None:
    from generator.assembling.conformance import pdfa_problems
    from generator.signing.credentials import load_credentials
    from generator.signing.signing import sign_pdf

    from .signing_tools import PASSPHRASE, make_pki

    made = [batch.out / d.pdf for d in batch.documents]
    for pdf in [*made, batch.out / "review" / "board_consent.pdf"]:
        assert pdfa_problems(pdf) == [], pdf.name
        _independent(pdf)
    review = batch.out / "review" / "packet.pdf"
    assert pdfa_problems(review) == []
    _independent(review, one_font_each=False)
    pki = make_pki(tmp_path)
    company = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    director = load_credentials(pki.participant_p12, passphrase=PASSPHRASE)
    signed, both = tmp_path / "signed.pdf", tmp_path / "both.pdf"
    sign_pdf(made[0], signed, company)
    sign_pdf(signed, both, director, field="participant_signature")
    for pdf in (signed, both):
        assert pdfa_problems(pdf) == [], pdf.name
        _independent(pdf)


def test_the_conformance_check_names_what_is_missing(batch: GenerateResult) -> None:
    import pikepdf

    from generator.assembling.conformance import pdfa_problems

    plain = pikepdf.new()
    plain.add_blank_page()
    said = " | ".join(pdfa_problems(plain))
    for missing in ("XMP", "OutputIntent", "/Lang", "StructTreeRoot"):
        assert missing in said, said
    with pikepdf.open(batch.out / batch.documents[0].pdf) as packet:
        del packet.Root.MarkInfo
        packet.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
        )
        said = " | ".join(pdfa_problems(packet))
    assert "MarkInfo" in said and "JavaScript" in said, said


def test_the_board_consent_names_the_plan_files_directors_and_counts_in_words(
    tmp_path: Path, soffice: str
) -> None:
    """Issue 19: one signature line per director of [board] directors, each named; one grant
    is "1 option", not "1 option(s)"; a plan file without directors is told so (a note)."""
    from click.testing import CliRunner
    from pypdf import PdfReader

    from generator.cli import main

    kit = Path(__file__).parents[1] / "data" / "kits" / "meridian"
    rows = (kit / "sample-grants.csv").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "one.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    made = CliRunner().invoke(
        main,
        ["generate", str(path), "--plan", str(kit), "--prices", str(kit / "sample-prices.csv"),
         "--out", str(tmp_path / "b"), "--ledger", str(tmp_path / "l")],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    consent = tmp_path / "b" / "review" / "board_consent.pdf"
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(consent).pages).split())
    for director in ("Priya Raman-Okafor", "Henrik Solberg", "Tomás Ibarra"):
        assert f"{director} Director" in text
    assert text.count("Director Date:") == 4
    assert "1 option covering 12,000 shares" in text and "option(s)" not in text
    checked = CliRunner().invoke(main, ["validate", str(write_csv(tmp_path / "g.csv", [grant()]))])
    assert "names no directors ([board] directors)" in checked.output


def test_a_furnished_plan_pdf_whose_fonts_are_not_embedded_is_refused(tmp_path: Path) -> None:
    """Issue 19: a Plan PDF that would keep every packet from being PDF/A (fonts it does not
    embed) is refused by check-templates and generate, with what to do."""
    import pikepdf
    from click.testing import CliRunner

    from generator.cli import main

    kit = tmp_path / "k"
    assert CliRunner().invoke(main, ["init", str(kit)]).exit_code == 0
    pdf = pikepdf.new()
    page = pdf.add_blank_page()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                           BaseFont=pikepdf.Name("/Helvetica"))
    )  # fmt: skip
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 700 Td (The Plan) Tj ET")
    pdf.save(kit / "plan.pdf")
    plan = kit / "plan.toml"
    plan.write_text(
        plan.read_text("utf-8").replace('document = "plan.docx"', 'document = "plan.pdf"'), "utf-8"
    )
    checked = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert checked.exit_code == 1
    assert "plan.pdf" in checked.output and "does not embed (Helvetica)" in checked.output
    assert "export the Plan as PDF/A" in checked.output


def test_a_stated_consent_date_dates_the_consent_and_refuses_earlier_grants(
    tmp_path: Path, soffice: str
) -> None:
    """Issue 19: --consent-date dates the Board consent; a grant dated before it would be
    backdated, so it is refused (row, column grant_date, rule consent-date, plan section), in
    validate and in generate; a grant on or after it is made."""
    from click.testing import CliRunner
    from pypdf import PdfReader

    from generator.cli import main

    rows = [
        grant(grant_id="C-1", participant="Early Bird", grant_date="2005-06-09"),
        grant(grant_id="C-2", participant="On Time", grant_date="2005-06-10"),
    ]
    path = write_csv(tmp_path / "g.csv", rows)
    common = ["--ledger", str(tmp_path / "l.sqlite"), "--consent-date", "2005-06-10"]
    checked = CliRunner().invoke(main, ["validate", str(path), *common])
    assert checked.exit_code == 1
    line = next(x for x in checked.output.splitlines() if "consent-date" in x)
    assert line.split()[:5] == ["2", "grant_date", "C-1", "error", "consent-date"]
    assert "June 9, 2005 is before the Board consent's date June 10, 2005" in line
    made = CliRunner().invoke(main, ["generate", str(path), "--out", str(tmp_path / "b"), *common])
    assert made.exit_code == 1
    assert (tmp_path / "b" / "C-2.pdf").exists() and not (tmp_path / "b" / "C-1.pdf").exists()
    consent = tmp_path / "b" / "review" / "board_consent.pdf"
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(consent).pages).split())
    assert "Dated June 10, 2005" in text and "Early Bird" not in text
    bad = CliRunner().invoke(main, ["validate", str(path), "--consent-date", "10/06/2005"])
    assert bad.exit_code == 2 and "'10/06/2005' is not a date (YYYY-MM-DD)" in bad.output
