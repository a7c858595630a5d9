"""Signing one PDF: a PAdES signature made with pyHanko in one of its fields, as an incremental
update (the signed file starts with the exact bytes it signs).

The first signature in a document certifies it, with a DocMDP level that allows form filling
and signing only: the participant's field stays open to be signed afterwards and any other
change voids the Company's signature. A later signature is an approval signature.
"""

from __future__ import annotations

import io
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
from generator.core.output import sha256
from generator.signing.signfiles import COMPANY_FIELD, ENCRYPTED, iso_time, read_pdf, write_file
from generator.signing.timestamps import timestamp_failure


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
    when = (when or datetime.now(UTC)).replace(microsecond=0)
    look = appearance or Appearance(credentials.subject)
    writer, certify = _open_field(source, read_pdf(source), field)
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
        dated = long_date(look.local(when)) if look.dated else None
        if dated is not None:
            fill_date(writer, dated)
    except SigningError as exc:
        raise SigningError(f"{source}: {exc}") from None
    _producer_as_xmp_will_say(writer)
    signer = PdfSigner(meta, credentials.signer, timestamper=timestamper, stamp_style=style)
    signed = _signed_bytes(source, signer, writer, timestamper)
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


def _open_field(source: Path, data: bytes, field: str) -> tuple[IncrementalPdfFileWriter, bool]:
    """A writer for the signature of ``field`` on ``data``, and whether it is the first
    signature (which certifies the document); raises when the field is missing or signed."""
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
    return writer, all(value is None for value in fields.values())


def _signed_bytes(
    source: Path,
    signer: PdfSigner,
    writer: IncrementalPdfFileWriter,
    timestamper: TimeStamper | None,
) -> bytes:
    """The signed document; a time-stamp server that gave none is a :class:`TimestampError`."""
    try:
        return bytes(signer.sign_pdf(writer, existing_fields_only=True).getvalue())
    except Exception as exc:
        stamp = timestamp_failure(exc) if timestamper is not None else None
        if stamp is not None:
            url = getattr(timestamper, "url", "")
            server = f"the time-stamp server {url}" if url else "the time-stamp server"
            raise TimestampError(f"{source}: {server} gave no time-stamp: {stamp}") from None
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise SigningError(f"{source}: signing failed: {exc}{cause}") from None


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
