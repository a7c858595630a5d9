"""The visible signature: who signed, in what capacity, and when, drawn in an installed font
that has every character (embedded, as PDF/A wants), wrapped to its field.

Also the text a signer's revision writes elsewhere on the page, in the same fonts (the
"Dated:" line: :mod:`generator.assembling.dateline`).
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.stamp.base import BaseStamp, BaseStampStyle

from generator.core.errors import SigningError


@dataclass(frozen=True)
class Appearance:
    """What the visible signature shows: who signed, in what capacity, and when."""

    name: str
    title: str | None = None
    tz: tzinfo | None = None
    """The signer's time zone, in which the date is shown (None: the machine's)."""
    dated: bool = False
    """Also write the day of signing on the form's date line (:mod:`.dateline`)."""

    def local(self, when: datetime) -> datetime:
        """``when`` in the signer's time zone."""
        return when.astimezone(self.tz) if self.tz is not None else when.astimezone()


def long_date(when: datetime) -> str:
    """``December 5, 2026`` (in ``when``'s own time zone)."""
    return f"{when:%B} {when.day}, {when.year}"


#: Families the visible signature may be drawn in, in order of preference: the first installed
#: one that has every character of its text is used (a name in Chinese, Japanese or Korean gets
#: the Noto CJK face of its script). Found through fontconfig; none is bundled.
STAMP_FONTS = (
    "Liberation Sans",
    "Liberation Serif",
    "DejaVu Sans",
    "FreeSans",
    "FreeSerif",
    "Noto Sans CJK {cjk}",
    "Noto Serif CJK {cjk}",
)
#: The largest and the smallest type size (pt) of the visible signature: long text is wrapped
#: and set smaller, never below the minimum; a title that still does not fit is shortened with
#: "…" (the signature's reason holds it whole).
STAMP_MAX_SIZE, STAMP_MIN_SIZE = 9.0, 6.0
_LEADING, _MARGIN = 1.2, 1.5  # line spacing (times the size); margin in the field (pt)


@dataclass(frozen=True)
class StampFont:
    """An installed font file (one face of it, for a collection)."""

    family: str
    path: Path
    index: int

    def data(self, chars: str) -> bytes:
        """The font file's bytes, as pyHanko can embed them, with at least ``chars``."""
        return _font_bytes(self.path, self.index, "".join(sorted(set(chars))))

    def has(self, char: str) -> bool:
        return ord(char) in _cmap(self.path, self.index)


def _cjk_region(text: str) -> str:
    names = [unicodedata.name(c, "") for c in text]
    if any(n.startswith("HANGUL") for n in names):
        return "KR"
    if any(n.startswith(("HIRAGANA", "KATAKANA")) for n in names):
        return "JP"
    return "SC"


@functools.cache
def _installed(family: str) -> StampFont | None:
    """The regular face of ``family`` as fontconfig finds it, or None when not installed."""
    tool = shutil.which("fc-match")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--format", "%{family[0]}\t%{file}\t%{index}", f"{family}:style=Regular"],
            capture_output=True, text=True, timeout=30,
        ).stdout  # fmt: skip
        found, file, index = out.split("\t")
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if found.casefold() != family.casefold() or not Path(file).is_file():
        return None  # fontconfig offered a substitute: the family itself is not installed
    return StampFont(family, Path(file), int(index or 0))


