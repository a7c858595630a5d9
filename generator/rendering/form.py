"""The approved form's text, as sentences: the agreement and the Participant's Acceptance.

The form (``data/forms/*.txt``) writes its blanks as ``[ , ____]`` (a date), ``[ ]`` (the
participant, or a number of shares when ``shares`` follows) and ``$[ ]`` (a price). Each form
sentence becomes a pattern in which every blank matches a filled value of its kind, so a
rendered sentence can be recognised as the form's whatever the grant. Signature-block labels
and lines, the running header and DRAFT marks are no part of the comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from generator.core.errors import FormError
from generator.core.text import normalise
from generator.rendering.wording import plan_phrases

if TYPE_CHECKING:
    from generator.terms.planmodel import Plan

Part = Literal["agreement", "acceptance", "header", "footer", "footnote", "plan"]
#: A signature block: the Company's (before the acceptance page) or the participant's.
Block = Literal["company", "participant"]

AGREEMENT_TITLE = "NONSTATUTORY STOCK OPTION AGREEMENT"
ACCEPTANCE_TITLE = "PARTICIPANT'S ACCEPTANCE"
FORM_END = "AMENDMENT NO. 1"

BLANK = re.compile(r"\$\[ *\]|\[ *, *_+ *\]|\[ *\]")
ADDRESS = re.compile(r"^Address\s*:", re.I)
_PAGE_NUMBER = re.compile(r"^\s*-\d+-\s*$")
_COLUMN_GAP = re.compile(r"\S {3,}\S")
_LABEL = re.compile(r"^(Dated|Date|By|Name|Title|Address|Participant)\s*:", re.I)
_LINE = re.compile(r"^[_\s]*_[_\s]*$")
#: The mark a ``--draft`` batch puts at the top of every page.
DRAFT_MARK = "DRAFT \u2014 NOT FOR SIGNATURE"
_BOUNDARY = re.compile(r"(?<=[.:?!])\s+(?=[A-Z0-9\"'(\[$])")
_INITIALS = re.compile(r"(?:[a-z]\.)*[a-z0-9]")
#: Words after whose period a sentence does not end (``Group, Inc. 1999 …``, ``A. Ellison``).
ABBREVIATIONS = frozenset(
    {"inc", "co", "corp", "ltd", "llc", "jr", "sr", "mr", "mrs", "ms", "dr", "st", "no"}
    | {"nos", "esq", "sec", "u.s", "ii", "iii", "iv", "vs"}
)

#: What each kind of blank may be filled with.
DATE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{1,2}, \d{4}"
)
PRICE = r"\$\d[\d,]*(?:\.\d+)?"
NUMBER = r"\d[\d,]*"
ANY = r"\S.*?"


# --- text ----------------------------------------------------------------------------------


def boundaries(text: str) -> list[tuple[int, int]]:
    """(end of sentence, start of next) positions where ``text`` splits into sentences."""
    out = []
    for m in _BOUNDARY.finditer(text):
        before = text[: m.start()].rsplit(" ", 1)[-1]
        word = before.rstrip(".:?!").lower()
        if before.endswith(".") and (_INITIALS.fullmatch(word) or word in ABBREVIATIONS):
            continue
        out.append((m.start(), m.end()))
    return out


def sentences(text: str) -> list[str]:
    """Split normalised text into sentences (a heading such as ``1. Grant of Option.`` is one)."""
    out, start = [], 0
    for end, nxt in boundaries(text):
        out.append(text[start:end])
        start = nxt
    out.append(text[start:])
    return [s for s in out if s]


def ignored(text: str) -> bool:
    """Empty, a signature-block label or line, or the DRAFT mark itself (a paragraph that only
    starts with "DRAFT" is text like any other)."""
    return not text or ignored_mark(text) or any(p.match(text) for p in (_LINE, _LABEL))


def ignored_mark(text: str) -> bool:
    """The DRAFT mark, or the word DRAFT alone."""
    return text in (DRAFT_MARK, "DRAFT")


def label(text: str) -> str | None:
    """The signature-block label a line starts with (``Dated:``, ``By:``, ``Name: …``,
    ``PARTICIPANT:`` …), lower-case and without its colon: ``name``, ``participant``."""
    m = _LABEL.match(text)
    return m.group(1).lower() if m else None


#: The values each signature-block label may be filled with, by block: names of the
#: agreement's values (:func:`generator.making.formcheck.blank_values`), ``address`` standing for
#: each address line (``address0``, ``address1`` …), which the lines after ``Address:`` may
#: hold too. A label not listed here may hold nothing but a line.
SIGNATURE_FIELDS: dict[Block, dict[str, tuple[str, ...]]] = {
    "company": {
        "dated": ("grant_date",),
        "date": ("grant_date",),
        "by": ("officer_name",),
        "name": ("officer_name",),
        "title": ("officer_title",),
    },
    "participant": {
        "participant": ("participant",),
        "name": ("participant",),
        "address": ("address",),
    },
}


def signature_values(values: Mapping[str, str]) -> dict[tuple[Block, str], frozenset[str]]:
    """What each label (``(block, label)``; ``label`` ``address`` for the address lines too) of
    a signature block may hold: the agreement's ``values`` its :data:`SIGNATURE_FIELDS` name,
    normalised and case-folded."""
    folded = {k: normalise(v).casefold() for k, v in values.items() if v}
    addresses = frozenset(v for k, v in folded.items() if re.fullmatch(r"address\d+", k))

    def of(role: str) -> frozenset[str]:
        if role == "address":
            return addresses
        return frozenset({folded[role]}) if role in folded else frozenset()

    return {
        (block, name): frozenset().union(*map(of, roles))
        for block, labels in SIGNATURE_FIELDS.items()
        for name, roles in labels.items()
    }


def filled_in(text: str, known: Collection[str]) -> bool:
    """A signature-block line holding only what the block is for: a label (``Name:``) with
    nothing, a line of underscores, or one of the values ``known`` (those the line may hold --
    see :func:`signature_values` --, normalised and case-folded: ``{{ officer.title|upper }}``
    is still the title) after it; or such a line or value alone (an address line)."""
    m = _LABEL.match(text)
    rest = text[m.end() :].strip() if m else text.strip()
    return not rest or bool(_LINE.fullmatch(rest)) or rest.casefold() in known


# --- the form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormSentence:
    text: str
    """Normalised, with the form's blanks."""
    part: Part


