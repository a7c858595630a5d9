"""A batch folder's ``manifest.json``: the typed model grantgen reads it through, the journal
a ``sign`` run keeps beside it, and the kit it records.

The JSON is the record. :class:`Manifest`, :class:`Listed` (a document it lists) and
:class:`Signature` (a signature it records) are typed views over the parsed JSON: grantgen
reads and changes it through them, and a rewrite writes back every key as it was read, in its
order, keys another version of grantgen wrote included. docs/formats.md describes the keys.

Read once a run: ``generate`` reads the folder's earlier manifest (:meth:`Manifest.earlier`,
lenient: a manifest it cannot use is no earlier batch) and hands it to the stages; ``sign``,
``verify`` and ``accept`` read theirs with :meth:`Manifest.read`, which refuses one that
cannot be used, naming the file. Written by :func:`generator.publishing.listing.write_manifest`
(``generate``) and by ``sign``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from generator.core.errors import KitError, SigningError
from generator.core.layout import is_draft_name, journal_path, manifest_path
from generator.core.output import write_json

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Signature:
    """A signature the manifest records: an entry's ``signed`` (the Company's, on the packet)
    or one of its ``countersigned`` (made on top of the signed copy)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @property
    def pdf(self) -> str:
        """The signed file: relative to the batch folder, or absolute (``sign -o``)."""
        return str(self.data["pdf"])

    @property
    def sha256(self) -> str:
        return str(self.data["sha256"])

    @property
    def field(self) -> str:
        """The signature field signed."""
        return str(self.data["field"])

    @property
    def signed_at(self) -> str:
        """When it was made (ISO, UTC; "" when not recorded)."""
        return str(self.data.get("signed_at", ""))

    @property
    def dated(self) -> str | None:
        """The date the Company's signing run wrote on the form's "Dated:" line, if any."""
        value = self.data.get("dated")
        return value if isinstance(value, str) else None

    @property
    def countersigned(self) -> list[Signature]:
        """The signatures made on top of this one (the Company's), one per field."""
        later = self.data.get("countersigned")
        return (
            [Signature(r) for r in later if isinstance(r, dict)] if isinstance(later, list) else []
        )

    def made_on(self, field: str) -> Signature | None:
        """The signature made on top of this one in ``field``, if any."""
        return next((r for r in self.countersigned if r.field == field), None)

    def with_countersigned(self) -> list[Signature]:
        """This signature and those made on top of it."""
        return [self, *self.countersigned]