@functools.cache
def _font_bytes(path: Path, index: int, chars: str) -> bytes:
    """The font as pyHanko can embed it: one face of a collection (.ttc), and in units of
    1/1000 em (pyHanko writes glyph widths in the font's own units, which PDF reads as
    thousandths: a 2048-unit TrueType font would be drawn twice too wide), cut down to ``chars``
    first so that the scaling is quick."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(path, fontNumber=index, lazy=True)
    if font["head"].unitsPerEm != 1000:
        font = TTFont(path, fontNumber=index)
        options = subset.Options(layout_features=["*"], name_IDs=["*"], notdef_outline=True)
        cutter = subset.Subsetter(options)
        cutter.populate(text=chars)
        cutter.subset(font)
        scale_upem(font, 1000)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        cmap = TTFont(path, fontNumber=index, lazy=True).getBestCmap() or {}
    except Exception:
        return frozenset()
    return frozenset(cmap)


def _drawn(char: str) -> bool:
    """Whether ``char`` needs a glyph (spaces and joiners do not)."""
    return not char.isspace() and unicodedata.category(char) != "Cf"


def stamp_fonts(text: str, families: Sequence[str] = STAMP_FONTS) -> list[StampFont]:
    """The fonts that draw ``text``: for each character, the first of :data:`STAMP_FONTS`
    installed that has it (so a Latin name is set in Liberation Sans alone, and the Chinese
    characters of a mixed name in Noto Sans CJK). Raises naming the characters none has."""
    region = _cjk_region(text)
    candidates = [f for f in (_installed(n.format(cjk=region)) for n in families) if f]
    chosen: list[StampFont] = []
    missing: list[str] = []
    for char in dict.fromkeys(c for c in text if _drawn(c)):
        if any(f.has(char) for f in chosen):
            continue
        font = next((f for f in candidates if f.has(char)), None)
        if font is None:
            missing.append(char)
        else:
            chosen.append(font)
    if missing:
        shown = ", ".join(
            f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})" for c in missing
        )
        looked = ", ".join(n.format(cjk=region) for n in families)
        raise SigningError(
            f"the visible signature cannot show {shown}: no installed font has it (looked in "
            f"{looked}; tools/install-system-deps.sh installs them)"
        )
    chosen.sort(key=candidates.index)
    return chosen or candidates[:1]


class _EmbeddedFont(FontEngineFactory):
    """pyHanko's OpenType engine (shaped with HarfBuzz, subset and embedded) over font bytes
    (pyHanko's own factory takes a path, and cannot open one face of a collection)."""

    def __init__(self, data: bytes, size: float) -> None:
        self.data, self.size = data, size

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> FontEngine:
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        engine: FontEngine = GlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(self.data), font_size=self.size,
            obj_stream=obj_stream,
        )  # fmt: skip
        return engine


def embedded_font(data: bytes, size: float, writer: Any) -> FontEngine:
    """A font engine over ``data`` for text drawn by pyHanko's ``writer`` (subset and embedded
    when the writer writes)."""
    return _EmbeddedFont(data, size).create_font_engine(writer)


