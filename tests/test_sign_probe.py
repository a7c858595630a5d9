"""grantgen sign / verify: the defects a probe of issue 7 found, each reproduced on a real batch.

The batches, the test PKI and the CLI runner are those of tests/test_signing.py.
"""
# ruff: noqa: F811 - the fixtures imported from test_signing are parameters here

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

import generator.signing.signing
import generator.terms.manifest
from generator.core.output import sha256
from generator.pipeline import GenerateOptions, generate
from generator.terms.manifest import journal_path

from .signing_tools import Pki, draw_over_text, make_encipher_only, stamp_text, tsa_server
from .test_signing import (  # noqa: F401 - fixtures
    batch,
    batches,
    file_check,
    manifest,
    pki,
    reasons,
    run,
    signed,
    verify_json,
)


def creds(pki: Pki) -> list[object]:
    return ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]


def participant(pki: Pki) -> list[object]:
    return ["--cert", pki.participant_p12, "--passphrase-file", pki.passfile]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- 1. the participant signs on top of the Company's signed copy -----------------------------


def test_folder_countersignature_goes_on_top_of_the_company_signed_copy(
    signed: Path, pki: Pki
) -> None:
    before = snapshot(signed)
    company = [d["signed"] for d in manifest(signed)["documents"]]
    result = run("sign", signed, "--field", "participant_signature", *participant(pki))
    assert result.exit_code == 0, result.output
    # Margaret's certificate countersigns her grant only; Daniel's is his to sign
    assert "1 signed" in result.stdout and not (signed / "SIG-002.countersigned.pdf").exists()
    assert "SIG-002.signed.pdf: the grant is Daniel K. Osei's" in result.stdout  # the file signed
    anyone = run(
        "sign", signed, "--field", "participant_signature", "--any-signer", *participant(pki)
    )
    assert anyone.exit_code == 0 and "1 signed" in anyone.stdout, anyone.output
    for name, data in before.items():  # nothing that was there was replaced
        if name != "manifest.json":
            assert (signed / name).read_bytes() == data, name
    for doc, record in zip(manifest(signed)["documents"], company, strict=True):
        later = doc["signed"].pop("countersigned")
        assert doc["signed"] == record  # the Company's record is kept as it was
        (mine,) = later
        assert mine["field"] == "participant_signature"
        assert mine["signer"] == "Margaret A. Ellison"
        data = (signed / mine["pdf"]).read_bytes()
        assert mine["pdf"].endswith(".countersigned.pdf") and sha256(data) == mine["sha256"]
        assert data.startswith(before[record["pdf"]])  # an incremental countersignature
    code, report = verify_json(signed, pki.ca)
    assert code == 1  # Daniel's field carries Margaret's signature: said
    for name in ("SIG-001.countersigned.pdf", "SIG-002.countersigned.pdf"):
        fields = [s["field"] for s in file_check(report, name)["signatures"]]
        assert fields == ["company_signature", "participant_signature"]
    (wrong,) = file_check(report, "SIG-002.countersigned.pdf")["signatures"][1]["problems"]
    assert "signed by 'Margaret A. Ellison', but the field is for the participant" in wrong
    assert not file_check(report, "SIG-001.countersigned.pdf")["signatures"][1]["problems"]
    anyone_ok = run("verify", signed, "--trust", pki.ca, "--any-signer")
    assert anyone_ok.exit_code == 0, anyone_ok.output
    again = run(
        "sign", signed, "--field", "participant_signature", "--any-signer", *participant(pki)
    )
    assert again.exit_code == 0 and "0 signed, 2 already signed" in again.stdout


def test_participant_field_of_the_original_is_refused_once_the_company_signed(
    signed: Path, pki: Pki
) -> None:
    before = snapshot(signed)
    result = run(
        "sign", signed / "SIG-001.pdf", "--field", "participant_signature", *participant(pki)
    )
    assert result.exit_code == 1
    assert "the manifest records its signed copy SIG-001.signed.pdf" in result.stderr
    assert snapshot(signed) == before


# --- 2. verify: the first signature signs the approved bytes themselves ------------------------


