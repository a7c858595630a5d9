"""Convert DOCX files to PDF with LibreOffice (``soffice --headless``).

A :class:`Converter` keeps one worker per core, each with its own LibreOffice user profile
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
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from .batchdoc import PDF_FILTER
from .errors import ConvertError, OutputError, SofficeNotFoundError
from .losession import (
    START_LIMIT,
    Session,
    SessionDied,
    SessionUnavailable,
    headless,
    install_script,
    kill_group,
    sessions_possible,
)
from .output import write_atomic

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


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grantgen"


class _Worker:
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
        _reap(path)
        workers.append(_Worker(path, fd))
    while len(workers) < count:
        workers.append(_Worker(scratch / f"profile-{len(workers)}", None))
    return workers


SCRATCH_PREFIX = "grantgen-lo-"
"""A converter's scratch folder in the temp folder: ``grantgen-lo-<pid>-<random>``."""


def _reap_scratch() -> None:
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
class _Job:
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
        return _is_pdf(self.pdf) and not (self.outdir / f".~lock.{self.pdf.name}#").exists()

    def done(self, error: str | None = None) -> None:
        if self.future.done():
            return
        if _is_pdf(self.pdf):
            self.future.set_result(Outcome(self.source, self.pdf))
        else:
            reason = error or self.error or "LibreOffice exited without writing a PDF"
            self.future.set_result(Outcome(self.source, None, reason))


