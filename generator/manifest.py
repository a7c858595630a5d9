"""A batch folder's ``manifest.json`` as the last run left it, and the kit it records.

Read by the stages that work on a folder made before (publishing a rerun, signing, reading the
kit a batch was made with); written by :mod:`.publish`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import GrantgenError


class KitError(GrantgenError):
    """Raised when a kit is missing a piece, or its pieces do not agree."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def earlier_manifest(out: Path) -> dict[str, Any] | None:
    """The folder's manifest.json as the last run left it, with the signatures a ``grantgen
    sign`` that was killed noted in its journal but could not write into it; None when there
    is none that can be read."""
    path = out / "manifest.json"
    try:
        if _journal(out).exists():  # rare: pyHanko is loaded only then
            from .errors import SigningError
            from .signing import read_manifest

            try:
                return read_manifest(path)
            except SigningError:
                return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("documents"), list) else None


def _journal(out: Path) -> Path:
    return out / ".manifest.json.signing"  # signing.journal_path (not imported: pyHanko)


def forget_journal(out: Path) -> None:
    """The journal of a ``sign`` that was killed, once the manifest written holds it."""
    _journal(out).unlink(missing_ok=True)


def kit_changes(record: dict[str, Any]) -> list[str]:
    """The files of a recorded kit that are no longer as they were (changed or gone)."""
    plan_file = Path(str(record.get("plan_file", "")))
    root = plan_file.parent
    changed = []
    files = record.get("files")
    for name, digest in files.items() if isinstance(files, dict) else []:
        path = Path(name) if Path(name).is_absolute() else root / name
        try:
            same = sha256_file(path) == digest
        except OSError:
            same = False
        if not same:
            changed.append(str(path))
    return changed


def recorded_plan(folder: Path) -> Path | None:
    """The plan file a batch folder's manifest records (None: none recorded, or no
    manifest). A kit changed since is refused naming its files."""
    manifest = earlier_manifest(folder) if folder.is_dir() else None
    record = (manifest or {}).get("kit")
    if not isinstance(record, dict) or not record.get("plan_file"):
        return None
    changed = kit_changes(record)
    if changed:
        raise KitError(
            f"the kit the batch in {folder} was made with has changed since: "
            f"{', '.join(changed[:5])}{' …' if len(changed) > 5 else ''}; pass --plan to use "
            "the kit as it is now, or restore those files"
        )
    return Path(str(record["plan_file"]))
