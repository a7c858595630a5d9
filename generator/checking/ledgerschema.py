"""The ledger's SQLite file: its tables, the columns of an export, opening a file to read it, and
SQLite's errors in words."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

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


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


@functools.cache
def schema_columns() -> dict[str, set[str]]:
    """Each table of :data:`SCHEMA` and its columns."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {table: table_columns(conn, table) for table in tables}
    finally:
        conn.close()


def open_for_reading(path: Path) -> sqlite3.Connection:
    """A ledger opened only to be read (and copied): read-only, so a ledger in a read-only
    folder (where SQLite cannot make its journal files) can still be checked against."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:  # a WAL ledger in a read-only folder
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def sqlite_problem(path: Path, exc: sqlite3.Error) -> str:
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
