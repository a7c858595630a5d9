"""The form's "Dated:" line (issue 19): an empty read-only field in the final packet, filled
with the signer's local date when the Company signs with --dated, recorded in the manifest,
and any later change named by verify."""

# ruff: noqa: F811 - the fixtures imported from test_signing are parameters here
from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader

from generator.assembling.conformance import pdfa_problems
from generator.assembling.stamp import Appearance
from generator.core.output import sha256
from generator.signing.credentials import load_credentials
from generator.signing.signing import sign_pdf

from .signing_tools import PASSPHRASE, Pki, stamp_text
from .test_archival import _independent as independent
from .test_signing import (  # noqa: F401 - fixtures
    batch,
    batches,
    file_check,
    manifest,
    pki,
    reasons,
    run,
    verify_json,
)


def _widgets(pdf: Path) -> dict[str, tuple[int, dict[str, object]]]:
    found = {}
    for number, page in enumerate(PdfReader(str(pdf)).pages):
        for annot in page.get("/Annots") or []:
            widget = annot.get_object()
            found[str(widget.get("/T"))] = (number, widget)
    return found


def _sign(folder: Path, pki: Pki, *extra: object) -> None:
    result = run("sign", folder, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile,
                 *extra)  # fmt: skip
    assert result.exit_code == 0, result.output


