"""One signature checked with pyHanko: who signed which field when, whether the signed bytes
are intact and the signer trusted (only the roots given: no default trust store, no network),
what changed after it, and a damaged signature reported rather than crashing the check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel

from generator.core.errors import VerifyError
from generator.signing.signedcontent import clip
from generator.signing.signfiles import iso_time

UNREADABLE = "?"
"""The signer shown for a signature whose value cannot be read."""

#: An officer's certificate may carry either usage; pyHanko's default wants non-repudiation.
KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})

_CHANGES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation data",
    ModificationLevel.FORM_FILLING: "later signatures / form filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other changes",
}


@dataclass(frozen=True)
class SignatureCheck:
    """One signature: who signed which field, and what was found wrong (nothing, if ok)."""

    field: str
    signer: str
    signed_at: str | None
    level: str
    intact: bool
    trusted: bool
    changes_after: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def load_trust_roots(paths: Sequence[Path]) -> list[Any]:
    """Certificates (PEM, one or many per file, or DER) to trust as roots."""
    roots: list[Any] = []
    for path in paths:
        try:
            data = path.read_bytes()
            certs = (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        except OSError as exc:
            raise VerifyError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        except ValueError:
            raise VerifyError(
                f"{path}: not a certificate (--trust takes a root certificate, PEM or DER)"
            ) from None
        roots += [translate_pyca_cryptography_cert_to_asn1(c) for c in certs]
    return roots


@dataclass(frozen=True)
class _Damaged:
    """A filled signature field whose signature value (the CMS in ``/Contents``) cannot be
    read: it is reported broken, and its byte range still counts for the approved content."""

    field_name: str
    byte_range: Any
    signed_revision: int
    reason: str


def embedded(reader: Any) -> list[Any]:
    """The signatures of the document in signing order (document time-stamps aside): pyHanko's
    embedded signature, or :class:`_Damaged` when its signature value cannot be read."""
    found: list[Any] = []
    for name, value, field in enumerate_sig_fields(reader, filled_status=True):
        sig_object = value.get_object()
        if sig_object.get("/Type", "/Sig") != "/Sig":
            continue
        try:
            sig = EmbeddedPdfSignature(reader, field, name)
            _signer(sig)  # the CMS is read lazily: reach the parts the report shows
            _ = sig.self_reported_timestamp, sig.external_md_algorithm
            found.append(sig)
        except Exception as exc:
            found.append(_damaged(reader, str(name), value, exc))
    return sorted(found, key=lambda s: int(s.signed_revision))


def _damaged(reader: Any, name: str, value: Any, exc: Exception) -> _Damaged:
    sig_object = value.get_object()
    try:
        byte_range = [int(v) for v in sig_object.raw_get("/ByteRange")]
        if len(byte_range) != 4:
            raise ValueError
    except Exception:
        byte_range = None
    try:
        revision = int(reader.xrefs.get_last_change(value.reference))
    except Exception:
        revision = 0
    return _Damaged(name, byte_range, revision, f"{type(exc).__name__}: {exc}")


def _signer(sig: Any) -> str:
    subject = sig.signer_cert.subject
    return str(subject.native.get("common_name") or subject.human_friendly)


def check_signature(sig: Any, context: Any) -> SignatureCheck:
    if isinstance(sig, _Damaged):
        problem = f"broken: the signature value is damaged ({clip(sig.reason, 120)})"
        return SignatureCheck(sig.field_name, UNREADABLE, None, "?", False, False, "?", (problem,))
    field, signer = str(sig.field_name), _signer(sig)
    when = sig.self_reported_timestamp
    signed_at = iso_time(when) if when is not None else None
    try:
        status = validate_pdf_signature(sig, context, key_usage_settings=KEY_USAGE)
    except Exception as exc:
        problem = (
            "broken: the signature cannot be checked: its value is damaged or of a kind not "
            f"supported ({clip(f'{type(exc).__name__}: {exc}', 120)})"
        )
        return SignatureCheck(field, signer, signed_at, "?", False, False, "?", (problem,))
    problems: list[str] = []
    intact = bool(status.intact and status.valid)
    if not status.intact:
        problems.append("broken: the signed bytes were changed after signing (digest mismatch)")
    elif not status.valid:
        problems.append("broken: the signature value does not verify with the signer's key")
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append("the signature does not cover a whole revision of the file")
    level = status.modification_level
    changes = _CHANGES.get(level, "unknown") if level is not None else "not analysed"
    if intact and status.docmdp_ok is False:
        diff = status.diff_result
        detail = changes
        if isinstance(diff, SuspiciousModification):  # pyHanko's first line says what changed
            detail = clip(str(diff).splitlines()[0] if str(diff) else changes, 120)
        problems.append(f"the document was changed after signing, which it forbids: {detail}")
    if intact and not status.trusted:
        indic = status.trust_problem_indic
        reason = str(getattr(indic, "name", indic or "no trusted path"))
        reason = reason.lower().replace("_", " ")
        problems.append(
            f"intact but untrusted signer certificate ({reason}); add its root with --trust"
        )
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid):
        problems.append("its signature time-stamp token is broken")
    elif stamp is not None and not stamp.trusted:
        problems.append("its time-stamp authority is not trusted; add its root with --trust")
    if stamp is not None:
        signed_at = iso_time(stamp.timestamp)
    return SignatureCheck(
        field,
        signer,
        signed_at,
        "B-T" if stamp is not None else "B-B",
        intact,
        bool(status.trusted),
        changes,
        tuple(problems),
    )
