"""The stages wired together: the one place that knows their order.

grants.csv ─► records ─► rules (+ plan, prices, ledger) ─► render (DOCX) ─► convert (PDF)
                                                              ─► assemble ─► publish + ledger
                                                                             └► manifest.json
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from .consent import ConsentGrant, PendingConsent, start_consent
from .convert import Converter
from .deviations import Deviation, enforce
from .documents import PDF_DIR, Progress, Staged, make_documents
from .errors import GrantgenError, OutputError
from .ledger import Entry, Ledger, Recorded, ledger_path
from .output import prepare_out, safe_stem, sha256, work_dir, write_json
from .plan import Plan, load_plan
from .prices import PriceTable, load_prices
from .records import GrantRecord, ReadOptions, ReadResult, read_grants
from .resources import form_text, templates_dir
from .review import ReviewResult, review_batch, write_review
from .rules import ERROR, Finding, Report, check, parse_findings
from .templatecheck import load_templates


@dataclass(frozen=True)
class GenerateOptions:
    """What ``grantgen generate`` was asked to do."""

    grants: Path
    """The grants spreadsheet."""
    out: Path
    """The output folder."""
    plan: Path | None = None
    """The plan file; the bundled ATG plan when None."""
    prices: Path | None = None
    """The closing-price file for Section 5(b); prices go unchecked (a warning) when None."""
    ledger: Path | None = None
    """The share ledger; ``$GRANTGEN_LEDGER`` or ``grantgen-ledger.sqlite`` when None."""
    templates: Path | None = None
    """The templates folder; the bundled templates when None."""
    draft: bool = False
    """Drafts: DRAFT on every page, no signature fields, ``.draft`` names, no ledger."""
    force: bool = False
    """Replace final documents that exist with other content."""
    strict: bool = False
    """Refuse the batch when the checks give warnings, or when a final batch's agreements
    deviate from the approved form."""
    accept_deviations: bool = False
    """Counsel approved the deviations: let a --strict batch finish with them."""
    jobs: int = 0
    """LibreOffice workers; the number of cores when 0."""
    timeout: float = 120.0
    """Seconds one LibreOffice start may take, before the per-document allowance."""
    read: ReadOptions = field(default_factory=ReadOptions)
    """Sheet, header mapping and row selection for the grants file."""


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
        }


@dataclass
class GenerateResult:
    """What a batch produced and what it refused."""

    out: Path
    draft: bool = False
    documents: list[Document] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    review: ReviewResult | None = None
    """What was written to ``out/review/``."""

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.json"

    @property
    def refused_rows(self) -> int:
        return len({e["row"] for e in self.errors if e.get("row") is not None})


@dataclass
class Checked:
    """A batch read and checked: what ``validate`` reports and ``generate`` starts from."""

    plan: Plan
    grants: ReadResult
    report: Report
    prices: PriceTable | None

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    def summary(self) -> dict[str, Any]:
        pool = self.report.pool
        assert pool is not None
        refused = self.report.refused_rows
        rows = {r.row for r in self.grants.records} | {e.row for e in self.grants.errors}
        return {
            "grants": len(rows),
            "ok": len(rows - refused),
            "refused": len(refused),
            "errors": self.report.count(ERROR),
            "warnings": self.report.count("warning"),
            "notes": self.report.count("note"),
            "reserve": pool.reserve,
            "used_before": pool.used,
            "available_before": pool.available,
            "batch_shares": self.report.batch_shares,
            "available_after": pool.available - self.report.batch_shares,
            "non_option_cap": pool.non_option_cap,
            "non_option_available_before": pool.non_option_available,
        }


def _noop(stage: str, done: int, total: int) -> None:
    pass


def check_batch(
    grants: Path,
    plan_path: Path | None = None,
    prices: Path | None = None,
    ledger: Path | None = None,
    *,
    documents: bool = False,
    read: ReadOptions | None = None,
) -> Checked:
    """Read the grants and run every rule against the plan, the prices and the ledger.

    Reads the ledger and writes nothing. ``documents``: also refuse awards the agreement form
    cannot document (only options have a form).
    """
    plan = load_plan(plan_path)
    table = load_prices(prices) if prices is not None else None
    rows = read_grants(grants, read)
    with Ledger(ledger_path(ledger), create=False) as book:
        pool = book.pool(plan)
    report = check(rows.records, plan, table, pool)
    report.findings[:0] = parse_findings(rows.errors, plan)
    if documents:
        report.findings += _glyph_findings(rows.records)
        for rec in rows.records:
            if rec.award_type not in plan.option_types and rec.row not in report.refused_rows:
                report.findings.append(
                    Finding(
                        rec.row,
                        rec.grant_id,
                        "agreement-form",
                        "Plan Section 5",
                        ERROR,
                        f"the agreement form documents options only; a {rec.award_type} award "
                        "needs another form",
                        "award_type",
                    )
                )
    report.findings.sort(key=lambda f: (f.row or 0, f.severity != ERROR))
    return Checked(plan, rows, report, table)


def _glyph_findings(records: list[GrantRecord] | tuple[GrantRecord, ...]) -> list[Finding]:
    """Characters no installed font has: refused, naming the character, instead of a box."""
    from .fonts import DOCUMENT_FONTS, describe, missing_glyphs

    out = []
    for rec in records:
        for column, text in (("participant", rec.participant), ("address", " ".join(rec.address))):
            missing = missing_glyphs(text)
            if missing:
                chars = ", ".join(describe(c) for c in missing)
                out.append(
                    Finding(
                        rec.row,
                        rec.grant_id,
                        "glyph",
                        "input",
                        ERROR,
                        f"{chars}: neither {DOCUMENT_FONTS[0]} ({DOCUMENT_FONTS[1]}) nor any "
                        "installed font has this character, so the PDF could not show it "
                        "(install a font that has it, e.g. fonts-noto-core, or correct the value)",
                        column,
                    )
                )
    return out


class StrictError(GrantgenError):
    """Raised when ``--strict`` finds warnings: nothing is generated."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        listed = "".join(f"\n  {f.severity}: {f}" for f in findings)
        super().__init__(f"--strict: warnings found; nothing was generated{listed}")


