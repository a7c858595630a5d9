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

import io
import re
import zipfile
from collections.abc import Mapping, MutableMapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from docx import Document
from docxcompose.composer import Composer
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

from .errors import TemplateError
from .plan import Plan
from .records import GrantRecord

#: Blank lines drawn on the acceptance page where no address line is given (as in the form).
ADDRESS_BLANK = "_" * 24
ADDRESS_LINES = 4
#: Timestamp written into every DOCX (zip entries, core properties): output depends on input only.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# --- formatting of the blanks --------------------------------------------------------------


def format_date(value: date) -> str:
    """``May 16, 2005``."""
    return f"{value:%B} {value.day}, {value.year}"


def format_shares(value: int) -> str:
    """``15,000``."""
    return f"{value:,}"


def format_price(value: Decimal) -> str:
    """``$3.25``: at least two decimals, and every significant digit the input had."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(2, -exponent)
    return f"${value:,.{places}f}"


# --- the Jinja environment -----------------------------------------------------------------


class _Environment(SandboxedEnvironment):
    """Sandboxed, strict, autoescaping; caches compiled templates by source text."""

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=True)
        self._compiled: dict[str, jinja2.Template] = {}
        self.filters.update(longdate=format_date, money=format_price, number=format_shares)

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


def make_environment() -> SandboxedEnvironment:
    """The one Jinja environment every template is rendered in."""
    return _Environment()


# --- contexts ------------------------------------------------------------------------------


def plan_context(plan: Plan) -> dict[str, Any]:
    """Company and plan values, shared by every document of a batch."""
    return {
        "company": {"name": plan.company.name, "state": plan.company.state},
        "officer": {"name": plan.company.officer.name, "title": plan.company.officer.title},
        "plan": {"id": plan.id, "name": plan.name, "short_name": plan.short_name},
    }


def grant_context(record: GrantRecord, plan: Plan) -> dict[str, Any]:
    """The values one agreement's blanks are filled with, formatted as the form writes them."""
    lines = list(record.address)
    lines += [ADDRESS_BLANK] * max(0, ADDRESS_LINES - len(lines))
    return {
        **plan_context(plan),
        "grant_id": record.grant_id,
        "participant": record.participant,
        "grant_date": format_date(record.grant_date),
        "shares": format_shares(record.shares),
        "exercise_price": format_price(record.exercise_price),
        "address_lines": lines,
        "award_type": record.award_type,
    }


# --- templates -----------------------------------------------------------------------------


def _load(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemplateError(str(path), f"cannot be read: {exc.strerror}") from None


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


def normalise_docx(docx: bytes) -> bytes:
    """Rewrite a DOCX with fixed zip timestamps, so the same input gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


class DocumentTemplate:
    """A Word template loaded once and rendered many times."""

    def __init__(self, name: str, docx: bytes, env: SandboxedEnvironment | None = None) -> None:
        self.name = name
        self._docx = _preserve_spaces(docx)
        self._draft: bytes | None = None
        self._env = env or make_environment()

    def _draft_source(self) -> bytes:
        """The template with the DRAFT mark in its headers (made once)."""
        if self._draft is None:
            document = Document(io.BytesIO(self._docx))
            _mark_draft(document)
            buf = io.BytesIO()
            document.save(buf)
            self._draft = buf.getvalue()
        return self._draft

    @classmethod
    def from_file(cls, path: Path, env: SandboxedEnvironment | None = None) -> DocumentTemplate:
        return cls(path.name, _load(path), env)

    @classmethod
    def joined(
        cls, first: Path, then: Path, env: SandboxedEnvironment | None = None
    ) -> DocumentTemplate:
        """``first`` followed by ``then`` as one template (the agreement, then acceptance)."""
        try:
            base = Document(io.BytesIO(_load(first)))
            Composer(base).append(Document(io.BytesIO(_load(then))))
        except TemplateError:
            raise
        except Exception as exc:
            raise TemplateError(f"{first.name} + {then.name}", f"cannot be joined: {exc}") from exc
        buf = io.BytesIO()
        base.save(buf)
        return cls(f"{first.name} + {then.name}", buf.getvalue(), env)

    def render(
        self, context: Mapping[str, Any], properties: Mapping[str, str], *, draft: bool = False
    ) -> bytes:
        """Render to DOCX bytes; ``properties`` set the core properties (title, subject, ...).

        ``draft`` puts a DRAFT mark at the top of every page (in each section's header)."""
        tpl = DocxTemplate(io.BytesIO(self._draft_source() if draft else self._docx))
        try:
            tpl.render(dict(context), self._env, autoescape=True)
        except jinja2.UndefinedError as exc:
            field = _undefined_name(str(exc.message or exc))
            raise TemplateError(
                self.name, f"names the field {field!r}, which has no value", field=field
            ) from exc
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(self.name, f"tried an unsafe operation: {exc}") from exc
        except jinja2.TemplateSyntaxError as exc:
            near = " ".join(s.strip() for s in getattr(exc, "docx_context", []) if s.strip())
            raise TemplateError(self.name, f"syntax error: {exc.message} near {near!r}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(self.name, str(exc)) from exc
        props = tpl.docx.core_properties
        for key, value in properties.items():
            setattr(props, key, value)
        stamp = datetime(*FIXED_ZIP_TIME)
        props.created = stamp
        props.modified = stamp
        props.last_printed = stamp
        props.last_modified_by = "grantgen"
        props.revision = 1
        buf = io.BytesIO()
        tpl.save(buf)
        return normalise_docx(buf.getvalue())


DRAFT_MARK = "DRAFT \u2014 NOT FOR SIGNATURE"


def _mark_draft(document: Any) -> None:
    """Put the DRAFT mark first in every section's header, so it is on every page."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    for section in document.sections:
        for header in (section.header, section.first_page_header, section.even_page_header):
            if header.is_linked_to_previous and header is not section.header:
                continue
            header.is_linked_to_previous = False
            first = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
            mark = first.insert_paragraph_before()
            mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = mark.add_run(DRAFT_MARK)
            run.bold = True
            run.font.size = Pt(14)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def _undefined_name(message: str) -> str:
    m = re.search(r"'([^']+)' is undefined", message) or re.search(
        r"has no attribute '([^']+)'", message
    )
    return m.group(1) if m else message


class TemplateSet:
    """The templates of one batch: agreement + acceptance (per grant), and the Plan (once)."""

    def __init__(self, directory: Path) -> None:
        env = make_environment()
        self.directory = directory
        self.agreement = DocumentTemplate.joined(
            directory / "nso_agreement.docx", directory / "acceptance.docx", env
        )
        self.plan = DocumentTemplate.from_file(directory / "plan.docx", env)

    def render_grant(self, record: GrantRecord, plan: Plan, *, draft: bool = False) -> bytes:
        return self.agreement.render(
            grant_context(record, plan),
            {
                "title": f"Nonstatutory Stock Option Agreement: {record.participant}",
                "author": plan.company.name,
                "subject": f"Option grant under the {plan.name}",
                "keywords": f"grant_id={record.grant_id}",
                "comments": "",
                "identifier": record.grant_id,
            },
            draft=draft,
        )

    def render_plan(self, plan: Plan, *, draft: bool = False) -> bytes:
        return self.plan.render(
            plan_context(plan),
            {
                "title": plan.name,
                "author": plan.company.name,
                "subject": plan.name,
                "keywords": plan.id,
                "comments": "",
            },
            draft=draft,
        )
