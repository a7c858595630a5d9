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
import functools
import hashlib
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from .errors import GrantgenError
from .plan import Plan
from .records import GrantRecord
from .splits import (
    MAX_SPLIT,
    Award,
    Holding,
    OnGrantDate,
    Overdrawn,
    adjust_price,
    replay,
    short_on_grant_date,
    split_names,
)
from .values import shares_exceed
from .vesting import Installment, VestingError, grant_vesting

DEFAULT_LEDGER = "grantgen-ledger.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (
    plan_id TEXT PRIMARY KEY,
    ratio_num INTEGER NOT NULL DEFAULT 1,
    ratio_den INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS grants (
    grant_id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    grant_date TEXT NOT NULL,
    award_type TEXT NOT NULL,
    is_option INTEGER NOT NULL,
    shares INTEGER NOT NULL,          -- outstanding shares, in today's units
    exercise_price TEXT NOT NULL,     -- in today's units
    forfeited INTEGER NOT NULL DEFAULT 0,
    original_shares INTEGER NOT NULL,
    original_price TEXT NOT NULL,
    final_exercise_date TEXT,
    terms_hash TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    plan_id TEXT NOT NULL,
    grant_id TEXT,
    kind TEXT NOT NULL,               -- grant | forfeit | adjust | import | accept | decline
    day TEXT NOT NULL,
    shares INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS adjustments (
    id INTEGER PRIMARY KEY,
    plan_id TEXT NOT NULL,
    day TEXT NOT NULL,
    ratio TEXT NOT NULL,
    reserve_before INTEGER NOT NULL,
    reserve_after INTEGER NOT NULL,
    cap_before INTEGER NOT NULL,
    cap_after INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vesting (     -- each grant's installments, as granted
    grant_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    day TEXT NOT NULL,
    shares TEXT NOT NULL,
    schedule TEXT,                    -- the plan's schedule (NULL: vests at once)
    vesting_start TEXT NOT NULL,
    PRIMARY KEY (grant_id, number)
);
CREATE TABLE IF NOT EXISTS acceptances (  -- each grant's answer from its participant
    grant_id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    state TEXT NOT NULL,              -- accepted | declined
    how TEXT NOT NULL,                -- signature | paper
    day TEXT NOT NULL,                -- the day it was signed (or declined)
    signed_at TEXT,                   -- the participant's signing time, UTC (signature)
    signer TEXT,                      -- the certificate's name (signature)
    file TEXT,                        -- the signed packet or scan kept, in the batch folder
    sha256 TEXT,                      -- that file's sha256
    md5 TEXT,                         -- and its md5 (the Open Cap Format's checksum)
    batch TEXT NOT NULL DEFAULT '',   -- the batch folder
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grant_history (
    adjustment_id INTEGER NOT NULL REFERENCES adjustments(id),
    grant_id TEXT NOT NULL,
    shares_before INTEGER NOT NULL,
    shares_after INTEGER NOT NULL,
    price_before TEXT NOT NULL,
    price_after TEXT NOT NULL
);
"""
EXPORT_COLUMNS = (
    "grant_id",
    "plan_id",
    "participant",
    "grant_date",
    "award_type",
    "shares",
    "exercise_price",
    "forfeited",
    "original_shares",
    "original_price",
    "final_exercise_date",
)
#: The vesting columns of an export: the schedule, its start and the installments
#: (``2026-06-16 4000; 2027-06-16 4000``).
VESTING_COLUMNS = ("vesting_schedule", "vesting_start", "vesting")


class LedgerError(GrantgenError):
    """Raised when the ledger cannot be read or written, or an operation on it is refused."""


def ledger_path(given: str | Path | None) -> Path:
    """``--ledger``, else ``$GRANTGEN_LEDGER``, else ``grantgen-ledger.sqlite`` here."""
    if given:
        return Path(given)
    return Path(os.environ.get("GRANTGEN_LEDGER") or DEFAULT_LEDGER)


def batch_reserve(pool: Pool, plan: Plan, records: Iterable[GrantRecord]) -> int:
    """The reserve a batch's summary shows: the figure in force on its last grant date (an
    amendment may change it; the one in force today may not be the one its grants met)."""
    last = max((r.grant_date for r in records), default=None)
    return pool.reserve if last is None else pool.reserve_on(plan, last)


def participant_key(name: str) -> str:
    """A name as two grants to one person compare: spacing and case aside."""
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()


def terms_of(record: GrantRecord) -> tuple[str, str, str, str, str]:
    """What makes two grants with the same id the same grant: participant, grant date,
    shares, exercise price and award type, as text (the award type with the vesting asked
    for, when the record asks for any: a grant without stays as it was recorded before)."""
    vesting = [
        f"{name}={value}"
        for name, value in (
            ("schedule", record.vesting_schedule),
            ("start", record.vesting_start and record.vesting_start.isoformat()),
            ("on", record.vesting_date and record.vesting_date.isoformat()),
        )
        if value
    ]
    return (
        record.participant,
        record.grant_date.isoformat(),
        str(record.shares),
        str(record.exercise_price.normalize()),
        " ".join([record.award_type, *vesting]),
    )


def terms_hash(record: GrantRecord) -> str:
    """The digest of :func:`terms_of` the ledger keeps."""
    return hashlib.sha256("|".join(terms_of(record)).encode()).hexdigest()


def _price_text(stored: object) -> str:
    """A recorded price as :func:`terms_of` writes one (as it is, if it is not a number)."""
    try:
        return str(Decimal(str(stored)).normalize())
    except ArithmeticError:  # decimal.InvalidOperation
        return str(stored)


_TERM_NAMES = ("participant", "grant_date", "shares", "exercise_price", "award_type")


def other_terms(record: GrantRecord, pool: Pool) -> str:
    """Why a grant id already in the ledger is not this grant: the terms that differ."""
    recorded = pool.terms.get(record.grant_id)
    if recorded is None:
        return f"grant id {record.grant_id} is already in the ledger with other terms"
    given = terms_of(record)
    diffs = [
        f"{name} {old!r} there, {new!r} here"
        for name, old, new in zip(_TERM_NAMES, recorded, given, strict=True)
        if old != new
    ]
    return f"grant id {record.grant_id} is already in the ledger with other terms: " + (
        "; ".join(diffs) or "the terms differ"
    )


@dataclass(frozen=True)
class Pool:
    """The share pool of one plan as the ledger has it now."""

    reserve: int
    """Section 4(a) reserve after Section 8 adjustments."""
    used: int
    """Outstanding shares of all recorded awards."""
    non_option_cap: int
    """Section 4(b) cap after adjustments."""
    non_option_used: int
    """Outstanding shares of recorded awards other than options."""
    known: dict[str, str] = field(default_factory=dict)
    """Recorded grant ids → their terms hash."""
    elsewhere: dict[str, str] = field(default_factory=dict)
    """Grant ids recorded under another plan → that plan's id (grant ids are unique)."""
    by_type: dict[str, int] = field(default_factory=dict)
    """Outstanding shares by award type."""
    ratio: Fraction = Fraction(1)
    """The plan's cumulative Section 8 split ratio."""
    splits: tuple[tuple[date, Fraction], ...] = ()
    """Each recorded split: its date and ratio, in date order."""
    terms: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)
    """Recorded grant ids → their terms as recorded (see :func:`terms_of`)."""
    on_day: dict[tuple[str, date, str], str] = field(default_factory=dict)
    """(participant key, grant date, award type) → a recorded grant's id (see
    :func:`participant_key`)."""
    awards: tuple[Award, ...] = ()
    """Every recorded award as granted, with its forfeitures (for :meth:`on_grant_date`)."""

    def on_grant_date(self) -> OnGrantDate:
        """The shares outstanding on any grant date, in that date's shares."""
        return OnGrantDate(self.splits, self.awards)

    def reserve_in_shares_of(self, plan: Plan, day: date) -> int:
        """The Section 4(a) reserve in force on ``day``, in the shares of ``day``."""
        scale = OnGrantDate(self.splits, ()).scale(plan.reserve_adopted(day), day)
        return int(plan.reserve_on(day) * scale)

    def cap_in_shares_of(self, plan: Plan, day: date) -> int:
        """The Section 4(b) cap in force on ``day``, in the shares of ``day``."""
        scale = OnGrantDate(self.splits, ()).scale(plan.non_option_cap_adopted(day), day)
        return int(plan.non_option_cap_on(day) * scale)

    def _scale(self, adopted: date | None) -> Fraction:
        """The splits a figure set on ``adopted`` (None: the Plan's own) has gone through:
        those dated after it. A figure an amendment set on or after a split's date is in
        post-split shares already."""
        if not self.splits:
            return self.ratio
        scale = Fraction(1)
        for day, step in self.splits:
            if adopted is None or day > adopted:
                scale *= step
        return scale

    def reserve_on(self, plan: Plan, day: date) -> int:
        """The Section 4(a) reserve in force on ``day`` (amendments, then splits)."""
        return int(plan.reserve_on(day) * self._scale(plan.reserve_adopted(day)))

    def non_option_cap_on(self, plan: Plan, day: date) -> int:
        """The Section 4(b) cap in force on ``day``."""
        return int(plan.non_option_cap_on(day) * self._scale(plan.non_option_cap_adopted(day)))

    def splits_since(self, granted: date) -> tuple[tuple[date, Fraction], ...]:
        """The recorded splits that adjust an award granted on ``granted``: those after it."""
        return tuple((day, step) for day, step in self.splits if day > granted)

    def adjusted(self, shares: int, price: Decimal, granted: date) -> Holding:
        """A grant of ``shares`` at ``price`` made on ``granted``, in today's shares: what
        the reserve counts and the ledger records (see :func:`replay`)."""
        return replay(shares, price, granted, self.splits)

    def adjusted_shares(self, shares: int, granted: date) -> int:
        """``shares`` of an award granted on ``granted``, in today's shares."""
        return self.adjusted(shares, Decimal(0), granted).shares

    def split_note(self, shares: int, granted: date) -> str:
        """`` (1,500 after the 3:2 split of 2007-01-01)`` for shares granted before a recorded
        split; empty otherwise."""
        since = self.splits_since(granted)
        if not since:
            return ""
        return f" ({self.adjusted_shares(shares, granted):,} after {split_names(since)})"

    @property
    def available(self) -> int:
        return self.reserve - self.used

    @property
    def non_option_available(self) -> int:
        return self.non_option_cap - self.non_option_used


@dataclass(frozen=True)
class Entry:
    """A grant to record, with what the rules worked out for it."""

    record: GrantRecord
    is_option: bool
    final_exercise_date: date | None
    source: str = ""
    forfeited: int = 0
    """Shares of it already back in the pool (an imported history's forfeitures): they do not
    count against the reserve."""
    schedule: str | None = None
    """Its vesting schedule's name (None: it vests at once)."""
    vesting: tuple[Installment, ...] = ()
    """Its installments, as granted (none: not recorded)."""


class Refusal(NamedTuple):
    """Why the recording transaction refused a grant: the rule, the plan section (or
    ``ledger``) and the column it is about, as the checks before it would have said."""

    message: str
    rule: str = "ledger-conflict"
    section: str = "ledger"
    column: str = "grant_id"


@dataclass
class Recorded:
    """What one recording transaction did."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What an import recorded although a plan rule says otherwise (a history is recorded as
    it happened), one sentence each."""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


@functools.cache
def _schema_columns() -> dict[str, set[str]]:
    """Each table of :data:`SCHEMA` and its columns."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {table: _columns(conn, table) for table in tables}
    finally:
        conn.close()


def _open_for_reading(path: Path) -> sqlite3.Connection:
    """A ledger opened only to be read (and copied): read-only, so a ledger in a read-only
    folder (where SQLite cannot make its journal files) can still be checked against."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:  # a WAL ledger in a read-only folder
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def _sqlite_problem(path: Path, exc: sqlite3.Error) -> str:
    """What SQLite's error means for the ledger at ``path``, in words a user can act on."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the ledger {path} is locked by another program; try again when it is done"
    if "disk I/O" in text or "full" in text:
        return f"cannot write the ledger {path}: {text} (is the disk full?)"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return (
            f"cannot write the ledger {path}: {text} (SQLite writes its journal beside the "
            "file: the folder must be writable)"
        )
    return f"{path} is not a usable grantgen ledger: {text}"


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
                    self.conn = _open_for_reading(self.path)
            except (OSError, sqlite3.Error) as exc:
                raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from exc
        try:
            missing = [  # tables of ours already there must be ours: checked before any change
                f"{table}.{column}"
                for table, columns in _schema_columns().items()
                if (present := _columns(self.conn, table))
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
            raise LedgerError(_sqlite_problem(self.path, exc)) from exc
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
            raise LedgerError(_sqlite_problem(self.path, exc)) from exc
        try:
            yield self.conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # a failed write may have ended it
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise LedgerError(_sqlite_problem(self.path, exc)) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:  # a full disk: nothing was recorded
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise LedgerError(_sqlite_problem(self.path, exc)) from exc

    # --- reading ---------------------------------------------------------------------------

    def ratio(self, plan_id: str) -> Fraction:
        """The plan's cumulative split ratio (1 before any split)."""
        row = self.conn.execute(
            "SELECT ratio_num, ratio_den FROM pools WHERE plan_id = ?", (plan_id,)
        ).fetchone()
        return Fraction(row[0], row[1]) if row else Fraction(1)

    def splits(self, plan_id: str) -> tuple[tuple[date, Fraction], ...]:
        """The plan's recorded splits, (date, ratio), in date order."""
        return tuple((day, step) for _, day, step in _split_rows(self.conn, plan_id))

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
        forfeits = _forfeits(self.conn, plan.id)
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
            terms={r[0]: (r[5], r[6], str(r[7]), _price_text(r[8]), r[2]) for r in rows},
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
            adjustments = [key for key, _, _ in _split_rows(conn, plan.id)]
            used, non_option_used = pool.used, pool.non_option_used
            dated = pool.on_grant_date()
            folded = {known.casefold(): known for known in [*pool.known, *pool.elsewhere]}
            for entry in entries:
                rec = entry.record
                digest = terms_hash(rec)
                other = folded.setdefault(rec.grant_id.casefold(), rec.grant_id)
                if other != rec.grant_id:
                    result.refused[rec.grant_id] = Refusal(
                        f"grant id {rec.grant_id} is the ledger's {other!r} in other capitals"
                    )
                    continue
                if rec.grant_id in pool.elsewhere:
                    result.refused[rec.grant_id] = Refusal(
                        f"grant id {rec.grant_id} is already in the ledger under plan "
                        f"{pool.elsewhere[rec.grant_id]}"
                    )
                    continue
                if rec.grant_id in pool.known:
                    if pool.known[rec.grant_id] == digest:
                        result.already.append(rec.grant_id)
                    else:
                        result.refused[rec.grant_id] = Refusal(other_terms(rec, pool))
                    continue
                # the figures in force on the grant date (an amendment may have changed them)
                available = pool.reserve_on(plan, rec.grant_date) - used
                non_option = pool.non_option_cap_on(plan, rec.grant_date) - non_option_used
                # in today's shares: a grant made before a recorded split is adjusted by it
                held = pool.adjusted_shares(rec.shares - entry.forfeited, rec.grant_date)
                note = pool.split_note(rec.shares, rec.grant_date)
                if held > available:
                    result.refused[rec.grant_id] = Refusal(
                        f"{shares_exceed(rec.shares, note)} the {max(available, 0):,} still "
                        f"available under the reserve (Section {plan.section('reserve')})",
                        "reserve",
                        plan.section("reserve"),
                        "shares",
                    )
                    continue
                since = pool.splits_since(rec.grant_date)
                short = (
                    grant_date_shortfall(
                        pool, dated, plan, rec, rec.shares - entry.forfeited, entry.is_option
                    )
                    if since
                    else None
                )
                if short is not None:
                    result.refused[rec.grant_id] = short
                    continue
                if not entry.is_option and held > non_option:
                    result.refused[rec.grant_id] = Refusal(
                        f"{shares_exceed(rec.shares, note)} the {max(non_option, 0):,} still "
                        "available for awards other than options (Section "
                        f"{plan.section('non_option_cap')})",
                        "non-option-cap",
                        plan.section("non_option_cap"),
                        "shares",
                    )
                    continue
                used += held
                if not entry.is_option:
                    non_option_used += held
                dated.add(Award(rec.grant_date, rec.shares - entry.forfeited, entry.is_option))
                now = pool.adjusted(rec.shares, rec.exercise_price, rec.grant_date)
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
                        entry.final_exercise_date.isoformat()
                        if entry.final_exercise_date
                        else None,
                        digest,
                        entry.source,
                    ),
                )
                conn.execute(
                    "INSERT INTO events (plan_id, grant_id, kind, day, shares, detail)"
                    " VALUES (?,?,?,?,?,?)",
                    (plan.id, rec.grant_id, "grant", day, rec.shares, entry.source),
                )
                start = (rec.vesting_start or rec.grant_date).isoformat()
                for number, part in enumerate(entry.vesting, start=1):
                    conn.execute(
                        "INSERT INTO vesting VALUES (?,?,?,?,?,?)",
                        (
                            rec.grant_id,
                            number,
                            part.day.isoformat(),
                            str(part.shares),
                            entry.schedule,
                            start,
                        ),
                    )
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
        _not_after_today(day, today, "a forfeiture")
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
        _not_after_today(day, today, "a split")
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
            rows = conn.execute(  # the awards granted before the split's date
                "SELECT grant_id, shares, exercise_price, forfeited, grant_date, "
                "original_shares, original_price FROM grants "
                "WHERE plan_id = ? AND grant_date < ?",
                (plan.id, day.isoformat()),
            ).fetchall()
            forfeits = _forfeits(conn, plan.id)
            for grant_id, shares, price, forfeited, granted, original, original_price in rows:
                # what it had outstanding and forfeited before the split's date is adjusted;
                # a forfeiture dated on or after it is in post-split shares already
                new_shares, new_forfeited = _split_grant(
                    grant_id,
                    (shares, forfeited),
                    (original, Decimal(original_price), date.fromisoformat(granted)),
                    forfeits.get(grant_id, []),
                    (before.splits, after.splits),
                )
                new_price = adjust_price(Decimal(price), step)
                conn.execute(
                    "UPDATE grants SET shares = ?, exercise_price = ?, forfeited = ? "
                    "WHERE grant_id = ?",
                    (new_shares, str(new_price), new_forfeited, grant_id),
                )
                conn.execute(
                    "INSERT INTO grant_history VALUES (?,?,?,?,?,?)",
                    (adjustment, grant_id, shares, new_shares, price, str(new_price)),
                )
            conn.execute(
                "INSERT INTO events (plan_id, kind, day, detail) VALUES (?,?,?,?)",
                (plan.id, "adjust", day.isoformat(), f"split {new}:{old}"),
            )
        return {"reserve_before": reserve_before, "reserve_after": reserve_after}

    # --- export / import -------------------------------------------------------------------


