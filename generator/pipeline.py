"""The stages wired together: the one place that knows their order.

grants.csv ─► records ─► rules ─► render (DOCX) ─► convert (LibreOffice) ─► assemble (PDF)
                                                                             └► manifest.json
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .assemble import PacketInfo, assemble
from .convert import Converter
from .errors import ConvertError
from .output import prepare_out, safe_stem, sha256, work_dir, write_atomic, write_json
from .plan import load_plan
from .records import GrantRecord, read_grants
from .render import TemplateSet
from .resources import templates_dir
from .rules import ERROR, check

#: Called as progress(stage, done, total) while a batch runs.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerateOptions:
    """What ``grantgen generate`` was asked to do."""

    grants: Path
    """The grants spreadsheet."""
    out: Path
    """The output folder."""
    plan: Path | None = None
    """The plan file; the bundled ATG plan when None."""
    templates: Path | None = None
    """The templates folder; the bundled templates when None."""
    jobs: int = 0
    """LibreOffice workers; the number of cores when 0."""
    timeout: float = 120.0
    """Seconds one LibreOffice start may take, before the per-document allowance."""


@dataclass(frozen=True)
class Document:
    """One grant's generated files, as the manifest lists them."""

    grant_id: str
    participant: str
    row: int
    docx: str
    pdf: str
    sha256: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "participant": self.participant,
            "row": self.row,
            "docx": self.docx,
            "pdf": self.pdf,
            "sha256": self.sha256,
        }


@dataclass
class GenerateResult:
    """What a batch produced and what it refused."""

    out: Path
    documents: list[Document] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.json"

    @property
    def refused_rows(self) -> int:
        return len({e["row"] for e in self.errors if e.get("row") is not None})


def _noop(stage: str, done: int, total: int) -> None:
    pass


def generate(options: GenerateOptions, progress: Progress = _noop) -> GenerateResult:
    """Read, check, render, convert and assemble a batch; write the manifest last."""
    started = time.monotonic()
    plan = load_plan(options.plan)
    templates = TemplateSet(options.templates or templates_dir())
    grants = read_grants(options.grants)
    findings = check(grants.records, plan)
    refused = {f.row for f in findings if f.severity == ERROR}
    todo = [r for r in grants.records if r.row not in refused]

    result = GenerateResult(out=prepare_out(options.out), warnings=list(grants.warnings))
    result.errors += [e.as_dict() for e in grants.errors]
    result.errors += [f.as_dict() for f in findings if f.severity == ERROR]
    result.warnings += [str(f) for f in findings if f.severity != ERROR]

    if todo:
        with (
            Converter(options.jobs, timeout=options.timeout) as converter,
            work_dir(result.out) as work,
        ):
            _make_documents(todo, plan, templates, converter, work, result, progress)

    result.errors.sort(key=lambda e: e.get("row") or 0)
    result.documents.sort(key=lambda d: d.row)
    write_json(result.manifest, _manifest(options, plan.source, result))
    result.seconds = time.monotonic() - started
    return result


def _make_documents(
    todo: list[GrantRecord],
    plan: Any,
    templates: TemplateSet,
    converter: Converter,
    work: Path,
    result: GenerateResult,
    progress: Progress,
) -> None:
    total = len(todo)
    # render: one DOCX per grant, and the Plan once for the whole batch
    plan_docx = work / "plan.docx"
    plan_docx.write_bytes(templates.render_plan(plan))
    sources: list[Path] = []
    for i, record in enumerate(todo):
        source = work / f"g{i:06d}.docx"
        source.write_bytes(templates.render_grant(record, plan))
        sources.append(source)
        progress("render", i + 1, total)

    # convert: every DOCX to PDF with LibreOffice workers
    converted = 0

    def step(n: int) -> None:
        nonlocal converted
        converted += n
        progress("convert", min(converted, total), total)

    outcomes = converter.convert([plan_docx, *sources], work / "pdf", step)
    plan_pdf = outcomes[0].pdf
    if plan_pdf is None:
        raise ConvertError(f"the Plan document could not be converted: {outcomes[0].error}")
    plan_identity = sha256(plan_docx.read_bytes())

    # assemble: packet PDF with signature fields; both files moved into place atomically
    used: set[str] = set()
    for i, (record, source, outcome) in enumerate(zip(todo, sources, outcomes[1:], strict=True)):
        if outcome.pdf is None:
            result.errors.append(
                {
                    "row": record.row,
                    "column": None,
                    "grant_id": record.grant_id,
                    "rule": "convert",
                    "message": f"row {record.row}: the PDF could not be made: {outcome.error}",
                }
            )
            continue
        docx = source.read_bytes()
        docx_hash = sha256(docx)
        packet = assemble(
            outcome.pdf,
            plan_pdf,
            PacketInfo(
                title=f"Nonstatutory Stock Option Agreement: {record.participant}",
                author=plan.company.name,
                subject=f"Option grant under the {plan.name}, with the Participant's "
                "Acceptance and a copy of the Plan",
                keywords=f"grant_id={record.grant_id}; plan={plan.id}",
            ),
            identity=f"{docx_hash}|{plan_identity}",
        )
        stem = safe_stem(record.grant_id, used)
        write_atomic(result.out / f"{stem}.docx", docx)
        write_atomic(result.out / f"{stem}.pdf", packet)
        result.documents.append(
            Document(
                grant_id=record.grant_id,
                participant=record.participant,
                row=record.row,
                docx=f"{stem}.docx",
                pdf=f"{stem}.pdf",
                sha256={"docx": docx_hash, "pdf": sha256(packet)},
            )
        )
        progress("assemble", i + 1, total)


def _manifest(options: GenerateOptions, plan_source: str, result: GenerateResult) -> Any:
    return {
        "generator": f"grantgen {__version__}",
        "input": str(options.grants),
        "plan": plan_source,
        "documents": [d.as_dict() for d in result.documents],
        "errors": result.errors,
        "warnings": result.warnings,
    }
