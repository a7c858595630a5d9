"""Sign packets: the Company's countersignature, a PAdES signature made with pyHanko.

The Company signs first, in the ``company_signature`` field, with a certification signature
whose DocMDP level allows form filling and signing only, so the participant's field stays open
to be signed afterwards and any other change voids the Company's signature. The signature is an
incremental update: the signed file starts with the exact bytes of the approved packet, whose
hash the manifest holds. Checking a signed packet is :mod:`generator.verify`.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError

from .dateline import fill_date
from .errors import OutputError, SigningError, TimestampError
from .manifest import (
    _put_record,
    _recorded_name,
    _supersede,
    journal_path,
    manifest_documents,
    read_manifest,
    recorded_path,
)
from .output import remove_left_parts, sha256, write_atomic, write_json
from .stamp import Appearance, long_date, stamp_style
from .superseded import described, set_file_aside, set_record_aside

COMPANY_FIELD = "company_signature"
PARTICIPANT_FIELD = "participant_signature"


def same_person(a: str, b: str) -> bool:
    """Whether two names are one person's as a certificate and a document give them: accents,
    case, dots and spacing aside ("Julie M.B. Bradley" is "julie m. b. bradley")."""

    def key(name: str) -> str:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
        )
        return " ".join(re.sub(r"[.,]", " ", plain.casefold()).split())

    return key(a) == key(b)


SIGNED_SUFFIX = ".signed.pdf"
COUNTERSIGNED_SUFFIX = ".countersigned.pdf"


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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot be read: {exc.strerror or exc}") from None


ENCRYPTED = (
    "the PDF is encrypted (password-protected); grantgen packets never are: use the packet as "
    "grantgen made it"
)

#: The largest file ``sign`` and ``verify`` read: a grantgen packet, signed twice, is a few
#: hundred kB; a larger file is refused before it is read.
MAX_PDF_BYTES = 50_000_000
_WINDOW = 1024  # a PDF's %PDF- header is in its first 1024 bytes, its last %%EOF in the last


def pdf_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a packet, found from its size, its first and its last bytes
    (without reading the rest): empty, no ``%PDF-`` header, larger than
    :data:`MAX_PDF_BYTES`, no ``%%EOF`` at its end (pyHanko would look for it a byte at a time
    through the whole file). None: it may be one."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(_WINDOW)
            fh.seek(max(0, size - _WINDOW))
            tail = fh.read(_WINDOW)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if size == 0:
        return "the file is empty (0 bytes), not a PDF"
    if b"%PDF-" not in head:
        return "not a PDF (it does not start with a %PDF- header)"
    if size > MAX_PDF_BYTES:
        return (
            f"{size / 1e6:,.0f} MB, too large for a grantgen packet (the limit is "
            f"{MAX_PDF_BYTES / 1e6:,.0f} MB)"
        )
    if b"%%EOF" not in tail:
        return (
            "not a complete PDF: it does not end with %%EOF (it was cut short, or something "
            "was appended to it)"
        )
    return None


def read_pdf(path: Path) -> bytes:
    """The bytes of a PDF that may be a packet (see :func:`pdf_problem`); raises naming the
    file otherwise."""
    problem = pdf_problem(path)
    if problem is not None:
        raise SigningError(f"{path}: {problem}")
    return _read(path)


def timestamp_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a time-stamp server's address (None: it can be tried)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http:// or https:// URL"
    if not parts.hostname:
        return f"{url!r} names no server"
    return None


class _HTTPTimeStamper(HTTPTimeStamper):
    """pyHanko's RFC 3161 client; any failure to get a time-stamp is a
    :class:`TimestampRequestError` saying why."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except Exception as exc:
            raise TimestampRequestError(_timestamp_reason(exc, self.timeout)) from exc


def _timestamp_reason(exc: BaseException, timeout: float) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    said = str(cause or "").strip()
    return f"{exc}: {said}" if said and said not in str(exc) else str(exc) or type(exc).__name__


def http_timestamper(url: str, timeout: float = 10.0) -> Any:
    """The RFC 3161 time-stamp client for ``--timestamp-url`` (PAdES B-T)."""
    return _HTTPTimeStamper(url, timeout=timeout)


def _timestamp_failure(exc: BaseException) -> TimestampRequestError | None:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, TimestampRequestError):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


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
        stamp = _timestamp_failure(exc) if timestamper is not None else None
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


