"""Tools for the signing tests: a throw-away PKI made with ``cryptography`` (no key is ever
stored in the repository), a time-stamp server on the loopback interface for PAdES B-T, three
ways to tamper with a signed packet, the verdicts of independent validators, and real batches."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper

from generator.pipeline import GenerateOptions, generate

PASSPHRASE = b"correct horse battery staple"
PYHANKO = Path(sys.executable).with_name("pyhanko")


@dataclass(frozen=True)
class Pki:
    ca: Path
    """The test root CA certificate (PEM)."""
    other_ca: Path
    """A root CA that issued none of the certificates below."""
    officer_p12: Path
    officer_cert: Path
    """PEM certificate followed by the CA certificate."""
    officer_key: Path
    """PEM private key, encrypted with the passphrase."""
    participant_p12: Path
    expired_p12: Path
    passfile: Path
    wrong_passfile: Path
    tsa: Any
    """A pyHanko DummyTimeStamper whose certificate the test CA issued."""
    ca_key: Any = None
    """The test root CA's private key (to issue more certificates)."""


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "grantgen test PKI"),
        ]
    )


def _usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _root(common_name: str, now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate],
    common_name: str,
    valid: tuple[dt.datetime, dt.datetime],
    *,
    tsa: bool = False,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if tsa:
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        builder = builder.add_extension(eku, critical=True)
    return key, builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _p12(
    path: Path, leaf: tuple[rsa.RSAPrivateKey, x509.Certificate], ca: x509.Certificate
) -> Path:
    encryption = serialization.BestAvailableEncryption(PASSPHRASE)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"signer", leaf[0], leaf[1], [ca], encryption)
    )
    return path


def make_pki(folder: Path) -> Pki:
    """Root CA, officer (PKCS#12 and PEM), participant, expired officer, TSA; passphrase files."""
    now = dt.datetime.now(dt.UTC)
    ca = _root("grantgen Test Root CA", now)
    _, other = _root("Some Other Root CA", now)
    current = (now - dt.timedelta(days=1), now + dt.timedelta(days=365))
    officer = _leaf(ca, "Julie M.B. Bradley", current)
    participant = _leaf(ca, "Margaret A. Ellison", current)
    expired = _leaf(
        ca, "Former Officer", (now - dt.timedelta(days=400), now - dt.timedelta(days=35))
    )
    tsa_key, tsa_cert = _leaf(ca, "grantgen Test TSA", current, tsa=True)
    (folder / "ca.pem").write_bytes(_pem(ca[1]))
    (folder / "other-ca.pem").write_bytes(_pem(other))
    (folder / "officer.cert.pem").write_bytes(_pem(officer[1]) + _pem(ca[1]))
    (folder / "officer.key.pem").write_bytes(
        officer[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE),
        )
    )
    (folder / "pass.txt").write_bytes(PASSPHRASE + b"\n")
    (folder / "wrong.txt").write_bytes(b"not the passphrase\n")
    stamper = DummyTimeStamper(
        tsa_cert=translate_pyca_cryptography_cert_to_asn1(tsa_cert),
        tsa_key=translate_pyca_cryptography_key_to_asn1(tsa_key),
    )
    return Pki(
        ca=folder / "ca.pem",
        other_ca=folder / "other-ca.pem",
        officer_p12=_p12(folder / "officer.p12", officer, ca[1]),
        officer_cert=folder / "officer.cert.pem",
        officer_key=folder / "officer.key.pem",
        participant_p12=_p12(folder / "participant.p12", participant, ca[1]),
        expired_p12=_p12(folder / "expired.p12", expired, ca[1]),
        passfile=folder / "pass.txt",
        wrong_passfile=folder / "wrong.txt",
        tsa=stamper,
        ca_key=ca[0],
    )


@contextmanager
def tsa_server(
    stamper: Any, *, answers: int | None = None, requests: list[int] | None = None
) -> Iterator[str]:
    """An RFC 3161 time-stamp server on 127.0.0.1 answering with ``stamper``; yields its URL.
    ``answers``: how many requests it answers before it fails every other one (HTTP 500);
    ``requests`` gets one item per request."""
    seen = requests if requests is not None else []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(len(body))
            if answers is not None and len(seen) > answers:
                self.send_error(500, "time-stamp service down")
                return
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def flip_byte(data: bytes, forged: Path) -> bytes:
    changed = bytearray(data)
    changed[data.index(b"Nonstatutory")] ^= 0x01  # in the document title, inside the signed range
    return bytes(changed)


