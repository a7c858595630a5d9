"""The share ledger: a SQLite file recording every grant, forfeiture and Section 8 adjustment.

* Shares used = the outstanding shares of every recorded award. Forfeited, expired or cancelled
  shares go back to the pool (Section 4(a)).
* The reserve and the non-option cap are the plan file's numbers times the cumulative ratio of
  the Section 8 adjustments recorded here, rounded down.
* A split ``N:D`` multiplies shares by N/D and divides exercise prices by it. Fractions: an
  award's shares are rounded down to a whole share (the fraction is dropped) and its exercise
  price is rounded up to the cent, so the aggregate exercise price is never reduced. The old
  values are kept in ``grant_history``.
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
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from .errors import GrantgenError
from .plan import Plan
from .records import GrantRecord
from .values import shares_exceed

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
    kind TEXT NOT NULL,               -- grant | forfeit | adjust | import
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
    shares, exercise price and award type, as text."""
    return (
        record.participant,
        record.grant_date.isoformat(),
        str(record.shares),
        str(record.exercise_price.normalize()),
        record.award_type,
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
    on_day: dict[tuple[str, date], str] = field(default_factory=dict)
    """(participant key, grant date) → a recorded grant's id (see :func:`participant_key`)."""

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
        rows = self.conn.execute(
            "SELECT day, ratio FROM adjustments WHERE plan_id = ? ORDER BY day, id", (plan_id,)
        ).fetchall()
        out = []
        for day, ratio in rows:
            new, old = parse_split(ratio)
            out.append((date.fromisoformat(day), Fraction(new, old)))
        return tuple(out)

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
            on_day={(participant_key(r[5]), date.fromisoformat(r[6])): r[0] for r in rows},
        )

    def grants(self, plan_id: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM grants"
        args: tuple[str, ...] = ()
        if plan_id is not None:
            sql += " WHERE plan_id = ?"
            args = (plan_id,)
        cur = self.conn.execute(sql + " ORDER BY grant_date, grant_id", args)
        return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in cur.fetchall()]

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
            used, non_option_used = pool.used, pool.non_option_used
            for entry in entries:
                rec = entry.record
                digest = terms_hash(rec)
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
                held = rec.shares - entry.forfeited  # what it takes from the pool
                if held > available:
                    result.refused[rec.grant_id] = Refusal(
                        f"{shares_exceed(rec.shares)} the {max(available, 0):,} still available "
                        f"under the reserve (Section {plan.section('reserve')})",
                        "reserve",
                        plan.section("reserve"),
                        "shares",
                    )
                    continue
                if not entry.is_option and held > non_option:
                    result.refused[rec.grant_id] = Refusal(
                        f"{shares_exceed(rec.shares)} the {max(non_option, 0):,} still available "
                        f"for awards other than options (Section {plan.section('non_option_cap')})",
                        "non-option-cap",
                        plan.section("non_option_cap"),
                        "shares",
                    )
                    continue
                used += held
                if not entry.is_option:
                    non_option_used += held
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
                        rec.shares,
                        str(rec.exercise_price),
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
                result.added.append(rec.grant_id)
            if before_commit is not None:
                before_commit(result)
        return result

    def unrecord(self, plan: Plan, grant_ids: Sequence[str]) -> None:
        """Take out grants :meth:`record` just added, whose documents could not be placed.
        Only when nothing has happened to them since (no forfeiture, no split)."""
        if not grant_ids:
            return
        with self.transaction() as conn:
            for grant_id in grant_ids:
                touched = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE plan_id = ? AND grant_id = ? "
                    "AND kind != 'grant'",
                    (plan.id, grant_id),
                ).fetchone()[0]
                if touched:
                    continue
                gone = conn.execute(
                    "DELETE FROM grants WHERE plan_id = ? AND grant_id = ? "
                    "AND shares = original_shares",
                    (plan.id, grant_id),
                ).rowcount
                if gone:
                    conn.execute(
                        "DELETE FROM events WHERE plan_id = ? AND grant_id = ? AND kind = 'grant'",
                        (plan.id, grant_id),
                    )

    def forfeit(
        self, plan: Plan, grant_id: str, shares: int, day: date, *, today: date | None = None
    ) -> int:
        """Return ``shares`` of a grant to the pool; the grant's outstanding shares after it."""
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
        reserve and cap, are adjusted. Returns the pool change."""
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
            rows = conn.execute(  # the awards outstanding on the split's date
                "SELECT grant_id, shares, exercise_price, forfeited FROM grants "
                "WHERE plan_id = ? AND grant_date < ?",
                (plan.id, day.isoformat()),
            ).fetchall()
            for grant_id, shares, price, forfeited in rows:
                new_shares = int(shares * step)
                new_price = adjust_price(Decimal(price), step)
                conn.execute(
                    "UPDATE grants SET shares = ?, exercise_price = ?, forfeited = ? "
                    "WHERE grant_id = ?",
                    (new_shares, str(new_price), int(forfeited * step), grant_id),
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


def _not_after_today(day: date, today: date | None, what: str) -> None:
    now = today or date.today()
    if day > now:
        raise LedgerError(
            f"{what} cannot be dated {day.isoformat()}, after today ({now.isoformat()}): "
            "record it when it has happened"
        )


def forfeit_in(conn: sqlite3.Connection, plan: Plan, grant_id: str, shares: int, day: date) -> int:
    """:meth:`Ledger.forfeit` inside a transaction already open on ``conn``."""
    row = conn.execute(
        "SELECT shares, grant_date FROM grants WHERE grant_id = ? AND plan_id = ?",
        (grant_id, plan.id),
    ).fetchone()
    if row is None:
        raise LedgerError(f"grant {grant_id} is not in the ledger for plan {plan.id}")
    if day.isoformat() < row[1]:
        raise LedgerError(
            f"grant {grant_id} was made on {row[1]}; it cannot be forfeited on "
            f"{day.isoformat()}, before it was made"
        )
    if shares > row[0]:
        raise LedgerError(
            f"grant {grant_id} has only {row[0]:,} outstanding shares; cannot forfeit {shares:,}"
        )
    conn.execute(
        "UPDATE grants SET shares = shares - ?, forfeited = forfeited + ? WHERE grant_id = ?",
        (shares, shares, grant_id),
    )
    conn.execute(
        "INSERT INTO events (plan_id, grant_id, kind, day, shares) VALUES (?,?,?,?,?)",
        (plan.id, grant_id, "forfeit", day.isoformat(), shares),
    )
    return int(row[0]) - shares


def adjust_price(price: Decimal, step: Fraction) -> Decimal:
    """Divide a price by the split ratio, rounded up to the cent (or to the finer precision
    the price already had), so the aggregate exercise price is never reduced."""
    exponent = price.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    exact = price * Decimal(step.denominator) / Decimal(step.numerator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING)


#: The largest number on either side of a split ratio (shares must stay SQLite integers).
MAX_SPLIT = 1_000_000


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