def iso_time(when: datetime) -> str:
    """UTC, to the second: ``2026-11-27T09:25:04Z``."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def signed_name(pdf: Path) -> Path:
    """``<grant_id>.pdf`` → ``<grant_id>.signed.pdf``, beside it."""
    return pdf.with_name(pdf.stem + SIGNED_SUFFIX)


def countersigned_name(pdf: Path, field: str = PARTICIPANT_FIELD) -> Path:
    """``<grant_id>.pdf`` or ``<grant_id>.signed.pdf`` → ``<grant_id>.countersigned.pdf``:
    the participant's copy; another field's (a second officer, a spouse's consent) is
    ``<grant_id>.<field less _signature>.countersigned.pdf``, so each has its own."""
    stem = pdf.name.removesuffix(SIGNED_SUFFIX).removesuffix(".pdf")
    if field != PARTICIPANT_FIELD:
        stem += "." + field.removesuffix("_signature")
    return pdf.with_name(stem + COUNTERSIGNED_SUFFIX)


@dataclass(frozen=True)
class _Job:
    source: Path
    target: Path
    entry: dict[str, Any] | None
    countersign: bool
    """Adds a signature on top of the signed copy the manifest records."""
    record: dict[str, Any] | None
    """The manifest's record of this field's signature, if it was made before."""
    source_sha256: str | None
    """The sha256 the manifest recorded for the source."""


def _records(doc: dict[str, Any]) -> list[dict[str, Any]]:
    company = doc.get("signed")
    if not isinstance(company, dict):
        return []
    return [company, *(company.get("countersigned") or [])]


def _set_aside_records(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of the signed files set aside in ``superseded/`` (usable ones)."""
    found: list[dict[str, Any]] = []
    listed = doc.get("superseded")
    for top in listed if isinstance(listed, list) else []:
        if isinstance(top, dict):
            later = top.get("countersigned")
            found += [top, *(later if isinstance(later, list) else [])]
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("pdf"), str) and r["pdf"]]


def _prior(company: dict[str, Any], field: str) -> dict[str, Any] | None:
    later: list[dict[str, Any]] = company.get("countersigned") or []
    return next((r for r in later if r["field"] == field), None)


def _folder_job(folder: Path, doc: dict[str, Any], field: str) -> _Job:
    original = folder / doc["pdf"]
    company = doc.get("signed")
    if company is None or company["field"] == field:
        return _Job(original, signed_name(original), doc, False, company, doc["sha256"]["pdf"])
    prior = _prior(company, field)
    base = recorded_path(folder, company["pdf"])
    target = recorded_path(folder, prior["pdf"]) if prior else countersigned_name(original, field)
    return _Job(base, target, doc, True, prior, company["sha256"])


def _file_job(
    folder: Path, path: Path, docs: list[dict[str, Any]], field: str, output: Path | None
) -> tuple[_Job, str | None]:
    """The job for one PDF, and a warning when no manifest entry covers it."""
    here = path.resolve()
    for doc in docs:
        company = doc.get("signed")
        if (folder / doc["pdf"]).resolve() == here:
            if company is not None and company["field"] != field:
                raise SigningError(
                    f"{path}: the manifest records its signed copy {company['pdf']} "
                    f"({company['field']}); sign that file, so that the {field} signature is "
                    "added to it"
                )
            target = output or signed_name(path)
            return _Job(path, target, doc, False, company, doc["sha256"]["pdf"]), None
        if company is not None and recorded_path(folder, company["pdf"]).resolve() == here:
            prior = _prior(company, field)
            default = (
                recorded_path(folder, prior["pdf"]) if prior else countersigned_name(path, field)
            )
            return _Job(path, output or default, doc, True, prior, company["sha256"]), None
    if path.name.endswith(".draft.pdf"):
        raise SigningError(f"{path}: {DRAFT_REASON}")
    target = output or (
        countersigned_name(path, field) if path.name.endswith(SIGNED_SUFFIX) else signed_name(path)
    )
    warning = (
        f"{path}: no manifest entry lists this file, so it was not checked against an approved "
        "packet before signing"
    )
    return _Job(path, target, None, False, None, None), warning


DRAFT_REASON = (
    "a --draft packet (DRAFT on every page, no signature fields): drafts are for review, "
    "not for signature; generate the final batch and sign that"
)

Progress = Callable[[str, str], None]
"""Told of each step as it happens: (``signed`` | ``skipped`` | ``warning`` | ``error``, text)."""


