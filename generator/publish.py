"""The publish stage: a batch's grants recorded in the ledger and its files moved into place,
and the manifest that lists them.

Files are staged in the work folder; for a final batch the grants are recorded first and the
files renamed into ``DIR`` after, so a crash in between leaves shares held for documents a
rerun makes, never a packet the ledger does not count; a failed move takes the grants out
again. A grant's
existing files are protected: other content is not replaced without ``--force``; the same
agreement (same DOCX) keeps the PDF already there. ``manifest.json`` describes the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .documents import Staged
from .errors import OutputError
from .ledger import Entry, Ledger, Recorded, ledger_path
from .output import safe_stem, sha256
from .plan import Plan
from .rules import ERROR, Finding

if TYPE_CHECKING:
    from .pipeline import Checked, GenerateOptions, GenerateResult


@dataclass(frozen=True)
class Document:
    """One grant's generated files, as the manifest lists them."""

    grant_id: str
    participant: str
    row: int
    docx: str
    pdf: str
    sha256: dict[str, str]
    final_exercise_date: str
    price_source: str
    findings: list[dict[str, object]]
    plan_copy: str = ""
    """sha256 of the source of the Plan copy the packet carries."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "participant": self.participant,
            "row": self.row,
            "docx": self.docx,
            "pdf": self.pdf,
            "sha256": self.sha256,
            "final_exercise_date": self.final_exercise_date,
            "price_source": self.price_source,
            "findings": self.findings,
            "plan_copy": self.plan_copy,
        }


def publish(
    staged: list[Staged], checked: Checked, options: GenerateOptions, result: GenerateResult
) -> None:
    """Move the files into place; for a final batch, right after the ledger records them."""
    plan, report = checked.plan, checked.report
    used: set[str] = set()
    names = {
        s.record.grant_id: safe_stem(s.record.grant_id, used) + (".draft" if options.draft else "")
        for s in staged
    }
    by_id = {s.record.grant_id: s for s in staged}
    placed: list[Path] = []  # files this run created (not ones it replaced with equal bytes)

    keep: dict[str, str] = {}  # grant id -> sha256 of its PDF on disk, kept
    if not options.force:
        refused, keep = _overwrites(
            staged, names, result.out, copies=_earlier_plan_copies(result.out), now=result.plan_copy
        )
        for grant_id, reason in refused.items():
            rec = by_id.pop(grant_id).record
            result.errors.append(
                Finding(rec.row, grant_id, "overwrite", "output", ERROR, reason).as_dict()
            )
        staged = [s for s in staged if s.record.grant_id in by_id]

    def move(ids: list[str]) -> None:
        for grant_id in ids:
            s = by_id[grant_id]
            stem = names[grant_id]
            moves = [(s.docx, result.out / f"{stem}.docx")]
            if grant_id in keep:  # the same agreement is on disk already: its PDF stays
                s.pdf.unlink(missing_ok=True)
                s = replace(s, pdf_hash=keep[grant_id])
            else:
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
                    findings=[
                        f.as_dict()
                        for f in report.findings
                        if f.row == s.record.row and f.rule != "already-recorded"
                    ],
                    plan_copy=result.plan_copy,
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


def _earlier_plan_copies(out: Path) -> dict[str, str]:
    """The Plan copy each packet of the folder carries, as its manifest recorded (by PDF name;
    a manifest of an earlier version records none)."""
    try:
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {
            str(d["pdf"]): str(d["plan_copy"])
            for d in data["documents"]
            if isinstance(d, dict) and d.get("plan_copy") and d.get("pdf")
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _overwrites(
    staged: list[Staged],
    names: dict[str, str],
    out: Path,
    *,
    copies: dict[str, str] | None = None,
    now: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """Grants whose final files exist with other content, or that have a signed copy whose
    original would change: these are not replaced without --force. And the grants whose DOCX
    is unchanged but whose PDF is not byte for byte the one on disk: the same agreement
    converted in other company (LibreOffice's embedded font subsets depend on the other
    agreements converted with it); their PDF on disk is kept (grant id -> its sha256)."""
    found: dict[str, str] = {}
    keep: dict[str, str] = {}
    for s in staged:
        stem = names[s.record.grant_id]
        docx, pdf = out / f"{stem}.docx", out / f"{stem}.pdf"
        same_docx = docx.exists() and sha256(docx.read_bytes()) == s.docx_hash
        carried = (copies or {}).get(pdf.name)
        plan_changed = bool(carried) and carried != now  # its Plan copy is another
        other = None
        if docx.exists() and not same_docx:
            other = docx
        elif pdf.exists() and (on_disk := sha256(pdf.read_bytes())) != s.pdf_hash:
            if same_docx and not plan_changed:
                keep[s.record.grant_id] = on_disk
            else:
                other = pdf
        if other is not None:
            why = " (the copy of the Plan it carries changed)" if plan_changed else ""
            found[s.record.grant_id] = (
                f"{other.name} already exists with other content{why}; final documents are "
                "not replaced without --force"
            )
            continue
        signed = out / f"{stem}.signed.pdf"
        if signed.exists() and not pdf.exists():
            found[s.record.grant_id] = (
                f"{signed.name} exists (a signed copy); its original is not replaced "
                "without --force"
            )
    return found, keep


def _sync_dir(folder: Path) -> None:
    """Flush the folder's entries (the renames) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def merge_earlier(out: Path, made: list[dict[str, Any]]) -> None:
    """Keep what the folder's previous manifest.json knew: a document this run made again with
    the same PDF keeps its ``signed`` record (from ``grantgen sign``), and the documents an
    earlier run left that this run did not make stay listed (with the input they came from)
    while their files are there with the bytes recorded for them."""
    try:
        earlier = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        listed = earlier["documents"]
        source = earlier.get("input")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    by_pdf = {d["pdf"]: d for d in made}  # a grant's draft and final files are two documents
    for doc in listed if isinstance(listed, list) else []:
        try:
            again = by_pdf.get(doc["pdf"])
            if again is not None:
                if "signed" in doc and again["sha256"]["pdf"] == doc["sha256"]["pdf"]:
                    again["signed"] = doc["signed"]
                continue
            for kind in ("docx", "pdf"):
                name = doc[kind]
                if Path(name).name != name:
                    raise ValueError(name)
                if sha256((out / name).read_bytes()) != doc["sha256"][kind]:
                    raise ValueError(name)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        by_pdf[doc["pdf"]] = {**doc, "input": doc.get("input", source)}
        made.append(by_pdf[doc["pdf"]])


def manifest_of(options: GenerateOptions, plan: Plan, result: GenerateResult) -> Any:
    review: dict[str, Any] = {}
    if result.review is not None:
        r = result.review
        files = [
            r.summary_html,
            r.summary_csv,
            r.summary_xlsx,
            *r.packet_pdfs,
            r.board_consent_docx,
            r.board_consent_pdf,
        ]
        review = {
            "files": [str(f.relative_to(result.out)) for f in files if f is not None],
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
        "review": review,
    }