def _countersign(signed: Path, pki: Pki) -> Path:
    final = signed.with_name(signed.name.replace(".signed", ".countersigned"))
    result = run(
        "sign", signed, "--field", "participant_signature", "--cert", pki.participant_p12,
        "--passphrase-file", pki.passfile, "-o", final,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return final


def _rewrite_date(pdf: Path, text: str) -> None:
    """Change the date line's value after the signatures, as an incremental update (form
    filling, which the Company's DocMDP level allows)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf.read_bytes()))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") == "company_date":
            field["/V"] = generic.pdf_string(text)
            writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    pdf.write_bytes(out.getvalue())


def test_a_final_packet_has_an_empty_read_only_field_over_the_dated_line(batch: Path) -> None:
    packet = batch / "SIG-001.pdf"
    placed = _widgets(packet)
    page, date = placed["company_date"]
    company_page, company = placed["company_signature"]
    assert date["/FT"] == "/Tx" and int(date["/Ff"]) & 1  # type: ignore[call-overload]
    assert "/V" not in date and "/StructParent" in date and int(date["/F"]) == 4  # type: ignore[call-overload]
    assert page == company_page
    _, bottom, right, _ = (float(v) for v in date["/Rect"])  # type: ignore[attr-defined]
    by_left, by_bottom = float(company["/Rect"][0]), float(company["/Rect"][1])  # type: ignore[index]
    assert right < by_left and abs(bottom - by_bottom) < 20  # beside "By:", on its line
    words = subprocess.run(
        ["pdftotext", "-f", str(page + 1), "-l", str(page + 1), "-layout", str(packet), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Dated:" in words
    assert pdfa_problems(packet.read_bytes()) == []


def test_sign_dated_writes_the_signers_local_date_and_stays_pdfa(batch: Path, pki: Pki) -> None:
    """17:47 on 5 December in Honolulu is 03:47 UTC on the 6th: the line says December 5."""
    when = datetime(2026, 12, 6, 3, 47, tzinfo=UTC)
    credentials = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    look = Appearance("Julie M.B. Bradley", "Officer", ZoneInfo("Pacific/Honolulu"), dated=True)
    out = batch / "dated.pdf"
    signed = sign_pdf(batch / "SIG-001.pdf", out, credentials, appearance=look, when=when)
    assert signed.dated == "December 5, 2026"
    assert stamp_text(out, "company_date") == "December 5, 2026"
    assert stamp_text(out, "company_signature").endswith("Date: December 5, 2026")
    assert PdfReader(str(out)).get_fields()["company_date"]["/V"] == "December 5, 2026"  # type: ignore[index]
    assert pdfa_problems(out.read_bytes()) == []
    independent(out)  # pikepdf and poppler: PDF/A id, tagged, every font embedded, once
    if shutil.which("qpdf"):
        check = subprocess.run(["qpdf", "--check", str(out)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_dated_signing_is_recorded_verified_and_survives_the_countersignature(
    batch: Path, pki: Pki
) -> None:
    _sign(batch, pki, "--dated", "--tz", "Asia/Tokyo")
    record = manifest(batch)["documents"][0]["signed"]
    day = record["dated"]
    assert day.endswith(str(datetime.now(ZoneInfo("Asia/Tokyo")).year)) or day.endswith(
        str(datetime.now(UTC).year)
    )
    signed = batch / "SIG-001.signed.pdf"
    assert stamp_text(signed, "company_date") == day
    final = _countersign(signed, pki)
    code, report = verify_json(batch, pki.ca)
    assert code == 0, reasons(file_check(report, final.name))
    assert pdfa_problems(final.read_bytes()) == []
    independent(final)


def test_a_date_line_changed_after_the_signatures_is_caught(batch: Path, pki: Pki) -> None:
    _sign(batch, pki, "--dated")
    day = manifest(batch)["documents"][0]["signed"]["dated"]
    final = _countersign(batch / "SIG-001.signed.pdf", pki)
    _rewrite_date(final, "January 2, 2020")
    code, report = verify_json(batch, pki.ca)
    assert code == 1
    said = reasons(file_check(report, final.name))
    assert "the date line was changed after the last signature" in said
    assert f"the Company signed it {day!r}, it now reads 'January 2, 2020'" in said
    assert file_check(report, "SIG-001.signed.pdf")["ok"]


def test_a_blank_date_line_filled_in_later_is_caught(batch: Path, pki: Pki) -> None:
    _sign(batch, pki)  # without --dated: the line stays blank, and must
    assert "dated" not in manifest(batch)["documents"][0]["signed"]
    signed = batch / "SIG-001.signed.pdf"
    _rewrite_date(signed, "May 16, 2005")
    code, report = verify_json(batch, pki.ca)
    assert code == 1
    assert "the Company signed it 'blank', it now reads 'May 16, 2005'" in reasons(
        file_check(report, signed.name)
    )


def test_a_manifest_whose_recorded_date_differs_is_caught(batch: Path, pki: Pki) -> None:
    _sign(batch, pki, "--dated")
    data = manifest(batch)
    data["documents"][0]["signed"]["dated"] = "January 1, 2000"
    (batch / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    code, report = verify_json(batch, pki.ca)
    assert code == 1
    assert "the manifest records the date line as 'January 1, 2000'" in reasons(
        file_check(report, "SIG-001.signed.pdf")
    )


def test_dated_needs_a_date_line_and_the_companys_field(batch: Path, pki: Pki) -> None:
    packet = batch / "SIG-001.pdf"
    with pikepdf.open(packet, allow_overwriting_input=True) as pdf:  # a form without one
        for page in pdf.pages:
            annots = [a for a in page.obj.get("/Annots", []) if a.get("/T") != "company_date"]
            page.obj.Annots = pikepdf.Array(annots)
        form = pdf.Root.AcroForm
        form.Fields = pikepdf.Array([f for f in form.Fields if f.get("/T") != "company_date"])
        pdf.save(packet)
    data = manifest(batch)
    data["documents"][0]["sha256"]["pdf"] = sha256(packet.read_bytes())
    (batch / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = run("sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile,
                 "--dated")  # fmt: skip
    assert result.exit_code == 1
    assert "SIG-001.pdf: the packet has no date line to fill" in result.output
    assert "Word bookmark 'company_date'" in result.output
    assert not (batch / "SIG-001.signed.pdf").exists()
    wrong = run("sign", batch / "SIG-002.pdf", "--field", "participant_signature", "--cert",
                pki.participant_p12, "--passphrase-file", pki.passfile, "--dated")  # fmt: skip
    assert wrong.exit_code == 2 and "--dated fills the date of the Company's signature" in (
        wrong.output
    )


@pytest.fixture(autouse=True)
def _poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils is not installed")
