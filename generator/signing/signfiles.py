"""The files sign and verify work on: the signature fields, the signed copies' names, a PDF read
only when its size, header and end show it can be one, a signed file written in place of
nothing."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyhanko.sign.fields import enumerate_sig_fields

from generator.core.errors import OutputError, SigningError
from generator.core.output import write_atomic

COMPANY_FIELD = "company_signature"


def same_person(a: str, b: str) -> bool:
    """Whether two names are one person's as a certificate and a document give them: accents,
    case, dots and spacing aside ("Julie M.B. Bradley" is "julie m. b. bradley")."""

    def key(name: str) -> str:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
        )
        return " ".join(re.sub(r"[.,]", " ", plain.casefold()).split())

    return key(a) == key(b)


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


def iso_time(when: datetime) -> str:
    """UTC, to the second: ``2026-11-27T09:25:04Z``."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
