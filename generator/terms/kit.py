"""Form kits: everything that is one company's own, in one folder.

A kit is a plan file (``plan.toml``) with the Word templates of the documents its grants are
made with (``[forms.<award type>]``), their approved forms (``approved/<template>.txt`` or
``.docx``), the Board consent template if the company has its own, and the Plan document
furnished with each grant::

    acme-kit/
      plan.toml
      templates/option_notice.docx   templates/acceptance.docx   templates/board_consent.docx
      approved/option_notice.txt     approved/acceptance.txt
      plan.pdf

A plan file without ``[forms]`` is made with the bundled example's forms (the ATG templates),
as before kits existed. This module turns a :class:`~generator.terms.planmodel.Plan` into the
concrete
files of its kit (:func:`resolve_kit`) and fingerprints them for the manifest
(:func:`kit_record`), so that later commands on a batch folder find the kit again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core.errors import KitError
from generator.core.resources import default_plan, kits_dir, templates_dir
from generator.terms.manifest import recorded_plan, sha256_file
from generator.terms.plan import bundled_forms, load_plan
from generator.terms.planmodel import DEFAULT_SIGNATURES, FormEntry, Plan

#: Where a kit keeps its approved forms, beside its plan file.
APPROVED_DIR = "approved"
#: The kinds of file an approved form may be.
APPROVED_SUFFIXES = (".txt", ".docx")
#: The bookmark grantgen puts at the start of a separate acceptance page (its outline entry).
ACCEPTANCE_MARK = "grantgen_acceptance"


@dataclass(frozen=True)
class Form:
    """One kind of award's document, with its files resolved."""

    award_type: str
    name: str
    outline: str
    template: Path
    acceptance: Path | None
    acceptance_outline: str | None
    approved: tuple[Path | None, ...]
    """The approved form of the template and of the acceptance page (None: none yet)."""
    exhibit: Path | None
    """The bundled example's approved form, in the filed exhibit's own format."""

    @property
    def templates(self) -> tuple[Path, ...]:
        return (self.template, *([self.acceptance] if self.acceptance else []))

    @property
    def label(self) -> str:
        """How problems name the form's template(s)."""
        return " + ".join(p.name for p in self.templates)


@dataclass(frozen=True)
class Kit:
    """A plan's kit, its files resolved."""

    plan: Plan
    forms: dict[str, Form]
    """By award type."""
    signatures: tuple[str, ...]
    """The signature fields, each a Word bookmark in the templates."""
    marked: bool
    """The plan file declares its signature fields: every one must be bookmarked. False for
    the bundled example's templates, whose fields are also found by their labels."""
    consent: Path
    """The Board consent template."""
    own_consent: bool
    """The consent template is the kit's own (not the bundled one)."""
    plan_docx: Path | None
    """The templates' ``plan.docx``, used as the Plan copy when the plan file names no Plan
    document (None: the plan file names one)."""

    def form_for(self, award_type: str) -> Form | None:
        return self.forms.get(award_type)

    def files(self) -> list[Path]:
        """Every file of the kit, once each, in a stable order."""
        found: list[Path] = [Path(self.plan.source)]
        found += [] if self.plan.forms else [templates_dir() / "forms.toml"]
        for form in self.forms.values():
            found += [*form.templates, *(a for a in form.approved if a is not None)]
            found += [form.exhibit] if form.exhibit else []
        found += [self.consent] if self.own_consent else []
        found += [self.plan.document] if self.plan.document else []
        found += [self.plan_docx] if self.plan_docx and self.plan_docx.is_file() else []
        unique: dict[str, Path] = {}
        for path in found:
            unique.setdefault(os.path.abspath(path), path)
        return list(unique.values())


def approved_for(template: Path, plan: Plan) -> Path | None:
    """The approved form of a kit's template: ``approved/<stem>.txt`` (or ``.docx``) beside
    the plan file; None when there is none."""
    root = plan.kit_root or Path(plan.source).parent
    for suffix in APPROVED_SUFFIXES:
        path = root / APPROVED_DIR / (template.stem + suffix)
        if path.is_file():
            return path
    return None


def approved_files(kit: Kit) -> list[Path]:
    """The approved forms in the kit's ``approved/`` folder (a kit with forms of its own)."""
    if not kit.plan.forms or kit.plan.kit_root is None:
        return []
    folder = kit.plan.kit_root / APPROVED_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in APPROVED_SUFFIXES)


