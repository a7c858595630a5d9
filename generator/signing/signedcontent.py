"""Whether what was signed is the approved packet: a revision before the first signature hashing
to the manifest's sha256, nothing added before it was signed, and the text of every signed
revision (and of the file as it is) the approved text."""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from generator.core.layout import grant_stem
from generator.terms.manifest import Listed


def _revision_ends(data: bytes, limit: int) -> list[int]:
    """Offsets just after each ``%%EOF`` marker (with and without its end of line)."""
    ends: set[int] = set()
    for m in re.finditer(rb"%%EOF(\r\n|\r|\n)?", memoryview(data)[:limit]):
        ends.update({m.start() + 5, m.end()})
    return sorted(ends)


def check_approved(
    name: str, data: bytes, sigs: list[Any], docs: list[Listed]
) -> tuple[str | None, list[str]]:
    """The manifest entry this file's first revisions hash to, and any reason it is not the
    approved packet."""
    named = [d for d in docs if _stem(name) == _stem(d.pdf)]  # final, draft
    by_name = named[0] if named else None
    by_hash = {str(d.sha256("pdf")): d for d in docs}
    sigs = [s for s in sigs if s.byte_range is not None]  # a damaged one may have none
    if not sigs:
        grant = str(by_name.grant_id) if by_name else None
        return grant, ["no signature has a readable byte range, so what was signed is unknown"]
    first = sigs[0].byte_range
    match = next(
        (
            (end, by_hash[h])
            for end in _revision_ends(data, first[1])
            if (h := _sha256(data, end)) in by_hash
        ),
        None,
    )
    if match is None:
        grant = str(by_name.grant_id) if by_name else None
        if not docs:
            return grant, [
                "no manifest lists this packet, so it cannot be proved the approved one (give "
                "the batch's manifest.json with --manifest)"
            ]
        return grant, [
            "no revision before the first signature is an approved packet: nothing in the "
            "file hashes to a sha256 the manifest recorded"
        ]
    end, entry = match
    grant_id = str(entry.grant_id)
    problems: list[str] = []
    if by_name is not None and not any(d is entry for d in named):
        problems.append(f"the file is named for {by_name.grant_id} but holds {grant_id}")
    added = _revisions_between(data, end, sigs[0])
    if added:
        problems.append(
            f"not the approved packet: {added} revision(s) were added to the approved packet "
            f"before {sigs[0].field_name} signed it, so what was signed is not the approved file"
        )
    texts: dict[int, list[str] | str] = {}
    approved = _text(data, end, texts)
    if isinstance(approved, str):
        return grant_id, [*problems, approved]
    ends = [s.byte_range[2] + s.byte_range[3] for s in sigs]
    for sig, sig_end in zip(sigs, ends, strict=True):
        diff = _text_diff(approved, _text(data, sig_end, texts))
        if diff:
            problems.append(f"the text {sig.field_name} signed is not the approved text: {diff}")
    if len(data) > max(ends):
        diff = _text_diff(approved, _text(data, len(data), texts))
        if diff:
            problems.append(f"the text was changed after the last signature: {diff}")
    recorded = entry.signed.sha256 if entry.signed is not None else None
    if recorded and all(_sha256(data, e) != recorded for e in ends):
        problems.append("no signed revision is the signed packet the manifest recorded")
    return grant_id, problems


def _sha256(data: bytes, end: int) -> str:
    """The sha256 of ``data[:end]``, without copying it."""
    return hashlib.sha256(memoryview(data)[:end]).hexdigest()


def _revisions_between(data: bytes, end: int, first: Any) -> int:
    """How many revisions lie between the approved bytes (``data[:end]``) and the revision the
    first signature signed (0: it signed the approved packet itself)."""
    signed_end = first.byte_range[2] + first.byte_range[3]
    markers = len(re.findall(rb"%%EOF", data[end:signed_end])) - 1
    try:
        approved_revisions = PdfFileReader(io.BytesIO(data[:end])).xrefs.total_revisions
        by_xref = int(first.signed_revision) - int(approved_revisions)
    except Exception:
        by_xref = markers
    return max(markers, by_xref, 0)


def _stem(name: str) -> str:
    return grant_stem(name).split(".")[0]


def _text(data: bytes, end: int, cache: dict[int, list[str] | str]) -> list[str] | str:
    """The text of each page of the revision ending at ``end`` (a message if unreadable)."""
    if end not in cache:
        try:
            reader = PdfReader(io.BytesIO(data[:end]))
            cache[end] = [page.extract_text() or "" for page in reader.pages]
        except Exception as exc:
            cache[end] = f"the revision ending at byte {end} cannot be read: {exc}"
    return cache[end]


def _text_diff(approved: list[str], other: list[str] | str) -> str | None:
    if isinstance(other, str):
        return other
    for page, (a, b) in enumerate(zip(approved, other, strict=False), start=1):
        if a != b:
            old, new = a.split(), b.split()
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
                if tag != "equal":
                    was, now = clip(" ".join(old[i1:i2])), clip(" ".join(new[j1:j2]))
                    return f"page {page}: {was!r} became {now!r}"
            return f"page {page}: the layout of the text changed"
    if len(approved) != len(other):
        return f"{len(other)} pages where the approved packet has {len(approved)}"
    return None


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
