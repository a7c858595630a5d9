"""What does not agree in a form kit: the signature bookmarks each form's templates need (and one
declared nowhere), the date line, the approved forms, a furnished Plan PDF (its fonts, a
password, damage)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.assembling.dateline import DATE_FIELD
from generator.comparing.approved import ApprovedForm
from generator.core.errors import GrantgenError
from generator.terms.kit import APPROVED_DIR, Form, Kit, approved_files

GRANT_FIELDS = frozenset(
    {
        "grant_id",
        "participant",
        "grant_date",
        "shares",
        "exercise_price",
        "address_lines",
        "award_type",
        "final_exercise_date",
        "vesting",
        "vesting_start",
        "vesting_schedule",
        "vesting_description",
        "company",
        "officer",
        "plan",
    }
)


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template, and where."""

    template: str
    kind: str
    message: str
    near: str = ""

    def __str__(self) -> str:
        where = f" near {self.near!r}" if self.near else ""
        return f"{self.template}: {self.kind}: {self.message}{where}"


def kit_problems(kit: Kit) -> list[TemplateProblem]:
    """What does not agree in a kit: signature bookmarks missing, repeated or undeclared,
    approved forms that cannot be read or name fields no template has."""
    problems: list[TemplateProblem] = []
    stems = {t.stem for form in kit.forms.values() for t in form.templates}
    for orphan in approved_files(kit):
        if orphan.stem not in stems:
            problems.append(
                TemplateProblem(
                    f"{APPROVED_DIR}/{orphan.name}",
                    "approved form",
                    "approves no template of the kit (a template renamed or removed?): "
                    "rename it after its template, or delete it",
                )
            )
    for form in kit.forms.values():
        problems += _signature_marks(kit, form)
        for template, approved in zip(form.templates, form.approved, strict=True):
            if approved is None:
                continue
            try:
                fields = ApprovedForm.load(approved).fields()
            except GrantgenError as exc:
                problems.append(TemplateProblem(approved.name, "approved form", str(exc)))
                continue
            unknown = sorted(fields - GRANT_FIELDS - set(kit.plan.extra_columns))
            if unknown:
                problems.append(
                    TemplateProblem(
                        approved.name,
                        "approved form",
                        f"names {', '.join(map(repr, unknown))}, which grantgen does not fill "
                        f"(the approved form of {template.name}); approve the template again "
                        "with `grantgen approve`",
                    )
                )
    return problems


_BOOKMARK = re.compile(r"""<w:bookmarkStart\b[^>]*\bw:name=["']([^"']+)["']""")


def bookmarks(docx: Path) -> list[str]:
    """The names of the bookmarks in a Word file's body, in order (repeats kept)."""
    import html
    import zipfile

    with zipfile.ZipFile(docx) as z:
        xml = z.read("word/document.xml").decode("utf-8", "replace")
    return [html.unescape(name) for name in _BOOKMARK.findall(xml)]


def _signature_marks(kit: Kit, form: Form) -> list[TemplateProblem]:
    """Each declared signature field bookmarked once in the form's templates; a
    ``*_signature`` bookmark the plan file does not declare is refused (a field nobody
    would sign)."""
    found: dict[str, list[str]] = {}
    for path in form.templates:
        for name in bookmarks(path):
            found.setdefault(name, []).append(path.name)
    problems = []
    for name in kit.signatures if kit.marked else ():
        where = found.get(name, [])
        if not where:
            problems.append(
                TemplateProblem(
                    form.label,
                    "signature bookmark",
                    f"no bookmark {name!r}: mark the line where that person signs with a Word "
                    f"bookmark named {name} (Insert > Bookmark), or take {name} out of "
                    "[kit] signatures",
                )
            )
        elif len(where) > 1:
            problems.append(
                TemplateProblem(
                    form.label,
                    "signature bookmark",
                    f"the bookmark {name!r} is there {len(where)} times ({', '.join(where)}): "
                    "one signature line per field",
                )
            )
    dated = found.get(DATE_FIELD, [])
    if len(dated) > 1:
        problems.append(
            TemplateProblem(
                form.label,
                "date line bookmark",
                f"the bookmark {DATE_FIELD!r} is there {len(dated)} times ({', '.join(dated)}): "
                "one date line, filled when the Company signs",
            )
        )
    for name, where in found.items():
        if name.endswith("_signature") and name not in kit.signatures:
            problems.append(
                TemplateProblem(
                    where[0],
                    "signature bookmark",
                    f"the bookmark {name!r} is not a signature field the plan file declares "
                    f"({', '.join(kit.signatures)}): add it to [kit] signatures, or rename it",
                )
            )
    return problems


def unembedded_fonts(pdf: Any) -> list[str]:
    """The names of the fonts a PDF's pages (and the forms they draw) use without embedding
    them (a Type 3 font draws its own glyphs: embedded)."""
    import pikepdf

    missing: set[str] = set()
    seen: set[tuple[int, int]] = set()
    todo = [page.obj.get("/Resources") for page in pdf.pages]
    while todo:
        resources = todo.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        for font in (resources.get("/Font") or {}).values():
            fonts = [font, *(font.get("/DescendantFonts") or [])]
            if font.get("/Subtype") in ("/Type3", "/Type0"):
                fonts = fonts[1:]
            for face in fonts:
                descriptor = face.get("/FontDescriptor")
                if descriptor is None or not any(
                    key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    missing.add(str(face.get("/BaseFont", "?")).lstrip("/"))
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form":
                todo.append(xobject.get("/Resources"))
    return sorted(missing)


def unusable_plan_pdf(path: Path) -> str | None:
    """Why the Plan's PDF cannot be furnished (a password, no pages, damage), or None."""
    import warnings

    import pikepdf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pikepdf.open(path) as pdf:
                if pdf.is_encrypted and not pdf.allow.modify_other:
                    return "is encrypted against changes; give an unprotected copy"
                if not len(pdf.pages):
                    return "has no pages"
                for page in pdf.pages:  # a damaged file opens repaired: its pages must read
                    page.obj.get("/Contents")
                missing = unembedded_fonts(pdf)
                if missing:
                    return (
                        f"uses font(s) it does not embed ({', '.join(missing[:3])}): a packet "
                        "carrying it could not be PDF/A; export the Plan as PDF/A (or with "
                        "its fonts embedded), or give its Word file"
                    )
    except pikepdf.PasswordError:
        return "needs a password to open; give an unprotected copy"
    except (pikepdf.PdfError, OSError) as exc:
        return f"cannot be read as a PDF ({exc})"
    return None
