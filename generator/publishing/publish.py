"""The publish stage: a batch's grants recorded in the ledger and its files moved into place,
and the manifest that lists them.

Files are staged in the work folder; for a final batch the grants are recorded first and the
files renamed into ``DIR`` after, so a crash in between leaves shares held for documents a
rerun makes, never a packet the ledger does not count; a failed move takes the grants out
again. A grant's
existing files are protected: other content is not replaced without ``--force``; the same
agreement (same DOCX) keeps the PDF already there, with or without ``--force``. A signed copy
of a packet that is replaced is moved to ``superseded/`` with its record (:mod:`.superseded`).
``manifest.json`` describes the folder.
"""

from __future__ import annotations

import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator import __version__
from generator.checking.findings import ERROR, WARNING, Finding
from generator.checking.ledger import Ledger, ledger_path
from generator.checking.ledgerentry import Entry, Recorded
from generator.core.errors import OutputError
from generator.core.layout import (
    COUNTERSIGNED_SUFFIX,
    countersigned_name,
    signed_name,
    stem_name,
)
from generator.core.output import safe_stem, sha256
from generator.core.superseded import described, set_file_aside, set_record_aside
from generator.making.batch import Checked, Document, GenerateOptions, GenerateResult
from generator.making.documents import Staged
from generator.terms.manifest import Listed, Manifest
from generator.terms.planmodel import Plan
from generator.terms.vesting import one_line


def _number(value: int | Decimal) -> int | str:
    """A count for JSON: a whole number as one, a fraction as its text."""
    return int(value) if value == int(value) else str(value)


def publish(
    staged: list[Staged],
    checked: Checked,
    options: GenerateOptions,
    result: GenerateResult,
    earlier_manifest: Manifest | None = None,
) -> None:
    """Move the files into place; for a final batch, right after the ledger records them."""
    plan, report = checked.plan, checked.report
    used: set[str] = set()
    names = {
        s.record.grant_id: stem_name(safe_stem(s.record.grant_id, used), draft=options.draft)
        for s in staged
    }
    by_id = {s.record.grant_id: s for s in staged}
    placed: list[Path] = []  # files this run created (not ones it replaced with equal bytes)

    earlier = earlier_entries(earlier_manifest)  # the folder's manifest, by PDF name
    blocked = _in_the_way(staged, names, result.out)  # never replaced, even with --force
    # grant id -> sha256 of its PDF on disk, kept: the same agreement, even with --force
    refused, keep = _overwrites(
        [s for s in staged if s.record.grant_id not in blocked],
        names,
        result.out,
        earlier=earlier,
        now=result.plan_copy,
    )
    # drafts are never signed and never final: a draft run replaces the drafts it made before
    for grant_id, reason in {
        **({} if options.force or options.draft else refused),
        **blocked,
    }.items():
        rec = by_id.pop(grant_id).record
        result.errors.append(
            Finding(rec.row, grant_id, "overwrite", "output", ERROR, reason, "grant_id").as_dict()
        )
    staged = [s for s in staged if s.record.grant_id in by_id]

    by_row = report.by_row()

    def move(ids: list[str]) -> None:
        signed = _signed_copies(result.out)  # listed once, not once a grant
        for grant_id in ids:
            s = by_id[grant_id]
            stem = names[grant_id]
            moves = [(s.docx, result.out / f"{stem}.docx")]
            aside: list[dict[str, Any]] = []
            if grant_id in keep:  # the same agreement is on disk already: its PDF stays
                s.pdf.unlink(missing_ok=True)
                s = replace(s, pdf_hash=keep[grant_id])
            else:
                aside = _set_signed_aside(
                    result.out, stem, earlier.get(f"{stem}.pdf"), s, signed.get(stem, [])
                )
                moves.append((s.pdf, result.out / f"{stem}.pdf"))
            for src, dst in moves:
                existed = dst.exists()
                try:
                    os.replace(src, dst)
                except OSError as exc:
                    raise OutputError(f"cannot write {dst}: {exc.strerror or exc}") from exc
                if not existed:
                    placed.append(dst)
            facts = report.facts[s.record.row]
            findings = [
                f.as_dict() for f in by_row.get(s.record.row, []) if f.rule != "already-recorded"
            ]
            if aside:
                findings.append(_aside_finding(s.record.row, grant_id, stem, aside))
            result.documents.append(
                Document(
                    grant_id=grant_id,
                    participant=s.record.participant,
                    row=s.record.row,
                    docx=f"{stem}.docx",
                    pdf=f"{stem}.pdf",
                    sha256={"docx": s.docx_hash, "pdf": s.pdf_hash},
                    final_exercise_date=facts.final_exercise_date.isoformat(),
                    price_source=facts.price_source,
                    findings=findings,
                    plan_copy=result.plan_copy,
                    superseded=aside,
                    grant_date=s.record.grant_date.isoformat(),
                    vesting=one_line(facts.schedule, facts.vesting),
                    award_type=s.record.award_type,
                    installments=[
                        {"date": i.day.isoformat(), "shares": _number(i.shares)}
                        for i in facts.vesting
                    ],
                    shares=s.record.shares,
                    exercise_price=str(s.record.exercise_price),
                )
            )

    if options.draft:
        os.sync()
        move(list(by_id))
        _sync_dir(result.out)
        return
    entries = [
        Entry(
            s.record,
            plan.is_option(s.record.award_type),
            report.facts[s.record.row].final_exercise_date,
            f"generate {options.grants.name}",
            schedule=report.facts[s.record.row].schedule,
            vesting=report.facts[s.record.row].vesting,
        )
        for s in staged
    ]

    def place_files(rec: Recorded) -> None:
        os.sync()  # the staged files reach the disk before they are renamed into place
        move(rec.added + rec.already)
        _sync_dir(result.out)

    try:
        with Ledger(ledger_path(options.ledger)) as book:
            # the ledger first, then the files: a run killed in between leaves grants
            # recorded (their shares held) whose documents a rerun makes again ("already
            # recorded"), never a signature-ready packet the ledger does not count. When a
            # move fails (disk full, folder gone, Ctrl-C), the grants this run recorded are
            # taken out again and the files placed so far removed: the two agree
            recorded = book.record(plan, entries)
            result.already = len(recorded.already)
            try:
                place_files(recorded)
            except BaseException:
                book.unrecord(plan, recorded.added)
                raise
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        result.documents.clear()
        raise
    for grant_id, why in recorded.refused.items():
        rec = by_id[grant_id].record
        result.errors.append(
            Finding(
                rec.row, grant_id, why.rule, why.section, ERROR, why.message, why.column
            ).as_dict()
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
        for suffix in (".docx", ".pdf"):
            path = out / f"{names[s.record.grant_id]}{suffix}"
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
        docx, pdf = out / f"{stem}.docx", out / f"{stem}.pdf"
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
    packet = out / f"{stem}.pdf"
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


def merge_earlier(earlier: Manifest | None, made: list[dict[str, Any]], kept: list[Listed]) -> bool:
    """Keep what the folder's previous manifest.json (``earlier``) knew: a document this run
    made again with the same PDF keeps its ``signed`` record (from ``grantgen sign``; a
    replaced one, its ``superseded`` records), and the documents an earlier run left that
    this run did not make stay listed (``kept``: :func:`earlier_kept`). Whether there was an
    earlier manifest (with the journal of a ``sign`` that was killed taken in)."""
    if earlier is None:
        return False
    by_pdf = {d["pdf"]: d for d in made}  # a grant's draft and final files are two documents
    for doc in earlier.documents:
        again = by_pdf.get(doc.pdf)
        if again is None:
            continue
        if doc.signed is not None and again["sha256"]["pdf"] == doc.sha256("pdf"):
            again["signed"] = doc.signed.data
        if doc.superseded:
            again["superseded"] = [*doc.superseded, *again.get("superseded", [])]
    made += [d.data for d in kept]
    return True


def earlier_kept(out: Path, made: set[str], earlier: Manifest | None) -> list[Listed]:
    """The documents the folder's manifest (``earlier``) lists that this run did not make
    (``made``: PDF names) and whose files are there with the bytes recorded for them, each
    with the ``input`` it came from."""
    if earlier is None:
        return []
    kept: dict[str, Listed] = {}
    for doc in earlier.documents:
        if not doc.pdf or doc.pdf in made or doc.pdf in kept or not _unchanged(out, doc):
            continue
        kept[doc.pdf] = Listed({**doc.data, "input": doc.data.get("input", earlier.input)})
    return list(kept.values())


def _unchanged(out: Path, doc: Listed) -> bool:
    """Whether the entry's DOCX and PDF are in ``out`` with the bytes recorded for them."""
    for kind in ("docx", "pdf"):
        name, recorded = doc.data.get(kind), doc.sha256(kind)
        if not isinstance(name, str) or Path(name).name != name or recorded is None:
            return False
        try:
            if sha256((out / name).read_bytes()) != recorded:
                return False
        except (OSError, ValueError):
            return False
    return True


def holds_finals(out: Path, earlier: Manifest | None) -> bool:
    """Whether the folder holds final documents an earlier run made (its manifest,
    ``earlier``, lists them and their PDFs are there): a draft run's review then goes beside
    theirs, not over it."""
    listed = earlier.documents if earlier is not None else []
    return any(d.pdf and not d.is_draft and (out / d.pdf).is_file() for d in listed)


def is_draft(doc: dict[str, Any]) -> bool:
    """A manifest entry (as written) of a ``--draft`` document."""
    return Listed(doc).is_draft


def manifest_of(options: GenerateOptions, plan: Plan, result: GenerateResult) -> Any:
    review: dict[str, Any] = {}
    if result.review is not None:
        r = result.review
        files = [
            r.summary_html,
            r.summary_csv,
            r.summary_xlsx,
            r.totals_csv,
            r.form4_csv,
            *r.packet_pdfs,
            r.board_consent_docx,
            r.board_consent_pdf,
        ]
        review = {
            "files": [str(f.relative_to(result.out)) for f in files if f and f.is_file()],
            "deviations": r.deviation_count,
            "problems": r.problems,
        }
    return {
        "generator": f"grantgen {__version__}",
        "input": options.grants.name,
        "plan": plan.id,
        "officer": plan.company.officer.name,
        "draft": options.draft,
        "documents": [d.as_dict() for d in result.documents],
        "errors": result.errors,
        "warnings": result.warnings,
        REVIEW_KEYS[options.draft]: review,
    }


REVIEW_KEYS = {False: "review", True: "draft_review"}
"""The manifest's description of the review files: the final documents', the drafts'."""


def describe_folder(
    out: Path, manifest: dict[str, Any], draft: bool, earlier: Manifest | None
) -> None:
    """Make ``manifest`` (this run's, its documents merged with the earlier ones) describe the
    folder: ``draft`` only when it holds no final document, and the review files of the other
    kind than this run's (``review`` / ``draft_review``) as the earlier manifest listed them,
    while they are there."""
    documents = manifest["documents"]
    manifest["draft"] = all(is_draft(d) for d in documents) if documents else draft
    other = REVIEW_KEYS[not draft]
    kept = earlier.review(other) if earlier is not None else None
    mine = set((manifest.get(REVIEW_KEYS[draft]) or {}).get("files", []))
    if isinstance(kept, dict) and isinstance(kept.get("files"), list):
        files = [  # (a final run replaces the review files a folder of drafts had)
            f for f in kept["files"] if isinstance(f, str) and (out / f).is_file() and f not in mine
        ]
        if files:
            manifest[other] = {**kept, "files": files}
