"""Acceptance: the packets participants signed and sent back, each matched to its grant,
verified, kept beside the batch and recorded in the ledger; a paper acceptance, or a grant the
participant declined, recorded by hand; and each grant's state (``grantgen status``).

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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from generator.checking.ledger import Ledger
from generator.checking.ledgerhistory import forfeit_in, outstanding_on
from generator.core.errors import AcceptError, GrantgenError
from generator.core.layout import ACCEPTED_SUFFIX, PAPER_SUFFIX, PARTICIPANT_FIELD
from generator.core.layout import manifest_path as layout_manifest
from generator.core.output import folder_lock, sha256, write_atomic
from generator.core.superseded import set_file_aside
from generator.signing.signfiles import pdf_problem
from generator.signing.verify import SignatureCheck, check_file, load_trust_roots
from generator.terms.manifest import Listed, Manifest
from generator.terms.planmodel import Plan

"""A participant's signed packet, kept beside the batch: ``<grant_id>.accepted.pdf``."""
"""The scan of a paper acceptance: ``<grant_id>.accepted-paper.pdf`` (its own extension)."""


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
    _ledger_there(ledger)
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
        _insert(
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


def _insert(
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


# --- recorded by hand ------------------------------------------------------------------------


def record_by_hand(
    folder: Path,
    grant_id: str,
    *,
    plan: Plan,
    ledger: Path,
    day: date,
    state: str = "accepted",
    scan: Path | None = None,
    note: str = "",
    force: bool = False,
    today: date | None = None,
) -> Path | None:
    """Record a paper acceptance (with its scan, kept as ``<grant_id>.accepted-paper.<ext>``)
    or a grant the participant declined (``state="declined"``: its outstanding shares return
    to the pool on that day, as a forfeiture); the kept scan's path."""
    if day > (today or date.today()):
        raise AcceptError(f"{day.isoformat()} is in the future: give the day it was signed")
    batch = Batch.open(folder)
    entry = batch.entry(grant_id)
    granted = entry.grant_date
    if granted and day.isoformat() < granted:
        raise AcceptError(
            f"{grant_id} was granted on {granted}: it cannot be {state} on {day.isoformat()}, "
            "before it was granted"
        )
    if state == "accepted" and scan is None:
        raise AcceptError("a paper acceptance needs its scan (--scan FILE)")
    _ledger_there(ledger)
    with folder_lock(folder), Ledger(ledger) as book:
        _may_record(book, grant_id, plan, force)
        kept, digest, md5 = _keep_scan(batch, entry, scan) if scan is not None else (None,) * 3
        with book.transaction() as conn:
            if state == "declined":  # a grant not taken up: its shares are not outstanding
                shares = outstanding_on(conn, plan, grant_id, day)
                if shares:
                    forfeit_in(conn, plan, grant_id, shares, day)
            _insert(
                conn, grant_id, plan.id, state=state, how="paper", day=day.isoformat(),
                signed_at=None, signer=None, file=kept.name if kept is not None else None,
                digest=digest, batch=batch.folder, note=note, md5=md5,
            )  # fmt: skip
    return kept


def _may_record(book: Ledger, grant_id: str, plan: Plan, force: bool) -> None:
    """Refuse an answer for a grant the ledger does not hold under ``plan``, or one recorded
    already (without ``force``; a declined grant never)."""
    row = book.conn.execute("SELECT plan_id FROM grants WHERE grant_id = ?", (grant_id,)).fetchone()
    if row is None or row[0] != plan.id:
        raise AcceptError(
            f"the ledger {book.path} does not hold grant {grant_id} under plan {plan.id}: "
            "give the batch's ledger with --ledger"
        )
    earlier = book.conn.execute(
        "SELECT state, how FROM acceptances WHERE grant_id = ?", (grant_id,)
    ).fetchone()
    if earlier is not None and not force:
        raise AcceptError(
            f"{grant_id} is already recorded as {earlier[0]} ({earlier[1]}): give --force "
            "to record this instead"
        )
    if earlier is not None and earlier[0] == "declined":
        raise AcceptError(
            f"{grant_id} was declined and its shares returned to the pool: it cannot be "
            "recorded again (grant it anew)"
        )


def _keep_scan(batch: Batch, entry: Listed, scan: Path) -> tuple[Path, str, str]:
    """The scan of a paper acceptance kept beside the batch (an earlier one set aside): its
    path, sha256 and md5."""
    try:
        data = scan.read_bytes()
    except OSError as exc:
        raise AcceptError(f"{scan}: cannot be read: {exc.strerror or exc}") from None
    if not data:
        raise AcceptError(f"{scan}: the scan is empty")
    kept = batch.kept_name(entry, PAPER_SUFFIX + (scan.suffix.lower() or ".pdf"))
    if kept.exists():
        set_file_aside(batch.folder, kept, "replaced by grantgen accept --paper")
    write_atomic(kept, data)
    return kept, sha256(data), hashlib.md5(data).hexdigest()


def _ledger_there(path: Path) -> None:
    """Refuse a ledger that does not exist (an answer is recorded beside its grant)."""
    if not path.is_file():
        raise AcceptError(
            f"there is no ledger at {path}: acceptances are recorded in the ledger the batch "
            "was generated with (give it with --ledger, or set GRANTGEN_LEDGER)"
        )


# --- states ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantState:
    """Where one grant of a batch stands."""

    grant_id: str
    participant: str
    grant_date: str
    state: str
    """``made``, ``company-signed`` (pending the participant), ``accepted`` or ``declined``."""
    since: str | None
    """The day it reached that state (the Company's signature, the acceptance)."""
    days: int | None
    """Days pending (company-signed only)."""
    detail: str = ""

    @property
    def pending(self) -> bool:
        return self.state == "company-signed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "participant": self.participant,
            "grant_date": self.grant_date,
            "state": self.state,
            "since": self.since,
            "days_pending": self.days,
            "detail": self.detail,
        }


def grant_states(folder: Path, *, ledger: Path, today: date | None = None) -> list[GrantState]:
    """Each final grant of the batch in ``folder``, in manifest order, with its state."""
    batch = Batch.open(folder, "as FOLDER")
    today = today or datetime.now(UTC).date()
    with Ledger(ledger, create=False) as book:
        answers = {
            row[0]: row[1:]
            for row in book.conn.execute("SELECT grant_id, state, how, day, file FROM acceptances")
        }
    states = []
    for entry in batch.docs:
        grant_id = str(entry.grant_id)
        base = (grant_id, entry.participant or "", entry.grant_date)
        answer = answers.get(grant_id)
        company = entry.signed
        if answer is not None:
            state, how, day, file = answer
            detail = f"{how}" + (f", {file}" if file else "")
            states.append(GrantState(*base, state, day, None, detail))
        elif company is not None:
            signed = company.signed_at[:10]
            try:
                days = (today - date.fromisoformat(signed)).days
            except ValueError:
                days = None
            back = company.countersigned
            detail = "countersigned copy here: run grantgen accept on it" if back else ""
            states.append(GrantState(*base, "company-signed", signed or None, days, detail))
        else:
            states.append(GrantState(*base, "made", None, None, "not signed by the Company yet"))
    return states
