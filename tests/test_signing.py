"""grantgen sign / verify: real batches, a test CA made here, tampering, independent validators.

No key is stored in the repository: the certificate authority, the officer's, the participant's,
an expired and a time-stamping certificate are made with ``cryptography`` for the session.
``pyhanko sign validate`` (package pyhanko-cli) and poppler's ``pdfsig`` check each case too,
where they are installed.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pikepdf
import pytest
from click.testing import CliRunner, Result
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader

from generator.cli_sign import sign_command, verify_command
from generator.core.output import sha256
from generator.pipeline import GenerateOptions, generate
from generator.reading.columns import ReadOptions, parse_rows
from generator.signing.credentials import load_credentials
from generator.signing.signing import sign_pdf

from .signing_tools import (
    PASSPHRASE,
    Pki,
    append_page,
    flip_byte,
    independent_agree,
    make_batch,
    make_pki,
    make_signer,
    pdfsig_ok,
    pyhanko_says,
    replace_name,
    stamp_text,
    tsa_server,
)

GRANTS = [("SIG-001", "Margaret A. Ellison"), ("SIG-002", "Daniel K. Osei")]


@click.group()
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    ctx.obj = {"verbose": verbose}


cli.add_command(sign_command, "sign")
cli.add_command(verify_command, "verify")


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def batches(tmp_path_factory: pytest.TempPathFactory, soffice: str) -> tuple[Path, Path]:
    """The genuine batch, and a forged one: same grant SIG-001, another participant's name."""
    root = tmp_path_factory.mktemp("sigbatches")
    forged = [("SIG-001", "Mallory Q. Forger")]
    return make_batch(root, "genuine", GRANTS), make_batch(root, "forged", forged)


