"""A batch folder's ``manifest.json`` as the last run left it, and the kit it records.

Read by the stages that work on a folder made before (publishing a rerun, signing, reading the
kit a batch was made with); written by :mod:`.publish`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from generator.core.errors import KitError, SigningError
from generator.core.layout import journal_path as journal_path
from generator.core.layout import manifest_path


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
    path = manifest_path(out)
    try:
        if _journal(out).exists():  # a sign run was stopped before writing the manifest
            try:
                return read_manifest(path)
            except SigningError:
                return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("documents"), list) else None


def _journal(out: Path) -> Path:
    return journal_path(manifest_path(out))


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


# --- the manifest as sign and verify read it -----------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    """A batch's manifest.json, with the signatures a ``grantgen sign`` run noted in its journal
    but could not write into the manifest (it was interrupted); raises naming the file when it
    cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SigningError(f"{path}: no manifest (is this a folder grantgen generated?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SigningError(f"{path}: cannot be read as a manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise SigningError(f"{path}: not a grantgen manifest (no 'documents' list)")
    _merge_journal(path, data)
    return data


def _merge_journal(path: Path, data: dict[str, Any]) -> None:
    try:
        lines = journal_path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    by_pdf = {d["pdf"]: d for d in data["documents"] if entry_problem(d) is None}
    for line in lines:
        try:
            item = json.loads(line)
            entry = by_pdf[item["pdf"]]
            if "superseded" in item:  # files moved aside by --force before signing again
                aside, field = item["superseded"], item["field"]
                if isinstance(aside, list) and isinstance(field, str):
                    _supersede(entry, aside, field, countersign=item.get("countersign") is True)
                continue
            record = item["record"]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the last line of a run that was killed while writing it
        if _record_problem(record, "journal") is None:
            _put_record(entry, record, countersign=item.get("countersign") is True)


def _put_record(entry: dict[str, Any], record: dict[str, Any], *, countersign: bool) -> None:
    """Record a signature: the first one as ``signed``, later ones (on top of the signed copy)
    in ``signed.countersigned``, one per field."""
    company = entry.get("signed")
    if not countersign or not isinstance(company, dict):
        later = company.get("countersigned") if isinstance(company, dict) else None
        entry["signed"] = dict(record, **({"countersigned": later} if later else {}))
        return
    others = [r for r in company.get("countersigned") or [] if r.get("field") != record["field"]]
    company["countersigned"] = [*others, record]


def _supersede(
    entry: dict[str, Any], aside: list[dict[str, Any]], field: str, *, countersign: bool
) -> None:
    """Records of files set aside before ``field`` is signed again: kept under
    ``superseded``, no longer this field's signature (the Company's takes the signatures made
    on top of it along)."""
    entry["superseded"] = [*(entry.get("superseded") or []), *aside]
    company = entry.get("signed")
    if not countersign:
        entry.pop("signed", None)
    elif isinstance(company, dict):
        later = [r for r in company.get("countersigned") or [] if r.get("field") != field]
        if later:
            company["countersigned"] = later
        else:
            company.pop("countersigned", None)


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _record_problem(record: Any, what: str) -> str | None:
    if not isinstance(record, dict):
        return f"its {what} record is not an object"
    for key in ("pdf", "sha256", "field"):
        if not isinstance(record.get(key), str) or not record[key]:
            return f"its {what} record has no {key!r}"
    if not _SHA256.fullmatch(record["sha256"]):
        return f"its {what} record's sha256 {record['sha256']!r} is not a sha256"
    return None


def entry_problem(doc: Any) -> str | None:
    """Why a manifest entry cannot be used, or None."""
    if not isinstance(doc, dict):
        return f"not an object but {type(doc).__name__}"
    pdf = doc.get("pdf")
    if not isinstance(pdf, str) or not pdf.endswith(".pdf"):
        return f"'pdf' is not a PDF file name ({pdf!r})"
    if Path(pdf).name != pdf:
        return f"'pdf' {pdf!r} is not a file in the batch folder"
    digests = doc.get("sha256")
    digest = digests.get("pdf") if isinstance(digests, dict) else None
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        return f"'sha256.pdf' is not a sha256 ({digest!r})"
    if "signed" in doc:
        problem = _record_problem(doc["signed"], "'signed'")
        if problem:
            return problem
        later = doc["signed"].get("countersigned", [])
        if not isinstance(later, list):
            return "its 'signed.countersigned' is not a list"
        for record in later:
            if problem := _record_problem(record, "'countersigned'"):
                return problem
    return None


def manifest_documents(
    path: Path, manifest: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The usable entries of a manifest, and one message for each one that is not."""
    docs: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, doc in enumerate(manifest["documents"], start=1):
        problem = entry_problem(doc)
        if problem is None:
            docs.append(doc)
            continue
        grant = doc.get("grant_id") if isinstance(doc, dict) else None
        label = f"document {number}" + (f" ({grant})" if isinstance(grant, str) else "")
        problems.append(f"{path}: {label} cannot be used: {problem}")
    return docs, problems


def recorded_path(folder: Path, name: str) -> Path:
    """A path the manifest records: relative to the batch folder, or absolute."""
    return folder / name


def _recorded_name(folder: Path, target: Path) -> str:
    """How the manifest records ``target``: relative to the batch folder when inside it,
    otherwise absolute (so ``grantgen verify`` finds it from anywhere)."""
    resolved, base = target.resolve(), folder.resolve()
    if resolved.is_relative_to(base):
        return resolved.relative_to(base).as_posix()
    return str(resolved)