def sign_batch(path: Path, credentials: Credentials, **options: Any) -> SignResult:
    """:func:`sign_folder`, holding the batch folder (:func:`.output.folder_lock`) while it
    reads and rewrites its manifest: a ``generate`` into it meanwhile is refused."""
    from .output import folder_lock

    folder = path if path.is_dir() else path.parent
    if path.is_dir() or (folder / "manifest.json").is_file():
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
    manifest_path = folder / "manifest.json"
    manifest: dict[str, Any] | None = None
    if path.is_dir() or manifest_path.is_file():  # a batch folder, not any PDF's
        remove_left_parts(folder)  # a file a sign killed while naming it left
    if path.is_dir() or manifest_path.is_file():
        manifest = read_manifest(manifest_path)
        made_under = manifest.get("plan")
        if plan_id is not None and made_under not in (None, plan_id):
            raise SigningError(
                f"{manifest_path}: the batch was made under plan {made_under!r}, not "
                f"{plan_id!r}: give that plan's file with --plan (the signature shows its "
                "officer)"
            )
    docs, errors = manifest_documents(manifest_path, manifest) if manifest else ([], [])
    finals = [d for d in docs if not d["pdf"].endswith(".draft.pdf")]
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
        f"{d['pdf']}: a draft, not for signature" for d in docs if path.is_dir() and d not in finals
    )
    for text in drafts:
        tell("skipped", text)
    protected = {manifest_path.resolve()} | {
        (recorded_path(folder, name)).resolve()
        for d in docs
        for name in [d["pdf"], *([d["docx"]] if isinstance(d.get("docx"), str) else [])]
        + [r["pdf"] for r in _records(d) + _set_aside_records(d)]
    }
    review = manifest.get("review") if manifest is not None else None
    listed = review.get("files") if isinstance(review, dict) else None
    protected |= {
        (folder / name).resolve() for name in listed or [] if isinstance(name, str) and name
    }
    signed: list[SignedFile] = []
    skipped: list[str] = []
    others: list[str] = []  # other participants' grants (their field is not this signer's)
    journal = journal_path(manifest_path)
    pending = manifest is not None and journal.exists()  # merged from an interrupted run
    todo: list[dict[str, Any] | None] = list(finals) if path.is_dir() else [None]
    try:
        for doc in todo:
            try:
                if doc is not None:
                    job = _folder_job(folder, doc, field)
                else:
                    job = _single(folder, path, docs, field, output, warnings, tell)
                other = _someone_else(job, field, credentials.subject, any_signer)
                stand_in = _someone_else(job, field, credentials.subject, False)
                if any_signer and stand_in is not None:  # signed all the same: said
                    warnings.append(stand_in.replace(" (give --any-signer", " (--any-signer"))
                    tell("warning", f"{stand_in.split(' (give', 1)[0]}: signed with --any-signer")
                if other is not None and doc is not None:  # another participant's grant
                    others.append(other)
                    tell("skipped", other)
                    continue
                if other is not None:
                    raise SigningError(other)
                note = _check_job(job, folder, protected, force)
                if note is not None:
                    skipped.append(note)
                    tell("skipped", note)
                    continue
                aside = _set_aside(job, folder, field)
                if aside:
                    tell("warning", f"{field} is signed again; set aside: {described(aside)}")
                if aside and job.entry is not None:  # recorded before anything is signed
                    _supersede(job.entry, aside, field, countersign=job.countersign)
                    line = {
                        "pdf": job.entry["pdf"],
                        "superseded": aside,
                        "field": field,
                        "countersign": job.countersign,
                    }
                    _append_line(journal, json.dumps(line, ensure_ascii=False))
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
                    "pdf": _recorded_name(folder, job.target),
                    "sha256": result.sha256,
                    "field": result.field,
                    "signer": result.signer,
                    "signed_at": result.signed_at,
                    **({"dated": result.dated} if result.dated is not None else {}),
                }
                _put_record(job.entry, record, countersign=job.countersign)
                line = {"pdf": job.entry["pdf"], "record": record, "countersign": job.countersign}
                _append_line(journal, json.dumps(line, ensure_ascii=False))
                pending = True
            tell("signed", result.describe())
    finally:
        if pending and manifest is not None:
            write_json(manifest_path, manifest)
            journal.unlink(missing_ok=True)
    return SignResult(
        tuple(signed), tuple(skipped), tuple(errors), tuple(warnings),
        manifest_path if pending else None, drafts, tuple(others),
    )  # fmt: skip