class Converter:
    """A pool of LibreOffice workers, each with its own user profile, alive for one batch."""

    def __init__(
        self, jobs: int = 0, *, timeout: float = 120.0, per_document: float = PER_AGREEMENT
    ) -> None:
        self.soffice = find_soffice()
        self._env = soffice_environment()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout
        self.per_document = per_document
        _reap_scratch()
        self._root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self._workers = _claim_profiles(self.jobs, self._root)
        self._queue: deque[_Job] = deque()
        self._busy = [0] * self.jobs  # weight each worker's call has still to convert
        self._cond = threading.Condition()
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._active: set[Path] = set()  # the PDFs of documents queued or being converted
        self._running: set[subprocess.Popen[bytes]] = set()  # the soffice calls under way
        # one LibreOffice kept running per worker, when its Python script provider is here
        self._sessions = sessions_possible(self.soffice)
        self._stopping: list[Session] = []  # asked to stop by :meth:`rest`, not yet reaped
        self._warm = False  # workers start their LibreOffice before any document (warm())
        self._hangs = 0  # conversions stopped for taking too long since the last one finished
        self._hung: str | None = None  # why the converter gave up: LibreOffice stopped responding

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(abort=kind is not None)

    def close(self, *, abort: bool = False) -> None:
        """Stop after the calls running now (``abort``: stop them too, e.g. on Ctrl-C or
        SIGTERM); documents still queued are cancelled."""
        with self._cond:
            self._closing = True
            self._drain()
            self._cond.notify_all()
            running = list(self._running) if abort else []
        for proc in running:
            kill_group(proc)
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            self._end_session(worker, kill=abort)
            worker.release()
        for session in self._stopping:  # asked to stop by rest(): gone by now, or killed
            if abort:
                session.kill()
            else:
                session.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def rest(self) -> None:
        """The batch's conversions are done: the LibreOffice each idle worker keeps running is
        asked to stop now, while the caller goes on (a later conversion starts another)."""
        for worker in self._workers:
            if not worker.lock.acquire(blocking=False):
                continue  # converting: stopped by close()
            try:
                session, worker.session = worker.session, None
                if session is not None:
                    session.stop()
                    self._stopping.append(session)
            finally:
                worker.lock.release()

    def _release(self, pdf: Path) -> None:
        with self._cond:
            self._active.discard(pdf)

    def _drain(self, reason: str | None = None) -> None:
        """Cancel every queued document (the caller holds the condition's lock); with a
        ``reason``, each fails with it instead."""
        while self._queue:
            job = self._queue.popleft()
            if reason is not None:
                job.future.set_running_or_notify_cancel()
                job.done(reason)
            elif not job.future.cancel():  # back in the queue after a failed call
                job.done("the conversion was stopped")

    def _timed_out(self, limit: float) -> None:
        """A conversion was stopped for taking longer than ``limit``: after :data:`HANGS` in a
        row (no document finished in between, the retry on a fresh profile included),
        LibreOffice is taken to be hung and every document still waiting fails at once."""
        with self._cond:
            self._hangs += 1
            if self._hangs < HANGS or self._hung is not None:
                return
            self._hung = (
                f"LibreOffice stopped responding: {self._hangs} conversions in a row did not "
                f"finish within {limit:.0f} s, so the batch was "
                "stopped. Check that LibreOffice converts a document on this machine (`soffice "
                "--headless --convert-to pdf FILE.docx`) and that no other LibreOffice is stuck "
                "(`pkill -f soffice`), or allow more time with --timeout"
            )
            self._drain(self._hung)
            self._cond.notify_all()
            for proc in self._running:  # the other workers' conversions end now, not later
                kill_group(proc)

    def _finished_one(self) -> None:
        with self._cond:
            self._hangs = 0

    def cached(self, source: Path, outdir: Path) -> Future[Outcome]:
        """Like :meth:`submit`, but a document converted before (the same bytes, the same
        LibreOffice) comes from the cache folder: the Plan is the same in every batch. A PDF
        without any text (blank pages) is a failed conversion, and never cached."""
        import hashlib

        soffice = Path(self.soffice)
        stamp = f"{soffice.resolve()}|{soffice.stat().st_size}|{soffice.stat().st_mtime_ns}"
        key = hashlib.sha256(source.read_bytes() + stamp.encode()).hexdigest()[:40]
        cache = _cache_root() / f"pdf-{key}.pdf"
        done: Future[Outcome] = Future()
        if _is_pdf(cache):
            if pdf_shows_text(cache):
                outdir.mkdir(parents=True, exist_ok=True)
                copy = outdir / f"{source.stem}.pdf"
                shutil.copyfile(cache, copy)
                done.set_result(Outcome(source, copy))
                return done
            cache.unlink(missing_ok=True)  # damaged since, or blank: made again
        job = self.submit(source, outdir)

        def settle(finished: Future[Outcome]) -> None:
            """The conversion's outcome, kept in the cache when it is a PDF with text."""
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
                    "it came out of LibreOffice without any text (try again; check "
                    "`soffice --version`)",
                )
            elif outcome.pdf is not None:
                with contextlib.suppress(OSError, OutputError):  # (a cache is optional)
                    write_atomic(cache, outcome.pdf.read_bytes())
            done.set_result(outcome)

        job.add_done_callback(settle)
        return done

    def submit(self, source: Path, outdir: Path, weight: int = 1) -> Future[Outcome]:
        """Convert one DOCX (holding ``weight`` agreements) in the background, to
        ``outdir/<stem>.pdf``; the result comes as soon as that PDF is complete."""
        outdir.mkdir(parents=True, exist_ok=True)
        job = _Job(source, outdir, max(1, weight))
        with self._cond:
            if self._closing:
                raise ConvertError("the converter is closed")
            if self._hung is not None:  # nothing more is sent to a LibreOffice that hangs
                job.future.set_result(Outcome(source, None, self._hung))
                return job.future
            if job.pdf in self._active:
                raise ConvertError(f"{job.pdf.name} is being made already (stems must be unique)")
            self._active.add(job.pdf)
            job.future.add_done_callback(lambda _: self._release(job.pdf))
            self._queue.append(job)
            self._start_threads()
            self._cond.notify()
        return job.future

    def warm(self) -> None:
        """Start each worker's LibreOffice now, before any document is submitted (when it can
        be kept running): it starts while the caller gets the documents ready."""
        if not self._sessions:
            return
        with self._cond:
            self._warm = True
            self._start_threads()

    def _start_threads(self) -> None:
        """The worker threads, started once (the caller holds the condition's lock)."""
        if self._threads or self._closing:
            return
        for index in range(self.jobs):
            thread = threading.Thread(
                target=self._serve, args=(index,), name=f"soffice-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def convert(
        self,
        sources: Sequence[Path],
        outdir: Path,
        progress: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """Convert every DOCX in ``sources`` to ``outdir/<stem>.pdf``; results in input order.

        Stems must be unique. A failure of one document never stops the others.
        """
        futures = [self.submit(source, outdir) for source in sources]
        outcomes = []
        for future in futures:
            outcomes.append(future.result())
            if progress is not None:
                progress(1)
        return outcomes

    # --- the workers ---------------------------------------------------------------------------

    def _serve(self, index: int) -> None:
        worker = self._workers[index]
        if self._warm:
            with worker.lock:
                try:
                    if self._sessions and worker.session is None:
                        self._start_session(worker, index)
                except SessionUnavailable:
                    self._sessions = False  # (the first document is converted by a call)
                except (ConvertError, OSError):
                    pass  # (shown again with the first document)
        while True:
            group = self._take(index)
            if not group:
                return
            failed = self._guarded(worker, index, group)
            if failed:
                first, *rest = failed
                with self._cond:  # the documents after the failed one go back to the queue
                    for job in rest:
                        job.error = None  # the failure was the other document's
                    self._queue.extendleft(reversed(rest))
                    self._cond.notify_all()
                    closing = self._closing
                    self._busy[index] = first.weight
                # the one LibreOffice was on: once more, on its own, on a fresh profile
                if not closing and self._hung is None:
                    self._guarded(worker, index, [first], fresh=True)
                first.done(self._hung)

    def _guarded(
        self, worker: _Worker, index: int, group: list[_Job], *, fresh: bool = False
    ) -> list[_Job]:
        """:meth:`_call`; when it raises (LibreOffice cannot be started), the group's
        documents get the exception and the worker goes on with the queue."""
        try:
            return self._call(worker, index, group, fresh=fresh)
        except Exception as exc:
            for job in group:
                if not job.future.done():
                    job.future.set_exception(exc)
            return []
        finally:
            with self._cond:
                self._busy[index] = 0

    def _take(self, index: int) -> list[_Job]:
        """The next call's documents: this worker's fair share of the queue (by weight, the
        other workers' unfinished calls counted), all for one folder; empty when closing."""
        with self._cond:
            while True:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing or self._hung is not None:
                    self._drain(self._hung)
                    return []
                group = self._share(index)
                if group:  # else every queued document was cancelled: wait for more
                    return group

    def _share(self, index: int) -> list[_Job]:
        """This worker's fair share of the queue (the caller holds the lock). A worker with a
        running LibreOffice takes one document at a time: it has no start to share out, and
        the workers, each taking the next document as it comes free, finish nearer together."""
        queued = sum(job.weight for job in self._queue)
        fair = -(-(queued + sum(self._busy)) // self.jobs)  # ceiling
        group: list[_Job] = []
        load = 0
        most = 1 if self._sessions else GROUP_MAX
        while self._queue and len(group) < most:
            job = self._queue[0]
            if group and (
                load + job.weight / 2 > fair  # nearer the fair share with it than without
                or job.outdir != group[0].outdir
            ):
                break
            if not job.future.running() and not job.future.set_running_or_notify_cancel():
                self._queue.popleft()  # cancelled while it waited
                continue
            group.append(self._queue.popleft())
            load += job.weight
        self._busy[index] = load
        return group

    def _call(
        self, worker: _Worker, index: int, group: list[_Job], *, fresh: bool = False
    ) -> list[_Job]:
        """Run one ``soffice`` over ``group``, handing back each PDF as it is finished; the
        documents it did not make, in order (each with the reason in ``error``). With the
        script provider, the worker's running LibreOffice converts them instead."""
        if self._sessions:
            try:
                return self._in_session(worker, index, group, fresh=fresh)
            except SessionUnavailable:
                self._sessions = False  # (for the rest of the batch) a call per group
        outdir = group[0].outdir
        with worker.lock:
            if fresh:
                worker.reset()
            worker.prepare()
            for job in group:  # a killed call leaves its lock file: LibreOffice would obey it
                job.pdf.unlink(missing_ok=True)
                (outdir / f".~lock.{job.pdf.name}#").unlink(missing_ok=True)
            cmd = [
                *headless(self.soffice, worker.profile),
                "--convert-to",
                PDF_FILTER,
                "--outdir",
                str(outdir),
                *(str(job.source) for job in group),
            ]
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                    env=self._env,
                )
            except OSError as exc:
                raise ConvertError(f"cannot start {self.soffice}: {exc.strerror}") from exc
            error = None
            with self._cond:
                self._running.add(proc)
            try:
                error = self._watch(proc, index, group)
            finally:
                kill_group(proc)
                with self._cond:
                    self._running.discard(proc)
            failed = []
            for job in group:
                if job.future.done():
                    continue  # handed back already (its PDF may be gone since: moved, cleaned)
                if job.finished():
                    job.done()
                else:
                    job.error = error or job.error
                    failed.append(job)
            if error is not None and failed:
                worker.reset()  # a crash or a hang can leave the profile damaged
            return failed

    def _in_session(
        self, worker: _Worker, index: int, group: list[_Job], *, fresh: bool = False
    ) -> list[_Job]:
        """Convert ``group`` one document after another in the worker's running LibreOffice,
        started when it has none (``fresh``: on a new profile); the documents it did not make,
        as :meth:`_call`. Raises :class:`SessionUnavailable` when LibreOffice cannot run the
        script (nothing was converted)."""
        with worker.lock:
            if fresh:
                self._end_session(worker, kill=True)
                worker.reset()
            if worker.session is None:
                self._start_session(worker, index)
            session = worker.session
            assert session is not None
            for n, job in enumerate(group):
                job.pdf.unlink(missing_ok=True)
                limit = self.timeout + self.per_document * job.weight
                try:
                    error = session.convert(
                        job.source, job.pdf, _FILTER_NAME, _FILTER_OPTIONS, limit
                    )
                except SessionDied as exc:
                    self._end_session(worker, kill=True)
                    worker.reset()  # a crash or a hang can leave the profile damaged
                    job.error = str(exc)
                    if exc.hung:
                        self._timed_out(limit)
                    return group[n:]
                if error is not None:  # LibreOffice goes on; the document is retried alone
                    job.error = f"LibreOffice could not convert it ({error})"
                    return group[n:]
                self._finished_one()
                job.done()
                with self._cond:
                    self._busy[index] = sum(later.weight for later in group[n + 1 :])
            return []

    def _start_session(self, worker: _Worker, index: int) -> None:
        worker.prepare()
        try:
            install_script(worker.profile)
            session = Session(self.soffice, worker.profile, self._env, self._root, f"w{index}")
        except (OSError, OutputError) as exc:  # a socket path too long, soffice not runnable
            raise SessionUnavailable(f"cannot start a kept LibreOffice: {exc}") from exc
        with self._cond:
            self._running.add(session.proc)
            closing = self._closing
        worker.session = session
        if closing:  # stopped meanwhile: close() may have missed it
            self._end_session(worker, kill=True)
            raise ConvertError("the converter is closed")
        try:
            session.connect(min(self.timeout, START_LIMIT))
        except SessionUnavailable as exc:
            self._end_session(worker, kill=True)
            if exc.hung:  # (converted by calls instead, which stop at the next hang)
                self._timed_out(min(self.timeout, START_LIMIT))
            raise

    def _end_session(self, worker: _Worker, *, kill: bool) -> None:
        """Stop the worker's running LibreOffice (``kill``: at once), if it has one."""
        session, worker.session = worker.session, None
        if session is None:
            return
        if kill:
            session.kill()
        else:
            session.close()
        with self._cond:
            self._running.discard(session.proc)

    def _watch(self, proc: subprocess.Popen[bytes], index: int, group: list[_Job]) -> str | None:
        """Wait for the call, handing back each PDF as it is finished; the error, if any."""
        errors: list[bytes] = []
        reader = threading.Thread(  # stderr must be drained or LibreOffice may block on it
            target=lambda: errors.append(proc.stderr.read() if proc.stderr else b""),
            daemon=True,
        )
        reader.start()
        waiting = list(group)
        on = 0  # where LibreOffice is in the group: after the last document it finished
        progress = time.monotonic()
        while True:
            finished = [job for job in waiting if job.finished()]
            if finished:  # LibreOffice goes in order: one it skipped is dealt with at the end
                self._finished_one()
                for job in finished:
                    job.done()
                on = max(group.index(job) for job in finished) + 1
                waiting = [job for job in waiting if not job.future.done()]
                progress = time.monotonic()
                with self._cond:
                    self._busy[index] = sum(job.weight for job in waiting)
            if proc.poll() is not None:
                break
            current = group[on] if on < len(group) else group[-1]
            limit = self.timeout + self.per_document * current.weight
            if time.monotonic() - progress > limit:
                kill_group(proc)
                reader.join(timeout=5)
                self._timed_out(limit)
                return f"LibreOffice did not finish within {limit:.0f} s and was stopped"
            time.sleep(POLL)
        reader.join(timeout=5)
        if proc.returncode != 0:
            detail = b"".join(errors).decode("utf-8", "replace").strip().splitlines()
            tail = f": {detail[-1]}" if detail else ""
            return f"LibreOffice exited with status {proc.returncode}{tail}"
        return None


#: The export filter and its options, as a session gives them to LibreOffice.
_, _FILTER_NAME, _FILTER_OPTIONS = PDF_FILTER.split(":", 2)


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


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
            fh.seek(-1024, os.SEEK_END) if path.stat().st_size > 1024 else fh.seek(0)
            tail = fh.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail
