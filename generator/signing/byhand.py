"""Answers recorded by hand: a paper acceptance (its scan kept beside the batch as
``<grant_id>.accepted-paper.<ext>``) or a grant its participant declined (its outstanding
shares return to the pool that day, as a forfeiture)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from generator.checking.ledger import Ledger
from generator.checking.ledgerhistory import forfeit_in, outstanding_on
from generator.core.errors import AcceptError
from generator.core.layout import PAPER_SUFFIX
from generator.core.output import folder_lock, sha256, write_atomic
from generator.core.superseded import set_file_aside
from generator.signing.acceptance import Batch, insert_answer, ledger_there
from generator.terms.manifest import Listed
from generator.terms.planmodel import Plan


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
    ledger_there(ledger)
    with folder_lock(folder), Ledger(ledger) as book:
        _may_record(book, grant_id, plan, force)
        kept, digest, md5 = _keep_scan(batch, entry, scan) if scan is not None else (None,) * 3
        with book.transaction() as conn:
            if state == "declined":  # a grant not taken up: its shares are not outstanding
                shares = outstanding_on(conn, plan, grant_id, day)
                if shares:
                    forfeit_in(conn, plan, grant_id, shares, day)
            insert_answer(
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
