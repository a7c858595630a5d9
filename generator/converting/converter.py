"""The LibreOffice pool of a batch (:class:`Converter`): workers with their own profiles, kept
running, documents queued to them in groups with a time limit each, a worker that dies
replaced, a LibreOffice that hangs twice failing the batch in bounded time."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

from generator.converting.batchdoc import PDF_FILTER
from generator.converting.convert import (
    FILTER_NAME,
    FILTER_OPTIONS,
    GROUP_MAX,
    HANGS,
    PER_AGREEMENT,
    POLL,
    SCRATCH_PREFIX,
    Job,
    Outcome,
    Worker,
    cache_path,
    claim_profiles,
    find_soffice,
    from_cache,
    reap_scratch,
    settle_cached,
    soffice_environment,
)
from generator.converting.losession import (
    START_LIMIT,
    Session,
    SessionDied,
    SessionUnavailable,
    headless,
    install_script,
    kill_group,
    sessions_possible,
)
from generator.core.errors import ConvertError, OutputError


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
        reap_scratch()
        self._root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self._workers = claim_profiles(self.jobs, self._root)
        self._queue: deque[Job] = deque()
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
        cache = cache_path(Path(self.soffice), source)
        done: Future[Outcome] = Future()
        kept = from_cache(cache, source, outdir)
        if kept is not None:
            done.set_result(kept)
            return done
        job = self.submit(source, outdir)
        job.add_done_callback(lambda finished: settle_cached(finished, done, cache, source))
        return done

    def submit(self, source: Path, outdir: Path, weight: int = 1) -> Future[Outcome]:
        """Convert one DOCX (holding ``weight`` agreements) in the background, to
        ``outdir/<stem>.pdf``; the result comes as soon as that PDF is complete."""
        outdir.mkdir(parents=True, exist_ok=True)
        job = Job(source, outdir, max(1, weight))
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
        self, worker: Worker, index: int, group: list[Job], *, fresh: bool = False
    ) -> list[Job]:
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

    def _take(self, index: int) -> list[Job]:
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

    def _share(self, index: int) -> list[Job]:
        """This worker's fair share of the queue (the caller holds the lock). A worker with a
        running LibreOffice takes one document at a time: it has no start to share out, and
        the workers, each taking the next document as it comes free, finish nearer together."""
        queued = sum(job.weight for job in self._queue)
        fair = -(-(queued + sum(self._busy)) // self.jobs)  # ceiling
        group: list[Job] = []
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
        self, worker: Worker, index: int, group: list[Job], *, fresh: bool = False
    ) -> list[Job]:
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
        self, worker: Worker, index: int, group: list[Job], *, fresh: bool = False
    ) -> list[Job]:
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
                    error = session.convert(job.source, job.pdf, FILTER_NAME, FILTER_OPTIONS, limit)
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

    def _start_session(self, worker: Worker, index: int) -> None:
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

    def _end_session(self, worker: Worker, *, kill: bool) -> None:
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

    def _watch(self, proc: subprocess.Popen[bytes], index: int, group: list[Job]) -> str | None:
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