def grant_date_shortfall(
    pool: Pool, dated: OnGrantDate, plan: Plan, rec: GrantRecord, held: int, is_option: bool
) -> Refusal | None:
    """Why a grant (``held`` of its shares counting) made before a recorded split does not
    fit the reserve or cap on its grant date, in that date's shares (None: it fits). The
    recording transaction and ``validate`` (:mod:`.rules`) both ask this."""
    day, since = rec.grant_date, pool.splits_since(rec.grant_date)
    used, non_option_used = dated.used(day)
    reserve = pool.reserve_in_shares_of(plan, day)
    if held > reserve - used:
        return Refusal(
            f"{shares_exceed(rec.shares)} the shares available under the reserve (Section "
            f"{plan.section('reserve')}): "
            + short_on_grant_date(reserve - used, reserve, day, since),
            "reserve",
            plan.section("reserve"),
            "shares",
        )
    cap = pool.cap_in_shares_of(plan, day)
    if not is_option and held > cap - non_option_used:
        return Refusal(
            f"{shares_exceed(rec.shares)} the shares available for awards other than options "
            f"(Section {plan.section('non_option_cap')}): "
            + short_on_grant_date(cap - non_option_used, cap, day, since),
            "non-option-cap",
            plan.section("non_option_cap"),
            "shares",
        )
    return None


