"""The stages wired together: the one place that knows their order.

grants.csv ─► checking (reading, the plan's rules, prices, ledger) ─► making: render (DOCX),
convert (PDF), assemble (packets) ─► publishing (ledger, then files) ─► reviewing
─► manifest.json (publishing.listing)
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from generator.assembling.reviewpacket import PACKET_VOLUME, PacketPages
from generator.checking.checkbatch import Checked as Checked
from generator.checking.checkbatch import check_batch as check_batch
from generator.checking.checkbatch import kit_reading as kit_reading
from generator.checking.findings import ERROR, WARNING
from generator.comparing.deviations import Deviation, enforce
from generator.converting.converter import Converter
from generator.core.errors import OutputError, PlanError, StrictError
from generator.core.layout import foreign_folder
from generator.core.output import folder_lock, prepare_out, work_dir
from generator.kitchecks.templatecheck import load_templates
from generator.making.batch import GenerateOptions as GenerateOptions
from generator.making.batch import GenerateResult as GenerateResult
from generator.making.documents import PDF_DIR, Progress, make_documents
from generator.publishing.listing import earlier_kept, holds_finals, write_manifest
from generator.publishing.publish import publish
from generator.reviewing.consent import PendingConsent, start_consent
from generator.reviewing.review import write_review
from generator.reviewing.reviewbatch import expected_consent, review_batch
from generator.terms.kit import Kit, resolve_kit
from generator.terms.manifest import Manifest
from generator.terms.planmodel import sample_officer, samples_accepted


def _noop(stage: str, done: int, total: int) -> None:
    pass


def generate(options: GenerateOptions, progress: Progress = _noop) -> GenerateResult:
    """The batch checked, then its documents made, published (files and ledger together) and
    reviewed into ``options.out``, and the manifest written last; the folder is held for the
    whole run (:func:`generator.core.output.folder_lock`)."""
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
        options.grants, options.plan, options.prices, options.ledger, documents=True,
        read=options.read, templates=options.templates, consent_date=options.consent_date,
    )  # fmt: skip
    kit = _ready(options, checked)
    created = not options.out.exists()  # made by this run: removed again if left empty
    result = GenerateResult(out=prepare_out(options.out), draft=options.draft)
    with contextlib.ExitStack() as held:
        if created:  # the folder this run made: held from now on
            held.enter_context(folder_lock(result.out))
        try:
            _run_stages(options, progress, checked, kit, result)
        except BaseException:
            if created:  # a refused --strict batch, LibreOffice missing, Ctrl-C
                with contextlib.suppress(OSError):
                    result.out.rmdir()  # only if nothing is left in it
            raise
    result.seconds = time.monotonic() - started
    return result


def _ready(options: GenerateOptions, checked: Checked) -> Kit:
    """The batch's kit, once nothing refuses the batch before anything is made: a kit whose
    pieces disagree, warnings under ``--strict``, a sample signing officer on final
    documents, a template that does not check."""
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
    if not checked.todo:
        # nothing to make: the templates are checked all the same (with grants to make, they
        # are loaded once LibreOffice has started)
        load_templates(options.templates, plan)
    return kit


def _run_stages(
    options: GenerateOptions,
    progress: Progress,
    checked: Checked,
    kit: Kit,
    result: GenerateResult,
) -> None:
    """The stages in order inside one run (:class:`_Run`: the work folder, LibreOffice and
    the clean-up): the documents made and published, the review written, then the
    manifest."""
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
        raise
    write_manifest(options, kit, result, run.earlier)


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
        self.todo = checked.todo
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
        result.left_before = earlier_kept(
            result.out, {d.pdf for d in result.documents}, self.earlier
        )
        same_kind = [d for d in result.left_before if d.is_draft == options.draft]
        # a final run that made nothing leaves a folder of drafts their review files
        drafts_only = not options.draft and not result.documents and not same_kind
        drafts_kept = drafts_only and any(d.is_draft for d in result.left_before)
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
                write_manifest(self.options, self.kit, self.result, self.earlier)


def _exhibit(kit: Kit) -> Path | None:
    """The filed exhibit the bundled example's agreements are compared with (None: the
    kit's approved forms, compared as the documents were made)."""
    return next((f.exhibit for f in kit.forms.values() if f.exhibit is not None), None)


def _cannot_write(exc: OSError, work: Path) -> OutputError:
    """The error for a file the documents stage could not write (a full disk)."""
    where = exc.filename2 or exc.filename or work  # a copy: its target
    return OutputError(f"cannot write {where}: {exc.strerror or exc}")
