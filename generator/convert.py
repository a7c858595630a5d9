"""Convert DOCX files to PDF with LibreOffice (``soffice --headless``).

A :class:`Converter` runs up to ``jobs`` conversions at once, each worker with its own
LibreOffice user profile (two ``soffice`` processes must never share one). Profiles live in
the user's cache folder and are reused across runs (a new profile costs seconds to create),
each guarded by a lock file so that two grantgen runs never share one either. Starting
LibreOffice costs about a second and laying out one more agreement a few hundredths, so the
pipeline hands each start a document holding many agreements (see :mod:`.batchdoc`). Every
conversion has a timeout; on a timeout the whole process group is killed. A document a call
did not produce is retried once on its own before it is reported as failed.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .batchdoc import PDF_FILTER
from .errors import ConvertError, SofficeNotFoundError

INSTALL_HINT = (
    "install LibreOffice with `sudo apt-get install libreoffice-writer-nogui fonts-liberation` "
    "(or run `make demo`), or set GRANTGEN_SOFFICE to the path of soffice"
)
_KNOWN_PATHS = (
    "/usr/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)
#: Documents given to one ``soffice`` start, at most.
CHUNK = 50


def find_soffice() -> str:
    """The ``soffice`` to run: ``$GRANTGEN_SOFFICE``, else the one on PATH, else a known place."""
    named = os.environ.get("GRANTGEN_SOFFICE")
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        raise SofficeNotFoundError(
            f"GRANTGEN_SOFFICE={named!r} is not an executable file; {INSTALL_HINT}"
        )
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for path in _KNOWN_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise SofficeNotFoundError(f"LibreOffice (soffice) was not found: {INSTALL_HINT}")


@dataclass(frozen=True)
class Outcome:
    """The result of converting one DOCX."""

    source: Path
    """The DOCX given."""
    pdf: Path | None
    """The PDF made, or None when the conversion failed."""
    error: str | None = None
    """Why the conversion failed."""


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grantgen"


class _Worker:
    """One LibreOffice profile; at most one ``soffice`` runs on it at a time."""

    def __init__(self, profile: Path, lock_file: int | None) -> None:
        self.profile = profile
        self.lock = threading.Lock()
        self._lock_file = lock_file

    def release(self) -> None:
        if self._lock_file is not None:
            os.close(self._lock_file)  # closing the descriptor drops the flock
            self._lock_file = None

    def reset(self) -> None:
        """Throw the profile away (after a crash or hang it may be damaged)."""
        shutil.rmtree(self.profile, ignore_errors=True)


def _claim_profiles(count: int, scratch: Path) -> list[_Worker]:
    """``count`` profiles: reusable ones from the cache when they can be locked, else new."""
    workers: list[_Worker] = []
    root = _cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        root = scratch
    slot = 0
    while len(workers) < count and slot < count + 8:
        path = root / f"lo-profile-{slot}"
        slot += 1
        try:
            fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        workers.append(_Worker(path, fd))
    while len(workers) < count:
        workers.append(_Worker(scratch / f"profile-{len(workers)}", None))
    return workers


class Converter:
    """A pool of LibreOffice workers, each with its own user profile, alive for one batch."""

    def __init__(
        self, jobs: int = 0, *, timeout: float = 120.0, per_document: float = 10.0
    ) -> None:
        self.soffice = find_soffice()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout
        self.per_document = per_document
        self._root = Path(tempfile.mkdtemp(prefix="grantgen-lo-"))
        self._workers = _claim_profiles(self.jobs, self._root)
        self._next = 0
        self._pick = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="soffice")

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for worker in self._workers:
            worker.release()
        shutil.rmtree(self._root, ignore_errors=True)

    def cached(self, source: Path, outdir: Path) -> Future[Outcome]:
        """Like :meth:`submit`, but a document converted before (the same bytes, the same
        LibreOffice) comes from the cache folder: the Plan is the same in every batch."""
        import hashlib

        soffice = Path(self.soffice)
        stamp = f"{soffice.resolve()}|{soffice.stat().st_size}|{soffice.stat().st_mtime_ns}"
        key = hashlib.sha256(source.read_bytes() + stamp.encode()).hexdigest()[:40]
        cache = _cache_root() / f"pdf-{key}.pdf"
        done: Future[Outcome] = Future()
        if _is_pdf(cache):
            outdir.mkdir(parents=True, exist_ok=True)
            copy = outdir / f"{source.stem}.pdf"
            shutil.copyfile(cache, copy)
            done.set_result(Outcome(source, copy))
            return done
        job = self.submit(source, outdir)

        def keep(finished: Future[Outcome]) -> None:
            outcome = finished.result()
            if outcome.pdf is not None:
                with contextlib.suppress(OSError):
                    tmp = cache.with_suffix(f".{os.getpid()}.part")
                    shutil.copyfile(outcome.pdf, tmp)
                    os.replace(tmp, cache)

        job.add_done_callback(keep)
        return job

    def submit(self, source: Path, outdir: Path, weight: int = 1) -> Future[Outcome]:
        """Convert one DOCX (holding ``weight`` agreements) in the background."""
        outdir.mkdir(parents=True, exist_ok=True)
        return self._pool.submit(self._convert_one, source, outdir, weight)

    def _convert_one(self, source: Path, outdir: Path, weight: int) -> Outcome:
        pdf = outdir / f"{source.stem}.pdf"
        error = self._run([source], outdir, weight)
        if not _is_pdf(pdf):
            # once more, on a fresh profile: a crash or a hang can leave the profile damaged
            error = self._run([source], outdir, weight, fresh=True) or error
        if _is_pdf(pdf):
            return Outcome(source, pdf)
        return Outcome(source, None, error or "LibreOffice exited without writing a PDF")

    def _worker(self) -> _Worker:
        with self._pick:
            for _ in range(len(self._workers)):
                w = self._workers[self._next % len(self._workers)]
                self._next += 1
                if not w.lock.locked():
                    return w
            w = self._workers[self._next % len(self._workers)]
            self._next += 1
            return w

    def convert(
        self,
        sources: Sequence[Path],
        outdir: Path,
        progress: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """Convert every DOCX in ``sources`` to ``outdir/<stem>.pdf``; results in input order.

        Stems must be unique. A failure of one document never stops the others.
        """
        outdir.mkdir(parents=True, exist_ok=True)
        if not sources:
            return []
        size = max(1, min(CHUNK, math.ceil(len(sources) / self.jobs)))
        chunks = [list(sources[i : i + size]) for i in range(0, len(sources), size)]
        results: dict[Path, Outcome] = {}
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for outcomes in pool.map(lambda c: self._convert_chunk(c, outdir), chunks):
                for outcome in outcomes:
                    results[outcome.source] = outcome
                if progress is not None:
                    progress(len(outcomes))
        return [results[s] for s in sources]

    def _convert_chunk(self, chunk: list[Path], outdir: Path) -> list[Outcome]:
        error = self._run(chunk, outdir)
        outcomes = []
        for source in chunk:
            pdf = outdir / f"{source.stem}.pdf"
            if _is_pdf(pdf):
                outcomes.append(Outcome(source, pdf))
                continue
            # Not made by the batch call: once more on its own, then give up with the reason.
            retry_error = self._run([source], outdir, fresh=True)
            if _is_pdf(pdf):
                outcomes.append(Outcome(source, pdf))
            else:
                reason = retry_error or error or "LibreOffice exited without writing a PDF"
                outcomes.append(Outcome(source, None, reason))
        return outcomes

    def _run(
        self, sources: list[Path], outdir: Path, weight: int = 0, *, fresh: bool = False
    ) -> str | None:
        """Run one ``soffice`` over ``sources``; the error text, or None when it exited 0."""
        worker = self._worker()
        timeout = self.timeout + self.per_document * max(weight, len(sources))
        with worker.lock:
            if fresh:
                worker.reset()
            for pdf in (outdir / f"{s.stem}.pdf" for s in sources):
                pdf.unlink(missing_ok=True)
            cmd = [
                self.soffice,
                f"-env:UserInstallation={worker.profile.as_uri()}",
                "--headless",
                "--invisible",
                "--nologo",
                "--nodefault",
                "--norestore",
                "--nolockcheck",
                "--convert-to",
                PDF_FILTER,
                "--outdir",
                str(outdir),
                *(str(s) for s in sources),
            ]
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ConvertError(f"cannot start {self.soffice}: {exc.strerror}") from exc
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                worker.reset()
                return f"LibreOffice did not finish within {timeout:.0f} s and was stopped"
            finally:
                _kill_group(proc)
            if proc.returncode != 0:
                worker.reset()
                detail = err.decode("utf-8", "replace").strip().splitlines()
                tail = f": {detail[-1]}" if detail else ""
                return f"LibreOffice exited with status {proc.returncode}{tail}"
            return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and anything it started (soffice.bin is a child of soffice)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
        proc.wait(timeout=10)


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
            fh.seek(-1024, os.SEEK_END) if path.stat().st_size > 1024 else fh.seek(0)
            tail = fh.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail
