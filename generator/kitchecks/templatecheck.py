"""Checking user-edited Word templates before anything is rendered.

Counsel edits the templates in Word, and Word splits text into runs as it likes. A template is
refused, with the file and the text around the problem, when: it is not a sound .docx (a zip
bomb or XML entity declarations included); a tag is not closed within its paragraph (split
across paragraphs, or a brace deleted); the Jinja is not valid (unbalanced ``{% if %}``, an
unknown filter); it names a field grantgen does not supply (checked by rendering it once
with sample values, so ``{{ company.nmae }}`` is caught too); or it prints text the comparison
with the form cannot read (tracked changes, Word fields other than page numbers, words in a
list's number labels).
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import jinja2
from jinja2 import meta
from lxml import etree

from generator.core.errors import InputError, TemplateError
from generator.kitchecks.kitcheck import (
    GRANT_FIELDS,
    TemplateProblem,
    kit_problems,
    unusable_plan_pdf,
)
from generator.reading.grantrecord import GrantRecord
from generator.reading.sheets import check_archive
from generator.reading.values import OPTION_AWARDS
from generator.rendering.render import DocumentTemplate, grant_context
from generator.rendering.templateset import TemplateSet, plan_pdf
from generator.terms.kit import Kit, resolve_kit
from generator.terms.planmodel import Plan
from generator.terms.vesting import add_months

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TEMPLATES = ("nso_agreement.docx", "acceptance.docx", "plan.docx")
#: The templates joined into the one each grant is rendered from (the agreement, then the
#: acceptance page).
JOINED = TEMPLATES[:2]
PLAN_FIELDS = frozenset({"company", "officer", "plan"})
CONSENT = "board_consent.docx"
CONSENT_FIELDS = PLAN_FIELDS | {
    "sections",
    "terms",
    "totals",
    "grants",
    "awards",
    "consent",
    "directors",
}
#: A template file of a kit to check: the name problems give it, its path, the fields it may use.
_KitFile = tuple[str, Path, frozenset[str]]


def _paragraph_texts(root: etree._Element) -> list[str]:
    return ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")]


def _structure(name: str, docx: bytes) -> list[TemplateProblem]:
    """Tags must open and close within one paragraph."""
    import zipfile

    problems = []
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        parts = [
            n
            for n in z.namelist()
            if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes)\.xml", n)
        ]
        for part in parts:
            root = etree.fromstring(z.read(part))
            problems += _printed_unseen(name, root)
            for text in _paragraph_texts(root):
                for open_, close in (("{{", "}}"), ("{%", "%}")):
                    if text.count(open_) != text.count(close):
                        problems.append(
                            TemplateProblem(
                                name,
                                "split or unclosed tag",
                                f"{open_} … {close} does not open and close within one "
                                "paragraph (keep each tag in one piece)",
                                text[:120],
                            )
                        )
                        break
        if "word/numbering.xml" in z.namelist():
            problems += _numbering_text(name, etree.fromstring(z.read("word/numbering.xml")))
        endnotes = "word/endnotes.xml"
        if endnotes in z.namelist() and any(
            t.strip() for t in _paragraph_texts(etree.fromstring(z.read(endnotes)))
        ):
            problems.append(
                TemplateProblem(
                    name,
                    "has endnotes",
                    "endnotes are not filled in, compared with the form or printed in the PDF; "
                    "move their text into the body or a footnote",
                )
            )
    return problems


#: Word fields whose printed text is a page number: everything else a field prints (a document
#: property, a date, a cross-reference) is computed by LibreOffice, not read by the deviation
#: check. HYPERLINK prints its own text, which is read.
_PAGE_FIELDS = frozenset({"PAGE", "NUMPAGES", "SECTIONPAGES", "HYPERLINK"})
_TRACKED = ("ins", "del", "moveFrom", "moveTo")


def _printed_unseen(name: str, root: etree._Element) -> list[TemplateProblem]:
    """What LibreOffice prints that the comparison with the form does not read: tracked
    changes (printed marked up) and fields other than page numbers."""
    problems = []
    tracked = next((e for tag in _TRACKED for e in root.iter(f"{W}{tag}")), None)
    if tracked is not None:
        problems.append(
            TemplateProblem(
                name,
                "tracked changes",
                "the template has tracked changes, which LibreOffice prints marked up: accept "
                "or reject them in Word (Review, Accept/Reject All) and save it again",
                "".join(tracked.itertext())[:120],
            )
        )
    instructions = [e.get(f"{W}instr", "") for e in root.iter(f"{W}fldSimple")]
    code: list[str] | None = None  # a complex field's instruction, while it is read
    for e in root.iter(f"{W}fldChar", f"{W}instrText"):
        if e.tag == f"{W}instrText" and code is not None:
            code.append(e.text or "")
        elif e.get(f"{W}fldCharType") == "begin":
            code = []
        elif code is not None:  # separate or end: the instruction is complete
            instructions.append("".join(code))
            code = None
    for instruction in instructions:
        words = instruction.split()
        if words and words[0].upper() not in _PAGE_FIELDS:
            problems.append(
                TemplateProblem(
                    name,
                    "field",
                    f"a {words[0].upper()} field prints text LibreOffice computes (a document "
                    "property, a date, a reference), which is not compared with the approved "
                    "form: replace the field by its text",
                    instruction.strip()[:120],
                )
            )
    return problems


def _numbering_text(name: str, root: etree._Element) -> list[TemplateProblem]:
    """List-number labels that hold words: printed before each paragraph, not compared."""
    problems = []
    for level in root.iter(f"{W}lvlText"):
        label = level.get(f"{W}val", "")
        words = re.sub(r"%\d", "", label)
        if len(words) > 12 or len(words.split()) > 2:
            problems.append(
                TemplateProblem(
                    name,
                    "numbering text",
                    "a list's number label holds text, which is printed before each paragraph "
                    "and not compared with the approved form: keep labels to numbers like "
                    "'%1.' or 'Section %1.'",
                    label[:120],
                )
            )
    return problems


def _fields(name: str, docx: bytes, allowed: frozenset[str]) -> list[TemplateProblem]:
    """Top-level names the template uses that grantgen does not supply."""
    from docxtpl import DocxTemplate

    from generator.rendering.jinjaenv import make_environment

    tpl = DocxTemplate(io.BytesIO(docx))
    tpl.init_docx()
    env = make_environment()
    problems = []
    sources = [tpl.get_xml()] + [
        tpl.get_part_xml(part)
        for uri in (tpl.HEADER_URI, tpl.FOOTER_URI)
        for _, part in tpl.get_headers_footers(uri)
    ]
    for xml in sources:
        src = tpl.patch_xml(xml)
        try:
            used = meta.find_undeclared_variables(env.parse(src))
        except jinja2.TemplateSyntaxError:
            continue  # reported when the template is compiled
        for field in sorted(used - allowed):
            text = re.sub(r"<[^>]+>", "", src)
            at = text.find(field)
            problems.append(
                TemplateProblem(
                    name,
                    "unknown field",
                    f"{field!r} is not a field grantgen fills "
                    f"(fields: {', '.join(sorted(allowed))})",
                    text[max(0, at - 40) : at + 40].strip(),
                )
            )
    return problems


def sample_record(award_type: str = "option", plan: Plan | None = None) -> GrantRecord:
    """A grant to render a template once with: every field it will have filled (the kit's
    extra columns with their own names in brackets; a vesting date where its default
    schedule takes one; no price for an award other than an option, which may have none)."""
    extra = tuple((name, f"[{name}]") for name in (plan.extra_columns if plan else ()))
    granted = date(2005, 5, 16)
    schedule = plan.vesting.get(plan.default_schedule(award_type) or "") if plan else None
    return GrantRecord(
        extra=extra,
        row=2,
        grant_id="CHECK-1",
        participant="Sample Participant",
        grant_date=granted,
        shares=1000,
        exercise_price=Decimal("1.00") if award_type in OPTION_AWARDS else Decimal(0),
        address=("1 Sample Street",),
        award_type=award_type,
        vesting_date=add_months(granted, 12) if schedule and schedule.on_date else None,
    )


def _kit_files(kit: Kit, directory: Path | None) -> list[_KitFile]:
    """Each template file of the kit to check, once."""
    files: list[_KitFile] = []
    for form in kit.forms.values():
        allowed = GRANT_FIELDS | set(kit.plan.extra_columns)
        files += [(path.name, path, allowed) for path in form.templates]
    if kit.plan_docx is not None:
        files.append((kit.plan_docx.name, kit.plan_docx, PLAN_FIELDS))
    if kit.own_consent or (directory is not None and (directory / CONSENT).exists()):
        files.append((kit.consent.name, kit.consent, CONSENT_FIELDS))
    unique: dict[Path, _KitFile] = {}
    for entry in files:
        unique.setdefault(entry[1], entry)
    return list(unique.values())


def check_templates(
    directory: Path | None, plan: Plan
) -> tuple[list[TemplateProblem], TemplateSet | None]:
    """Every problem in the plan's kit (each with the file and the surrounding text), and the
    loaded templates when there is none. ``directory``: a folder standing in for the kit's
    templates (``--templates``)."""
    kit = resolve_kit(plan, directory)
    files = _kit_files(kit, directory)
    problems = _file_problems(files)
    if problems:
        return problems, None
    problems = kit_problems(kit)
    if problems:
        return problems, None
    problems = _part_problems(kit, plan)
    if problems:
        return problems, None
    return _render_samples(kit, directory, plan, files)


def _file_problems(files: list[_KitFile]) -> list[TemplateProblem]:
    """What is wrong in each template file on its own: unreadable, unsafe, not a Word
    document, tags split or unclosed, text the comparison cannot read, unknown fields."""
    problems: list[TemplateProblem] = []
    for name, path, allowed in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(TemplateProblem(name, "missing", f"cannot be read: {exc.strerror}"))
            continue
        try:
            check_archive(path, data, what="Word template")
        except InputError as exc:
            problems.append(TemplateProblem(name, "unsafe file", exc.message))
            continue
        try:
            problems += _structure(name, data)
            problems += _fields(name, data, allowed)
        except Exception as exc:  # a member missing, a truncated part: not a sound .docx
            problems.append(
                TemplateProblem(
                    name, "not a Word document", f"cannot be read ({type(exc).__name__}: {exc})"
                )
            )
    return problems


def _part_problems(kit: Kit, plan: Plan) -> list[TemplateProblem]:
    """The agreement and the acceptance page are rendered as one template: each is first
    compiled and rendered on its own, so that a problem is named in its own file."""
    problems: list[TemplateProblem] = []
    for form in kit.forms.values():
        for path in form.templates if form.acceptance is not None else ():
            try:
                DocumentTemplate.from_file(path).render(
                    grant_context(sample_record(form.award_type, plan), plan), {}
                )
            except TemplateError as exc:
                problems.append(_problem(path.parent, [path.name], exc))
    return problems


def _render_samples(
    kit: Kit, directory: Path | None, plan: Plan, files: list[_KitFile]
) -> tuple[list[TemplateProblem], TemplateSet | None]:
    """Compile and render every template once with sample values (syntax errors, and fields
    misspelt below the top level): the problem, or the loaded templates."""
    names = [name for name, _, _ in files]
    folders = {path.parent for _, path, _ in files}
    try:
        templates = TemplateSet(directory, plan)
        for kind in kit.forms:
            templates.render_grant(sample_record(kind, plan), plan)
        furnished = plan_pdf(plan)
        if furnished is None:
            templates.render_plan(plan)
        else:
            problem = unusable_plan_pdf(furnished)
            if problem:
                return [TemplateProblem(furnished.name, "unusable Plan document", problem)], None
        if CONSENT in names or kit.own_consent:
            _render_sample_consent(kit, plan)
    except TemplateError as exc:
        where = next(iter(folders), Path("."))
        return [_problem(where, names, exc, folders)], None
    return [], templates


def _render_sample_consent(kit: Kit, plan: Plan) -> None:
    """The kit's Board consent, rendered for one sample grant."""
    from generator.reviewing.consent import ConsentGrant, render_consent

    sample = sample_record()
    grant = ConsentGrant(
        sample.participant, sample.shares, sample.exercise_price, sample.grant_date
    )
    render_consent(kit.consent, plan, [grant])


