"""How a batch is cut into LibreOffice documents and taken back out of them: the chunk sizes,
the chunks in flight, the oldest one finished, and each document's pages in a converted chunk
(or, when a chunk fails, each document converted on its own)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from generator.assembling.assemble import Layout
from generator.assembling.pdfa import prepare_source
from generator.converting.batchpdf import bookmark_places, split_marked
from generator.converting.convert import Outcome
from generator.converting.converter import Converter
from generator.core.errors import ConvertError
from generator.reading.grantrecord import GrantRecord
from generator.rendering.templateset import TemplateSet

#: Agreements per LibreOffice document, at most (layout time grows faster than linearly).
CHUNK = 50
#: Chunks rendered ahead of assembly, per worker: a worker coming free takes several queued
#: chunks into one LibreOffice call (see :mod:`generator.converting.convert`), so rendering runs
#: ahead.
AHEAD = 8


def chunk_sizes(total: int, cores: int) -> list[int]:
    """How many agreements go into each LibreOffice document, in order: :data:`CHUNK` at most,
    fewer when there are few grants per core, the chunks as even as can be. The first chunk
    and each core's last one are halved when there are more chunks than cores: the first
    reaches LibreOffice sooner, and the workers, each taking the next chunk as it comes free,
    finish nearer together. Depends only on the count and the cores, never on timing: the
    same batch is always cut the same way (a packet's embedded font subsets depend on its
    chunk)."""
    if total <= 0:
        return []
    per_core = math.ceil(total / max(1, cores))
    count = math.ceil(total / min(CHUNK, per_core))
    sizes = [total // count + (n < total % count) for n in range(count)]  # as even as can be
    if len(sizes) <= cores:
        return sizes
    tail = [half for whole in sizes[-cores:] for half in _halves(whole)]
    return _halves(sizes[0]) + sizes[1:-cores] + tail


def _halves(size: int) -> list[int]:
    return [size] if size < 2 else [size - size // 2, size // 2]


@dataclass
class Chunk:
    records: list[GrantRecord]
    sources: list[Path]
    batch: Path
    job: Future[Outcome]
    layout: Layout
    names: tuple[str, ...]
    titles: list[tuple[str, str]]
    """Each document's title and subject, as its DOCX has them."""


def by_form(todo: list[GrantRecord], templates: TemplateSet) -> list[tuple[str, list[GrantRecord]]]:
    """The grants by the form they are made with (a chunk holds one template's documents),
    the forms in the order their first grant comes."""
    groups: dict[str, list[GrantRecord]] = {}
    for record in todo:
        kind = templates.form_for(record.award_type).form.award_type
        groups.setdefault(kind, []).append(record)
    return list(groups.items())


#: A document's converted pages: the PDF (pikepdf, PDFium), their range in it, its path, and
#: the pages its landmarks came out on (see :func:`generator.converting.batchpdf.split_marked`).
Pages = tuple[pikepdf.Pdf, pdfium.PdfDocument, range, Path, dict[str, int]]


def converted(
    chunk: Chunk, converter: Converter, pdf_dir: Path, warn: Callable[[str], None]
) -> Iterator[tuple[int, Pages | str]]:
    """Each document of a chunk with its pages, or the reason it has none.

    When the chunk's conversion fails (LibreOffice crashed, hung, wrote nothing, or the PDF
    is not what was asked for), each agreement is converted on its own instead, so one bad
    document cannot take the others with it.
    """
    outcome = chunk.job.result()
    reason = outcome.error or "no PDF"
    if outcome.pdf is not None:
        try:
            spans = split_marked(outcome.pdf, len(chunk.records), chunk.names)
            reader, text = pikepdf.open(outcome.pdf), pdfium.PdfDocument(outcome.pdf)
            prepare_source(reader)  # subset names from their programs: distinct in any packet
        except ConvertError as exc:
            reason = str(exc)
        else:
            for number, (span, marks) in enumerate(spans):
                yield number, (reader, text, span, outcome.pdf, marks)
            return
    rows = f"rows {chunk.records[0].row}-{chunk.records[-1].row}"
    warn(f"the batch conversion of {rows} failed ({reason}); converting them one by one")
    singles = converter.convert(chunk.sources, pdf_dir / "single")
    for number, single in enumerate(singles):
        if single.pdf is None:
            yield number, single.error or outcome.error or "LibreOffice failed"
            continue
        reader = pikepdf.open(single.pdf)
        prepare_source(reader)
        pages = range(len(reader.pages))
        marks = bookmark_places(single.pdf, chunk.names)
        yield number, (reader, pdfium.PdfDocument(single.pdf), pages, single.pdf, marks)


def next_converted(pending: deque[Chunk]) -> Chunk:
    """Take the oldest chunk LibreOffice has finished, or else wait for the first to finish.

    Chunks are assembled as they come out of LibreOffice, not in the order they went in: each
    worker converts a run of chunks, and waiting for one worker's run while the other's
    finished chunks queue up would leave all of their assembly for after the last conversion.
    """
    while True:
        for chunk in pending:
            if chunk.job.done():
                pending.remove(chunk)
                return chunk
        wait([chunk.job for chunk in pending], return_when=FIRST_COMPLETED)
