"""LibreOffice conversion: real soffice, and fakes that inject faults (crash, hang, no output)."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader

from generator.converting.convert import (
    _LIBRARY_DIRS,
    ALLOCATORS,
    find_soffice,
    soffice_environment,
)
from generator.converting.converter import Converter
from generator.converting.losession import sessions_possible
from generator.core.errors import ConvertError, SofficeNotFoundError


def fake_soffice(tmp_path: Path, body: str) -> str:
    path = tmp_path / "soffice"
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def some_docx(folder: Path, names: list[str]) -> list[Path]:
    out = []
    for name in names:
        d = docx.Document()
        d.add_paragraph(f"Document {name}")
        buf = io.BytesIO()
        d.save(buf)
        path = folder / f"{name}.docx"
        path.write_bytes(buf.getvalue())
        out.append(path)
    return out


def test_grantgen_soffice_that_does_not_exist_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRANTGEN_SOFFICE", "/nonexistent/soffice")
    with pytest.raises(SofficeNotFoundError, match=r"GRANTGEN_SOFFICE.*apt-get install"):
        find_soffice()


def test_no_soffice_anywhere_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GRANTGEN_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("generator.converting.convert._KNOWN_PATHS", ())
    with pytest.raises(SofficeNotFoundError, match="apt-get install libreoffice"):
        find_soffice()


def test_real_libreoffice_converts_many_documents(tmp_path: Path, soffice: str) -> None:
    sources = some_docx(tmp_path, ["a", "b", "c"])
    with Converter(jobs=2) as conv:
        outcomes = conv.convert(sources, tmp_path / "pdf")
    assert [o.source for o in outcomes] == sources
    for o in outcomes:
        assert o.error is None and o.pdf is not None
        assert o.pdf.read_bytes().startswith(b"%PDF-")


def test_soffice_that_exits_0_without_output_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRANTGEN_SOFFICE", fake_soffice(tmp_path, "exit 0"))
    with Converter(jobs=1) as conv:
        outcomes = conv.convert(some_docx(tmp_path, ["a"]), tmp_path / "pdf")
    assert outcomes[0].pdf is None
    assert "without writing a PDF" in (outcomes[0].error or "")


def test_soffice_that_crashes_is_reported_with_its_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "GRANTGEN_SOFFICE", fake_soffice(tmp_path, "echo 'segfault here' >&2; exit 139")
    )
    with Converter(jobs=1) as conv:
        outcomes = conv.convert(some_docx(tmp_path, ["a", "b"]), tmp_path / "pdf")
    for o in outcomes:
        assert (
            o.pdf is None and "status 139" in (o.error or "") and "segfault here" in (o.error or "")
        )


def test_soffice_that_hangs_is_killed_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {marker}; wait"
    monkeypatch.setenv("GRANTGEN_SOFFICE", fake_soffice(tmp_path, script))
    started = time.monotonic()
    with Converter(jobs=1, timeout=1, per_document=0.5) as conv:
        outcomes = conv.convert(some_docx(tmp_path, ["a"]), tmp_path / "pdf")
    assert time.monotonic() - started < 60
    assert outcomes[0].pdf is None and "did not finish" in (outcomes[0].error or "")
    child = int(marker.read_text())
    time.sleep(0.2)
    assert not alive(child), "the hung soffice's child process was left running"


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def logging_soffice(tmp_path: Path, real: str, log: Path) -> str:
    """The real soffice, logging each call's documents; a document whose name starts with
    ``poison`` makes it convert the documents before that one and then crash."""
    path = tmp_path / "soffice-logged"
    path.write_text(
        f"""#!{sys.executable}
import os, subprocess, sys
args = sys.argv[1:]
docs = [a for a in args if a.endswith(".docx")]
with open({str(log)!r}, "a") as fh:
    fh.write(" ".join(os.path.basename(d) for d in docs) + "\\n")
poison = [d for d in docs if os.path.basename(d).startswith("poison")]
if poison:
    before = docs[: docs.index(poison[0])]
    if before:
        rest = [a for a in args if not a.endswith(".docx")]
        subprocess.run([{real!r}, *rest, *before])
    sys.stderr.write("simulated crash\\n")
    os._exit(134)
