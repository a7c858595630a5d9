"""Sign packets: the Company's countersignature, a PAdES signature made with pyHanko.

The Company signs first, in the ``company_signature`` field, with a certification signature
whose DocMDP level allows form filling and signing only, so the participant's field stays open
to be signed afterwards and any other change voids the Company's signature. The signature is an
incremental update: the signed file starts with the exact bytes of the approved packet, whose
hash the manifest holds. Checking a signed packet is :mod:`generator.verify`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import TimeStamper

from generator.assembling.dateline import fill_date
from generator.assembling.stamp import Appearance, long_date, stamp_style
from generator.core.errors import SigningError, TimestampError
from generator.core.layout import journal_path
from generator.core.layout import manifest_path as layout_manifest
from generator.core.output import remove_left_parts, sha256
from generator.core.superseded import described
from generator.signing.signfiles import (
    COMPANY_FIELD,
    ENCRYPTED,
    iso_time,
    read_pdf,
    same_person,
    write_file,
)
from generator.signing.signjobs import (
    DRAFT_REASON,
    Progress,
    append_line,
    check_job,
    folder_job,
    set_aside_files,
    set_aside_job,
    single_job,
    someone_else,
)
from generator.signing.timestamps import timestamp_failure
from generator.terms.manifest import Listed, Manifest, recorded_name, recorded_path


@dataclass(frozen=True)
class Credentials:
    """A signing key with its certificate (and the chain that came with it)."""

    signer: Any
    """The pyHanko ``SimpleSigner``."""
    subject: str
    """The certificate subject's common name (or the whole subject when it has none)."""
    not_after: datetime
    source: Path


@dataclass(frozen=True)
class SignedFile:
    """One signed packet."""

    source: Path
    output: Path
    sha256: str
    field: str
    signer: str
    signed_at: str
    level: str
    """PAdES baseline level: ``B-B``, or ``B-T`` with a signature time-stamp."""
    dated: str | None = None
    """What the form's date line was filled with (``--dated``), if it was."""

    def describe(self) -> str:
        return (
            f"{self.output} ({self.field}, {self.signer}, PAdES {self.level}, "
            f"sha256 {self.sha256[:16]}…)"
        )


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


def sign_pdf(
    source: Path,
    output: Path,
    credentials: Credentials,
    *,
    field: str = COMPANY_FIELD,
    appearance: Appearance | None = None,
    timestamper: TimeStamper | None = None,
    when: datetime | None = None,
) -> SignedFile:
    """Sign ``field`` of ``source`` as an incremental update written to ``output``.

    The first signature in a document certifies it (DocMDP: form filling and signing only);
    a later one is an approval signature.
    """
    if output.resolve() == source.resolve():
        raise SigningError(f"{source}: the signed file must not replace the original")
    data = read_pdf(source)
    when = (when or datetime.now(UTC)).replace(microsecond=0)
    look = appearance or Appearance(credentials.subject)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        if writer.prev.encrypted:
            raise SigningError(f"{source}: {ENCRYPTED}")
        fields = {name: value for name, value, _ in enumerate_sig_fields(writer.prev)}
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"{source}: not a readable PDF: {exc}") from None
    if field not in fields:
        known = ", ".join(sorted(fields)) or "none"
        raise SigningError(f"{source}: no signature field {field!r} (fields: {known})")
    if fields[field] is not None:
        raise SigningError(f"{source}: the field {field!r} is already signed")
    certify = all(value is None for value in fields.values())
    meta = PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        name=look.name,
        reason=f"Signed by {look.name}" + (f", {look.title}" if look.title else ""),
    )
    try:
        style = stamp_style(look, when)
    except SigningError as exc:
        raise SigningError(f"{source}: {exc}") from None
    signer = PdfSigner(meta, credentials.signer, timestamper=timestamper, stamp_style=style)
    dated = long_date(look.local(when)) if look.dated else None
    if dated is not None:
        try:
            fill_date(writer, dated)
        except SigningError as exc:
            raise SigningError(f"{source}: {exc}") from None
    _producer_as_xmp_will_say(writer)
    try:
        out = signer.sign_pdf(writer, existing_fields_only=True)
    except Exception as exc:
        stamp = timestamp_failure(exc) if timestamper is not None else None
        if stamp is not None:
            url = getattr(timestamper, "url", "")
            server = f"the time-stamp server {url}" if url else "the time-stamp server"
            raise TimestampError(f"{source}: {server} gave no time-stamp: {stamp}") from None
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise SigningError(f"{source}: signing failed: {exc}{cause}") from None
    signed = out.getvalue()
    write_file(output, signed)
    return SignedFile(
        source=source,
        output=output,
        sha256=sha256(signed),
        field=field,
        signer=credentials.subject,
        signed_at=iso_time(when),
        level="B-T" if timestamper is not None else "B-B",
        dated=dated,
    )


