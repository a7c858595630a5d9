"""Approved forms of a form kit, and the deviations of rendered documents from them.

An approved form (``approved/<template stem>.txt``) is a snapshot of a template (its Jinja
kept) or counsel's own text (``.txt``/``.docx``) whose blanks (``[ ]``, ``[●]``, ``[Any
Words]``, ``____``) stand for any value. Both it, filled in from the grant, and the rendered
document are joined into one stream and cut into sentences alike (paragraphing and tables
do not matter); each sentence that differs is a :class:`Deviation`.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import jinja2
from docx.oxml import parse_xml
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from generator.comparing import deviations as dv
from generator.comparing import docxtext as dt
from generator.comparing import worddiff
from generator.comparing.comparecache import cache_key
from generator.comparing.deviations import Deviation
from generator.core.errors import ApprovedFormError, InputError
from generator.core.text import normalise
from generator.rendering.form import ANY, Part, boundaries, ignored_mark
from generator.rendering.hidden import DIRECT, HiddenText
from generator.rendering.jinjaenv import make_environment

__all__ = ["MARGINS", "ApprovedCheck", "ApprovedForm", "ApprovedFormError", "snapshot"]

#: The line of an approved form's text after which its header and footer paragraphs follow.
MARGINS = "=== margins ==="
BLANKS_NOTE = (
    "# Blanks: {{ … }} is filled from the grant as the template fills it; [ ], [●], [•], "
    "[____], a run of 3+ underscores inside text, and [Words In Brackets] stand for any value."
)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
#: Between the paragraphs of one Jinja source (a {% for %} may span paragraphs; a line each,
#: for error messages); around a blank mark (not whitespace: normalising keeps them); a
#: sentence boundary in the rendered stream.
_SEP, _OPEN, _CLOSE, _CUT = "\x1e\n", "\x02", "\x03", "\n"
_TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.S)
_DOCXTPL = re.compile(r"(\{[{%#])(?:tr|tc|p|r) ")
_BLANK = re.compile(r"\[[^\[\]\n]{0,80}\]|_{3,}")
_WRAPPED = re.compile(f"{_OPEN}([^{_OPEN}{_CLOSE}]*){_CLOSE}")
_UNDERSCORES = re.compile(r"[_\s]*_[_\s]*")
_APPROVED = re.compile(r"^#\s*approved\s+([^\s;]+)(?:\s+by\s+([^;]*?))?\s*(?:;|$)", re.I | re.M)
_SHA = re.compile(r"template sha256\s+([0-9a-f]+)", re.I)
#: A docxtpl paragraph or row tag (``{%p …%}``, ``{{tr …}}``): docxtpl replaces the whole
#: paragraph or table row holding one by the tag alone.
_LEVEL = {
    v: re.compile(rf"\{{%{v} .*?%\}}|\{{\{{{v} .*?\}}\}}|\{{#{v} .*?#\}}") for v in ("p", "tr")
}
_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")
#: Most sentence pairs of one differing stretch compared for ``changed`` (beyond: not paired).
_PAIR_LIMIT = 10_000
#: Sandboxed and strict like the templates' environment, with their filters; not autoescaping.
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_FILTERS = make_environment().filters
_ENV.filters.update({n: _FILTERS[n] for n in ("longdate", "money", "number", "string")})


def _source(paragraphs: Sequence[str]) -> str:
    """Paragraphs as one Jinja source: docxtpl's tags read as plain ones, and each blank mark
    outside the tags wrapped, so that no value filled in can pass for one."""

    def wrap(paragraph: str) -> str:
        paragraph = tag.group() if (tag := _LEVEL["p"].search(paragraph)) else paragraph
        pieces = _TAG.split(_DOCXTPL.sub(r"\1 ", paragraph))
        pieces[::2] = [_BLANK.sub(lambda m: _OPEN + m.group() + _CLOSE, t) for t in pieces[::2]]
        return "".join(pieces)

    return _SEP.join(map(wrap, paragraphs))


def _display(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def _printed(text: str) -> bool:
    """Whether a paragraph is compared: not empty, a line of underscores or the DRAFT mark."""
    return bool(text) and not _UNDERSCORES.fullmatch(text) and not ignored_mark(text)


# --- Word documents ------------------------------------------------------------------------
def _paragraphs(container: Any, hidden: HiddenText, template: bool = False) -> Iterator[str]:
    """Body and table-cell paragraph texts in document order (``w:sdt`` content too); of a
    ``template``, a row holding a ``{%tr …%}`` tag is that tag, as docxtpl reads it."""
    for child in container.iterchildren():
        if child.tag == _W + "p":
            yield dt.paragraph_text(child, hidden=hidden)
        elif child.tag == _W + "tbl":
            for row in child.iterchildren(_W + "tr"):
                cells = row.iterchildren(_W + "tc")
                texts = [t for cell in cells for t in _paragraphs(cell, hidden, template)]
                tag = _LEVEL["tr"].search(" ".join(texts)) if template else None
                yield from [tag.group()] if tag else texts
        elif child.tag == _W + "sdt":
            for content in child.iterchildren(_W + "sdtContent"):
                yield from _paragraphs(content, hidden, template)


def _margin_texts(parts: Sequence[bytes], hidden: HiddenText) -> Iterator[tuple[Part, str]]:
    """Each header, footer and footnote paragraph's own text, with the part it is in."""
    for xml in parts:
        try:
            root = parse_xml(xml)
        except etree.XMLSyntaxError:
            continue  # the render refuses malformed parts: nothing printed to compare
        part = dv._MARGINS.get(root.tag)
        if part is not None:
            yield from (
                (part, dt.paragraph_text(p, own=True, hidden=hidden)) for p in root.iter(_W + "p")
            )


