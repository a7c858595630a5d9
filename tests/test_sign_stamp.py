"""The visible signature shows names and titles in any script grantgen accepts: each character
in an installed font that has it (Liberation Sans, DejaVu, FreeFont, Noto CJK), wrapped to the
field, never set smaller than the minimum type size. The batches, the test PKI and the CLI
runner are those of tests/test_signing.py.
"""
# ruff: noqa: F811 - the fixtures imported from test_signing are parameters here

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from generator.assembling.stamp import STAMP_MIN_SIZE, Appearance
from generator.core.errors import SigningError
from generator.pipeline import GenerateOptions, generate
from generator.signing.credentials import load_credentials
from generator.signing.signing import sign_pdf

from .signing_tools import PASSPHRASE, Pki, independent_agree, make_signer, stamp_text
from .test_signing import pki, run, verify_json  # noqa: F401 - fixtures

NAMES = {
    "LAT-001": 'Zoë O\'Brien-Łukasz & Sons <Trust> "QA"',
    "GRK-001": "Ελένη Παπαδοπούλου",
    "CJK-001": "王小明",
    "MIX-001": "Łucja Ελένη 王小明",
}


@pytest.fixture(scope="session")
def intl_batch(tmp_path_factory: pytest.TempPathFactory, soffice: str) -> Path:
    root = tmp_path_factory.mktemp("intl")
    grants = root / "intl.csv"
    with grants.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["grant_id", "participant", "grant_date", "shares", "exercise_price"])
        for gid, name in NAMES.items():
            out.writerow([gid, name, "2005-05-16", "15000", "3.25"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRANTGEN_LEDGER", str(root / "ledger.sqlite"))
        result = generate(GenerateOptions(grants=grants, out=root / "batch"))
    assert len(result.documents) == len(NAMES), result.errors
    return root / "batch"


def creds(pki: Pki) -> list[object]:
    return ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]


def font_sizes(pdf: Path, field: str) -> list[float]:
    for page in PdfReader(pdf).pages:
        for annot in page.get("/Annots") or []:
            widget = annot.get_object()
            if widget.get("/T") == field:
                data = widget["/AP"]["/N"].get_object().get_data()
                return [float(v) for v in re.findall(rb"/F\d+ ([\d.]+) Tf", data)]
    raise AssertionError(field)


@pytest.mark.parametrize("grant", list(NAMES))
def test_participant_name_in_any_script_is_shown_exactly(
    intl_batch: Path, pki: Pki, tmp_path: Path, grant: str
) -> None:
    batch = Path(shutil.copytree(intl_batch, tmp_path / "batch"))
    name = NAMES[grant]
    company = run("sign", batch / f"{grant}.pdf", *creds(pki))
    assert company.exit_code == 0, company.output
    assert stamp_text(batch / f"{grant}.signed.pdf", "company_signature").startswith(
        "Digitally signed by Julie M.B. Bradley Senior Vice President"
    )
    cert = make_signer(pki, tmp_path, name, "participant")
    result = run(
        "sign", batch / f"{grant}.signed.pdf", "--field", "participant_signature",
        "--cert", cert, "--passphrase-file", pki.passfile,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    final = batch / f"{grant}.countersigned.pdf"
    shown = stamp_text(final, "participant_signature")
    assert shown.startswith(f"Digitally signed by {name} Date: "), shown
    assert min(font_sizes(final, "participant_signature")) >= STAMP_MIN_SIZE
    code, report = verify_json(final, pki.ca)
    assert code == 0, report
    independent_agree(final, pki.ca, ok=True)


def test_officer_name_and_long_title_wrap_in_readable_type(
    intl_batch: Path, pki: Pki, tmp_path: Path
) -> None:
    title = (
        "Président & Directeur Général — Senior Vice President, Chief Financial Officer, "
        "Treasurer, Assistant Secretary and Principal Accounting Officer of the Company"
    )
    name = 'Łucja "Ela" O\'Brien <王小明> & Ελένη'
    creds_ = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    out = tmp_path / "signed.pdf"
    sign_pdf(intl_batch / "LAT-001.pdf", out, creds_, appearance=Appearance(name, title))
    shown = stamp_text(out, "company_signature")
    assert shown.startswith(f"Digitally signed by {name} Président & Directeur Général — "), shown
    assert re.search(r" Date: \w+ \d{1,2}, \d{4}$", shown), shown
    assert min(font_sizes(out, "company_signature")) >= STAMP_MIN_SIZE
    if not shown.count("Principal Accounting Officer of the Company"):
        assert "…" in shown  # shortened rather than set in unreadable type
    _, report = verify_json(out, pki.ca)
    (sig,) = report["files"][0]["signatures"]
    assert sig["intact"] and sig["trusted"] and sig["changes_after"] == "none"


def test_a_name_no_installed_font_can_show_is_refused_naming_the_character(
    intl_batch: Path, pki: Pki, tmp_path: Path
) -> None:
    name = "Ann \U00013000 Lee"  # EGYPTIAN HIEROGLYPH A001: in none of the fonts grantgen uses
    creds_ = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    out = tmp_path / "signed.pdf"
    with pytest.raises(SigningError, match=r"cannot show .*U\+13000 EGYPTIAN HIEROGLYPH A001"):
        sign_pdf(intl_batch / "LAT-001.pdf", out, creds_, appearance=Appearance(name))
    assert not out.exists()
    batch = Path(shutil.copytree(intl_batch, tmp_path / "batch"))
    cert = make_signer(pki, tmp_path, name, "hieroglyph")
    result = run(
        "sign", batch, "--field", "participant_signature", "--cert", cert,
        "--passphrase-file", pki.passfile,
    )  # fmt: skip
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()  # once, before any packet is signed
    assert line.startswith("error: the visible signature cannot show ") and "U+13000" in line
    assert not list(batch.glob("*.signed.pdf"))