class Listed:
    """A document the manifest lists: one grant's agreement and packet, their sha256, the
    grant's terms, and the signatures made on the packet."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _text(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    @property
    def pdf(self) -> str:
        """The packet's file name in the batch folder."""
        return str(self.data.get("pdf", ""))

    @property
    def docx(self) -> str | None:
        return self._text("docx")

    @property
    def grant_id(self) -> str | None:
        return self._text("grant_id")

    @property
    def participant(self) -> str | None:
        return self._text("participant")

    @property
    def grant_date(self) -> str:
        """ISO date ("" when an earlier grantgen did not record it)."""
        return str(self.data.get("grant_date", ""))

    @property
    def row(self) -> int:
        """The grants file's row (0 when not recorded)."""
        row = self.data.get("row")
        return row if isinstance(row, int) else 0

    @property
    def plan_copy(self) -> str | None:
        """sha256 of the source of the Plan copy the packet carries."""
        return self._text("plan_copy")

    @property
    def input(self) -> str | None:
        """The grants file it came from, when an earlier run of another file made it."""
        return self._text("input")

    def sha256(self, kind: str) -> str | None:
        """The recorded sha256 of its ``docx`` or ``pdf``."""
        digests = self.data.get("sha256")
        value = digests.get(kind) if isinstance(digests, dict) else None
        return value if isinstance(value, str) else None

    @property
    def is_draft(self) -> bool:
        """A ``--draft`` document."""
        return is_draft_name(self.pdf)

    @property
    def signed(self) -> Signature | None:
        """The Company's signature on the packet, if made."""
        record = self.data.get("signed")
        return Signature(record) if isinstance(record, dict) else None

    @property
    def signatures(self) -> list[Signature]:
        """Every signature recorded on the packet: the Company's and those on top of it."""
        company = self.signed
        return company.with_countersigned() if company is not None else []

    @property
    def superseded(self) -> list[dict[str, Any]]:
        """Records of signed copies set aside in ``superseded/`` (as they were recorded)."""
        listed = self.data.get("superseded")
        return [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []

    def problem(self) -> str | None:
        """Why ``sign``, ``verify`` and ``accept`` cannot use the entry, or None."""
        return entry_problem(self.data)

    def put_signature(self, record: dict[str, Any], *, countersign: bool) -> None:
        """Record a signature: the first one as ``signed``, later ones (on top of the signed
        copy) in ``signed.countersigned``, one per field."""
        company = self.data.get("signed")
        if not countersign or not isinstance(company, dict):
            later = company.get("countersigned") if isinstance(company, dict) else None
            self.data["signed"] = dict(record, **({"countersigned": later} if later else {}))
            return
        others = [
            r for r in company.get("countersigned") or [] if r.get("field") != record["field"]
        ]
        company["countersigned"] = [*others, record]

    def supersede(self, aside: list[dict[str, Any]], field: str, *, countersign: bool) -> None:
        """Records of files set aside before ``field`` is signed again: kept under
        ``superseded``, no longer this field's signature (the Company's takes the signatures
        made on top of it along)."""
        self.data["superseded"] = [*(self.data.get("superseded") or []), *aside]
        company = self.data.get("signed")
        if not countersign:
            self.data.pop("signed", None)
        elif isinstance(company, dict):
            later = [r for r in company.get("countersigned") or [] if r.get("field") != field]
            if later:
                company["countersigned"] = later
            else:
                company.pop("countersigned", None)


class Manifest:
    """A batch folder's manifest: what made it, the documents it lists, the run's errors and
    warnings, the review files and the kit."""

    __slots__ = ("data", "path")

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest at ``path``, with the signatures a ``grantgen sign`` run noted in its
        journal but could not write into it (it was interrupted); raises naming the file
        when it cannot be used."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SigningError(
                f"{path}: no manifest (is this a folder grantgen generated?)"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SigningError(f"{path}: cannot be read as a manifest: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
            raise SigningError(f"{path}: not a grantgen manifest (no 'documents' list)")
        manifest = cls(path, data)
        manifest._merge_journal()
        return manifest

    @classmethod
    def earlier(cls, folder: Path) -> Manifest | None:
        """The folder's manifest as the last run left it (with what a ``sign`` that was killed
        noted in its journal); None when there is none that can be read."""
        path = manifest_path(folder)
        try:
            if journal_path(path).exists():  # a sign run was stopped before writing it
                try:
                    return cls.read(path)
                except SigningError:
                    return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if isinstance(data, dict) and isinstance(data.get("documents"), list):
            return cls(path, data)
        return None

    def write(self) -> None:
        """Write the manifest (atomically) where it was read from."""
        write_json(self.path, self.data)

    @property
    def documents(self) -> list[Listed]:
        """Every entry that is an object (usable or not: see :meth:`usable`)."""
        return [Listed(d) for d in self.data["documents"] if isinstance(d, dict)]

    def usable(self) -> tuple[list[Listed], list[str]]:
        """The entries ``sign``, ``verify`` and ``accept`` can use, and one message for each
        one they cannot."""
        docs: list[Listed] = []
        problems: list[str] = []
        for number, doc in enumerate(self.data["documents"], start=1):
            problem = entry_problem(doc)
            if problem is None:
                docs.append(Listed(doc))
                continue
            grant = doc.get("grant_id") if isinstance(doc, dict) else None
            label = f"document {number}" + (f" ({grant})" if isinstance(grant, str) else "")
            problems.append(f"{self.path}: {label} cannot be used: {problem}")
        return docs, problems

    def _text(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    @property
    def plan(self) -> str | None:
        """The id of the plan the batch was made under."""
        return self._text("plan")

    @property
    def officer(self) -> str | None:
        """The signing officer the packets name."""
        return self._text("officer")

    @property
    def input(self) -> str | None:
        """The grants file the last run read."""
        return self._text("input")

    @property
    def kit(self) -> dict[str, Any] | None:
        """The record of the kit the batch was made with (its plan file and files' sha256)."""
        record = self.data.get("kit")
        return record if isinstance(record, dict) else None

    def review(self, key: str) -> dict[str, Any] | None:
        """The description of the review files: ``review`` (the final documents') or
        ``draft_review`` (the drafts')."""
        described = self.data.get(key)
        return described if isinstance(described, dict) else None

    def review_files(self, key: str = "review") -> list[str]:
        """The review files :meth:`review` lists."""
        files = (self.review(key) or {}).get("files")
        return [f for f in files if isinstance(f, str) and f] if isinstance(files, list) else []

    def _merge_journal(self) -> None:
        """Take in the signatures (and set-aside records) a ``sign`` run noted in its journal."""
        try:
            lines = journal_path(self.path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return
        by_pdf = {d.pdf: d for d in self.usable()[0]}
        for line in lines:
            try:
                item = json.loads(line)
                entry = by_pdf[item["pdf"]]
                countersign = item.get("countersign") is True
                if "superseded" in item:  # files moved aside by --force before signing again
                    aside, field = item["superseded"], item["field"]
                    if isinstance(aside, list) and isinstance(field, str):
                        entry.supersede(aside, field, countersign=countersign)
                    continue
                record = item["record"]
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # the last line of a run that was killed while writing it
            if _record_problem(record, "journal") is None:
                entry.put_signature(record, countersign=countersign)


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    manifest = Manifest.earlier(folder) if folder.is_dir() else None
    record = manifest.kit if manifest is not None else None
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


def recorded_path(folder: Path, name: str) -> Path:
    """A path the manifest records: relative to the batch folder, or absolute."""
    return folder / name


def recorded_name(folder: Path, target: Path) -> str:
    """How the manifest records ``target``: relative to the batch folder when inside it,
    otherwise absolute (so ``grantgen verify`` finds it from anywhere)."""
    resolved, base = target.resolve(), folder.resolve()
    if resolved.is_relative_to(base):
        return resolved.relative_to(base).as_posix()
    return str(resolved)
