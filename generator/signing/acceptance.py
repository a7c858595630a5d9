"""Acceptance: the packets participants signed and sent back, each matched to its grant,
verified, kept beside the batch and recorded in the ledger. (Answers recorded by hand are
:mod:`generator.signing.byhand`'s; each grant's state, :mod:`generator.signing.status`'s.)

A returned packet is accepted when it verifies as ``grantgen verify`` checks a batch (every
signature intact and trusted, the Company's signature over the approved packet and being the
signed copy the manifest records, the signer of each field the one it is for) and the
participant's signature is its last revision: nothing changed after it. It is matched by its
content, never by its name: any file name, any order, any folder. A packet that does not
qualify is refused with the reason, and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from generator.checking.ledger import Ledger
from generator.core.errors import AcceptError, GrantgenError
from generator.core.layout import ACCEPTED_SUFFIX, PARTICIPANT_FIELD
from generator.core.layout import manifest_path as layout_manifest
from generator.core.output import folder_lock, sha256, write_atomic
from generator.core.superseded import set_file_aside
from generator.signing.sigcheck import SignatureCheck, load_trust_roots
from generator.signing.signfiles import pdf_problem
from generator.signing.verify import check_file
from generator.terms.manifest import Listed, Manifest


@dataclass(frozen=True)
class Returned:
    """What became of one returned file."""

    path: Path
    grant_id: str | None
    outcome: str
    """``accepted``, ``already accepted`` or ``refused``."""
    reason: str = ""
    """Why it was refused (or a note about an accepted one)."""
    kept: Path | None = None
    signed_at: str | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"


@dataclass(frozen=True)
class AcceptResult:
    files: tuple[Returned, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.files) and not any(f.refused for f in self.files)


@dataclass(frozen=True)
class Batch:
    """A generated batch folder: its manifest's final documents and signing officer."""

    folder: Path
    plan_id: str
    officer: str
    docs: list[Listed]

    @classmethod
    def open(cls, folder: Path, given: str = "with --batch") -> Batch:
        """The batch in ``folder``; ``given``: how the command takes the folder, for the
        message when it is not a batch's."""
        manifest_path = layout_manifest(folder)
        if not manifest_path.is_file():
            raise AcceptError(f"{folder}: no manifest.json (give the batch folder {given})")
        try:
            manifest = Manifest.read(manifest_path)
        except GrantgenError as exc:
            raise AcceptError(str(exc)) from None
        docs, _ = manifest.usable()
        finals = [d for d in docs if not d.is_draft]
        if not finals:
            raise AcceptError(f"{folder}: the manifest lists no final documents (drafts only)")
        return cls(folder, manifest.plan or "", manifest.officer or "", finals)

    def entry(self, grant_id: str) -> Listed:
        found = next((d for d in self.docs if d.grant_id == grant_id), None)
        if found is None:
            known = ", ".join(str(d.grant_id) for d in self.docs[:5])
            raise AcceptError(
                f"{grant_id}: not a grant of the batch in {self.folder} (it has {known}"
                + (", …" if len(self.docs) > 5 else "")
                + ")"
            )
        return found

    def kept_name(self, entry: Listed, suffix: str) -> Path:
        return self.folder / (entry.pdf.removesuffix(".pdf") + suffix)


# --- returned packets ------------------------------------------------------------------------


