"""The stages wired together: the one place that knows their order.

grants.csv ─► records ─► rules (+ plan, prices, ledger) ─► render (DOCX) ─► convert (PDF)
                                                              ─► assemble ─► publish + ledger
                                                                             └► manifest.json
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from generator.assembling.reviewpacket import PACKET_VOLUME, PacketPages
from generator.checking.batchcheck import check, parse_findings
from generator.checking.findings import ERROR, WARNING, Finding, Report
from generator.checking.ledger import Ledger, ledger_path
from generator.comparing.deviations import Deviation, enforce
from generator.converting.converter import Converter
from generator.core.errors import OutputError, PlanError, StrictError
from generator.core.layout import foreign_folder
from generator.core.output import folder_lock, prepare_out, work_dir
from generator.kitchecks.templatecheck import load_templates
from generator.making.batch import Checked as Checked
from generator.making.batch import GenerateOptions as GenerateOptions
from generator.making.batch import GenerateResult as GenerateResult
from generator.making.documents import PDF_DIR, Progress, make_documents
from generator.publishing.listing import (
    describe_folder,
    earlier_kept,
    holds_finals,
    is_draft,
    manifest_of,
    merge_earlier,
)
from generator.publishing.publish import publish
from generator.reading.columns import ReadOptions
from generator.reading.grantrecord import GrantRecord, ReadResult
from generator.reading.prices import load_prices
from generator.reading.records import read_grants
from generator.reviewing.consent import PendingConsent, start_consent
from generator.reviewing.review import write_review
from generator.reviewing.reviewbatch import expected_consent, review_batch
from generator.terms.kit import Kit, kit_record, resolve_kit
from generator.terms.manifest import Manifest, forget_journal
from generator.terms.plan import load_plan
from generator.terms.planmodel import Plan, sample_officer, samples_accepted


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
    templates: Path | None = None,
    consent_date: date | None = None,
) -> Checked:
    """Read the grants and run every rule against the plan, the prices and the ledger.

    Reads the ledger and writes nothing. ``documents``: also refuse awards the agreement form
    cannot document (only options have a form).
    """
    plan = load_plan(plan_path)
    table = load_prices(prices) if prices is not None else None
    rows = read_grants(grants, kit_reading(plan, read or ReadOptions()))
    with Ledger(ledger_path(ledger), create=False) as book:
        pool = book.pool(plan)

    def unformable(report: Report) -> list[Finding]:
        return _unformable(rows.records, report, plan, templates) if documents else []

    report = check(rows.records, plan, table, pool, unformable, consent=consent_date)
    report.findings[:0] = parse_findings(rows.errors, plan)
    report.findings += _file_findings(rows)
    report.findings.sort(key=lambda f: (f.row or 0, f.severity != ERROR))
    return Checked(plan, rows, report, table, consent_date)


def _unformable(
    records: Sequence[GrantRecord], report: Report, plan: Plan, templates: Path | None
) -> list[Finding]:
    """What the documents cannot be made for: characters no font has, awards the kit has
    no agreement form for."""
    out = _glyph_findings(records)
    refused = report.refused_rows | {f.row for f in out if f.severity == ERROR}
    forms = resolve_kit(plan, templates).forms
    for rec in records:
        if rec.award_type not in forms and rec.row not in refused:
            out.append(
                Finding(
                    rec.row,
                    rec.grant_id,
                    "agreement-form",
                    "—",  # the Plan may allow such awards; the kit has no form for them
                    ERROR,
                    f"the kit has no form for {rec.award_type} awards (its forms: "
                    f"{', '.join(forms) or 'none'}); add [forms.{rec.award_type}] with its "
                    f"template to the plan file {Path(plan.source).name}",
                    "award_type",
                )
            )
    return out


def _file_findings(rows: ReadResult) -> list[Finding]:
    """Warnings about the grants file itself: unknown columns (a misspelt one?), hidden
    columns and rows (their values go into the documents without anyone seeing them)."""
    found = [
        Finding(None, None, "unknown-column", "input", WARNING, warning)
        for warning in rows.warnings
    ]
    found += [
        Finding(
            None,
            None,
            "hidden-column",
            "input",
            WARNING,
            f"column {name!r} is hidden in the workbook and is read like the others: unhide "
            "it to see what goes into the documents",
            name,
        )
        for name in rows.hidden_columns
    ]
    ids = {r.row: r.grant_id for r in rows.records}
    found += [  # a row hidden by hand or by a filter is often a grant set aside
        Finding(
            row,
            ids.get(row),
            "hidden-row",
            "input",
            WARNING,
            "the row is hidden in the workbook and is read like the others: unhide it to "
            "check it is a grant to make (delete it if it is not)",
        )
        for row in rows.hidden
    ]
    return found


def kit_reading(plan: Plan, read: ReadOptions) -> ReadOptions:
    """How a kit reads its grants files: the headers its plan file says to leave unread, and
    the extra columns its templates print, added to the options given."""
    from dataclasses import replace

    from generator.reading.columns import IGNORED, normalise_header

    ignored = {normalise_header(h): IGNORED for h in plan.ignore_columns}
    return replace(read, mapping={**ignored, **read.mapping}, extra=plan.extra_columns)


def _glyph_findings(records: Sequence[GrantRecord]) -> list[Finding]:
    """Characters no installed font has: refused, naming the character, instead of a box."""
    from generator.rendering.fonts import DOCUMENT_FONTS, describe, missing_glyphs

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


def generate(options: GenerateOptions, progress: Progress = _noop) -> GenerateResult:
    """Check, render, convert, assemble; publish the files and record the ledger together,
    holding the output folder for the whole run (:func:`.output.folder_lock`)."""
    if options.out.is_dir():  # (a new folder is made, and held, once the checks are done)
        with folder_lock(options.out):
            why = None if options.force else foreign_folder(options.out)
            if why is not None:
                raise OutputError(
                    f"{options.out} is not a grantgen batch folder: {why}; generate into "
                    "another folder (--out), or give --force to write over its manifest.json "
                    "and review/"
                )
            return _generate(options, progress)
    return _generate(options, progress)


def _generate(options: GenerateOptions, progress: Progress) -> GenerateResult:
    started = time.monotonic()
    checked = check_batch(
        options.grants,
        options.plan,
        options.prices,
        options.ledger,
        documents=True,
        read=options.read,
        templates=options.templates,
        consent_date=options.consent_date,
    )
    plan, report = checked.plan, checked.report
    kit = resolve_kit(plan, options.templates)  # a kit whose pieces disagree: refused first
    if options.strict and report.count("warning"):
        raise StrictError([f for f in report.findings if f.severity != "note"])
    accepted = options.accept_samples or samples_accepted()
    if not options.draft and not accepted and (why := sample_officer(plan)):
        raise PlanError(
            plan.source,
            "company.officer",
            f"the signing officer {plan.company.officer.name!r} is a sample value ({why}), and "
            "final documents would name them: set [company.officer] to the officer the Board "
            "has authorised and take it out of [samples]; or make drafts (--draft), or give "
            "--accept-samples",
        )
    refused = report.refused_rows
    todo = [r for r in checked.grants.records if r.row not in refused]
    if not todo:  # checked all the same (with grants to make, once LibreOffice has started)
        load_templates(options.templates, plan)

    created = not options.out.exists()  # made by this run: removed again if left empty
    result = GenerateResult(out=prepare_out(options.out), draft=options.draft)
    with contextlib.ExitStack() as held:
        if created:  # the folder this run made: held from now on
            held.enter_context(folder_lock(result.out))
        return _made(options, progress, checked, kit, result, created, started)


def _made(
    options: GenerateOptions,
    progress: Progress,
    checked: Checked,
    kit: Kit,
    result: GenerateResult,
    created: bool,
    started: float,
) -> GenerateResult:
    """The documents of a checked batch made into ``result.out``: the stages in order, inside
    one run (:class:`_Run`: the work folder, LibreOffice and the clean-up)."""
    report = checked.report
    result.errors += [f.as_dict() for f in report.findings if f.severity == ERROR]
    result.warnings += [
        f.as_dict() for f in report.findings if f.severity == WARNING and f.row is None
    ]
    run = _Run(options, progress, checked, kit, result)
    try:
        with run:
            if run.todo:
                run.make_and_publish()
            run.review()
    except BaseException:
        run.salvage()
        if created:  # a refused --strict batch, LibreOffice missing, Ctrl-C
            with contextlib.suppress(OSError):
                result.out.rmdir()  # only if nothing is left in it
        raise
    _write_manifest(options, kit, result, run.earlier)
    result.seconds = time.monotonic() - started
    return result


class _Run:
    """One ``generate`` run over a checked batch, from the work folder to the review: what
    it holds (the work folder, LibreOffice), what the folder held before (its manifest, read
    once), and what each stage made. Entered, it makes the work folder; left, it stops
    LibreOffice (before the work folder goes: a conversion still writing into it would leave
    files behind) and removes the work folder."""

    def __init__(
        self,
        options: GenerateOptions,
        progress: Progress,
        checked: Checked,
        kit: Kit,
        result: GenerateResult,
    ) -> None:
        self.options, self.progress, self.checked, self.kit = options, progress, checked, kit
        self.result = result
        self.earlier = Manifest.earlier(result.out)  # read once: the folder is held
        refused = checked.report.refused_rows
        self.todo = [r for r in checked.grants.records if r.row not in refused]
        self.converter: Converter | None = None
        self.published = False
        self.deviations: dict[str, list[Deviation]] = {}
        self.pages: dict[str, tuple[Path, range]] = {}
        self.consent: PendingConsent | None = None
        # the review packet's pages are copied while the batch is made, when it can be one
        # volume (a larger batch's volumes are made after, one at a time)
        wanted = options.review and 0 < len(self.todo) <= PACKET_VOLUME
        self.copied = PacketPages() if wanted else None
        self._held = contextlib.ExitStack()
        self.work = Path()

    def __enter__(self) -> _Run:
        self.work = self._held.enter_context(work_dir(self.result.out))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        with self._held:  # the work folder goes last
            if self.converter is not None:
                self.converter.close(abort=error is not None)
                self.converter = None

    def make_and_publish(self) -> None:
        """Start LibreOffice (and the Board consent on it), make the documents, hold them to
        the approved form, then place them and record the grants."""
        options, checked = self.options, self.checked
        self.converter = Converter(options.jobs, timeout=options.timeout)
        self.converter.warm()  # LibreOffice starts while the documents are made ready
        self.consent = self._start_consent() if options.review else None
        templates = load_templates(options.templates, checked.plan)
        try:
            made = make_documents(
                self.todo, checked.plan, templates, self.converter, self.work, options,
                self.progress, self.copied,
            )  # fmt: skip
        except OSError as exc:  # a full disk while the documents are made
            raise _cannot_write(exc, self.work) from exc
        self.converter.rest()  # its LibreOffice sessions stop while the rest is done
        self.result.plan_copy = made.plan_copy
        self.result.errors += made.errors
        self.result.warnings += made.warnings
        self.deviations = made.deviations
        # deviations from the approved form: before anything is published or recorded
        enforce(
            self.deviations,
            strict=options.strict,
            draft=options.draft,
            accepted=options.accept_deviations,
        )
        self.pages = {s.record.grant_id: s.origin for s in made.staged}
        published = publish(made.staged, checked, options, made, self.earlier)
        self.result.documents += published.documents
        self.result.errors += published.errors
        self.result.already = published.already
        self.published = True

    def _start_consent(self) -> PendingConsent:
        """The Board's consent for the grants expected to be made, and those the folder holds
        already (the review describes them all): LibreOffice starts on it while the agreement
        templates are read and rendered."""
        assert self.converter is not None
        options = self.options
        expected = expected_consent(
            self.todo, self.earlier, self.checked.report, draft=options.draft
        )
        try:
            return start_consent(
                self.work, self.checked.plan, expected, templates=self.kit.consent,
                converter=self.converter, pdf_dir=self.work / PDF_DIR, draft=options.draft,
                dated=options.consent_date,
            )  # fmt: skip
        except OSError as exc:  # a full disk
            raise _cannot_write(exc, self.work) from exc

    def review(self) -> None:
        """Write the review of the folder (unless a final run that made nothing would write
        it over a folder of drafts' review)."""
        options, result = self.options, self.result
        result.errors.sort(key=lambda e: e.get("row") or 0)
        result.documents.sort(key=lambda d: d.row)
        result.earlier = earlier_kept(result.out, {d.pdf for d in result.documents}, self.earlier)
        same_kind = [d for d in result.earlier if d.is_draft == options.draft]
        # a final run that made nothing leaves a folder of drafts their review files
        drafts_only = not options.draft and not result.documents and not same_kind
        drafts_kept = drafts_only and any(d.is_draft for d in result.earlier)
        if drafts_kept and options.review:
            result.warnings.append(
                {
                    "row": None,
                    "rule": "review",
                    "message": "no final document was made, so the review files of "
                    "the drafts in review/ were left as they are",
                }
            )
        if not options.review or drafts_kept:
            return
        batch = review_batch(
            self.checked, result, same_kind,
            beside_finals=holds_finals(result.out, self.earlier),
        )  # fmt: skip
        uncompared = [w["message"] for w in result.warnings if w["rule"] == "approved-form"]
        result.review = write_review(
            batch, templates_dir=self.kit.consent, converter=self.converter,
            form_text=_exhibit(self.kit), deviations=self.deviations, pages=self.pages,
            early_consent=self.consent, copied=self.copied, uncompared=uncompared,
        )  # fmt: skip

    def salvage(self) -> None:
        """After a failure: when the documents were in place (and recorded) before it, the
        manifest lists them all the same."""
        if self.published:
            with contextlib.suppress(Exception):
                _write_manifest(self.options, self.kit, self.result, self.earlier)


def _exhibit(kit: Kit) -> Path | None:
    """The filed exhibit the bundled example's agreements are compared with (None: the
    kit's approved forms, compared as the documents were made)."""
    return next((f.exhibit for f in kit.forms.values() if f.exhibit is not None), None)


def _cannot_write(exc: OSError, work: Path) -> OutputError:
    """The error for a file the documents stage could not write (a full disk)."""
    where = exc.filename2 or exc.filename or work  # a copy: its target
    return OutputError(f"cannot write {where}: {exc.strerror or exc}")


def _row(doc: dict[str, Any]) -> int:
    row = doc.get("row")
    return row if isinstance(row, int) else 0


def _write_manifest(
    options: GenerateOptions, kit: Kit, result: GenerateResult, earlier: Manifest | None
) -> None:
    plan = kit.plan
    manifest = manifest_of(options, plan, result)
    manifest["kit"] = kit_record(kit)
    kept = result.earlier
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
