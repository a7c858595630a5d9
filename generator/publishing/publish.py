"""The publish stage: a batch's grants recorded in the ledger and its files moved into place,
and their manifest entries (:class:`Published`; the manifest itself is written last, by
:func:`generator.publishing.listing.write_manifest`).

Files are staged in the work folder; for a final batch the grants are recorded first and the
files renamed into ``DIR`` after, so a crash in between leaves shares held for documents a
rerun makes, never a packet the ledger does not count; a failed move takes the grants out
again. A grant's
existing files are protected: other content is not replaced without ``--force``; the same
agreement (same DOCX) keeps the PDF already there, with or without ``--force``. A signed copy
of a packet that is replaced is moved to ``superseded/`` with its record
(:mod:`generator.core.superseded`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator.checking.checkbatch import Checked
from generator.checking.findings import ERROR, WARNING, Finding, Report
from generator.checking.ledger import Ledger, ledger_path
from generator.checking.ledgerentry import Entry
from generator.core.errors import OutputError
from generator.core.layout import (
    COUNTERSIGNED_SUFFIX,
    countersigned_name,
    grant_files,
    signed_name,
    stem_name,
)
from generator.core.output import safe_stem, sha256
from generator.core.superseded import described, set_file_aside, set_record_aside
from generator.making.batch import Document, GenerateOptions
from generator.making.documents import Made, Staged
from generator.terms.manifest import Listed, Manifest
from generator.terms.vesting import one_line


def _number(value: int | Decimal) -> int | str:
    """A count for JSON: a whole number as one, a fraction as its text."""
    return int(value) if value == int(value) else str(value)


@dataclass
class Published:
    """What the publish stage placed in the folder and recorded in the ledger."""

    documents: list[Document] = field(default_factory=list)
    """The grants placed, in the order they were staged."""
    errors: list[dict[str, object]] = field(default_factory=list)
    """The grants refused here: a file in the way, or the ledger refused them."""
    already: int = 0
    """Of ``documents``, those an earlier run made and recorded: not counted again."""


def publish(
    staged: list[Staged],
    checked: Checked,
    options: GenerateOptions,
    made: Made,
    earlier_manifest: Manifest | None = None,
) -> Published:
    """Move the files into place; for a final batch, right after the ledger records them."""
    out, report = options.out, checked.report
    used: set[str] = set()
    names = {
        s.record.grant_id: stem_name(safe_stem(s.record.grant_id, used), draft=options.draft)
        for s in staged
    }
    earlier = earlier_entries(earlier_manifest)  # the folder's manifest, by PDF name
    blocked = _in_the_way(staged, names, out)  # never replaced, even with --force
    # grant id -> sha256 of its PDF on disk, kept: the same agreement, even with --force
    refused, keep = _overwrites(
        [s for s in staged if s.record.grant_id not in blocked],
        names,
        out,
        earlier=earlier,
        now=made.plan_copy,
    )
    # drafts are never signed and never final: a draft run replaces the drafts it made before
    stopped = {**({} if options.force or options.draft else refused), **blocked}
    done = Published(
        errors=[
            Finding(
                s.record.row,
                s.record.grant_id,
                "overwrite",
                "output",
                ERROR,
                stopped[s.record.grant_id],
                "grant_id",
            ).as_dict()
            for s in staged
            if s.record.grant_id in stopped
        ]
    )
    staged = [s for s in staged if s.record.grant_id not in stopped]
    placing = _Placing(out, names, keep, earlier, report, made.plan_copy, staged)
    if options.draft:
        os.sync()
        done.documents = placing.move([s.record.grant_id for s in staged])
        _sync_dir(out)
        return done
    return _record_and_place(placing, checked, options, done)


def _record_and_place(
    placing: _Placing, checked: Checked, options: GenerateOptions, done: Published
) -> Published:
    """Record a final batch's grants in the ledger, then move their files into place."""
    plan, report = checked.plan, checked.report
    entries = [
        Entry(
            s.record,
            plan.is_option(s.record.award_type),
            report.facts[s.record.row].final_exercise_date,
            f"generate {options.grants.name}",
            schedule=report.facts[s.record.row].schedule,
            vesting=report.facts[s.record.row].vesting,
        )
        for s in placing.by_id.values()
    ]
    try:
        with Ledger(ledger_path(options.ledger)) as book:
            # the ledger first, then the files: a run killed in between leaves grants
            # recorded (their shares held) whose documents a rerun makes again ("already
            # recorded"), never a signature-ready packet the ledger does not count. When a
            # move fails (disk full, folder gone, Ctrl-C), the grants this run recorded are
            # taken out again and the files placed so far removed: the two agree
            recorded = book.record(plan, entries)
            done.already = len(recorded.already)
            try:
                os.sync()  # the staged files reach the disk before they are renamed into place
                done.documents = placing.move(recorded.added + recorded.already)
                _sync_dir(placing.out)
            except BaseException:
                book.unrecord(plan, recorded.added)
                raise
    except BaseException:
        for path in placing.placed:
            path.unlink(missing_ok=True)
        raise
    for grant_id, why in recorded.refused.items():
        rec = placing.by_id[grant_id].record
        done.errors.append(
            Finding(
                rec.row, grant_id, why.rule, why.section, ERROR, why.message, why.column
            ).as_dict()
        )
    return done


