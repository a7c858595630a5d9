"""Sentences compared word by word: how alike two are, the pairs of a changed passage, and the
word diff a deviation shows."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from generator.rendering.form import (
    BLANK,
)

if TYPE_CHECKING:
    pass


def words_similarity(form: str, rendered: str) -> float:
    a = BLANK.sub("\x00", form).split()
    b = rendered.split()
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


#: Sentences at least this similar (word ratio) are one sentence changed, not two.
PAIR_RATIO = 0.5


def word_diff(a: str, b: str) -> tuple[tuple[str, str], ...]:
    """``(op, text)`` runs turning the words of ``a`` into those of ``b``."""
    wa, wb = a.split(), b.split()
    runs: list[tuple[str, str]] = []

    def add(op: str, words: list[str]) -> None:
        if not words:
            return
        if runs and runs[-1][0] == op:
            runs[-1] = (op, runs[-1][1] + " " + " ".join(words))
        else:
            runs.append((op, " ".join(words)))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if op == "equal":
            add("equal", wa[i1:i2])
        else:
            add("delete", wa[i1:i2])
            add("insert", wb[j1:j2])
    return tuple(runs)
