"""The manifest a ``generate`` run writes (:func:`write_manifest`, last): this run's documents
with what the folder's earlier manifest knew of them (their signatures, their set-aside
copies), the documents an earlier run left there, and the review files of both kinds (final
and draft)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator import __version__
from generator.core.output import sha256
from generator.making.batch import GenerateOptions, GenerateResult
from generator.terms.kit import Kit, kit_record
from generator.terms.manifest import Listed, Manifest, forget_journal
from generator.terms.planmodel import Plan


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


def _row(doc: dict[str, Any]) -> int:
    row = doc.get("row")
    return row if isinstance(row, int) else 0


def write_manifest(
    options: GenerateOptions, kit: Kit, result: GenerateResult, earlier: Manifest | None
) -> None:
    """Write the folder's manifest.json: this run's documents, what the earlier manifest
    (``earlier``) knew of them, the documents an earlier run left, the run's errors and
    warnings, the review files and the kit; then forget a killed ``sign``'s journal, which
    the manifest now holds."""
    plan = kit.plan
    manifest = manifest_of(options, plan, result)
    manifest["kit"] = kit_record(kit)
    kept = result.left_before
    if kept is None:  # interrupted before the earlier documents were looked at
        kept = earlier_kept(result.out, {d.pdf for d in result.documents}, earlier)
    merged = merge_earlier(earlier, manifest["documents"], kept)
    # in the spreadsheet's order, whichever run made them (a partial rerun keeps the order)
    manifest["documents"].sort(key=lambda d: (_row(d), str(d.get("pdf", ""))))
    if result.review is not None:  # each agreement's deviations, for a later run's review
        found = result.review.deviations
        for doc in manifest["documents"]:
            if is_draft(doc) == options.draft and doc.get("grant_id") in found:
                doc["deviations"] = [d.as_dict() for d in found[doc["grant_id"]]]
    describe_folder(result.out, manifest, options.draft, earlier)
    Manifest(result.manifest, manifest).write()
    if merged:  # the manifest holds what a `sign` that was killed noted in its journal
        forget_journal(result.out)
