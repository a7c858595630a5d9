"""What one signing run does with each packet (a job): which file is signed into which, what
the manifest records of the field already, whose field it is, what is in the way, and the
journal line noted as each signature is made."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core.errors import OutputError, SigningError
from generator.core.layout import (
    PARTICIPANT_FIELD,
    SIGNED_SUFFIX,
    countersigned_name,
    is_draft_name,
    signed_name,
)
from generator.core.output import sha256
from generator.core.superseded import set_file_aside, set_record_aside
from generator.signing.signfiles import MAX_PDF_BYTES, read_pdf, same_person
from generator.terms.manifest import Listed, Signature, recorded_path

Progress = Callable[[str, str], None]
"""Told of each step as it happens: (``signed`` | ``skipped`` | ``warning`` | ``error``, text)."""


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path
    entry: Listed | None
    countersign: bool
    """Adds a signature on top of the signed copy the manifest records."""
    record: Signature | None
    """The manifest's record of this field's signature, if it was made before."""
    source_sha256: str | None
    """The sha256 the manifest recorded for the source."""


def set_aside_files(doc: Listed) -> list[str]:
    """The files of the signed copies set aside in ``superseded/``, as recorded."""
    found: list[Any] = []
    for top in doc.superseded:
        later = top.get("countersigned")
        found += [top, *(later if isinstance(later, list) else [])]
    return [
        r["pdf"]
        for r in found
        if isinstance(r, dict) and isinstance(r.get("pdf"), str) and r["pdf"]
    ]


def folder_job(folder: Path, doc: Listed, field: str) -> Job:
    original = folder / doc.pdf
    company = doc.signed
    if company is None or company.field == field:
        return Job(original, signed_name(original), doc, False, company, doc.sha256("pdf"))
    prior = company.made_on(field)
    base = recorded_path(folder, company.pdf)
    target = recorded_path(folder, prior.pdf) if prior else countersigned_name(original, field)
    return Job(base, target, doc, True, prior, company.sha256)


def _file_job(
    folder: Path, path: Path, docs: list[Listed], field: str, output: Path | None
) -> tuple[Job, str | None]:
    """The job for one PDF, and a warning when no manifest entry covers it."""
    here = path.resolve()
    for doc in docs:
        company = doc.signed
        if (folder / doc.pdf).resolve() == here:
            if company is not None and company.field != field:
                raise SigningError(
                    f"{path}: the manifest records its signed copy {company.pdf} "
                    f"({company.field}); sign that file, so that the {field} signature is "
                    "added to it"
                )
            target = output or signed_name(path)
            return Job(path, target, doc, False, company, doc.sha256("pdf")), None
        if company is not None and recorded_path(folder, company.pdf).resolve() == here:
            prior = company.made_on(field)
            default = recorded_path(folder, prior.pdf) if prior else countersigned_name(path, field)
            return Job(path, output or default, doc, True, prior, company.sha256), None
    if is_draft_name(path.name):
        raise SigningError(f"{path}: {DRAFT_REASON}")
    target = output or (
        countersigned_name(path, field) if path.name.endswith(SIGNED_SUFFIX) else signed_name(path)
    )
    warning = (
        f"{path}: no manifest entry lists this file, so it was not checked against an approved "
        "packet before signing"
    )
    return Job(path, target, None, False, None, None), warning


DRAFT_REASON = (
    "a --draft packet (DRAFT on every page, no signature fields): drafts are for review, "
    "not for signature; generate the final batch and sign that"
)


def set_aside_job(job: Job, folder: Path, field: str) -> list[dict[str, Any]]:
    """Signing ``field`` again (--force), or over a file in the way (--force): what is there
    is moved to ``superseded/`` beside it, never replaced. The moved files' records: this
    field's earlier signature (the Company's with the ones made on top of it), and a file
    no record names."""
    why = f"set aside by grantgen sign, which signed {field} again"
    aside: list[dict[str, Any]] = []
    if job.record is not None:
        aside.append(set_record_aside(folder, job.record.data, why, outside=True))
    if job.target.exists() or job.target.is_symlink():
        aside.append(set_file_aside(folder, job.target, why))
    return aside


def someone_else(job: Job, field: str, signer: str, any_signer: bool) -> str | None:
    """Why the holder of the certificate is not the one to sign this field of this packet:
    a participant's field is for the grant's participant."""
    if any_signer or field != PARTICIPANT_FIELD or job.entry is None:
        return None
    participant = job.entry.participant
    if participant is None or same_person(participant, signer):
        return None
    return (
        f"{job.source.name}: the grant is {participant}'s, and the certificate is "
        f"{signer!r} (give --any-signer to sign it all the same)"
    )


def single_job(
    folder: Path,
    path: Path,
    docs: list[Listed],
    field: str,
    output: Path | None,
    warnings: list[str],
    tell: Progress,
) -> Job:
    job, warning = _file_job(folder, path, docs, field, output)
    if warning is not None:
        warnings.append(warning)
        tell("warning", warning)
    return job


def check_job(job: Job, folder: Path, protected: set[Path], force: bool) -> str | None:
    """Raise when the job must not run; a note when it is already done; None to sign."""
    record = job.record
    mine = recorded_path(folder, record.pdf) if record is not None else None
    if record is not None and mine is not None and not force:
        try:
            same = (
                mine.stat().st_size <= MAX_PDF_BYTES  # a larger one is not what sign wrote
                and sha256(mine.read_bytes()) == record.sha256
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


def append_line(path: Path, line: str) -> None:
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
