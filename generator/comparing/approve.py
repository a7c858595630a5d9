"""Approving a kit's templates: each one's text written as its approved form with the date, who
approved and the template's sha256 (:func:`approve_kit`), and what counsel has not approved
yet (:func:`unapproved_changes`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from generator.comparing.approved import ApprovedForm, snapshot
from generator.core.errors import KitError
from generator.terms.kit import APPROVED_DIR, Kit, relative_name
from generator.terms.manifest import sha256_file


def unapproved_changes(kit: Kit) -> list[str]:
    """What counsel has not approved in a kit: a template with no approved form, or changed
    since its approved form was taken from it (by the sha256 the snapshot records)."""
    notes = []
    for form in kit.forms.values():
        if form.exhibit is not None:
            continue
        for template, approved in zip(form.templates, form.approved, strict=True):
            if approved is None:
                notes.append(
                    f"{template.name} has no approved form ({APPROVED_DIR}/{template.stem}.txt): "
                    "its documents are not compared with what counsel approved; run "
                    "`grantgen approve` once counsel has signed off"
                )
                continue
            recorded = ApprovedForm.load(approved).template_sha256
            if recorded and recorded != sha256_file(template):
                notes.append(
                    f"{template.name} has changed since counsel approved it ({approved.name}): "
                    "its edits show as deviations until `grantgen approve` records them"
                )
    return notes


def approve_kit(kit: Kit, *, approved_on: str, approved_by: str | None) -> list[Path]:
    """Snapshot each of the kit's templates as its approved form (``approved/<stem>.txt``),
    recording the date, who approved and the template's sha256. Returns the files written."""
    from generator.core.output import write_atomic

    root = kit.plan.kit_root or Path(kit.plan.source).parent
    folder = root / APPROVED_DIR
    written = []
    for form in kit.forms.values():
        if form.exhibit is not None:
            raise KitError(
                f"the {form.name} of {kit.plan.source} is compared with its filed exhibit "
                f"({form.exhibit.name}), not with approved forms: `grantgen init` a kit of "
                "your own to approve its templates"
            )
        for template in form.templates:
            data = template.read_bytes()
            text = snapshot(
                data,
                source=relative_name(template, root),
                template_sha256=hashlib.sha256(data).hexdigest(),
                approved_on=approved_on,
                approved_by=approved_by,
            )
            folder.mkdir(exist_ok=True)  # (a .txt is read before counsel's .docx of the name)
            target = folder / (template.stem + ".txt")
            write_atomic(target, text.encode("utf-8"))
            written.append(target)
    return written
