"""The closing-price file and the nearest-preceding-day look-up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from generator.core.errors import InputError
from generator.reading.prices import load_prices

from .conftest import PRICES


def test_sample_price_file_says_it_is_sample_data() -> None:
    assert "sample" in PRICES.name
    first = PRICES.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#") and "SAMPLE DATA" in first and "NOT REAL" in first


def test_lookup_copes_with_weekends_holidays_and_gaps(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "# comment\ndate,close\n2005-05-20,3.31\n2005-05-27,$3.35\n5/31/2005,3.38\n",
        encoding="utf-8",
    )
    table = load_prices(path)
    assert len(table) == 3
    assert table.on_or_before(date(2005, 5, 20)).day == date(2005, 5, 20)  # type: ignore[union-attr]
    sat = table.on_or_before(date(2005, 5, 21))
    assert sat is not None and (sat.day, sat.close) == (date(2005, 5, 20), Decimal("3.31"))
    gap = table.on_or_before(date(2005, 5, 26))
    assert gap is not None and gap.day == date(2005, 5, 20)
    holiday = table.on_or_before(date(2005, 5, 30))
    assert holiday is not None and holiday.day == date(2005, 5, 27)
    assert table.on_or_before(date(2005, 5, 19)) is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("day,price\n2005-01-01,1\n", "date and close"),
        ("date,close\n2005-02-30,1\n", "line 2"),
        ("date,close\n2005-01-03,abc\n", "line 2"),
        ("date,close\n2005-01-03\n", r"line 2: 1 cell\(s\), the header has 2"),
        ("date,close\n2005-01-03,-3\n", "line 2: close: the closing price must be positive"),
        ("date,close\n2005-01-03,1\n2005-01-03,2\n", "twice"),
        ("# only a comment\n", "no prices"),
    ],
)
def test_bad_price_files_name_the_line(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        load_prices(path)