def _split_rows(conn: sqlite3.Connection, plan_id: str) -> list[tuple[int, date, Fraction]]:
    """The plan's recorded splits, (adjustment id, date, ratio), in date order."""
    rows = conn.execute(
        "SELECT id, day, ratio FROM adjustments WHERE plan_id = ? ORDER BY day, id", (plan_id,)
    ).fetchall()
    out = []
    for key, day, ratio in rows:
        new, old = parse_split(ratio)
        out.append((key, date.fromisoformat(day), Fraction(new, old)))
    return out


def _forfeits(
    conn: sqlite3.Connection, plan_id: str, grant_id: str | None = None
) -> dict[str, list[tuple[date, int]]]:
    """The forfeitures recorded (of one grant, or of all the plan's), by grant id: (date,
    shares), in the order recorded."""
    sql = "SELECT grant_id, day, shares FROM events WHERE plan_id = ? AND kind = 'forfeit'"
    args: tuple[str, ...] = (plan_id,)
    if grant_id is not None:
        sql += " AND grant_id = ?"
        args += (grant_id,)
    out: dict[str, list[tuple[date, int]]] = {}
    for key, day, shares in conn.execute(sql + " ORDER BY id", args):
        out.setdefault(key, []).append((date.fromisoformat(day), int(shares)))
    return out