def _docx_texts(name: Path | str, data: bytes) -> tuple[list[str], list[str]]:
    """A Word document's printed body paragraphs and margin paragraphs (each once), read as
    a template: empty and underscore-only paragraphs left out."""
    from generator.reading.sheets import check_archive

    try:
        check_archive(name, data, what="Word document")
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            root = parse_xml(package.read("word/document.xml"))  # python-docx's safe parser
            hidden, margins = dt.hidden_text(package), dt.margin_parts(package)
    except InputError as exc:
        raise ApprovedFormError(name, exc.message) from None
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise ApprovedFormError(name, f"cannot be read as a Word document ({exc})") from exc
    body = root.find(_W + "body")
    texts = [] if body is None else _paragraphs(body, hidden, template=True)
    margin = dict.fromkeys(t for _, t in _margin_texts(margins, hidden) if _printed(t))
    return [t for t in texts if _printed(t)], list(margin)


def snapshot(
    template_docx: bytes,
    *,
    source: str,
    template_sha256: str,
    approved_on: str,
    approved_by: str | None,
) -> str:
    """The approved-form text of a template: header, its body paragraphs and table-cell
    paragraphs in document order (text of runs joined; hidden text and tracked deletions left
    out, as deviations._text does), empty and underscore-only paragraphs kept out, then
    ``=== margins ===`` and the header/footer/footnote paragraph texts. Jinja tags are kept
    verbatim, so the snapshot reads like the template."""
    body, margins = _docx_texts(source, template_docx)
    by = f" by {' '.join(approved_by.split())}" if approved_by and approved_by.strip() else ""
    head = [
        f"# grantgen approved form of {source}",
        f"# approved {approved_on}{by}; template sha256 {template_sha256}",
        BLANKS_NOTE,
    ]
    return "\n\n".join(["\n".join(head), *body, MARGINS, *margins]) + "\n"


