"""Glyph coverage: a character no installed font has would come out of LibreOffice as an empty
box, so it is refused up front, naming the character, instead.

The installed fonts and the characters each covers are read once from fontconfig
(``fc-list``), which LibreOffice also uses to pick a fallback font for a character its own
font (Times New Roman, or Liberation Serif in its place) lacks.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass

#: The font the templates ask for, and the metric-compatible one that stands in for it.
DOCUMENT_FONTS = ("Times New Roman", "Liberation Serif")


@dataclass(frozen=True)
class Coverage:
    """Which characters the installed fonts cover, as sorted code point ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    available: bool
    """False when fontconfig could not be asked (then nothing is refused up front)."""

    def covers(self, char: str) -> bool:
        if not self.available:
            return True
        code = ord(char)
        i = bisect.bisect_right(self.starts, code) - 1
        return i >= 0 and code <= self.ends[i]


@functools.cache
def coverage() -> Coverage:
    tool = shutil.which("fc-list")
    if tool is None:
        return Coverage((), (), False)
    try:
        out = subprocess.run(
            [tool, "--format", "%{charset}\\n"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return Coverage((), (), False)
    ranges: list[tuple[int, int]] = []
    for line in out.splitlines():
        for part in line.split():
            lo, _, hi = part.partition("-")
            try:
                ranges.append((int(lo, 16), int(hi or lo, 16)))
            except ValueError:
                continue
    if not ranges:
        return Coverage((), (), False)
    ranges.sort()
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return Coverage(tuple(r[0] for r in merged), tuple(r[1] for r in merged), True)


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` that no installed font can show (spaces never count).
    Fontconfig is asked only once a character beyond ASCII comes (the document font has
    those)."""
    seen: list[str] = []
    for char in text:
        if char.isspace() or (" " <= char <= "~") or char in seen:
            continue
        if unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue  # combining marks and joiners are drawn with the character they join
        if not coverage().covers(char):
            seen.append(char)
    return seen


def describe(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    return f"{char!r} (U+{ord(char):04X} {name})"
