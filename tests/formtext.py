"""The approved form's sentences, read from the project's copy of the form text.

Tests compare generated documents against these: every sentence of the agreement and the
acceptance page, with the form's blanks filled with one grant's values.
"""

from __future__ import annotations

import re
from pathlib import Path

FORM = Path(__file__).resolve().parent.parent / "data" / "forms" / "atg-1999-exhibit-10.3.txt"
_PAGE = re.compile(r"^\s*-\d+-\s*$", re.M)


def normalise(text: str) -> str:
    """Fold whitespace and quote styles, so text from a PDF or DOCX compares with the form."""
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


def _section(start: str, end: str) -> str:
    text = FORM.read_text(encoding="utf-8")
    i = text.index(start)
    j = text.index(end, i)
    return _PAGE.sub(" ", text[i:j])


def agreement_text() -> str:
    """From the agreement's title to the end of the IN WITNESS WHEREOF paragraph."""
    text = _section("NONSTATUTORY STOCK OPTION AGREEMENT", "PARTICIPANT'S ACCEPTANCE")
    return text[: text.index("sealed instrument.") + len("sealed instrument.")]


def acceptance_text() -> str:
    text = _section("PARTICIPANT'S ACCEPTANCE", "AMENDMENT NO. 1")
    return text[: text.index("Stock Option Plan.") + len("Stock Option Plan.")]


def fill(text: str, *, grant_date: str, participant: str, shares: str, price: str) -> str:
    """Fill the form's blanks in order: date, participant, shares, price (with its $)."""
    text = text.replace("[ , ____]", grant_date, 1)
    text = text.replace("$[ ]", price, 1)
    text = text.replace("[ ]", participant, 1)
    text = text.replace("[ ]", shares, 1)
    assert "[" not in text, "a blank of the form was not filled"
    return text


def sentences(text: str) -> list[str]:
    """Split normalised form text into sentences (and headings)."""
    parts = re.split(r"(?<=[.:])\s+(?=[A-Z0-9\"(])", normalise(text))
    return [p for p in parts if p.strip()]


def plan_sentences() -> list[str]:
    text = FORM.read_text(encoding="utf-8")
    start = text.index("1. Purpose")
    end = text.index("ART TECHNOLOGY GROUP, INC.", text.index("(g) Construction"))
    return sentences(_PAGE.sub(" ", text[start:end]))
