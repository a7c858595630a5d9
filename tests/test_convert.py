"""LibreOffice conversion: real soffice, and fakes that inject faults (crash, hang, no output)."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import docx
import pytest

from generator.convert import Converter, find_soffice
from generator.errors import SofficeNotFoundError


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
    monkeypatch.setattr("generator.convert._KNOWN_PATHS", ())
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
