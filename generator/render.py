"""Render Word templates with docxtpl in a strict, sandboxed, autoescaping Jinja environment.

* ``StrictUndefined``: a field the template names but the data lacks is an error naming the
  field and the template, never a blank.
* autoescaping: ``&``, ``<``, quotes in a value come out as those characters, not as broken XML.
* sandboxed: a template cannot reach Python internals or the file system.

The agreement and the acceptance page are two templates counsel edits separately; they are
joined once per batch (docxcompose) into the one template each grant is rendered from. The
compiled Jinja templates are cached, so a batch compiles each template part once.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.parsers import expat

import jinja2
from docx import Document
from docxcompose.composer import Composer
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree
from markupsafe import soft_str

from .errors import TemplateError
from .fields import (
    FILTERS,
    Count,
    Day,
    Money,
    vesting_fields,
)
from .fields import format_date as format_date
from .fields import format_price as format_price
from .fields import format_shares as format_shares
from .form import DRAFT_MARK
from .kit import Form
from .package import (
    XML_DECLARATION,
    Deflated,
    core_properties,
    deflate,
    word_native,
    zip_files,
)
from .plan import Plan, bundled_plan
from .records import GrantRecord
from .wording import indefinite_article, plan_wording

#: Blank lines drawn on the acceptance page where no address line is given (as in the form).
ADDRESS_BLANK = "_" * 24
ADDRESS_LINES = 4
#: Timestamp written into every DOCX (zip entries, core properties): output depends on input only.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# --- formatting of the blanks --------------------------------------------------------------


# --- the Jinja environment -----------------------------------------------------------------


class NoValueError(Exception):
    """An expression gave something that is not the text of a blank: ``None`` (which would
    print as the word "None"), or an object, list, dict or true/false value (which would print
    as Python writes it). ``near``: the text of the paragraph it is in, once known."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value
        self.expression = ""
        self.near = ""

    def describe(self) -> str:
        if self.value is None:
            return "gives no value (None), which would print as the word None"
        shown = repr(self.value)
        shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
        return (
            f"gives a {type(self.value).__name__} ({shown}), not text: it would print as "
            "Python writes it"
        )


@jinja2.pass_eval_context
def _printable(eval_ctx: Any, value: Any) -> Any:
    """Every ``{{ … }}`` output passes here: only text and whole or decimal numbers print;
    ``None`` is an error, never the text "None", and so is a dict, a list, a true/false value
    or any other object. (Taking the evaluation context makes Jinja apply this at render time
    to constant expressions too: ``{{ none }}`` or ``{{ [none]|first }}`` are otherwise
    folded to the text "None" when the template is compiled, without passing here.)"""
    if isinstance(value, str | jinja2.Undefined):  # a strict Undefined fails when printed
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    raise NoValueError(value)


#: The largest number a template may compute (``{{ 10 ** (10 ** 9) }}`` would take hours).
MAX_NUMBER_BITS = 4096
#: The longest text or list a template may make by multiplying (``{{ "x" * 10 ** 9 }}``).
MAX_REPEAT = 1_000_000
#: The most characters one rendered part may have (a 10,000-row Board consent has ~30 MB).
MAX_RENDERED = 256 * 1024 * 1024
#: The most characters of text between two tags of a rendered part (libxml2's limit, which
#: python-docx and LibreOffice read it with).
MAX_TEXT_NODE = 10_000_000
#: Seconds one template part may take to render (``GRANTGEN_RENDER_SECONDS``).
RENDER_SECONDS = 60.0