@pytest.fixture
def batch(batches: tuple[Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(batches[0], tmp_path / "batch"))


@pytest.fixture
def signed(batch: Path, pki: Pki) -> Path:
    result = run("sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile)
    assert result.exit_code == 0, result.output
    return batch


def manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return data


def verify_json(target: Path, *trust: Path) -> tuple[int, dict[str, Any]]:
    args: list[object] = ["verify", target, "--format", "json"]
    for root in trust:
        args += ["--trust", root]
    result = run(*args)
    return result.exit_code, json.loads(result.stdout)


def file_check(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [f for f in report["files"] if Path(f["path"]).name == name]
    assert len(found) == 1, [f["path"] for f in report["files"]]
    return found[0]


def reasons(check: dict[str, Any]) -> str:
    return " | ".join(check["problems"] + [p for s in check["signatures"] for p in s["problems"]])


def test_sign_batch_writes_signed_copies_beside_originals_and_records_them(
    batch: Path, pki: Pki
) -> None:
    before = manifest(batch)
    originals = {d["pdf"]: (batch / d["pdf"]).read_bytes() for d in before["documents"]}
    result = run("sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile)
    assert result.exit_code == 0, result.output
    assert "2 signed, 0 already signed, 0 failed" in result.stdout
    after = manifest(batch)
    for old, new in zip(before["documents"], after["documents"], strict=True):
        record = new.pop("signed")
        assert new == old  # every other key kept as it was
        assert record["pdf"] == old["pdf"].replace(".pdf", ".signed.pdf")
        assert record["field"] == "company_signature" and record["signer"] == "Julie M.B. Bradley"
        assert record["signed_at"].endswith("Z")
        data = (batch / record["pdf"]).read_bytes()
        assert sha256(data) == record["sha256"]
        original = (batch / old["pdf"]).read_bytes()
        assert original == originals[old["pdf"]] and sha256(original) == old["sha256"]["pdf"]
        assert data.startswith(original) and len(data) > len(original)  # incremental update
    assert {k: v for k, v in after.items() if k != "documents"} == {
        k: v for k, v in before.items() if k != "documents"
    }


def test_company_signature_certifies_with_form_filling_and_shows_officer(signed: Path) -> None:
    reader = PdfReader(signed / "SIG-001.signed.pdf")
    docmdp = reader.trailer["/Root"]["/Perms"]["/DocMDP"].get_object()
    assert docmdp["/Reference"][0]["/TransformParams"]["/P"] == 2  # fill forms and sign only
    widgets = [a.get_object() for page in reader.pages for a in page.get("/Annots") or []]
    company = next(w for w in widgets if w["/T"] == "company_signature")
    participant = next(w for w in widgets if w["/T"] == "participant_signature")
    assert "/V" in company and "/V" not in participant
    shown = stamp_text(signed / "SIG-001.signed.pdf", "company_signature")
    assert shown.startswith(
        "Digitally signed by Julie M.B. Bradley "
        "Senior Vice President and Chief Financial Officer Date: "
    )
    assert shown[-4:].isdigit()


def test_verify_signed_batch_ok_and_independent_validators_agree(signed: Path, pki: Pki) -> None:
    code, report = verify_json(signed, pki.ca)
    assert code == 0 and report["ok"] is True
    assert sorted(Path(f["path"]).name for f in report["files"]) == [
        "SIG-001.signed.pdf",
        "SIG-002.signed.pdf",
    ]  # the unsigned originals are not reported
    for check in report["files"]:
        assert check["approved"] and check["empty_fields"] == ["participant_signature"]
        (sig,) = check["signatures"]
        assert sig["field"] == "company_signature" and sig["intact"] and sig["trusted"]
        assert sig["level"] == "B-B" and sig["changes_after"] == "none"
        independent_agree(Path(check["path"]), pki.ca, ok=True)
    table = run("verify", signed, "--trust", pki.ca)
    assert table.exit_code == 0
    assert "participant_signature" in table.stdout and "empty" in table.stdout
    assert "2 signed file(s): 2 ok, 0 failed" in table.stdout


def test_participant_signs_after_the_company_and_both_stay_valid(signed: Path, pki: Pki) -> None:
    final = signed / "SIG-001.countersigned.pdf"
    result = run(
        "sign", signed / "SIG-001.signed.pdf", "--field", "participant_signature",
        "--cert", pki.participant_p12, "--passphrase-file", pki.passfile, "-o", final,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = verify_json(signed, pki.ca)
    assert code == 0, reasons(file_check(report, final.name))
    check = file_check(report, final.name)
    assert check["empty_fields"] == [] and check["grant_id"] == "SIG-001"
    company, participant = check["signatures"]
    assert company["signer"] == "Julie M.B. Bradley" and company["ok"]
    assert company["changes_after"] == "later signatures / form filling"
    assert participant["signer"] == "Margaret A. Ellison" and participant["ok"]
    independent_agree(final, pki.ca, ok=True)


def test_sign_field_participant_on_a_folder_does_not_call_others_packets_already_signed(
    signed: Path, pki: Pki
) -> None:
    """The participant signs the batch folder: their grant is signed, the other director's
    packet is skipped as another participant's, not counted as "already signed"."""
    result = run(
        "sign", signed, "--field", "participant_signature",
        "--cert", pki.participant_p12, "--passphrase-file", pki.passfile,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 signed, 0 already signed, 0 failed, 1 of other participants skipped" in (
        result.stdout
    )
    assert (signed / "SIG-001.countersigned.pdf").is_file()
    assert not (signed / "SIG-002.countersigned.pdf").exists()


@pytest.mark.parametrize(
    ("tamper", "expected", "pyhanko_word"),
    [
        (flip_byte, "broken: the signed bytes were changed after signing", "INVALID"),
        (append_page, "pages where the approved packet has", "ILLEGAL_MODIFICATIONS"),
        (
            replace_name,
            "'Margaret A. Ellison' became 'Mallory Q. Forger'",
            "ILLEGAL_MODIFICATIONS",
        ),
    ],
    ids=["one-byte", "unsigned-page", "name-replaced"],
)
def test_tampering_is_caught_and_named_and_validators_agree(
    signed: Path,
    pki: Pki,
    batches: tuple[Path, Path],
    tamper: Any,
    expected: str,
    pyhanko_word: str,
) -> None:
    target = signed / "SIG-001.signed.pdf"
    target.write_bytes(tamper(target.read_bytes(), batches[1] / "SIG-001.pdf"))
    result = run("verify", signed, "--trust", pki.ca)
    assert result.exit_code == 1
    assert "error: SIG-001.signed.pdf: " in result.stderr and expected in result.stderr
    assert "SIG-002.signed.pdf" not in result.stderr  # the untouched packet still checks
    code, report = verify_json(signed, pki.ca)
    check = file_check(report, target.name)
    assert code == 1 and not check["ok"] and expected in reasons(check)
    assert file_check(report, "SIG-002.signed.pdf")["ok"]
    if tamper is not flip_byte:  # the signature is intact; the later change is forbidden
        assert "changed after signing, which it forbids" in reasons(check)
    independent_agree(target, pki.ca, ok=False)
    said = pyhanko_says(target, pki.ca)
    assert said is None or pyhanko_word in said[1]


def test_untrusted_but_intact_signature_is_reported_as_untrusted_not_broken(
    signed: Path, pki: Pki
) -> None:
    code, report = verify_json(signed, pki.other_ca)
    assert code == 1
    for check in report["files"]:
        (sig,) = check["signatures"]
        assert sig["intact"] is True and sig["trusted"] is False
        assert check["approved"] is True
        assert "untrusted" in reasons(check) and "broken" not in reasons(check)
    table = run("verify", signed)
    assert table.exit_code == 1 and "intact, UNTRUSTED" in table.stdout
    assert "BROKEN" not in table.stdout
    target = signed / "SIG-001.signed.pdf"
    said = pyhanko_says(target, pki.other_ca)
    assert said is None or (said[0] == 1 and "INTACT:UNTRUSTED" in said[1])
    assert pdfsig_ok(target) in (None, True)  # cryptographically intact for poppler too


def test_pem_key_and_certificate_sign_like_pkcs12(batch: Path, pki: Pki) -> None:
    result = run(
        "sign", batch / "SIG-002.pdf", "--cert", pki.officer_cert, "--key", pki.officer_key,
        "--passphrase-file", pki.passfile,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert manifest(batch)["documents"][1]["signed"]["pdf"] == "SIG-002.signed.pdf"
    assert "signed" not in manifest(batch)["documents"][0]  # only the file named was signed
    code, report = verify_json(batch / "SIG-002.signed.pdf", pki.ca)
    assert code == 0, report
    assert report["files"][0]["signatures"][0]["signer"] == "Julie M.B. Bradley"


@pytest.mark.parametrize(
    ("cert", "passfile", "expected"),
    [
        ("officer_p12", "wrong_passfile", "officer.p12: wrong passphrase"),
        ("officer_cert", "wrong_passfile", "officer.key.pem: wrong passphrase for the private key"),
        ("expired_p12", "passfile", "expired.p12: the certificate expired on "),
        ("officer_p12", None, "officer.p12: needs a passphrase: use --passphrase-file"),
    ],
    ids=["p12-passphrase", "pem-passphrase", "expired", "no-passphrase"],
)
def test_unusable_credentials_are_one_clear_line_naming_the_file(
    batch: Path, pki: Pki, cert: str, passfile: str | None, expected: str
) -> None:
    before = (batch / "manifest.json").read_bytes()
    args: list[object] = ["sign", batch, "--cert", getattr(pki, cert)]
    if cert == "officer_cert":
        args += ["--key", pki.officer_key]
    if passfile:
        args += ["--passphrase-file", getattr(pki, passfile)]
    result = run(*args)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and expected in line
    assert not list(batch.glob("*.signed.pdf"))
    assert (batch / "manifest.json").read_bytes() == before


def test_missing_field_and_changed_original_are_errors_naming_the_file(
    batch: Path, pki: Pki
) -> None:
    creds = ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]
    result = run("sign", batch, "--field", "witness_signature", *creds)
    assert result.exit_code == 1
    assert "SIG-001.pdf: no signature field 'witness_signature'" in result.stderr
    assert "SIG-002.pdf: no signature field 'witness_signature'" in result.stderr
    with (batch / "SIG-002.pdf").open("ab") as fh:
        fh.write(b"\n% changed after approval\n")
    result = run("sign", batch, *creds)
    assert result.exit_code == 1
    assert "SIG-002.pdf: not the file the manifest recorded" in result.stderr
    assert (batch / "SIG-001.signed.pdf").is_file() and not (batch / "SIG-002.signed.pdf").exists()
    assert "signed" in manifest(batch)["documents"][0]
    assert "signed" not in manifest(batch)["documents"][1]


def test_signing_under_another_plans_officer_is_refused(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    from generator.core.resources import default_plan

    other = tmp_path / "other.toml"
    text = default_plan().read_text(encoding="utf-8").replace('id = "atg-1999"', 'id = "nwr-2015"')
    other.write_text(text, encoding="utf-8")
    creds = ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]
    result = run("sign", batch, "--plan", other, *creds)
    assert result.exit_code == 1
    assert "made under plan 'atg-1999', not 'nwr-2015'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(batch.glob("*.signed.pdf"))


def test_signing_again_skips_signed_packets_unless_forced(signed: Path, pki: Pki) -> None:
    first = manifest(signed)["documents"][0]["signed"]
    creds = ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]
    again = run("sign", signed, *creds)
    assert again.exit_code == 0 and "0 signed, 2 already signed" in again.stdout
    assert manifest(signed)["documents"][0]["signed"] == first
    forced = run("sign", signed, *creds, "--force")
    assert forced.exit_code == 0 and "2 signed, 0 already signed" in forced.stdout
    record = manifest(signed)["documents"][0]["signed"]
    assert record["sha256"] == sha256((signed / "SIG-001.signed.pdf").read_bytes())
    changed = flip_byte((signed / "SIG-002.signed.pdf").read_bytes(), signed)
    (signed / "SIG-002.signed.pdf").write_bytes(changed)  # evidence is never overwritten
    refused = run("sign", signed, *creds)
    assert refused.exit_code == 1 and "SIG-002.signed.pdf: changed since it was signed" in (
        refused.stderr
    )
    assert (signed / "SIG-002.signed.pdf").read_bytes() == changed


def test_timestamped_signature_is_pades_b_t(batch: Path, pki: Pki) -> None:
    with tsa_server(pki.tsa) as url:
        result = run(
            "sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile,
            "--timestamp-url", url,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PAdES B-T" in result.stdout
    code, report = verify_json(batch, pki.ca)
    assert code == 0, report
    assert {s["level"] for f in report["files"] for s in f["signatures"]} == {"B-T"}
    said = pyhanko_says(batch / "SIG-001.signed.pdf", pki.ca)
    assert said is None or (said[0] == 0 and "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in said[1])
    code, report = verify_json(batch, pki.other_ca)  # neither signer nor TSA trusted now
    assert code == 1 and "time-stamp authority is not trusted" in json.dumps(report)


def test_unreachable_timestamp_server_is_an_error_naming_the_file(batch: Path, pki: Pki) -> None:
    result = run(
        "sign", batch / "SIG-001.pdf", "--cert", pki.officer_p12, "--passphrase-file",
        pki.passfile, "--timestamp-url", "http://127.0.0.1:9/",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "SIG-001.pdf: the time-stamp server http://127.0.0.1:9/ gave no time-stamp" in (
        result.stderr
    )
    assert not (batch / "SIG-001.signed.pdf").exists()


def test_content_changed_in_the_signing_revision_is_caught(
    batch: Path, pki: Pki, batches: tuple[Path, Path]
) -> None:
    """A signature over a revision that already differs from the approved packet is valid to
    any generic validator; only the comparison with the approved text catches it."""
    changed = batch / "SIG-001.changed.pdf"
    changed.write_bytes(
        replace_name((batch / "SIG-001.pdf").read_bytes(), batches[1] / "SIG-001.pdf")
    )
    creds = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    sign_pdf(changed, batch / "SIG-001.signed.pdf", creds)
    changed.unlink()
    code, report = verify_json(batch / "SIG-001.signed.pdf", pki.ca)
    check = report["files"][0]
    assert code == 1 and check["signatures"][0]["ok"]  # the signature itself is fine
    assert "not the approved text: page 1: 'Margaret A. Ellison' became" in reasons(check)


def test_packet_renamed_as_another_grant_is_caught(signed: Path, pki: Pki) -> None:
    shutil.copyfile(signed / "SIG-002.signed.pdf", signed / "SIG-001.signed.pdf")
    code, report = verify_json(signed, pki.ca)
    check = file_check(report, "SIG-001.signed.pdf")
    assert code == 1 and check["grant_id"] == "SIG-002"
    assert "named for SIG-001 but holds SIG-002" in reasons(check)


def test_verify_reports_missing_signed_packet_and_nothing_to_verify(signed: Path, pki: Pki) -> None:
    (signed / "SIG-002.signed.pdf").unlink()
    code, report = verify_json(signed, pki.ca)
    assert code == 1
    assert "missing" in reasons(file_check(report, "SIG-002.signed.pdf"))
    (signed / "SIG-001.signed.pdf").unlink()
    (signed / "manifest.json").write_text('{"documents": []}', encoding="utf-8")
    result = run("verify", signed)
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: {signed}: no signed PDF to verify (sign the batch with grantgen sign)"
    )


def test_errors_show_a_traceback_only_with_verbose(batch: Path, pki: Pki) -> None:
    args = ["sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.wrong_passfile]
    assert "Traceback" not in run(*args).stderr
    verbose = run("--verbose", *args)
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr


@pytest.mark.parametrize("command", [sign_command, verify_command], ids=["sign", "verify"])
def test_commands_have_help(command: click.Command) -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert command.help is not None and len(command.help) > 200


def test_generating_the_batch_again_keeps_the_signed_records(
    signed: Path, batches: tuple[Path, Path], tmp_path: Path, pki: Pki
) -> None:
    root = batches[0].parent
    before = manifest(signed)
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(root / "genuine-ledger.sqlite", ledger)
    again = generate(GenerateOptions(grants=root / "genuine.csv", out=signed, ledger=ledger))
    assert not again.errors, again.errors
    after = manifest(signed)
    assert [d["grant_id"] for d in after["documents"]] == ["SIG-001", "SIG-002"]
    assert [d["signed"] for d in after["documents"]] == [d["signed"] for d in before["documents"]]
    table = run("verify", signed, "--trust", pki.ca)
    assert table.exit_code == 0 and "2 signed file(s): 2 ok, 0 failed" in table.stdout
    # a draft run into the same folder adds its drafts; the final, signed documents stay
    drafts = generate(
        GenerateOptions(grants=root / "genuine.csv", out=signed, ledger=ledger, draft=True)
    )
    assert not drafts.errors, drafts.errors
    listed = {d["pdf"]: d for d in manifest(signed)["documents"]}
    assert set(listed) == {"SIG-001.pdf", "SIG-002.pdf", "SIG-001.draft.pdf", "SIG-002.draft.pdf"}
    assert listed["SIG-001.pdf"]["signed"] == before["documents"][0]["signed"]
    table = run("verify", signed, "--trust", pki.ca)
    assert table.exit_code == 0 and "2 signed file(s): 2 ok, 0 failed" in table.stdout


def test_a_folder_of_drafts_is_not_signed(tmp_path: Path, pki: Pki, soffice: str) -> None:
    grants = tmp_path / "g.csv"
    grants.write_text(
        "grant_id,participant,grant_date,shares,exercise_price\nD-1,Ann Lee,2005-05-16,100,3.25\n",
        encoding="utf-8",
    )
    generate(GenerateOptions(grants=grants, out=tmp_path / "drafts", draft=True))
    result = run(
        "sign", tmp_path / "drafts", "--cert", pki.officer_p12, "--passphrase-file", pki.passfile
    )
    assert result.exit_code == 1
    assert "drafts are for review, not for signature" in result.stderr
    assert not list((tmp_path / "drafts").glob("*.signed.pdf"))


def test_force_keeps_the_signatures_of_unchanged_packets_and_sets_replaced_ones_aside(
    signed: Path, batches: tuple[Path, Path], tmp_path: Path, pki: Pki
) -> None:
    root = batches[0].parent
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(root / "genuine-ledger.sqlite", ledger)
    counter = run(
        "sign", signed / "SIG-001.signed.pdf", "--field", "participant_signature",
        "--cert", pki.participant_p12, "--passphrase-file", pki.passfile,
    )  # fmt: skip
    assert counter.exit_code == 0, counter.output
    before = manifest(signed)
    files = {p.name: p.read_bytes() for p in signed.glob("SIG-*")}
    # one grant made again on its own with --force: the same agreement, so the same packet
    # stays, and so do its signatures (converted alone, its PDF would differ in font subsets)
    one = GenerateOptions(
        grants=root / "genuine.csv", out=signed, ledger=ledger, force=True,
        read=ReadOptions(only=parse_rows("2")),
    )  # fmt: skip
    for row in ("3", "2"):
        again = generate(replace(one, read=ReadOptions(only=parse_rows(row))))
        assert not again.errors, again.errors
        assert {p.name: p.read_bytes() for p in signed.glob("SIG-*")} == files
    after = {d["grant_id"]: d for d in manifest(signed)["documents"]}
    assert after["SIG-002"].pop("input") == "genuine.csv"  # listed from the earlier run
    assert sorted(after.values(), key=lambda d: d["row"]) == before["documents"]
    # its address corrected: --force replaces the packet; the copies signed on the earlier
    # one are moved aside, with their records, never lost
    corrected = tmp_path / "corrected.csv"
    text = (root / "genuine.csv").read_text(encoding="utf-8")
    corrected.write_text(
        text.replace("SIG-001,Margaret A. Ellison,1 Main", "SIG-001,Margaret A. Ellison,9 Elm")
    )
    refused = generate(replace(one, grants=corrected, force=False))
    assert [e["rule"] for e in refused.errors] == ["overwrite"]
    forced = generate(replace(one, grants=corrected))
    assert not forced.errors, forced.errors
    (doc,) = forced.documents
    assert [f["rule"] for f in doc.findings if f["severity"] == "warning"] == ["superseded"]
    aside = signed / "superseded"
    assert (aside / "SIG-001.signed.pdf").read_bytes() == files["SIG-001.signed.pdf"]
    assert (aside / "SIG-001.countersigned.pdf").read_bytes() == files["SIG-001.countersigned.pdf"]
    assert not (signed / "SIG-001.signed.pdf").exists()
    assert not (signed / "SIG-001.countersigned.pdf").exists()
    listed = {d["grant_id"]: d for d in manifest(signed)["documents"]}
    assert "signed" not in listed["SIG-001"]
    (old,) = listed["SIG-001"]["superseded"]
    earlier = before["documents"][0]["signed"]
    assert old["pdf"] == "superseded/SIG-001.signed.pdf" and old["sha256"] == earlier["sha256"]
    assert old["countersigned"][0]["pdf"] == "superseded/SIG-001.countersigned.pdf"
    assert listed["SIG-002"]["signed"] == before["documents"][1]["signed"]
    table = run("verify", signed, "--trust", pki.ca)
    assert table.exit_code == 0 and "1 signed file(s): 1 ok, 0 failed" in table.stdout
    # the new packet is signed as a packet never signed; the copies set aside stay as they are
    result = run("sign", signed, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile)
    assert result.exit_code == 0 and "1 signed, 1 already signed" in result.stdout
    assert (aside / "SIG-001.signed.pdf").read_bytes() == files["SIG-001.signed.pdf"]
    listed = {d["grant_id"]: d for d in manifest(signed)["documents"]}
    assert listed["SIG-001"]["signed"]["pdf"] == "SIG-001.signed.pdf"
    assert listed["SIG-001"]["superseded"] == [old]
    table = run("verify", signed, "--trust", pki.ca)
    assert table.exit_code == 0 and "2 signed file(s): 2 ok, 0 failed" in table.stdout


def test_verify_trusts_the_unsigned_manifest_a_changed_participant_is_caught(
    signed: Path, pki: Pki, tmp_path: Path
) -> None:
    """Issue 18 #1: the participant named in manifest.json is edited to another person, who
    holds a trusted certificate and countersigns: the name the signature must carry comes
    from the packet the Company signed, and the edited manifest is named too."""
    data = manifest(signed)
    data["documents"][0]["participant"] = "Eve N. Truder"
    (signed / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    eve = make_signer(pki, tmp_path, "Eve N. Truder", "eve")
    final = signed / "SIG-001.countersigned.pdf"
    result = run(
        "sign", signed / "SIG-001.signed.pdf", "--field", "participant_signature",
        "--cert", eve, "--passphrase-file", pki.passfile, "-o", final,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = verify_json(signed, pki.ca)
    check = file_check(report, final.name)
    assert code == 1 and not check["ok"]
    said = reasons(check)
    assert "signed by 'Eve N. Truder', but the field is for the participant, " in said
    assert "'Margaret A. Ellison'" in said
    assert "the manifest's participant is 'Eve N. Truder'" in said
    assert "'Margaret A. Ellison'" in reasons(file_check(report, "SIG-001.signed.pdf"))


@pytest.mark.parametrize(
    ("key", "value"),
    [("shares", 150000), ("exercise_price", "0.01"), ("grant_date", "2004-01-02")],
)
def test_verify_trusts_the_unsigned_manifest_edited_terms_are_caught(
    signed: Path, pki: Pki, key: str, value: object
) -> None:
    data = manifest(signed)
    data["documents"][1][key] = value
    (signed / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    code, report = verify_json(signed, pki.ca)
    assert code == 1
    check = file_check(report, "SIG-002.signed.pdf")
    assert f"the manifest's {key} is {value!r} but the signed packet records" in reasons(check)
    assert file_check(report, "SIG-001.signed.pdf")["ok"]


def test_verify_trusts_the_unsigned_manifest_an_edited_officer_is_caught(
    signed: Path, pki: Pki
) -> None:
    data = manifest(signed)
    data["officer"] = "Mallory Q. Forger"
    (signed / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    code, report = verify_json(signed, pki.ca)
    assert code == 1
    for check in report["files"]:
        assert "the manifest's officer is 'Mallory Q. Forger'" in reasons(check)
        (company,) = check["signatures"]
        assert company["ok"]  # the Company's signature is the right officer's


@pytest.mark.parametrize("entry", ["/Title", "/GrantgenRecord"])
def test_verify_metadata_only_incremental_update_is_caught(
    signed: Path, pki: Pki, entry: str
) -> None:
    """A new /Title (or grant record) appended after the signature: the signature stays
    intact, but the document information the signer saw is no longer what the file shows."""
    target = signed / "SIG-001.signed.pdf"
    with target.open("rb") as stream:
        writer = IncrementalPdfFileWriter(io.BytesIO(stream.read()))
    info = writer.trailer["/Info"]
    value = '{"participant":"Eve N. Truder"}' if entry == "/GrantgenRecord" else "Gift deed"
    info[entry] = generic.pdf_string(value)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    target.write_bytes(out.getvalue())
    code, report = verify_json(signed, pki.ca)
    check = file_check(report, target.name)
    assert code == 1
    assert f"the document's metadata was changed after the last signature: {entry}" in (
        reasons(check)
    )
    assert file_check(report, "SIG-002.signed.pdf")["ok"]


def test_verify_a_packet_without_a_signed_grant_record_cannot_prove_its_signers(
    batch: Path, pki: Pki
) -> None:
    """A packet made without the record (an older grantgen, or one rebuilt by hand) verifies
    only with --any-signer: who had to sign it is not taken from the manifest."""
    target = batch / "SIG-001.pdf"
    with pikepdf.open(target, allow_overwriting_input=True) as pdf:
        del pdf.docinfo["/GrantgenRecord"]
        pdf.save(target)
    data = manifest(batch)
    data["documents"][0]["sha256"]["pdf"] = sha256(target.read_bytes())
    (batch / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = run("sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile)
    assert result.exit_code == 0, result.output
    code, report = verify_json(batch, pki.ca)
    assert code == 1
    assert "carries no grant record" in reasons(file_check(report, "SIG-001.signed.pdf"))
    assert file_check(report, "SIG-002.signed.pdf")["ok"]
    assert run("verify", batch, "--trust", pki.ca, "--any-signer").exit_code == 0


def test_the_visible_date_is_the_signers_local_date_not_utcs(batch: Path, pki: Pki) -> None:
    """Issue 19: signing at 17:47 on 5 December in Honolulu (03:47 UTC on the 6th) shows
    December 5 with --tz Pacific/Honolulu; the signing time recorded stays UTC."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from generator.assembling.stamp import Appearance

    when = datetime(2026, 12, 6, 3, 47, tzinfo=UTC)
    credentials = load_credentials(pki.officer_p12, passphrase=PASSPHRASE)
    shown = {}
    for zone in ("Pacific/Honolulu", "UTC", "Asia/Tokyo"):
        out = batch / f"{zone.replace('/', '-')}.pdf"
        look = Appearance("Julie M.B. Bradley", "Officer", ZoneInfo(zone))
        signed = sign_pdf(batch / "SIG-001.pdf", out, credentials, appearance=look, when=when)
        assert signed.signed_at == "2026-12-06T03:47:00Z"
        shown[zone] = stamp_text(out, "company_signature")
    assert "Date: December 5, 2026" in shown["Pacific/Honolulu"]
    assert "Date: December 6, 2026" in shown["UTC"] and "December 6, 2026" in shown["Asia/Tokyo"]
    bad = run("sign", batch, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile,
              "--tz", "Mars/Olympus")  # fmt: skip
    assert bad.exit_code == 2 and "'Mars/Olympus' is not a time zone" in bad.output