os.execv({real!r}, [{real!r}, *args])
""",
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def calls(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


def test_queued_documents_share_one_libreoffice_call(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("GRANTGEN_SOFFICE", logging_soffice(tmp_path, soffice, log))
    names = [f"d{i}" for i in range(8)]
    sources = some_docx(tmp_path, names)
    with Converter(jobs=1) as conv:
        outcomes = conv.convert(sources, tmp_path / "pdf")
    made = calls(log)
    assert sorted(d for call in made for d in call) == sorted(f"{n}.docx" for n in names)
    assert len(made) <= 3, f"one LibreOffice start per document? {made}"
    for name, outcome in zip(names, outcomes, strict=True):
        assert outcome.pdf is not None and outcome.error is None
        assert f"Document {name}" in PdfReader(outcome.pdf).pages[0].extract_text()


def test_a_crash_mid_call_keeps_the_finished_and_requeues_the_rest(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("GRANTGEN_SOFFICE", logging_soffice(tmp_path, soffice, log))
    names = ["a", "b", "c", "poison", "e", "f"]
    sources = some_docx(tmp_path, names)
    with Converter(jobs=1, timeout=60) as conv:
        outcomes = conv.convert(sources, tmp_path / "pdf")
    by_name = dict(zip(names, outcomes, strict=True))
    bad = by_name.pop("poison")
    assert bad.pdf is None and "status 134" in (bad.error or "")
    assert "simulated crash" in (bad.error or "")
    for name, outcome in by_name.items():
        assert outcome.pdf is not None, (name, outcome.error)
        assert f"Document {name}" in PdfReader(outcome.pdf).pages[0].extract_text()
    made = calls(log)
    converted_before_crash = [c[: c.index("poison.docx")] for c in made if "poison.docx" in c]
    done_early = {d for part in converted_before_crash for d in part}
    for name in done_early:  # made before the crash: never converted again
        assert sum(name in call for call in made) == 1, made
    assert ["poison.docx"] in made, "the document it crashed on is tried once more alone"


def test_a_document_handed_back_is_not_converted_again_when_its_pdf_moves(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller may move or delete a PDF as soon as it has it: that is no failure (no retry,
    no profile thrown away)."""
    log = tmp_path / "calls.log"
    monkeypatch.setenv("GRANTGEN_SOFFICE", logging_soffice(tmp_path, soffice, log))
    (source,) = some_docx(tmp_path, ["moved"])
    kept = tmp_path / "kept.pdf"
    with Converter(jobs=1) as conv:
        job = conv.submit(source, tmp_path / "pdf")
        job.add_done_callback(lambda f: os.replace(f.result().pdf or "", kept))
        outcome = job.result()
    assert outcome.pdf is not None and outcome.error is None
    assert kept.read_bytes().startswith(b"%PDF-")
    assert calls(log) == [["moved.docx"]]


def test_a_cancelled_document_does_not_stop_the_worker(tmp_path: Path, soffice: str) -> None:
    first, second, third = some_docx(tmp_path, ["first", "second", "third"])
    with Converter(jobs=1) as conv:
        running = conv.submit(first, tmp_path / "pdf")
        waiting = conv.submit(second, tmp_path / "pdf")
        assert waiting.cancel(), "queued behind the first"
        assert running.result(timeout=120).pdf is not None
        time.sleep(7)  # the call ends; the worker finds only the cancelled one in the queue
        later = conv.submit(third, tmp_path / "pdf")
        outcome = later.result(timeout=120)  # a worker that stopped would never answer
    assert outcome.pdf is not None and outcome.error is None


def test_the_same_pdf_twice_at_once_is_refused(tmp_path: Path, soffice: str) -> None:
    (a,) = some_docx(tmp_path, ["same"])
    other = tmp_path / "other"
    other.mkdir()
    (b,) = some_docx(other, ["same"])
    with Converter(jobs=2) as conv:
        first = conv.submit(a, tmp_path / "pdf")
        with pytest.raises(ConvertError, match=r"same\.pdf is being made already"):
            conv.submit(b, tmp_path / "pdf")
        assert first.result(timeout=120).pdf is not None
        again = conv.submit(b, tmp_path / "pdf")  # once the first is done, it may be made again
        assert (again.result(timeout=120).pdf or Path()).is_file()


