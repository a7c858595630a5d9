"""Faults: LibreOffice crashing mid-batch, the process killed at any moment, a full disk, and
final documents that must not be replaced silently."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest

from generator.checking.ledger import Ledger
from generator.checking.ledgercsv import export_csv
from generator.core.errors import ConvertError, OutputError
from generator.core.output import sha256
from generator.pipeline import GenerateOptions, generate
from generator.terms.plan import load_plan

from .conftest import PRICES, ROOT, grant, write_csv

PLAN = load_plan()


def poisoned_soffice(tmp_path: Path, real: str) -> str:
    """A soffice that crashes on any document naming POISON, and is the real one otherwise."""
    path = tmp_path / "soffice"
    path.write_text(
        f"""#!{sys.executable}
import os, sys, zipfile
for arg in sys.argv[1:]:
    if arg.endswith(".docx"):
        with zipfile.ZipFile(arg) as z:
            if b"POISON" in z.read("word/document.xml"):
                sys.stderr.write("simulated crash\\n")
                os._exit(134)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
""",
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def faking_soffice(tmp_path: Path, real: str, stem: str, write_pdf: str) -> str:
    """A soffice that, for a call converting a document whose name starts with ``stem``,
    runs ``write_pdf`` (Python, with ``target`` each PDF's path and pikepdf imported) instead
    of LibreOffice; the real one otherwise."""
    path = tmp_path / "soffice"
    body = textwrap.indent(write_pdf, " " * 8)
    path.write_text(
        f"""#!{sys.executable}
import os, sys, pikepdf
args = sys.argv[1:]
docs = [a for a in args if a.endswith(".docx")]
if any(os.path.basename(d).startswith({stem!r}) for d in docs):
    out = args[args.index("--outdir") + 1]
    for d in docs:
        target = os.path.join(out, os.path.splitext(os.path.basename(d))[0] + ".pdf")
{body}
    sys.exit(0)
os.execv({real!r}, [{real!r}, *args])
""",
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_crash_on_one_grant_loses_no_other(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRANTGEN_SOFFICE", poisoned_soffice(tmp_path, soffice))
    rows = [grant(grant_id=f"C-{i}", participant=f"Director {i}") for i in range(6)]
    rows[3]["participant"] = "POISON Pill"
    ledger = tmp_path / "l.sqlite"
    result = generate(
        GenerateOptions(
            grants=write_csv(tmp_path / "g.csv", rows), out=tmp_path / "o", ledger=ledger, jobs=2
        )
    )
    assert [d.grant_id for d in result.documents] == ["C-0", "C-1", "C-2", "C-4", "C-5"]
    (error,) = result.errors
    assert error["row"] == 5 and error["grant_id"] == "C-3"
    assert "status 134" in error["message"] and "simulated crash" in error["message"]
    for doc in result.documents:  # each packet is its own grant's
        with pikepdf.open(tmp_path / "o" / doc.pdf) as pdf:
            assert doc.participant in str(pdf.docinfo.Title)
    with Ledger(ledger) as book:
        assert sorted(book.pool(PLAN).known) == ["C-0", "C-1", "C-2", "C-4", "C-5"]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def assert_no_half_written_files(out: Path) -> None:
    for path in out.iterdir():
        if path.name.startswith("."):
            continue  # temporary names, never a final name
        if path.suffix == ".pdf":
            with pikepdf.open(path) as pdf:
                assert len(pdf.pages) > 0
        elif path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                assert z.testzip() is None
        elif path.name == "manifest.json":
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kill_after", [0.8, 2.5, 4.0])
def test_killed_at_any_moment_a_rerun_finishes_the_batch(
    tmp_path: Path, soffice: str, kill_after: float
) -> None:
    rows = [
        grant(grant_id=f"K-{i:02d}", participant=f"Director {i}", shares="1000") for i in range(12)
    ]
    grants = write_csv(tmp_path / "g.csv", rows)
    env = {**os.environ}

    def args(out: Path, ledger: Path) -> list[str]:
        return [
            "generate",
            str(grants),
            "-o",
            str(out),
            "--ledger",
            str(ledger),
            "--prices",
            str(PRICES),
            "-q",
            "-j",
            "2",
        ]

    reference = run_cli(args(tmp_path / "ref", tmp_path / "ref.sqlite"), env)
    assert reference.wait(300) == 0

    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    victim = run_cli(args(out, ledger), env)
    time.sleep(kill_after)
    os.killpg(victim.pid, signal.SIGKILL)  # grantgen and its LibreOffice workers
    victim.wait(60)
    if out.exists():
        assert_no_half_written_files(out)
    rerun = run_cli(args(out, ledger), env)
    assert rerun.wait(300) == 0
    assert_no_half_written_files(out)
    got = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    want = json.loads((tmp_path / "ref" / "manifest.json").read_text(encoding="utf-8"))
    assert got == want
    with Ledger(ledger) as a, Ledger(tmp_path / "ref.sqlite") as b:
        assert export_csv(a) == export_csv(b)
        assert a.pool(PLAN).used == 12000
    assert not list(out.glob(".grantgen-work-*")) or all(
        time.time() - p.stat().st_mtime < 60 for p in out.glob(".grantgen-work-*")
    )


def test_a_full_disk_leaves_the_ledger_unchanged(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.publishing.publish as publish

    real_replace = os.replace
    calls = {"n": 0}

    def full_disk(src: object, dst: object) -> None:
        final = Path(str(dst))
        if final.parent == tmp_path / "o" and final.suffix in (".pdf", ".docx"):
            calls["n"] += 1  # a file moved into place under its final name
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(publish.os, "replace", full_disk)
    ledger = tmp_path / "l.sqlite"
    rows = [grant(grant_id=f"D-{i}", participant=f"Director {i}") for i in range(3)]
    with pytest.raises(OutputError, match="No space left on device"):
        generate(
            GenerateOptions(
                grants=write_csv(tmp_path / "g.csv", rows), out=tmp_path / "o", ledger=ledger
            )
        )
    with Ledger(ledger) as book:
        assert book.pool(PLAN).used == 0 and book.grants() == []
    out = tmp_path / "o"  # removed when the failed run left it empty
    leftovers = (
        [p.name for p in out.iterdir() if p.suffix in (".pdf", ".docx")] if out.exists() else []
    )
    assert leftovers == [], "files of unrecorded grants were left under final names"


def test_killed_while_files_are_placed_no_packet_is_left_that_the_ledger_does_not_count(
    tmp_path: Path, soffice: str
) -> None:
    """A kill while a final batch's files are being moved into place: every packet in the
    folder is one the ledger records (shares are held first), and a rerun finishes."""
    rows = [grant(grant_id=f"M-{i}", participant=f"Director {i}") for i in range(3)]
    grants, out, ledger = write_csv(tmp_path / "g.csv", rows), tmp_path / "o", tmp_path / "l.sqlite"
    script = f"""
import os, sys
import generator.publishing.publish as publish
real, moves = os.replace, []
def dying(src, dst):
    if os.path.dirname(str(dst)) == {str(out)!r} and str(dst).endswith((".pdf", ".docx")):
        moves.append(dst)  # a file moved into place under its final name
        if len(moves) == 3:  # the second grant's DOCX: one packet placed already
            os._exit(9)  # killed: no cleanup runs
    real(src, dst)
publish.os.replace = dying
from generator.cli import main
main(["generate", {str(grants)!r}, "-o", {str(out)!r}, "--ledger", {str(ledger)!r}, "-q"])
"""
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=300)
    assert killed.returncode == 9
    placed = sorted(p.stem for p in out.glob("M-*.pdf"))
    assert placed, "the kill came before any packet was placed: the test proves nothing"
    with Ledger(ledger) as book:
        recorded = {g["grant_id"] for g in book.grants()}
    assert set(placed) <= recorded  # no signature-ready packet outside the ledger
    again = generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    assert not again.errors and len(again.documents) == 3
    with Ledger(ledger) as book:
        assert book.pool(PLAN).used == 3 * int(rows[0]["shares"].replace(",", ""))


def test_a_full_disk_while_the_review_packet_is_written_is_an_error_not_an_abort(
    tmp_path: Path, soffice: str
) -> None:
    """qpdf writing straight to a file that hits a full disk aborted the whole process (a C++
    exception that cannot cross into Python); the packet is now written by Python. The disk
    is "full" past 8 KB: a file-size limit (EFBIG) in a child process."""
    out = tmp_path / "o"
    made = generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    (packet,) = [out / d.pdf for d in made.documents]
    script = f"""
import resource, signal, sys
from pathlib import Path
from generator.core.errors import GrantgenError
from generator.assembling.reviewpacket import review_packet
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
    review_packet([("A", Path({str(packet)!r}), None)] * 8, Path({str(tmp_path / "big.pdf")!r}),
                  title="t", author="a")
except GrantgenError as exc:
    print("refused:", exc)
    sys.exit(3)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr[-2000:]  # not SIGABRT (-6)
    assert "cannot write" in done.stdout and "big.pdf" in done.stdout
    assert not (tmp_path / "big.pdf").exists()
    assert not list(tmp_path.glob(".big.pdf*"))  # no temporary file left


def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path, soffice: str) -> None:
    rows = [grant(grant_id=f"T-{i:02d}", participant=f"Director {i}") for i in range(40)]
    out, cache = tmp_path / "o", tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    grants, ledger = write_csv(tmp_path / "g.csv", rows), tmp_path / "l.sqlite"
    args = ["generate", str(grants), "-o", str(out), "-q", "--ledger", str(ledger)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", *args],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not list(cache.glob("grantgen/lo-profile-*/user")) and time.time() < deadline:
        time.sleep(0.05)  # LibreOffice is running
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and err.strip().endswith("terminated"), err
    assert "Traceback" not in err
    assert not list(out.glob(".grantgen-work-*")) if out.exists() else True
    time.sleep(0.5)
    assert not _processes_mentioning(str(cache)), "LibreOffice was left running"
    with Ledger(tmp_path / "l.sqlite") as book:
        assert book.grants() == []


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry))
    return found


