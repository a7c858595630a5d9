"""Issue 20: the packets participants signed come back (any names, any order, one folder);
`accept` records exactly the good ones, refuses the others with the reason and changes
nothing for them; `status` shows where each grant stands."""

# ruff: noqa: F811 - the fixtures imported from test_signing are parameters here
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.checking.ledger import Ledger
from generator.cli import main
from generator.core.output import sha256

from .signing_tools import Pki, flip_byte
from .test_signing import batches, pki  # noqa: F401 - fixtures


def grantgen(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def signed_batch(batches: tuple[Path, Path], pki: Pki, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the genuine batch with a ledger of its own, signed by the officer."""
    folder = Path(shutil.copytree(batches[0], tmp_path / "batch"))
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(batches[0].parent / "genuine-ledger.sqlite", ledger)
    result = grantgen("sign", folder, "--cert", pki.officer_p12, "--passphrase-file", pki.passfile)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return folder, ledger


def _countersign(signed: Path, p12: Path, pki: Pki, out: Path, *extra: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    result = grantgen(
        "sign", signed, "--field", "participant_signature", "--cert", p12,
        "--passphrase-file", pki.passfile, "-o", out, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return out


def _acceptances(ledger: Path) -> dict[str, tuple[str, ...]]:
    with sqlite3.connect(ledger) as conn:
        rows = conn.execute("SELECT grant_id, state, how, sha256, file, signer FROM acceptances")
        return {r[0]: tuple(r[1:]) for r in rows}


def test_a_shuffled_folder_of_returns_accepts_exactly_the_good_ones(
    signed_batch: tuple[Path, Path], pki: Pki, tmp_path: Path
) -> None:
    folder, ledger = signed_batch
    back = tmp_path / "came back"
    good = _countersign(folder / "SIG-001.signed.pdf", pki.participant_p12, pki,
                        back / "Scan 2026-12-06 (1).PDF")  # fmt: skip
    (back / "a").mkdir(parents=True)
    warned = grantgen(
        "sign", folder / "SIG-002.signed.pdf", "--field", "participant_signature", "--cert",
        pki.participant_p12, "--passphrase-file", pki.passfile, "-o", back / "a" / "zz-first.pdf",
        "--any-signer",
    )  # fmt: skip
    assert warned.exit_code == 0, warned.output  # type: ignore[attr-defined]
    assert "warning: SIG-002.signed.pdf: the grant is Daniel K. Osei's" in warned.stderr  # type: ignore[attr-defined]
    tampered = back / "0-margaret-again.pdf"
    tampered.write_bytes(flip_byte(good.read_bytes(), tampered))
    (back / "notes.txt").write_text("not a packet")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    result = grantgen("accept", back, "--batch", folder, "--ledger", ledger, "--trust", pki.ca)
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1, out  # type: ignore[attr-defined]
    assert "accepted SIG-001" in out and "1 accepted, 0 accepted before, 2 refused" in out
    assert "signed by 'Margaret A. Ellison', but the field is for the participant" in out
    assert "zz-first.pdf" in out and "0-margaret-again.pdf" in out
    kept = folder / "SIG-001.accepted.pdf"
    assert kept.read_bytes() == good.read_bytes()
    state, how, digest, file, signer = _acceptances(ledger)["SIG-001"]
    assert (state, how, digest, file, signer) == (
        "accepted", "signature", sha256(good.read_bytes()), kept.name, "Margaret A. Ellison"
    )  # fmt: skip
    assert set(_acceptances(ledger)) == {"SIG-001"}  # the refused ones changed nothing
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k != kept.name} == before
    status = grantgen("status", folder, "--ledger", ledger, "--format", "json")
    data = json.loads(status.output)  # type: ignore[attr-defined]
    states = {g["grant_id"]: g["state"] for g in data["grants"]}
    assert states == {"SIG-001": "accepted", "SIG-002": "company-signed"}
    again = grantgen("accept", good, "--batch", folder, "--ledger", ledger, "--trust", pki.ca)
    assert again.exit_code == 0 and "1 accepted before" in again.output  # type: ignore[attr-defined]


def test_a_packet_changed_after_the_participant_signed_is_refused(
    signed_batch: tuple[Path, Path], pki: Pki, tmp_path: Path
) -> None:
    """Form filling after the participant's signature is what the Company's DocMDP level
    allows, and pyHanko alone would pass it: an acceptance must end with the signature."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    folder, ledger = signed_batch
    good = _countersign(folder / "SIG-001.signed.pdf", pki.participant_p12, pki,
                        tmp_path / "back" / "m.pdf")  # fmt: skip
    writer = IncrementalPdfFileWriter(io.BytesIO(good.read_bytes()))
    info = writer.trailer["/Info"]
    info["/Subject"] = generic.pdf_string("changed after signing")
    writer.update_container(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    good.write_bytes(buffer.getvalue())
    result = grantgen("accept", good, "--batch", folder, "--ledger", ledger, "--trust", pki.ca)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "refused" in result.output and not (folder / "SIG-001.accepted.pdf").exists()  # type: ignore[attr-defined]
    assert _acceptances(ledger) == {}


def test_a_company_unsigned_or_unsigned_packet_is_refused(
    batches: tuple[Path, Path], pki: Pki, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(batches[0], tmp_path / "batch"))
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(batches[0].parent / "genuine-ledger.sqlite", ledger)
    result = grantgen("accept", folder / "SIG-001.pdf", "--batch", folder, "--ledger", ledger,
                      "--trust", pki.ca)  # fmt: skip
    assert result.exit_code == 1 and "nobody has signed it" in result.output  # type: ignore[attr-defined]
    status = grantgen("status", folder, "--ledger", ledger)
    assert "made" in status.output and "not signed by the Company yet" in status.output  # type: ignore[attr-defined]


def test_paper_and_declined_are_recorded_and_status_flags_the_overdue(
    signed_batch: tuple[Path, Path], pki: Pki, tmp_path: Path
) -> None:
    folder, ledger = signed_batch
    scan = tmp_path / "IMG_0042.JPG"
    scan.write_bytes(b"\xff\xd8\xff\xe0 a scanned page")
    paper = grantgen("accept", "--paper", "SIG-001", "--on", "2026-11-30", "--scan", scan,
                     "--batch", folder, "--ledger", ledger)  # fmt: skip
    assert paper.exit_code == 0, paper.output  # type: ignore[attr-defined]
    assert (folder / "SIG-001.accepted-paper.jpg").read_bytes() == scan.read_bytes()
    twice = grantgen("accept", "--declined", "SIG-001", "--on", "2026-12-01", "--batch", folder,
                     "--ledger", ledger)  # fmt: skip
    assert twice.exit_code == 1 and "already recorded as accepted (paper)" in twice.output  # type: ignore[attr-defined]
    future = grantgen("accept", "--declined", "SIG-002", "--on", "2999-01-01", "--batch", folder,
                      "--ledger", ledger)  # fmt: skip
    assert future.exit_code == 1 and "in the future" in future.output  # type: ignore[attr-defined]
    unknown = grantgen("accept", "--declined", "NOPE-9", "--on", "2026-12-01", "--batch", folder,
                       "--ledger", ledger)  # fmt: skip
    assert unknown.exit_code == 1 and "NOPE-9: not a grant of the batch" in unknown.output  # type: ignore[attr-defined]
    # Daniel's grant was signed by the Company "long ago": overdue past 10 days
    data = json.loads((folder / "manifest.json").read_text())
    data["documents"][1]["signed"]["signed_at"] = "2026-01-05T10:00:00Z"
    (folder / "manifest.json").write_text(json.dumps(data))
    status = grantgen("status", folder, "--ledger", ledger, "--overdue", "10")
    assert status.exit_code == 1, status.output  # type: ignore[attr-defined]
    assert "1 pending more than 10 days" in status.output  # type: ignore[attr-defined]
    lines = status.output.splitlines()  # type: ignore[attr-defined]
    assert any("SIG-001" in line and "accepted" in line and "paper" in line for line in lines)
    early = grantgen("accept", "--declined", "SIG-002", "--on", "2005-05-15", "--batch", folder,
                     "--ledger", ledger)  # fmt: skip
    assert early.exit_code == 1 and "before it was granted" in early.output  # type: ignore[attr-defined]
    shown = grantgen("ledger", "show", "--ledger", ledger, "--format", "json")
    before = json.loads(shown.output)["available"]  # type: ignore[attr-defined]
    declined = grantgen("accept", "--declined", "SIG-002", "--on", "2026-12-02", "--batch",
                        folder, "--ledger", ledger, "--note", "prefers cash")  # fmt: skip
    assert declined.exit_code == 0, declined.output  # type: ignore[attr-defined]
    after = json.loads(grantgen("ledger", "show", "--ledger", ledger, "--format", "json").output)  # type: ignore[attr-defined]
    assert after["available"] == before + 15000  # a declined grant's shares return to the pool
    calm = grantgen("status", folder, "--ledger", ledger, "--overdue", "10")
    assert calm.exit_code == 0 and "1 declined" in calm.output  # type: ignore[attr-defined]


def test_no_ledger_is_said_not_made_up(
    signed_batch: tuple[Path, Path], pki: Pki, tmp_path: Path
) -> None:
    """A ledger that is not there: accept refuses (and makes no empty ledger), status warns
    that it cannot show acceptances."""
    folder, _ = signed_batch
    nowhere = tmp_path / "no-ledger.sqlite"
    refused = grantgen("accept", folder / "SIG-001.signed.pdf", "--batch", folder, "--ledger",
                       nowhere, "--trust", pki.ca)  # fmt: skip
    assert refused.exit_code == 1 and "there is no ledger at" in refused.output  # type: ignore[attr-defined]
    paper = grantgen("accept", "--declined", "SIG-001", "--on", "2026-12-01", "--batch", folder,
                     "--ledger", nowhere)  # fmt: skip
    assert paper.exit_code == 1 and not nowhere.exists()  # type: ignore[attr-defined]
    status = grantgen("status", folder, "--ledger", nowhere)
    assert "warning: there is no ledger at" in status.stderr  # type: ignore[attr-defined]


def test_usage_errors_are_said_before_anything_is_read(tmp_path: Path) -> None:
    for args, says in [
        ([], "give the returned packets"),
        (["--paper", "X"], "--on DATE"),
        (["--paper", "X", "--declined", "Y", "--on", "2026-01-01"], "one at a time"),
        (["--on", "2026-01-01", str(tmp_path)], "--on and --scan go with --paper"),
    ]:
        result = grantgen("accept", *args)
        assert result.exit_code == 2 and says in result.output, (args, result.output)  # type: ignore[attr-defined]


def test_a_run_killed_after_keeping_the_file_is_finished_by_the_next(
    signed_batch: tuple[Path, Path], pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between keeping the packet and recording it: the ledger holds nothing, and the
    same command run again records it without setting the identical file aside."""
    import generator.signing.acceptance as acceptance

    folder, ledger = signed_batch
    good = _countersign(folder / "SIG-001.signed.pdf", pki.participant_p12, pki,
                        tmp_path / "back" / "m.pdf")  # fmt: skip

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(acceptance, "insert_answer", killed)
        with pytest.raises(KeyboardInterrupt):
            acceptance.accept_returned(folder, [good], ledger=ledger, trust=[pki.ca])
    assert (folder / "SIG-001.accepted.pdf").is_file() and _acceptances(ledger) == {}
    result = acceptance.accept_returned(folder, [good], ledger=ledger, trust=[pki.ca])
    assert [f.outcome for f in result.files] == ["accepted"]
    assert set(_acceptances(ledger)) == {"SIG-001"} and not (folder / "superseded").exists()


def test_status_of_a_folder_without_a_batch_says_how_to_name_one(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with Ledger(ledger):
        pass
    result = grantgen("status", tmp_path, "--ledger", ledger)
    assert result.exit_code != 0
    assert "no manifest.json (give the batch folder as FOLDER)" in result.output  # type: ignore[attr-defined]
    assert "--batch" not in result.output  # type: ignore[attr-defined]