def test_a_lock_file_left_by_a_killed_call_does_not_block_the_next(
    tmp_path: Path, soffice: str
) -> None:
    """LibreOffice refuses to write a PDF whose lock file names another user or profile."""
    (source,) = some_docx(tmp_path, ["locked"])
    out = tmp_path / "pdf"
    out.mkdir()
    lock = out / ".~lock.locked.pdf#"
    lock.write_text(",someone,otherhost,27.11.2026 12:00,file:///elsewhere/profile;", "utf-8")
    with Converter(jobs=1) as conv:
        outcome = conv.submit(source, out).result(timeout=120)
    assert outcome.pdf is not None, outcome.error
    assert "Document locked" in PdfReader(outcome.pdf).pages[0].extract_text()


@pytest.mark.parametrize("made_by_older_grantgen", [False, True])
def test_profiles_skip_libreoffice_graphics_self_tests(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch, made_by_older_grantgen: bool
) -> None:
    """Headless LibreOffice never records its version in a profile, so it ran its graphics
    self-tests (and wrote their log) at every start; our profiles record it: no self-tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    user = tmp_path / "cache" / "grantgen" / "lo-profile-0" / "user"
    if made_by_older_grantgen:
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/'
            '2001/registry">\n<item oor:path="/org.openoffice.Office.Writer/Layout/Window">'
            '<prop oor:name="HorizontalRuler" oor:op="fuse"><value>false</value></prop></item>\n'
            "</oor:items>\n",
            "utf-8",
        )
    sources = some_docx(tmp_path, ["a", "b"])
    with Converter(jobs=1) as conv:
        for source in sources:  # two LibreOffice starts on the same profile
            assert conv.submit(source, tmp_path / source.stem).result(timeout=120).pdf
    settings = (user / "registrymodifications.xcu").read_text("utf-8")
    assert settings.count("ooSetupLastVersion") == 1
    assert not (user / "GraphicsRenderTests.log").exists()
    assert ('<prop oor:name="HorizontalRuler"' in settings) == made_by_older_grantgen


def test_a_faster_allocator_is_preloaded_into_libreoffice_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = tmp_path / "lib"
    libs.mkdir()
    monkeypatch.setattr(
        "generator.converting.convert._LIBRARY_DIRS", (str(tmp_path / "none"), str(libs))
    )
    monkeypatch.setenv("LD_PRELOAD", "/opt/theirs.so")
    monkeypatch.delenv("GRANTGEN_SOFFICE_MALLOC", raising=False)
    assert soffice_environment()["LD_PRELOAD"] == "/opt/theirs.so"  # none installed
    (libs / "libjemalloc.so.2").write_bytes(b"")
    assert soffice_environment()["LD_PRELOAD"] == f"{libs}/libjemalloc.so.2 /opt/theirs.so"
    (libs / "libtcmalloc_minimal.so.4").write_bytes(b"")  # preferred
    assert soffice_environment()["LD_PRELOAD"].startswith(f"{libs}/libtcmalloc_minimal.so.4 ")
    monkeypatch.setenv("GRANTGEN_SOFFICE_MALLOC", "system")
    assert soffice_environment()["LD_PRELOAD"] == "/opt/theirs.so"


def test_libreoffice_really_runs_with_the_allocator(soffice: str) -> None:
    """`make test` installs tcmalloc (tools/install-system-deps.sh): soffice.bin loads it."""
    installed = [
        os.path.join(folder, name)
        for name in ALLOCATORS
        for folder in _LIBRARY_DIRS
        if os.path.isfile(os.path.join(folder, name))
    ]
    if not installed:
        pytest.skip("no tcmalloc or jemalloc on this machine")
    env = soffice_environment()
    preload = env.get("LD_PRELOAD", "").split(" ")[0]
    assert preload == installed[0]
    env["LD_DEBUG"] = "files"
    run = subprocess.run([soffice, "--version"], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "LibreOffice" in run.stdout
    assert f"calling init: {preload}" in run.stderr


def test_a_damaged_profile_settings_file_does_not_stop_conversion(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    user = tmp_path / "cache" / "grantgen" / "lo-profile-0" / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_bytes(b"\xff\xfe not settings \x00")
    (source,) = some_docx(tmp_path, ["a"])
    with Converter(jobs=1) as conv:
        outcome = conv.submit(source, tmp_path / "pdf").result(timeout=120)
    assert outcome.pdf is not None, outcome.error


# --- a LibreOffice kept running for the batch (generator.converting.losession) -----------


def test_libreoffice_is_kept_running_across_documents(tmp_path: Path, soffice: str) -> None:
    """One LibreOffice per worker converts every document: documents submitted one after
    another (each a group of its own) are converted by the same process."""
    assert sessions_possible(find_soffice()), "make test installs the Python script provider"
    pids = []
    with Converter(jobs=1) as conv:
        for source in some_docx(tmp_path, ["a", "b", "c"]):
            outcome = conv.submit(source, tmp_path / "pdf").result()
            assert outcome.pdf is not None, outcome.error
            session = conv._workers[0].session
            assert session is not None
            pids.append(session.proc.pid)
    assert len(set(pids)) == 1
    assert not alive(pids[0]), "LibreOffice stops with the converter"
    for name in "abc":
        text = PdfReader(tmp_path / "pdf" / f"{name}.pdf").pages[0].extract_text()
        assert f"Document {name}" in text


def test_kept_libreoffices_take_one_document_at_a_time(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker with a running LibreOffice is never handed a run of queued documents (it has
    no start to share out): it takes the next one as it comes free, so the workers share the
    queue to the end. Each conversion starts with only its own document counted against the
    worker, and both workers convert some of them."""
    import generator.converting.losession

    seen: list[tuple[int, int, str]] = []  # (pid, weight counted against the worker, doc)
    real = generator.converting.losession.Session.convert

    def convert(self: Any, source: Path, *args: Any, **kwargs: Any) -> Any:
        index = int(threading.current_thread().name.split("-")[1])
        seen.append((self.proc.pid, conv._busy[index], source.name))
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(generator.converting.losession.Session, "convert", convert)
    names = [f"q{i}" for i in range(8)]
    sources = some_docx(tmp_path, names)
    with Converter(jobs=2) as conv:
        assert conv._sessions, "make test installs the Python script provider"
        futures = [conv.submit(source, tmp_path / "pdf", weight=3) for source in sources]
        outcomes = [future.result(timeout=120) for future in futures]
    assert all(outcome.pdf is not None for outcome in outcomes)
    assert sorted(doc for _, _, doc in seen) == sorted(f"{n}.docx" for n in names)
    assert {weight for _, weight, _ in seen} == {3}, seen
    per_process = [sum(1 for pid, _, _ in seen if pid == p) for p in {p for p, _, _ in seen}]
    assert len(per_process) == 2 and min(per_process) >= 2, seen


