"""Where each grant of a batch stands (``grantgen status``): made, signed by the Company and
pending its participant (for how many days), accepted or declined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from generator.checking.ledger import Ledger
from generator.signing.acceptance import Batch


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
