"""Signing a batch: every packet its manifest lists (or one PDF), the Company's signature
first and the participant's on top of the signed copy, each recorded in the manifest and noted
in a journal as soon as it is made. One PDF is signed by :mod:`generator.signing.signpdf`;
checking a signed packet is :mod:`generator.signing.verify`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyhanko.sign.timestamps import TimeStamper

from generator.assembling.stamp import Appearance, stamp_style
from generator.core.errors import SigningError, TimestampError
from generator.core.layout import journal_path
from generator.core.layout import manifest_path as layout_manifest
from generator.core.output import remove_left_parts
from generator.core.superseded import described
from generator.signing.signfiles import (
    COMPANY_FIELD,
    same_person,
)
from generator.signing.signjobs import (
    DRAFT_REASON,
    Job,
    Progress,
    append_line,
    check_job,
    folder_job,
    set_aside_files,
    set_aside_job,
    single_job,
    someone_else,
)
from generator.signing.signpdf import Credentials as Credentials
from generator.signing.signpdf import SignedFile as SignedFile
from generator.signing.signpdf import sign_pdf as sign_pdf
from generator.terms.manifest import Listed, Manifest, recorded_name, recorded_path


@dataclass(frozen=True)
class SignResult:
    """What ``grantgen sign`` did: files signed, skipped as already signed, and failures."""

    signed: tuple[SignedFile, ...]
    skipped: tuple[str, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    manifest: Path | None
    drafts: tuple[str, ...] = ()
    """Draft packets of the folder, skipped: they are not for signature."""
    others: tuple[str, ...] = ()
    """Packets of other participants' grants, skipped: a participant's field is theirs."""


def sign_batch(path: Path, credentials: Credentials, **options: Any) -> SignResult:
    """:func:`sign_folder`, holding the batch folder (:func:`generator.core.output.folder_lock`)
    while it
    reads and rewrites its manifest: a ``generate`` into it meanwhile is refused."""
    from generator.core.output import folder_lock

    folder = path if path.is_dir() else path.parent
    if path.is_dir() or layout_manifest(folder).is_file():
        with folder_lock(folder):
            return sign_folder(path, credentials, **options)
    return sign_folder(path, credentials, **options)


def sign_folder(
    path: Path,
    credentials: Credentials,
    *,
    field: str = COMPANY_FIELD,
    appearance: Appearance | None = None,
    timestamper: TimeStamper | None = None,
    output: Path | None = None,
    force: bool = False,
    plan_id: str | None = None,
    progress: Progress | None = None,
    any_signer: bool = False,
) -> SignResult:
    """Sign every packet a batch's manifest lists (``path`` a folder), or one PDF.

    Signed files go beside the originals as ``<grant_id>.signed.pdf`` and are recorded in the
    manifest. A field other than the one the signed copy holds (the participant's, after the
    Company's) is signed on top of the signed copy, as ``<grant_id>.countersigned.pdf``,
    recorded in the signed record's ``countersigned`` list. Each signature is noted in a journal
    beside the manifest as soon as it is made, and the manifest is rewritten atomically at the
    end (or when interrupted), so a run that is stopped can be run again: what it signed is
    skipped. A packet whose bytes are no longer the ones the manifest recorded is refused; one
    already signed is skipped unless ``force``; an existing file the manifest does not record
    as this signature's is not replaced unless ``force``, and a file the manifest lists as
    another document never. ``plan_id``: the plan whose officer the signature shows; a batch
    the manifest records under another is refused. A time-stamp server that gives no
    time-stamp stops the run (:class:`TimestampError`; what was signed before is recorded).

    Who signs: the Company's field only with a certificate naming the signing officer the
    signature shows, a participant's field only for the grants of the participant the
    certificate names (the others are skipped); ``any_signer`` allows another signer (a
    warning).
    """
    tell = progress or (lambda kind, text: None)
    folder = path if path.is_dir() else path.parent
    manifest = _batch_manifest(path, folder, plan_id)
    docs, errors = manifest.usable() if manifest else ([], [])
    finals = [d for d in docs if not d.is_draft]
    if path.is_dir() and docs and not finals:
        raise SigningError(f"{path}: a folder of {DRAFT_REASON}")
    if path.is_dir() and output is not None:
        raise SigningError("--output names one signed file: use it with one PDF, not a folder")
    appearance, warnings = _who_signs(appearance, credentials, any_signer)
    stamp_style(appearance or Appearance(credentials.subject), datetime.now(UTC))  # fonts
    for text in warnings:
        tell("warning", text)
    for text in errors:
        tell("error", text)
    drafts = tuple(
        f"{d.pdf}: a draft, not for signature" for d in docs if path.is_dir() and d not in finals
    )
    for text in drafts:
        tell("skipped", text)
    run = _Signing(
        folder, manifest, credentials, field, appearance, timestamper, force, any_signer,
        _protected(folder, manifest, docs), tell, errors, warnings,
    )  # fmt: skip
    try:
        for doc in list(finals) if path.is_dir() else [None]:
            run.sign(doc, path, docs, output)
    finally:
        run.close()
    return SignResult(
        tuple(run.signed), tuple(run.skipped), tuple(errors), tuple(warnings),
        run.manifest_path if run.pending else None, drafts, tuple(run.others),
    )  # fmt: skip


def _batch_manifest(path: Path, folder: Path, plan_id: str | None) -> Manifest | None:
    """The manifest of the batch ``path`` is (or is in), when it is one; a batch made under
    another plan than ``plan_id`` is refused (the signature shows that plan's officer)."""
    manifest_path = layout_manifest(folder)
    if not (path.is_dir() or manifest_path.is_file()):
        return None  # any PDF, not a batch's
    remove_left_parts(folder)  # a file a sign killed while naming it left
    manifest = Manifest.read(manifest_path)
    made_under = manifest.plan
    if plan_id is not None and made_under not in (None, plan_id):
        raise SigningError(
            f"{manifest_path}: the batch was made under plan {made_under!r}, not "
            f"{plan_id!r}: give that plan's file with --plan (the signature shows its "
            "officer)"
        )
    return manifest


def _who_signs(
    appearance: Appearance | None, credentials: Credentials, any_signer: bool
) -> tuple[Appearance | None, list[str]]:
    """The signature's appearance, and warnings: the Company's is signed with the officer's
    certificate, or (``any_signer``) shows who really signed and for whom."""
    if appearance is None or same_person(appearance.name, credentials.subject):
        return appearance, []
    if not any_signer:
        raise SigningError(
            f"the certificate is {credentials.subject!r}, but the Company's signature "
            f"shows the plan's signing officer {appearance.name!r}: sign with the "
            "officer's certificate (or give --any-signer to sign for them)"
        )
    # the stamp names who really signed, and for whom (never the officer alone)
    name = f"{credentials.subject} for {appearance.name}"
    warning = (
        f"the certificate is {credentials.subject!r}, not the signing officer's: the "
        f"signature reads 'Digitally signed by {name}'"
    )
    return Appearance(name, appearance.title, appearance.tz, appearance.dated), [warning]


def _protected(folder: Path, manifest: Manifest | None, docs: list[Listed]) -> set[Path]:
    """The files the manifest lists (the originals, the signed copies, those set aside, the
    review files, the manifest itself): never replaced by a signed file."""
    if manifest is None:
        return {layout_manifest(folder).resolve()}
    named = [
        name
        for d in docs
        for name in [d.pdf, *([d.docx] if d.docx is not None else [])]
        + [r.pdf for r in d.signatures]
        + set_aside_files(d)
    ]
    return (
        {manifest.path.resolve()}
        | {recorded_path(folder, name).resolve() for name in named}
        | {(folder / name).resolve() for name in manifest.review_files()}
    )


@dataclass
class _Signing:
    """One ``sign`` run over a folder (or one PDF): who signs which field how, what is
    protected, what was signed, skipped or refused, and the journal each signature is noted
    in as soon as it is made (the manifest is rewritten once, at the end)."""

    folder: Path
    manifest: Manifest | None
    credentials: Credentials
    field: str
    appearance: Appearance | None
    timestamper: TimeStamper | None
    force: bool
    any_signer: bool
    protected: set[Path]
    """Files the manifest lists: never replaced by a signed file (:func:`_protected`)."""
    tell: Progress
    errors: list[str]
    warnings: list[str]
    signed: list[SignedFile] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    others: list[str] = dataclasses.field(default_factory=list)
    """Other participants' grants (their field is not this signer's)."""
    pending: bool = False
    """The manifest is to be rewritten: a signature was noted, or the journal of an
    interrupted run was merged into it."""

    def __post_init__(self) -> None:
        self.pending = self.manifest is not None and self.journal.exists()

    @property
    def manifest_path(self) -> Path:
        return layout_manifest(self.folder)

    @property
    def journal(self) -> Path:
        return journal_path(self.manifest_path)

    def sign(self, doc: Listed | None, path: Path, docs: list[Listed], output: Path | None) -> None:
        """Sign one packet (``doc``, or the file ``path`` when None); a refusal is noted, a
        time-stamp server that fails stops the run."""
        try:
            job = self._job(doc, path, docs, output)
            if job is None:
                return
            note = check_job(job, self.folder, self.protected, self.force)
            if note is not None:
                self.skipped.append(note)
                self.tell("skipped", note)
                return
            self._set_aside(job)
            result = sign_pdf(
                job.source, job.target, self.credentials, field=self.field,
                appearance=self.appearance, timestamper=self.timestamper,
            )  # fmt: skip
        except TimestampError as exc:  # the next packets would wait for it in vain
            done = (
                f"{len(self.signed)} signed before it are recorded; run the same command "
                "again to sign the rest"
                if self.signed
                else "nothing was signed"
            )
            raise TimestampError(
                f"{exc}; the run stopped there ({done}): check --timestamp-url, or sign "
                "without it (PAdES B-B)"
            ) from None
        except SigningError as exc:
            self.errors.append(str(exc))
            self.tell("error", str(exc))
            return
        self.signed.append(result)
        if job.entry is not None:
            self._record(job.entry, job.countersign, result)
        self.tell("signed", result.describe())

    def _job(
        self, doc: Listed | None, path: Path, docs: list[Listed], output: Path | None
    ) -> Job | None:
        """What signing ``doc`` (or ``path``) means; None when it is another participant's."""
        if doc is not None:
            job = folder_job(self.folder, doc, self.field)
        else:
            job = single_job(self.folder, path, docs, self.field, output, self.warnings, self.tell)
        subject = self.credentials.subject
        other = someone_else(job, self.field, subject, self.any_signer)
        stand_in = someone_else(job, self.field, subject, False)
        if self.any_signer and stand_in is not None:  # signed all the same: said
            self.warnings.append(stand_in.replace(" (give --any-signer", " (--any-signer"))
            self.tell("warning", f"{stand_in.split(' (give', 1)[0]}: signed with --any-signer")
        if other is not None and doc is not None:  # another participant's grant
            self.others.append(other)
            self.tell("skipped", other)
            return None
        if other is not None:
            raise SigningError(other)
        return job

    def _set_aside(self, job: Job) -> None:
        """Files in the way of signing again (--force) moved aside, and noted in the journal
        before anything is signed."""
        aside = set_aside_job(job, self.folder, self.field)
        if aside:
            self.tell("warning", f"{self.field} is signed again; set aside: {described(aside)}")
        if aside and job.entry is not None:
            job.entry.supersede(aside, self.field, countersign=job.countersign)
            line = {
                "pdf": job.entry.pdf,
                "superseded": aside,
                "field": self.field,
                "countersign": job.countersign,
            }
            append_line(self.journal, json.dumps(line, ensure_ascii=False))
            self.pending = True

    def _record(self, entry: Listed, countersign: bool, result: SignedFile) -> None:
        """The signature recorded in the manifest entry, and noted in the journal at once."""
        record = {
            "pdf": recorded_name(self.folder, result.output),
            "sha256": result.sha256,
            "field": result.field,
            "signer": result.signer,
            "signed_at": result.signed_at,
            **({"dated": result.dated} if result.dated is not None else {}),
        }
        entry.put_signature(record, countersign=countersign)
        line = {"pdf": entry.pdf, "record": record, "countersign": countersign}
        append_line(self.journal, json.dumps(line, ensure_ascii=False))
        self.pending = True

    def close(self) -> None:
        """Rewrite the manifest with what was signed, then forget the journal."""
        if self.pending and self.manifest is not None:
            self.manifest.write()
            self.journal.unlink(missing_ok=True)