def _not_after_today(day: date, today: date | None, what: str) -> None:
    now = today or date.today()
    if day > now:
        raise LedgerError(
            f"{what} cannot be dated {day.isoformat()}, after today ({now.isoformat()}): "
            "record it when it has happened"
        )


def _split_grant(
    grant_id: str,
    now: tuple[int, int],
    granted: tuple[int, Decimal, date],
    forfeits: Sequence[tuple[date, int]],
    splits: tuple[Sequence[tuple[date, Fraction]], Sequence[tuple[date, Fraction]]],
) -> tuple[int, int]:
    """A grant's outstanding and forfeited shares after the last of ``splits[1]`` (the
    plan's splits with it; ``splits[0]``, without it): its history (``granted``: original
    shares, price and date; ``forfeits``) replayed with the split. ``now``: its figures
    before the split."""
    (shares, forfeited), (original, price, day) = now, granted
    last_day, step = splits[1][-1]
    try:
        before = replay(original, price, day, splits[0], forfeits)
    except Overdrawn:
        before = None
    if before is None or (before.shares, before.forfeited) != now:
        # figures its history does not give (a ledger an earlier version wrote, where a
        # grant or forfeiture recorded after a later-dated split was not adjusted by it):
        # split as they are
        return int(shares * step), int(forfeited * step)
    try:
        after = replay(original, price, day, splits[1], forfeits)
    except Overdrawn as exc:
        raise LedgerError(
            f"a {step.numerator}:{step.denominator} split on {last_day.isoformat()} would leave "
            f"grant {grant_id} {exc.outstanding:,} shares on {exc.day.isoformat()}, fewer than "
            f"the {exc.shares:,} forfeited that day"
        ) from None
    return after.shares, after.forfeited