def form_sentences(form_text: Path, plan: Plan | None = None) -> list[FormSentence]:
    """The agreement's and the acceptance page's sentences, in order, from the form text.

    The form was written for the bundled plan; with ``plan`` (another plan), the phrases that
    state a plan's terms -- the company and its state, the plan's names, the option term and
    the post-service period -- read as that plan words them (:func:`wording.plan_phrases`)."""
    swap = _plan_swap(plan)
    lines = form_text.read_text(encoding="utf-8").splitlines()
    try:
        title = next(i for i, ln in enumerate(lines) if ln.strip() == AGREEMENT_TITLE)
    except StopIteration:
        raise FormError(f"{form_text}: no {AGREEMENT_TITLE!r} title in the form") from None
    start = title
    heading = next((i for i in range(title - 1, -1, -1) if lines[i].strip()), None)
    if heading is not None and lines[heading].strip().isupper():
        start = heading  # the company's name above the title
    end = next((i for i in range(title, len(lines)) if lines[i].strip() == FORM_END), len(lines))
    out: list[FormSentence] = []
    part: Part = "agreement"
    for paragraph in _form_paragraphs(lines[start:end]):
        if paragraph == ACCEPTANCE_TITLE:
            part = "acceptance"
        out += [FormSentence(s, part) for s in sentences(swap(paragraph))]
    return out