class _Placing:
    """Moving staged files into the batch folder: what each grant's files are named, which
    PDFs already there are kept, and the files this run created (to remove on failure)."""

    def __init__(
        self,
        out: Path,
        names: dict[str, str],
        keep: dict[str, str],
        earlier: dict[str, Listed],
        report: Report,
        plan_copy: str,
        staged: list[Staged],
    ) -> None:
        self.out, self.names, self.keep, self.earlier = out, names, keep, earlier
        self.report, self.plan_copy = report, plan_copy
        self.by_id = {s.record.grant_id: s for s in staged}
        self.by_row = report.by_row()
        self.placed: list[
            Path
        ] = []  # files this run created (not ones it replaced with equal bytes)

    def move(self, ids: list[str]) -> list[Document]:
        """Move the files of the grants ``ids`` into place; their manifest entries."""
        signed = _signed_copies(self.out)  # listed once, not once a grant
        documents = []
        for grant_id in ids:
            s = self.by_id[grant_id]
            stem = self.names[grant_id]
            docx_name, pdf_name = grant_files(stem)
            moves = [(s.docx, self.out / docx_name)]
            aside: list[dict[str, Any]] = []
            if grant_id in self.keep:  # the same agreement is on disk already: its PDF stays
                s.pdf.unlink(missing_ok=True)
                s = replace(s, pdf_hash=self.keep[grant_id])
            else:
                entry = self.earlier.get(pdf_name)
                aside = _set_signed_aside(self.out, stem, entry, s, signed.get(stem, []))
                moves.append((s.pdf, self.out / pdf_name))
            for src, dst in moves:
                self._replace(src, dst)
            documents.append(self._document(s, stem, aside))
        return documents

    def _replace(self, src: Path, dst: Path) -> None:
        existed = dst.exists()
        try:
            os.replace(src, dst)
        except OSError as exc:
            raise OutputError(f"cannot write {dst}: {exc.strerror or exc}") from exc
        if not existed:
            self.placed.append(dst)

    def _document(self, s: Staged, stem: str, aside: list[dict[str, Any]]) -> Document:
        """The manifest entry of a grant placed as ``stem``."""
        rec = s.record
        facts = self.report.facts[rec.row]
        findings = [
            f.as_dict() for f in self.by_row.get(rec.row, []) if f.rule != "already-recorded"
        ]
        if aside:
            findings.append(_aside_finding(rec.row, rec.grant_id, stem, aside))
        return Document(
            grant_id=rec.grant_id,
            participant=rec.participant,
            row=rec.row,
            docx=grant_files(stem)[0],
            pdf=grant_files(stem)[1],
            sha256={"docx": s.docx_hash, "pdf": s.pdf_hash},
            final_exercise_date=facts.final_exercise_date.isoformat(),
            price_source=facts.price_source,
            findings=findings,
            plan_copy=self.plan_copy,
            superseded=aside,
            grant_date=rec.grant_date.isoformat(),
            vesting=one_line(facts.schedule, facts.vesting),
            award_type=rec.award_type,
            installments=[
                {"date": i.day.isoformat(), "shares": _number(i.shares)} for i in facts.vesting
            ],
            shares=rec.shares,
            exercise_price=str(rec.exercise_price),
        )


def earlier_entries(earlier: Manifest | None) -> dict[str, Listed]:
    """The documents the folder's manifest lists, by PDF name (those naming their PDF and
    recording sha256)."""
    listed = earlier.documents if earlier is not None else []
    return {
        d.pdf: d
        for d in listed
        if isinstance(d.data.get("pdf"), str) and isinstance(d.data.get("sha256"), dict)
    }


def _in_the_way(staged: list[Staged], names: dict[str, str], out: Path) -> dict[str, str]:
    """Grants whose file name in the folder is taken by something that is not a file (a
    folder, a socket): it is never replaced, not even with --force."""
    found: dict[str, str] = {}
    for s in staged:
        for name in grant_files(names[s.record.grant_id]):
            path = out / name
            if (path.exists() or path.is_symlink()) and not path.is_file():
                found[s.record.grant_id] = (
                    f"{path.name} in the output folder is not a file (a folder?): move it "
                    "away; grantgen never replaces it"
                )
                break
    return found


