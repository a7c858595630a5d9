"""Signing credentials: a PKCS#12 file, or a PEM certificate (with its chain) and PEM key.

Every failure names the file: a wrong or missing passphrase, a key that does not belong to the
certificate, a certificate that has expired or is not yet valid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import pkcs12 as asn1_pkcs12  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from generator.core.errors import CredentialError
from generator.signing.signpdf import Credentials


def load_credentials(
    cert: Path,
    key: Path | None = None,
    passphrase: bytes | None = None,
    *,
    at: datetime | None = None,
) -> Credentials:
    """Read a PKCS#12 file, or a PEM certificate (with its chain) and a PEM key (``key``, or the
    same file), and check that the certificate is valid at ``at`` (now)."""
    data = _read(cert)
    if key is None and b"-----BEGIN" not in data:
        private_key, leaf, chain = _load_pkcs12(cert, data, passphrase)
    else:
        certs = _pem_certs(cert, data)
        if key is None and b"PRIVATE KEY-----" not in data:
            raise CredentialError(
                cert, "holds a certificate but no private key: give the key's file with --key"
            )
        key_path = key or cert
        private_key = _load_pem_key(key_path, _read(key_path), passphrase)
        leaf = next((c for c in certs if c.public_key() == private_key.public_key()), None)
        if leaf is None:
            raise CredentialError(cert, f"no certificate here belongs to the key in {key_path}")
        chain = [c for c in certs if c is not leaf]
    if leaf.public_key() != private_key.public_key():
        raise CredentialError(cert, "the certificate does not belong to the private key")
    now = at or datetime.now(UTC)
    if now > leaf.not_valid_after_utc:
        raise CredentialError(
            cert, f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
        )
    if now < leaf.not_valid_before_utc:
        raise CredentialError(
            cert, f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
        )
    _check_key_usage(cert, leaf)
    names = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else leaf.subject.rfc4514_string()
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register_multiple([translate_pyca_cryptography_cert_to_asn1(c) for c in chain])
    signer = SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(leaf),
        signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
        cert_registry=registry,
    )
    return Credentials(signer, subject, leaf.not_valid_after_utc, cert)


def _check_key_usage(path: Path, leaf: x509.Certificate) -> None:
    """A certificate whose key usage is stated must allow signatures (digitalSignature or
    nonRepudiation, also called contentCommitment)."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if usage.digital_signature or usage.content_commitment:
        return
    names = {
        "key_encipherment": "keyEncipherment",
        "data_encipherment": "dataEncipherment",
        "key_agreement": "keyAgreement",
        "key_cert_sign": "keyCertSign",
        "crl_sign": "cRLSign",
    }
    allowed = [shown for name, shown in names.items() if getattr(usage, name)]
    raise CredentialError(
        path,
        "the certificate's key usage does not allow signing (it allows "
        f"{', '.join(allowed) or 'nothing'}; signing needs digitalSignature or "
        "nonRepudiation)",
    )


def _load_pkcs12(path: Path, data: bytes, passphrase: bytes | None) -> tuple[Any, Any, list[Any]]:
    try:
        private_key, leaf, chain = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError):
        try:
            asn1_pkcs12.Pfx.load(data)["auth_safe"].native  # noqa: B018 - parse only
        except Exception:
            raise CredentialError(path, "is not a PKCS#12 (.p12/.pfx) or PEM file") from None
        if not passphrase:
            raise CredentialError(path, "needs a passphrase", needs_passphrase=True) from None
        raise CredentialError(
            path, "wrong passphrase (the PKCS#12 file cannot be opened)"
        ) from None
    if private_key is None or leaf is None:
        raise CredentialError(path, "holds no private key with its certificate")
    return private_key, leaf, list(chain)


def _pem_certs(path: Path, data: bytes) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise CredentialError(path, "holds no PEM certificate")
    return certs


def _load_pem_key(path: Path, data: bytes, passphrase: bytes | None) -> Any:
    try:
        return serialization.load_pem_private_key(data, passphrase or None)
    except TypeError:  # encrypted key without a passphrase (or the reverse, which is harmless)
        if not passphrase:
            raise CredentialError(
                path, "the key needs a passphrase", needs_passphrase=True
            ) from None
        return serialization.load_pem_private_key(data, None)
    except ValueError as exc:
        if b"ENCRYPTED" in data and passphrase:
            raise CredentialError(path, "wrong passphrase for the private key") from None
        raise CredentialError(path, f"holds no usable PEM private key ({exc})") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialError(path, f"cannot be read: {exc.strerror or exc}") from None
