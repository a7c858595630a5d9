"""``grantgen columns``, ``grantgen preview``, ``grantgen check-templates``: look before
making a hundred documents."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from generator.cliutil import (
    LEDGER_HELP,
    errors,
    existing_file,
    make_read_options,
    map_option,
    prices_option,
    sheet_option,
    verbose,
)
from generator.core.errors import InputError, OutputError
from generator.core.layout import manifest_path
from generator.core.output import folder_lock, write_atomic
from generator.making.batch import Document
from generator.pipeline import GenerateOptions, GenerateResult, generate
from generator.reading import sheets
from generator.reading.columns import COLUMNS, REQUIRED, ReadOptions, map_header


@click.command("columns")
@click.argument("grants", type=existing_file())
@sheet_option
@map_option
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The kit whose [columns] ignore and extra apply (default: the bundled example).",
)
def columns_command(
    grants: Path, sheet: str | None, mappings: tuple[str, ...], plan: Path | None
) -> None:
    """Show how each header of GRANTS is understood: the column it is read as, a kit's extra
    column, left unread on purpose, or not understood.

    Exit 1 when a required column (participant, grant_date, shares, exercise_price) has no
    header, two headers mean the same column, or a header that looks like one of the columns
    is not understood (validate and generate refuse such a file); use --map 'Your
    Header=column' for headers that are not recognised, --map 'Your Header=-' to leave one
    unread.
    """
    from generator.checking.checkbatch import kit_reading
    from generator.terms.plan import load_plan

    with errors(verbose()):
        options: ReadOptions = kit_reading(
            load_plan(plan), make_read_options(sheet, mappings, None, ())
        )
        header = next((cells for _, cells in sheets.rows(grants, sheet) if any(cells)), None)
        if header is None:
            raise InputError(str(grants), "is empty")
        canonical = map_header(header, options.mapping)
        suspects = _echo_headers(header, canonical, options.extra)
        if _column_problems(header, canonical, suspects):
            sys.exit(1)


def _echo_headers(
    header: list[str], canonical: list[str | None], extra_columns: Sequence[str]
) -> list[tuple[str, str]]:
    """Print how each header is read (``canonical``: the column of each, :data:`IGNORED`
    for one left unread); returns the headers not understood that look like a column, each
    with the column it looks like."""
    from generator.reading.columns import IGNORED, looks_like, normalise_header

    extra = {normalise_header(n): n for n in extra_columns}
    width = max(len(h) for h in header) + 2
    suspects = []
    for name, canon in zip(header, canonical, strict=True):
        if canon == IGNORED:
            shown = "(left unread on purpose)"
        elif canon is None and normalise_header(name) in extra:
            shown = f"{{{{ {extra[normalise_header(name)]} }}}} (the kit's extra column)"
        elif canon is None and name.strip() and (near := looks_like(name)):
            shown = f"NOT UNDERSTOOD: looks like {near}"
            suspects.append((name, near))
        else:
            shown = canon or "(ignored: not a known column)"
        click.echo(f"{name!r:<{width}} -> {shown}")
    return suspects


def _column_problems(
    header: list[str], canonical: list[str | None], suspects: list[tuple[str, str]]
) -> bool:
    """Print the optional columns not present, and as errors the required ones missing, the
    headers read as one column and the ``suspects``; whether there was an error."""
    from generator.reading.columns import IGNORED

    canonical = [c if c != IGNORED else None for c in canonical]
    seen = {c for c in canonical if c}
    missing = [c for c in REQUIRED if c not in seen]
    unused = [c for c in COLUMNS if c not in seen and c not in REQUIRED]
    twice = {  # two headers read as one column: validate and generate refuse the file
        c: [h for h, k in zip(header, canonical, strict=True) if k == c]
        for c in seen
        if canonical.count(c) > 1
    }
    if unused:
        click.echo(f"optional columns not present: {', '.join(unused)}")
    for canon, names in sorted(twice.items()):
        click.echo(
            f"error: headers {' and '.join(map(repr, names))} both mean {canon!r}: rename "
            "one, or --map it to the column it is",
            err=True,
        )
    if missing:
        click.echo(f"error: required column(s) missing: {', '.join(missing)}", err=True)
    for name, near in suspects:
        click.echo(
            f"error: column {name!r} is not understood, but it looks like {near}: say "
            f"which it is with --map '{name}=COLUMN', or leave it unread with "
            f"--map '{name}=-'",
            err=True,
        )
    return bool(missing or twice or suspects)


@click.command("preview")
@click.argument("grants", type=existing_file())
@click.option(
    "--row", type=click.IntRange(min=2), required=True, help="Spreadsheet row (2 = first grant)."
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the draft DOCX, PDF and PNG pages (default: a new temporary one); "
    "nothing else in it is touched.",
)
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The form kit (its folder or plan file). Default: the kit the --out batch folder's "
    "manifest records, else the bundled example (data/plans/atg-1999.toml).",
)
@prices_option
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"{LEDGER_HELP} Read only: a grant it holds with other terms is refused, as "
    "`generate` would refuse it; nothing is recorded.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of templates standing in for the kit's. Default: the kit's own.",
)
@sheet_option
@map_option
@click.option(
    "--png/--no-png", default=True, show_default=True, help="Also PNG pages (needs pdftoppm)."
)
def preview_command(
    grants: Path,
    row: int,
    out: Path | None,
    plan: Path | None,
    prices: Path | None,
    ledger: Path | None,
    templates: Path | None,
    sheet: str | None,
    mappings: tuple[str, ...],
    png: bool,
) -> None:
    """Render one grant (spreadsheet row ROW) as a draft DOCX and PDF, and PNG pages, and
    print their paths.

    The row is checked as `generate` checks it: against the plan, the prices and the ledger
    (read, never written: nothing is recorded). Findings for the row are printed; a row with
    an error is not rendered (exit 1) and nothing is written. The files are drafts (DRAFT on
    every page, no signature fields): <grant_id>.draft.docx, <grant_id>.draft.pdf and
    <grant_id>.draft-N.png, replacing an earlier preview's of the grant; no manifest.json or
    review/ is written, so a batch's folder can take them.
    """
    reading = make_read_options(sheet, mappings, str(row), ())
    with errors(verbose()):
        if plan is None and out is not None and templates is None:
            from generator.terms.manifest import recorded_plan

            plan = recorded_plan(out)  # a batch folder's own kit
        work = Path(tempfile.mkdtemp(prefix="grantgen-preview-work-"))  # removed in any case
        try:
            result = generate(
                GenerateOptions(
                    grants=grants,
                    out=work / "out",
                    plan=plan,
                    prices=prices,
                    ledger=ledger,
                    templates=templates,
                    draft=True,
                    jobs=1,
                    read=reading,
                    review=False,  # one grant's draft: no summaries, packet or consent
                )
            )
            doc = _previewed(result, row)
            made = result.out / doc.pdf
            pages = _png_pages(made) if png else []
            placed = _place_in(out, [result.out / doc.docx, made, *pages], made.stem)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        docx, pdf, *pngs = placed
        click.echo(f"docx: {docx}")
        click.echo(f"pdf:  {pdf}")
        for page in pngs:
            click.echo(f"png:  {page}")


def _previewed(result: GenerateResult, row: int) -> Document:
    """The row's draft, after printing the batch's warnings and errors and its findings;
    exit 1 when it was not made."""
    for warning in result.warnings:
        click.echo(f"warning: {warning['message']}", err=True)
    for error in result.errors:
        click.echo(f"error: {error['message']}", err=True)
    if not result.documents:
        if not result.errors:
            click.echo(f"error: row {row} holds no grant", err=True)
        sys.exit(1)
    doc = result.documents[0]
    for finding in doc.findings:
        click.echo(f"{finding['severity']}: {finding['message']}", err=True)
    return doc


def _place_in(out: Path | None, files: list[Path], stem: str) -> list[Path]:
    """:func:`_place` the files in ``out``, or in a new temporary folder (removed again if
    they cannot be written)."""
    folder = out or Path(tempfile.mkdtemp(prefix="grantgen-preview-"))
    try:
        return _place(files, folder, stem)
    except BaseException:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _place(files: list[Path], folder: Path, stem: str) -> list[Path]:
    """Write ``files`` into ``folder`` (made if need be), each whole or not at all, after
    removing the PNG pages an earlier preview of the grant left there (it may have had more
    pages); nothing else in the folder is touched."""
    page = re.compile(re.escape(stem) + r"-[0-9]+\.png")
    listed = _batch_files(folder)
    taken = [file.name for file in files if file.name in listed]
    if taken:
        raise OutputError(
            f"{folder} holds a batch whose manifest.json lists {', '.join(taken)}: a preview "
            "never replaces a batch's documents; preview into another folder (--out)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write the preview into {folder}: {exc.strerror or exc}") from exc
    with folder_lock(folder):
        return _place_held(files, folder, page)


def _place_held(files: list[Path], folder: Path, page: re.Pattern[str]) -> list[Path]:
    try:
        for old in folder.iterdir():
            if page.fullmatch(old.name) and old.is_file():
                old.unlink()
        placed = []
        for file in files:
            target = folder / file.name
            write_atomic(target, file.read_bytes())
            placed.append(target)
    except OSError as exc:
        raise OutputError(f"cannot write the preview into {folder}: {exc.strerror or exc}") from exc
    return placed


def _batch_files(folder: Path) -> set[str]:
    """The DOCX and PDF names the folder's manifest.json lists (none without one)."""
    try:
        manifest = json.loads(manifest_path(folder).read_text(encoding="utf-8"))
        documents = manifest.get("documents", [])
        return {str(doc[key]) for doc in documents for key in ("docx", "pdf") if doc.get(key)}
    except (OSError, ValueError, AttributeError, TypeError):
        return set()