def generate(options: GenerateOptions, progress: Progress = _noop) -> GenerateResult:
    """Check, render, convert, assemble; publish the files and record the ledger together."""
    started = time.monotonic()
    checked = check_batch(
        options.grants,
        options.plan,
        options.prices,
        options.ledger,
        documents=True,
        read=options.read,
    )
    plan, report = checked.plan, checked.report
    if options.strict and report.count("warning"):
        raise StrictError([f for f in report.findings if f.severity != "note"])
    templates = load_templates(options.templates or templates_dir(), plan)
    refused = report.refused_rows
    todo = [r for r in checked.grants.records if r.row not in refused]

    result = GenerateResult(out=prepare_out(options.out), draft=options.draft)
    result.warnings += [{"row": None, "message": w} for w in checked.grants.warnings]
    result.errors += [f.as_dict() for f in report.findings if f.severity == ERROR]
    result.warnings += [
        f.as_dict() for f in report.findings if f.severity == "warning" and f.row is None
    ]

    converter: Converter | None = None
    deviations: dict[str, list[Deviation]] = {}
    try:
        with work_dir(result.out) as work:
            pages: dict[str, tuple[Path, range]] = {}
            early: PendingConsent | None = None
            if todo:
                converter = Converter(options.jobs, timeout=options.timeout)
                conv = converter

                def consent_meanwhile() -> None:
                    # the Board's consent for the grants expected to be made converts meanwhile
                    nonlocal early
                    early = start_consent(
                        work,
                        plan,
                        [
                            ConsentGrant(r.participant, r.shares, r.exercise_price, r.grant_date)
                            for r in todo
                        ],
                        templates=options.templates or templates_dir(),
                        converter=conv,
                        pdf_dir=work / PDF_DIR,
                        draft=options.draft,
                    )

                staged = make_documents(
                    todo,
                    plan,
                    templates,
                    converter,
                    work,
                    options,
                    result,
                    progress,
                    deviations,
                    consent_meanwhile,
                )
                # deviations from the approved form: before anything is published or recorded
                enforce(
                    deviations,
                    strict=options.strict,
                    draft=options.draft,
                    accepted=options.accept_deviations,
                )
                pages = {s.record.grant_id: s.origin for s in staged}
                _publish(staged, checked, options, result)
            result.errors.sort(key=lambda e: e.get("row") or 0)
            result.documents.sort(key=lambda d: d.row)
            result.review = write_review(
                review_batch(checked, result),
                templates_dir=options.templates or templates_dir(),
                converter=converter,
                form_text=form_text(),
                deviations=deviations,
                pages=pages,
                early_consent=early,
            )
    finally:
        if converter is not None:
            converter.close()
    manifest = _manifest(options, plan, result)
    _merge_earlier(result.out, manifest["documents"])
    write_json(result.manifest, manifest)
    result.seconds = time.monotonic() - started
    return result


def _publish(
    staged: list[Staged], checked: Checked, options: GenerateOptions, result: GenerateResult
) -> None:
    """Move the files into place; for a final batch, inside the ledger transaction."""
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
        refused, keep = _overwrites(staged, names, result.out)
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
            s.record.award_type in plan.option_types,
            report.facts[s.record.row].final_exercise_date,
            f"generate {options.grants.name}",
        )
        for s in staged
    ]

    def publish(rec: Recorded) -> None:
        os.sync()  # the staged files reach the disk before they are renamed into place
        move(rec.added + rec.already)
        _sync_dir(result.out)

    try:
        with Ledger(ledger_path(options.ledger)) as book:
            # the files are moved into place inside the ledger transaction: if a move fails
            # (disk full, folder gone), the transaction rolls back and the files placed so
            # far are taken away again, so the ledger and the folder agree
            recorded = book.record(plan, entries, publish)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        result.documents.clear()
        raise
    for grant_id, reason in recorded.refused.items():
        rec = by_id[grant_id].record
        result.errors.append(
            Finding(rec.row, grant_id, "ledger", "ledger", ERROR, reason, "grant_id").as_dict()
        )


def _overwrites(
    staged: list[Staged], names: dict[str, str], out: Path
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
        other = None
        if docx.exists() and not same_docx:
            other = docx
        elif pdf.exists() and (on_disk := sha256(pdf.read_bytes())) != s.pdf_hash:
            if same_docx:
                keep[s.record.grant_id] = on_disk
            else:
                other = pdf
        if other is not None:
            found[s.record.grant_id] = (
                f"{other.name} already exists with other content; final documents are not "
                "replaced without --force"
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


def _merge_earlier(out: Path, made: list[dict[str, Any]]) -> None:
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
    by_id = {d["grant_id"]: d for d in made}
    for doc in listed if isinstance(listed, list) else []:
        try:
            again = by_id.get(doc["grant_id"])
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
        by_id[doc["grant_id"]] = {**doc, "input": doc.get("input", source)}
        made.append(by_id[doc["grant_id"]])


def _manifest(options: GenerateOptions, plan: Plan, result: GenerateResult) -> Any:
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
        "draft": options.draft,
        "documents": [d.as_dict() for d in result.documents],
        "errors": result.errors,
        "warnings": result.warnings,
        "review": review,
    }