class Forfeited(NamedTuple):
    """What a forfeiture did, in today's shares."""

    outstanding: int
    """The grant's outstanding shares after it."""
    returned: int
    """The shares it returned to the pool: those forfeited, as adjusted by the splits dated
    after it."""


def outstanding_on(conn: sqlite3.Connection, plan: Plan, grant_id: str, day: date) -> int:
    """The shares of a grant outstanding on ``day``, in the shares of that day (the splits up
    to it applied, the forfeitures dated up to it taken off); 0 for a grant not recorded."""
    row = conn.execute(
        "SELECT grant_date, original_shares, original_price FROM grants "
        "WHERE grant_id = ? AND plan_id = ?",
        (grant_id, plan.id),
    ).fetchone()
    if row is None:
        return 0
    granted = date.fromisoformat(row[0])
    splits = [(d, step) for _, d, step in _split_rows(conn, plan.id) if d <= day]
    earlier = [f for f in _forfeits(conn, plan.id, grant_id).get(grant_id, []) if f[0] <= day]
    return replay(row[1], Decimal(row[2]), granted, splits, earlier).shares


def forfeit_in(
    conn: sqlite3.Connection, plan: Plan, grant_id: str, shares: int, day: date
) -> Forfeited:
    """:meth:`Ledger.forfeit` inside a transaction already open on ``conn``.

    ``shares`` are in the shares of ``day``: a forfeiture dated before a recorded split is
    adjusted by it, as one recorded before the split would have been (see :func:`replay`)."""
    row = conn.execute(
        "SELECT shares, forfeited, grant_date, original_shares, original_price FROM grants "
        "WHERE grant_id = ? AND plan_id = ?",
        (grant_id, plan.id),
    ).fetchone()
    if row is None:
        raise LedgerError(f"grant {grant_id} is not in the ledger for plan {plan.id}")
    outstanding, forfeited, granted_text, original, original_price = row
    if day.isoformat() < granted_text:
        raise LedgerError(
            f"grant {grant_id} was made on {granted_text}; it cannot be forfeited on "
            f"{day.isoformat()}, before it was made"
        )
    granted = date.fromisoformat(granted_text)
    splits = [(d, step) for _, d, step in _split_rows(conn, plan.id)]
    earlier = _forfeits(conn, plan.id, grant_id).get(grant_id, [])
    price = Decimal(original_price)
    try:
        after = replay(original, price, granted, splits, [*earlier, (day, shares)])
    except Overdrawn as exc:
        if exc.index == len(earlier):
            since = [(d, step) for d, step in splits if granted < d <= day]
            units = f" (in shares after {split_names(since)})" if since else ""
            raise LedgerError(
                f"grant {grant_id} had only {exc.outstanding:,} outstanding shares on "
                f"{day.isoformat()}{units}; cannot forfeit {shares:,}"
            ) from None
        raise LedgerError(
            f"grant {grant_id}: with {shares:,} share(s) forfeited on {day.isoformat()}, its "
            f"forfeiture of {exc.shares:,} on {exc.day.isoformat()} would be more than the "
            f"{exc.outstanding:,} it then had outstanding"
        ) from None
    before = replay(original, price, granted, splits, earlier)
    # the change this forfeiture makes (a ledger an earlier version wrote may hold figures
    # its history does not give: they are kept, and changed by this forfeiture only)
    returned = before.shares - after.shares
    if returned > outstanding:
        raise LedgerError(
            f"grant {grant_id} has only {outstanding:,} outstanding shares; cannot forfeit "
            f"{shares:,}"
        )
    conn.execute(
        "UPDATE grants SET shares = ?, forfeited = ? WHERE grant_id = ?",
        (outstanding - returned, forfeited + after.forfeited - before.forfeited, grant_id),
    )
    conn.execute(
        "INSERT INTO events (plan_id, grant_id, kind, day, shares) VALUES (?,?,?,?,?)",
        (plan.id, grant_id, "forfeit", day.isoformat(), shares),
    )
    return Forfeited(outstanding - returned, returned)


