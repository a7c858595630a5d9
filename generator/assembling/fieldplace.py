"""Where a packet's fields go, found in the converted PDF's text (PDFium): over the line a Word
bookmark marks, or under a label (the bundled templates' ``By:``), the date line beside the
Company's signature; the pages read only as far as they are needed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import pypdfium2 as pdfium

from generator.assembling.dateline import DATE_FIELD, DATE_LABEL
from generator.core.errors import AssembleError


@dataclass(frozen=True)
class FieldSpec:
    """Where a signature field goes: below the text ``label``, over the line under it."""

    name: str
    """Field name in the PDF form (``/T``)."""
    label: str
    """The text of the line just above the signature line, e.g. ``By:``."""
    after: str | None = None
    """Search only pages from the first one containing this text (e.g. the acceptance title)."""


SIGNATURE_FIELDS = (
    FieldSpec("company_signature", "By:"),
    FieldSpec("participant_signature", "PARTICIPANT:", after="PARTICIPANT'S ACCEPTANCE"),
)


ACCEPTANCE_TITLE = "PARTICIPANT'S ACCEPTANCE"


@dataclass(frozen=True)
class Place:
    """Where a Word bookmark came out in the PDF: its page (0-based, within the document's
    pages) and the point LibreOffice's named destination gives, the left of the bookmarked
    text and the top of its line, in PDF units."""

    page: int
    x: float
    y: float


class Marks(dict[str, int]):
    """The page each landmark text of a document came out on (see
    :func:`generator.converting.batchpdf.split_marked`), and in ``places`` where each of its
    bookmarks did."""

    def __init__(self, pages: Mapping[str, int] | None = None) -> None:
        super().__init__(pages or {})
        self.places: dict[str, Place] = {}


#: How far a signature field reaches above its line's top (the room to sign), at most.
SIGN_ROOM = 16.0


#: A signature field's width when its bookmarked line has no underscores to measure.
SIGN_WIDTH = 200.0


@dataclass(frozen=True)
class FieldPlacement:
    """A signature field's page (0-based, within the packet) and rectangle."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class PageText:
    """The text of one PDF page with the position of every character (PDFium)."""

    def __init__(self, page: pdfium.PdfPage) -> None:
        self._tp = page.get_textpage()
        self.text: str = self._tp.get_text_range()
        # PDFium counts UTF-16 code units: a character beyond U+FFFF (𠮷, emoji) is two of its
        # characters and one of ours, so every index after it is shifted
        self._shift: list[int] | None = None
        if _ASTRAL.search(self.text):
            shift, extra = [], 0
            for c in self.text:
                shift.append(extra)
                extra += ord(c) > 0xFFFF
            self._shift = shift

    def box(self, index: int) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a character (an index into ``text``), with the
        font's full height."""
        if self._shift is not None:
            index += self._shift[index]
        left, bottom, right, top = self._tp.get_charbox(index, loose=True)
        return (float(left), float(bottom), float(right), float(top))

    def lines_equal(self, label: str) -> list[int]:
        """Indexes where ``label`` stands alone on its line."""
        found, start = [], 0
        while (i := self.text.find(label, start)) >= 0:
            start = i + 1
            before = self.text[i - 1] if i else "\n"
            after = self.text[i + len(label) : i + len(label) + 1] or "\n"
            if before in "\r\n" and after in "\r\n":
                found.append(i)
        return found

    def room_above(self, left: float, top: float, right: float) -> float:
        """The top of a signature field over a line whose top is ``top``: up to
        :data:`SIGN_ROOM` above it, less where text above the line (between ``left`` and
        ``right``) begins."""
        for room in (SIGN_ROOM, 12.0, 8.0, 4.0):
            if not self._tp.get_text_bounded(left, top + 0.5, right, top + room).strip():
                return top + room
        return top

    def underscore_runs(self) -> list[tuple[float, float, float, float]]:
        """The boxes of every run of three or more underscores."""
        runs, start = [], 0
        while (i := self.text.find("___", start)) >= 0:
            j = i
            while j < len(self.text) and self.text[j] == "_":
                j += 1
            first, last = self.box(i), self.box(j - 1)
            runs.append((first[0], min(first[1], last[1]), last[2], max(first[3], last[3])))
            start = j
        return runs


class LazyPages(Sequence[PageText]):
    """The text of some pages of a PDF, each page read by PDFium when it is first asked for
    (a packet's assembly reads only the pages it needs: see ``hints`` in :func:`find_fields`)."""

    def __init__(self, doc: pdfium.PdfDocument, pages: range) -> None:
        self._doc = doc
        self._pages = pages
        self._read: dict[int, PageText] = {}

    def __len__(self) -> int:
        return len(self._pages)

    @overload
    def __getitem__(self, index: int) -> PageText: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PageText]: ...
    def __getitem__(self, index: int | slice) -> PageText | Sequence[PageText]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index not in self._read:
            self._read[index] = PageText(self._doc[self._pages[index]])
        return self._read[index]

    def __iter__(self) -> Iterator[PageText]:
        return (self[i] for i in range(len(self)))

    def read(self) -> list[PageText]:
        """The pages read so far."""
        return list(self._read.values())

    def numbers_read(self) -> list[int]:
        """The indexes of the pages read so far."""
        return sorted(self._read)


