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
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from docx import Document
from docxcompose.composer import Composer
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from generator.core.errors import TemplateError
from generator.rendering.contexts import grant_context as grant_context
from generator.rendering.contexts import plan_context as plan_context
from generator.rendering.docxedit import (
    _bookmark_start,
    _mark_draft,
    _well_formed,
    keep_signature_blocks,
)
from generator.rendering.jinjaenv import (
    MAX_RENDERED,
    MAX_TEXT_NODE,
    NoValueError,
    _culprit,
    _line_text,
    _refuse_printed_none,
    _template_line,
    _time_limit,
    _unclosed_block,
    _undefined_name,
    make_environment,
)
from generator.rendering.package import (
    XML_DECLARATION,
    Deflated,
    core_properties,
    deflate,
    word_native,
    zip_files,
)

#: Timestamp written into every DOCX (zip entries, core properties): output depends on input only.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# --- templates -----------------------------------------------------------------------------


def _load(path: Path) -> bytes:
    """A template's bytes, refused when it is not a sound .docx (zip bomb, XML entities)."""
    from generator.core.errors import InputError
    from generator.reading.sheets import check_archive

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


class Prepared:
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

    def pack(self, body: str, parts: Mapping[str, bytes], properties: Mapping[str, str]) -> bytes:
        """The DOCX of a rendering: its ``<w:body>`` and header, footer and footnote
        ``parts``, the core ``properties``, and every other member as the template has it
        (each compressed once, on first use)."""
        changed: dict[str, bytes] = {
            "word/document.xml": (self.head + body + self.tail).encode("utf-8"),
            "docProps/core.xml": core_properties(properties),
        }
        for member, xml in parts.items():
            changed[member] = XML_DECLARATION + xml
        files: dict[str, bytes | Deflated] = {}
        for member, data in self.files.items():
            if member in changed:
                files[member] = changed[member]
            else:
                if member not in self.packed:
                    self.packed[member] = deflate(data)
                files[member] = self.packed[member]
        return zip_files(files)

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
            self._prepared: dict[bool, Prepared] = {False: self._prepare(self._docx)}

    def _prepare(self, docx: bytes) -> Prepared:
        return Prepared(self.name, docx, self._env)

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

    def prepared(self, draft: bool = False) -> Prepared:
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
        with self._rendering():
            body = self._body(prep, prep.finish(prep.run(prep.body, ctx)))
            if body_filter is not None:
                body = body_filter(body)
            parts = {
                member: prep.finish(prep.run(tpl, ctx)).encode("utf-8")
                for member, tpl in prep.parts.items()
            }
        for member, xml in parts.items():
            _well_formed(self.name, member, xml)
        return Rendered(
            prep.pack(body, parts, properties),
            body,
            parts,
            prep.files.get("word/styles.xml"),
            ctx,
            properties,
        )

    @contextlib.contextmanager
    def _rendering(self) -> Iterator[None]:
        """An error while rendering is a :class:`TemplateError` naming the template and
        saying what went wrong: a field without a value, an expression that prints no text,
        an unsafe operation, or anything else."""
        try:
            yield
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

    def _body(self, prep: Prepared, xml: str) -> str:
        _well_formed(self.name, "word/document.xml", xml.encode("utf-8"))
        if not prep.column_loops and "docPr" not in xml:
            return xml  # no {%tc %} column loops to widen tables for, no drawing ids to renumber
        tree = prep.helper.fix_tables(xml)
        prep.helper.docx_ids_index = 1000
        prep.helper.fix_docpr_ids(tree)
        return str(etree.tostring(tree, encoding="unicode"))
