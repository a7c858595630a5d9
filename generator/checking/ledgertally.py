"""What :meth:`.ledger.Ledger.record` checks and writes for each grant, inside its transaction:
the running count of the reserve and the cap (:class:`Tally`), and the rows a grant adds
(:func:`insert_grant`)."""

from __future__ import annotations

import sqlite3

from generator.checking.ledgerentry import Entry
from generator.checking.ledgerhistory import Refusal, grant_date_shortfall
from generator.checking.pool import Usage, other_terms
from generator.checking.splits import Award, Holding
from generator.reading.grantrecord import GrantRecord
from generator.reading.values import shares_exceed
from generator.terms.planmodel import Plan


class Tally(Usage):
    """The running count of one recording transaction (:class:`.pool.Usage`)."""

    def conflict(self, rec: GrantRecord, digest: str) -> Refusal | None:
        """Why the grant's id cannot be recorded: the ledger's (or an earlier entry's) id in
        other capitals, an id of another plan, or an id recorded with other terms."""
        other = self.folded.setdefault(rec.grant_id.casefold(), rec.grant_id)
        if other != rec.grant_id:
            return Refusal(f"grant id {rec.grant_id} is the ledger's {other!r} in other capitals")
        if rec.grant_id in self.pool.elsewhere:
            return Refusal(
                f"grant id {rec.grant_id} is already in the ledger under plan "
                f"{self.pool.elsewhere[rec.grant_id]}"
            )
        if rec.grant_id in self.pool.known and self.pool.known[rec.grant_id] != digest:
            return Refusal(other_terms(rec, self.pool))
        return None

    def held(self, entry: Entry) -> int:
        """The grant's shares that count (those not forfeited), in today's shares: a grant
        made before a recorded split is adjusted by it."""
        rec = entry.record
        return self.pool.adjusted_shares(rec.shares - entry.forfeited, rec.grant_date)

    def shortfall(self, entry: Entry) -> Refusal | None:
        """Why the grant does not fit what is left of the reserve, or of the cap on awards
        other than options, in force on its grant date (None: it fits)."""
        plan, pool, rec = self.plan, self.pool, entry.record
        # the figures in force on the grant date (an amendment may have changed them)
        available = pool.reserve_on(plan, rec.grant_date) - self.used
        non_option = pool.non_option_cap_on(plan, rec.grant_date) - self.non_option_used
        held = self.held(entry)
        note = pool.split_note(rec.shares, rec.grant_date)
        if held > available:
            return Refusal(
                f"{shares_exceed(rec.shares, note)} the {max(available, 0):,} still "
                f"available under the reserve (Section {plan.section('reserve')})",
                "reserve",
                plan.section("reserve"),
                "shares",
            )
        short = grant_date_shortfall(
            pool, self.dated, plan, rec, rec.shares - entry.forfeited, entry.is_option
        )
        if short is not None:
            return short
        if not entry.is_option and held > non_option:
            return Refusal(
                f"{shares_exceed(rec.shares, note)} the {max(non_option, 0):,} still "
                "available for awards other than options (Section "
                f"{plan.section('non_option_cap')})",
                "non-option-cap",
                plan.section("non_option_cap"),
                "shares",
            )
        return None

    def take(self, entry: Entry) -> None:
        """Count a grant that fits."""
        held = self.held(entry)
        self.used += held
        if not entry.is_option:
            self.non_option_used += held
        rec = entry.record
        self.dated.add(Award(rec.grant_date, rec.shares - entry.forfeited, entry.is_option))


def insert_grant(
    conn: sqlite3.Connection,
    plan: Plan,
    entry: Entry,
    digest: str,
    day: str,
    now: Holding,
    adjustments: list[int],
) -> None:
    """Write a grant: its row (``now``: in today's shares, with the shares and price as
    granted), its grant event of ``day``, its vesting installments, and what each split since
    its grant date (``adjustments``: the split's adjustment id, by index) made of it."""
    rec = entry.record
    conn.execute(
        "INSERT INTO grants (grant_id, plan_id, participant, grant_date, award_type,"
        " is_option, shares, exercise_price, original_shares, original_price,"
        " final_exercise_date, terms_hash, source)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            rec.grant_id,
            plan.id,
            rec.participant,
            rec.grant_date.isoformat(),
            rec.award_type,
            int(entry.is_option),
            now.shares,
            str(now.price),
            rec.shares,
            str(rec.exercise_price),
            entry.final_exercise_date.isoformat() if entry.final_exercise_date else None,
            digest,
            entry.source,
        ),
    )
    conn.execute(
        "INSERT INTO events (plan_id, grant_id, kind, day, shares, detail) VALUES (?,?,?,?,?,?)",
        (plan.id, rec.grant_id, "grant", day, rec.shares, entry.source),
    )
    _insert_vesting(conn, entry)
    for index, shares_before, shares_after, price_before, price_after in now.steps:
        conn.execute(  # what each split since its grant date made of it
            "INSERT INTO grant_history VALUES (?,?,?,?,?,?)",
            (
                adjustments[index],
                rec.grant_id,
                shares_before,
                shares_after,
                str(price_before),
                str(price_after),
            ),
        )


def _insert_vesting(conn: sqlite3.Connection, entry: Entry) -> None:
    """A grant's vesting installments, numbered from 1, with its schedule and vesting start."""
    rec = entry.record
    start = (rec.vesting_start or rec.grant_date).isoformat()
    for number, part in enumerate(entry.vesting, start=1):
        conn.execute(
            "INSERT INTO vesting VALUES (?,?,?,?,?,?)",
            (rec.grant_id, number, part.day.isoformat(), str(part.shares), entry.schedule, start),
        )
