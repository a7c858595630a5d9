"""The review packet of a batch folder, in ``DIR/review/``.

It describes every final document the folder's manifest lists, not only those of the last
run: a run of part of a batch (``--only``, ``--where``) or one whose grants were all refused
leaves a review of the whole folder. A draft run into a folder that holds final documents
gets its own files (``summary.draft.html``, ``packet.draft.pdf``, ``board_consent.draft.docx``,
...), over the folder's drafts, so it never replaces the final batch's review; in a folder of
drafts only, the drafts' review has the usual names.

* ``summary.html`` (standalone), ``summary.csv``, ``summary.xlsx``: one line per grant with its
  terms, status and findings; totals and the share reserve before and after the batch.
* ``packet.pdf``: the agreement and acceptance pages of every packet made, one after another,
  one bookmark per participant: the whole batch read in one sitting. A batch of more than
  :data:`PACKET_VOLUME` agreements gets volumes instead (``packet-01-of-12.pdf``, ...), each
  a PDF a viewer opens at once, and none of them ever held in memory with another.
* deviations: each rendered agreement's text against the approved form
(:mod:`generator.comparing.deviations`),
  listed in ``summary.html`` with word-level diffs.
* ``board_consent.docx`` / ``.pdf``: the Board's written consent approving the grants made,
  with Exhibit A listing them (:mod:`.consent`).

Every file is written atomically. :func:`generator.reviewing.reviewbatch.review_batch` builds
the :class:`generator.making.batch.ReviewBatch` it writes from the checked batch and what the
stages made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pikepdf

from generator.assembling.reviewpacket import (
    PACKET_VOLUME,
    PacketPages,
    allow_open_files,
    review_packet,
)
from generator.comparing.deviations import Deviation, find_deviations
from generator.converting.converter import Converter
from generator.core.errors import GrantgenError, OutputError
from generator.core.layout import (
    FORM4_CSV,
    PACKET_NAME,
    REVIEW_DIR,
    SUMMARY_CSV,
    SUMMARY_HTML,
    SUMMARY_XLSX,
    TOTALS_CSV,
    consent_name,
    packet_name,
    review_name,
)
from generator.core.output import own_folder, remove_left_parts, write_atomic
from generator.making.batch import ReviewBatch, ReviewGrant, ReviewResult
from generator.reviewing.consent import (
    ConsentGrant,
    PendingConsent,
    consent_template,
    finish_consent,
    write_consent,
)
from generator.reviewing.summary import summary_csv, summary_html, summary_xlsx, totals_csv
from generator.terms.section16 import Reportable, form4_csv, form4_rows


def form4_file(batch: ReviewBatch, made: Sequence[ReviewGrant]) -> bytes:
    """``form4.csv``: the Form 4 values of each grant made (:mod:`generator.terms.section16`)."""
    terms = batch.plan.section16
    assert terms is not None
    reportable = [
        Reportable(
            grant_id=g.grant_id,
            participant=g.participant,
            award_type=g.award_type,
            is_option=batch.plan.is_option(g.award_type),
            grant_date=g.grant_date,
            shares=g.shares,
            exercise_price=g.exercise_price,
            expires=g.final_exercise_date,
            first_vests=g.first_vests,
            vesting=g.vesting,
        )
        for g in made
        if g.grant_date is not None and g.shares is not None
    ]
    return form4_csv(form4_rows(reportable, terms))


def _path(out: Path, path: Path | None) -> Path | None:
    return None if path is None else path if path.is_absolute() else out / path


def batch_deviations(
    batch: ReviewBatch,
    form_text: Path | None,
    *,
    known: Mapping[str, Sequence[Deviation]] | None = None,
) -> dict[str, list[Deviation]]:
    """Deviations of every agreement made in the batch (those in ``known`` are not redone)."""
    out: dict[str, list[Deviation]] = {}
    for g in batch.grants:
        docx = _path(batch.out, g.docx)
        if not g.valid or docx is None:
            continue
        if known is not None and g.grant_id in known:
            out[g.grant_id] = list(known[g.grant_id])
        elif g.deviations is not None:  # an earlier run's, as its manifest recorded them
            out[g.grant_id] = list(g.deviations)
        elif form_text is None:  # a kit's approved forms: compared when it was made
            out[g.grant_id] = []
        else:
            out[g.grant_id] = find_deviations(
                docx, form_text, participant=g.participant, plan=batch.plan
            )
    return out


def write_review(
    batch: ReviewBatch,
    *,
    templates_dir: Path,
    converter: Converter | None,
    form_text: Path | None,
    deviations: Mapping[str, Sequence[Deviation]] | None = None,
    pages: Mapping[str, tuple[Path, range]] | None = None,
    early_consent: PendingConsent | None = None,
    copied: PacketPages | None = None,
    uncompared: Sequence[str] = (),
) -> ReviewResult:
    """Write ``batch.out/review/``: summary (HTML, CSV, XLSX), packet.pdf, the board consent.

    ``deviations``: those already found (by grant id), e.g. before publishing for
    ``--strict``; the other agreements are compared here. ``converter``: the batch's
    LibreOffice pool, for the consent PDF; None starts one worker when a consent is made.
    ``pages``: where each grant's agreement pages already are (by grant id: a PDF and its page
    range, e.g. the batch's converted chunks), so the packet need not open every packet PDF.
    ``early_consent``: a consent already on its way for the grants expected to be made; used
    when those are the grants made, else a new one is made. ``copied``: agreement pages
    copied in for the review packet while the batch was made (used when it has one volume).
    A consent or packet that cannot be made is reported in ``problems``; the summary is
    always written.
    """
    folder = own_folder(batch.out / REVIEW_DIR)
    aside = batch.draft and batch.beside_finals  # drafts' files beside the final review
    result = ReviewResult(
        folder,
        folder / review_name(SUMMARY_HTML, aside),
        folder / review_name(SUMMARY_CSV, aside),
        folder / review_name(SUMMARY_XLSX, aside),
        folder / review_name(TOTALS_CSV, aside),
    )
    result.deviations = batch_deviations(batch, form_text, known=deviations)
    made = [g for g in batch.grants if g.valid]
    files: dict[str, str] = {"CSV": result.summary_csv.name, "XLSX": result.summary_xlsx.name}
    files["Totals (CSV)"] = result.totals_csv.name
    if batch.plan.section16 is not None:
        result.form4_csv = folder / review_name(FORM4_CSV, aside)
        files["Form 4 (CSV)"] = result.form4_csv.name
    if batch.untermed:
        result.problems.append(
            f"{batch.untermed} document(s) listed from an earlier run are not in the Board "
            "consent: their manifest entries, made by an earlier grantgen, do not record their "
            "terms (generate them again to add them)"
        )

    with ThreadPoolExecutor(max_workers=1) as background:
        # LibreOffice converts the consent while the packet and summaries are written
        consent = (
            _start_consent(
                background, batch, made, folder, aside, early_consent, templates_dir, converter
            )
            if made
            else None
        )
        _write_packet(batch, made, folder, aside, pages, copied, result, files)
        if consent is not None:
            _take_consent(consent, folder, aside, result, files)
    _remove_stale(
        folder, aside, {*result.packet_pdfs, result.board_consent_docx, result.board_consent_pdf}
    )
    _write_summaries(batch, made, result, files, str(consent_template(templates_dir)), uncompared)
    return result


def _start_consent(
    background: ThreadPoolExecutor,
    batch: ReviewBatch,
    made: Sequence[ReviewGrant],
    folder: Path,
    aside: bool,
    early: PendingConsent | None,
    templates_dir: Path,
    converter: Converter | None,
) -> Future[tuple[Path, Path | None]]:
    """The Board consent for the grants made, on its way in ``background``: the one started
    early when it is for these grants, else a new one."""
    rows = [
        ConsentGrant(
            g.participant,
            g.shares,
            g.exercise_price,
            g.grant_date,
            g.award_type,
            g.grant_id,
            g.final_exercise_date,
        )
        for g in made
        if g.shares is not None and g.exercise_price is not None and g.grant_date
    ]
    if early is not None and early.grants == tuple(rows):
        return background.submit(finish_consent, early, folder, aside)
    return background.submit(
        write_consent, folder, batch.plan, rows, templates=templates_dir, converter=converter,
        draft=batch.draft, aside=aside, dated=batch.consent_date,
    )  # fmt: skip


def _write_packet(
    batch: ReviewBatch,
    made: Sequence[ReviewGrant],
    folder: Path,
    aside: bool,
    pages: Mapping[str, tuple[Path, range]] | None,
    copied: PacketPages | None,
    result: ReviewResult,
    files: dict[str, str],
) -> None:
    """The review packet (in volumes of :data:`PACKET_VOLUME` agreements): each volume made
    is added to ``result`` and ``files``; one that cannot be made is a problem."""
    entries: list[tuple[str, Path, range | None]] = []
    twice = _repeated_names(made)
    for g in made:
        label = f"{g.participant} ({g.grant_id})" if g.participant in twice else g.participant
        if pages is not None and g.grant_id in pages:
            entries.append((label, *pages[g.grant_id]))
        elif (path := _path(batch.out, g.pdf)) is not None:
            entries.append((label, path, None))
    volumes = [entries[i : i + PACKET_VOLUME] for i in range(0, len(entries), PACKET_VOLUME)]
    for number, volume in enumerate(volumes, start=1):
        name = packet_name(number, len(volumes), draft=aside)
        allow_open_files(len({path for _, path, _ in volume}))
        first = (number - 1) * PACKET_VOLUME + 1
        of = f", agreements {first}-{first + len(volume) - 1} of {len(entries)}"
        try:
            review_packet(
                volume,
                folder / name,
                title=f"Review packet: {len(entries)} agreement(s) under the "
                f"{batch.plan.name}" + (of if len(volumes) > 1 else ""),
                author=batch.plan.company.name,
                copied=copied if len(volumes) == 1 else None,
            )
        except (OSError, ValueError, GrantgenError, pikepdf.PdfError) as exc:
            result.problems.append(f"{name} could not be made: {exc}")
        else:
            result.packet_pdfs.append(folder / name)
            label = "Review packet (PDF)" if len(volumes) == 1 else f"Review packet {number}"
            files[label] = name


def _take_consent(
    consent: Future[tuple[Path, Path | None]],
    folder: Path,
    aside: bool,
    result: ReviewResult,
    files: dict[str, str],
) -> None:
    """The consent's files once made (its DOCX alone when the PDF could not be made)."""
    try:
        result.board_consent_docx, result.board_consent_pdf = consent.result()
    except GrantgenError as exc:
        result.problems.append(str(exc))
    except (OSError, ValueError, pikepdf.PdfError) as exc:  # e.g. a damaged PDF
        result.problems.append(f"the Board consent could not be made: {exc}")
        docx = folder / consent_name(aside)
        result.board_consent_docx = docx if docx.is_file() else None
    if result.board_consent_docx is not None:
        files["Board consent (DOCX)"] = result.board_consent_docx.name
    if result.board_consent_pdf is not None:
        files["Board consent (PDF)"] = result.board_consent_pdf.name


def _remove_stale(folder: Path, aside: bool, made_now: set[Path | None]) -> None:
    """Packets and consents of this kind (final or draft) an earlier run left that this one
    did not make, and the files a killed run was writing."""
    ours = (consent_name(aside), str(Path(consent_name(aside)).with_suffix(".pdf")))
    for stale in folder.iterdir():
        packet = PACKET_NAME.fullmatch(stale.name)
        if stale.name in ours or (packet and bool(packet.group(2)) == aside):
            if stale in made_now:
                continue
            stale.unlink(missing_ok=True)  # left by an earlier run in this folder
    remove_left_parts(folder)  # files a killed run was writing


def _write_summaries(
    batch: ReviewBatch,
    made: Sequence[ReviewGrant],
    result: ReviewResult,
    files: dict[str, str],
    consent_template_name: str,
    uncompared: Sequence[str],
) -> None:
    """The summaries (CSV, totals, XLSX, HTML, and Form 4 values); one that cannot be
    written is a problem, like the packet."""
    found = result.deviations
    summaries: list[tuple[Path, Callable[[], bytes]]] = [
        (result.summary_csv, lambda: summary_csv(batch, found)),
        (result.totals_csv, lambda: totals_csv(batch)),
        (result.summary_xlsx, lambda: summary_xlsx(batch, found)),
        (
            result.summary_html,
            lambda: summary_html(batch, found, files, consent_template_name, uncompared),
        ),
    ]
    if result.form4_csv is not None:
        summaries.append((result.form4_csv, lambda: form4_file(batch, made)))
    for path, content in summaries:
        try:
            write_atomic(path, content())
        except OutputError as exc:
            result.problems.append(f"{path.name} could not be written: {exc}")


def _repeated_names(made: Sequence[ReviewGrant]) -> set[str]:
    """Participants named more than once: their bookmarks also give the grant id."""
    counts = Counter(g.participant for g in made)
    return {name for name, count in counts.items() if count > 1}
