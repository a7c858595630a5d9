"""The grantgen command line: parse options, call the library, map errors to exit codes.

Exit codes: 0 every grant succeeded; 1 a grant was refused or the batch failed; 2 usage error.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__
from .errors import GrantgenError
from .pipeline import GenerateOptions, GenerateResult, generate


@contextmanager
def _errors(verbose: bool) -> Iterator[None]:
    """Turn grantgen errors into a one-line message and an exit code (traceback: --verbose)."""
    try:
        yield
    except GrantgenError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # an unexpected failure is still one line unless --verbose
        if verbose:
            traceback.print_exc()
        else:
            click.echo(
                f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)",
                err=True,
            )
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grantgen")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """grantgen turns a spreadsheet of stock-option grants into the Word agreements counsel
    reviews and signature-ready PDF packets (agreement, acceptance page, copy of the Plan)."""
    ctx.obj = {"verbose": verbose}


def _progress(quiet: bool) -> Callable[[str, int, int], None]:
    if quiet or not sys.stderr.isatty():
        return lambda stage, done, total: None
    last: dict[str, int] = {}

    def show(stage: str, done: int, total: int) -> None:
        if last.get(stage) == done:
            return
        last[stage] = done
        end = "\n" if done >= total else ""
        click.echo(f"\r{stage:>8}: {done}/{total}", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return show


def _report(result: GenerateResult, quiet: bool) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in result.errors:
        click.echo(f"error: {error['message']}", err=True)
    if not quiet:
        refused = result.refused_rows
        click.echo(
            f"{len(result.documents)} document(s) made, {refused} grant(s) refused, "
            f"in {result.seconds:.1f} s; output in {result.out} "
            f"(manifest: {result.manifest})"
        )


@main.command("generate")
@click.argument("grants", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the DOCX and PDF files and manifest.json.",
)
@click.option(
    "--plan",
    "plan",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Plan terms (TOML). Default: the bundled data/plans/atg-1999.toml.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with nso_agreement.docx, acceptance.docx and plan.docx. Default: bundled.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="LibreOffice workers (default: the number of cores).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds a LibreOffice start may take (plus 10 s per document it converts).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
@click.pass_context
def generate_command(
    ctx: click.Context,
    grants: Path,
    out: Path,
    plan: Path | None,
    templates: Path | None,
    jobs: int,
    timeout: float,
    quiet: bool,
) -> None:
    """Make a Word agreement and a signature-ready PDF packet for every grant in GRANTS.

    GRANTS is a CSV file, one grant per row (columns: grant_id, participant, address,
    grant_date, shares, exercise_price, award_type, is_employee). For each good row, OUT gets
    <grant_id>.docx (agreement + acceptance page, for counsel) and <grant_id>.pdf (agreement,
    acceptance page and the Plan, with empty signature fields). Rows with errors get no
    documents; every error names its row and column. manifest.json lists both.

    Exit status: 0 all grants made, 1 any grant refused or failed, 2 usage error.
    """
    with _errors(ctx.obj["verbose"]):
        result = generate(
            GenerateOptions(
                grants=grants,
                out=out,
                plan=plan,
                templates=templates,
                jobs=jobs,
                timeout=timeout,
            ),
            progress=_progress(quiet),
        )
        _report(result, quiet)
        sys.exit(1 if result.errors else 0)
