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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp.text import TextStampStyle

from .errors import GrantgenError
from .output import sha256, write_atomic, write_json

if TYPE_CHECKING:
    from .verify import VerifyResult

COMPANY_FIELD = "company_signature"
PARTICIPANT_FIELD = "participant_signature"
SIGNED_SUFFIX = ".signed.pdf"


class SigningError(GrantgenError):
    """Raised when a packet cannot be signed: unusable key or certificate, missing field, ..."""


class VerifyError(GrantgenError):
    """Raised when verification cannot run at all (no signed PDF, unreadable trust root, ...)."""


class CredentialError(SigningError):
    """Raised when the signing key or certificate cannot be used; names the file."""

    def __init__(self, path: Path, message: str, *, needs_passphrase: bool = False) -> None:
        self.path = path
        self.needs_passphrase = needs_passphrase
        super().__init__(f"{path}: {message}")


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
class Appearance:
    """What the visible signature shows: who signed, in what capacity, and when."""

    name: str
    title: str | None = None


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


@dataclass(frozen=True)
class SignResult:
    """What ``grantgen sign`` did: files signed, skipped as already signed, and failures."""

    signed: tuple[SignedFile, ...]
    skipped: tuple[str, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    manifest: Path | None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def http_timestamper(url: str, timeout: float = 10.0) -> Any:
    """The RFC 3161 time-stamp client for ``--timestamp-url`` (PAdES B-T)."""
    return HTTPTimeStamper(url, timeout=timeout)


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
    data = _read(source)
    when = (when or datetime.now(UTC)).replace(microsecond=0)
    look = appearance or Appearance(credentials.subject)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        fields = {name: value for name, value, _ in enumerate_sig_fields(writer.prev)}
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
    lines = ["Digitally signed by %(name)s", "%(title)s", "Date: %(date)s"]
    style = TextStampStyle(
        stamp_text="\n".join(lines if look.title else [lines[0], lines[2]]), border_width=0
    )
    params = {"name": look.name, "title": look.title or "", "date": _long_date(when)}
    signer = PdfSigner(meta, credentials.signer, timestamper=timestamper, stamp_style=style)
    try:
        out = signer.sign_pdf(writer, existing_fields_only=True, appearance_text_params=params)
    except Exception as exc:
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise SigningError(f"{source}: signing failed: {exc}{cause}") from None
    signed = out.getvalue()
    write_atomic(output, signed)
    return SignedFile(
        source=source,
        output=output,
        sha256=sha256(signed),
        field=field,
        signer=credentials.subject,
        signed_at=iso_time(when),
        level="B-T" if timestamper is not None else "B-B",
    )


def iso_time(when: datetime) -> str:
    """UTC, to the second: ``2026-11-27T09:25:04Z``."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _long_date(when: datetime) -> str:
    return f"{when:%B} {when.day}, {when.year}"


def signed_name(pdf: Path) -> Path:
    """``<grant_id>.pdf`` → ``<grant_id>.signed.pdf``, beside it."""
    return pdf.with_name(pdf.stem + SIGNED_SUFFIX)


def read_manifest(path: Path) -> dict[str, Any]:
    """A batch's manifest.json; raises naming the file when it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SigningError(f"{path}: no manifest (is this a folder grantgen generated?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SigningError(f"{path}: cannot be read as a manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise SigningError(f"{path}: not a grantgen manifest (no 'documents' list)")
    return data


def sign_batch(
    path: Path,
    credentials: Credentials,
    *,
    field: str = COMPANY_FIELD,
    appearance: Appearance | None = None,
    timestamper: TimeStamper | None = None,
    output: Path | None = None,
    force: bool = False,
    plan_id: str | None = None,
) -> SignResult:
    """Sign every packet a batch's manifest lists (``path`` a folder), or one PDF.

    Signed files go beside the originals as ``<grant_id>.signed.pdf`` and are recorded in the
    manifest, rewritten atomically. A packet whose bytes are no longer the ones the manifest
    recorded is refused; one already signed is skipped unless ``force``. ``plan_id``: the plan
    whose officer the signature shows; a batch the manifest records under another is refused.
    """
    folder = path if path.is_dir() else path.parent
    manifest_path = folder / "manifest.json"
    manifest: dict[str, Any] | None = None
    if path.is_dir() or manifest_path.is_file():
        manifest = read_manifest(manifest_path)
        made_under = manifest.get("plan")
        if plan_id is not None and made_under not in (None, plan_id):
            raise SigningError(
                f"{manifest_path}: the batch was made under plan {made_under!r}, not "
                f"{plan_id!r}: give that plan's file with --plan (the signature shows its "
                "officer)"
            )
    docs: list[dict[str, Any]] = [d for d in (manifest or {}).get("documents", []) if _is_doc(d)]
    if path.is_dir() and docs and all(str(d["pdf"]).endswith(".draft.pdf") for d in docs):
        raise SigningError(
            f"{path}: a folder of --draft packets (DRAFT on every page, no signature fields): "
            "drafts are for review, not for signature; generate the final batch and sign that"
        )
    todo: list[tuple[Path, Path, dict[str, Any] | None]]
    if path.is_dir():
        todo = [(folder / d["pdf"], signed_name(folder / d["pdf"]), d) for d in docs]
        if output is not None:
            raise SigningError("--output names one signed file: use it with one PDF, not a folder")
    else:
        entry = next((d for d in docs if (folder / d["pdf"]).resolve() == path.resolve()), None)
        todo = [(path, output or signed_name(path), entry)]
    signed: list[SignedFile] = []
    skipped: list[str] = []
    errors: list[str] = []
    changed = False
    for source, target, entry in todo:
        try:
            state = None if entry is None or force else _signed_state(folder, entry, field)
            if state == "same":
                skipped.append(f"{target.name}: already signed (use --force to sign again)")
                continue
            if state == "changed":
                raise SigningError(
                    f"{target}: changed since it was signed (its sha256 is not the manifest's); "
                    "keep it aside and check it with grantgen verify, or sign again with --force"
                )
            if entry is not None and sha256(_read(source)) != entry["sha256"]["pdf"]:
                raise SigningError(
                    f"{source}: not the file the manifest recorded (its sha256 differs); "
                    "regenerate the batch rather than sign a changed packet"
                )
            result = sign_pdf(
                source, target, credentials, field=field, appearance=appearance,
                timestamper=timestamper,
            )  # fmt: skip
        except SigningError as exc:
            errors.append(str(exc))
            continue
        signed.append(result)
        if entry is not None:
            changed = True
            entry["signed"] = {
                "pdf": target.relative_to(folder).as_posix()
                if target.parent.resolve() == folder.resolve()
                else str(target),
                "sha256": result.sha256,
                "field": result.field,
                "signer": result.signer,
                "signed_at": result.signed_at,
            }
    warnings = []
    if appearance is not None and appearance.name.casefold() != credentials.subject.casefold():
        warnings.append(
            f"the certificate is {credentials.subject!r}, "
            f"but the signature shows {appearance.name!r}"
        )
    if changed and manifest is not None:
        write_json(manifest_path, manifest)
    return SignResult(
        tuple(signed), tuple(skipped), tuple(errors), tuple(warnings),
        manifest_path if changed else None,
    )  # fmt: skip


def _is_doc(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("pdf"), str)
        and Path(doc["pdf"]).name == doc["pdf"]  # a file in the batch folder, nothing outside
        and isinstance(doc.get("sha256"), dict)
        and isinstance(doc["sha256"].get("pdf"), str)
    )


def _signed_state(folder: Path, entry: dict[str, Any], field: str) -> str | None:
    """``same`` when the signed packet the manifest records is there unchanged, ``changed``
    when it is there with other bytes, None when it was never signed or is gone."""
    done = entry.get("signed")
    if not isinstance(done, dict) or done.get("field") != field:
        return None
    target = folder / str(done.get("pdf"))
    try:
        return "same" if sha256(target.read_bytes()) == done.get("sha256") else "changed"
    except OSError:
        return None


def iter_fields(reader: Any) -> Iterator[tuple[str, bool]]:
    """(name, signed?) for every signature field of a pyHanko reader."""
    for name, value, _ in enumerate_sig_fields(reader):
        yield str(name), value is not None


def verify_path(
    path: Path, *, trust: Sequence[Path] = (), manifest: Path | None = None
) -> VerifyResult:
    """Check every signed PDF in a batch folder, or one PDF (see :mod:`generator.verify`)."""
    from .verify import verify_path as run

    return run(path, trust=trust, manifest=manifest)