def test_libreoffice_left_running_by_a_killed_run_is_stopped_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, soffice: str
) -> None:
    from generator.converting.converter import Converter

    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    profile = cache / "grantgen" / "lo-profile-0"
    # stands in for a soffice.bin whose grantgen was killed: same profile on its command line
    orphan = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(120)",
            f"-env:UserInstallation={profile.as_uri()}",
        ]
    )
    try:
        deadline = time.time() + 30
        while orphan.pid not in _processes_mentioning(str(profile)) and time.time() < deadline:
            time.sleep(0.02)  # until it has exec'd: its command line is empty before
        with Converter(1):
            assert orphan.wait(10) == -signal.SIGKILL
    finally:
        orphan.kill()


def test_a_damaged_board_consent_pdf_is_a_review_problem_not_a_crash(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from generator.cli import main

    fake = faking_soffice(  # the real one, but the consent comes out as a damaged PDF
        tmp_path, soffice, "board_consent", 'open(target, "wb").write(b"%PDF-1.7 1 obj %%EOF")'
    )
    monkeypatch.setenv("GRANTGEN_SOFFICE", fake)
    out = tmp_path / "o"
    grants = write_csv(tmp_path / "g.csv", [grant()])
    done = CliRunner().invoke(
        main, ["generate", str(grants), "-o", str(out), "--ledger", str(tmp_path / "l.sqlite")]
    )
    assert done.exit_code == 0, done.output
    assert "warning: review/: the Board consent could not be made" in done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["documents"]) == 1 and manifest["review"]["problems"]
    assert (out / "review" / "summary.html").exists()