# --- approved forms ------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovedForm:
    """An approved form: its paragraphs and margin paragraphs as written (Jinja and blank
    marks kept), and who approved it when, as its header says (None: it does not)."""

    path: Path
    paragraphs: tuple[str, ...]
    margins: tuple[str, ...]
    approved_on: str | None
    approved_by: str | None
    template_sha256: str | None

    @classmethod
    def load(cls, path: Path) -> ApprovedForm:
        """Read a ``.txt`` or ``.docx`` approved form; :class:`ApprovedFormError` naming the
        file when it cannot be read or decoded, holds no text, or its Jinja is broken."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ApprovedFormError(path, f"cannot be read ({exc.strerror})") from None
        head: list[str | None] = [None, None, None]
        if path.suffix.lower() == ".docx":
            body, margins = _docx_texts(path, data)
        else:
            try:
                head, body, margins = _read_text(data.decode("utf-8-sig"))
            except UnicodeDecodeError as exc:
                raise ApprovedFormError(path, f"is not UTF-8 text ({exc})") from None
        if not body:
            raise ApprovedFormError(path, "holds no text")
        form = cls(path, tuple(body), tuple(margins), *head)
        form.fields()  # (its Jinja parses)
        return form

    def fields(self) -> frozenset[str]:
        """The top-level names its Jinja uses (``participant``, ``company`` …)."""
        found = (_parse(self.path, p) for p in (self.paragraphs, self.margins))
        return frozenset().union(*map(meta.find_undeclared_variables, found))


def _read_text(text: str) -> tuple[list[str | None], list[str], list[str]]:
    """The header's (approved on, by, template sha256), the paragraphs and the margins."""
    lines = text.splitlines()
    count = next((i for i, ln in enumerate(lines) if not ln.startswith("#")), len(lines))
    header = "\n".join(lines[:count])
    approved, sha = _APPROVED.search(header), _SHA.search(header)
    head = [*(approved.groups() if approved else (None, None)), sha[1] if sha else None]
    margin = f"(?m)^[ \t]*{re.escape(MARGINS)}[ \t]*$"
    rest = [*re.split(margin, "\n".join(lines[count:]), maxsplit=1), ""]
    body, margins = ([normalise(b) for b in re.split(r"\n\s*\n", t) if b.strip()] for t in rest[:2])
    return head, body, margins


def _parse(path: Path, paragraphs: Sequence[str]) -> jinja2.nodes.Template:
    try:
        return _ENV.parse(_source(paragraphs))
    except jinja2.TemplateSyntaxError as exc:
        near = paragraphs[exc.lineno - 1][:120] if 0 < exc.lineno <= len(paragraphs) else ""
        raise ApprovedFormError(path, f"Jinja syntax error: {exc.message} (in {near!r})") from exc


# --- comparing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sentence:
    text: str  # approved: normalised, each blank mark wrapped in _OPEN … _CLOSE
    part: Part
    key: str | None = None  # rendered: the approved sentence it matches


