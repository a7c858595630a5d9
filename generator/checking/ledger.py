"""The share ledger: a SQLite file recording every grant, forfeiture and Section 8 adjustment.

* Shares used = the outstanding shares of every recorded award. Forfeited, expired or cancelled
  shares go back to the pool (Section 4(a)).
* The reserve and the non-option cap are the plan file's numbers times the cumulative ratio of
  the Section 8 adjustments recorded here, rounded down.
* A split ``N:D`` multiplies shares by N/D and divides exercise prices by it. Fractions: an
  award's shares are rounded down to a whole share (the fraction is dropped) and its exercise
  price is rounded up to the cent, so the aggregate exercise price is never reduced. The old
  values are kept in ``grant_history``.
* What the ledger holds depends on the dates of the facts, never on the order they were
  recorded in: a grant is in the shares of its grant date and a forfeiture in those of its
  date, and each split adjusts the awards granted, and the forfeitures dated, before it (see
  :func:`replay`). A grant or forfeiture recorded after a later-dated split is adjusted by it
  as one recorded before would have been.
* A grant dated before a recorded split must also fit the reserve and cap in force on its date
  in the shares of that date (:class:`.splits.OnGrantDate`): each award drops its own fraction
  at a split, so today's shares alone would let one-share grants overfill the reserve.
* The check of the reserve and the insert of a grant happen in one ``BEGIN IMMEDIATE``
  transaction: two runs at once can never both take the last shares.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from generator.checking.ledgerentry import Entry, Recorded
from generator.checking.ledgerhistory import (
    Forfeited,
    forfeit_in,
    not_after_today,
    parse_split,
    recorded_forfeits,
    split_awards_in,
    split_rows,
)
from generator.checking.ledgerschema import (
    EXPORT_COLUMNS,
    SCHEMA,
    open_for_reading,
    schema_columns,
    sqlite_problem,
    table_columns,
)
from generator.checking.ledgertally import Tally, insert_grant
from generator.checking.pool import Pool, participant_key, price_text, terms_hash
from generator.checking.splits import (
    Award,
)
from generator.core.errors import LedgerError
from generator.terms.planmodel import Plan

DEFAULT_LEDGER = "grantgen-ledger.sqlite"


def ledger_path(given: str | Path | None) -> Path:
    """``--ledger``, else ``$GRANTGEN_LEDGER``, else ``grantgen-ledger.sqlite`` here."""
    if given:
        return Path(given)
    return Path(os.environ.get("GRANTGEN_LEDGER") or DEFAULT_LEDGER)


class Ledger:
    """One SQLite ledger file. Use as a context manager."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        """Open (or, with ``create``, create) the ledger at ``path``. Without ``create`` the
        file is only read: its contents are copied into memory, so checking a batch against
        a ledger never changes it, and a ledger that does not exist reads as empty."""
        self.path = Path(path)
        read_only = not create
        if read_only and not self.path.exists():
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
        else:
            try:
                if not read_only:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                else:
                    self.conn = open_for_reading(self.path)
            except (OSError, sqlite3.Error) as exc:
                raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from exc
        try:
            missing = [  # tables of ours already there must be ours: checked before any change
                f"{table}.{column}"
                for table, columns in schema_columns().items()
                if (present := table_columns(self.conn, table))
                for column in sorted(columns - present)
            ]
            if not missing and read_only:
                copy = sqlite3.connect(":memory:", isolation_level=None)
                self.conn.backup(copy)
                self.conn.close()
                self.conn = copy
                self.conn.executescript(SCHEMA)
            elif not missing:
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            self.conn.close()
            raise LedgerError(sqlite_problem(self.path, exc)) from exc
        if missing:
            self.conn.close()
            raise LedgerError(
                f"{self.path} is not a grantgen ledger: it has tables of the same name without "
                f"the column(s) {', '.join(missing)}"
            )

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any error."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(sqlite_problem(self.path, exc)) from exc
        try:
            yield self.conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # a failed write may have ended it
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise LedgerError(sqlite_problem(self.path, exc)) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:  # a full disk: nothing was recorded
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise LedgerError(sqlite_problem(self.path, exc)) from exc

    # --- reading ---------------------------------------------------------------------------

    def ratio(self, plan_id: str) -> Fraction:
        """The plan's cumulative split ratio (1 before any split)."""
        row = self.conn.execute(
            "SELECT ratio_num, ratio_den FROM pools WHERE plan_id = ?", (plan_id,)
        ).fetchone()
        return Fraction(row[0], row[1]) if row else Fraction(1)

    def splits(self, plan_id: str) -> tuple[tuple[date, Fraction], ...]:
        """The plan's recorded splits, (date, ratio), in date order."""
        return tuple((day, step) for _, day, step in split_rows(self.conn, plan_id))

    def pool(self, plan: Plan, today: date | None = None) -> Pool:
        """The plan's pool; its reserve and cap are the figures in force ``today``."""
        ratio = self.ratio(plan.id)
        rows = self.conn.execute(
            "SELECT grant_id, terms_hash, award_type, is_option, shares, participant, "
            "grant_date, original_shares, original_price FROM grants WHERE plan_id = ?",
            (plan.id,),
        ).fetchall()
        by_type: dict[str, int] = {}
        for _, _, kind, _, shares, *_ in rows:
            by_type[kind] = by_type.get(kind, 0) + shares
        figures = Pool(0, 0, 0, 0, ratio=ratio, splits=self.splits(plan.id))
        forfeits = recorded_forfeits(self.conn, plan.id)
        now = today or date.today()
        return Pool(
            reserve=figures.reserve_on(plan, now),
            used=sum(r[4] for r in rows),
            non_option_cap=figures.non_option_cap_on(plan, now),
            non_option_used=sum(r[4] for r in rows if not r[3]),
            known={r[0]: r[1] for r in rows},
            elsewhere=dict(
                self.conn.execute(
                    "SELECT grant_id, plan_id FROM grants WHERE plan_id != ?", (plan.id,)
                ).fetchall()
            ),
            by_type=by_type,
            ratio=ratio,
            splits=figures.splits,
            terms={r[0]: (r[5], r[6], str(r[7]), price_text(r[8]), r[2]) for r in rows},
            on_day={(participant_key(r[5]), date.fromisoformat(r[6]), r[2]): r[0] for r in rows},
            awards=tuple(
                Award(date.fromisoformat(r[6]), r[7], bool(r[3]), tuple(forfeits.get(r[0], ())))
                for r in rows
            ),
        )

    def grants(self, plan_id: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM grants"
        args: tuple[str, ...] = ()
        if plan_id is not None:
            sql += " WHERE plan_id = ?"
            args = (plan_id,)
        cur = self.conn.execute(sql + " ORDER BY grant_date, grant_id", args)
        found = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in cur.fetchall()]
        vesting = self.vesting()
        for grant in found:
            schedule, start, parts = vesting.get(grant["grant_id"], (None, None, []))
            grant["vesting_schedule"] = schedule
            grant["vesting_start"] = start
            grant["vesting"] = "; ".join(f"{day} {shares}" for day, shares in parts) or None
        return found

    def vesting(self) -> dict[str, tuple[str | None, str, list[tuple[str, str]]]]:
        """Each grant's recorded vesting: its schedule, vesting start and installments
        (day, shares), by grant id."""
        out: dict[str, tuple[str | None, str, list[tuple[str, str]]]] = {}
        rows = self.conn.execute(
            "SELECT grant_id, schedule, vesting_start, day, shares FROM vesting "
            "ORDER BY grant_id, number"
        )
        for grant_id, schedule, start, day, shares in rows:
            out.setdefault(grant_id, (schedule, start, []))[2].append((day, shares))
        return out

    def history(self, plan_id: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT day, ratio, reserve_before, reserve_after, cap_before, cap_after "
            "FROM adjustments WHERE plan_id = ? ORDER BY id",
            (plan_id,),
        )
        names = ("day", "ratio", "reserve_before", "reserve_after", "cap_before", "cap_after")
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # --- writing ---------------------------------------------------------------------------

    def record(
        self,
        plan: Plan,
        entries: Sequence[Entry],
        before_commit: Callable[[Recorded], None] | None = None,
        *,
        today: date | None = None,
    ) -> Recorded:
        """Record grants in one transaction, re-checking the reserve and cap inside it.

        A grant already recorded with the same terms is left alone (re-running a batch is a
        no-op); the same id with other terms, or a grant the pool cannot hold any more, is
        refused. ``before_commit(result)`` runs inside the transaction (to move the grants'
        files into place), so documents and ledger finish together: if it raises, nothing is
        recorded.
        """
        result = Recorded()
        day = (today or date.today()).isoformat()
        with self.transaction() as conn:
            pool = self.pool(plan)
            adjustments = [key for key, _, _ in split_rows(conn, plan.id)]
            tally = Tally.start(plan, pool)
            for entry in entries:
                rec = entry.record
                digest = terms_hash(rec)
                refusal = tally.conflict(rec, digest)
                if refusal is not None:
                    result.refused[rec.grant_id] = refusal
                elif rec.grant_id in pool.known:  # with the same terms
                    result.already.append(rec.grant_id)
                elif (refusal := tally.shortfall(entry)) is not None:
                    result.refused[rec.grant_id] = refusal
                else:
                    tally.take(entry)
                    now = pool.adjusted(rec.shares, rec.exercise_price, rec.grant_date)
                    insert_grant(conn, plan, entry, digest, day, now, adjustments)
                    result.added.append(rec.grant_id)
            if before_commit is not None:
                before_commit(result)
        return result

    def unrecord(self, plan: Plan, grant_ids: Sequence[str]) -> None:
        """Take out grants :meth:`record` just added, whose documents could not be placed.
        Only when nothing has happened to them since (no forfeiture, no split recorded after
        them: a grant made before an earlier-recorded split was adjusted as it was recorded)."""
        if not grant_ids:
            return
        with self.transaction() as conn:
            for grant_id in grant_ids:
                touched = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE plan_id = ? AND grant_id = ? "
                    "AND kind != 'grant'",
                    (plan.id, grant_id),
                ).fetchone()[0]
                recorded = conn.execute(
                    "SELECT MAX(id) FROM events WHERE plan_id = ? AND grant_id = ? "
                    "AND kind = 'grant'",
                    (plan.id, grant_id),
                ).fetchone()[0]
                if touched or recorded is None:
                    continue
                split_since = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE plan_id = ? AND kind = 'adjust' AND id > ?",
                    (plan.id, recorded),
                ).fetchone()[0]
                if split_since:
                    continue
                gone = conn.execute(
                    "DELETE FROM grants WHERE plan_id = ? AND grant_id = ?", (plan.id, grant_id)
                ).rowcount
                conn.execute("DELETE FROM vesting WHERE grant_id = ?", (grant_id,))
                if gone:
                    conn.execute(
                        "DELETE FROM events WHERE plan_id = ? AND grant_id = ? AND kind = 'grant'",
                        (plan.id, grant_id),
                    )
                    conn.execute("DELETE FROM grant_history WHERE grant_id = ?", (grant_id,))

    def forfeit(
        self, plan: Plan, grant_id: str, shares: int, day: date, *, today: date | None = None
    ) -> Forfeited:
        """Return ``shares`` of a grant (in the shares of ``day``) to the pool."""
        if shares <= 0:
            raise LedgerError("the number of shares to forfeit must be positive")
        not_after_today(day, today, "a forfeiture")
        with self.transaction() as conn:
            return forfeit_in(conn, plan, grant_id, shares, day)

    def adjust(
        self, plan: Plan, new: int, old: int, day: date, *, today: date | None = None
    ) -> dict[str, int]:
        """Section 8: a split of ``new`` shares for every ``old`` on ``day``: the awards
        granted before ``day`` (those made since are in post-split shares already), and the
        reserve and cap, are adjusted. An award's forfeitures dated before ``day`` are
        adjusted with it; those dated on or after it are in post-split shares already.
        Returns the pool change."""
        if new <= 0 or old <= 0:
            raise LedgerError("a split ratio needs two positive whole numbers, e.g. 2:1")
        parse_split(f"{new}:{old}")  # 1:1, or numbers too large to read back: refused
        not_after_today(day, today, "a split")
        step = Fraction(new, old)
        try:
            return self._adjust(plan, new, old, step, day)
        except OverflowError:  # rolled back by the transaction
            raise LedgerError(
                f"a {new}:{old} split would make share counts too large to record"
            ) from None

    def _adjust(self, plan: Plan, new: int, old: int, step: Fraction, day: date) -> dict[str, int]:
        with self.transaction() as conn:
            before = self.pool(plan)
            if before.splits and before.splits[-1][0] > day:
                raise LedgerError(
                    f"a split dated {day.isoformat()} comes before the split already recorded "
                    f"on {before.splits[-1][0].isoformat()}: record splits in date order"
                )
            ratio = self.ratio(plan.id) * step
            conn.execute(
                "INSERT INTO pools (plan_id, ratio_num, ratio_den) VALUES (?,?,?) "
                "ON CONFLICT(plan_id) DO UPDATE SET ratio_num = excluded.ratio_num, "
                "ratio_den = excluded.ratio_den",
                (plan.id, ratio.numerator, ratio.denominator),
            )
            after = replace(before, ratio=ratio, splits=(*before.splits, (day, step)))
            reserve_before, reserve_after = (
                before.reserve_on(plan, day),
                after.reserve_on(plan, day),
            )
            cap_before = before.non_option_cap_on(plan, day)
            cap_after = after.non_option_cap_on(plan, day)
            cur = conn.execute(
                "INSERT INTO adjustments (plan_id, day, ratio, reserve_before, reserve_after,"
                " cap_before, cap_after) VALUES (?,?,?,?,?,?,?)",
                (
                    plan.id,
                    day.isoformat(),
                    f"{new}:{old}",
                    reserve_before,
                    reserve_after,
                    cap_before,
                    cap_after,
                ),
            )
            adjustment = cur.lastrowid
            split_awards_in(conn, plan, day, step, (before.splits, after.splits), adjustment)
            conn.execute(
                "INSERT INTO events (plan_id, kind, day, detail) VALUES (?,?,?,?)",
                (plan.id, "adjust", day.isoformat(), f"split {new}:{old}"),
            )
        return {"reserve_before": reserve_before, "reserve_after": reserve_after}

    # --- export / import -------------------------------------------------------------------
