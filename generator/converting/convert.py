"""Convert DOCX files to PDF with LibreOffice (``soffice --headless``).

A :class:`generator.converting.converter.Converter` keeps one worker per core, each with its own
LibreOffice user profile
(two ``soffice`` processes must never share one). Profiles live in the user's cache folder
and are reused across runs (a new profile costs about half a second more), each guarded by a
lock file so that two grantgen runs never share one either. Each profile records that this
LibreOffice has run on it before, which spares every start LibreOffice's graphics self-tests.

Starting LibreOffice costs a few tenths of a second; loading and laying out one more agreement
about two hundredths. Where LibreOffice can run grantgen's script (:mod:`.losession`), each
worker's LibreOffice is kept running for the batch and the worker takes the next queued
document each time it comes free. Otherwise documents submitted while the workers are busy
queue up, and a worker that comes free takes its fair share of the queue into one ``soffice``
call (at most :data:`GROUP_MAX` files): a batch of a thousand grants costs a few starts.
LibreOffice converts a call's files in order, writing each PDF to a temporary file and holding
a lock file beside it until the PDF is in place; each document's result is handed back as soon
as its PDF is complete, while the call goes on with the next.

A call that makes no progress for ``timeout`` seconds plus ``per_document`` seconds per
agreement of the document it is on is stopped (the whole process group is killed). When a call
fails, the document it was on is tried once more on its own on a fresh profile, and the
documents after it go back to the queue: one bad document never takes the others with it.
When :data:`HANGS` conversions in a row are stopped for time (the retry included), LibreOffice
is taken to be hung: the batch fails at once, within about twice the timeout, with what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from generator.converting.batchdoc import PDF_FILTER
from generator.converting.losession import (
    Session,
)
from generator.core.errors import OutputError, SofficeNotFoundError
from generator.core.output import write_atomic

#: Seconds a conversion may take for each agreement in its document, on top of the timeout.
PER_AGREEMENT = 0.5
#: Conversions in a row that do not finish in time before LibreOffice is taken to be hung.
HANGS = 2

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
#: Files given to one ``soffice`` call, at most (LibreOffice 7.4 stops after ~250).
GROUP_MAX = 16
#: How often a running call is checked for finished PDFs, in seconds.
POLL = 0.05

#: LibreOffice runs its graphics self-tests (~0.8 s of drawing 4096-pixel bitmaps) at every
#: start of a profile whose recorded last version is older than itself, and only its user
#: interface ever records the version: headless, every ``soffice`` call paid for them. A
#: profile whose last version is recorded as this (later than any LibreOffice) skips them.
_LAST_VERSION = "ooSetupLastVersion"
_LAST_VERSION_ITEM = (
    '<item oor:path="/org.openoffice.Setup/Product">'
    f'<prop oor:name="{_LAST_VERSION}" oor:op="fuse"><value>99.9</value></prop></item>\n'
)
_ITEMS_END = "</oor:items>"
#: A new profile's settings file; LibreOffice creates the rest of the profile around it.
PROFILE_SEED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    f"{_LAST_VERSION_ITEM}{_ITEMS_END}\n"
)


#: Faster memory allocators LibreOffice runs with when the system has one (see
#: :func:`soffice_environment`), in order of preference.
ALLOCATORS = ("libtcmalloc_minimal.so.4", "libjemalloc.so.2")
_LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
)


#: The PATH LibreOffice runs with: the system's folders only. Its embedded Python takes its
#: home from the first ``python3`` on PATH, so an activated virtual environment, pyenv, conda,
#: a python.org or Homebrew Python there made the kept LibreOffice abort at start
#: (std::bad_alloc in its Python script loader).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
#: Variables of the caller's Python that LibreOffice's embedded Python must not see.
_PYTHON_VARIABLES = ("PYTHON", "VIRTUAL_ENV", "CONDA_", "PYENV", "__PYVENV_LAUNCHER__")


def soffice_environment() -> dict[str, str]:
    """The environment ``soffice`` runs in: ours less the caller's Python (PATH the system's,
    no PYTHON* or virtual environment variables), with a faster memory allocator preloaded
    when the system has one. LibreOffice spends ~15% of a conversion in glibc's malloc and
    free; with tcmalloc (apt: libtcmalloc-minimal4) its CPU time per agreement drops by about
    as much. ``GRANTGEN_SOFFICE_MALLOC=system`` keeps glibc's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PYTHON_VARIABLES)}
    env["PATH"] = SYSTEM_PATH
    if env.get("GRANTGEN_SOFFICE_MALLOC") == "system" or not sys.platform.startswith("linux"):
        return env
    for name in ALLOCATORS:
        for folder in _LIBRARY_DIRS:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                env["LD_PRELOAD"] = " ".join(filter(None, (path, env.get("LD_PRELOAD"))))
                return env
    return env


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


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grantgen"