def test_a_drawing_added_before_signing_is_not_the_approved_packet(batch: Path, pki: Pki) -> None:
    """Text unchanged, page changed: an update drawn over the approved packet, then signed."""
    drawn = batch / "SIG-001.final.pdf"
    drawn.write_bytes(draw_over_text((batch / "SIG-001.pdf").read_bytes()))
    result = run("sign", drawn, *creds(pki))
    assert result.exit_code == 0, result.output
    assert "no manifest entry lists this file" in result.stderr  # sign says it checked nothing
    code, report = verify_json(batch / "SIG-001.final.signed.pdf", pki.ca)
    check = report["files"][0]
    assert code == 1 and check["approved"] is False
    assert check["signatures"][0]["ok"]  # the signature itself is fine
    assert "1 revision(s) were added to the approved packet" in reasons(check)


# --- 3. no file is replaced that sign did not write -------------------------------------------


def test_output_never_replaces_another_grants_packet_or_an_unrecorded_file(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    other = (batch / "SIG-002.pdf").read_bytes()
    result = run("sign", batch / "SIG-001.pdf", *creds(pki), "-o", batch / "SIG-002.pdf")
    assert result.exit_code == 1 and "the manifest lists this file" in result.stderr
    forced = run("sign", batch / "SIG-001.pdf", *creds(pki), "-o", batch / "SIG-002.pdf", "--force")
    assert forced.exit_code == 1 and (batch / "SIG-002.pdf").read_bytes() == other
    keep = tmp_path / "important.pdf"
    keep.write_text("important\n", encoding="utf-8")
    result = run("sign", batch / "SIG-001.pdf", *creds(pki), "-o", keep)
    assert result.exit_code == 1 and "not replaced without --force" in result.stderr
    assert keep.read_text(encoding="utf-8") == "important\n"
    (batch / "SIG-002.signed.pdf").write_bytes(b"someone else's signed copy")
    result = run("sign", batch, *creds(pki))
    assert result.exit_code == 1 and "SIG-002.signed.pdf: already exists" in result.stderr
    assert (batch / "SIG-002.signed.pdf").read_bytes() == b"someone else's signed copy"
    assert (batch / "SIG-001.signed.pdf").is_file()  # the other packet was still signed


def test_output_outside_the_batch_is_recorded_absolute_and_verified(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run("sign", batch / "SIG-001.pdf", *creds(pki), "-o", elsewhere / "one.pdf")
    assert result.exit_code == 0, result.output
    record = manifest(batch)["documents"][0]["signed"]
    assert record["pdf"] == str((elsewhere / "one.pdf").resolve())
    code, report = verify_json(batch, pki.ca)
    assert code == 0, report
    assert file_check(report, "one.pdf")["approved"]


# --- 4. an interrupted run records what it signed ----------------------------------------------


def test_ctrl_c_records_what_was_signed_and_leaves_no_temporary_file(
    batch: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = generator.signing.signing.sign_pdf
    calls: list[Path] = []

    def interrupted_on_the_second(source: Path, output: Path, *args: Any, **kw: Any) -> Any:
        calls.append(source)
        if len(calls) == 1:
            return real(source, output, *args, **kw)

        def ctrl_c(fd: int) -> None:  # Ctrl-C arrives while the signed file is being written
            raise KeyboardInterrupt

        with monkeypatch.context() as mp:
            mp.setattr(os, "fsync", ctrl_c)
            return real(source, output, *args, **kw)

    monkeypatch.setattr(generator.signing.signing, "sign_pdf", interrupted_on_the_second)
    result = run("sign", batch, *creds(pki))
    assert result.exit_code == 130
    assert "signed " in result.stdout and "SIG-001.signed.pdf" in result.stdout  # progress
    assert "interrupted after 1 signed" in result.stderr
    assert not [p.name for p in batch.iterdir() if p.name.endswith(".part")]
    assert not (batch / "SIG-002.signed.pdf").exists()
    record = manifest(batch)["documents"][0]["signed"]
    assert record["sha256"] == sha256((batch / "SIG-001.signed.pdf").read_bytes())
    monkeypatch.setattr(generator.signing.signing, "sign_pdf", real)
    again = run("sign", batch, *creds(pki))
    assert again.exit_code == 0 and "1 signed, 1 already signed" in again.stdout


def test_a_killed_run_is_recovered_from_the_journal(
    batch: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 leaves no chance to write the manifest: the journal noted each signature."""

    class Killed(BaseException):
        pass

    def killed(*args: object) -> None:
        raise Killed

    monkeypatch.setattr(generator.terms.manifest, "write_json", killed)  # dies before the manifest
    with pytest.raises(Killed):
        run("sign", batch, *creds(pki))
    assert all("signed" not in d for d in manifest(batch)["documents"])
    assert journal_path(batch / "manifest.json").is_file()
    signed_bytes = (batch / "SIG-001.signed.pdf").read_bytes()
    code, report = verify_json(batch, pki.ca)  # verify reads the journal too
    assert code == 0, report
    monkeypatch.undo()
    again = run("sign", batch, *creds(pki))
    assert again.exit_code == 0 and "0 signed, 2 already signed" in again.stdout
    assert (batch / "SIG-001.signed.pdf").read_bytes() == signed_bytes  # not signed again
    assert not journal_path(batch / "manifest.json").exists()
    assert all(d["signed"]["field"] == "company_signature" for d in manifest(batch)["documents"])


def test_generate_takes_in_the_journal_of_a_killed_run(
    batch: Path,
    batches: tuple[Path, Path],
    pki: Pki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A packet replaced with --force after a killed `sign`: the signature the journal noted
    is of the earlier packet and is set aside, never taken for the new packet's."""

    class Killed(BaseException):
        pass

    def killed(*args: object) -> None:
        raise Killed

    with monkeypatch.context() as mp:
        mp.setattr(generator.terms.manifest, "write_json", killed)
        with pytest.raises(Killed):
            run("sign", batch, *creds(pki))
    root = batches[0].parent
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(root / "genuine-ledger.sqlite", ledger)
    corrected = tmp_path / "corrected.csv"
    text = (root / "genuine.csv").read_text(encoding="utf-8")
    corrected.write_text(text.replace("Ellison,1 Main", "Ellison,9 Elm"), encoding="utf-8")
    forced = generate(GenerateOptions(grants=corrected, out=batch, ledger=ledger, force=True))
    assert not forced.errors, forced.errors
    assert not journal_path(batch / "manifest.json").exists()
    listed = {d["grant_id"]: d for d in manifest(batch)["documents"]}
    assert [r["pdf"] for r in listed["SIG-001"]["superseded"]] == ["superseded/SIG-001.signed.pdf"]
    assert "signed" not in listed["SIG-001"]
    assert listed["SIG-002"]["signed"]["pdf"] == "SIG-002.signed.pdf"  # unchanged: kept
    again = run("sign", batch, *creds(pki))
    assert again.exit_code == 0 and "1 signed, 1 already signed" in again.stdout


# --- 5. a certificate whose key usage forbids signing ------------------------------------------


def test_certificate_without_signing_key_usage_is_refused(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    cert, key = make_encipher_only(tmp_path, pki.ca)
    result = run("sign", batch, "--cert", cert, "--key", key)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {cert}: ") and "key usage does not allow signing" in line
    assert "keyEncipherment" in line
    assert not list(batch.glob("*.signed.pdf"))


# --- 6. a hand-edited manifest ----------------------------------------------------------------


def test_unusable_manifest_entries_are_named_by_sign_and_verify(batch: Path, pki: Pki) -> None:
    path = batch / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["documents"][1]["sha256"] = "abc"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run("sign", batch, *creds(pki))
    assert result.exit_code == 1
    assert "manifest.json: document 2 (SIG-002) cannot be used: 'sha256.pdf'" in result.stderr
    assert "1 signed, 0 already signed, 1 failed" in result.stdout
    verified = run("verify", batch, "--trust", pki.ca)
    assert verified.exit_code == 1 and "AttributeError" not in verified.stderr
    assert "error: manifest.json: document 2 (SIG-002) cannot be used" in verified.stderr
    code, report = verify_json(batch, pki.ca)
    assert code == 1 and file_check(report, "SIG-001.signed.pdf")["ok"]


# --- 7. a folder holding final and draft packets -----------------------------------------------


def test_drafts_beside_the_final_packets_are_skipped(
    signed: Path, pki: Pki, batches: tuple[Path, Path]
) -> None:
    from generator.pipeline import GenerateOptions, generate

    grants = batches[0].parent / "genuine.csv"
    drafts = generate(GenerateOptions(grants=grants, out=signed, draft=True))
    assert not drafts.errors, drafts.errors
    assert list(signed.glob("*.draft.pdf"))
    result = run("sign", signed, *creds(pki))
    assert result.exit_code == 0, result.output
    assert "a draft, not for signature" in result.stdout and "2 drafts skipped" in result.stdout
    verified = run("verify", signed, "--trust", pki.ca)
    assert verified.exit_code == 0, verified.output
    assert "drafts skipped" in verified.stdout


# --- who signs: the officer for the Company, the participant for their own grant ------------


def test_the_company_field_is_signed_by_the_officer_unless_any_signer(
    batch: Path, pki: Pki
) -> None:
    refused = run("sign", batch, *participant(pki))
    assert refused.exit_code == 1
    assert "shows the plan's signing officer" in refused.stderr and "--any-signer" in refused.stderr
    assert not list(batch.glob("*.signed.pdf"))  # nothing was signed
    anyone = run("sign", batch, "--any-signer", *participant(pki))
    assert anyone.exit_code == 0 and "warning: the certificate is" in anyone.stderr
    # the visible signature says who signed, for whom: never the officer alone
    shown = stamp_text(batch / "SIG-001.signed.pdf", "company_signature")
    assert shown.startswith(
        "Digitally signed by Margaret A. Ellison for Julie M.B. Bradley Senior Vice President"
    ), shown
    code, report = verify_json(batch, pki.ca)  # and verify names it
    assert code == 1
    (problem,) = file_check(report, "SIG-001.signed.pdf")["signatures"][0]["problems"]
    assert "but the field is for the signing officer" in problem
    assert manifest(batch)["officer"] in problem


def test_names_are_one_person_accents_case_dots_and_spacing_aside() -> None:
    from generator.signing.signfiles import same_person

    assert same_person("Julie M.B. Bradley", "julie m. b.  bradley")
    assert not same_person("Zoë Ølgård", "ZOE OLGARD")  # Ø is a letter of its own, not Ö
    assert same_person("Zoë Ölgård", "ZOE OLGARD")
    assert not same_person("Ann Lee", "Anne Lee")


# --- a damaged signature value (the CMS in /Contents, outside the signed bytes) ---------------


def damage_signature_value(pdf: Path, at: int = 50) -> None:
    """Change one hex digit of the signature value, ``at`` digits into /Contents."""
    data = bytearray(pdf.read_bytes())
    byte_range = PdfFileReader(io.BytesIO(bytes(data))).embedded_signatures[0].byte_range
    where = byte_range[1] + at
    data[where] = ord("0") if data[where] != ord("0") else ord("1")
    pdf.write_bytes(bytes(data))


def test_a_damaged_signature_value_is_a_broken_signature_not_an_unreadable_pdf(
    signed: Path, pki: Pki
) -> None:
    pdf = signed / "SIG-001.signed.pdf"
    damage_signature_value(pdf)
    code, report = verify_json(pdf, pki.ca)
    check = report["files"][0]
    assert code == 1 and check["grant_id"] == "SIG-001"
    assert check["empty_fields"] == ["participant_signature"]
    (company,) = check["signatures"]
    assert company["field"] == "company_signature" and company["intact"] is False
    (problem,) = company["problems"]  # no 'signed by ?' complaint about an unknown signer
    assert problem.startswith("broken: the signature value is damaged")
    assert "not a readable PDF" not in reasons(check)
    table = run("verify", pdf, "--trust", pki.ca)
    assert table.exit_code == 1 and "BROKEN" in table.stdout and "no signature" not in table.stdout


# --- --timestamp-url: a malformed URL, a server that fails --------------------------------------


@pytest.mark.parametrize("url", ["notaurl", "ftp://x/", "http://[::1", "http://:80/", ""])
def test_a_malformed_timestamp_url_is_a_usage_error_before_anything_is_signed(
    batch: Path, pki: Pki, url: str
) -> None:
    before = snapshot(batch)
    result = run("sign", batch, *creds(pki), "--timestamp-url", url)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--timestamp-url'" in result.output and repr(url) in result.output
    assert snapshot(batch) == before


def test_a_failing_timestamp_server_stops_the_run_at_the_first_packet(
    batch: Path, pki: Pki
) -> None:
    before = snapshot(batch)
    asked: list[int] = []
    with tsa_server(pki.tsa, answers=0, requests=asked) as url:
        result = run("sign", batch, *creds(pki), "--timestamp-url", url)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()  # one error, not one per packet
    assert "SIG-001.pdf: the time-stamp server" in line and "nothing was signed" in line
    assert len(asked) == 1  # SIG-002 was not tried
    assert snapshot(batch) == before and not journal_path(batch / "manifest.json").exists()


def test_a_timestamp_server_failing_mid_run_keeps_what_was_signed(batch: Path, pki: Pki) -> None:
    with tsa_server(pki.tsa, answers=2) as url:  # SIG-001: a size estimate and its time-stamp
        result = run("sign", batch, *creds(pki), "--timestamp-url", url)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "SIG-002.pdf: the time-stamp server" in line and "1 signed before it" in line
    first, second = manifest(batch)["documents"]
    assert first["signed"]["pdf"] == "SIG-001.signed.pdf" and "signed" not in second
    assert not (batch / "SIG-002.signed.pdf").exists()


# --- files that cannot be packets are refused from their size and first and last bytes --------


def test_huge_or_non_pdf_files_are_refused_without_being_read(
    signed: Path, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.signing.signfiles import MAX_PDF_BYTES

    packet = (signed / "SIG-001.signed.pdf").read_bytes()
    huge, junk, tail = tmp_path / "huge.pdf", tmp_path / "junk.pdf", tmp_path / "appended.pdf"
    for path, start in ((huge, packet), (junk, b""), (tail, packet)):
        path.write_bytes(start)
    os.truncate(huge, MAX_PDF_BYTES + 1)  # sparse: the test takes no room on disk
    os.truncate(junk, 2**30)  # a 1 GB file of zeros, no PDF header
    os.truncate(tail, len(packet) + 2_000_000)  # zeros after %%EOF
    read: list[Path] = []
    real = Path.read_bytes

    def watched(self: Path) -> bytes:
        read.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", watched)
    expected = {
        huge: "MB, too large for a grantgen packet (the limit is 50 MB)",
        junk: "not a PDF (it does not start with a %PDF- header)",
        tail: "not a complete PDF: it does not end with %%EOF",
    }
    for path, reason in expected.items():
        code, report = verify_json(path, pki.ca)
        assert code == 1 and reason in report["files"][0]["problems"][0], report
        result = run("sign", path, *creds(pki), "-o", tmp_path / "out.pdf")
        assert result.exit_code == 1 and f"{path}: " in result.stderr and reason in result.stderr
    assert not [p for p in read if p.parent == tmp_path]
    assert not (tmp_path / "out.pdf").exists()


# --- messages that say what is wrong ------------------------------------------------------------


def encrypted_copy(pdf: Path, to: Path, password: str = "") -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=pdf)
    writer.encrypt(password, "owner", algorithm="AES-256")
    writer.write(to)
    return to


def test_sign_says_what_is_wrong_with_the_output_the_key_or_the_file(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    one = batch / "SIG-001.pdf"
    before = snapshot(batch)
    missing = run("sign", one, *creds(pki), "-o", tmp_path / "no" / "such" / "x.pdf")
    assert missing.exit_code == 1 and f"no folder {tmp_path / 'no' / 'such'}" in missing.stderr
    assert ".part" not in missing.stderr
    empty = run("sign", one, *creds(pki), "-o", "")
    assert empty.exit_code == 2 and "'--output': an empty file name" in empty.output
    for name in ("manifest.json", "review/summary.html"):
        result = run("sign", one, *creds(pki), "-o", batch / name, "--force")
        assert result.exit_code == 2 and "the signed file's name must end in .pdf" in result.output
    packet = run("sign", one, *creds(pki), "-o", batch / "review" / "packet.pdf", "--force")
    assert packet.exit_code == 1 and "the manifest lists this file" in packet.stderr
    no_key = run("sign", one, "--cert", pki.officer_cert, "--passphrase-file", pki.passfile)
    assert no_key.exit_code == 1
    assert f"{pki.officer_cert}: holds a certificate but no private key" in no_key.stderr
    assert "give the key's file with --key" in no_key.stderr
    assert snapshot(batch) == before
    locked = encrypted_copy(one, tmp_path / "locked.pdf")
    result = run("sign", locked, *creds(pki))
    assert result.exit_code == 1 and f"{locked}: the PDF is encrypted" in result.stderr
    (tmp_path / "empty.pdf").touch()
    result = run("sign", tmp_path / "empty.pdf", *creds(pki))
    assert result.exit_code == 1 and "the file is empty (0 bytes), not a PDF" in result.stderr


def test_verify_says_what_is_wrong_and_json_always_answers(
    signed: Path, pki: Pki, tmp_path: Path
) -> None:
    locked = encrypted_copy(signed / "SIG-001.signed.pdf", tmp_path / "locked.pdf", "secret")
    code, report = verify_json(locked, pki.ca)
    assert code == 1 and report["files"][0]["problems"] == [
        "the PDF is encrypted (password-protected); grantgen packets never are: use the packet "
        "as grantgen made it"
    ]
    table = run("verify", locked)
    assert "not checked" in table.stdout and "no signature" not in table.stdout
    (tmp_path / "empty.pdf").touch()
    code, report = verify_json(tmp_path / "empty.pdf")
    assert code == 1 and "the file is empty" in report["files"][0]["problems"][0]
    notcert = run("verify", signed, "--trust", pki.passfile)
    assert notcert.exit_code == 1
    assert f"{pki.passfile}: not a certificate (--trust takes a root certificate" in notcert.stderr
    assert "ParseError" not in notcert.stderr
    (tmp_path / "nothing").mkdir()
    for args in (["--trust", pki.passfile], []):
        folder = signed if args else tmp_path / "nothing"  # a bad trust root; nothing signed
        result = run("verify", folder, "--format", "json", *args)
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["ok"] is False and report["files"] == [] and report["error"]
        assert f"error: {report['error']}" in result.stderr


def test_sign_force_sets_the_signed_copies_aside_never_replaces_them(
    signed: Path, pki: Pki
) -> None:
    counter = run(
        "sign", signed / "SIG-001.signed.pdf", "--field", "participant_signature", *participant(pki)
    )
    assert counter.exit_code == 0, counter.output
    before = manifest(signed)["documents"]
    files = snapshot(signed)
    (signed / "superseded").mkdir()
    (signed / "superseded" / "SIG-002.signed.pdf").write_bytes(b"set aside by hand before")
    forced = run("sign", signed, *creds(pki), "--force")
    assert forced.exit_code == 0 and "2 signed, 0 already signed" in forced.stdout
    assert "set aside: superseded/SIG-001.signed.pdf" in forced.stderr
    aside = signed / "superseded"
    assert (aside / "SIG-001.signed.pdf").read_bytes() == files["SIG-001.signed.pdf"]
    assert (aside / "SIG-001.countersigned.pdf").read_bytes() == files["SIG-001.countersigned.pdf"]
    assert (aside / "SIG-002.signed.pdf").read_bytes() == b"set aside by hand before"
    assert (aside / "SIG-002.2.signed.pdf").read_bytes() == files["SIG-002.signed.pdf"]
    after = manifest(signed)["documents"]
    (old,) = after[0]["superseded"]
    assert old["pdf"] == "superseded/SIG-001.signed.pdf"
    assert old["sha256"] == before[0]["signed"]["sha256"]
    assert [r["pdf"] for r in old["countersigned"]] == ["superseded/SIG-001.countersigned.pdf"]
    assert "countersigned" not in after[0]["signed"]  # they were made on the earlier copy
    assert after[1]["superseded"][0]["pdf"] == "superseded/SIG-002.2.signed.pdf"
    code, report = verify_json(signed, pki.ca)
    assert code == 0, report
    # the participant signs the new signed copy; the earlier countersigned copy stays aside
    again = run(
        "sign", signed / "SIG-001.signed.pdf", "--field", "participant_signature", *participant(pki)
    )
    assert again.exit_code == 0, again.output
    assert (aside / "SIG-001.countersigned.pdf").read_bytes() == files["SIG-001.countersigned.pdf"]
    code, report = verify_json(signed, pki.ca)
    assert code == 0, report


def test_a_killed_sign_force_run_is_recovered_with_what_it_set_aside(
    signed: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(BaseException):
        pass

    def killed(*args: object) -> None:
        raise Killed

    first = manifest(signed)["documents"][0]["signed"]
    with monkeypatch.context() as mp:
        mp.setattr(generator.terms.manifest, "write_json", killed)  # dies before the manifest
        with pytest.raises(Killed):
            run("sign", signed, *creds(pki), "--force")
    assert manifest(signed)["documents"][0]["signed"] == first  # only the journal knows
    again = run("sign", signed, *creds(pki))
    assert again.exit_code == 0 and "0 signed, 2 already signed" in again.stdout
    doc = manifest(signed)["documents"][0]
    assert doc["signed"]["sha256"] == sha256((signed / "SIG-001.signed.pdf").read_bytes())
    (old,) = doc["superseded"]
    assert old["pdf"] == "superseded/SIG-001.signed.pdf" and old["sha256"] == first["sha256"]
    code, report = verify_json(signed, pki.ca)
    assert code == 0, report
