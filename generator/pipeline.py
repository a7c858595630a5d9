"""The stages wired together: the one place that knows their order.

grants.csv ─► records ─► rules (+ plan, prices, ledger) ─► render (DOCX) ─► convert (PDF)
                                                              ─► assemble ─► publish + ledger
                                                                             └► manifest.json
"""

from __future__ import annotations

import contextlib
import re
import time
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
from generator.core.layout import REVIEW_DIR, manifest_path
from generator.core.output import folder_lock, prepare_out, work_dir
from generator.kitchecks.templatecheck import load_templates
from generator.making.batch import Checked as Checked
from generator.making.batch import GenerateOptions as GenerateOptions
from generator.making.batch import GenerateResult as GenerateResult
from generator.making.documents import PDF_DIR, Progress, make_documents
from generator.publishing.publish import (
    describe_folder,
    earlier_kept,
    holds_finals,
    is_draft,
    manifest_of,
    merge_earlier,
    publish,
)
from generator.reading.columns import ReadOptions
from generator.reading.grantrecord import GrantRecord
from generator.reading.prices import load_prices
from generator.reading.records import read_grants
from generator.reviewing.consent import ConsentGrant, PendingConsent, start_consent
from generator.reviewing.review import earlier_grant, review_batch, write_review
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
        """What the documents cannot be made for: characters no font has, awards the
        agreement form does not document."""
        if not documents:
            return []
        out = _glyph_findings(rows.records)
        refused = report.refused_rows | {f.row for f in out if f.severity == ERROR}
        forms = resolve_kit(plan, templates).forms
        for rec in rows.records:
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

    report = check(rows.records, plan, table, pool, unformable, consent=consent_date)
    report.findings[:0] = parse_findings(rows.errors, plan)
    report.findings += [  # about the file: an unknown column may be a misspelt one
        Finding(None, None, "unknown-column", "input", WARNING, warning)
        for warning in rows.warnings
    ]
    report.findings += [  # its values go into the documents without anyone seeing them
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
    report.findings += [  # a row hidden by hand or by a filter is often a grant set aside
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
    report.findings.sort(key=lambda f: (f.row or 0, f.severity != ERROR))
    return Checked(plan, rows, report, table, consent_date)


def kit_reading(plan: Plan, read: ReadOptions) -> ReadOptions:
    """How a kit reads its grants files: the headers its plan file says to leave unread, and
    the extra columns its templates print, added to the options given."""
    from dataclasses import replace

    from generator.reading.columns import IGNORED, normalise_header

    ignored = {normalise_header(h): IGNORED for h in plan.ignore_columns}
    return replace(read, mapping={**ignored, **read.mapping}, extra=plan.extra_columns)


def _glyph_findings(records: list[GrantRecord] | tuple[GrantRecord, ...]) -> list[Finding]:
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


def foreign_folder(out: Path) -> str | None:
    """Why ``out`` holds someone else's files that a batch would overwrite (a
    ``manifest.json`` grantgen did not write, a ``review/`` folder without a batch), or None
    when it is a batch folder, or holds neither."""
    import json

    manifest = manifest_path(out)
    if manifest.exists() or manifest.is_symlink():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "its manifest.json is not one grantgen wrote (it is not JSON)"
        made_by = data.get("generator") if isinstance(data, dict) else None
        if not (isinstance(made_by, str) and made_by.startswith("grantgen")):
            return "its manifest.json is not one grantgen wrote"
        return None
    review = out / REVIEW_DIR
    if review.is_dir() and not review.is_symlink():
        # a first run killed before its manifest leaves review files of grantgen's names:
        # a rerun takes them over; a file of another name is someone's own
        theirs = sorted(p.name for p in review.iterdir() if not _REVIEW_FILE.fullmatch(p.name))
        if theirs:
            return f"its review/ folder holds {theirs[0]!r}, not a file of a grantgen review"
    return None


#: The names of the files a review folder of grantgen's holds (and their unfinished parts).
_REVIEW_FILE = re.compile(
    r"\.?(summary\.(html|csv|xlsx)|(totals|form4)\.csv|packet(-\d+-of-\d+)?\.pdf"
    r"|board_consent\.(docx|pdf)"
    r"|(summary|totals|form4|packet(-\d+-of-\d+)?|board_consent)\.draft\.(html|csv|xlsx|pdf|docx))"
    r"(\.[0-9a-z_]+\.part)?"
)


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
    """The documents of a checked batch made into ``result.out``."""
    plan, report = checked.plan, checked.report
    refused = report.refused_rows
    todo = [r for r in checked.grants.records if r.row not in refused]
    result.errors += [f.as_dict() for f in report.findings if f.severity == ERROR]
    result.warnings += [
        f.as_dict() for f in report.findings if f.severity == "warning" and f.row is None
    ]

    earlier = Manifest.earlier(result.out)  # read once: the folder is held (folder_lock)
    converter: Converter | None = None
    failed = published = False
    deviations: dict[str, list[Deviation]] = {}
    try:
        with work_dir(result.out) as work:
            try:
                pages: dict[str, tuple[Path, range]] = {}
                early: PendingConsent | None = None
                # the review packet's pages are copied while the batch is made, when it can
                # be one volume (a larger batch's volumes are made after, one at a time)
                copied = (
                    PacketPages() if options.review and 0 < len(todo) <= PACKET_VOLUME else None
                )
                if todo:
                    converter = Converter(options.jobs, timeout=options.timeout)
                    converter.warm()  # LibreOffice starts while the documents are made ready
                    if options.review:
                        # the Board's consent for the grants expected to be made, and those the
                        # folder holds already (the review describes them all): LibreOffice
                        # starts on it while the agreement templates are read and rendered
                        try:
                            early = start_consent(
                                work,
                                plan,
                                _expected_consent(
                                    todo, earlier, checked.report, draft=options.draft
                                ),
                                templates=kit.consent,
                                converter=converter,
                                pdf_dir=work / PDF_DIR,
                                draft=options.draft,
                                dated=options.consent_date,
                            )
                        except OSError as exc:  # a full disk
                            raise _cannot_write(exc, work) from exc
                    templates = load_templates(options.templates, plan)
                    try:
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
                            copied,
                        )
                    except OSError as exc:  # a full disk while the documents are made
                        raise _cannot_write(exc, work) from exc
                    converter.rest()  # its LibreOffice sessions stop while the rest is done
                    # deviations from the approved form: before anything is published or recorded
                    enforce(
                        deviations,
                        strict=options.strict,
                        draft=options.draft,
                        accepted=options.accept_deviations,
                    )
                    pages = {s.record.grant_id: s.origin for s in staged}
                    publish(staged, checked, options, result, earlier)
                    published = True
                result.errors.sort(key=lambda e: e.get("row") or 0)
                result.documents.sort(key=lambda d: d.row)
                result.earlier = earlier_kept(
                    result.out, {d.pdf for d in result.documents}, earlier
                )
                same_kind = [d for d in result.earlier if d.is_draft == options.draft]
                # a final run that made nothing leaves a folder of drafts their review files
                drafts_only = not options.draft and not result.documents and not same_kind
                if drafts_only and options.review and any(d.is_draft for d in result.earlier):
                    result.warnings.append(
                        {
                            "row": None,
                            "rule": "review",
                            "message": "no final document was made, so the review files of "
                            "the drafts in review/ were left as they are",
                        }
                    )
                result.review = (
                    None
                    if not options.review
                    or (drafts_only and any(d.is_draft for d in result.earlier))
                    else write_review(
                        review_batch(
                            checked,
                            result,
                            same_kind,
                            beside_finals=holds_finals(result.out, earlier),
                        ),
                        templates_dir=kit.consent,
                        converter=converter,
                        form_text=_exhibit(kit),
                        deviations=deviations,
                        pages=pages,
                        early_consent=early,
                        copied=copied,
                        uncompared=[
                            w["message"] for w in result.warnings if w["rule"] == "approved-form"
                        ],
                    )
                )
            except BaseException:
                # stop LibreOffice before the work folder is removed: a conversion still
                # writing into it would leave files behind
                if converter is not None:
                    converter.close(abort=True)
                    converter = None
                raise
    except BaseException:
        failed = True
        if published:  # interrupted while the review was written: the documents are in place
            with contextlib.suppress(Exception):  # and recorded; the manifest lists them
                _write_manifest(options, kit, result, earlier)
        raise
    finally:
        if converter is not None:
            converter.close()
        if failed and created:  # a refused --strict batch, LibreOffice missing, Ctrl-C
            with contextlib.suppress(OSError):
                result.out.rmdir()  # only if nothing is left in it
    _write_manifest(options, kit, result, earlier)
    result.seconds = time.monotonic() - started
    return result


def _exhibit(kit: Kit) -> Path | None:
    """The filed exhibit the bundled example's agreements are compared with (None: the
    kit's approved forms, compared as the documents were made)."""
    return next((f.exhibit for f in kit.forms.values() if f.exhibit is not None), None)


def _cannot_write(exc: OSError, work: Path) -> OutputError:
    """The error for a file the documents stage could not write (a full disk)."""
    where = exc.filename2 or exc.filename or work  # a copy: its target
    return OutputError(f"cannot write {where}: {exc.strerror or exc}")


def _expected_consent(
    todo: list[GrantRecord], earlier: Manifest | None, report: Report, *, draft: bool
) -> list[ConsentGrant]:
    """The consent's rows if every grant to make is made: with the documents of the same kind
    the folder's manifest lists that this run does not make again, in the order the review
    puts them (by row, this run's first)."""
    rows = [
        (
            r.row,
            ConsentGrant(
                r.participant,
                r.shares,
                r.exercise_price,
                r.grant_date,
                r.award_type,
                r.grant_id,
                report.facts[r.row].final_exercise_date if r.row in report.facts else None,
            ),
        )
        for r in todo
    ]
    ids = {r.grant_id for r in todo}
    for doc in earlier.documents if earlier is not None else []:
        if doc.is_draft != draft or doc.grant_id in ids:
            continue
        grant = earlier_grant(doc, draft=draft)
        if grant.shares is not None and grant.exercise_price is not None and grant.grant_date:
            rows.append(
                (
                    grant.row,
                    ConsentGrant(
                        grant.participant,
                        grant.shares,
                        grant.exercise_price,
                        grant.grant_date,
                        grant.award_type,
                        grant.grant_id,
                        grant.final_exercise_date,
                    ),
                )
            )
    return [grant for _, grant in sorted(rows, key=lambda item: item[0])]


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
