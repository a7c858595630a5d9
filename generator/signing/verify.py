"""Verify signed packets: every signature intact, no change after signing except later signatures
and form filling, and the signed content the approved one.

The approved packet is the ``<grant_id>.pdf`` whose sha256 the batch's manifest holds. Signing
is an incremental update, so a genuine signed packet starts with exactly those bytes: some
revision before the first signature must hash to the manifest's value (the chain leads back to
the manifest entry), and the text of every signed revision — and of the file as it is now — must
be the text of that approved packet.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from generator.assembling.assemble import RECORD_KEY, RECORD_TERMS
from generator.assembling.dateline import date_value
from generator.core.errors import SigningError, VerifyError
from generator.core.layout import DRAFT_SUFFIX, PARTICIPANT_FIELD, manifest_path
from generator.signing.sigcheck import UNREADABLE as UNREADABLE
from generator.signing.sigcheck import SignatureCheck as SignatureCheck
from generator.signing.sigcheck import check_signature, embedded
from generator.signing.sigcheck import load_trust_roots as load_trust_roots
from generator.signing.signedcontent import check_approved
from generator.signing.signfiles import (
    COMPANY_FIELD,
    ENCRYPTED,
    iter_fields,
    pdf_problem,
    same_person,
)
from generator.signing.signjobs import DRAFT_REASON
from generator.terms.manifest import Listed, Manifest, recorded_path

NO_SIGNATURE = "no signature"


@dataclass(frozen=True)
class FileCheck:
    """One PDF: its signatures, its empty signature fields, and whether it is the approved one."""

    path: str
    grant_id: str | None
    signatures: tuple[SignatureCheck, ...]
    empty_fields: tuple[str, ...]
    approved: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.ok for s in self.signatures)

    @property
    def reasons(self) -> list[str]:
        """Every problem, signature problems prefixed with their field."""
        found = [f"{s.field}: {p}" for s in self.signatures for p in s.problems]
        return list(self.problems) + found


@dataclass(frozen=True)
class VerifyResult:
    files: tuple[FileCheck, ...]
    drafts: tuple[str, ...] = ()
    """Draft packets in the folder, skipped: they are not for signature."""

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(f.ok for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        files = [dict(asdict(f), ok=f.ok) for f in self.files]
        for out, check in zip(files, self.files, strict=True):
            out["signatures"] = [dict(asdict(s), ok=s.ok) for s in check.signatures]
        return {"ok": self.ok, "files": files, "drafts_skipped": list(self.drafts)}


def verify_path(
    path: Path,
    *,
    trust: Sequence[Path] = (),
    manifest: Path | None = None,
    any_signer: bool = False,
) -> VerifyResult:
    """Check every signed PDF in a batch folder (unsigned ones and drafts are skipped), or one
    PDF."""
    roots = load_trust_roots(trust)
    folder = path if path.is_dir() else path.parent
    if not path.exists():
        raise VerifyError(f"{path}: no such file or folder")
    manifest = manifest or manifest_path(folder)
    docs: list[Listed] = []
    checks: list[FileCheck | None] = []
    officer: str | None = None  # the Company's signer, as the manifest names the officer
    if manifest.is_file():
        try:
            read = Manifest.read(manifest)
            docs, unusable = read.usable()
        except SigningError as exc:
            raise VerifyError(str(exc)) from None
        officer = read.officer
        if unusable:  # named, and the run fails; the usable entries are still checked
            problems = tuple(p.removeprefix(f"{manifest}: ") for p in unusable)
            checks.append(FileCheck(str(manifest), None, (), (), False, problems))
    files = sorted(path.glob("*.pdf")) if path.is_dir() else [path]
    drafts = tuple(f.name for f in files if f.name.endswith(DRAFT_SUFFIX) and path.is_dir())
    files = [f for f in files if f.name not in drafts]
    who = None if any_signer else officer or ""
    checks += [
        check_file(f, roots, docs, must_be_signed=not path.is_dir(), officer=who) for f in files
    ]
    if path.is_dir():  # every signed copy the manifest records must be there, and is checked
        seen = {f.resolve() for f in files}
        for doc in docs:
            for record in doc.signatures:
                where = recorded_path(folder, record.pdf)
                if where.resolve() in seen:
                    continue
                seen.add(where.resolve())
                if where.is_file():
                    checks.append(check_file(where, roots, docs, officer=who))
                    continue
                missing = ("missing: the manifest records this signed packet",)
                checks.append(FileCheck(str(where), doc.grant_id, (), (), False, missing))
    found = tuple(c for c in checks if c is not None)
    if not found:
        raise VerifyError(f"{path}: no signed PDF to verify (sign the batch with grantgen sign)")
    return VerifyResult(found, drafts)


def check_file(
    file: Path,
    roots: list[Any],
    docs: list[Listed],
    *,
    must_be_signed: bool = True,
    officer: str | None = None,
    named: bool = True,
) -> FileCheck | None:
    """Verify one PDF; None for an unsigned one unless ``must_be_signed``. ``officer``: the
    signing officer the Company's signature must name ("": not known, not checked), and the
    grant's participant the participant's; None: who signed is not checked. ``named``: the
    file's name is a grant's (``<grant_id>.signed.pdf``), and must be the grant it holds;
    False for a file that came back under any name."""
    name = str(file)
    problem = pdf_problem(file)  # found from the size and the first bytes, before reading
    if problem is not None:
        return FileCheck(name, None, (), (), False, (problem,))
    try:
        data = file.read_bytes()
        reader = PdfFileReader(io.BytesIO(data))
        if reader.encrypted:
            return FileCheck(name, None, (), (), False, (ENCRYPTED,))
        sigs = embedded(reader)
        fields = list(iter_fields(reader))
    except Exception as exc:
        return FileCheck(name, None, (), (), False, (f"not a readable PDF: {exc}",))
    if not sigs:
        if not must_be_signed:
            return None
        why = DRAFT_REASON if file.name.endswith(DRAFT_SUFFIX) else NO_SIGNATURE
        return FileCheck(name, None, (), tuple(n for n, _ in fields), False, (why,))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    signatures = tuple(check_signature(sig, context) for sig in sigs)
    grant_id, problems = check_approved(file.name if named else "", data, sigs, docs)
    record, found = _signed_record(data, sigs)
    problems += found
    entry = next((d for d in docs if d.grant_id == grant_id), None)
    if record is not None and entry is not None:
        problems += _against_manifest(record, entry, officer)
    problems += _date_line(data, sigs, entry)
    if officer is not None:
        if record is None:
            problems.append(
                "the signed packet carries no grant record, so who had to sign it cannot be "
                "proved (--any-signer does not check the signers)"
            )
        else:
            signatures = tuple(
                _who(s, record.get("officer"), record.get("participant")) for s in signatures
            )
    empty = tuple(n for n, signed in fields if not signed)
    archival = tuple(f"not PDF/A-2b: {p}" for p in _pdfa(data))
    return FileCheck(name, grant_id, signatures, empty, not problems, (*problems, *archival))


def _pdfa(data: bytes) -> list[str]:
    """What keeps the file as it is now from being PDF/A-2b, by grantgen's offline check
    (:mod:`generator.assembling.conformance`; veraPDF checks more)."""
    from generator.assembling.conformance import pdfa_problems

    try:
        return pdfa_problems(data)
    except Exception as exc:  # a file the checks above found readable: say so, never crash
        return [f"the conformance check could not read it ({type(exc).__name__}: {exc})"]


def _signature_ends(sigs: list[Any]) -> list[int]:
    """Where the revision each signature covers ends (signatures without a readable byte
    range left out), in the signatures' order."""
    return [s.byte_range[2] + s.byte_range[3] for s in sigs if s.byte_range is not None]


