"""Writing results: safe file names inside the output folder, atomic writes, the manifest."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generator.core.errors import OutputError

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

    The bytes go to a file in the same folder that has no name yet (Linux ``O_TMPFILE``), are
    flushed to disk, and the file is then named and renamed over ``path`` in one step. A run
    killed while writing (even ``kill -9``) leaves nothing behind: the kernel drops a file that
    never got a name. Where the folder's file system cannot make such a file, a temporary
    ``.NAME.*.part`` file is used instead, removed when writing fails or is interrupted (a
    ``kill -9`` can leave one; :func:`remove_left_parts` clears those later).
    """
    fd = _unnamed_file(path)
    if fd is not None:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
                if _name_and_place(fh.fileno(), path):
                    return
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    _write_named(path, data)


def _unnamed_file(path: Path) -> int | None:
    """A new file without a name in ``path``'s folder, open for writing, or None when the
    file system (or the platform) cannot make one."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        fd = os.open(path.parent, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None  # no O_TMPFILE here (tmpfs before 3.11, NFS, ...)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, _FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _name_and_place(fd: int, path: Path) -> bool:
    """Give the unnamed file ``fd`` a temporary name beside ``path`` and rename it over
    ``path``; False when it cannot be named this way (no /proc), having changed nothing."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
            try:  # (a dir_fd makes Python call linkat, which follows /proc's link; link would not)
                os.link(f"/proc/self/fd/{fd}", tmp.name, dst_dir_fd=folder, follow_symlinks=True)
                break
            except FileExistsError:
                continue
            except FileNotFoundError:
                if not os.path.exists(f"/proc/self/fd/{fd}"):
                    return False  # /proc is not mounted
                raise
        else:
            raise OutputError(f"cannot write {path}: no free temporary name")
    finally:
        os.close(folder)
    try:  # a kill in the next few microseconds is the only way to leave the name behind
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _write_named(path: Path, data: bytes) -> None:
    """:func:`write_atomic` through a named temporary file."""
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


#: A temporary ``.NAME.*.part`` file older than this was left by a run that was killed.
PART_AGE = 60.0
#: The temporary names :func:`write_atomic` gives (``.NAME.`` + 8 random characters of
#: ``secrets.token_hex`` or ``mkstemp`` + ``.part``), for a NAME grantgen writes: never a
#: user's own ``.notes.part``.
_LEFT_PART = re.compile(r"\.[^/]+\.(pdf|docx|json|csv|xlsx|html|txt|signing)\.[a-z0-9_]{8}\.part")


def remove_left_parts(folder: Path) -> int:
    """Remove the temporary files a killed run of grantgen left in ``folder`` (named as
    :func:`write_atomic` names them, not written for :data:`PART_AGE` seconds); returns how
    many were removed."""
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not _LEFT_PART.fullmatch(entry.name):
            continue
        try:
            if entry.is_file() and now - entry.stat().st_mtime > PART_AGE:
                entry.unlink()
                removed += 1
        except OSError:
            continue
    return removed


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


def own_folder(path: Path) -> Path:
    """``path``, a folder grantgen writes into inside a batch folder (``review/``,
    ``superseded/``), made if need be; refused when it is a symbolic link (or not a
    folder): nothing is ever written through a link, which could lead anywhere."""
    if path.is_symlink():
        raise OutputError(
            f"{path} is a symbolic link: grantgen never writes through a link (it could lead "
            "out of the batch folder); remove the link, or generate into another folder"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path} is in the way: it is not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot create {path}: {exc.strerror or exc}") from exc
    if path.is_symlink() or not path.is_dir():  # (made a link meanwhile)
        raise OutputError(f"{path} is not a folder of the batch's own")
    return path


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the batch folder for one grantgen run (generate, sign, a preview placing its
    files): a second run into it meanwhile is refused with a clear error instead of
    interleaving its reads and writes of the manifest, ledger and review with this one's.
    The lock is on the folder itself (``flock`` on its descriptor): nothing is left in it,
    and a run that is killed releases it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError(f"cannot open the folder {folder}: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"the folder {folder} is in use by another grantgen run (a generate, sign or "
                "preview into it): wait for it to finish, then run this again"
            ) from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def work_dir(out: Path) -> Iterator[Path]:
    """A scratch folder inside ``out`` for intermediate files, removed afterwards.

    The folder holds a lock for as long as the run lives; folders left by a run that was
    killed (whose lock nobody holds any more) are removed first, and again at the end, as are
    temporary files such a run left in ``out`` (:func:`remove_left_parts`).
    """
    for stale in out.glob(".grantgen-work-*"):
        _remove_if_abandoned(stale)
    remove_left_parts(out)  # a file a run killed while writing it (kill -9) was naming
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
