"""What a run is asked to do and what it made: the records the stages pass on (the options of
``generate``, the documents made as the manifest lists them, the review's view of the batch
and what it wrote, the run's result). The checked batch is
:class:`generator.checking.checkbatch.Checked`. The stages take these and return them; only
:mod:`generator.pipeline` runs the stages in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from generator.comparing.deviations import Deviation
from generator.core.layout import manifest_path
from generator.reading.columns import ReadOptions
from generator.terms.manifest import Listed
from generator.terms.planmodel import Plan

Status = Literal["generated", "refused", "failed", "draft"]


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
    accept_samples: bool = False
    """Make final documents although the plan file marks its signing officer as a sample."""
    consent_date: date | None = None
    """The date the Board consent is dated and effective; a grant dated before it is refused.
    None: the batch's first grant date."""
    jobs: int = 0
    """LibreOffice workers; the number of cores when 0."""
    timeout: float = 120.0
    """Seconds one LibreOffice start may take, before the per-document allowance."""
    read: ReadOptions = field(default_factory=ReadOptions)
    """Sheet, header mapping and row selection for the grants file."""
    review: bool = True
    """Make ``review/`` (summaries, review packet, Board consent); off for ``preview``."""


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
    plan_copy: str = ""
    """sha256 of the source of the Plan copy in the packets (its rendered DOCX, or the PDF)."""
    already: int = 0
    """Of ``documents``, those an earlier run made and recorded in the ledger: written again
    as they were, not counted again."""
    left_before: list[Listed] | None = None
    """Manifest entries of the documents an earlier run left in the folder that this one did
    not make (their files unchanged): still listed, and in the review."""

    @property
    def manifest(self) -> Path:
        return manifest_path(self.out)

    @property
    def refused_rows(self) -> int:
        return len({e["row"] for e in self.errors if e.get("row") is not None})


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
    superseded: list[dict[str, Any]] = field(default_factory=list)
    """Records of signed copies of the packet this one replaced, moved to ``superseded/``."""
    grant_date: str = ""
    """The grant's terms (ISO date, whole shares, the price as given): a later run of part of
    the batch describes this document in its review and Board consent from them."""
    shares: int = 0
    exercise_price: str = ""
    vesting: str = ""
    """The grant's vesting in one line (:func:`generator.terms.vesting.one_line`)."""
    award_type: str = "option"
    installments: list[dict[str, Any]] = field(default_factory=list)
    """Each installment: ``{"date": ISO date, "shares": number}``."""

    def as_dict(self) -> dict[str, Any]:
        extra = {"superseded": self.superseded} if self.superseded else {}
        return {
            "grant_id": self.grant_id,
            "participant": self.participant,
            "grant_date": self.grant_date,
            "shares": self.shares,
            "exercise_price": self.exercise_price,
            "row": self.row,
            "docx": self.docx,
            "pdf": self.pdf,
            "sha256": self.sha256,
            "final_exercise_date": self.final_exercise_date,
            "price_source": self.price_source,
            "findings": self.findings,
            "plan_copy": self.plan_copy,
            "award_type": self.award_type,
            "vesting": self.vesting,
            "installments": self.installments,
            **extra,
        }


@dataclass(frozen=True)
class ReviewGrant:
    """One grant of the batch as the review shows it."""

    row: int
    grant_id: str
    participant: str
    grant_date: date | None
    """None (and the shares and price too) for a row refused because it could not be read."""
    shares: int | None
    exercise_price: Decimal | None
    price_source: str
    """Where the exercise price was checked from (e.g. ``close on grant date 2005-05-16``)."""
    final_exercise_date: date | None
    status: Status
    findings: list[dict[str, object]]
    """Every finding for the grant: row, column, grant_id, rule, section, severity, message."""
    docx: Path | None = None
    """The agreement DOCX (absolute, or relative to the batch folder)."""
    pdf: Path | None = None
    """The signature packet PDF (absolute, or relative to the batch folder)."""
    deviations: tuple[Deviation, ...] | None = None
    """An earlier run's document: its deviations from the form as the manifest recorded them
    (its DOCX is unchanged), so they are not worked out again; None: not recorded."""
    vesting: str = ""
    """Its vesting in one line (the schedule and its installments)."""
    award_type: str = "option"
    first_vests: date | None = None
    """The day its first installment vests (None: not known, or all at once)."""

    @property
    def valid(self) -> bool:
        """Made (a final document or a draft): on the consent and in the packet."""
        return self.status in ("generated", "draft")


@dataclass(frozen=True)
class ReviewBatch:
    """A batch as the review shows it."""

    out: Path
    """The batch folder; the review goes to ``out/review/``."""
    plan: Plan
    grants: list[ReviewGrant]
    reserve: int
    """Section 4(a) reserve (after Section 8 adjustments)."""
    available_before: int
    available_after: int
    draft: bool
    findings: list[dict[str, object]] = field(default_factory=list)
    """Findings not about a grant listed: batch-level ones, rows that could not be read."""
    untermed: int = 0
    """Documents listed from an earlier run whose terms the manifest does not record (made by
    an earlier grantgen): not in the consent."""
    already_recorded: int = 0
    """Shares of grants made again that the ledger had already (a rerun): in "available
    before", not taken again."""
    consent_date: date | None = None
    """The Board consent's stated date (None: the first grant date)."""
    beside_finals: bool = False
    """A draft batch in a folder that holds final documents: its review files are named
    ``*.draft.*`` and go beside the final review, never over it."""


@dataclass
class ReviewResult:
    """What :func:`write_review` wrote, and the deviations it found."""

    folder: Path
    summary_html: Path
    summary_csv: Path
    summary_xlsx: Path
    totals_csv: Path
    """The batch's totals (``totals.csv``)."""
    form4_csv: Path | None = None
    """The Form 4 values of each grant made (``form4.csv``), when the plan's participants
    are Section 16 reporting persons."""
    packet_pdfs: list[Path] = field(default_factory=list)
    """``packet.pdf``, or its volumes in order; empty when no packet was made."""
    board_consent_docx: Path | None = None
    """None when no grant was made."""
    board_consent_pdf: Path | None = None
    deviations: dict[str, list[Deviation]] = field(default_factory=dict)
    """By grant id, for every agreement compared (empty lists included)."""
    problems: list[str] = field(default_factory=list)
    """What could not be made (e.g. the consent PDF), in sentences."""

    @property
    def deviation_count(self) -> int:
        return sum(len(v) for v in self.deviations.values())