def _plan_swap(plan: Plan | None) -> Callable[[str], str]:
    """Rewrite the bundled plan's phrases of a form paragraph as ``plan`` words them."""
    from generator.terms.plan import bundled_plan

    if plan is None:
        return lambda text: text
    ours, theirs = plan_phrases(bundled_plan()), plan_phrases(plan)
    pairs = {ours[role]: theirs[role] for role in ours if ours[role] != theirs[role]}
    if not pairs:
        return lambda text: text
    found = re.compile("|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True)))
    return lambda text: found.sub(lambda m: pairs[m.group()], text)


def plan_words(form_text: Path) -> list[str]:
    """The words of the Plan as the form text has it: from the company's name above the
    Plan's title to the agreement's, then Amendment No. 1 to the end; page numbers left out."""
    lines = form_text.read_text(encoding="utf-8").splitlines()
    try:
        title = next(i for i, ln in enumerate(lines) if ln.strip() == AGREEMENT_TITLE)
        amendment = next(i for i, ln in enumerate(lines) if ln.strip() == FORM_END)
    except StopIteration:
        raise FormError(f"{form_text}: no agreement title or {FORM_END!r} in the form") from None
    company = next((i for i in range(title - 1, -1, -1) if lines[i].strip()), title)
    start = next((i for i, ln in enumerate(lines) if ln.strip() == lines[company].strip()), company)
    kept = [*lines[start:company], *lines[amendment:]]
    return normalise(" ".join(ln for ln in kept if not _PAGE_NUMBER.match(ln))).split()


def _form_paragraphs(lines: list[str]) -> list[str]:
    blocks: list[list[str]] = [[]]
    for ln in lines:
        if not ln.strip() or _PAGE_NUMBER.match(ln):
            blocks.append([])
        else:
            blocks[-1].append(ln)
    out: list[str] = []
    for block in blocks:
        if any(_COLUMN_GAP.search(ln.strip()) for ln in block):
            # a signature block laid out in columns: each cell on its own
            out += [normalise(c) for ln in block for c in re.split(r" {3,}", ln.strip())]
        elif block:
            out.append(normalise(" ".join(ln.strip() for ln in block)))
    return [p for p in out if not ignored(p)]


# --- blanks --------------------------------------------------------------------------------


#: What a blank of each kind may hold, when the agreement's own value is not known.
_KIND_REGEX = {"exercise_price": PRICE, "grant_date": DATE, "shares": NUMBER}


def _kind(sentence: str, m: re.Match[str]) -> str | None:
    """The value the blank ``m`` of ``sentence`` stands for (None: the participant's name)."""
    blank = m.group()
    if blank.startswith("$"):
        return "exercise_price"
    if "," in blank:
        return "grant_date"
    if sentence[m.end() :].startswith(" shares"):
        return "shares"
    return None


def blank_regex(
    sentence: str,
    m: re.Match[str],
    participant: str | None,
    values: Mapping[str, str] | None = None,
) -> str:
    """What the blank ``m`` of ``sentence`` may hold: the participant's name, and with
    ``values`` (an agreement's own ``grant_date``, ``shares`` and ``exercise_price``, as the
    form writes them) exactly that value, else any value of the blank's kind."""
    kind = _kind(sentence, m)
    if kind is None:
        return re.escape(participant) if participant else ANY
    expected = _expected(sentence, m, values or {})
    return re.escape(expected) if expected else _KIND_REGEX[kind]


def _expected(sentence: str, m: re.Match[str], values: Mapping[str, str]) -> str | None:
    """The agreement's own value for a date, shares or price blank."""
    kind = _kind(sentence, m)
    value = values.get(kind) if kind else None
    return normalise(value) if value else None


def pattern(
    sentence: str, participant: str | None, values: Mapping[str, str] | None = None
) -> re.Pattern[str]:
    """A form sentence as a pattern matching it with its blanks filled, ending at a space or
    at the end of the text."""
    parts, pos = [], 0
    for m in BLANK.finditer(sentence):
        parts.append(re.escape(sentence[pos : m.start()]))
        parts.append(f"(?:{blank_regex(sentence, m, participant, values)})")
        pos = m.end()
    parts.append(re.escape(sentence[pos:]))
    return re.compile("".join(parts) + r"(?=\s|$)")


def fill_blanks(
    form: str,
    rendered: str,
    participant: str | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """The form sentence with each blank filled: with the agreement's own value where
    ``values`` has it (so a wrong value shows in the diff), else with the value the rendered
    sentence holds at that place, where it can be found (so a diff shows the edit, not the
    blanks)."""
    out, pos = [], 0
    for m in BLANK.finditer(form):
        out.append(form[pos : m.start()])
        if values and (expected := _expected(form, m, values)):
            out.append(expected)
            pos = m.end()
            continue
        kind = blank_regex(form, m, participant)
        before = BLANK.sub("", form[max(0, m.start() - 24) : m.start()])
        after = BLANK.sub("", form[m.end() : m.end() + 24])
        found = re.search(f"{re.escape(before)}({kind}){re.escape(after)}", rendered)
        if found is None and after.split():
            # the text after the blank was edited: its first word still ends the value
            nxt = re.escape(after.split()[0])
            found = re.search(f"{re.escape(before)}({kind}){nxt}", rendered)
        if found is None and kind != ANY:
            found = re.search(f"({kind})", rendered)
        out.append(found.group(1) if found else m.group())
        pos = m.end()
    out.append(form[pos:])
    return "".join(out)