def returned_files(paths: Iterable[Path]) -> list[Path]:
    """The PDFs given: files as they are, folders searched (their subfolders too), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and _is_pdf_name(p))
        else:
            found.append(path)
    return found


def _is_pdf_name(path: Path) -> bool:
    return path.suffix.lower() == ".pdf"


def accept_returned(
    folder: Path,
    paths: Sequence[Path],
    *,
    ledger: Path,
    trust: Sequence[Path],
    any_signer: bool = False,
    force: bool = False,
) -> AcceptResult:
    """Accept the signed packets among ``paths`` (files and folders) for the grants of the
    batch in ``folder``: each verified, kept as ``<grant_id>.accepted.pdf`` and recorded in the
    ``ledger``. One already accepted with the same bytes is left as it is; with other bytes it
    is refused unless ``force`` (the earlier file is set aside, never overwritten)."""
    batch = Batch.open(folder)
    ledger_there(ledger)
    roots = load_trust_roots(trust)
    files = returned_files(paths)
    if not files:
        raise AcceptError("no PDF among the files given")
    results: list[Returned] = []
    with folder_lock(folder), Ledger(ledger) as book:
        taken: dict[str, str] = {}  # grant id -> sha256 accepted in this run
        for file in files:
            result = _accept_one(batch, book, file, roots, any_signer, force, taken)
            results.append(result)
    return AcceptResult(tuple(results))


def _accept_one(
    batch: Batch,
    book: Ledger,
    file: Path,
    roots: list[Any],
    any_signer: bool,
    force: bool,
    taken: dict[str, str],
) -> Returned:
    """One returned file: verified, matched to its grant, kept and recorded (or refused)."""
    problem = pdf_problem(file)
    if problem is not None:
        return Returned(file, None, "refused", problem)
    try:
        data = file.read_bytes()
    except OSError as exc:
        return Returned(file, None, "refused", f"cannot be read: {exc.strerror or exc}")
    found = _verified(batch, file, roots, any_signer)
    if isinstance(found, Returned):
        return found
    grant_id, digest = found.grant_id, sha256(data)
    plan_id = batch.plan_id
    row = book.conn.execute("SELECT plan_id FROM grants WHERE grant_id = ?", (grant_id,)).fetchone()
    if row is None or (plan_id and row[0] != plan_id):
        return Returned(
            file, grant_id, "refused",
            f"the ledger {book.path} does not hold grant {grant_id}"
            + (f" under plan {plan_id}" if plan_id else "")
            + ": give the batch's ledger with --ledger",
        )  # fmt: skip
    if taken.get(grant_id) not in (None, digest):
        return Returned(
            file, grant_id, "refused",
            f"another returned file of {grant_id} was accepted in this run; accept one",
        )  # fmt: skip
    earlier = book.conn.execute(
        "SELECT state, how, sha256, file FROM acceptances WHERE grant_id = ?", (grant_id,)
    ).fetchone()
    target = batch.kept_name(found.entry, ACCEPTED_SUFFIX)
    signed_at = found.signature.signed_at
    if earlier is not None and earlier[2] == digest and target.is_file():
        taken[grant_id] = digest
        return Returned(file, grant_id, "already accepted", "", target, signed_at)
    if earlier is not None and not force:
        what = "declined" if earlier[0] == "declined" else f"accepted ({earlier[1]})"
        return Returned(
            file, grant_id, "refused",
            f"{grant_id} is already recorded as {what} with another file: give --force to "
            "record this one instead (the earlier file is set aside)",
        )  # fmt: skip
    _keep(batch, file, target, data, digest)  # then the ledger: a kill between leaves the file
    with book.transaction() as conn:
        insert_answer(
            conn, grant_id, plan_id or str(row[0]), state="accepted", how="signature",
            day=signed_at[:10] if signed_at else date.today().isoformat(), signed_at=signed_at,
            signer=found.signature.signer, file=target.name, digest=digest, batch=batch.folder,
            note=f"returned as {file.name}", md5=hashlib.md5(data).hexdigest(),
        )  # fmt: skip
    taken[grant_id] = digest
    return Returned(file, grant_id, "accepted", found.notes, target, signed_at)


@dataclass(frozen=True)
class _Found:
    """A returned file that verifies: its grant, the participant's signature, and notes
    that do not refuse it (not PDF/A-2b any more)."""

    grant_id: str
    entry: Listed
    signature: SignatureCheck
    notes: str


def _verified(batch: Batch, file: Path, roots: list[Any], any_signer: bool) -> _Found | Returned:
    """The grant a returned file is of, when it verifies as ``verify`` would have it: the
    Company's signature over the signed copy, the participant's last; else the refusal."""
    who = None if any_signer else batch.officer
    check = check_file(file, roots, batch.docs, must_be_signed=True, officer=who, named=False)
    assert check is not None  # must_be_signed: an unsigned file is a check with a problem
    if not check.signatures:
        return Returned(
            file, None, "refused",
            "nobody has signed it: the participant signs the Company-signed copy "
            "(<grant_id>.signed.pdf) and sends it back",
        )  # fmt: skip
    grant_id = check.grant_id
    if grant_id is None:
        return Returned(file, None, "refused", "; ".join(check.reasons) or "not a packet")
    entry = batch.entry(grant_id)
    participant = [s for s in check.signatures if s.field == PARTICIPANT_FIELD]
    if not participant:
        return Returned(
            file, grant_id, "refused", f"{entry.participant} has not signed it (its "
            f"{PARTICIPANT_FIELD} field is empty)",
        )  # fmt: skip
    signature = participant[-1]
    if entry.signed is None:
        return Returned(
            file, grant_id, "refused",
            "the manifest records no Company signature for this grant: the participant signed "
            "a packet the Company had not (sign the batch first, then send the signed copies)",
        )  # fmt: skip
    problems = [r for r in check.reasons if "not PDF/A-2b" not in r]
    if problems:
        return Returned(file, grant_id, "refused", "; ".join(problems))
    if check.signatures[-1] is not signature or signature.changes_after != "none":
        return Returned(
            file, grant_id, "refused",
            f"the file was changed after {entry.participant} signed it "
            f"({signature.changes_after}): the participant's signature must be its last",
        )  # fmt: skip
    notes = "; ".join(r for r in check.reasons if "not PDF/A-2b" in r)
    return _Found(grant_id, entry, signature, notes)


def _keep(batch: Batch, file: Path, target: Path, data: bytes, digest: str) -> None:
    """Keep the returned file as ``target``; another file there is set aside first."""
    there = _digest_of(target)
    if there == digest:  # the same bytes: a run killed before it recorded them
        return
    if there is not None or target.is_symlink():
        set_file_aside(batch.folder, target, f"replaced by grantgen accept ({file.name})")
    write_atomic(target, data)


def _digest_of(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def insert_answer(
    conn: sqlite3.Connection,
    grant_id: str,
    plan_id: str,
    *,
    state: str,
    how: str,
    day: str,
    signed_at: str | None,
    signer: str | None,
    file: str | None,
    digest: str | None,
    batch: Path,
    note: str,
    md5: str | None,
) -> None:
    """The acceptances row and its event, in the transaction open on ``conn``."""
    conn.execute(
        "INSERT OR REPLACE INTO acceptances (grant_id, plan_id, state, how, day, signed_at, "
        "signer, file, sha256, md5, batch, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (grant_id, plan_id, state, how, day, signed_at, signer, file, digest, md5,
         str(batch.resolve()), note),
    )  # fmt: skip
    detail = json.dumps({"how": how, "sha256": digest, "file": file}, sort_keys=True)
    conn.execute(
        "INSERT INTO events (plan_id, grant_id, kind, day, shares, detail) "
        "VALUES (?, ?, ?, ?, 0, ?)",
        (plan_id, grant_id, "accept" if state == "accepted" else "decline", day, detail),
    )


def ledger_there(path: Path) -> None:
    """Refuse a ledger that does not exist (an answer is recorded beside its grant)."""
    if not path.is_file():
        raise AcceptError(
            f"there is no ledger at {path}: acceptances are recorded in the ledger the batch "
            "was generated with (give it with --ledger, or set GRANTGEN_LEDGER)"
        )