def parse_split(text: str) -> tuple[int, int]:
    """``2:1`` → (2, 1): two new shares for each old one."""
    parts = text.replace("-for-", ":").replace("/", ":").split(":")
    try:
        new, old = (int(p) for p in parts)
    except ValueError:
        raise LedgerError(f"{text!r} is not a split ratio; write it as 2:1 or 1:10") from None
    if new <= 0 or old <= 0 or new == old:
        raise LedgerError(f"{text!r} is not a split ratio; write it as 2:1 or 1:10")
    if max(new, old) > MAX_SPLIT:
        raise LedgerError(f"{text!r}: a split ratio's numbers must be at most {MAX_SPLIT:,}")
    return new, old


def entries_for(records: Iterable[GrantRecord], plan: Plan, finals: dict[int, date]) -> list[Entry]:
    return [Entry(r, plan.is_option(r.award_type), finals.get(r.row), "generate") for r in records]


def vesting_entry(record: GrantRecord, plan: Plan) -> tuple[str | None, tuple[Installment, ...]]:
    """A grant's schedule name and installments for the ledger (none when they cannot be
    worked out: the rules refuse such a grant)."""
    try:
        schedule, found = grant_vesting(record, plan)
    except VestingError:
        return None, ()
    return (schedule.name if schedule else None), tuple(found)