def _signed_record(data: bytes, sigs: list[Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The grant record in the revision the first signature covers (None when it has none),
    and a problem for each document information entry changed after that."""
    ends = _signature_ends(sigs)
    if not ends:
        return None, []
    signed = _info(data, ends[0])
    if signed is None:
        return None, ["the signed revision's document information cannot be read"]
    problems: list[str] = []
    for end in sorted({*ends[1:], len(data)}):
        later = _info(data, end)
        changed = [k for k in _COVERED if later is not None and later.get(k) != signed.get(k)]
        if later is None or changed:
            what = ", ".join(changed) or "the document information"
            where = "after the last signature" if end == len(data) else "between signatures"
            problems.append(f"the document's metadata was changed {where}: {what}")
            break
    text = signed.get(RECORD_KEY)
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        record = None
    if text is not None and not isinstance(record, dict):
        return None, [*problems, "the signed packet's grant record cannot be read"]
    return record, problems


def _date_line(data: bytes, sigs: list[Any], entry: Listed | None) -> list[str]:
    """A problem when the form's date line (:mod:`generator.assembling.dateline`) holds other than
    what the
    Company signed (changed by a later revision), or than the manifest records."""
    ends = _signature_ends(sigs)
    if not ends:
        return []
    later_ends = sorted({*ends[1:], len(data)})
    values = {end: date_value(data, end) for end in {ends[0], *later_ends}}  # each read once
    if values[ends[0]] is None and values[len(data)] is None:
        return []
    signed = values[ends[0]] or ""
    problems: list[str] = []
    for end in later_ends:
        later = values[end] or ""
        if later != signed:
            where = "after the last signature" if end == len(data) else "between signatures"
            problems.append(
                f"the date line was changed {where}: the Company signed it "
                f"{signed or 'blank'!r}, it now reads {later!r}"
            )
            break
    company = entry.signed if entry is not None else None
    if company is not None and (company.dated or "") != signed:
        recorded = company.dated or "blank"
        problems.append(
            f"the manifest records the date line as {recorded!r} but the Company signed it "
            f"{signed or 'blank'!r}"
        )
    return problems


_COVERED = ("/Title", "/Author", "/Subject", "/Keywords", RECORD_KEY)
"""The document information entries no one may change after the first signature."""


def _info(data: bytes, end: int) -> dict[str, Any] | None:
    """The document information dictionary of the revision ending at ``end``, as text."""
    try:
        info = PdfReader(io.BytesIO(data[:end])).metadata
    except Exception:
        return None
    return {str(k): str(v) for k, v in (info or {}).items()}


def _against_manifest(record: dict[str, Any], entry: Listed, officer: str | None) -> list[str]:
    """A problem for each term the manifest gives other than the signed packet records."""
    terms = entry.data
    differ = [
        (key, terms[key], record.get(key))
        for key in RECORD_TERMS
        if key in terms and str(terms[key]) != str(record.get(key))
    ]
    if officer and officer != record.get("officer"):
        differ.append(("officer", officer, record.get("officer")))
    return [
        f"the manifest's {key} is {said!r} but the signed packet records {signed!r}: the "
        "manifest was changed after the packet was made"
        for key, said, signed in differ
    ]


def _who(check: SignatureCheck, officer: object, participant: object) -> SignatureCheck:
    """The signature with a problem added when its signer is not the one its field is for."""
    if not check.intact and check.signer == UNREADABLE:  # no signer to compare
        return check
    meant = {COMPANY_FIELD: officer, PARTICIPANT_FIELD: participant}.get(check.field)
    if not isinstance(meant, str) or not meant or same_person(meant, check.signer):
        return check
    whose = "the signing officer" if check.field == COMPANY_FIELD else "the participant"
    problem = (
        f"signed by {check.signer!r}, but the field is for {whose}, {meant!r} "
        "(--any-signer accepts any signer)"
    )
    return replace(check, problems=(*check.problems, problem))
