"""A LibreOffice kept running for a whole batch: one ``soffice`` per worker converts document
after document, instead of one ``soffice`` call per group of documents.

Each start of LibreOffice costs about a quarter of a second of CPU (loading its libraries,
its configuration and its fonts): a batch of a thousand grants made six of them. A session
starts LibreOffice once, running a small script of grantgen's with LibreOffice's own Python
(the ``libreoffice-script-provider-python`` package): the script connects back over a Unix
socket and converts each document it is sent exactly as ``soffice --convert-to`` does (the
same load and store arguments, in LibreOffice's main thread), replying when the PDF is in
place. The script lives in the worker's own profile.

A session that cannot be had (no script provider, LibreOffice exits or says nothing at
start) is :class:`SessionUnavailable`: the converter then calls ``soffice --convert-to`` as
before. A session whose LibreOffice crashes or hangs on a document is :class:`SessionDied`:
it is killed, and the converter treats the document as a failed call's.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
from importlib.resources import files
from pathlib import Path

from generator.core.output import write_atomic

#: The file name of the script in the profile, and the function LibreOffice runs.
SCRIPT_NAME = "grantgen_convert.py"
SCRIPT_URL = f"vnd.sun.star.script:{SCRIPT_NAME}$serve?language=Python&location=user"
#: Where the socket is named for the script.
SOCKET_VARIABLE = "GRANTGEN_LO_SOCKET"
#: ``GRANTGEN_SOFFICE_MODE=call`` converts with one ``soffice --convert-to`` call per group of
#: documents, as without the script provider.
MODE_VARIABLE = "GRANTGEN_SOFFICE_MODE"
#: Seconds LibreOffice may take to start and connect, at most, before the converter gives the
#: session up and calls ``soffice --convert-to`` instead.
START_LIMIT = 30.0

#: The script that runs inside LibreOffice (its Python, its main thread): a module of its own,
#: shipped with the package (``generator/soffice/grantgen_convert.py``), written into each
#: profile.
SCRIPT = (files("generator") / "soffice" / SCRIPT_NAME).read_text(encoding="utf-8")


class SessionUnavailable(Exception):
    """Raised when LibreOffice cannot be kept running here: convert with calls instead.
    ``hung``: it did not answer in time (rather than exiting or refusing)."""

    def __init__(self, message: str, *, hung: bool = False) -> None:
        super().__init__(message)
        self.hung = hung


class SessionDied(Exception):
    """Raised when the session's LibreOffice crashed, hung (``hung``) or broke the
    protocol."""

    def __init__(self, message: str, *, hung: bool = False) -> None:
        super().__init__(message)
        self.hung = hung


def sessions_possible(soffice: str) -> bool:
    """LibreOffice can run grantgen's script: its Python script provider is installed beside
    ``soffice`` (and the mode is not forced to calls)."""
    if os.environ.get(MODE_VARIABLE, "").lower() == "call":
        return False
    program = Path(soffice).resolve().parent
    return (program / "pythonscript.py").is_file() and any(
        (program / name).is_file() for name in ("pyuno.so", "libpyuno.so")
    )


def headless(soffice: str, profile: Path) -> list[str]:
    """``soffice`` on ``profile``, headless, with no window, dialog, recovery or lock check:
    the start of every LibreOffice command grantgen runs."""
    return [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
    ]


def install_script(profile: Path) -> None:
    """Put the conversion script in ``profile`` (unless it is there already)."""
    path = profile / "user" / "Scripts" / "python" / SCRIPT_NAME
    data = SCRIPT.encode("utf-8")
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


class Session:
    """One running LibreOffice and the connection to grantgen's script in it."""

    def __init__(
        self, soffice: str, profile: Path, env: dict[str, str], scratch: Path, name: str
    ) -> None:
        self._socket_path = scratch / f"{name}.sock"
        self._socket_path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self._socket_path))
        self._listener.listen(1)
        self._log_path = scratch / f"{name}.log"
        self._conn: socket.socket | None = None
        self._buffer = b""
        with self._log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*headless(soffice, profile), SCRIPT_URL],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={**env, SOCKET_VARIABLE: str(self._socket_path)},
            )

    def connect(self, limit: float) -> None:
        """Wait for the script to connect and say it is ready."""
        deadline = time.monotonic() + limit
        while self._conn is None:
            ready, _, _ = select.select([self._listener], [], [], 0.02)
            if ready:
                self._conn, _ = self._listener.accept()
                break
            if self.proc.poll() is not None:
                raise SessionUnavailable(
                    f"LibreOffice exited (status {self.proc.returncode}) without running "
                    f"grantgen's script{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise SessionUnavailable(
                    f"LibreOffice did not run grantgen's script within {limit:.0f} s", hung=True
                )
        try:
            hello = self._reply(deadline)
        except SessionDied as exc:
            raise SessionUnavailable(str(exc), hung=exc.hung) from exc
        if not hello.get("ready"):
            self.kill()
            raise SessionUnavailable(f"grantgen's script in LibreOffice said {hello!r}")

    def convert(
        self, source: Path, pdf: Path, filter_name: str, options: str, limit: float
    ) -> str | None:
        """Convert ``source`` to ``pdf``: None when it is there, else LibreOffice's reason.
        Raises :class:`SessionDied` when LibreOffice crashes, or gives no answer within
        ``limit`` seconds (it is killed then)."""
        if self._conn is None:
            raise SessionDied("the session is not connected")
        # absolute: LibreOffice reads a path as a URL, and its working folder is not ours
        source, pdf = Path(os.path.abspath(source)), Path(os.path.abspath(pdf))
        part = pdf.with_name(f".{pdf.name}.lo-part")
        request = {
            "source": str(source),
            "part": str(part),
            "pdf": str(pdf),
            "filter": filter_name,
            "options": options,
        }
        try:
            self._conn.sendall((json.dumps(request) + "\n").encode("utf-8"))
        except OSError as exc:
            self.kill()
            raise SessionDied(f"LibreOffice stopped taking documents ({exc.strerror})") from exc
        answer = self._reply(time.monotonic() + limit, limit)
        if answer.get("ok"):
            return None
        part.unlink(missing_ok=True)
        return str(answer.get("error") or "LibreOffice could not convert the document")

    def _reply(self, deadline: float, limit: float = START_LIMIT) -> dict[str, object]:
        """The script's next line, as JSON."""
        assert self._conn is not None
        while b"\n" not in self._buffer:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self.kill()
                raise SessionDied(
                    f"LibreOffice did not finish within {limit:.0f} s and was stopped", hung=True
                )
            ready, _, _ = select.select([self._conn], [], [], min(wait, 1.0))
            if not ready:
                continue
            try:
                data = self._conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                status = self._exit_status()
                self.kill()
                raise SessionDied(
                    f"LibreOffice exited with status {status}{self._log_tail()}"
                    if status is not None
                    else "LibreOffice closed the connection"
                )
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.kill()
            raise SessionDied(f"grantgen's script in LibreOffice said {line[:200]!r}")
        return answer

    def _exit_status(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout=2)
        return None

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self._log_path.read_text("utf-8", "replace").strip().splitlines()
            if lines:
                return f": {lines[-1][:300]}"
        return ""

    def stop(self) -> None:
        """Ask LibreOffice to stop, without waiting for it (see :meth:`close`)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.sendall(b'{"quit": true}\n')
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Ask LibreOffice to stop; kill it when it does not within a few seconds."""
        self.stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.kill()

    def kill(self) -> None:
        """Kill LibreOffice and anything it started; close the sockets."""
        kill_group(self.proc)
        for sock in (self._conn, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        self._conn = None
        self._socket_path.unlink(missing_ok=True)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and anything it started (soffice.bin is a child of soffice)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
        proc.wait(timeout=10)