class StampText:
    """Text set in several fonts: each character in the first font that has it (staying in the
    current font for spaces and shared characters), measured as HarfBuzz shapes it."""

    def __init__(self, fonts: Sequence[StampFont], text: str) -> None:
        import uharfbuzz as hb

        self.fonts = list(fonts)
        self.data = [font.data(text + "…") for font in self.fonts]
        self._hb = hb
        self._faces = [(hb.Font(face), face.upem) for face in map(hb.Face, self.data)]

    def runs(self, text: str) -> list[tuple[int, str]]:
        """``text`` as (font number, text) runs."""
        runs: list[tuple[int, str]] = []
        for char in text:
            current = runs[-1][0] if runs else None
            if current is not None and (not _drawn(char) or self.fonts[current].has(char)):
                runs[-1] = (current, runs[-1][1] + char)
                continue
            number = next((i for i, f in enumerate(self.fonts) if f.has(char)), current or 0)
            runs.append((number, char))
        return runs

    def width(self, text: str) -> float:
        """Width of ``text`` at 1 pt."""
        total = 0.0
        for number, part in self.runs(text):
            font, upem = self._faces[number]
            buf = self._hb.Buffer()
            buf.add_str(part)
            buf.guess_segment_properties()
            self._hb.shape(font, buf)
            total += sum(p.x_advance for p in buf.glyph_positions or []) / upem
        return total

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` in lines no wider than ``width`` (at 1 pt): broken at spaces, and inside a
        word only when the word alone is too wide (names written without spaces)."""
        lines: list[str] = []
        line = ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if self.width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if line and self.width(line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
        if line:
            lines.append(line)
        return lines or [""]

    def shorten(self, text: str, width: float) -> str:
        while text and self.width(text.rstrip() + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"


def stamp_lines(
    text: StampText, parts: Sequence[str], box: tuple[float, float]
) -> tuple[list[str], float]:
    """The lines of the visible signature (``parts``: name line, title, date line; the title may
    be empty) in a field of ``box`` (width, height, pt), and their type size: the largest from
    :data:`STAMP_MAX_SIZE` down to :data:`STAMP_MIN_SIZE` at which the wrapped lines fit. At
    the minimum the title is shortened to the lines left (and if even the name and the date do
    not fit, they are set smaller still, so that the signature shows them whole)."""
    name_line, title, date_line = parts
    width, height = box[0] - 2 * _MARGIN, box[1] - 2 * _MARGIN
    size = STAMP_MAX_SIZE
    while True:
        name = text.wrap(name_line, width / size)
        role = text.wrap(title, width / size) if title else []
        date = text.wrap(date_line, width / size)
        rows = int(height // (size * _LEADING))
        if len(name) + len(role) + len(date) <= rows:
            return [*name, *role, *date], size
        if size <= STAMP_MIN_SIZE:
            break
        size = max(STAMP_MIN_SIZE, size - 0.5)
    room = rows - len(name) - len(date)
    if room > 0:
        kept = role[:room]
        if len(kept) < len(role):
            kept[-1] = text.shorten(kept[-1], width / size)
        return [*name, *kept, *date], size
    lines = [*name, *date]  # a name too long for the field even in the smallest type
    return lines, min(size, height / (len(lines) * _LEADING))


@dataclass(frozen=True)
class _StampStyle(BaseStampStyle):
    """The visible signature: who signed, in what capacity, and when, each character in a font
    that has it, wrapped to the field."""

    parts: tuple[str, str, str] = ("", "", "")
    fonts: tuple[StampFont, ...] = ()

    def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> BaseStamp:
        return _Stamp(writer, self, box)


class _Stamp(BaseStamp):
    def _render_inner_content(self) -> list[bytes]:
        style: _StampStyle = self.style
        text = StampText(style.fonts, " ".join(style.parts))
        box = (float(self.box.width), float(self.box.height))
        lines, size = stamp_lines(text, style.parts, box)
        engines = []
        for number, data in enumerate(text.data, start=1):
            engine = _EmbeddedFont(data, size).create_font_engine(self.writer)
            self.set_resource(ResourceType.FONT, pdf_name(f"/F{number}"), engine.as_resource())
            engines.append(engine)
        leading = size * _LEADING
        block = len(lines) * leading
        top = (box[1] + block) / 2 - (leading - size) / 2 - 0.8 * size  # first baseline
        commands = [b"q 0 g"]
        for row, line in enumerate(lines):
            x, y = _MARGIN, top - row * leading
            for number, part in text.runs(line):
                shaped = engines[number].shape(part)
                commands.append(
                    b"BT /F%d %g Tf 1 0 0 1 %g %g Tm %s ET"
                    % (number + 1, size, x, y, shaped.graphics_ops)
                )
                x += shaped.x_advance * size
        commands.append(b"Q")
        return commands


def stamp_style(look: Appearance, when: datetime) -> _StampStyle:
    """The visible signature's style for pyHanko; raises when no installed font can show it."""
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset" and the like
    day = long_date(look.local(when))
    parts = (f"Digitally signed by {look.name}", look.title or "", f"Date: {day}")
    return _StampStyle(border_width=0, parts=parts, fonts=tuple(stamp_fonts(" ".join(parts))))
