"""The converted batch PDF taken apart: the pages of each document, and where its bookmarks (the
signature lines, the acceptance page) came out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from generator.assembling.fieldplace import Marks, Place
from generator.converting.batchdoc import (
    LANDMARKS,
    bookmark_marker,
    landmark_marker,
    lo_destination,
    marker,
)
from generator.core.errors import ConvertError


def _destinations(doc: pikepdf.Pdf) -> Callable[[str], object]:
    """Named destinations, wherever the PDF keeps them: ``/Root /Dests`` (LibreOffice) or the
    ``/Root /Names /Dests`` name tree."""
    old_style = doc.Root.get("/Dests")
    names = doc.Root.get("/Names")
    tree = pikepdf.NameTree(names.Dests) if names is not None and "/Dests" in names else None

    def lookup(name: str) -> object:
        if isinstance(old_style, pikepdf.Dictionary) and f"/{name}" in old_style:
            return old_style[f"/{name}"]
        if tree is not None and name in tree:
            return tree[name]
        return None

    return lookup


def _place(dest: object, index: dict[tuple[int, int], int]) -> tuple[int, float, float] | None:
    """(page, x, y) of a named destination (``[page /XYZ left top zoom]``); None when it is
    not one that points at a page of the PDF."""
    if isinstance(dest, pikepdf.Dictionary):
        dest = dest.get("/D")
    if not isinstance(dest, pikepdf.Array) or len(dest) == 0:
        return None
    page = index.get(dest[0].objgen, -1)
    if page < 0:
        return None
    try:
        x = float(dest[2]) if len(dest) > 2 else 0.0
        y = float(dest[3]) if len(dest) > 3 else 0.0
    except (TypeError, ValueError):
        x = y = 0.0
    return page, x, y


def bookmark_places(pdf: Path, names: Sequence[str]) -> Marks:
    """Where the bookmarks ``names`` of a document converted on its own came out (their
    original names, as LibreOffice writes them: :func:`lo_destination`)."""
    marks = Marks()
    try:
        with pikepdf.open(pdf) as doc:
            index = {page.obj.objgen: n for n, page in enumerate(doc.pages)}
            lookup = _destinations(doc)
            for name in names:
                found = _place(lookup(lo_destination(name)), index)
                if found is not None:
                    marks.places[name] = Place(*found)
    except Exception as exc:
        raise ConvertError(f"cannot read the PDF {pdf.name}: {exc}") from exc
    return marks


def _page_of(dest: object, index: dict[tuple[int, int], int]) -> int | None:
    """The page a named destination points at: None when it is not a destination, -1 when
    its page is not one of the PDF's."""
    if isinstance(dest, pikepdf.Dictionary):
        dest = dest.get("/D")
    if not isinstance(dest, pikepdf.Array) or len(dest) == 0:
        return None
    return index.get(dest[0].objgen, -1)


@dataclass(frozen=True)
class _Marked:
    """Where a document of a batch PDF came out, in the pages of the whole PDF: its first
    page, the page of each of its landmarks, and (page, x, y) of each of its bookmarks."""

    start: int
    landmarks: dict[str, int]
    places: dict[str, tuple[int, float, float]]


def _marked(doc: pikepdf.Pdf, count: int, names: Sequence[str]) -> list[_Marked]:
    """The marks of each of the ``count`` documents in the batch PDF ``doc``."""
    index = {page.obj.objgen: n for n, page in enumerate(doc.pages)}
    lookup = _destinations(doc)
    found: list[_Marked] = []
    for number in range(count):
        page = _page_of(lookup(marker(number)), index)
        if page is None:
            raise ConvertError(f"the batch PDF lacks the start mark of document {number + 1}")
        if page < 0:
            raise ConvertError(f"the start mark of document {number + 1} points nowhere")
        landmarks = (
            (text, _page_of(lookup(landmark_marker(number, n)), index))
            for n, text in enumerate(LANDMARKS)
        )
        spots = (
            (n, _place(lookup(bookmark_marker(number, k)), index)) for k, n in enumerate(names)
        )
        found.append(
            _Marked(
                page,
                {text: at for text, at in landmarks if at is not None and at >= 0},
                {n: spot for n, spot in spots if spot is not None},
            )
        )
    return found


def split_marked(
    pdf: Path, count: int, names: Sequence[str] = ()
) -> list[tuple[range, dict[str, int]]]:
    """Each of the ``count`` documents in a converted batch PDF: its page range, and the
    page (counted from its first) each of its bookmarked :data:`LANDMARKS` came out on
    (a :class:`~generator.assembling.assemble.Marks`, whose ``places`` say where each of its
    bookmarks
    ``names`` lists came out: see :func:`rename_bookmarks`)."""
    try:
        with pikepdf.open(pdf) as doc:
            total = len(doc.pages)
            marked = _marked(doc, count, names)
    except ConvertError:
        raise
    except Exception as exc:
        raise ConvertError(f"cannot read the batch PDF {pdf.name}: {exc}") from exc
    starts = [m.start for m in marked]
    bounds = [*starts, total]
    if starts[0] != 0 or any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ConvertError(f"the documents in the batch PDF {pdf.name} are out of order")
    out: list[tuple[range, dict[str, int]]] = []
    for i, m in enumerate(marked):
        span = range(bounds[i], bounds[i + 1])
        # a mark outside the document's own pages says nothing about them
        own = Marks({t: at - span.start for t, at in m.landmarks.items() if at in span})
        own.places = {
            name: Place(page - span.start, x, y)
            for name, (page, x, y) in m.places.items()
            if page in span
        }
        out.append((span, own))
    return out
