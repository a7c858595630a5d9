"""Text as forms and documents are compared: whitespace, quotation marks and hyphens folded."""

from __future__ import annotations

import re


def normalise(text: str) -> str:
    """Fold whitespace, quote styles, non-breaking spaces and hyphens, soft hyphens."""
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2018", "'").replace("\u2019", "'")
    text = text.replace("\u00a0", " ").replace("\u00ad", "").replace("\u2011", "-")
    return re.sub(r"\s+", " ", text).strip()
