"""Template deviations: the text of a rendered agreement against the approved form.

The approved form (``data/forms/*.txt``) has blanks -- ``[ , ____]`` for a date, ``[ ]`` for
the participant or the number of shares, ``$[ ]`` for the price. A rendered agreement (the
agreement and the Participant's Acceptance, as one DOCX) is read paragraph by paragraph --
body paragraphs and table cells, in document order -- and split into sentences; each is
matched against the form's sentences with every blank standing for a filled value of its kind.
What is left over is a deviation: a sentence of the form that is missing (``removed``), a
sentence that is not in the form (``added``), or one that is there but reads differently
(``changed``, with a word-level diff). Text as printed is read: tracked deletions and hidden
text (by a run's own formatting or by its styles, see :mod:`generator.rendering.hidden`) left out.

Not compared: the running header (``Grant … · …``), the DRAFT mark, and the signature blocks'
labels and lines (``Dated:``, ``By:``, ``PARTICIPANT:``, ``Name: …``, ``Title: …``,
``Address:`` and the address lines after it, lines of underscores), which the form lays out as
blanks and the templates fill in -- each label with its own value only: the Company's
``Name:`` with the signing officer's name, ``Title:`` with the officer's title, the acceptance
page's ``Name:`` with the participant's; any other text after a label is ``added``.

Headers, footers and footnotes are read too: the form has none of its own, so any text there
other than a page number, the DRAFT mark, the running header or one of the agreement's own
values (the company's name, say) is ``added`` -- a sentence slipped into a footer is reported
like one in the body.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from docx.oxml import parse_xml
from lxml import etree

from generator.comparing.comparecache import mask_values
from generator.comparing.docxtext import (
    _margin_line,
    _w,
    body_paragraphs,
    document_paragraphs,
    hidden_text,
    margin_parts,
    paragraph_text,
)
from generator.comparing.worddiff import PAIR_RATIO, word_diff, words_similarity
from generator.core.errors import DeviationError, FormError, GrantgenError
from generator.core.text import normalise
from generator.rendering.form import (
    ACCEPTANCE_TITLE,
    FormSentence,
    Part,
    boundaries,
    fill_blanks,
    form_sentences,
    pattern,
    plan_words,
)
from generator.rendering.hidden import DIRECT, HiddenText

if TYPE_CHECKING:
    from generator.terms.planmodel import Plan

Kind = Literal["added", "removed", "changed"]

__all__ = [
    "Deviation",
    "DeviationError",
    "FormError",
    "FormSentence",
    "compare",
    "document_paragraphs",
    "enforce",
    "find_deviations",
    "form_sentences",
    "margin_deviations",
    "plan_deviations",
    "word_diff",
]


@dataclass(frozen=True)
class Deviation:
    """One sentence where a rendered agreement differs from the approved form."""

    kind: Kind
    """``added`` (not in the form), ``removed`` (in the form, not rendered) or ``changed``."""
    part: Part
    """Where it is: the ``agreement`` or the ``acceptance`` page."""
    form: str | None
    """The form's sentence, blanks as the form writes them; None when ``added``."""
    rendered: str | None
    """The rendered sentence; None when ``removed``."""
    diff: tuple[tuple[str, str], ...]
    """Word-level diff, form (blanks filled from the rendered sentence where they can be)
    against rendered: ``(op, text)`` with op ``equal``, ``delete`` or ``insert``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "part": self.part,
            "form": self.form,
            "rendered": self.rendered,
            "diff": [list(d) for d in self.diff],
        }

    @classmethod
    def from_dict(cls, data: object) -> Deviation | None:
        """The deviation :meth:`as_dict` wrote (e.g. into a manifest); None when ``data`` is
        not one (a hand-edited or damaged record)."""
        if not isinstance(data, dict):
            return None
        kind, part, form, rendered, diff = (
            data.get(k) for k in ("kind", "part", "form", "rendered", "diff")
        )
        texts = all(t is None or isinstance(t, str) for t in (form, rendered))
        pairs = isinstance(diff, list) and all(
            isinstance(d, list) and len(d) == 2 and all(isinstance(t, str) for t in d) for d in diff
        )
        if kind not in ("added", "removed", "changed") or not isinstance(part, str):
            return None
        if not (texts and pairs):
            return None
        assert isinstance(diff, list)
        return cls(kind, part, form, rendered, tuple((d[0], d[1]) for d in diff))  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.part}: added {self.rendered!r}"
        if self.kind == "removed":
            return f"{self.part}: removed {self.form!r}"
        changes = " ".join(
            f"[-{t}-]" if op == "delete" else f"{{+{t}+}}" for op, t in self.diff if op != "equal"
        )
        return f"{self.part}: changed {self.form!r}: {changes}"


def enforce(
    deviations: Mapping[str, Sequence[Deviation]], *, strict: bool, draft: bool, accepted: bool
) -> None:
    """``generate --strict``: refuse a final batch with deviations unless they are accepted."""
    if strict and not draft and not accepted and any(deviations.values()):
        raise DeviationError(deviations)


# --- the rendered agreement ----------------------------------------------------------------


#: The root elements of the parts that print around the body, and what a deviation there is in.
_MARGINS: dict[str, Part] = {_w("hdr"): "header", _w("ftr"): "footer", _w("footnotes"): "footnote"}


def margin_deviations(
    parts: Iterable[bytes],
    known: Collection[str] | None = None,
    grant_id: str | None = None,
    *,
    draft: bool | None = None,
    hidden: HiddenText = DIRECT,
) -> list[Deviation]:
    """``added`` deviations for the text of rendered header, footer and footnotes parts
    (their XML) that a margin should not hold (see :mod:`generator.comparing.docxtext`);
    ``hidden``: what
    hides text in the document (its style table)."""
    out: list[Deviation] = []
    for xml in parts:
        try:
            root = parse_xml(xml)
        except etree.XMLSyntaxError:
            continue  # the render refuses malformed parts; nothing printed to compare
        part = _MARGINS.get(root.tag)
        if part is None:
            continue
        for p in root.iter(_w("p")):
            text = paragraph_text(
                p, own=True, hidden=hidden
            )  # a text box's paragraphs: on their own
            if not _margin_line(text, known, grant_id, draft):
                out.append(Deviation("added", part, None, text, (("insert", text),)))
    return out


@dataclass(frozen=True)
class _Rendered:
    text: str
    key: str | None  # the form sentence it matches
    part: Part


def _segment(paragraph: str, patterns: list[tuple[str, re.Pattern[str]]]) -> list[_Rendered]:
    """Split a rendered paragraph into sentences, matching form sentences where they fit."""
    out: list[_Rendered] = []
    pos = 0
    while pos < len(paragraph):
        best: tuple[str, int] | None = None
        for form, compiled in patterns:
            m = compiled.match(paragraph, pos)
            if m and (best is None or m.end() > best[1]):
                best = (form, m.end())
        key: str | None = None
        if best is not None:
            key, end = best
            nxt = end
        else:
            rest = paragraph[pos:]
            cut = boundaries(rest)
            end, nxt = (pos + cut[0][0], pos + cut[0][1]) if cut else (len(paragraph),) * 2
        out.append(_Rendered(paragraph[pos:end], key, "agreement"))
        while nxt < len(paragraph) and paragraph[nxt].isspace():
            nxt += 1
        pos = nxt
    return out


# --- comparing ----------------------------------------------------------------------------


class DeviationCheck:
    """Deviations of many rendered agreements from one form, fast.

    Agreements rendered from one template differ only in their blanks, so an agreement whose
    text, with its own values masked, equals one already found to match the form matches it
    too; only the others are compared sentence by sentence."""

    def __init__(
        self, form_text: Path, plan: Plan | None = None, *, draft: bool | None = None
    ) -> None:
        self.form = form_sentences(form_text, plan)
        self.draft = draft  # False: a final batch, where a DRAFT mark is a deviation
        self._clean: set[tuple[HiddenText, str]] = set()
        self._styles: dict[bytes | None, HiddenText] = {None: DIRECT}

    def check(
        self,
        body_xml: str,
        values: Mapping[str, str],
        participant: str,
        *,
        margins: Sequence[bytes] = (),
        grant_id: str | None = None,
        styles: bytes | None = None,
    ) -> list[Deviation]:
        """The deviations of one rendered ``<w:body>``; ``values``: its blanks, by name;
        ``margins``: its rendered header, footer and footnotes parts (``grant_id`` is what
        the running header names); ``styles``: its style table (``word/styles.xml``, read
        once for every document that has it), without which only a run's own formatting
        hides its text."""
        hidden = self._styles.get(styles)
        if hidden is None:
            hidden = self._styles[styles] = HiddenText(styles)
        named = dict(values, grant_id=grant_id or "")
        key = (
            hidden,
            _masked(
                "\x01".join([body_xml, *(m.decode("utf-8", "replace") for m in margins)]), named
            ),
        )
        if key in self._clean:
            return []
        folded = [normalise(v).casefold() for v in values.values() if v]
        known = set(folded)
        paragraphs = body_paragraphs(parse_xml(body_xml.encode("utf-8")), values, hidden=hidden)
        found = compare(paragraphs, self.form, participant=participant, values=values)
        found += margin_deviations(margins, known, grant_id, draft=self.draft, hidden=hidden)
        if not found and len(known) == len(folded):
            # (two values alike -- the participant is the signing officer -- mask alike: a
            # line right for this grant, holding one, may be wrong for the next, holding the other)
            self._clean.add(key)
        return found


def _masked(text: str, values: Mapping[str, str]) -> str:
    """``text`` (a rendered agreement's XML) with each value, as the autoescaping template
    wrote it, replaced by its role, longest first, in any case: a line that passes as a value
    only case-folded ({{ participant|upper }}, or a name typed into the template) must not
    pass for another grant from the cache."""
    from markupsafe import escape

    written = [
        (role, str(escape(value)))
        for role, value in sorted(values.items(), key=lambda kv: -len(kv[1]))
        if value
    ]
    folded = text.lower()
    if len(folded) != len(text) or any(len(w.lower()) != len(w) for _, w in written):
        # lower-casing changed a length (İ): the slow way, which keeps every position
        for role, w in written:
            text = re.compile(re.escape(w), re.IGNORECASE).sub(f"\x00{role}\x00", text)
        return text
    return mask_values(text, written, fold=True)


#: Words of context shown around a difference in the Plan copy.
_PLAN_CONTEXT = 8


def plan_deviations(plan_docx: bytes, form_text: Path) -> list[Deviation]:
    """Where the rendered copy of the Plan (the body of ``plan_docx``) differs from the Plan's
    text in the form, word by word (paragraphing aside): each stretch that differs is one
    deviation, shown with a few words of context on either side."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(plan_docx)) as package:
            root = parse_xml(package.read("word/document.xml"))
            margins = margin_parts(package)
            hidden = hidden_text(package)
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise GrantgenError(f"the Plan copy cannot be read as a Word document ({exc})") from exc
    body = root.find(_w("body"))
    paragraphs = (
        []
        if body is None
        else [paragraph_text(p, own=True, hidden=hidden) for p in body.iter(_w("p"))]
    )
    rendered = normalise(" ".join(p for p in paragraphs if p)).split()
    form = plan_words(form_text)
    out: list[Deviation] = []
    matcher = difflib.SequenceMatcher(None, form, rendered, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        lo, hi = max(i1 - _PLAN_CONTEXT, 0), i2 + _PLAN_CONTEXT
        rlo, rhi = max(j1 - _PLAN_CONTEXT, 0), j2 + _PLAN_CONTEXT
        before, after = " ".join(form[lo:i1]), " ".join(form[i2:hi])
        old, new = " ".join(form[i1:i2]), " ".join(rendered[j1:j2])
        diff = tuple(
            (kind, text)
            for kind, text in (
                ("equal", before),
                ("delete", old),
                ("insert", new),
                ("equal", after),
            )
            if text
        )
        kind: Kind = "removed" if op == "delete" else "added" if op == "insert" else "changed"
        out.append(
            Deviation(
                kind,
                "plan",
                " ".join(form[lo:hi]) if op != "insert" else None,
                " ".join(rendered[rlo:rhi]) if op != "delete" else None,
                diff,
            )
        )
    # text in the copy's headers and footers prints on every page of it: only page numbers
    # and the DRAFT mark may be there
    out += [replace(d, part="plan") for d in margin_deviations(margins, set(), hidden=hidden)]
    return out


def find_deviations(
    agreement_docx: Path,
    form_text: Path,
    *,
    participant: str | None = None,
    plan: Plan | None = None,
) -> list[Deviation]:
    """Every sentence where the rendered agreement (with its acceptance page) differs from the
    form, blanks aside. ``participant``: the name the participant blank must hold (without it,
    that blank matches any text, so an edit right beside the name could hide in it)."""
    found = compare(
        document_paragraphs(agreement_docx),
        form_sentences(form_text, plan),
        participant=participant,
    )
    with zipfile.ZipFile(agreement_docx) as package:
        margins = margin_parts(package)
        hidden = hidden_text(package)
    known = {normalise(participant).casefold()} if participant else None
    return found + margin_deviations(margins, known, hidden=hidden)


def compare(
    paragraphs: Sequence[str],
    form: Sequence[FormSentence],
    *,
    participant: str | None = None,
    values: Mapping[str, str] | None = None,
) -> list[Deviation]:
    """The deviations of rendered ``paragraphs`` (normalised text) from the form's sentences.
    ``values``: the agreement's own blanks (``grant_date``, ``shares``, ``exercise_price``, as
    written), which its date, share and price blanks must then hold exactly."""
    name = normalise(participant) if participant else None
    patterns = list({fs.text: pattern(fs.text, name, values) for fs in form}.items())
    rendered: list[_Rendered] = []
    part: Part = "agreement"
    for paragraph in paragraphs:
        for r in _segment(paragraph, patterns):
            if r.key == ACCEPTANCE_TITLE or r.text == ACCEPTANCE_TITLE:
                part = "acceptance"
            rendered.append(_Rendered(r.text, r.key, part))
    a = [fs.text for fs in form]
    b = [r.key if r.key is not None else "\x00" + r.text for r in rendered]
    out: list[Deviation] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        out += _pair(list(form[i1:i2]), rendered[j1:j2], name, values)
    return out


def _pair(
    form: list[FormSentence],
    rendered: list[_Rendered],
    name: str | None,
    values: Mapping[str, str] | None = None,
) -> list[Deviation]:
    """Removed, added and changed sentences of one differing stretch, in order: the pairs of
    most similar sentences (in order, at least :data:`PAIR_RATIO` alike) are ``changed``."""
    n, m = len(form), len(rendered)
    sim = [[words_similarity(f.text, r.text) for r in rendered] for f in form]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] >= PAIR_RATIO else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    out: list[Deviation] = []
    i = j = 0
    while i < n or j < m:
        if (
            i < n
            and j < m
            and sim[i][j] >= PAIR_RATIO
            and best[i][j] == sim[i][j] + best[i + 1][j + 1]
        ):
            out.append(_changed(form[i], rendered[j], name, values))
            i, j = i + 1, j + 1
        elif i < n and (j == m or best[i][j] == best[i + 1][j]):
            out.append(Deviation("removed", form[i].part, form[i].text, None, ()))
            i += 1
        else:
            r = rendered[j]
            out.append(Deviation("added", r.part, None, r.text, (("insert", r.text),)))
            j += 1
    return out


def _changed(
    form: FormSentence,
    rendered: _Rendered,
    name: str | None,
    values: Mapping[str, str] | None = None,
) -> Deviation:
    filled = fill_blanks(form.text, rendered.text, name, values)
    return Deviation(
        "changed", form.part, form.text, rendered.text, word_diff(filled, rendered.text)
    )