def _png_pages(pdf: Path) -> list[Path]:
    tool = shutil.which("pdftoppm")
    if tool is None:
        click.echo(
            "note: pdftoppm is not installed; no PNG pages (apt-get install poppler-utils)",
            err=True,
        )
        return []
    prefix = pdf.with_suffix("")
    proc: Any = subprocess.run(
        [tool, "-png", "-r", "80", str(pdf), str(prefix)], capture_output=True, timeout=120
    )
    if proc.returncode != 0:
        click.echo(
            f"note: pdftoppm failed: {proc.stderr.decode(errors='replace')[-200:]}", err=True
        )
        return []
    return sorted(pdf.parent.glob(f"{prefix.name}-*.png"))


@click.command("check-templates")
@click.argument(
    "directory",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The kit (its folder or plan file) whose templates to check, and whose terms to "
    "render the check with.",
)
def check_templates_command(directory: Path | None, plan: Path | None) -> None:
    """Check a form kit (DIRECTORY: a kit's folder, or a folder of templates standing in for
    the kit's; default: the bundled example) before use.

    Reports, with the file and the text around it: tags split across paragraphs or left
    unclosed, Jinja syntax errors and unbalanced tags, fields grantgen does not fill, files
    that are not sound .docx (zip bombs, XML entities), signature fields the plan file
    declares but no bookmark marks (or marks twice), and approved forms that cannot be read.
    A template changed since counsel approved it is named (its edits show as deviations until
    `grantgen approve`). `generate` runs the same check and refuses to render anything from a
    kit with a problem. Exit 0 when all is well.
    """
    from generator.comparing.approve import unapproved_changes
    from generator.kitchecks.templatecheck import check_templates
    from generator.terms.kit import resolve_kit
    from generator.terms.plan import load_plan, plan_file

    with errors(verbose()):
        if directory is not None and plan is None and _is_kit(directory):
            plan, directory = directory, None
        terms = load_plan(plan)
        problems, _ = check_templates(directory, terms)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        if problems:
            sys.exit(1)
        kit = resolve_kit(terms, directory)
        for note in unapproved_changes(kit):
            click.echo(f"note: {note}")
        where = directory or (plan_file(plan) if plan is not None else terms.source)
        forms = ", ".join(f"{f.name} ({kind})" for kind, f in kit.forms.items())
        click.echo(f"kit {where}: no problems found; forms: {forms}")


def _is_kit(folder: Path) -> bool:
    """A kit's folder: it holds a plan file."""
    found = [p for p in folder.glob("*.toml") if p.name != "forms.toml"]
    return (folder / "plan.toml").is_file() or len(found) == 1
