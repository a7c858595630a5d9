"""The key under which a compared document is remembered: its XML and its expected text with the
grant's values masked, so that grants whose documents differ only in their values are compared
with the approved form once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from markupsafe import escape

from generator.core.text import normalise


# --- the cache -----------------------------------------------------------------------------
def _leaves(value: Any, role: str = "") -> Iterator[tuple[str, str]]:
    """Every non-empty text of a context, by its place (``company.name``, ``address_lines.0``)."""
    if isinstance(value, str) and value:
        yield role, value
    elif isinstance(value, Mapping | list | tuple):
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for k, v in items:
            yield from _leaves(v, f"{role}.{k}" if role else str(k))


def mask_values(text: str, values: Sequence[tuple[str, str]], *, fold: bool = False) -> str:
    """``text`` with each value (in the order given: longest first) replaced by its role, as
    ``\\x00role\\x00``; a shorter value is not found inside a longer one masked before it.

    ``fold``: a value is found in any case (both lower-cased: the caller makes sure that
    changes no length) and the text around it is kept as written. Unfolded, the text kept is
    the searched copy, whose masked values are NULs: the same outside the masked spans."""
    searched = text.lower() if fold else text
    spans: list[tuple[int, int, str]] = []
    for role, value in values:
        needle, start = (value.lower() if fold else value), 0
        if not needle:  # a value that normalises to nothing (spaces, soft hyphens): no span
            continue
        while (at := searched.find(needle, start)) >= 0:
            spans.append((at, at + len(needle), role))
            start = at + len(needle)
        if start:  # a shorter value must not be found inside this one
            searched = searched.replace(needle, "\x00" * len(needle))
    kept = text if fold else searched
    out: list[str] = []
    pos = 0
    for begin, end, role in sorted(spans):
        out += (kept[pos:begin], f"\x00{role}\x00")
        pos = end
    return "".join([*out, kept[pos:]])


def cache_key(
    xml: str, text: str, context: Mapping[str, Any], grant_id: str | None
) -> bytes | None:
    """A document's XML and its expected text, each with the grant's values masked (hashed),
    and which of its fields hold one value: where two do (the vesting start is the grant
    date, the participant the officer), which one is masked is a guess, so such a grant only
    meets grants whose fields coincide alike (a text right for it, holding one, may be wrong
    for a grant where they differ)."""
    values = {r: v for r, v in _leaves({"grant_id": grant_id or "", **context})}
    fields: dict[str, set[str]] = {}
    for role, value in values.items():
        fields.setdefault(normalise(value), set()).add(role.split(".")[0])
    alike = sorted(",".join(sorted(roles)) for roles in fields.values() if len(roles) > 1)
    ordered = sorted(values.items(), key=lambda rv: (-len(rv[1]), rv[0]))
    masked = mask_values(xml, [(r, str(escape(v))) for r, v in ordered]) + "\x01\x01"
    masked += mask_values(text, [(r, normalise(v)) for r, v in ordered])
    masked += "\x01\x01" + ";".join(alike)
    return hashlib.blake2b(masked.encode("utf-8", "surrogatepass"), digest_size=20).digest()