def test_temporary_files_a_killed_run_left_in_review_are_removed(
    tmp_path: Path, soffice: str
) -> None:
    out = tmp_path / "o"
    (out / "review").mkdir(parents=True)
    left = out / "review" / ".packet.pdf.4242abcd.part"
    left.write_bytes(b"%PDF-1.7 half")
    fresh = out / "review" / ".summary.csv.abc.part"  # maybe another run's, being written
    fresh.write_bytes(b"")
    old = time.time() - 600
    os.utime(left, (old, old))
    generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    assert not left.exists() and fresh.exists()


def test_chunks_are_assembled_as_they_are_converted_and_listed_in_row_order(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk's conversion waits until a later chunk's packet has been assembled:
    assembly follows LibreOffice rather than the order chunks went in (else that wait runs
    out), and the documents are still listed in row order. (No review: its Board consent,
    converted first, would put both chunks in one call.)"""
    import generator.making.chunks

    seen = tmp_path / "seen.txt"
    fake = tmp_path / "soffice"
    fake.write_text(
        f"""#!{sys.executable}
import os, subprocess, sys, time
args = sys.argv[1:]
first = [a for a in args if os.path.basename(a) == "chunk000000.docx"]
if first:
    # the call may hold the Plan too (it was queued first): the later chunk's assembly needs
    # it, so the others go first and the first chunk waits on its own
    others = [a for a in args if a.endswith(".docx") and a not in first]
    options = [a for a in args if not a.endswith(".docx")]
    if others:
        subprocess.run([{soffice!r}, *options, *others], check=False)
    args = [*options, *first]
    later = os.path.join(os.path.dirname(first[0]), "g000002.packet.pdf")
    deadline = time.time() + 60
    while not os.path.exists(later) and time.time() < deadline:
        time.sleep(0.05)
    with open({str(seen)!r}, "w") as fh:
        fh.write("assembled first" if os.path.exists(later) else "waited in vain")
os.execv({soffice!r}, [{soffice!r}, *args])
""",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("GRANTGEN_SOFFICE", str(fake))
    monkeypatch.setattr(generator.making.chunks, "CHUNK", 2)
    rows = [grant(grant_id=f"O-{i}", participant=f"Director {i}") for i in range(4)]
    result = generate(
        GenerateOptions(
            grants=write_csv(tmp_path / "g.csv", rows),
            out=tmp_path / "o",
            ledger=tmp_path / "l.sqlite",
            jobs=2,
            review=False,
        )
    )
    assert seen.read_text() == "assembled first"
    assert not result.errors
    assert [d.grant_id for d in result.documents] == ["O-0", "O-1", "O-2", "O-3"]
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert [d["grant_id"] for d in manifest["documents"]] == ["O-0", "O-1", "O-2", "O-3"]


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_where_a_packet_goes_refuses_that_grant_only(
    tmp_path: Path, soffice: str, force: bool
) -> None:
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    (out / "B-1.pdf").mkdir(parents=True)
    rows = [grant(grant_id="A-1", participant="Ann Lee"), grant(grant_id="B-1", participant="Bo")]
    result = generate(
        GenerateOptions(
            grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger, force=force
        )
    )
    assert [d.grant_id for d in result.documents] == ["A-1"]
    (error,) = result.errors
    assert (error["row"], error["column"], error["rule"]) == (3, "grant_id", "overwrite")
    assert "B-1.pdf in the output folder is not a file" in str(error["message"])
    assert (out / "B-1.pdf").is_dir()  # left as it was
    with Ledger(ledger) as book:
        assert [g["grant_id"] for g in book.grants()] == ["A-1"]


def test_a_summary_that_cannot_be_written_is_a_review_problem_not_a_failed_batch(
    tmp_path: Path, soffice: str
) -> None:
    from click.testing import CliRunner

    from generator.cli import main

    out = tmp_path / "o"
    (out / "review" / "summary.html").mkdir(parents=True)  # in the way
    done = CliRunner().invoke(
        main,
        ["generate", str(write_csv(tmp_path / "g.csv", [grant()])), "-o", str(out),
         "--ledger", str(tmp_path / "l.sqlite")],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "warning: review/: summary.html could not be written" in done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["documents"]) == 1
    assert "review/summary.html" not in manifest["review"]["files"]
    assert "review/summary.csv" in manifest["review"]["files"]
    assert any("summary.html" in p for p in manifest["review"]["problems"])


def test_a_run_without_review_makes_no_review_folder(tmp_path: Path, soffice: str) -> None:
    """What preview asks for: one grant's documents, no summaries, packet or Board consent."""
    out = tmp_path / "o"
    result = generate(
        GenerateOptions(
            grants=write_csv(tmp_path / "g.csv", [grant()]), out=out, draft=True, review=False
        )
    )
    assert [d.pdf for d in result.documents] == ["G-1.draft.pdf"]
    assert result.review is None and not (out / "review").exists()


def test_a_write_killed_before_it_is_named_leaves_no_file(tmp_path: Path) -> None:
    """kill -9 after the bytes are written but before the file is in place: nothing is left
    in the folder (the file never had a name), and the old file is untouched."""
    (tmp_path / "manifest.json").write_text("old")
    script = f"""
import os, signal
from pathlib import Path
from generator.core import output
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed right after writing
output.write_atomic(Path({str(tmp_path)!r}) / "manifest.json", b"x" * 3_000_000)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]
    assert (tmp_path / "manifest.json").read_text() == "old"


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named temporary file"])
def test_write_atomic_replaces_the_file_with_the_usual_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    from generator.core import output

    if not unnamed:  # a file system without O_TMPFILE
        monkeypatch.setattr(output, "_unnamed_file", lambda path: None)
    target = tmp_path / "x.pdf"
    target.write_bytes(b"old")
    output.write_atomic(target, b"new & <ok>")
    assert target.read_bytes() == b"new & <ok>"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["x.pdf"]


def test_temporary_files_a_killed_run_left_in_the_output_folder_are_removed(
    tmp_path: Path, soffice: str
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    left = out / ".B-1.signed.pdf.1a2b3c4d.part"
    left.write_bytes(b"%PDF-1.7 half")
    fresh = out / ".manifest.json.9f8e7d6c.part"  # maybe another run's, being named
    fresh.write_bytes(b"")
    mine = [out / n for n in (".notes.txt", ".notes.part", ".part", ".my file.part")]
    for path in mine:  # the user's own hidden files, however they are named
        path.write_text("keep")
    old = time.time() - 600
    for path in (left, *mine):
        os.utime(path, (old, old))
    generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    assert not left.exists() and fresh.exists()
    assert all(path.read_text() == "keep" for path in mine)


def test_a_temporary_file_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    from generator.core.output import write_atomic

    with pytest.raises(OutputError, match=r"cannot write .*gone/x\.pdf"):
        write_atomic(tmp_path / "gone" / "x.pdf", b"data")


def test_a_full_disk_while_documents_are_made_names_where(tmp_path: Path) -> None:
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    script = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
# the disk is "full" past 45 KB: the Plan's DOCX (~43 KB) and the grant's (~40 KB) fit,
# LibreOffice's document of the batch (~850 KB) does not
resource.setrlimit(resource.RLIMIT_FSIZE, (45000, 45000))
from generator.cli import main
main(["generate", {str(write_csv(tmp_path / "g.csv", [grant()]))!r}, "-o", {str(out)!r},
      "--ledger", {str(ledger)!r}, "-q"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "error: cannot write " in done.stderr and "unexpected" not in done.stderr
    assert str(out) in done.stderr  # where: a file in the output folder's work folder
    assert not out.exists()  # the run made it, and took it away again
    with Ledger(ledger) as book:
        assert book.grants() == []


def test_a_full_disk_when_the_board_consent_is_written_names_it(tmp_path: Path) -> None:
    """The consent is the first document written (before the agreement templates are read):
    a full disk there is the same clear error, not an unexpected one."""
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    script = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))  # the consent's DOCX is ~40 KB
from generator.cli import main
main(["generate", {str(write_csv(tmp_path / "g.csv", [grant()]))!r}, "-o", {str(out)!r},
      "--ledger", {str(ledger)!r}, "-q"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "error: cannot write " in done.stderr and "board_consent.docx" in done.stderr
    assert "unexpected" not in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_blank_plan_from_libreoffice_is_refused_and_not_cached(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = faking_soffice(  # the real one, but the Plan comes out as a blank page
        tmp_path, soffice, "plan", "pdf = pikepdf.new()\npdf.add_blank_page()\npdf.save(target)"
    )
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("GRANTGEN_SOFFICE", fake)
    ledger = tmp_path / "l.sqlite"
    options = GenerateOptions(
        grants=write_csv(tmp_path / "g.csv", [grant()]), out=tmp_path / "o", ledger=ledger
    )
    with pytest.raises(ConvertError, match="without any text"):
        generate(options)
    assert not list((cache / "grantgen").glob("pdf-*.pdf"))  # not kept for the next run
    with Ledger(ledger) as book:
        assert book.grants() == []


def test_a_damaged_cached_plan_is_made_again(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    grants = write_csv(tmp_path / "g.csv", [grant()])
    first = generate(GenerateOptions(grants=grants, out=tmp_path / "a"))
    (cached,) = (cache / "grantgen").glob("pdf-*.pdf")
    cached.write_bytes(b"%PDF-1.7 damaged %%EOF")
    again = generate(GenerateOptions(grants=grants, out=tmp_path / "b"))
    assert not again.errors and again.documents[0].sha256 == first.documents[0].sha256
    assert pikepdf.open(cached).pages  # converted again and kept


def test_interrupted_while_the_review_is_written_the_manifest_lists_the_documents(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.pipeline as pipeline

    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_review", interrupted)
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="R-1"), grant(grant_id="R-2")])
    with pytest.raises(KeyboardInterrupt):
        generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(d["grant_id"] for d in manifest["documents"]) == ["R-1", "R-2"]
    assert all((out / d["pdf"]).exists() for d in manifest["documents"])
    with Ledger(ledger) as book:
        assert sorted(g["grant_id"] for g in book.grants()) == ["R-1", "R-2"]


def test_an_output_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        generate(
            GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=blocker / "sub")
        )


def test_final_documents_are_not_replaced_without_force(tmp_path: Path, soffice: str) -> None:
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="F-1")])
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    first = generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    original = (out / "F-1.pdf").read_bytes()
    # same run again: identical bytes, nothing to protect
    again = generate(GenerateOptions(grants=grants, out=out, ledger=ledger))
    assert not again.errors and again.documents[0].sha256 == first.documents[0].sha256
    # another signing officer: the same grant now renders differently
    other_plan = tmp_path / "plan.toml"
    other_plan.write_text(
        Path(PLAN.source).read_text().replace(PLAN.company.officer.name, "Pat Q. Officer")
    )
    refused = generate(GenerateOptions(grants=grants, out=out, ledger=ledger, plan=other_plan))
    (error,) = refused.errors
    assert error["rule"] == "overwrite" and "--force" in error["message"]
    assert (out / "F-1.pdf").read_bytes() == original
    forced = generate(
        GenerateOptions(grants=grants, out=out, ledger=ledger, plan=other_plan, force=True)
    )
    assert not forced.errors and (out / "F-1.pdf").read_bytes() != original
    # a signed copy whose original is gone is not regenerated over
    shutil.copy(out / "F-1.pdf", out / "F-1.signed.pdf")
    (out / "F-1.pdf").unlink()
    guarded = generate(GenerateOptions(grants=grants, out=out, ledger=ledger, plan=other_plan))
    assert guarded.errors and "signed copy" in guarded.errors[0]["message"]


def test_rerunning_part_of_a_batch_keeps_its_documents(tmp_path: Path, soffice: str) -> None:
    """One grant generated again on its own is the same agreement (same DOCX); its PDF,
    converted without the others, differs in LibreOffice's embedded font subsets: the PDF on
    disk is kept, not refused as 'other content', and the manifest still lists it."""
    rows = [
        grant(grant_id="P-1", participant="Ann Lee"),
        grant(grant_id="P-2", participant="Żaneta Ølgård-Quixby"),
        grant(grant_id="P-3", participant="Björn Väyrynen"),
    ]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    first = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger)
    )
    assert not first.errors
    before = {p.name: p.read_bytes() for p in out.glob("P-*")}
    one = write_csv(tmp_path / "one.csv", rows[:1])
    again = generate(GenerateOptions(grants=one, out=out, ledger=ledger))
    assert not again.errors, again.errors
    assert {p.name: p.read_bytes() for p in out.glob("P-*")} == before
    (doc,) = again.documents
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    (listed,) = [d for d in manifest["documents"] if d["grant_id"] == "P-1"]
    assert listed["sha256"]["pdf"] == doc.sha256["pdf"] == first.documents[0].sha256["pdf"]
    # the folder's other documents stay listed, with the input they came from
    earlier = {d["grant_id"]: d for d in manifest["documents"] if d["grant_id"] != "P-1"}
    assert set(earlier) == {"P-2", "P-3"}
    assert earlier["P-2"]["input"] == "g.csv"
    assert earlier["P-2"]["sha256"] == first.documents[1].sha256
    # a document whose file changed since is no longer vouched for
    (out / "P-3.pdf").write_bytes(b"%PDF-1.7 edited")
    generate(GenerateOptions(grants=one, out=out, ledger=ledger))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert sorted(d["grant_id"] for d in manifest["documents"]) == ["P-1", "P-2"]


def test_force_keeps_a_packet_whose_agreement_did_not_change_and_its_signed_record(
    tmp_path: Path, soffice: str
) -> None:
    """--force replaces other content, not the same agreement converted in other company: a
    signed packet made again on its own keeps its bytes, its signed copy and its record."""
    rows = [
        grant(grant_id="P-1", participant="Ann Lee"),
        grant(grant_id="P-2", participant="Żaneta Ølgård-Quixby"),
        grant(grant_id="P-3", participant="Björn Väyrynen"),
    ]
    out, ledger = tmp_path / "o", tmp_path / "l.sqlite"
    first = generate(
        GenerateOptions(grants=write_csv(tmp_path / "g.csv", rows), out=out, ledger=ledger)
    )
    assert not first.errors
    signed = (out / "P-1.pdf").read_bytes() + b"\n% a signature's incremental update\n"
    (out / "P-1.signed.pdf").write_bytes(signed)
    data = json.loads((out / "manifest.json").read_text("utf-8"))
    record = {"pdf": "P-1.signed.pdf", "sha256": sha256(signed), "field": "company_signature"}
    data["documents"][0]["signed"] = record
    (out / "manifest.json").write_text(json.dumps(data), "utf-8")
    before = {p.name: p.read_bytes() for p in out.glob("P-*")}
    one = write_csv(tmp_path / "one.csv", rows[:1])
    again = generate(GenerateOptions(grants=one, out=out, ledger=ledger, force=True))
    assert not again.errors, again.errors
    assert {p.name: p.read_bytes() for p in out.glob("P-*")} == before
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    (listed,) = [d for d in manifest["documents"] if d["grant_id"] == "P-1"]
    assert listed["signed"] == record and "superseded" not in listed
    assert not (out / "superseded").exists()
    # a packet on disk that is not the one the manifest records is not kept as "the same"
    (out / "P-1.pdf").write_bytes(before["P-1.pdf"] + b"% edited\n")
    edited = generate(GenerateOptions(grants=one, out=out, ledger=ledger))
    (error,) = edited.errors
    assert error["rule"] == "overwrite" and "not the file manifest.json records" in error["message"]


def test_a_work_folder_left_by_a_killed_run_is_removed_by_the_next(
    tmp_path: Path, soffice: str
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    left = out / ".grantgen-work-killed"
    left.mkdir()
    (left / ".lock").write_bytes(b"")  # its run is gone: nobody holds the lock
    (left / "chunk000000.docx").write_bytes(b"partial")
    old = time.time() - 3
    os.utime(left, (old, old))
    generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    assert not list(out.glob(".grantgen-work-*"))


def test_a_work_folder_too_fresh_to_judge_at_the_start_is_removed_at_the_end(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.core import output

    out = tmp_path / "o"
    out.mkdir()
    left = out / ".grantgen-work-just-killed"  # its run was killed a moment ago
    left.mkdir()
    (left / ".lock").write_bytes(b"")
    moment = time.time() - 1.5  # too fresh when the run starts; not when it ends
    os.utime(left, (moment, moment))
    judged: list[bool] = []
    judge = output._remove_if_abandoned

    def later(folder: Path) -> None:  # the run's end comes seconds later, whatever its speed
        if folder == left and judged:
            os.utime(left, (moment - 5, moment - 5))
        judged.append(folder.exists())
        judge(folder)

    monkeypatch.setattr(output, "_remove_if_abandoned", later)
    generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    assert judged[:2] == [True, True]  # kept at the start (too fresh to judge), gone at the end
    assert not list(out.glob(".grantgen-work-*"))


def test_a_run_that_cannot_start_leaves_no_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.core.errors import ConvertError

    monkeypatch.setenv("GRANTGEN_SOFFICE", str(tmp_path / "no-soffice"))
    out = tmp_path / "new" / "out"
    with pytest.raises(ConvertError, match="GRANTGEN_SOFFICE"):
        generate(GenerateOptions(grants=write_csv(tmp_path / "g.csv", [grant()]), out=out))
    assert not out.exists()


def test_a_file_set_aside_by_a_run_killed_half_way_is_not_set_aside_twice(tmp_path: Path) -> None:
    from generator.core.superseded import set_aside

    signed = tmp_path / "P-1.signed.pdf"
    signed.write_bytes(b"signed once")
    (tmp_path / "superseded").mkdir()
    os.link(signed, tmp_path / "superseded" / "P-1.signed.pdf")  # killed before the unlink
    assert set_aside(signed) == tmp_path / "superseded" / "P-1.signed.pdf"
    assert not signed.exists()
    assert [p.name for p in (tmp_path / "superseded").iterdir()] == ["P-1.signed.pdf"]
    signed.write_bytes(b"signed twice")  # another one: a name of its own, nothing replaced
    assert set_aside(signed).name == "P-1.2.signed.pdf"
    assert (tmp_path / "superseded" / "P-1.signed.pdf").read_bytes() == b"signed once"
