"""The grantgen command line: parse options, call the library, map errors to exit codes.

Exit codes: 0 success; 1 a grant was refused, a check failed, or the batch failed; 2 usage.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import click

from generator import __version__
from generator.checking.findings import Finding
from generator.cliutil import (
    consent_date_option,
    errors,
    existing_file,
    format_option,
    ledger_option,
    plan_option,
    prices_option,
    progress_bar,
    quiet_option,
    read_options,
    verbose,
)
from generator.core.errors import GrantgenError
from generator.pipeline import GenerateOptions, GenerateResult, check_batch, generate
from generator.reading.columns import ReadOptions
from generator.terms.planmodel import ACCEPT_SAMPLES


class _LazyGroup(click.Group):
    """Commands whose modules load only when they run (signing pulls in pyHanko, which takes
    half a second to import: `generate` should not pay for it)."""

    lazy: ClassVar[dict[str, str]] = {
        "sign": "generator.cli_sign:sign_command",
        "verify": "generator.cli_sign:verify_command",
        "accept": "generator.cli_accept:accept_command",
        "status": "generator.cli_accept:status_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, name = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), name)
            assert isinstance(command, click.Command)
        else:
            command = super().get_command(ctx, cmd_name)
        return None if command is None else _verbose_after(command)


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "verbose": True}


def _verbose_after(command: click.Command) -> click.Command:
    """``grantgen generate … --verbose`` as well as ``grantgen --verbose generate …``: the
    option is accepted after a command too (not listed in the command's help)."""
    if not any(p.name == "verbose_after" for p in command.params):
        command.params.append(
            click.Option(
                ["-v", "--verbose", "verbose_after"],
                is_flag=True,
                hidden=True,
                expose_value=False,
                callback=_set_verbose,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _verbose_after(sub)
    return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grantgen")
@click.option(
    "-v", "--verbose", is_flag=True, help="Show tracebacks for errors (also after the command)."
)
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """grantgen turns a spreadsheet of equity grants into the Word documents counsel reviews
    and signature-ready PDF packets (the company's grant notice or agreement, an acceptance
    page if its form has one, a copy of the Plan), checking every grant against the plan
    first and keeping the share reserve in a ledger. A company's plan file and forms live in
    a form kit (`grantgen init`; --plan KIT); the bundled ATG plan is the default example."""
    ctx.obj = {"verbose": verbose}


# --- generate ------------------------------------------------------------------------------


def _report(result: GenerateResult, quiet: bool) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {warning['message']}", err=True)
    for doc in result.documents:  # a grant made with a warning: said here, not only on file
        for finding in doc.findings:
            if finding.get("severity") == "warning":
                click.echo(f"warning: {finding['message']}", err=True)
    for problem in result.review.problems if result.review is not None else []:
        click.echo(f"warning: review/: {problem}", err=True)  # the documents are made
    if result.review is not None and result.review.deviation_count:
        page = result.review.summary_html.relative_to(result.out).as_posix()
        click.echo(
            f"warning: {result.review.deviation_count} deviation(s) from the approved form: "
            f"see {page}",
            err=True,
        )
    for error in result.errors:
        click.echo(f"error: {error['message']}", err=True)
    if not quiet:
        kind = "draft document(s)" if result.draft else "document(s)"
        new = len(result.documents) - result.already
        again = f", {result.already} already made and recorded" if result.already else ""
        click.echo(
            f"{new} {kind} made{again}, {result.refused_rows} grant(s) refused, "
            f"in {result.seconds:.1f} s; output in {result.out} (manifest: {result.manifest})"
        )


def _finite(param: click.Parameter, value: float) -> float:
    """A number of seconds: not ``nan`` (which compares with nothing, so a range lets it
    through) nor ``inf`` (no watchdog at all)."""
    import math

    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param=param)
    return value


@main.command("generate")
@click.argument("grants", type=existing_file())
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the DOCX and PDF files and manifest.json.",
)
@plan_option
@prices_option
@ledger_option
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of templates standing in for the kit's (the same file names). "
    "Default: the kit's own.",
)
@click.option(
    "--draft",
    is_flag=True,
    help="Drafts for review: DRAFT on every page, no signature fields, *.draft.* names, "
    "nothing recorded in the ledger.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings as errors, and refuse a final batch whose agreements deviate from "
    "the approved form: make nothing if either.",
)
@click.option(
    "--accept-deviations",
    is_flag=True,
    help="Counsel approved the template's deviations from the form: --strict lets them pass.",
)
@click.option(
    "--accept-samples",
    is_flag=True,
    envvar="GRANTGEN_ACCEPT_SAMPLES",
    help="Make final documents although the plan file marks its signing officer as a sample "
    "value ([samples]); they will name that officer. Sample values are then notes, not "
    "warnings (also GRANTGEN_ACCEPT_SAMPLES=1).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace final documents that already exist with other content (never done "
    "silently; copies signed on a replaced packet are moved to superseded/).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="LibreOffice workers (default, or 0: the number of cores).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=86_400),
    callback=lambda ctx, param, value: _finite(param, value),
    default=120.0,
    show_default=True,
    help="Seconds LibreOffice may go without finishing a document before it is stopped "
    "(plus half a second per agreement in it); stopped twice in a row, the batch fails.",
)
@consent_date_option
@quiet_option
@read_options
def generate_command(
    grants: Path,
    out: Path,
    plan: Path | None,
    prices: Path | None,
    ledger: Path | None,
    templates: Path | None,
    draft: bool,
    strict: bool,
    accept_deviations: bool,
    accept_samples: bool,
    force: bool,
    jobs: int,
    timeout: float,
    consent_date: date | None,
    quiet: bool,
    read: ReadOptions,
) -> None:
    """Make a Word document and a signature-ready PDF packet for every grant in GRANTS, with
    the kit's form for its award type (--plan KIT; default: the bundled example).

    GRANTS is a CSV file or an Excel workbook (.xlsx), one grant per row (columns: grant_id,
    participant, address, grant_date, shares, exercise_price, award_type, is_employee,
    substitute, fair_market_value, final_exercise_date, term_years, vesting_schedule,
    vesting_start, vesting_date, and a kit's extra columns). Every grant is first
    checked against the plan (as `grantgen validate` does); a grant with an error gets no
    documents. For each good row,
    OUT gets <grant_id>.docx (the form, with its acceptance page if it has one, for counsel)
    and <grant_id>.pdf (the same and the Plan, with empty signature fields at the templates'
    signature bookmarks), and the grant is recorded in the ledger as its files are placed.
    manifest.json lists documents, errors and the kit.

    Exit status: 0 all grants made, 1 any grant refused or failed, 2 usage error.
    """
    with errors(verbose()):
        options = GenerateOptions(
            grants=grants,
            out=out,
            plan=plan,
            prices=prices,
            ledger=ledger,
            templates=templates,
            draft=draft,
            force=force,
            strict=strict,
            accept_deviations=accept_deviations,
            accept_samples=accept_samples,
            jobs=jobs,
            timeout=timeout,
            read=read,
            consent_date=consent_date,
        )
        _generate(options, quiet)