class _Environment(SandboxedEnvironment):
    """Sandboxed, strict, autoescaping, no None printed; caches compiled templates by source.
    Arithmetic is bounded: a power or product too large to print is refused."""

    intercepted_binops = frozenset(["**", "*", "<<"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in ("**", "<<") and isinstance(right, int) and isinstance(left, int | Decimal):
            size = abs(int(left)).bit_length() * abs(right) if operator == "**" else right
            if size > MAX_NUMBER_BITS:
                raise jinja2.exceptions.SecurityError(
                    f"{operator} gives a number too large to print ({left!r} {operator} {right!r})"
                )
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_REPEAT:
                    raise jinja2.exceptions.SecurityError(
                        f"a text or list repeated into more than {MAX_REPEAT:,} items"
                    )
            both = isinstance(left, int) and isinstance(right, int)
            if both and left.bit_length() + right.bit_length() > MAX_NUMBER_BITS:
                raise jinja2.exceptions.SecurityError("a product too large to print")
        return super().call_binop(context, operator, left, right)

    def __init__(self, *, literal: bool = False) -> None:
        # literal: a document that is not a template (a plan's own text): delimiters no Word
        # text holds, so its braces and percent signs are printed as they are
        marks: dict[str, Any] = (
            {
                f"{kind}_{end}_string": f"\x00{mark}" if end == "start" else f"{mark}\x00"
                for kind, (first, last) in {
                    "block": ("{%", "%}"),
                    "variable": ("{{", "}}"),
                    "comment": ("{#", "#}"),
                }.items()
                for end, mark in (("start", first), ("end", last))
            }
            if literal
            else {}
        )
        super().__init__(
            undefined=jinja2.StrictUndefined, autoescape=True, finalize=_printable, **marks
        )
        self._compiled: dict[str, jinja2.Template] = {}
        self.filters.update(FILTERS)
        self.filters.update(money=format_price, number=format_shares, string=_string)

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: Any = None,
    ) -> jinja2.Template:
        if isinstance(source, str) and globals is None and template_class is None:
            cached = self._compiled.get(source)
            if cached is None:
                cached = super().from_string(source)
                if len(self._compiled) < 64:
                    self._compiled[source] = cached
            return cached
        return super().from_string(source, globals, template_class)


#: Filters that turn what they are given into text: ``none`` given to one prints as None.
_TO_TEXT = frozenset(
    {
        "join", "format", "string", "pprint", "tojson", "lower", "upper", "title",
        "capitalize", "trim", "replace", "center", "indent", "truncate", "wordwrap",
        "striptags", "urlencode", "e", "escape", "forceescape", "safe", "xmlattr",
    }
)  # fmt: skip


def _refuse_printed_none(env: jinja2.Environment, src: str, name: str) -> None:
    """A ``{{ … }}`` that turns the constant ``none`` into text (``{{ none ~ '' }}``,
    ``{{ (none,)|join }}``) prints the word None past the check of what is printed (which
    sees text): refused when the template is read, as every other template error."""
    for output in env.parse(src).find_all(jinja2.nodes.Output):
        converting = [
            node
            for node in output.find_all((jinja2.nodes.Concat, jinja2.nodes.Filter))
            if not isinstance(node, jinja2.nodes.Filter) or node.name in _TO_TEXT
        ]
        for node in converting:
            for const in node.find_all(jinja2.nodes.Const):
                if const.value is None:
                    text = re.sub(r"<[^>]+>", "", src.splitlines()[const.lineno - 1]).strip()
                    raise TemplateError(
                        name,
                        "an expression turns the constant none into text, which prints as "
                        f"the word None (in {text[:120]!r}): every blank must print a value",
                    )


def _string(value: Any) -> str:
    """The ``string`` filter, refusing ``None`` (which would print as the word None)."""
    if value is None:
        raise NoValueError(value)
    return soft_str(value)


def make_environment() -> SandboxedEnvironment:
    """The one Jinja environment every template is rendered in."""
    return _Environment()


# --- contexts ------------------------------------------------------------------------------


def plan_context(plan: Plan) -> dict[str, Any]:
    """Company and plan values, shared by every document of a batch."""
    state = plan.company.state
    return {
        "company": {
            "name": plan.company.name,
            "state": state,
            "a_state": f"{indefinite_article(state)} {state}",
        },
        "officer": {"name": plan.company.officer.name, "title": plan.company.officer.title},
        "plan": {
            "id": plan.id,
            "name": plan.name,
            "short_name": plan.short_name,
            **plan_wording(plan),
        },
    }


def grant_context(record: GrantRecord, plan: Plan) -> dict[str, Any]:
    """The values one agreement's blanks are filled with: each prints as the form writes it
    and is also a value to compute with (see :mod:`.fields`)."""
    from .fields import final_exercise_date
    from .vesting import VestingError

    lines = list(record.address)
    lines += [ADDRESS_BLANK] * max(0, ADDRESS_LINES - len(lines))
    # an award other than an option has no term, and (at no cost) no price: a template
    # that prints them for it fails, naming the field, rather than print a made-up one
    option = plan.is_option(record.award_type)
    final = final_exercise_date(record, plan) if option else None
    try:
        vesting = vesting_fields(record, plan, final)
    except VestingError:  # refused by the rules: never rendered but in a check
        vesting = {"vesting": [], "vesting_start": Day(record.grant_date)}
    priced = {"exercise_price": Money(record.exercise_price)} if record.exercise_price else {}
    return {
        **plan_context(plan),
        "grant_id": record.grant_id,
        "participant": record.participant,
        "grant_date": Day(record.grant_date),
        "shares": Count(record.shares),
        **priced,
        "address_lines": lines,
        "award_type": record.award_type,
        **vesting,
        **{name: value for name, value in record.extra if name in plan.extra_columns},
    }


# --- templates -----------------------------------------------------------------------------


def _load(path: Path) -> bytes:
    """A template's bytes, refused when it is not a sound .docx (zip bomb, XML entities)."""
    from .errors import InputError
    from .sheets import check_archive

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        check_archive(path, data, what="Word template")
    except InputError as exc:
        raise TemplateError(path.name, exc.message) from None
    return data


def _preserve_spaces(docx: bytes) -> bytes:
    """Mark every text run ``xml:space="preserve"`` so a value's spaces survive as written."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("word/") and info.filename.endswith(".xml"):
                data = re.sub(rb"<w:t>", b'<w:t xml:space="preserve">', data)
            dst.writestr(info, data)
    return out.getvalue()


@dataclass(frozen=True)
class Rendered:
    """One rendered document: its DOCX bytes, and the parts a batch conversion reuses."""

    docx: bytes
    """The complete DOCX file."""
    body: str
    """The rendered ``<w:body>`` element, as XML text."""
    parts: dict[str, bytes]
    """Rendered header, footer and footnote parts, by zip member name."""
    styles: bytes | None = None
    """The style table (``word/styles.xml``), as the template has it: what else hides text
    (see :mod:`.hidden`). None: the template has none."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """The values it was rendered with (its approved form is filled with the same)."""
    properties: Mapping[str, str] = field(default_factory=dict)
    """Its document properties (title, subject, …), as the PDF packet carries them too."""


_HEADER_TYPES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer",
)
_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


class _Prepared:
    """A template taken apart once: every zip member, and a compiled Jinja template for the
    body and for each header, footer and footnotes part (docxtpl's tag clean-up applied)."""

    def __init__(self, name: str, docx: bytes, env: SandboxedEnvironment) -> None:
        self.name = name
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            self.files = word_native({info.filename: z.read(info) for info in z.infolist()})
        self.packed: dict[str, Deflated] = {}  # members compressed once, on first use
        self.helper = DocxTemplate(io.BytesIO(docx))
        self.helper.init_docx()
        document = self.files["word/document.xml"].decode("utf-8")
        start, end = document.find("<w:body"), document.rfind("</w:body>")
        if start < 0 or end < 0:
            raise TemplateError(name, "has no document body")
        self.head, self.tail = document[:start], document[end + len("</w:body>") :]
        self.env = env
        self.sources: dict[jinja2.Template, str] = {}  # each compiled part's Jinja source
        body = self.helper.get_xml()
        self.column_loops = "{%tc" in self.helper.patch_xml(body)
        self.body = self._compile(body)
        self.parts: dict[str, jinja2.Template] = {}
        package = self.helper.docx.part.package
        for part in package.parts:
            is_header = any(
                rel.reltype in _HEADER_TYPES and not rel.is_external and rel.target_part is part
                for rel in self.helper.docx.part.rels.values()
            )
            if is_header or part.content_type == _FOOTNOTES:
                member = str(part.partname).lstrip("/")
                xml = self.files[member].decode("utf-8")
                xml = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml)
                self.parts[member] = self._compile(xml)

    def _compile(self, xml: str) -> jinja2.Template:
        src = self.helper.patch_xml(xml)
        src = re.sub(r"<w:p([ >])", r"\n<w:p\1", src)
        try:
            compiled = self.env.from_string(src)
            self.sources[compiled] = src
            if "none" in src.lower():  # (a cheap test first: the literal is rare)
                _refuse_printed_none(self.env, src, self.name)
            return compiled
        except jinja2.TemplateSyntaxError as exc:
            unclosed = _unclosed_block(self.env, src) if "end of template" in str(exc) else None
            if unclosed is not None:  # Jinja can only say where the template ended
                tag, end, near = unclosed
                raise TemplateError(
                    self.name,
                    f"syntax error: {tag} is not closed: no {{% {end} %}} follows it (in {near!r})",
                ) from exc
            lines = src.splitlines()
            lo = max((exc.lineno or 1) - 3, 0)
            near = " ".join(re.sub(r"<[^>]+>", "", ln).strip() for ln in lines[lo : lo + 5])
            raise TemplateError(
                self.name, f"syntax error: {exc.message} near {near.strip()[:160]!r}"
            ) from exc

    def run(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        """Render one compiled part, in bounded time and size; an expression that prints no
        text is located."""
        try:
            with _time_limit(self.name):
                text = template.render(context)
            if len(text) > MAX_RENDERED:
                raise TemplateError(
                    self.name,
                    f"renders to {len(text):,} characters, more than the {MAX_RENDERED:,} a "
                    "document may have (a loop over too much?)",
                )
            if (
                len(text) > MAX_TEXT_NODE
                and (longest := max(map(len, re.split(r"<[^>]*>", text)))) > MAX_TEXT_NODE
            ):  # (only a part this long can hold one: rarely looked at)
                raise TemplateError(
                    self.name,
                    f"renders {longest:,} characters of text in one piece, more than the "
                    f"{MAX_TEXT_NODE:,} a Word document's XML may hold there (a loop over too "
                    "much?)",
                )
            return text
        except NoValueError as exc:
            text = _line_text(self.sources.get(template, ""), _template_line(exc))
            exc.expression = _culprit(self.env, text, context)
            at = text.find(exc.expression) if exc.expression else text.find("{{")
            start = max(at - 40, 0) if len(text) > 120 else 0
            if start:  # from the start of a word
                start = text.find(" ", start) + 1 or start
            exc.near = text[start : start + 120].strip()
            raise

    def finish(self, xml: str) -> str:
        """docxtpl's clean-up after Jinja: paragraphs rejoined, escaped braces restored."""
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        for escaped, brace in (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}")):
            xml = xml.replace(escaped, brace)
        if not any(c in xml for c in "\n\t\a\f"):
            return xml  # nothing for docxtpl's line-break/tab/page-break handling to do
        return str(self.helper.resolve_listing(xml))


class DocumentTemplate:
    """A Word template loaded and compiled once, rendered many times."""

    def __init__(self, name: str, docx: bytes, env: SandboxedEnvironment | None = None) -> None:
        self.name = name
        self._env = env or make_environment()
        with self._unsound():
            self._docx = _preserve_spaces(docx)
            self._prepared: dict[bool, _Prepared] = {False: self._prepare(self._docx)}

    def _prepare(self, docx: bytes) -> _Prepared:
        return _Prepared(self.name, docx, self._env)

    @contextlib.contextmanager
    def _unsound(self) -> Iterator[None]:
        """A template whose zip or XML is broken (a member missing, a truncated part) is
        named, not reported as an unexpected error."""
        try:
            yield
        except (TemplateError, jinja2.TemplateError):
            raise
        except Exception as exc:
            raise TemplateError(
                self.name, f"is not a sound Word document ({type(exc).__name__}: {exc})"
            ) from exc

    def prepared(self, draft: bool = False) -> _Prepared:
        """The template taken apart (with the DRAFT mark in its headers for ``draft``)."""
        if draft not in self._prepared:
            with self._unsound():
                document = Document(io.BytesIO(self._docx))
                _mark_draft(document)
                buf = io.BytesIO()
                document.save(buf)
                self._prepared[draft] = self._prepare(_preserve_spaces(buf.getvalue()))
        return self._prepared[draft]

    @classmethod
    def from_file(
        cls, path: Path, env: SandboxedEnvironment | None = None, *, keep: Sequence[str] = ()
    ) -> DocumentTemplate:
        """``keep``: signature bookmarks whose lines are kept on a page with their block
        (:func:`keep_signature_blocks`)."""
        data = _load(path)
        if keep:
            try:
                document = Document(io.BytesIO(data))
            except Exception as exc:
                raise TemplateError(path.name, f"is not a sound Word document ({exc})") from exc
            if keep_signature_blocks(document, keep):
                buf = io.BytesIO()
                document.save(buf)
                data = buf.getvalue()
        return cls(path.name, data, env)

    @classmethod
    def joined(
        cls,
        first: Path,
        then: Path,
        env: SandboxedEnvironment | None = None,
        *,
        mark: str | None = None,
        keep: Sequence[str] = (),
    ) -> DocumentTemplate:
        """``first`` followed by ``then`` as one template (the agreement, then acceptance);
        ``mark``: a bookmark of that name where ``then`` starts."""
        try:
            base = Document(io.BytesIO(_load(first)))
            appended = Document(io.BytesIO(_load(then)))
            keep_signature_blocks(base, keep)
            keep_signature_blocks(appended, keep)
            if mark is not None:
                _bookmark_start(appended, mark)
            Composer(base).append(appended)
        except TemplateError:
            raise
        except Exception as exc:
            raise TemplateError(f"{first.name} + {then.name}", f"cannot be joined: {exc}") from exc
        buf = io.BytesIO()
        base.save(buf)
        return cls(f"{first.name} + {then.name}", buf.getvalue(), env)

    def render(
        self,
        context: Mapping[str, Any],
        properties: Mapping[str, str],
        *,
        draft: bool = False,
        body_filter: Callable[[str], str] | None = None,
    ) -> bytes:
        """Render to DOCX bytes; ``properties`` set the core properties (title, subject, ...).

        ``draft`` puts a DRAFT mark at the top of every page (in each section's header).
        ``body_filter`` rewrites the rendered body's XML before it is packed."""
        return self.render_parts(context, properties, draft=draft, body_filter=body_filter).docx

    def render_parts(
        self,
        context: Mapping[str, Any],
        properties: Mapping[str, str],
        *,
        draft: bool = False,
        body_filter: Callable[[str], str] | None = None,
    ) -> Rendered:
        """Render, returning the DOCX and the rendered parts (see :class:`Rendered`)."""
        prep = self.prepared(draft)
        ctx = dict(context)
        try:
            body = self._body(prep, prep.finish(prep.run(prep.body, ctx)))
            if body_filter is not None:
                body = body_filter(body)
            parts = {
                member: prep.finish(prep.run(tpl, ctx)).encode("utf-8")
                for member, tpl in prep.parts.items()
            }
        except jinja2.UndefinedError as exc:
            field = _undefined_name(str(exc.message or exc))
            raise TemplateError(
                self.name, f"names the field {field!r}, which has no value", field=field
            ) from exc
        except NoValueError as exc:
            what = exc.expression or "an expression"
            near = f" (in {exc.near!r})" if exc.near else ""
            raise TemplateError(
                self.name,
                f"{what} {exc.describe()}{near}: every {{{{ … }}}} must give the text of a blank",
            ) from exc
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(self.name, f"tried an unsafe operation: {exc}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(self.name, str(exc)) from exc
        except TemplateError:
            raise
        except Exception as exc:
            # e.g. {% include %} (templates have no loader: no file can be read), {{ 1/0 }}
            raise TemplateError(
                self.name, f"cannot be rendered ({type(exc).__name__}: {exc})"
            ) from exc
        for member, xml in parts.items():
            _well_formed(self.name, member, xml)
        changed: dict[str, bytes] = {
            "word/document.xml": (prep.head + body + prep.tail).encode("utf-8"),
            "docProps/core.xml": core_properties(properties),
        }
        for member, xml in parts.items():
            changed[member] = XML_DECLARATION + xml
        files: dict[str, bytes | Deflated] = {}
        for member, data in prep.files.items():
            if member in changed:
                files[member] = changed[member]
            else:
                if member not in prep.packed:
                    prep.packed[member] = deflate(data)
                files[member] = prep.packed[member]
        return Rendered(
            zip_files(files), body, parts, prep.files.get("word/styles.xml"), ctx, properties
        )

    def _body(self, prep: _Prepared, xml: str) -> str:
        _well_formed(self.name, "word/document.xml", xml.encode("utf-8"))
        if not prep.column_loops and "docPr" not in xml:
            return xml  # no {%tc %} column loops to widen tables for, no drawing ids to renumber
        tree = prep.helper.fix_tables(xml)
        prep.helper.docx_ids_index = 1000
        prep.helper.fix_docpr_ids(tree)
        return str(etree.tostring(tree, encoding="unicode"))


#: Paragraphs before a signature line kept on its page (its block: the company's name, a
#: "By:" label or a heading).
KEEP_BEFORE = 2


def keep_signature_blocks(document: Any, names: Sequence[str]) -> bool:
    """Keep each signature line (a paragraph holding a bookmark ``names`` lists) on one page
    with its block: "keep with next" on the :data:`KEEP_BEFORE` paragraphs before it and on
    itself (so the name and title lines under it follow too); a table row holding it is not
    split across pages, and kept with the row and paragraphs before it. Returns whether any
    line was found."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def keep_next(paragraph: Any) -> None:
        ppr = paragraph.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            paragraph.insert(0, ppr)
        if ppr.find(qn("w:keepNext")) is None:
            element = OxmlElement("w:keepNext")
            # w:keepNext comes after w:pStyle in the schema's order
            style = ppr.find(qn("w:pStyle"))
            ppr.insert(1 if style is not None else 0, element)

    body = document.element.body
    found = False
    for start in body.iter(qn("w:bookmarkStart")):
        if start.get(qn("w:name")) not in names:
            continue
        paragraph = next((a for a in start.iterancestors(qn("w:p"))), None)
        if paragraph is None:
            continue
        found = True
        container = paragraph.getparent()
        siblings = [c for c in container if c.tag == qn("w:p")]
        at = siblings.index(paragraph)
        for before in siblings[max(0, at - KEEP_BEFORE) : at + 1]:
            keep_next(before)
        if container.tag == qn("w:tc"):
            row = container.getparent()
            trpr = row.find(qn("w:trPr"))
            if trpr is None:
                trpr = OxmlElement("w:trPr")
                row.insert(1 if len(row) and row[0].tag == qn("w:tblPrEx") else 0, trpr)
            if trpr.find(qn("w:cantSplit")) is None:
                trpr.append(OxmlElement("w:cantSplit"))
            table = row.getparent()
            rows = [r for r in table if r.tag == qn("w:tr")]
            previous = rows[rows.index(row) - 1] if rows.index(row) else None
            if previous is not None:
                for p in previous.iter(qn("w:p")):
                    keep_next(p)
            else:  # the paragraphs just before the table
                before = [c for c in table.itersiblings(preceding=True)][:2]
                for p in before:
                    if p.tag == qn("w:p"):
                        keep_next(p)
    return found


@contextlib.contextmanager
def _time_limit(name: str) -> Iterator[None]:
    """Stop a render that takes longer than :data:`RENDER_SECONDS` (or
    ``$GRANTGEN_RENDER_SECONDS``) with an error naming the template. Only in the main thread
    (a timer signal); elsewhere the render is not bounded in time."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        seconds = float(os.environ.get("GRANTGEN_RENDER_SECONDS") or RENDER_SECONDS)
    except ValueError:
        seconds = RENDER_SECONDS

    def stop(signum: int, frame: Any) -> None:
        raise TemplateError(
            name,
            f"took more than {seconds:g} s to render: a loop too long, or arithmetic too "
            "large, in the template?",
        )

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _bookmark_start(document: Any, name: str) -> None:
    """An empty bookmark ``name`` at the start of a document's first paragraph, which starts
    a new page (a paragraph is put first when the document starts with a table)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    body = document.element.body
    first = body[0] if len(body) else None
    if first is None or first.tag != qn("w:p"):
        first = OxmlElement("w:p")
        body.insert(0, first)
    ppr = first.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        first.insert(0, ppr)
    if ppr.find(qn("w:pageBreakBefore")) is None:
        after = [qn(t) for t in ("w:pStyle", "w:keepNext", "w:keepLines")]
        at = sum(1 for child in ppr if child.tag in after)
        ppr.insert(at, OxmlElement("w:pageBreakBefore"))
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), "990000")
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), "990000")
    at = 1 if len(first) and first[0].tag == qn("w:pPr") else 0
    first.insert(at, end)
    first.insert(at, start)


def _well_formed(template: str, member: str, xml: bytes) -> None:
    """Refuse a rendering that is not well-formed XML (namespaces checked too). Expat reads it
    without building a tree: a 10,000-row Exhibit A is checked in constant memory."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise TemplateError(
            template, f"rendering {member} gave malformed Word XML ({exc}); check its tags"
        ) from exc


def _mark_draft(document: Any) -> None:
    """Put the DRAFT mark first in every header a page can show, so it is on every page: the
    default header, and the first-page and even-page headers where the template uses them
    (Word's "Different first page" and "Different odd and even pages")."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    even_pages = document.settings.odd_and_even_pages_header_footer
    defined: set[str] = set()  # header kinds an earlier section defines (later ones inherit)
    for section in document.sections:
        kinds = [("default", section.header)]
        if section.different_first_page_header_footer:
            kinds.append(("first", section.first_page_header))
        if even_pages:
            kinds.append(("even", section.even_page_header))
        for kind, header in kinds:
            if header.is_linked_to_previous and kind in defined:
                continue  # shows the earlier section's header, marked already
            defined.add(kind)
            header.is_linked_to_previous = False
            first = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
            mark = first.insert_paragraph_before()
            mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = mark.add_run(DRAFT_MARK)
            run.bold = True
            run.font.size = Pt(14)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


#: Block tags that take an end tag (``set`` only without ``=``: a block assignment).
_PAIRED = frozenset({"if", "for", "macro", "call", "filter", "with", "autoescape", "block", "set"})


def _unclosed_block(env: SandboxedEnvironment, source: str) -> tuple[str, str, str] | None:
    """The innermost block tag left open at the end of ``source``: the tag as written, the
    end tag it needs, and the text of its paragraph from the tag on."""
    try:
        tokens = [t for t in env.lex(source) if t[1] != "whitespace"]
    except jinja2.TemplateSyntaxError:
        return None
    stack: list[tuple[str, list[str], int]] = []  # (tag name, the tag's tokens, line)
    i = 0
    while i < len(tokens):
        line, kind, _ = tokens[i]
        if kind == "block_begin":
            j = i + 1
            while j < len(tokens) and tokens[j][1] != "block_end":
                j += 1
            inner = tokens[i + 1 : j]
            name = inner[0][2] if inner and inner[0][1] == "name" else ""
            assigns = name == "set" and any(k == "operator" and v == "=" for _, k, v in inner)
            if name in _PAIRED and not assigns:
                stack.append((name, [v for _, _, v in inner], line))
            elif name.startswith("end") and stack and stack[-1][0] == name[3:]:
                stack.pop()
            i = j
        i += 1
    if not stack:
        return None
    name, words, line = stack[-1]
    lines = source.splitlines()
    text = " ".join(re.sub(r"<[^>]+>", "", ln).strip() for ln in lines[line - 1 : line + 2])
    pattern = r"\{%-?\s*" + r"\s*".join(map(re.escape, words)) + r"\s*-?%\}"
    found = list(re.finditer(pattern, text))
    start = found[-1].start() if found else 0
    return "{% " + " ".join(words) + " %}", f"end{name}", text[start : start + 120].strip()


def _template_line(exc: BaseException) -> int | None:
    """The line of the Jinja source an error was raised on (Jinja puts a frame for it into
    the traceback)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _line_text(source: str, line: int | None) -> str:
    """The text (XML tags removed) of a line of a part's Jinja source: one paragraph."""
    lines = source.splitlines()
    if line is None or not 0 < line <= len(lines):
        return ""
    return re.sub(r"<[^>]+>", "", lines[line - 1]).strip()


def _culprit(env: SandboxedEnvironment, text: str, context: dict[str, Any]) -> str:
    """Which ``{{ … }}`` of a paragraph prints no text (tried one by one; one that needs a
    loop's variable cannot be tried alone and is passed over)."""
    for found in re.finditer(r"\{\{.*?\}\}", text):
        try:
            env.from_string(found.group()).render(context)
        except NoValueError:
            return found.group()
        except Exception:  # a loop's variable, say: this one cannot be tried alone
            continue
    return ""


def _undefined_name(message: str) -> str:
    m = re.search(r"'([^']+)' is undefined", message) or re.search(
        r"has no attribute '([^']+)'", message
    )
    return m.group(1) if m else message


def plan_pdf(plan: Plan) -> Path | None:
    """The plan file's ``document`` when it is a PDF (furnished as it is, not rendered)."""
    doc = plan.document
    return doc if doc is not None and doc.suffix.lower() == ".pdf" else None


def _identifier(docx: Path) -> str | None:
    """A template's ``identifier`` core property (plan.docx: the id of the plan it is)."""
    return _core_text(docx, "identifier") or None


def _core_text(docx: Path, tag: str) -> str:
    """A template's core document property (``title``, ``subject``), as Word stores it."""
    try:
        with zipfile.ZipFile(docx) as package:
            core = package.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
    found = re.search(rf"<dc:{tag}>([^<]*)</dc:{tag}>", core)
    return html.unescape(found.group(1)).strip() if found else ""


@dataclass
class FormTemplate:
    """One kind of award's document, ready to render: its form (from the kit), the template
    (with its acceptance page joined after it), and the title and subject its PDF and DOCX
    carry, from the template's own document properties (File > Properties in Word), whose
    ``{{ … }}`` fields are filled like the document's."""

    form: Form
    document: DocumentTemplate
    title: jinja2.Template | None
    subject: jinja2.Template | None

    def properties(
        self, context: Mapping[str, Any], record: GrantRecord, plan: Plan
    ) -> dict[str, str]:
        """Title and subject filled for one grant (the form's name and the participant, and
        the plan, when the template gives none)."""
        title = self.title.render(context) if self.title else ""
        subject = self.subject.render(context) if self.subject else ""
        return {
            "title": title or f"{self.form.name}: {record.participant}",
            "subject": subject or f"{self.form.name} under the {plan.name}",
        }


def _properties_template(env: SandboxedEnvironment, name: str, text: str) -> jinja2.Template | None:
    if not text:
        return None
    try:
        # (the title is text, not XML: no escaping)
        return env.from_string("{% autoescape false %}" + text + "{% endautoescape %}")
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(name, f"its document title or subject: {exc.message}") from exc


class TemplateSet:
    """The templates of one batch: each kind of award's document (per grant) and the Plan
    (once). ``directory``: a folder standing in for the kit's templates (``--templates``);
    ``plan``: whose kit (the bundled example's when None)."""

    def __init__(self, directory: Path | None = None, plan: Plan | None = None) -> None:
        from .kit import ACCEPTANCE_MARK, resolve_kit

        env = make_environment()
        self.kit = resolve_kit(plan or bundled_plan(), directory)
        self.forms: dict[str, FormTemplate] = {}
        for kind, form in self.kit.forms.items():
            keep = self.kit.signatures
            if form.acceptance is not None:
                document = DocumentTemplate.joined(
                    form.template, form.acceptance, env, mark=ACCEPTANCE_MARK, keep=keep
                )
            else:
                document = DocumentTemplate.from_file(form.template, env, keep=keep)
            self.forms[kind] = FormTemplate(
                form,
                document,
                _properties_template(env, form.template.name, _core_text(form.template, "title")),
                _properties_template(env, form.template.name, _core_text(form.template, "subject")),
            )
        plan_docx = self.kit.plan_docx
        self.plan = (
            DocumentTemplate.from_file(plan_docx, env)
            if plan_docx is not None and (plan_docx.is_file() or plan is None)
            else None
        )
        self.plan_for = _identifier(plan_docx) if plan_docx is not None else None

    @property
    def agreement(self) -> DocumentTemplate:
        """The option's document (the first form when the kit has no option form)."""
        return self.form_for("option").document

    def form_for(self, award_type: str) -> FormTemplate:
        found = self.forms.get(award_type) or next(iter(self.forms.values()), None)
        if found is None:
            raise TemplateError(self.kit.plan.source, "the kit has no form ([forms.*])")
        return found

    def render_grant(self, record: GrantRecord, plan: Plan, *, draft: bool = False) -> bytes:
        return self.render_grant_parts(record, plan, draft=draft).docx

    def render_grant_parts(
        self, record: GrantRecord, plan: Plan, *, draft: bool = False
    ) -> Rendered:
        form = self.form_for(record.award_type)
        context = grant_context(record, plan)
        return form.document.render_parts(
            context,
            {
                **form.properties(context, record, plan),
                "author": plan.company.name,
                "keywords": f"grant_id={record.grant_id}",
                "identifier": record.grant_id,
                "created": record.grant_date.isoformat(),
            },
            draft=draft,
        )

    def render_plan(self, plan: Plan, *, draft: bool = False) -> bytes:
        """The copy of the Plan furnished with each agreement: the plan file's ``document``
        (a .docx), else the templates' plan.docx, which must be this plan's text."""
        template = self.plan
        if template is None and plan.document is None:
            raise TemplateError(
                "plan.docx",
                f"is missing: the plan file {plan.source} names no Plan document to furnish "
                "with each grant; name it with document = ... under [plan]",
            )
        if plan.document is not None:
            if plan_pdf(plan) is not None:
                raise TemplateError(plan.document.name, "is a PDF: it is furnished as it is")
            says = _identifier(plan.document)
            if says and says != plan.id:
                raise TemplateError(
                    plan.document.name,
                    f"the Plan document is the text of plan {says!r} (its identifier "
                    f"document property), not of {plan.id!r} ({plan.source}): put your Plan's "
                    f"own text there, with its identifier property (File > Properties) set to "
                    f"{plan.id!r} or left empty",
                )
            template = DocumentTemplate.from_file(plan.document, _Environment(literal=True))
        elif template is None:
            raise TemplateError("plan.docx", "is missing")
        elif self.plan_for != plan.id and (self.plan_for or plan.id != bundled_plan().id):
            whose = f"the text of plan {self.plan_for!r}" if self.plan_for else "no plan's text"
            raise TemplateError(
                "plan.docx",
                f"is {whose}, not that of plan {plan.id!r} ({plan.source}; its identifier document "
                "property names the plan it is); every agreement says a copy of its Plan is "
                "furnished with it: name this plan's own text (.docx or .pdf) with "
                "document = ... under [plan] in the plan file, or use templates whose "
                "plan.docx is it",
            )
        return template.render(
            plan_context(plan),
            {
                "title": plan.name,
                "author": plan.company.name,
                "subject": plan.name,
                "keywords": plan.id,
                "comments": "",
                "created": plan.effective_date.isoformat(),
            },
            draft=draft,
        )