def _problem(
    directory: Path, names: list[str], exc: TemplateError, folders: set[Path] | None = None
) -> TemplateProblem:
    """A template error as a problem, in the file (of ``names``) that uses the field it names."""
    message = str(exc).split(": ", 1)[-1]
    where, near = None, ""
    for folder in sorted(folders or {directory}):
        if exc.field and where is None:
            where, near = _locate(folder, names, exc.field)
    if where is not None and near:
        tag = re.search(r"\{\{[^}]*\}\}|\{%[^%]*%\}", near)
        message = f"{message} (in {tag.group() if tag else near})"
    return TemplateProblem(where or exc.template, "template error", message, near)


def _locate(directory: Path, names: list[str], field: str) -> tuple[str | None, str]:
    """Which template file uses ``field`` in a tag, and the paragraph's text around it."""
    import zipfile

    pattern = re.compile(r"(\{\{|\{%)[^}%]*\b" + re.escape(field) + r"\b")
    for name in names:
        try:
            with zipfile.ZipFile(directory / name) as z:
                members = [n for n in z.namelist() if re.fullmatch(r"word/[^/]+\.xml", n)]
                for member in members:
                    for text in _paragraph_texts(etree.fromstring(z.read(member))):
                        found = pattern.search(text)
                        if found:
                            start = max(found.start() - 40, 0)
                            return name, text[start : found.end() + 60].strip()
        except (OSError, zipfile.BadZipFile, etree.XMLSyntaxError):
            continue
    return None, ""


def load_templates(directory: Path | None, plan: Plan) -> TemplateSet:
    """The templates, checked; a :class:`TemplateError` listing every problem otherwise."""
    problems, templates = check_templates(directory, plan)
    if templates is None:
        listed = "; ".join(str(p) for p in problems)
        where = str(directory) if directory is not None else f"the kit of {plan.source}"
        raise TemplateError(where, f"{len(problems)} problem(s): {listed}")
    return templates