def test_a_kept_libreoffice_converts_as_soffice_convert_to_does(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same pages, text and named destinations as one ``soffice --convert-to`` call."""
    from generator.converting.batchpdf import split_marked

    from .conftest import batch_document, grant

    rows = [grant(grant_id=f"K-{i}", participant=f"Director {i} & Söhne") for i in range(3)]
    chunk, _ = batch_document(tmp_path, rows)
    with Converter(jobs=1) as conv:
        kept = conv.submit(chunk, tmp_path / "kept").result()
    monkeypatch.setenv("GRANTGEN_SOFFICE_MODE", "call")
    with Converter(jobs=1) as conv:
        assert conv._workers[0].session is None
        called = conv.submit(chunk, tmp_path / "called").result()
        assert conv._workers[0].session is None
    assert kept.pdf is not None and called.pdf is not None
    a, b = PdfReader(kept.pdf), PdfReader(called.pdf)
    assert len(a.pages) == len(b.pages) > 3
    assert [p.extract_text() for p in a.pages] == [p.extract_text() for p in b.pages]
    assert split_marked(kept.pdf, 3) == split_marked(called.pdf, 3)  # documents, landmarks


def _fault_on_first(monkeypatch: pytest.MonkeyPatch, fault: signal.Signals) -> list[int]:
    """The first document a kept LibreOffice is sent finds it killed or stopped (hung)."""
    import generator.converting.losession

    hit: list[int] = []
    real = generator.converting.losession.Session.convert

    def convert(
        self: generator.converting.losession.Session, *args: Any, **kwargs: Any
    ) -> str | None:
        if not hit:
            hit.append(self.proc.pid)
            os.killpg(self.proc.pid, fault)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(generator.converting.losession.Session, "convert", convert)
    return hit


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_a_kept_libreoffice_that_crashes_or_hangs_is_replaced(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch, fault: signal.Signals
) -> None:
    """The document it was on is converted again on a fresh profile by a new LibreOffice,
    the others are unaffected, and the dead or hung one is gone."""
    hit = _fault_on_first(monkeypatch, fault)
    sources = some_docx(tmp_path, ["a", "b", "c"])
    with Converter(jobs=1, timeout=3, per_document=1) as conv:
        outcomes = conv.convert(sources, tmp_path / "pdf")
        later = conv._workers[0].session
        assert later is not None and later.proc.pid != hit[0]
    assert hit and not alive(hit[0])
    for name, outcome in zip("abc", outcomes, strict=True):
        assert outcome.pdf is not None, outcome.error
        assert f"Document {name}" in PdfReader(outcome.pdf).pages[0].extract_text()


def test_a_kept_libreoffice_that_cannot_convert_a_file_goes_on(
    tmp_path: Path, soffice: str
) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    good = some_docx(tmp_path, ["good"])[0]
    with Converter(jobs=1, timeout=20) as conv:
        bad, fine = conv.convert([broken, good], tmp_path / "pdf")
    assert bad.pdf is None and bad.error
    assert fine.pdf is not None and fine.error is None
    assert not list((tmp_path / "pdf").glob(".*lo-part")), "no half-made PDF is left"


def test_without_the_script_libreoffice_is_called_per_group(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LibreOffice that does not run grantgen's script (it exits at once) is given up for
    ``soffice --convert-to`` calls, and the documents are converted all the same."""
    import generator.converting.losession

    monkeypatch.setattr(
        generator.converting.losession,
        "SCRIPT_URL",
        "vnd.sun.star.script:missing.py$serve?language=Python&location=user",
    )
    with Converter(jobs=1, timeout=20) as conv:
        (outcome,) = conv.convert(some_docx(tmp_path, ["a"]), tmp_path / "pdf")
        assert not conv._sessions and conv._workers[0].session is None
    assert outcome.pdf is not None, outcome.error


def test_rest_stops_the_kept_libreoffice_and_a_later_document_starts_one(
    tmp_path: Path, soffice: str
) -> None:
    first, second = some_docx(tmp_path, ["a", "b"])
    with Converter(jobs=1) as conv:
        assert conv.submit(first, tmp_path / "pdf").result().pdf is not None
        session = conv._workers[0].session
        assert session is not None
        conv.rest()
        assert conv._workers[0].session is None
        session.proc.wait(timeout=20)  # it stops by itself, asked to
        assert conv.submit(second, tmp_path / "pdf").result().pdf is not None
        assert conv._workers[0].session is not None


def test_a_scratch_folder_too_deep_for_a_socket_falls_back_to_calls(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Unix socket's path has at most ~107 bytes: under a deeper temporary folder the kept
    LibreOffice cannot be reached, and each group is converted by a call instead."""
    import tempfile

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with Converter(jobs=1, timeout=20) as conv:
        (outcome,) = conv.convert(some_docx(tmp_path, ["a"]), tmp_path / "pdf")
        assert not conv._sessions
    assert outcome.pdf is not None, outcome.error


def test_a_kept_libreoffice_takes_paths_relative_to_the_working_folder(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grantgen generate … --out output/sample` gives the converter relative paths; the kept
    LibreOffice (whose working folder is its own) must get them whole."""
    (source,) = some_docx(tmp_path, ["relative"])
    monkeypatch.chdir(tmp_path)
    with Converter(jobs=1) as conv:
        outcome = conv.submit(Path(source.name), Path("pdf")).result()
        assert conv._workers[0].session is not None
    assert outcome.pdf is not None, outcome.error
    assert (
        "Document relative" in PdfReader(tmp_path / "pdf" / "relative.pdf").pages[0].extract_text()
    )


def test_a_kept_libreoffice_takes_folder_and_file_names_a_url_would_mangle(
    tmp_path: Path, soffice: str
) -> None:
    folder = tmp_path / "grants #1 50% ö & <co>"
    folder.mkdir()
    (source,) = some_docx(folder, ["a b#%ö"])
    with Converter(jobs=1) as conv:
        outcome = conv.submit(source, folder / "pdf").result()
        assert conv._workers[0].session is not None
    assert outcome.pdf == folder / "pdf" / "a b#%ö.pdf", outcome.error
    assert "Document a b#%ö" in PdfReader(outcome.pdf).pages[0].extract_text()