def _set_aside(job: _Job, folder: Path, field: str) -> list[dict[str, Any]]:
    """Signing ``field`` again (--force), or over a file in the way (--force): what is there
    is moved to ``superseded/`` beside it, never replaced. The moved files' records: this
    field's earlier signature (the Company's with the ones made on top of it), and a file
    no record names."""
    why = f"set aside by grantgen sign, which signed {field} again"
    aside: list[dict[str, Any]] = []
    if job.record is not None:
        aside.append(set_record_aside(folder, job.record, why, outside=True))
    if job.target.exists() or job.target.is_symlink():
        aside.append(set_file_aside(folder, job.target, why))
    return aside


def _someone_else(job: _Job, field: str, signer: str, any_signer: bool) -> str | None:
    """Why the holder of the certificate is not the one to sign this field of this packet:
    a participant's field is for the grant's participant."""
    if any_signer or field != PARTICIPANT_FIELD or job.entry is None:
        return None
    participant = job.entry.get("participant")
    if not isinstance(participant, str) or same_person(participant, signer):
        return None
    return (
        f"{job.source.name}: the grant is {participant}'s, and the certificate is "
        f"{signer!r} (give --any-signer to sign it all the same)"
    )


def _single(
    folder: Path,
    path: Path,
    docs: list[dict[str, Any]],
    field: str,
    output: Path | None,
    warnings: list[str],
    tell: Progress,
) -> _Job:
    job, warning = _file_job(folder, path, docs, field, output)
    if warning is not None:
        warnings.append(warning)
        tell("warning", warning)
    return job


def _check_job(job: _Job, folder: Path, protected: set[Path], force: bool) -> str | None:
    """Raise when the job must not run; a note when it is already done; None to sign."""
    mine = recorded_path(folder, job.record["pdf"]) if job.record is not None else None
    if mine is not None and not force:
        try:
            same = (
                mine.stat().st_size <= MAX_PDF_BYTES  # a larger one is not what sign wrote
                and sha256(mine.read_bytes()) == job.record["sha256"]  # type: ignore[index]
            )
        except OSError:
            same = None  # gone: sign again
        if same:
            return f"{mine.name}: already signed (use --force to sign again)"
        if same is False:
            raise SigningError(
                f"{mine}: changed since it was signed (its sha256 is not the manifest's); "
                "keep it aside and check it with grantgen verify, or sign again with --force"
            )
    if job.source_sha256 is not None and sha256(read_pdf(job.source)) != job.source_sha256:
        if job.countersign:
            raise SigningError(
                f"{job.source}: changed since it was signed (its sha256 is not the manifest's); "
                "check it with grantgen verify before adding another signature"
            )
        raise SigningError(
            f"{job.source}: not the file the manifest recorded (its sha256 differs); "
            "regenerate the batch rather than sign a changed packet"
        )
    target = job.target
    if target.is_dir():
        raise SigningError(f"{target}: is a folder; give the signed file's name")
    if not target.parent.is_dir():
        raise SigningError(f"{target}: cannot be written: no folder {target.parent}")
    if target.exists() or target.is_symlink():
        own = mine is not None and mine.resolve() == target.resolve()
        if not own and target.resolve() in protected:
            raise SigningError(
                f"{target}: the manifest lists this file (an original, another signed copy or "
                "a review file); it is never replaced by a signed file: choose another output"
            )
        if not own and not force:
            raise SigningError(
                f"{target}: already exists and the manifest does not record it as this "
                "signature's file; it is not replaced without --force"
            )
    return None


def _append_line(path: Path, line: str) -> None:
    """Append one line to ``path`` and flush it to disk."""
    try:  # never through a link: a journal linked to a user's file would be appended to
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(
                f"{path} is a symbolic link: grantgen never writes through a link; remove it"
            ) from exc
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (never seen half-written), leaving no temporary
    file behind even when interrupted (Ctrl-C)."""
    try:
        write_atomic(path, data)
    except OutputError as exc:
        cause = exc.__cause__
        reason = (cause.strerror or cause) if isinstance(cause, OSError) else exc
        raise SigningError(f"{path}: cannot be written: {reason}") from None


def iter_fields(reader: Any) -> Iterator[tuple[str, bool]]:
    """(name, signed?) for every signature field of a pyHanko reader."""
    for name, value, _ in enumerate_sig_fields(reader):
        yield str(name), value is not None