def _overwrites(
    staged: list[Staged],
    names: dict[str, str],
    out: Path,
    *,
    earlier: dict[str, Listed] | None = None,
    now: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """Grants whose final files exist with other content, or that have a signed copy whose
    original would change: these are not replaced without --force. And the grants whose DOCX
    is unchanged but whose PDF is not byte for byte the one on disk: the same agreement
    converted in other company (LibreOffice's embedded font subsets depend on the other
    agreements converted with it); their PDF on disk is kept (grant id -> its sha256) while
    it is the one the manifest records (``earlier``, by PDF name) and carries the same Plan
    copy (``now``)."""
    found: dict[str, str] = {}
    keep: dict[str, str] = {}
    for s in staged:
        stem = names[s.record.grant_id]
        docx, pdf = (out / name for name in grant_files(stem))
        same_docx = docx.exists() and sha256(docx.read_bytes()) == s.docx_hash
        entry = (earlier or {}).get(pdf.name)
        carried = entry.plan_copy if entry is not None else None
        plan_changed = bool(carried) and carried != now  # its Plan copy is another
        recorded = entry.sha256("pdf") if entry is not None else None
        other = None
        changed = ""
        if docx.exists() and not same_docx:
            other = docx
        elif pdf.exists() and (on_disk := sha256(pdf.read_bytes())) != s.pdf_hash:
            if recorded and on_disk != recorded:
                other, changed = pdf, " (not the file manifest.json records)"
            elif same_docx and not plan_changed:
                keep[s.record.grant_id] = on_disk
            else:
                other = pdf
        if other is not None:
            why = changed or (" (the copy of the Plan it carries changed)" if plan_changed else "")
            found[s.record.grant_id] = (
                f"{other.name} already exists with other content{why}; final documents are "
                "not replaced without --force"
            )
            continue
        signed = signed_name(pdf)
        if signed.exists() and not pdf.exists():
            found[s.record.grant_id] = (
                f"{signed.name} exists (a signed copy); its original is not replaced "
                "without --force"
            )
    return found, keep


def _signed_copies(out: Path) -> dict[str, list[str]]:
    """The copies signed on another field (``<stem>.<field>.countersigned.pdf``) in the
    folder, under each stem they may belong to (a stem may hold dots itself)."""
    found: dict[str, list[str]] = {}
    suffix = COUNTERSIGNED_SUFFIX
    try:
        names = sorted(e.name for e in os.scandir(out) if e.name.endswith(suffix))
    except OSError:
        return found
    for name in names:
        head = name.removesuffix(suffix)
        for at in (i for i, c in enumerate(head) if c == "."):
            found.setdefault(head[:at], []).append(name)
    return found


def _set_signed_aside(
    out: Path, stem: str, entry: Listed | None, staged: Staged, copies: list[str]
) -> list[dict[str, Any]]:
    """The grant's signed copies that are not of the packet about to be placed, moved to
    ``superseded/``: the manifest's ``signed`` record when it signed other bytes, and
    ``<stem>.signed.pdf`` / ``<stem>.countersigned.pdf`` (and ``copies``, those signed on
    another field: :func:`_signed_copies`) when they do not start with the new packet's bytes
    (a signature is an incremental update). Their records, as they are now."""
    why = f"{stem}.pdf was replaced by generate: this copy is signed on the earlier packet"
    aside: list[dict[str, Any]] = []
    record = entry.signed if entry is not None else None
    if record is not None and entry is not None and entry.sha256("pdf") != staged.pdf_hash:
        aside.append(set_record_aside(out, record.data, why))
    new: bytes | None = None
    packet = out / grant_files(stem)[1]
    for name in (signed_name(packet).name, countersigned_name(packet).name, *copies):
        path = out / name
        if not path.is_file():
            continue
        new = staged.pdf.read_bytes() if new is None else new
        with path.open("rb") as fh:
            if fh.read(len(new)) != new:
                aside.append(set_file_aside(out, path, why))
    return aside


def _aside_finding(
    row: int, grant_id: str, stem: str, aside: list[dict[str, Any]]
) -> dict[str, object]:
    """The warning that a replaced packet's signed copies were set aside."""
    return Finding(
        row,
        grant_id,
        "superseded",
        "output",
        WARNING,
        f"{stem}.pdf was replaced: its signed copies are of the earlier packet and are set "
        f"aside: {described(aside)} (manifest.json keeps their records under 'superseded'); "
        "the new packet is to be signed again",
    ).as_dict()


def _sync_dir(folder: Path) -> None:
    """Flush the folder's entries (the renames) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
