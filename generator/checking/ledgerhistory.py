"""What the ledger records by date, in its tables: splits and forfeitures, a grant's shares on a
date, and the check of a grant against the reserve and cap in force on its grant date."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from generator.checking.pool import Pool
from generator.checking.splits import (
    MAX_SPLIT,
    OnGrantDate,
    Overdrawn,
    adjust_price,
    replay,
    short_on_grant_date,
    split_names,
)
from generator.core.errors import LedgerError
from generator.reading.grantrecord import GrantRecord
from generator.reading.values import shares_exceed
from generator.terms.planmodel import Plan


class Refusal(NamedTuple):
    """Why the recording transaction refused a grant: the rule, the plan section (or
    ``ledger``) and the column it is about, as the checks before it would have said."""

    message: str
    rule: str = "ledger-conflict"
    section: str = "ledger"
    column: str = "grant_id"


def grant_date_shortfall(
    pool: Pool, dated: OnGrantDate, plan: Plan, rec: GrantRecord, held: int, is_option: bool
) -> Refusal | None:
    """Why a grant (``held`` of its shares counting) made before a recorded split, or before a
    recorded forfeiture, does not fit the reserve or cap on its grant date, in that date's
    shares (None: it fits, or neither was recorded after it, so today's figures tell). The
    recording transaction and ``validate`` (:mod:`generator.checking.batchcheck`) both ask
    this."""
    day, since = rec.grant_date, pool.splits_since(rec.grant_date)
    if not since and not dated.freed_after(day):
        return None
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


def split_rows(conn: sqlite3.Connection, plan_id: str) -> list[tuple[int, date, Fraction]]:
    """The plan's recorded splits, (adjustment id, date, ratio), in date order."""
    rows = conn.execute(
        "SELECT id, day, ratio FROM adjustments WHERE plan_id = ? ORDER BY day, id", (plan_id,)
    ).fetchall()
    out = []
    for key, day, ratio in rows:
        new, old = parse_split(ratio)
        out.append((key, date.fromisoformat(day), Fraction(new, old)))
    return out


def recorded_forfeits(
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


def not_after_today(day: date, today: date | None, what: str) -> None:
    now = today or date.today()
    if day > now:
        raise LedgerError(
            f"{what} cannot be dated {day.isoformat()}, after today ({now.isoformat()}): "
            "record it when it has happened"
        )


def split_grant(
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
    splits = [(d, step) for _, d, step in split_rows(conn, plan.id) if d <= day]
    earlier = [
        f for f in recorded_forfeits(conn, plan.id, grant_id).get(grant_id, []) if f[0] <= day
    ]
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
    splits = [(d, step) for _, d, step in split_rows(conn, plan.id)]
    earlier = recorded_forfeits(conn, plan.id, grant_id).get(grant_id, [])
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


def split_awards_in(
    conn: sqlite3.Connection,
    plan: Plan,
    day: date,
    step: Fraction,
    splits: tuple[Sequence[tuple[date, Fraction]], Sequence[tuple[date, Fraction]]],
    adjustment: int | None,
) -> None:
    """Section 8 inside a transaction open on ``conn``: each award granted before ``day``
    adjusted by a split of ``step`` (``splits``: the plan's splits before and after it), its
    old figures kept in ``grant_history`` under ``adjustment``."""
    rows = conn.execute(  # the awards granted before the split's date
        "SELECT grant_id, shares, exercise_price, forfeited, grant_date, "
        "original_shares, original_price FROM grants "
        "WHERE plan_id = ? AND grant_date < ?",
        (plan.id, day.isoformat()),
    ).fetchall()
    forfeits = recorded_forfeits(conn, plan.id)
    for grant_id, shares, price, forfeited, granted, original, original_price in rows:
        # what it had outstanding and forfeited before the split's date is adjusted;
        # a forfeiture dated on or after it is in post-split shares already
        new_shares, new_forfeited = split_grant(
            grant_id,
            (shares, forfeited),
            (original, Decimal(original_price), date.fromisoformat(granted)),
            forfeits.get(grant_id, []),
            splits,
        )
        new_price = adjust_price(Decimal(price), step)
        conn.execute(
            "UPDATE grants SET shares = ?, exercise_price = ?, forfeited = ? WHERE grant_id = ?",
            (new_shares, str(new_price), new_forfeited, grant_id),
        )
        conn.execute(
            "INSERT INTO grant_history VALUES (?,?,?,?,?,?)",
            (adjustment, grant_id, shares, new_shares, price, str(new_price)),
        )
