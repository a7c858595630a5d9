"""Reading grants: every accepted form parses; every bad value names its row and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.core.errors import InputError
from generator.reading.records import read_grants
from generator.reading.values import (
    derive_grant_id,
    parse_address,
    parse_bool,
    parse_date,
    parse_price,
    parse_shares,
    parse_years,
)

from .conftest import grant, write_csv


@pytest.mark.parametrize(
    "text",
    [
        "2005-05-16",
        "5/16/2005",
        "05/16/2005",
        "May 16, 2005",
        "May 16 2005",
        "may 16, 2005",
        "Sept. 16, 2005",
    ],
)
def test_dates_in_every_accepted_form(text: str) -> None:
    expected = date(2005, 9, 16) if text.startswith("Sept") else date(2005, 5, 16)
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("02/30/2005", "no such date"),
        ("5/16/05", "four digits"),
        ("38488", "Excel date serial"),
        ("16.05.2005", "not a date"),
        ("Mai 16, 2005", "not a month"),
        ("2005-13-01", "no such date"),
    ],
)
def test_bad_dates_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15000", 15000),
        ("15,000", 15000),
        (" 1,000,000 ", 1000000),
        ("1", 1),
        ("15000.00", 15000),  # as a spreadsheet exports a number with two decimals
        ("15,000.00", 15000),
        ("15000.0", 15000),
        ("15.00", 15),
    ],
)
def test_shares(text: str, value: int) -> None:
    assert parse_shares(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,5000", "thousands separator"),
        ("15.000", "may be 15 shares, or 15,000 with a European thousands point"),
        ("15.500", "whole shares only; if the point is a European thousands separator"),
        ("1.500.000", "write 1500000 or 1,500,000"),
        ("0.00", "positive"),
        ("1e6", "scientific"),
        ("-10", "positive"),
        ("0", "positive"),
        ("ten", "not a whole number"),
        ("1500.5", "whole shares only: 1500.5 is not a whole number"),
        ("15000.50", "whole shares only: 15000.50 is not a whole number"),
    ],
)
def test_bad_shares(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_shares(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3.25", "3.25"),
        ("$3.25", "3.25"),
        ("3.2500", "3.2500"),
        ("$1,234.5", "1234.5"),
        (".5", "0.5"),
        ("3", "3"),
    ],
)
def test_prices_keep_their_precision(text: str, value: str) -> None:
    assert parse_price(text) == Decimal(value)
    assert str(parse_price(text)) == str(Decimal(value))


@pytest.mark.parametrize("text", ["-3.25", "0", "$0.00", "3,25", "1e2", "three", "$"])
def test_bad_prices(text: str) -> None:
    with pytest.raises(ValueError):
        parse_price(text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("10", 10),
        ("10.00", 10),
        ("0", "at least 1 year"),
        ("00", "at least 1 year"),
        ("10.5", "whole number of years"),
        ("ten", "whole number of years"),
        ("1000", "1,000 years is not an option's term"),
    ],
)
def test_term_years(text: str, said: int | str) -> None:
    if isinstance(said, int):
        assert parse_years(text) == said
    else:
        with pytest.raises(ValueError, match=said):
            parse_years(text)


def test_booleans_and_addresses() -> None:
    for yes in ("yes", "Y", "true", "1", "TRUE"):
        assert parse_bool(yes) is True
    for no in ("no", "N", "false", "0"):
        assert parse_bool(no) is False
    with pytest.raises(ValueError):
        parse_bool("maybe")
    assert parse_address("1 Main St / Boston, MA") == ("1 Main St", "Boston, MA")
    assert parse_address("1 Main St\nBoston, MA\n\n") == ("1 Main St", "Boston, MA")
    assert parse_address("A/B Street") == ("A/B Street",)


def test_headers_match_without_case_spaces_or_underscores(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "Grant ID,PARTICIPANT,Grant Date,shares,Exercise_Price,Mystery\n"
        'G-7,Ann Lee,2005-05-16,"1,000",$2.50,x\n',
        encoding="utf-8-sig",  # with a BOM, as Excel writes it
    )
    result = read_grants(path)
    assert not result.errors
    (rec,) = result.records
    assert (rec.grant_id, rec.participant, rec.shares, rec.exercise_price) == (
        "G-7",
        "Ann Lee",
        1000,
        Decimal("2.50"),
    )
    assert rec.row == 2 and rec.award_type == "option" and rec.is_employee is False
    assert any("Mystery" in w for w in result.warnings)


def test_each_bad_value_names_row_and_column_and_good_rows_survive(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="OK-1"),
        grant(grant_id="BAD-DATE", grant_date="02/30/2005"),
        grant(grant_id="BAD-NUM", shares="1,5000"),
        grant(grant_id="EMPTY", participant="   "),
        grant(grant_id="OK-2", participant="Bo Chen"),
    ]
    result = read_grants(write_csv(tmp_path / "g.csv", rows))
    assert [r.grant_id for r in result.records] == ["OK-1", "OK-2"]
    got = {(e.row, e.column) for e in result.errors}
    assert got == {(3, "grant_date"), (4, "shares"), (5, "participant")}
    for e in result.errors:
        assert f"row {e.row}, column {e.column}" in str(e)
    assert "'02/30/2005'" in str(next(e for e in result.errors if e.row == 3))


def test_blank_rows_are_skipped_but_keep_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "participant,grant_date,shares,exercise_price\n"
        "Ann Lee,2005-05-16,10,1.00\n"
        ",,,\n"
        "\n"
        "Bo Chen,2005-05-16,x,1.00\n",
        encoding="utf-8",
    )
    result = read_grants(path)
    assert [r.row for r in result.records] == [2]
    assert [(e.row, e.column) for e in result.errors] == [(5, "shares")]


def test_missing_column_and_empty_files_are_file_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_grants(empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text("participant,grant_date,shares,exercise_price\n", encoding="utf-8")
    with pytest.raises(InputError, match="no grants"):
        read_grants(header_only)
    no_price = tmp_path / "p.csv"
    no_price.write_text("participant,grant_date,shares\nA,2005-05-16,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="exercise_price"):
        read_grants(no_price)


def test_latin1_file_is_refused_with_the_encoding_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "participant,grant_date,shares,exercise_price\nZoë,2005-05-16,1,1\n".encode("latin-1")
    )
    with pytest.raises(InputError, match=r"not UTF-8.*Latin-1"):
        read_grants(path)


def test_utf16_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(
        "participant,grant_date,shares,exercise_price\nZoë,2005-05-16,1,1\n".encode("utf-16")
    )
    (rec,) = read_grants(path).records
    assert rec.participant == "Zoë"


def test_control_characters_are_refused_not_stripped(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="FF", participant="Ann\x0cLee"),
        grant(grant_id="TAB", participant="Ann\tLee"),
        grant(grant_id="NEL", participant="Ann\x85Lee"),
        grant(grant_id="LS", participant="Bob\u2028Jones"),
        grant(grant_id="PS", address="1 Main St\u2029Springfield"),
    ]
    result = read_grants(write_csv(tmp_path / "g.csv", rows))
    assert not result.records
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "participant"),
        (3, "participant"),
        (4, "participant"),
        (5, "participant"),
        (6, "address"),
    ]
    assert "U+000C" in str(result.errors[0])
    assert "U+0085" in str(result.errors[2]) and "U+2028" in str(result.errors[3])


def test_repeated_and_unsafe_grant_ids(tmp_path: Path) -> None:
    rows = [grant(grant_id="A"), grant(grant_id="A"), grant(grant_id="../../etc/x")]
    result = read_grants(write_csv(tmp_path / "g.csv", rows))
    assert [r.row for r in result.records] == [2]
    assert [(e.row, e.column) for e in result.errors] == [(3, "grant_id"), (4, "grant_id")]
    assert "row 2 already uses it" in str(result.errors[0])


def test_a_name_with_composed_or_decomposed_accents_derives_one_id(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="", participant="Jos\u00e9 N\u00fa\u00f1ez"),
        grant(grant_id="", participant="Jose\u0301 Nu\u0301n\u0303ez", shares="15000"),
    ]
    result = read_grants(write_csv(tmp_path / "g.csv", rows))
    # the same grant twice: the second row repeats the first one, and says so
    assert [r.row for r in result.records] == [2]
    assert [(e.row, e.column, e.rule) for e in result.errors] == [
        (3, "participant", "repeated-row")
    ]


def test_a_repeated_row_without_ids_is_named_as_a_row_not_by_an_id_never_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.csv"  # no grant_id column: ids are derived from the terms
    path.write_text(
        "Director,grant_date,shares,exercise_price\n"
        "Ann Lee,2005-05-16,100,3.25\nAnn Lee,2005-05-16,100,3.25\nAnn Lee,2005-05-16,200,3.25\n"
    )
    result = read_grants(path)
    assert [r.row for r in result.records] == [2, 4]
    (error,) = result.errors
    assert (error.row, error.column, error.rule, error.value) == (
        3,
        "Director",
        "repeated-row",
        None,
    )
    assert "repeats row 2: the same participant, grant date, shares and exercise price" in str(
        error
    )
    assert error.grant_id == result.records[0].grant_id  # the id the row would have had
    derived = read_grants(write_csv(tmp_path / "one.csv", [grant(grant_id="")])).records[0]
    mixed = write_csv(  # a derived id that a written one repeats, and the other way round
        tmp_path / "m.csv",
        [grant(grant_id=""), grant(grant_id=derived.grant_id), grant(grant_id="")],
    )
    written = write_csv(tmp_path / "w.csv", [grant(grant_id=derived.grant_id), grant(grant_id="")])
    said = [str(e) for e in read_grants(mixed).errors + read_grants(written).errors]
    assert [s.split(":")[0] for s in said] == [
        "row 3, column grant_id",
        "row 4, column participant",
        "row 3, column grant_id",
    ]
    assert "it is the id derived from the terms of row 2, which gives none" in said[0]
    assert (
        "no grant id given, and the one derived from the grant's terms is the grant id row 2 gives"
        in said[2]
    )
    assert "value" not in said[2]


def test_derived_grant_ids_are_stable_and_safe(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="", participant="Zoë O'Brien"),
        grant(grant_id="", participant="Bo Chen"),
    ]
    first = read_grants(write_csv(tmp_path / "a.csv", rows)).records
    second = read_grants(write_csv(tmp_path / "b.csv", list(reversed(rows)))).records
    assert {r.grant_id for r in first} == {r.grant_id for r in second}
    for r in first:
        assert r.grant_id_derived
        assert r.grant_id.replace("-", "").isalnum()


@given(st.text(min_size=1, max_size=80), st.integers(1, 10**7))
def test_derived_ids_are_always_file_safe(name: str, shares: int) -> None:
    gid = derive_grant_id(name, date(2005, 5, 16), shares, Decimal("1.5"))
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in gid)
    assert len(gid) <= 64


def test_years_out_of_range_and_non_ascii_digits_are_refused(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="Y1", grant_date="9995-05-16"),
        grant(grant_id="Y2", grant_date="1066-10-14"),
        grant(grant_id="AR", grant_date="\u0662\u0660\u0660\u0665-\u0660\u0665-\u0661\u0666"),
        grant(grant_id="FW", shares="\uff11\uff15\uff10\uff10\uff10"),
        grant(grant_id="FP", exercise_price="\uff13.\uff12\uff15"),
        grant(grant_id="OK"),
    ]
    result = read_grants(write_csv(tmp_path / "g.csv", rows))
    assert [r.grant_id for r in result.records] == ["OK"]
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "grant_date"),
        (3, "grant_date"),
        (4, "grant_date"),
        (5, "shares"),
        (6, "exercise_price"),
    ]
    assert "outside 1900-2999" in str(result.errors[0])


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "ZERO WIDTH SPACE"),
        ("\u00ad", "SOFT HYPHEN"),
        ("\u202e", "RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
        ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
    ],
)
def test_an_invisible_character_is_refused_when_read_naming_column_and_character(
    tmp_path: Path, char: str, name: str
) -> None:
    path = write_csv(tmp_path / "g.csv", [grant(participant=f"Ann{char} Lee")])
    result = read_grants(path)
    (error,) = result.errors
    assert (error.row, error.column, error.rule) == (2, "participant", "control-character")
    assert f"U+{ord(char):04X} {name} at position 4" in str(error)
