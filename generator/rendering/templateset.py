"""A kit's templates, read once a batch: each form's document (and acceptance page), the Plan
document, the titles and subjects the kit's document properties give."""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from generator.core.errors import TemplateError
from generator.reading.grantrecord import GrantRecord
from generator.rendering.jinjaenv import (
    _Environment,
    make_environment,
)
from generator.rendering.render import DocumentTemplate, Rendered, grant_context, plan_context
from generator.terms.kit import Form
from generator.terms.plan import bundled_plan
from generator.terms.planmodel import Plan


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
        from generator.terms.kit import ACCEPTANCE_MARK, resolve_kit

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
