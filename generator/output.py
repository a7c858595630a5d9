"""Writing results: safe file names inside the output folder, atomic writes, the manifest."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import OutputError

# Files are created with the permissions the user's umask gives new files (mkstemp uses 0600).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK

# Names Windows reserves whatever the extension; a grant id may be one of them.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}


def safe_stem(grant_id: str, used: set[str]) -> str:
    """A file-name stem for a grant id: only ``[A-Za-z0-9_-]``, never reserved, unique in
    ``used`` regardless of case (which it updates)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", grant_id).strip("._")[:64] or "grant"
    if stem.lower() in _RESERVED:
        stem += "_"
    candidate, n = stem, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}-{n}"
    used.add(candidate.lower())
    return candidate


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written.

    The bytes go to a temporary file in the same folder, are flushed to disk, and the file is
    renamed over ``path`` in one step; the temporary file is removed when that fails or is
    interrupted.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # a full disk, a read-only or vanished folder
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # an error, or Ctrl-C: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def prepare_out(out: Path) -> Path:
    """Create the output folder; raise a clear error when it cannot be used."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK):
        raise OutputError(f"the output folder {out} is not writable")
    return out


@contextlib.contextmanager
def work_dir(out: Path) -> Iterator[Path]:
    """A scratch folder inside ``out`` for intermediate files, removed afterwards.

    The folder holds a lock for as long as the run lives; folders left by a run that was
    killed (whose lock nobody holds any more) are removed first, and again at the end.
    """
    for stale in out.glob(".grantgen-work-*"):
        _remove_if_abandoned(stale)
    try:
        path = Path(tempfile.mkdtemp(prefix=".grantgen-work-", dir=out))
        lock = os.open(path / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write in the output folder {out}: {exc.strerror}") from exc
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(lock)
        for stale in out.glob(".grantgen-work-*"):  # one too fresh to judge at the start
            _remove_if_abandoned(stale)  # (a run killed a moment before this one began)


def _remove_if_abandoned(folder: Path) -> None:
    import time

    try:  # a folder made in the last moments by a run starting now may not hold its lock yet
        if time.time() - folder.stat().st_mtime < 2:
            return
    except OSError:
        return
    try:
        lock = os.open(folder / ".lock", os.O_RDWR)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)  # killed before it took its lock
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another run is using it
    finally:
        os.close(lock)
    shutil.rmtree(folder, ignore_errors=True)


# --- spreadsheet cells (OWASP CSV injection) -------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")


def neutralise_cell(value: str) -> str:
    """Make a cell safe to open in a spreadsheet: text that a spreadsheet would run as a
    formula gets a leading ``'``. Real numbers (``-10``, ``-3.25``) stay numbers; a value that
    already starts with ``'`` gets one more, so :func:`restore_cell` gives back the original."""
    if not value:
        return value
    if value.startswith("'") or (value.startswith(_FORMULA_START) and not _NUMBER.match(value)):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The inverse of :func:`neutralise_cell`."""
    if (
        len(value) > 1
        and value[0] == "'"
        and (value[1] in "'" or value[1:].startswith(_FORMULA_START))
    ):
        return value[1:]
    return value
