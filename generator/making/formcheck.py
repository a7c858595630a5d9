"""What each form's documents are made with: the blanks an agreement fills, the bookmarks and
layout of its packets, and how it is compared with what counsel approved."""

from __future__ import annotations

from collections.abc import Callable

from generator.assembling.assemble import Layout
from generator.assembling.dateline import DATE_FIELD
from generator.checking.fields import format_date, format_price, format_shares
from generator.comparing.approved import ApprovedCheck, ApprovedForm
from generator.comparing.deviations import Deviation, DeviationCheck
from generator.reading.grantrecord import GrantRecord
from generator.rendering.render import Rendered
from generator.rendering.templateset import FormTemplate, TemplateSet
from generator.terms.kit import ACCEPTANCE_MARK
from generator.terms.planmodel import Plan


def blank_values(record: GrantRecord, plan: Plan) -> dict[str, str]:
    """The form's blanks as one agreement fills them, and the company and signing officer
    its signature block shows (what a signature-block line may hold)."""
    values = {
        "participant": record.participant,
        "grant_date": format_date(record.grant_date),
        "shares": format_shares(record.shares),
        "exercise_price": format_price(record.exercise_price),
    }
    values.update({f"address{n}": line for n, line in enumerate(record.address)})
    values["officer_name"] = plan.company.officer.name
    values["officer_title"] = plan.company.officer.title
    values["company"] = plan.company.name
    return values


def bookmark_names(templates: TemplateSet) -> tuple[str, ...]:
    """The bookmarks whose place in the PDF the packet needs: the signature lines, where a
    separate acceptance page starts, and the date line (:mod:`generator.assembling.dateline`)."""
    return (*templates.kit.signatures, ACCEPTANCE_MARK, DATE_FIELD)


def layout_of(form: FormTemplate, templates: TemplateSet) -> Layout:
    """The signature fields and outline entries of a form's packets."""
    entry = form.form
    return Layout(
        signatures=templates.kit.signatures,
        labels=not templates.kit.marked,
        document=entry.outline,
        acceptance=entry.acceptance_outline if entry.acceptance is not None else None,
        acceptance_mark=ACCEPTANCE_MARK,
    )


#: Compares one rendered document with its approved form: its deviations.
FormCheck = Callable[[Rendered, GrantRecord], list[Deviation]]


def form_check(
    form: FormTemplate, plan: Plan, draft: bool, warn: Callable[[str], None]
) -> FormCheck:
    """How a form's documents are compared with what counsel approved: the filed exhibit
    (the bundled example), the kit's approved forms, or (none approved yet) not at all."""
    entry = form.form
    if entry.exhibit is not None:
        exhibit = DeviationCheck(entry.exhibit, plan, draft=draft)
        return lambda doc, record: exhibit.check(
            doc.body,
            blank_values(record, plan),
            record.participant,
            margins=list(doc.parts.values()),
            grant_id=record.grant_id,
            styles=doc.styles,
        )
    if any(path is None for path in entry.approved):
        missing = [
            t.name for t, a in zip(entry.templates, entry.approved, strict=True) if a is None
        ]
        warn(
            f"no approved form for {', '.join(missing)}: its documents were not compared with "
            "what counsel approved (run `grantgen approve` once counsel has signed off)"
        )
        return lambda doc, record: []
    approved = ApprovedCheck(
        [ApprovedForm.load(path) for path in entry.approved if path is not None], draft=draft
    )
    return lambda doc, record: approved.check(
        doc.body,
        doc.context,
        margins=list(doc.parts.values()),
        grant_id=record.grant_id,
        styles=doc.styles,
    )