def append_page(data: bytes, forged: Path) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    box = generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 612, 792)])
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): box,
            generic.NameObject("/Resources"): generic.DictionaryObject(),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_name(data: bytes, forged: Path) -> bytes:
    """A new revision whose first page is the forged packet's: the participant's name changed."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    source = PdfFileReader(io.BytesIO(forged.read_bytes())).root["/Pages"]["/Kids"][0]
    page_ref, *_ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    for key in ("/Contents", "/Resources"):
        page[generic.NameObject(key)] = writer.import_object(source.get_object().raw_get(key))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pyhanko_says(pdf: Path, trust: Path) -> tuple[int, str] | None:
    """``pyhanko sign validate``: exit status and summary, or None when not installed."""
    if not PYHANKO.exists():
        return None
    cmd = [PYHANKO, "sign", "validate", "--no-revocation-check", "--trust", trust]
    out = subprocess.run([*cmd, "--trust-replace", pdf], capture_output=True, text=True)
    return out.returncode, out.stdout


def pdfsig_ok(pdf: Path) -> bool | None:
    """poppler's verdict: every signature valid and the last one covers the whole file."""
    if shutil.which("pdfsig") is None:
        return None
    out = subprocess.run(["pdfsig", "-nocert", pdf], capture_output=True, text=True).stdout
    blocks = [b for b in out.split("Signature #")[1:] if "Signature Validation:" in b]
    valid = all("Signature is Valid." in b for b in blocks)
    return bool(blocks) and valid and "- Total document signed" in blocks[-1]


def independent_agree(pdf: Path, trust: Path, ok: bool) -> None:
    said = pyhanko_says(pdf, trust)
    if said is not None:
        assert (said[0] == 0) == ok, said
    verdict = pdfsig_ok(pdf)
    if verdict is not None:
        assert verdict == ok


def make_batch(root: Path, name: str, grants: list[tuple[str, str]]) -> Path:
    """Generate a batch (real LibreOffice) of option grants to the named participants."""
    lines = ["grant_id,participant,address,grant_date,shares,exercise_price,award_type,is_employee"]
    lines += [
        f'{gid},{who},1 Main Street,2005-05-16,"15,000",$3.25,option,no' for gid, who in grants
    ]
    path = root / f"{name}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:  # a share ledger of its own, if the pipeline keeps one
        mp.setenv("GRANTGEN_LEDGER", str(root / f"{name}-ledger.sqlite"))
        result = generate(GenerateOptions(grants=path, out=root / name))
    assert len(result.documents) == len(grants), result.errors
    return root / name


def make_encipher_only(folder: Path, ca_pem: Path) -> tuple[Path, Path]:
    """A self-signed certificate (and its PEM key, no passphrase) whose key usage allows only
    keyEncipherment: not a signing certificate."""
    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Encipher Only"))
        .issuer_name(_name("Encipher Only"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "encipher.pem").write_bytes(_pem(cert))
    (folder / "encipher.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "encipher.pem", folder / "encipher.key.pem"


def draw_over_text(data: bytes) -> bytes:
    """An incremental update that adds a white box and a drawing to page 1: no text changes, so
    a comparison of extracted text cannot see it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref, *_ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    ops = b"q 1 1 1 rg 100 500 200 20 re f Q q 0 0 0 RG 1 w 110 505 m 290 515 l S Q"
    stream = writer.add_object(generic.StreamObject(stream_data=ops))
    old = page.raw_get("/Contents")
    kids = list(old) if isinstance(old, generic.ArrayObject) else [old]
    page[generic.NameObject("/Contents")] = generic.ArrayObject([*kids, stream])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_signer(pki: Pki, folder: Path, common_name: str, stem: str) -> Path:
    """A PKCS#12 file (passphrase :data:`PASSPHRASE`) for ``common_name``, issued by the test
    CA."""
    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    now = dt.datetime.now(dt.UTC)
    valid = (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    leaf = _leaf((pki.ca_key, ca_cert), common_name, valid)
    return _p12(folder / f"{stem}.p12", leaf, ca_cert)


def stamp_text(pdf: Path, field: str) -> str:
    """The text the visible signature of ``field`` shows (poppler's pdftotext, which reads
    annotation appearances, over the widget's rectangle), its lines joined by single spaces."""
    from pypdf import PdfReader

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    for number, page in enumerate(PdfReader(str(pdf)).pages, start=1):
        for annot in page.get("/Annots") or []:
            widget = annot.get_object()
            if widget.get("/T") != field:
                continue
            left, bottom, right, top = (float(v) for v in widget["/Rect"])
            height = float(page.mediabox.top)
            box = [left, height - top, right - left, top - bottom]
            crop = [f"-{k}={round(v)}" for k, v in zip(("x", "y", "W", "H"), box, strict=True)]
            crop = [part for item in crop for part in item.split("=")]
            out = subprocess.run(
                ["pdftotext", "-q", "-f", str(number), "-l", str(number), "-r", "72", *crop,
                 str(pdf), "-"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            return " ".join(out.replace("_", " ").split())
    raise AssertionError(f"no widget {field} in {pdf}")