def _producer_as_xmp_will_say(writer: IncrementalPdfFileWriter) -> None:
    """pyHanko sets the XMP ``pdf:Producer`` to its own name when it signs, but appends its
    name to the document information's ``/Producer``: set that to the same name first, so
    the two still agree (PDF/A), in the signature's own revision."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata import model

    try:
        info_ref = writer.trailer.raw_get("/Info")
    except KeyError:
        return
    info = info_ref.get_object()
    if info.get("/Producer") == model.VENDOR:
        return
    info["/Producer"] = generic.TextStringObject(model.VENDOR)
    writer.mark_update(info_ref)


def sign_batch(path: Path, credentials: Credentials, **options: Any) -> SignResult:
    """:func:`sign_folder`, holding the batch folder (:func:`.output.folder_lock`) while it
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
    manifest_path = layout_manifest(folder)
    manifest: Manifest | None = None
    if path.is_dir() or manifest_path.is_file():  # a batch folder, not any PDF's
        remove_left_parts(folder)  # a file a sign killed while naming it left
    if path.is_dir() or manifest_path.is_file():
        manifest = Manifest.read(manifest_path)
        made_under = manifest.plan
        if plan_id is not None and made_under not in (None, plan_id):
            raise SigningError(
                f"{manifest_path}: the batch was made under plan {made_under!r}, not "
                f"{plan_id!r}: give that plan's file with --plan (the signature shows its "
                "officer)"
            )
    docs, errors = manifest.usable() if manifest else ([], [])
    finals = [d for d in docs if not d.is_draft]
    if path.is_dir() and docs and not finals:
        raise SigningError(f"{path}: a folder of {DRAFT_REASON}")
    if path.is_dir() and output is not None:
        raise SigningError("--output names one signed file: use it with one PDF, not a folder")
    warnings: list[str] = []
    if appearance is not None and not same_person(appearance.name, credentials.subject):
        if not any_signer:
            raise SigningError(
                f"the certificate is {credentials.subject!r}, but the Company's signature "
                f"shows the plan's signing officer {appearance.name!r}: sign with the "
                "officer's certificate (or give --any-signer to sign for them)"
            )
        # the stamp names who really signed, and for whom (never the officer alone)
        appearance = Appearance(
            f"{credentials.subject} for {appearance.name}",
            appearance.title,
            appearance.tz,
            appearance.dated,
        )
        warnings.append(
            f"the certificate is {credentials.subject!r}, not the signing officer's: the "
            f"signature reads 'Digitally signed by {appearance.name}'"
        )
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
    protected = {manifest_path.resolve()} | {
        (recorded_path(folder, name)).resolve()
        for d in docs
        for name in [d.pdf, *([d.docx] if d.docx is not None else [])]
        + [r.pdf for r in d.signatures]
        + set_aside_files(d)
    }
    listed = manifest.review_files() if manifest is not None else []
    protected |= {(folder / name).resolve() for name in listed}
    signed: list[SignedFile] = []
    skipped: list[str] = []
    others: list[str] = []  # other participants' grants (their field is not this signer's)
    journal = journal_path(manifest_path)
    pending = manifest is not None and journal.exists()  # merged from an interrupted run
    todo: list[Listed | None] = list(finals) if path.is_dir() else [None]
    try:
        for doc in todo:
            try:
                if doc is not None:
                    job = folder_job(folder, doc, field)
                else:
                    job = single_job(folder, path, docs, field, output, warnings, tell)
                other = someone_else(job, field, credentials.subject, any_signer)
                stand_in = someone_else(job, field, credentials.subject, False)
                if any_signer and stand_in is not None:  # signed all the same: said
                    warnings.append(stand_in.replace(" (give --any-signer", " (--any-signer"))
                    tell("warning", f"{stand_in.split(' (give', 1)[0]}: signed with --any-signer")
                if other is not None and doc is not None:  # another participant's grant
                    others.append(other)
                    tell("skipped", other)
                    continue
                if other is not None:
                    raise SigningError(other)
                note = check_job(job, folder, protected, force)
                if note is not None:
                    skipped.append(note)
                    tell("skipped", note)
                    continue
                aside = set_aside_job(job, folder, field)
                if aside:
                    tell("warning", f"{field} is signed again; set aside: {described(aside)}")
                if aside and job.entry is not None:  # recorded before anything is signed
                    job.entry.supersede(aside, field, countersign=job.countersign)
                    line = {
                        "pdf": job.entry.pdf,
                        "superseded": aside,
                        "field": field,
                        "countersign": job.countersign,
                    }
                    append_line(journal, json.dumps(line, ensure_ascii=False))
                    pending = True
                result = sign_pdf(
                    job.source, job.target, credentials, field=field, appearance=appearance,
                    timestamper=timestamper,
                )  # fmt: skip
            except TimestampError as exc:  # the next packets would wait for it in vain
                done = (
                    f"{len(signed)} signed before it are recorded; run the same command again "
                    "to sign the rest"
                    if signed
                    else "nothing was signed"
                )
                raise TimestampError(
                    f"{exc}; the run stopped there ({done}): check --timestamp-url, or sign "
                    "without it (PAdES B-B)"
                ) from None
            except SigningError as exc:
                errors.append(str(exc))
                tell("error", str(exc))
                continue
            signed.append(result)
            if job.entry is not None:
                record = {
                    "pdf": recorded_name(folder, job.target),
                    "sha256": result.sha256,
                    "field": result.field,
                    "signer": result.signer,
                    "signed_at": result.signed_at,
                    **({"dated": result.dated} if result.dated is not None else {}),
                }
                job.entry.put_signature(record, countersign=job.countersign)
                line = {"pdf": job.entry.pdf, "record": record, "countersign": job.countersign}
                append_line(journal, json.dumps(line, ensure_ascii=False))
                pending = True
            tell("signed", result.describe())
    finally:
        if pending and manifest is not None:
            manifest.write()
            journal.unlink(missing_ok=True)
    return SignResult(
        tuple(signed), tuple(skipped), tuple(errors), tuple(warnings),
        manifest_path if pending else None, drafts, tuple(others),
    )  # fmt: skip