def _regex(sentence: str) -> str:
    """A sentence's text (a space matching a boundary too), each run of blanks any value
    within one rendered sentence (:data:`form.ANY`)."""
    pieces = _WRAPPED.split(re.sub(f"{_CLOSE}\\s*{_OPEN}", " ", sentence))  # [ ] [ ]: one
    texts = [r"\s".join(map(re.escape, t.split(" "))) if t else "" for t in pieces[::2]]
    # a symbol spaced from the blank it stands by ("$ [ ]", "[ ] %") is printed beside the
    # value as often as not ("$54.37", "5%"): that space may be missing
    for i, text in enumerate(texts):
        if i + 1 < len(texts) and _SYMBOL_BEFORE.search(text):
            texts[i] = text[: -len(r"\s")] + r"\s?"
        if i and _SYMBOL_AFTER.match(text):
            texts[i] = r"\s?" + text[len(r"\s") :]
    pieces[::2] = texts
    pieces[1::2] = [ANY] * (len(pieces) // 2)
    return "".join(pieces)


_SYMBOL_BEFORE = re.compile(r"[$€£¥#]\\s$")
"""The end of a text before a blank: a currency or number sign, then a space (regex-escaped)."""
_SYMBOL_AFTER = re.compile(r"\\s%")
"""The start of a text after a blank: a space, then a per cent sign (regex-escaped)."""


def _sentences(forms: Sequence[tuple[Part, list[str]]]) -> tuple[list[_Sentence], list[str]]:
    """Each form's paragraphs joined and cut into sentences (a blank starts none: the text
    before it holds it); and the first sentences of the forms after the first."""
    out, heads = [], []
    for i, (part, paragraphs) in enumerate(forms):
        stream = " ".join(paragraphs)
        texts = [stream[a:b] for a, b in _spans(stream)]
        heads += texts[:1] if i else []
        out += [_Sentence(t, part) for t in texts]
    return out, heads


def _spans(stream: str) -> list[tuple[int, int]]:
    """Where the sentences of a stream are (:func:`form.boundaries`)."""
    cuts = [(0, 0), *boundaries(stream), (len(stream), len(stream))]
    return [(a[1], b[0]) for a, b in pairwise(cuts) if a[1] < b[0]]


def _segment(
    paragraphs: Sequence[str], sentences: Sequence[_Sentence], heads: list[str]
) -> list[_Sentence]:
    """The rendered paragraphs as one stream, cut into sentences: at each place the longest
    approved sentence matching there, else the text up to the next boundary (or up to the
    first sentence of a later form). A blank ending a sentence (the last of a form) ends at a
    boundary, the end, or the first words of the next form."""
    stream = " ".join(paragraphs)
    stream = _CUT.join(stream[a:b] for a, b in _spans(stream))  # boundaries marked
    firsts = {" ".join(_WRAPPED.split(h)[0].split()[:3]) for h in heads} - {""}
    ahead = "|".join(map(_regex, sorted(firsts)))
    ends = (r"(?=\s|$)", f"(?={_CUT}|$" + (f"| (?:{ahead})(?=\\s|$))" if ahead else ")"))
    parts: dict[str, Part] = {}
    for s in sentences:
        parts.setdefault(s.text, s.part)
    patterns = {t: re.compile(_regex(t) + ends[t.endswith(_CLOSE)]) for t in parts}
    by_first: dict[str, list[str]] = {}
    for text in patterns:  # (the character each starts with; _OPEN: a blank, any)
        by_first.setdefault(text[0], []).append(text)
    anywhere = by_first.pop(_OPEN, [])
    out: list[_Sentence] = []
    part: Part
    pos, part = 0, "agreement"  # (an unmatched sentence: in the part of the one before it)
    while pos < len(stream):
        key, end = None, -1
        for text in [*by_first.get(stream[pos], ()), *anywhere]:
            m = patterns[text].match(stream, pos)
            if m and m.end() > end:
                key, end = text, m.end()
        if key is None:
            end = stream.find(_CUT, pos) % (len(stream) + 1)  # (none: the end)
            found = (patterns[h].search(stream, pos + 1, end) for h in heads)
            end = min([end, *(m.start() for m in found if m and stream[m.start() - 1] == " ")])
        part = parts[key] if key is not None else part
        out.append(_Sentence(stream[pos:end].replace(_CUT, " ").strip(), part, key))
        pos = end
        while pos < len(stream) and stream[pos].isspace():
            pos += 1
    return out


def _pair(approved: Sequence[_Sentence], found: Sequence[_Sentence]) -> list[Deviation]:
    """Removed, added and changed sentences of one differing stretch, in order: the pairs of
    most similar sentences (in order, at least PAIR_RATIO alike) are ``changed``."""
    n, m = (len(approved), len(found)) if len(approved) * len(found) <= _PAIR_LIMIT else (0, 0)
    words = [_WRAPPED.sub("\x00", a.text).split() for a in approved[:n]]
    sim = [
        [
            difflib.SequenceMatcher(None, w, f.text.split(), autojunk=False).ratio()
            for f in found[:m]
        ]
        for w in words
    ]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] >= worddiff.PAIR_RATIO else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    out: list[Deviation] = []
    i = j = 0
    while i < len(approved) or j < len(found):
        paired = i < n and j < m and sim[i][j] >= worddiff.PAIR_RATIO
        if paired and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
            a, f = approved[i], found[j]
            diff = dv.word_diff(_filled(a.text, f.text), f.text)
            out.append(Deviation("changed", a.part, _display(a.text), f.text, diff))
            i, j = i + 1, j + 1
        elif i < len(approved) and (j == len(found) or i >= n or best[i][j] == best[i + 1][j]):
            out.append(Deviation("removed", approved[i].part, _display(approved[i].text), None, ()))
            i += 1
        else:
            f = found[j]
            out.append(Deviation("added", f.part, None, f.text, (("insert", f.text),)))
            j += 1
    return out


def _filled(approved: str, rendered: str) -> str:
    """The approved sentence with each blank filled with what the rendered one holds there,
    where that can be found (so a diff shows the edit, not the blanks)."""
    pieces = _WRAPPED.split(approved)
    for i in range(1, len(pieces), 2):
        before, after = re.escape(pieces[i - 1][-24:]), pieces[i + 1][:24]
        word = after[: len(after) - len(after.lstrip())] + (after.split() or [""])[0]
        for tail in dict.fromkeys([after, word]):
            end = re.escape(tail) if tail.strip() else "$"
            if found := re.search(f"{before}(\\S.*?){end}", rendered):
                pieces[i] = found.group(1)
                break
    return "".join(pieces)


