"""Signed copies that no longer go with their packet: moved aside, never lost.

A signed copy is the one thing in a batch folder that cannot be made again (the participant's
signature is theirs to make). When ``generate --force`` replaces a packet that was signed, or
``sign --force`` signs a field again, the signed file in the way is moved into
``superseded/`` beside it (``superseded/<name>``, or ``superseded/<stem>.2.signed.pdf``, ...
when that is taken) and its manifest record is kept in the entry's ``superseded`` list, with
the path it has now and why it was set aside. ``verify`` on the folder does not look into
``superseded/``: those copies are of a packet the folder no longer holds.

No pyHanko here: ``generate`` uses this too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from generator.core.errors import OutputError
from generator.core.layout import SUPERSEDED_DIR
from generator.core.output import own_folder, sha256


def set_aside(path: Path) -> Path:
    """Move ``path`` into ``superseded/`` beside it under a name no file there has; the new
    path. Never replaces a file."""
    folder = own_folder(path.parent / SUPERSEDED_DIR)
    stem, dot, rest = path.name.partition(".")
    try:
        number = 1
        while True:
            dest = folder / (path.name if number == 1 else f"{stem}.{number}{dot}{rest}")
            if dest.exists() and not path.is_symlink() and os.path.samefile(dest, path):
                os.unlink(path)  # linked there by a run killed before it unlinked it here
                break
            if dest.exists() or dest.is_symlink():
                number += 1
                continue
            if path.is_symlink():  # the link itself, not what it points to
                os.rename(path, dest)
                break
            try:
                os.link(path, dest)  # fails if dest exists: nothing is ever replaced
            except FileExistsError:
                number += 1
                continue
            except OSError:  # a file system without hard links
                os.rename(path, dest)
                break
            os.unlink(path)
            break
        _sync(folder)
        _sync(path.parent)
    except OSError as exc:
        raise OutputError(f"cannot move {path} to {folder}: {exc.strerror or exc}") from exc
    return dest


def _sync(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def in_folder(folder: Path, name: str) -> Path | None:
    """The file a manifest records as ``name`` when it is directly in ``folder`` (the only
    files grantgen moves), else None."""
    if not name or Path(name).name != name:
        return None
    return folder / name


def set_record_aside(
    folder: Path, record: dict[str, Any], why: str, *, outside: bool = False
) -> dict[str, Any]:
    """A signature record (with the records of the signatures made on top of it) whose files
    in ``folder`` are moved aside: a copy naming where each file is now, and ``superseded``
    saying why. A file the record names that is gone but was moved aside by a run killed
    before it could say so is found in ``superseded/`` by its sha256; one gone for good is
    marked ``missing``. A file outside the folder (``sign -o``) is left where it is unless
    ``outside``."""
    moved = dict(record)
    later = [dict(r) for r in record.get("countersigned") or [] if isinstance(r, dict)]
    if later:
        moved["countersigned"] = later
    for rec in [moved, *later]:
        name = str(rec.get("pdf") or "")
        path = in_folder(folder, name) or (folder / name if outside and name else None)
        if path is None:
            continue
        if path.is_file():
            rec["pdf"] = _shown(folder, set_aside(path))
        elif (found := _moved_before(path.parent, rec.get("sha256"))) is not None:
            rec["pdf"] = _shown(folder, found)
        else:
            rec["missing"] = True  # gone before: the record is all there is
    moved["superseded"] = why
    return moved


def _shown(folder: Path, path: Path) -> str:
    """How the manifest names ``path``: relative to the batch folder inside it, else absolute."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path.resolve())


def _moved_before(where: Path, digest: object) -> Path | None:
    aside = where / SUPERSEDED_DIR
    if not isinstance(digest, str) or not aside.is_dir():
        return None
    for path in sorted(aside.iterdir()):
        with contextlib.suppress(OSError):
            if path.is_file() and sha256(path.read_bytes()) == digest:
                return path
    return None


def described(records: list[dict[str, Any]]) -> str:
    """Where the files of records set aside are now, for a message."""
    flat = [r for top in records for r in [top, *(top.get("countersigned") or [])]]
    return ", ".join(str(r["pdf"]) + (" (missing)" if r.get("missing") else "") for r in flat)


def set_file_aside(folder: Path, path: Path, why: str) -> dict[str, Any]:
    """A file no record names, moved aside, as a record: where it is now, its sha256, why."""
    try:
        digest: str | None = sha256(path.read_bytes())
    except OSError:  # a link to nothing
        digest = None
    return {"pdf": _shown(folder, set_aside(path)), "sha256": digest, "superseded": why}