class Worker:
    """One LibreOffice profile; at most one ``soffice`` runs on it at a time."""

    def __init__(self, profile: Path, lock_file: int | None) -> None:
        self.profile = profile
        self.lock = threading.Lock()
        self._lock_file = lock_file
        self.session: Session | None = None
        """The LibreOffice kept running on this profile (see :mod:`.losession`), if any."""

    def release(self) -> None:
        if self._lock_file is not None:
            os.close(self._lock_file)  # closing the descriptor drops the flock
            self._lock_file = None

    def reset(self) -> None:
        """Throw the profile away (after a crash or hang it may be damaged)."""
        shutil.rmtree(self.profile, ignore_errors=True)

    def prepare(self) -> None:
        """Mark the profile as already used by this version of LibreOffice (see
        :data:`PROFILE_SEED`), creating it when it does not exist yet. Only a speed-up: when
        the profile cannot be read or written, LibreOffice runs as it would anyway."""
        settings = self.profile / "user" / "registrymodifications.xcu"
        with contextlib.suppress(OSError, UnicodeDecodeError, OutputError):
            if not settings.exists():
                settings.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(settings, PROFILE_SEED.encode("utf-8"))
                return
            text = settings.read_text(encoding="utf-8")
            if _LAST_VERSION in text or _ITEMS_END not in text:
                return
            text = text.replace(_ITEMS_END, _LAST_VERSION_ITEM + _ITEMS_END, 1)
            write_atomic(settings, text.encode("utf-8"))


def claim_profiles(count: int, scratch: Path) -> list[Worker]:
    """``count`` profiles: reusable ones from the cache when they can be locked, else new."""
    workers: list[Worker] = []
    root = cache_root()
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
        _reap(path)
        workers.append(Worker(path, fd))
    while len(workers) < count:
        workers.append(Worker(scratch / f"profile-{len(workers)}", None))
    return workers


SCRATCH_PREFIX = "grantgen-lo-"
"""A converter's scratch folder in the temp folder: ``grantgen-lo-<pid>-<random>``."""


def reap_scratch() -> None:
    """Remove the scratch folders of converters whose process is gone (killed: one that ends
    removes its own), so none pile up in the temp folder."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.lstat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _reap(profile: Path) -> None:
    """Kill the LibreOffice processes still running on a profile whose lock we just took: a
    grantgen that was killed (kill -9) leaves its ``soffice`` calls running, and one of them
    would take the next run's conversions over (LibreOffice hands a second start on the
    same profile to the first) or write into a work folder being removed."""
    marker = f"-env:UserInstallation={profile.as_uri()}".encode()
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return  # no /proc (not Linux): nothing to look at
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except OSError:
            continue
        if marker in args and pid != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Job:
    """One DOCX waiting for (or in) a LibreOffice call."""

    source: Path
    outdir: Path
    weight: int
    """Agreements in the document: what a call's time limit and fair share count."""
    future: Future[Outcome] = field(default_factory=Future)
    error: str | None = None
    """Why the last call that had this document failed."""

    @property
    def pdf(self) -> Path:
        return self.outdir / f"{self.source.stem}.pdf"

    def finished(self) -> bool:
        """The PDF is complete: in place, whole, and LibreOffice's lock file beside it gone."""
        return is_pdf(self.pdf) and not (self.outdir / f".~lock.{self.pdf.name}#").exists()

    def done(self, error: str | None = None) -> None:
        if self.future.done():
            return
        if is_pdf(self.pdf):
            self.future.set_result(Outcome(self.source, self.pdf))
        else:
            reason = error or self.error or "LibreOffice exited without writing a PDF"
            self.future.set_result(Outcome(self.source, None, reason))


#: The export filter and its options, as a session gives them to LibreOffice.
_, FILTER_NAME, FILTER_OPTIONS = PDF_FILTER.split(":", 2)


def pdf_shows_text(path: Path) -> bool:
    """A PDF that opens and shows some text (a Plan worth furnishing, and caching)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError):
        return False
    try:
        for page in pdf:
            text = page.get_textpage().get_text_range()
            if text.strip():
                return True
        return False
    finally:
        pdf.close()


def is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
            fh.seek(-1024, os.SEEK_END) if path.stat().st_size > 1024 else fh.seek(0)
            tail = fh.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail


# --- the cache of converted documents (the Plan: the same in every batch) -------------------


def cache_path(soffice: Path, source: Path) -> Path:
    """Where the PDF of ``source`` converted by this ``soffice`` is kept: by the bytes of
    both (a LibreOffice updated since converts again)."""
    import hashlib

    stamp = f"{soffice.resolve()}|{soffice.stat().st_size}|{soffice.stat().st_mtime_ns}"
    key = hashlib.sha256(source.read_bytes() + stamp.encode()).hexdigest()[:40]
    return cache_root() / f"pdf-{key}.pdf"


def from_cache(cache: Path, source: Path, outdir: Path) -> Outcome | None:
    """The cached PDF, copied into ``outdir``; None when there is none (or a damaged one,
    removed)."""
    if not is_pdf(cache):
        return None
    if pdf_shows_text(cache):
        outdir.mkdir(parents=True, exist_ok=True)
        copy = outdir / f"{source.stem}.pdf"
        shutil.copyfile(cache, copy)
        return Outcome(source, copy)
    cache.unlink(missing_ok=True)  # damaged since, or blank: made again
    return None


def settle_cached(
    finished: Future[Outcome], done: Future[Outcome], cache: Path, source: Path
) -> None:
    """A conversion's outcome passed on to ``done``, and kept in the cache when it is a PDF
    with text (one without any is a failure)."""
    if finished.cancelled():
        done.cancel()
        return
    if (failure := finished.exception()) is not None:
        done.set_exception(failure)
        return
    outcome = finished.result()
    if outcome.pdf is not None and not pdf_shows_text(outcome.pdf):
        outcome = Outcome(
            source,
            None,
            "it came out of LibreOffice without any text (try again; check `soffice --version`)",
        )
    elif outcome.pdf is not None:
        with contextlib.suppress(OSError, OutputError):  # (a cache is optional)
            write_atomic(cache, outcome.pdf.read_bytes())
    done.set_result(outcome)