# --- the check -----------------------------------------------------------------------------
class ApprovedCheck:
    """Deviations of rendered documents from approved forms (one document = the forms in
    order, e.g. a notice, or an agreement followed by an acceptance page), fast: a document
    whose XML and expected text, each with the grant's values masked, are those of one found
    clean before is clean too."""

    def __init__(self, forms: Sequence[ApprovedForm], *, draft: bool | None = None) -> None:
        self.forms = tuple(forms)
        self.draft = draft  # False: a final batch, where a DRAFT mark is a deviation
        self._templates = [(f, _compile(f, f.paragraphs), _compile(f, f.margins)) for f in forms]
        self._clean: set[tuple[HiddenText, bytes]] = set()
        self._styles: dict[bytes | None, HiddenText] = {None: DIRECT}

    def _expected(
        self, context: Mapping[str, Any]
    ) -> tuple[list[tuple[Part, list[str]]], list[str]]:
        """The forms' paragraphs (each form's, by part) and margin paragraphs filled in."""
        forms: list[tuple[Part, list[str]]] = []
        margins: list[str] = []
        for i, (form, paragraphs, margin) in enumerate(self._templates):
            try:
                forms.append(("acceptance" if i else "agreement", _filled_in(paragraphs, context)))
                margins += _filled_in(margin, context)
            except jinja2.UndefinedError as exc:
                named = _UNDEFINED.search(str(exc.message))
                field = next(g for g in named.groups() if g) if named else str(exc.message)
                raise ApprovedFormError(
                    form.path, f"names the field {field!r}, which has no value", field=field
                ) from exc
            except Exception as exc:  # a filter given None, {{ 1/0 }}, an unsafe call ...
                raise ApprovedFormError(form.path, f"cannot be filled in ({exc})") from exc
        return forms, margins

    def check(
        self,
        body_xml: str,
        context: Mapping[str, Any],
        *,
        margins: Sequence[bytes] = (),
        grant_id: str | None = None,
        styles: bytes | None = None,
    ) -> list[Deviation]:
        """The deviations of one rendered document: its ``<w:body>`` XML, the ``context`` it
        was rendered with, its rendered header/footer/footnote parts and its style table
        (``word/styles.xml``: what else hides text)."""
        hidden = self._styles.get(styles) or self._styles.setdefault(styles, HiddenText(styles))
        forms, margin = self._expected(context)
        xml = "\x01".join([body_xml, *(m.decode("utf-8", "replace") for m in margins)])
        text = "\x01".join([*(t for _, ps in forms for t in ps), "", *margin])
        digest = cache_key(xml, text, context, grant_id)
        if digest is not None and (hidden, digest) in self._clean:
            return []
        rendered = _paragraphs(parse_xml(body_xml.encode("utf-8")), hidden)
        sentences, heads = _sentences(forms)
        found = _segment([t for t in rendered if _printed(t)], sentences, heads)
        a, b = [s.text for s in sentences], [f.key or "\x00" + f.text for f in found]
        out: list[Deviation] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            out += _pair(sentences[i1:i2], found[j1:j2]) if op != "equal" else []
        out += self._margins(margins, hidden, margin)
        if not out and digest is not None:
            self._clean.add((hidden, digest))
        return out

    def _margins(
        self, parts: Sequence[bytes], hidden: HiddenText, allowed: list[str]
    ) -> list[Deviation]:
        """``added``: each header/footer/footnote paragraph that is not empty, a page number,
        the DRAFT mark (but in a final batch) or one of the approved margins."""
        patterns = [re.compile(_regex(t)) for t in dict.fromkeys(allowed)]
        out = []
        for part, text in _margin_texts(parts, hidden):
            if not _printed(text) and not (ignored_mark(text) and self.draft is False):
                continue
            if not dt.PAGE_LINE.fullmatch(text) and not any(p.fullmatch(text) for p in patterns):
                out.append(Deviation("added", part, None, text, (("insert", text),)))
        return out


def _compile(form: ApprovedForm, paragraphs: Sequence[str]) -> jinja2.Template:
    return _ENV.from_string(_parse(form.path, paragraphs))


def _filled_in(template: jinja2.Template, context: Mapping[str, Any]) -> list[str]:
    """A form's paragraphs filled in (docxtpl's escaped braces restored): normalised, those
    that print."""
    text = template.render(context)
    for escaped, brace in (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}")):
        text = text.replace(escaped, brace)
    return [t for t in map(normalise, text.split(_SEP[0])) if _printed(_display(t))]


# --- a kit's approved forms -------------------------------------------------------------
