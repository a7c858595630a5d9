"""The SQLite share ledger: recording, forfeitures, splits, export/import, and races."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.checking.ledger import Ledger
from generator.checking.ledgercsv import export_csv, import_csv
from generator.checking.ledgerentry import Entry
from generator.checking.ledgerhistory import parse_split
from generator.checking.ledgerschema import EXPORT_COLUMNS
from generator.checking.splits import adjust_price
from generator.core.errors import LedgerError
from generator.reading.grantrecord import GrantRecord
from generator.terms.plan import load_plan
from generator.terms.planmodel import Amendment, Plan

PLAN = load_plan()


def grant(gid: str, shares: int, kind: str = "option", price: str = "3.25") -> Entry:
    rec = GrantRecord(
        2, gid, f"Director {gid}", date(2005, 5, 16), shares, Decimal(price), award_type=kind
    )
    return Entry(rec, PLAN.is_option(kind), date(2015, 5, 16), "test")


def test_record_is_idempotent_and_conflicts_are_refused(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        first = book.record(PLAN, [grant("A", 1000), grant("B", 2000)])
        assert first.added == ["A", "B"]
        again = book.record(PLAN, [grant("A", 1000), grant("B", 2000)])
        assert again.added == [] and again.already == ["A", "B"]
        other = book.record(PLAN, [grant("A", 1001)])
        # the message says which term differs
        assert other.refused["A"].message.endswith("other terms: shares '1000' there, '1001' here")
        pool = book.pool(PLAN)
        assert (pool.used, pool.available) == (3000, PLAN.reserve - 3000)


def test_a_grant_id_under_another_plan_is_refused_not_a_crash(tmp_path: Path) -> None:
    from generator.checking.batchcheck import check

    other = replace(PLAN, id="other-plan")
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(other, [grant("A", 1000)])
        got = book.record(PLAN, [grant("A", 1000), grant("B", 10)])
        assert got.added == ["B"] and "under plan other-plan" in got.refused["A"].message
        report = check([grant("A", 5).record], PLAN, None, book.pool(PLAN))
        assert [(f.rule, f.column) for f in report.findings if f.severity == "error"] == [
            ("ledger-conflict", "grant_id")
        ]


def test_reserve_is_rechecked_inside_the_transaction(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("BIG", PLAN.reserve - 10)])
        got = book.record(PLAN, [grant("FITS", 10), grant("OVER", 1)])
        over = got.refused["OVER"]
        assert got.added == ["FITS"] and "exceeds the 0 still available" in over.message
        # named like the check before it: the rule, the plan section and the column
        assert (over.rule, over.section, over.column) == ("reserve", "4(a)", "shares")
        assert book.pool(PLAN).available == 0


def test_failure_before_commit_records_nothing(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:

        def boom(_: object) -> None:
            raise OSError("disk full")

        with pytest.raises(OSError):
            book.record(PLAN, [grant("A", 1000)], boom)
        assert book.pool(PLAN).used == 0
        assert book.grants() == []


def test_forfeit_returns_shares_to_the_pool(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000)])
        assert book.forfeit(PLAN, "A", 400, date(2006, 1, 1)) == (600, 400)  # outstanding, back
        assert book.pool(PLAN).used == 600
        with pytest.raises(LedgerError, match="only 600 outstanding"):
            book.forfeit(PLAN, "A", 601, date(2006, 1, 1))
        with pytest.raises(LedgerError, match="not in the ledger"):
            book.forfeit(PLAN, "NOPE", 1, date(2006, 1, 1))
        with pytest.raises(LedgerError, match="before it was made"):
            book.forfeit(PLAN, "A", 1, date(2005, 5, 15))
        assert book.pool(PLAN).used == 600


def test_split_adjusts_reserve_caps_shares_and_prices_and_keeps_history(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(
            PLAN, [grant("A", 15001, price="3.25"), grant("R", 1001, "restricted_stock", "0.01")]
        )
        change = book.adjust(PLAN, 3, 2, date(2006, 6, 1))
        assert change == {"reserve_before": 800000, "reserve_after": 1200000}
        pool = book.pool(PLAN)
        assert pool.reserve == 1200000 and pool.non_option_cap == 150000
        rows = {g["grant_id"]: g for g in book.grants()}
        assert rows["A"]["shares"] == 22501  # 22,501.5 rounded down
        assert rows["A"]["exercise_price"] == "2.17"  # 2.1666… rounded up to the cent
        assert rows["A"]["original_shares"] == 15001 and rows["A"]["original_price"] == "3.25"
        assert pool.non_option_used == 1501
        (adj,) = book.history(PLAN.id)
        assert adj["ratio"] == "3:2" and adj["reserve_before"] == 800000
        hist = book.conn.execute(
            "SELECT shares_before, shares_after FROM grant_history WHERE grant_id='A'"
        ).fetchone()
        assert hist == (15001, 22501)
        # re-running the original batch after the split is still recognised as the same grant
        assert book.record(PLAN, [grant("A", 15001, price="3.25")]).already == ["A"]


def test_an_export_after_a_split_is_not_imported_with_wrong_numbers(tmp_path: Path) -> None:
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [grant("A", 15000)])
        book.forfeit(PLAN, "A", 100, date(2005, 6, 1))
        plain = export_csv(book, PLAN.id)
        book.adjust(PLAN, 3, 2, date(2006, 1, 1))
        split = export_csv(book, PLAN.id)
    assert plain.splitlines()[1].endswith(",1:1") and split.splitlines()[1].endswith(",3:2")
    with Ledger(tmp_path / "b.sqlite") as other:
        with pytest.raises(LedgerError, match=r"adjusted for a 3:2 split \(Section 8"):
            import_csv(other, PLAN, split)
        assert other.grants() == []
        import_csv(other, PLAN, plain)
        assert other.pool(PLAN).used == 14900


def test_splits_too_large_to_record_are_refused_and_change_nothing(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000)])
        book.adjust(PLAN, 1_000_000, 1, date(2006, 1, 1))
        book.adjust(PLAN, 1_000_000, 1, date(2006, 2, 1))
        before = book.grants()
        with pytest.raises(LedgerError, match="too large to record"):
            book.adjust(PLAN, 1_000_000, 1, date(2006, 3, 1))
        assert book.grants() == before and len(book.history(PLAN.id)) == 2


def test_a_split_adjusts_the_awards_made_before_its_date_only(tmp_path: Path) -> None:
    later = replace(grant("LATER", 500).record, grant_date=date(2006, 6, 2))
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000), Entry(later, True, None, "test")])
        book.adjust(PLAN, 2, 1, date(2006, 6, 1), today=date(2026, 1, 1))
        shares = {g["grant_id"]: g["shares"] for g in book.grants()}
        # Section 8 adjusts outstanding awards; one made after the split is in new shares
        assert shares == {"A": 2000, "LATER": 500}


def test_splits_and_forfeitures_in_the_future_or_out_of_order_are_refused(tmp_path: Path) -> None:
    today = date(2026, 1, 1)
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000)])
        with pytest.raises(LedgerError, match="after today"):
            book.adjust(PLAN, 2, 1, date(2026, 1, 2), today=today)
        with pytest.raises(LedgerError, match="after today"):
            book.forfeit(PLAN, "A", 10, date(2026, 1, 2), today=today)
        book.adjust(PLAN, 2, 1, date(2010, 1, 4), today=today)
        with pytest.raises(LedgerError, match="record splits in date order"):
            book.adjust(PLAN, 3, 1, date(2008, 1, 2), today=today)
        assert [g["shares"] for g in book.grants()] == [2000]
        assert len(book.history(PLAN.id)) == 1


TODAY = date(2026, 1, 1)


def dated(gid: str, shares: int, day: date, price: str = "3.31") -> Entry:
    rec = GrantRecord(2, gid, f"Director {gid}", day, shares, Decimal(price))
    return Entry(rec, True, None, "test")


def rows_of(book: Ledger) -> list[tuple]:
    return [tuple(g.values()) for g in book.grants()]


def test_a_grant_recorded_after_a_later_dated_split_is_adjusted_by_it(tmp_path: Path) -> None:
    """Section 8 adjusts every award granted before the split's date, whenever it is
    recorded: a grant typed in after the split was entered comes out as one typed before."""
    early = dated("EARLY", 1001, date(2005, 5, 20))
    with Ledger(tmp_path / "before.sqlite") as before:
        before.record(PLAN, [early])
        before.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
        in_order = rows_of(before)
    with Ledger(tmp_path / "after.sqlite") as after:
        after.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
        assert after.record(PLAN, [early]).added == ["EARLY"]
        # 1,001 pre-split shares at $3.31: 1,501 (1,501.5 rounded down) at $2.21 (2.2066…
        # rounded up); the original terms kept
        assert rows_of(after) == in_order
        (row,) = after.grants()
        assert (row["shares"], row["exercise_price"]) == (1501, "2.21")
        assert (row["original_shares"], row["original_price"]) == (1001, "3.31")
        assert after.pool(PLAN).used == 1501
        hist = after.conn.execute("SELECT * FROM grant_history").fetchall()
        assert hist == [(1, "EARLY", 1001, 1501, "3.31", "2.21")]  # what the split made of it
        assert after.record(PLAN, [early]).already == ["EARLY"]  # the same grant on a rerun


def test_a_grant_between_two_splits_is_adjusted_by_the_later_only(tmp_path: Path) -> None:
    facts = [
        dated("A", 1001, date(2005, 5, 20)),
        dated("B", 777, date(2007, 1, 1), "5.55"),  # on the first split's date: post-split
        dated("C", 333, date(2008, 3, 3), "0.07"),
        dated("D", 10, date(2009, 6, 1), "1.00"),  # after both
    ]
    splits = [(3, 2, date(2007, 1, 1)), (1, 4, date(2009, 1, 5))]
    with Ledger(tmp_path / "in-order.sqlite") as book:
        book.record(PLAN, facts[:1])
        book.adjust(PLAN, *splits[0], today=TODAY)
        book.record(PLAN, facts[1:3])
        book.adjust(PLAN, *splits[1], today=TODAY)
        book.record(PLAN, facts[3:])
        in_order = rows_of(book)
    with Ledger(tmp_path / "splits-first.sqlite") as book:
        for split in splits:
            book.adjust(PLAN, *split, today=TODAY)
        book.record(PLAN, facts[::-1])
        assert rows_of(book) == in_order
        got = {g["grant_id"]: (g["shares"], g["exercise_price"]) for g in book.grants()}
    # A: 1,001 -> 1,501 ($2.21) -> 375 ($8.84); B, C: split 1:4 only; D: untouched
    assert got == {
        "A": (375, "8.84"),
        "B": (194, "22.20"),
        "C": (83, "0.28"),
        "D": (10, "1.00"),
    }


def test_a_forfeiture_is_in_the_shares_of_its_date_whenever_it_is_recorded(
    tmp_path: Path,
) -> None:
    """100 shares forfeited before a 3:2 split are 150 after it, whether the forfeiture was
    recorded before the split was entered or after; one dated after the split is 100."""
    results = []
    for name, split_first in (("forfeit-first", False), ("split-first", True)):
        with Ledger(tmp_path / f"{name}.sqlite") as book:
            book.record(
                PLAN, [dated("A", 15001, date(2005, 5, 16)), dated("B", 900, date(2005, 5, 16))]
            )
            if split_first:
                book.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
            book.forfeit(PLAN, "A", 100, date(2006, 6, 1), today=TODAY)
            book.forfeit(PLAN, "B", 100, date(2008, 6, 1), today=TODAY)  # post-split shares
            if not split_first:
                book.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
            results.append((rows_of(book), book.pool(PLAN).used))
    assert results[0] == results[1]
    rows = {r[0]: r for r in results[0][0]}
    # A: (15,001 - 100) * 1.5 = 22,351 outstanding, 150 forfeited; B: 1,350 - 100
    assert (rows["A"][5], rows["A"][7]) == (22351, 150)
    assert (rows["B"][5], rows["B"][7]) == (1250, 100)


def test_a_forfeiture_recorded_after_a_split_is_checked_in_the_shares_of_its_date(
    tmp_path: Path,
) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [dated("A", 1000, date(2005, 5, 16))])
        book.adjust(PLAN, 2, 1, date(2007, 1, 1), today=TODAY)
        with pytest.raises(LedgerError, match="had only 1,000 outstanding shares on 2006-06-01"):
            book.forfeit(PLAN, "A", 1001, date(2006, 6, 1), today=TODAY)  # 2,000 today
        book.forfeit(PLAN, "A", 1500, date(2008, 1, 1), today=TODAY)
        # 600 on 2006 would leave 400, 800 after the split: too few for the 1,500 of 2008
        with pytest.raises(LedgerError, match="forfeiture of 1,500 on 2008-01-01 would be more"):
            book.forfeit(PLAN, "A", 600, date(2006, 6, 1), today=TODAY)
        assert book.forfeit(PLAN, "A", 250, date(2006, 6, 1), today=TODAY) == (0, 500)
        assert book.pool(PLAN).used == 0


def test_a_split_that_would_undo_a_later_forfeiture_is_refused(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [dated("A", 30, date(2005, 5, 16))])
        book.forfeit(PLAN, "A", 5, date(2008, 1, 1), today=TODAY)
        before = book.grants()
        with pytest.raises(LedgerError, match="would leave grant A 3 shares on 2008-01-01"):
            book.adjust(PLAN, 1, 10, date(2007, 1, 1), today=TODAY)
        assert book.grants() == before and book.history(PLAN.id) == []


def test_a_back_dated_grant_whose_files_could_not_be_placed_is_taken_out(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        book.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
        book.record(PLAN, [dated("A", 1000, date(2005, 5, 16))])
        book.unrecord(PLAN, ["A"])
        assert book.grants() == [] and book.pool(PLAN).used == 0
        assert book.conn.execute("SELECT COUNT(*) FROM grant_history").fetchone() == (0,)


def test_an_import_into_a_ledger_with_a_later_split_is_adjusted_by_it(tmp_path: Path) -> None:
    """A history exported before the split and imported after it was entered gives the
    ledger that recorded the history and then the split."""
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [dated("A", 15001, date(2005, 5, 16)), dated("B", 7, date(2008, 1, 2))])
        book.forfeit(PLAN, "A", 1, date(2005, 6, 1), today=TODAY)
        text = export_csv(book, PLAN.id)
        book.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
        expected, exported = rows_of(book), export_csv(book, PLAN.id)
    with Ledger(tmp_path / "b.sqlite") as other:
        other.adjust(PLAN, 3, 2, date(2007, 1, 1), today=TODAY)
        import_csv(other, PLAN, text)
        assert rows_of(other) == expected
        assert export_csv(other, PLAN.id) == exported


facts_strategy = st.fixed_dictionaries(
    {
        "grants": st.lists(
            st.tuples(st.integers(0, 1400), st.integers(1, 5000), st.integers(1, 5000)),
            min_size=1,
            max_size=4,
        ),
        "splits": st.lists(
            st.tuples(st.integers(0, 1400), st.integers(1, 4), st.integers(1, 4)).filter(
                lambda s: s[1] != s[2]
            ),
            max_size=3,
        ),
        "forfeits": st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 1400), st.integers(1, 3000)), max_size=6
        ),
        "order": st.randoms(use_true_random=False),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(facts=facts_strategy)
def test_the_ledger_depends_on_the_dates_of_its_facts_not_their_order(
    tmp_path_factory: pytest.TempPathFactory, facts: dict
) -> None:
    """Grants, forfeitures and splits recorded in date order, or the splits first and the
    rest in any order, make the same ledger."""
    start = date(2005, 1, 3)
    splits = sorted((start + timedelta(days=d), n, o) for d, n, o in facts["splits"])
    grants = [
        dated(f"G{i}", shares, start + timedelta(days=d), f"{cents / 100:.2f}")
        for i, (d, shares, cents) in enumerate(facts["grants"])
    ]
    forfeits = [
        (grants[i].record.grant_id, max(grants[i].record.grant_date, start + timedelta(days=d)), n)
        for i, d, n in facts["forfeits"]
        if i < len(grants)
    ]
    # date order: on one day a split first (grants and forfeitures that day are post-split)
    timeline = [
        what
        for _, _, what in sorted(
            [(day, 0, ("split", (n, o, day))) for day, n, o in splits]
            + [(g.record.grant_date, 1, ("grant", g)) for g in grants]
            + [(f[1], 2, ("forfeit", f)) for f in forfeits],
            key=lambda t: (t[0], t[1]),
        )
    ]
    folder = tmp_path_factory.mktemp("order")

    def make(name: str, order: list[tuple[str, Any]]) -> tuple[list[tuple], int, int]:
        with Ledger(folder / f"{name}.sqlite") as book:
            for kind, what in order:
                if kind == "split":
                    book.adjust(PLAN, *what, today=TODAY)
                elif kind == "grant":
                    assert book.record(PLAN, [what]).added
                else:
                    try:
                        book.forfeit(PLAN, what[0], what[2], what[1], today=TODAY)
                    except LedgerError:  # more than it had then: in date order, never made
                        assert name == "dates"
                        forfeits.remove(what)
            pool = book.pool(PLAN)
            return rows_of(book), pool.used, pool.reserve

    in_date_order = make("dates", timeline)
    # the splits first, then the grants and the forfeitures the history made, in any order
    # (a forfeiture after its grant)
    rest = [("grant", g) for g in grants] + [("forfeit", f) for f in forfeits]
    facts["order"].shuffle(rest)
    rest.sort(key=lambda f: f[0] != "grant")
    splits_first = [("split", (n, o, day)) for day, n, o in splits] + rest
    assert make("splits-first", splits_first) == in_date_order


def with_reserve(reserve: int, day: date) -> Plan:
    """The bundled plan with an amendment that sets the reserve from ``day``."""
    amendment = Amendment(9, day, "Board", "reserve changed", reserve=reserve)
    return replace(PLAN, amendments=(*PLAN.amendments, amendment))


def test_a_reserve_an_amendment_set_after_a_split_is_not_split_again(tmp_path: Path) -> None:
    amended = with_reserve(900_000, date(2012, 1, 3))
    with Ledger(tmp_path / "l.sqlite") as book:
        change = book.adjust(amended, 2, 1, date(2010, 1, 4), today=date(2026, 1, 1))
        assert change == {"reserve_before": 800_000, "reserve_after": 1_600_000}
        pool = book.pool(amended, today=date(2026, 1, 1))
        assert pool.reserve_on(amended, date(2011, 6, 1)) == 1_600_000  # the Plan's, split
        assert pool.reserve_on(amended, date(2012, 1, 3)) == 900_000  # set in new shares
        assert pool.reserve == 900_000  # in force today


def test_a_grant_renumbered_against_one_in_the_ledger_is_warned(tmp_path: Path) -> None:
    from generator.checking.batchcheck import check

    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000)])
        again = replace(grant("A-RENUM", 1000).record, participant="director  a")
        report = check([again], PLAN, None, book.pool(PLAN))
        (f,) = [f for f in report.findings if f.rule == "repeat-grant"]
        assert (f.grant_id, f.severity, f.column) == ("A-RENUM", "warning", "participant")
        assert "grant A of May 16, 2005 in the ledger" in f.message


def test_a_batch_summary_shows_the_reserve_its_grants_met(tmp_path: Path) -> None:
    from generator.checking.pool import batch_reserve

    cut = with_reserve(400_000, date(2030, 1, 2))
    with Ledger(tmp_path / "l.sqlite") as book:
        pool = book.pool(cut, today=date(2031, 1, 1))
    assert pool.reserve == 400_000  # in force today
    assert batch_reserve(pool, cut, [grant("A", 1).record]) == 800_000  # on its grant date
    assert batch_reserve(pool, cut, []) == 400_000


@pytest.mark.parametrize(
    ("sqlite_says", "we_say"),
    [
        ("disk I/O error", "cannot write the ledger l.sqlite: disk I/O error (is the disk full?)"),
        ("database or disk is full", "(is the disk full?)"),
        ("attempt to write a readonly database", "the folder must be writable"),
        ("unable to open database file", "the folder must be writable"),
        ("database is locked", "is locked by another program"),
        ("file is not a database", "l.sqlite is not a usable grantgen ledger"),
    ],
)
def test_sqlite_failures_are_said_as_what_to_do(sqlite_says: str, we_say: str) -> None:
    from generator.checking.ledgerschema import sqlite_problem

    assert we_say in sqlite_problem(Path("l.sqlite"), sqlite3.OperationalError(sqlite_says))


def test_a_write_that_fails_inside_a_transaction_is_a_ledger_error(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        failing = pytest.raises(LedgerError, match="is not a usable grantgen ledger: no such table")
        with failing, book.transaction() as conn:
            conn.execute("INSERT INTO nowhere VALUES (1)")
        assert book.record(PLAN, [grant("A", 10)]).added == ["A"]  # and the ledger still works


def test_split_ratios_parse() -> None:
    assert parse_split("2:1") == (2, 1)
    assert parse_split("1:10") == (1, 10)
    assert parse_split("3-for-2") == (3, 2)
    for bad in ("2", "a:b", "0:1", "1:1", "-2:1", "1:99999999999999999999"):
        with pytest.raises(LedgerError):
            parse_split(bad)
    assert adjust_price(Decimal("3.25"), Fraction(1, 10)) == Decimal("32.50")
    assert adjust_price(Decimal("0.0001"), Fraction(3, 1)) == Decimal("0.0001")


IMPORT_HEAD = (
    "grant_id,plan_id,participant,grant_date,award_type,shares,exercise_price,forfeited,"
    "final_exercise_date\n"
)


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        (
            "I-2,atg-1999,Bob,2005-05-16,option,900000,3.25,0,2015-05-16",
            "import row 3, column shares: grant I-2: 900,000 shares exceed",
        ),
        ("I-2,other-plan,Bob,2005-05-16,option,10,3.25,0,2015-05-16", "under plan other-plan"),
        ("I-2,atg-1999,Bob,2005-05-16,widget,10,3.25,0,2015-05-16", "award type 'widget'"),
        ("I-2,atg-1999,Bob,2005-05-16,option,10,3.25,0,2001-01-01", "not after the grant"),
        ("I-2,atg-1999,Bob,2005-05-16,option,10,3.25,11,2015-05-16", "forfeited must be"),
    ],
)
def test_an_import_is_all_or_nothing(tmp_path: Path, row: str, needle: str) -> None:
    good = "I-1,atg-1999,Ann,2005-05-16,option,1000,3.25,400,2015-05-16\n"
    with Ledger(tmp_path / "l.sqlite") as book:
        with pytest.raises(LedgerError, match=needle):
            import_csv(book, PLAN, IMPORT_HEAD + good + row + "\n")
        assert book.grants() == [] and book.pool(PLAN).used == 0
        import_csv(book, PLAN, IMPORT_HEAD + good)  # alone it goes in, with its forfeiture
        (only,) = book.grants()
        assert (only["shares"], only["forfeited"]) == (600, 400)


EXPORT_HEAD = ",".join((*EXPORT_COLUMNS, "split")) + "\n"


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        # an export's shares are what is outstanding: original_shares less forfeited
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,100,3.25,50,100,3.25,2015-05-16,1:1",
            "import row 3, column shares: 100 outstanding and 50 forfeited make 150, not the "
            "100 of original_shares",
        ),
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,100,2.17,0,100,3.25,2015-05-16,1:1",
            "import row 3, column exercise_price: 2.17 is not the original_price 3.25",
        ),
        (
            "Z-3,atg-1999,Zed,2014-01-02,option,100,10.10,0,100,10.10,2024-01-02,1:1",
            r"import row 3, column grant_date: grant Z-3 is dated 2014-01-02, after December "
            r"31, 2013, the last day the Plan allows Awards \(Section 10\(c\)\)",
        ),
        (
            "Z-3,atg-1999,Zed,1999-04-30,option,100,1.00,0,100,1.00,2009-04-30,1:1",
            "column grant_date: grant Z-3 is dated 1999-04-30, before May 1, 1999, the day it",
        ),
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,-5,3.25,0,-5,3.25,2015-05-16,1:1",
            "import row 3, column original_shares: '-5': the number of shares must be positive",
        ),
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,1_000,3.25,0,,3.25,2015-05-16,1:1",
            "import row 3, column shares: '1_000': not a whole number of shares",
        ),
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,100,3.25,x,100,3.25,2015-05-16,1:1",
            "import row 3, column forfeited",
        ),
        (
            "Z-3,atg-1999,Zed,2005-05-16,option,100,3.25,0,100,3.25,2015-05-16,2:1",
            r"import row 3, column split: grant Z-3 comes from a ledger whose shares were "
            r"adjusted for a 2:1 split",
        ),
    ],
)
def test_an_import_row_that_contradicts_itself_or_the_plan_is_refused(
    tmp_path: Path, row: str, needle: str
) -> None:
    good = "Z-1,atg-1999,Ann,2005-05-16,option,600,3.25,400,1000,3.25,2015-05-16,1:1\n"
    with Ledger(tmp_path / "l.sqlite") as book:
        with pytest.raises(LedgerError, match=needle):
            import_csv(book, PLAN, EXPORT_HEAD + good + row + "\n")
        assert book.grants() == []


def test_splits_that_multiply_to_one_are_not_read_as_no_split(tmp_path: Path) -> None:
    """1:2 then 2:1 leaves the cumulative ratio 1:1 but the shares rounded: an export made
    after them does not say the grant as made."""
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [grant("A", 3, price="3.31")])
        book.adjust(PLAN, 1, 2, date(2006, 1, 2), today=TODAY)
        book.adjust(PLAN, 2, 1, date(2006, 1, 3), today=TODAY)
        text = export_csv(book, PLAN.id)
    assert (
        text.splitlines()[1]
        == "A,atg-1999,Director A,2005-05-16,option,2,3.31,0,3,3.31,2015-05-16,,,,1:1"
    )
    refused = pytest.raises(LedgerError, match="column shares: 2 outstanding and 0 forfeited")
    with Ledger(tmp_path / "b.sqlite") as other, refused:
        import_csv(other, PLAN, text)


def test_an_export_imports_back_identically(tmp_path: Path) -> None:
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [grant("A", 1000), grant("B", 500, price="3.2500"), grant("C", 7)])
        book.forfeit(PLAN, "A", 100, date(2006, 1, 1), today=TODAY)
        book.forfeit(PLAN, "C", 7, date(2006, 1, 1), today=TODAY)  # none outstanding
        text = export_csv(book, PLAN.id)
    with Ledger(tmp_path / "b.sqlite") as other:
        assert import_csv(other, PLAN, text).warnings == []
        assert export_csv(other, PLAN.id) == text


def test_an_imported_term_longer_than_the_plan_allows_is_recorded_with_a_warning(
    tmp_path: Path,
) -> None:
    """A history is recorded as it was: a substitute Option (Section 5(f)) may have its own
    term, so a Final Exercise Date past ten years is warned, not refused."""
    rows = (
        "T-1,atg-1999,Ann,2005-05-16,option,10,3.25,0,2035-05-16\n"
        "T-2,atg-1999,Bob,2005-05-16,option,10,3.25,0,2015-05-16\n"
        "T-3,atg-1999,Cy,2005-05-16,restricted_stock,10,0.01,0,2035-05-16\n"
    )
    with Ledger(tmp_path / "l.sqlite") as book:
        done = import_csv(book, PLAN, IMPORT_HEAD + rows)
        assert done.added == ["T-1", "T-2", "T-3"]
        (warning,) = done.warnings
        assert warning.startswith("import row 2, column final_exercise_date: grant T-1 has a ")
        assert "2035-05-16, later than 2015-05-16, 10 years from the grant date" in warning
        assert warning.endswith("[term, Plan Section 5(c), Agreement 1]")
        assert import_csv(book, PLAN, IMPORT_HEAD + rows).warnings == []  # already there


def test_an_incentive_option_counts_as_an_option_in_the_ledger_as_in_the_rules(
    tmp_path: Path,
) -> None:
    """Section 4(b) caps awards other than Options; an incentive stock option is an Option
    whether or not the plan file lists it among option_types, for validate and ledger alike."""
    from generator.checking.batchcheck import check

    isos = replace(
        PLAN,
        award_types=(*PLAN.award_types, "incentive_option"),
        incentive_options=True,
        non_option_cap=500,
    )
    row = "I-1,atg-1999,Ann,2005-05-16,incentive_option,1000,3.25,0,2015-05-16\n"
    with Ledger(tmp_path / "l.sqlite") as book:
        done = import_csv(book, isos, IMPORT_HEAD + row)  # over the 500 non-option cap
        assert done.added == ["I-1"]
        pool = book.pool(isos)
        assert (pool.used, pool.non_option_used) == (1000, 0)
        rec = replace(grant("I-2", 1000).record, award_type="incentive_option")
        report = check([rec], isos, None, pool)
        assert not [f for f in report.findings if f.severity == "error"]


def test_export_import_round_trip_with_hostile_names(tmp_path: Path) -> None:
    hostile = replace(grant("X", 500).record, participant='=HYPERLINK("http://x")')
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [grant("A", 1000), Entry(hostile, True, None, "test")])
        book.forfeit(PLAN, "A", 100, date(2006, 1, 1))
        text = export_csv(book, PLAN.id)
        before = book.grants()
    assert "'=HYPERLINK" in text  # neutralised against formula injection
    with Ledger(tmp_path / "b.sqlite") as other:
        done = import_csv(other, PLAN, text)
        assert sorted(done.added) == ["A", "X"]
        after = other.grants()
        assert [(g["grant_id"], g["participant"], g["shares"], g["forfeited"]) for g in after] == [
            (g["grant_id"], g["participant"], g["shares"], g["forfeited"]) for g in before
        ]
        assert other.pool(PLAN).used == 900 + 500


def test_an_export_whose_forfeited_shares_were_granted_again_imports(tmp_path: Path) -> None:
    # Section 4(a): forfeited shares return to the reserve for grants made after; a history
    # that granted them again must come back in through its own export
    with Ledger(tmp_path / "a.sqlite") as book:
        book.record(PLAN, [grant("A", PLAN.reserve)])
        book.forfeit(PLAN, "A", PLAN.reserve, date(2006, 1, 3))
        dated_before = book.record(PLAN, [grant("EARLY", PLAN.reserve)])  # 2005: not free yet
        assert list(dated_before.refused) == ["EARLY"]
        later = dated("B", PLAN.reserve, date(2006, 2, 1), "3.25")
        assert book.record(PLAN, [later]).added == ["B"]
        text = export_csv(book, PLAN.id)
    with Ledger(tmp_path / "b.sqlite") as other:
        assert sorted(import_csv(other, PLAN, text).added) == ["A", "B"]
        pool = other.pool(PLAN)
        assert (pool.used, pool.available) == (PLAN.reserve, 0)
        with pytest.raises(LedgerError, match="exceed"):  # and the reserve is still full
            import_csv(other, PLAN, IMPORT_HEAD + "C,atg-1999,Cy,2005-05-16,option,1,3.25,0,\n")


def test_an_import_repeating_a_grant_id_names_both_rows(tmp_path: Path) -> None:
    rows = (
        "D-1,atg-1999,X,2005-05-16,option,10,3.25,0,2015-05-16\n"
        "D-1,atg-1999,Y,2005-05-16,option,20,3.25,0,2015-05-16\n"
    )
    with Ledger(tmp_path / "l.sqlite") as book:
        with pytest.raises(LedgerError, match="import row 3: grant id D-1 repeats row 2"):
            import_csv(book, PLAN, IMPORT_HEAD + rows)
        assert book.grants() == []


def test_validate_never_creates_a_ledger_file(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite"
    with Ledger(path, create=False) as book:
        assert book.pool(PLAN).used == 0
    assert not path.exists()


def test_reading_a_ledger_never_changes_the_file(tmp_path: Path) -> None:
    real = tmp_path / "l.sqlite"
    with Ledger(real) as book:
        book.record(PLAN, [grant("A", 1000)])
    empty, other = tmp_path / "empty.sqlite", tmp_path / "other.db"
    empty.write_bytes(b"")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.commit()
    conn.close()
    before = {p: p.read_bytes() for p in (real, empty, other)}
    with Ledger(real, create=False) as book:
        assert book.pool(PLAN).used == 1000 and "A" in book.pool(PLAN).known
    for path in (empty, other):
        with Ledger(path, create=False) as book:
            assert book.pool(PLAN).used == 0
    assert {p: p.read_bytes() for p in before} == before


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("grant"),
            st.integers(1, 300_000),
            st.sampled_from(["option", "restricted_stock"]),
        ),
        st.tuples(st.just("forfeit"), st.integers(0, 20), st.integers(1, 100_000)),
        st.tuples(st.just("split"), st.integers(1, 4), st.integers(1, 4)),
    ),
    max_size=25,
)


@settings(
    max_examples=int(os.environ.get("GRANTGEN_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
@example(  # a grant dated before a forfeiture fits today's cap only by the forfeited share
    ops=[
        ("grant", 44, "restricted_stock"),
        ("forfeit", 0, 1),
        ("grant", 99_957, "restricted_stock"),
        ("split", 2, 1),
    ]
)
def test_used_plus_available_is_always_the_reserve(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple]
) -> None:
    path = tmp_path_factory.mktemp("prop") / "l.sqlite"
    ids: list[str] = []
    with Ledger(path) as book:
        for n, op in enumerate(ops):
            if op[0] == "grant":
                got = book.record(PLAN, [grant(f"G{n}", op[1], op[2])])
                ids += got.added
            elif op[0] == "forfeit" and ids:
                gid = ids[op[1] % len(ids)]
                outstanding = next(g["shares"] for g in book.grants() if g["grant_id"] == gid)
                if outstanding:  # dated after every split: in today's shares
                    book.forfeit(PLAN, gid, min(op[2], outstanding), date(2008, 1, 1))
            elif op[0] == "split" and op[1] != op[2]:
                before = book.grants()
                try:
                    book.adjust(PLAN, op[1], op[2], date(2007, 1, 1))
                except LedgerError as exc:  # a reverse split under a later forfeiture
                    assert "fewer than the" in str(exc) and book.grants() == before
            pool = book.pool(PLAN)
            outstanding_total = sum(g["shares"] for g in book.grants())
            assert pool.used == outstanding_total
            assert pool.used + pool.available == pool.reserve
            assert pool.available >= 0
            assert 0 <= pool.non_option_used <= pool.non_option_cap


def _take_last_shares(
    path: str, gid: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue
) -> None:  # type: ignore[name-defined]
    with Ledger(path) as book:
        start.wait()
        got = book.record(PLAN, [grant(gid, 1000)])
        out.put((gid, got.added))


def test_two_processes_racing_for_the_last_shares_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite"
    with Ledger(path) as book:
        book.record(PLAN, [grant("BIG", PLAN.reserve - 1000)])
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_take_last_shares, args=(str(path), g, start, out)) for g in ("P1", "P2")
    ]
    for p in procs:
        p.start()
    start.set()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(60)
    winners = [gid for gid, added in results.items() if added]
    assert len(winners) == 1
    with Ledger(path) as book:
        assert book.pool(PLAN).available == 0
        assert {g["grant_id"] for g in book.grants()} == {"BIG", winners[0]}


def test_a_database_that_is_not_a_ledger_is_named_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE grants (id INTEGER, name TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"not a grantgen ledger.*grants\.grant_id"):
        Ledger(path)
    assert path.read_bytes() == before  # no tables added, no journal mode changed
    (path.with_name("junk.sqlite")).write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LedgerError, match="not a usable grantgen ledger"):
        Ledger(path.with_name("junk.sqlite"))


@pytest.mark.parametrize(("new", "old"), [(1, 1), (3, 3), (2_000_000, 1), (1, 1_000_001)])
def test_a_split_the_ledger_could_not_read_back_is_refused_and_changes_nothing(
    tmp_path: Path, new: int, old: int
) -> None:
    # the command line checks a ratio as it reads it; an OCF import hands its ratio straight in
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(PLAN, [grant("A", 1000)])
        with pytest.raises(LedgerError, match=r"not a split ratio|at most 1,000,000"):
            book.adjust(PLAN, new, old, date(2007, 1, 1))
        pool = book.pool(PLAN)  # still readable, nothing recorded
        assert pool.splits == () and pool.used == 1000