def first_with(
    pages: Sequence[PageText], text: str, hints: Mapping[str, int] | None = None
) -> int | None:
    """The first page whose text contains ``text``. ``hints``: the page a text can only be on
    (the batch's bookmarks, see :func:`generator.converting.batchpdf.split_marked`), tried first."""
    at = (hints or {}).get(text)
    if at is not None and 0 <= at < len(pages) and text in pages[at].text:
        return at
    return next((i for i, p in enumerate(pages) if text in p.text), None)


def place_marked(name: str, place: Place, page: PageText, width: float) -> FieldPlacement:
    """A signature field over the line a bookmark marks: the run of underscores that line
    holds from the bookmark on (the whole run), else a field :data:`SIGN_WIDTH` wide from the
    bookmark (a line drawn by a border, or none; a line's height); reaching up to
    :data:`SIGN_ROOM` above the line where no text is."""
    # the destination's top is the line's (and any space above the paragraph): the runs of
    # that line are those whose top is below it by less than about a line
    below = [
        run
        for run in page.underscore_runs()
        if run[0] >= place.x - 4
        and run[2] > place.x + 1
        and run[1] - 2 <= place.y
        and place.y - run[3] <= max(2 * (run[3] - run[1]), 12.0)
    ]
    nearest = max((run[3] for run in below), default=None)
    on_line = [run for run in below if nearest is not None and nearest - run[3] < 2]
    if on_line:
        left, bottom, right, top = min(on_line, key=lambda run: run[0])
    else:
        left, right = place.x, min(place.x + SIGN_WIDTH, max(width - 36.0, place.x + 72.0))
        bottom, top = place.y - 14.0, place.y
    return FieldPlacement(
        name,
        place.page,
        # up to where the bookmarked line starts at least (its top, as LibreOffice gives it)
        (left, bottom, right, max(page.room_above(left, top, right), min(place.y, top + 30))),
    )


def locate_fields(
    pages: Sequence[PageText],
    names: Sequence[str],
    places: Mapping[str, Place],
    *,
    labels: bool = True,
    hints: Mapping[str, int] | None = None,
    widths: Sequence[float] = (),
) -> list[FieldPlacement]:
    """Each signature field ``names`` lists: over its bookmarked line (``places``), or, for
    the bundled example's templates (``labels``), found under its label; an error naming the
    field when neither is there."""
    by_label = {spec.name: spec for spec in SIGNATURE_FIELDS} if labels else {}
    found: list[FieldPlacement] = []
    for name in names:
        place = places.get(name)
        if place is not None and 0 <= place.page < len(pages):
            width = widths[place.page] if place.page < len(widths) else 612.0
            found.append(place_marked(name, place, pages[place.page], width))
        elif name in by_label:
            found += find_fields(pages, [by_label[name]], hints)
        else:
            raise AssembleError(
                f"no signature line for {name}: the converted document has no bookmark "
                f"{name!r} (mark the signature line with a Word bookmark of that name)"
            )
    return found


def locate_date_line(
    pages: Sequence[PageText],
    places: Mapping[str, Place],
    company: FieldPlacement | None,
    *,
    labels: bool = True,
    widths: Sequence[float] = (),
) -> FieldPlacement | None:
    """The form's date line (:mod:`.dateline`), when it has one: the line the bookmark
    :data:`~.dateline.DATE_FIELD` marks, or, for the bundled example's templates, the line
    under ``Dated:`` on the Company's signature page."""
    place = places.get(DATE_FIELD)
    if place is not None and 0 <= place.page < len(pages):
        width = widths[place.page] if place.page < len(widths) else 612.0
        return place_marked(DATE_FIELD, place, pages[place.page], width)
    if labels and company is not None:
        return _place(FieldSpec(DATE_FIELD, DATE_LABEL), company.page, pages[company.page])
    return None


def find_fields(
    pages: Sequence[PageText],
    specs: Sequence[FieldSpec] = SIGNATURE_FIELDS,
    hints: Mapping[str, int] | None = None,
) -> list[FieldPlacement]:
    """Locate each signature line under its label; raise naming the label when one is missing.

    ``hints``: for a label (or ``after`` text) the only page it can be on, when the batch knows
    it (no other page shows that text): the pages before are not read. The result is the same
    as without hints; a label not found from its hinted page on is looked for from the start.
    """
    hints = hints or {}
    found: list[FieldPlacement] = []
    for spec in specs:
        start = 0
        if spec.after is not None:
            after = first_with(pages, spec.after, hints)
            start = len(pages) if after is None else after
        placement = _search(spec, pages, max(start, hints.get(spec.label, start)))
        if placement is None and spec.label in hints:
            placement = _search(spec, pages, start)
        if placement is None:
            raise AssembleError(
                f"no signature line for {spec.name}: the text {spec.label!r} with a line of "
                "underscores below it was not found in the converted agreement (was the "
                "signature block edited?)"
            )
        found.append(placement)
    return found


def _search(spec: FieldSpec, pages: Sequence[PageText], start: int) -> FieldPlacement | None:
    for index in range(start, len(pages)):
        placement = _place(spec, index, pages[index])
        if placement is not None:
            return placement
    return None


def _place(spec: FieldSpec, index: int, page: PageText) -> FieldPlacement | None:
    runs = page.underscore_runs()
    for at in page.lines_equal(spec.label):
        label = page.box(at)
        height = label[3] - label[1]
        below = [
            run
            for run in runs
            if abs(run[0] - label[0]) < 24
            and run[3] <= label[1] + 1
            and label[1] - run[3] < 5 * height
        ]
        if not below:
            continue
        line = max(below, key=lambda run: run[3])  # the nearest line below the label
        return FieldPlacement(spec.name, index, (line[0], line[1], line[2], label[1]))
    return None