def _generate(options: GenerateOptions, quiet: bool) -> None:
    """Make the batch with a progress bar, report it, and exit 1 when a grant failed."""
    if options.accept_samples:  # the checks take them as notes too
        os.environ[ACCEPT_SAMPLES] = "1"
    with progress_bar(quiet) as progress:
        result = generate(options, progress=progress)
    _report(result, quiet)
    sys.exit(1 if result.errors else 0)


# --- validate ------------------------------------------------------------------------------


@main.command("validate")
@click.argument("grants", type=existing_file())
@prices_option
@plan_option
@ledger_option
@format_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@consent_date_option
@read_options
def validate_command(
    grants: Path,
    prices: Path | None,
    plan: Path | None,
    ledger: Path | None,
    fmt: str,
    strict: bool,
    consent_date: date | None,
    read: ReadOptions,
) -> None:
    """Check every grant in GRANTS against the plan, the prices and the ledger; make nothing.

    Reports every finding (never stopping at the first), each with its row, rule and the plan
    section it cites, plus the share reserve before and after the batch. Exit 0 when there is
    no error (warnings pass unless --strict), 1 when there is.
    """
    with errors(verbose()):
        try:
            checked = check_batch(
                grants, plan, prices, ledger, documents=True, read=read, consent_date=consent_date
            )
        except GrantgenError as exc:
            if fmt == "json":  # a file that cannot be checked: still JSON on stdout
                click.echo(json.dumps({"findings": [], "summary": None, "error": str(exc)}))
            raise
        summary = checked.summary()
        if fmt == "json":
            _findings_json(checked.findings, summary)
        else:
            _findings_table(checked.findings)
            click.echo(_summary_line(summary))
        failed = summary["errors"] > 0 or (strict and summary["warnings"] > 0)
        if failed and not summary["errors"] and fmt != "json":
            click.echo(f"--strict: the {summary['warnings']} warning(s) refuse the batch.")
        sys.exit(1 if failed else 0)


def _findings_json(findings: list[Finding], summary: dict[str, Any]) -> None:
    listed = [f.as_dict() for f in findings]
    for f, d in zip(findings, listed, strict=True):
        d["message"] = f.message
    click.echo(json.dumps({"findings": listed, "summary": summary}, indent=2))


def _summary_line(summary: dict[str, Any]) -> str:
    """The batch's counts, and the share reserve before and after it."""
    after = summary["available_after"]
    return (
        f"{summary['grants']} grant(s): {summary['ok']} ok, {summary['refused']} refused; "
        f"{summary['errors']} error(s), {summary['warnings']} warning(s), "
        f"{summary['notes']} note(s). Reserve {summary['reserve']:,}: "
        f"{summary['available_before']:,} available before this batch, "
        + (
            f"{after:,} after."
            if after >= 0
            else f"none after: {-after:,} more than the reserve in force on the "
            "batch's last grant date (grants before an amendment that reduced it were "
            "checked against the figure in force on their own dates)."
        )
    )


def _findings_table(findings: list[Any]) -> None:
    if not findings:
        click.echo("No findings: every grant complies with the plan.")
        return
    rows = [
        (
            "—" if f.row is None else str(f.row),
            f.column or "",
            f.grant_id or "",
            f.severity,
            f.rule,
            f.section,
            f.message,
        )
        for f in findings
    ]
    head = ("row", "column", "grant", "severity", "rule", "section", "finding")
    n = len(head) - 1
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(n)]
    for r in [head, *rows]:
        cells = [r[i].ljust(widths[i]) for i in range(n)]
        click.echo("  ".join([*cells, r[n]]).rstrip())


# --- columns, preview, check-templates (generator.cli_preview) ---------------------------------

from generator.cli_kit import approve_command, fields_command, init_command  # noqa: E402
from generator.cli_ledger import ledger_group  # noqa: E402
from generator.cli_preview import (  # noqa: E402
    check_templates_command,
    columns_command,
    preview_command,
)

main.add_command(columns_command, "columns")
main.add_command(preview_command, "preview")
main.add_command(check_templates_command, "check-templates")
main.add_command(ledger_group, "ledger")
main.add_command(init_command, "init")
main.add_command(approve_command, "approve")
main.add_command(fields_command, "fields")