def _forms(plan: Plan) -> tuple[FormEntry, ...]:
    """The plan's own forms, or the bundled example's for a plan file without any."""
    return plan.forms or bundled_forms()


def resolve_kit(plan: Plan, templates: Path | None = None) -> Kit:
    """The files of ``plan``'s kit. ``templates``: a folder whose files of the same names
    stand in for the kit's templates (``--templates``)."""

    def where(path: Path) -> Path:
        return templates / path.name if templates is not None else path

    root = plan.kit_root or Path(plan.source).parent
    looks_like_kit = (root / "templates").is_dir() and (root / APPROVED_DIR).is_dir()
    if not plan.forms and looks_like_kit and root.resolve() != _bundled_root():
        raise KitError(
            f"the plan file {plan.source} names no [forms], but its folder is a kit's "
            "(templates/, approved/): "
            "name each award type's template with [forms.<award type>] (see docs/kits.md), "
            "or the bundled example's forms would be used"
        )
    forms: dict[str, Form] = {}
    for entry in _forms(plan):
        if entry.award_type not in plan.award_types:
            continue  # the bundled example's form for a kind of award this plan lacks
        template, acceptance = (
            where(entry.template),
            (where(entry.acceptance) if entry.acceptance else None),
        )
        forms[entry.award_type] = Form(
            award_type=entry.award_type,
            name=entry.name,
            outline=entry.outline,
            template=template,
            acceptance=acceptance,
            acceptance_outline=entry.acceptance_outline,
            approved=tuple(
                None if entry.exhibit else approved_for(p, plan)
                for p in (entry.template, *([entry.acceptance] if entry.acceptance else []))
            ),
            exhibit=entry.exhibit,
        )
    first = next(iter(forms.values()), None)
    folder = templates or (first.template.parent if first else templates_dir())
    consent = plan.consent
    own_consent = consent is not None
    if consent is None:
        local = folder / "board_consent.docx"
        consent = local if local.is_file() else templates_dir() / "board_consent.docx"
        own_consent = local.is_file() and templates is not None
    return Kit(
        plan=plan,
        forms=forms,
        signatures=plan.signatures or DEFAULT_SIGNATURES,
        marked=plan.signatures is not None,
        consent=consent,
        own_consent=own_consent,
        plan_docx=None if plan.document is not None else folder / "plan.docx",
    )


def _bundled_root() -> Path:
    return default_plan().parent.resolve()


def kit_record(kit: Kit) -> dict[str, Any]:
    """The manifest's record of the kit a batch was made with: its plan file and the sha256
    of each of its files (paths relative to the plan file's folder where they are in it)."""
    plan_file = Path(kit.plan.source).resolve()
    root = plan_file.parent
    files: dict[str, str] = {}
    for path in kit.files():
        full = path.resolve()
        name = relative_name(full, root)
        try:
            files[name] = sha256_file(full)
        except OSError:
            continue
    return {"plan_file": str(plan_file), "plan": kit.plan.id, "files": files}


def plan_for_folder(plan: Path | None, folder: Path) -> Plan:
    """The plan a command on a batch folder works under: ``--plan`` when given, else the kit
    the folder's manifest records, else the bundled plan."""
    if plan is not None:
        return load_plan(plan)
    recorded = recorded_plan(folder)
    return load_plan(recorded)


# --- new kits ------------------------------------------------------------------------------


def examples() -> list[str]:
    """The bundled example kits, by name."""
    root = kits_dir()
    return sorted(p.name for p in root.iterdir() if (p / "plan.toml").is_file())


def init_kit(dest: Path, example: str) -> list[Path]:
    """Copy the bundled example kit ``example`` into a new folder ``dest`` (which must not
    exist, or be empty). Returns the files written."""
    source = kits_dir() / example
    if not (source / "plan.toml").is_file():
        raise KitError(f"no bundled example kit {example!r}; examples: {', '.join(examples())}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise KitError(f"{dest} exists and is not an empty folder: give a new folder")
    shutil.copytree(source, dest, dirs_exist_ok=True)
    (dest / APPROVED_DIR).mkdir(exist_ok=True)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (POSIX style), else as it is."""
    full, base = path.resolve(), root.resolve()
    return full.relative_to(base).as_posix() if full.is_relative_to(base) else str(path)
