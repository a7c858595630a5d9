"""The grantgen command line: parse options, call the library, map errors to exit codes.

Exit codes: 0 success; 1 a grant was refused, a check failed, or the batch failed; 2 usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import click

from . import __version__
from .cliutil import errors, verbose
from .errors import GrantgenError
from .ledger import Ledger, ledger_path, parse_split
from .output import write_atomic
from .pipeline import GenerateOptions, GenerateResult, check_batch, generate
from .plan import load_plan
from .records import (
    ReadOptions,
    parse_date,
    parse_mapping,
    parse_rows,
    parse_where,
)

PLAN_HELP = "Plan terms (TOML). Default: the bundled data/plans/atg-1999.toml."
LEDGER_HELP = "Share ledger (SQLite). Default: $GRANTGEN_LEDGER or ./grantgen-ledger.sqlite."
PRICES_HELP = "Closing prices, a CSV of date,close (Section 5(b) check)."


class _LazyGroup(click.Group):
    """Commands whose modules load only when they run (signing pulls in pyHanko, which takes
    half a second to import: `generate` should not pay for it)."""

    lazy: ClassVar[dict[str, str]] = {
        "sign": "generator.cli_sign:sign_command",
        "verify": "generator.cli_sign:verify_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, name = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), name)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grantgen")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """grantgen turns a spreadsheet of stock-option grants into the Word agreements counsel
    reviews and signature-ready PDF packets (agreement, acceptance page, copy of the Plan),
    checking every grant against the plan first and keeping the share reserve in a ledger."""
    ctx.obj = {"verbose": verbose}


def _file(**kw: Any) -> click.Path:
    return click.Path(exists=True, dir_okay=False, path_type=Path, **kw)


plan_option = click.option("--plan", type=_file(), help=PLAN_HELP)
ledger_option = click.option(
    "--ledger", type=click.Path(dir_okay=False, path_type=Path), help=LEDGER_HELP
)
prices_option = click.option("--prices", type=_file(), help=PRICES_HELP)


def _read_options(
    sheet: str | None, mappings: tuple[str, ...], only: str | None, where: tuple[str, ...]
) -> ReadOptions:
    try:
        return ReadOptions(
            sheet=sheet,
            mapping=parse_mapping(mappings),
            only=parse_rows(only) if only else None,
            where=parse_where(where),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def read_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--sheet, --map, --only, --where: how to read the grants file."""
    for option in reversed(
        [
            click.option("--sheet", help="Excel: the sheet to read (default: the first)."),
            click.option(
                "--map",
                "mappings",
                multiple=True,
                metavar="'HEADER=column'",
                help="Read a header as a column, e.g. 'Director Name=participant' (repeatable; "
                "or a file of such lines).",
            ),
            click.option("--only", metavar="ROWS", help="Only these rows, e.g. 2-10,15."),
            click.option(
                "--where",
                multiple=True,
                metavar="column=value",
                help="Only rows whose column equals value, e.g. participant='Ann Lee'.",
            ),
        ]
    ):
        func = option(func)
    return func


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


# --- generate ------------------------------------------------------------------------------


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on a terminal (documents made, rate, time left); silent otherwise."""
    if quiet or not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    class Rate(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task: Any) -> Any:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:5.1f} docs/s" if speed else "     - docs/s")

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        Rate(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            label = {"render": "Word files", "assemble": "PDF packets"}.get(stage, stage)
            tasks[stage] = bar.add_task(f"{label:>11}", total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield show


def _report(result: GenerateResult, quiet: bool) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {warning['message']}", err=True)
    for error in result.errors:
        click.echo(f"error: {error['message']}", err=True)
    if not quiet:
        kind = "draft document(s)" if result.draft else "document(s)"
        click.echo(
            f"{len(result.documents)} {kind} made, {result.refused_rows} grant(s) refused, "
            f"in {result.seconds:.1f} s; output in {result.out} (manifest: {result.manifest})"
        )


@main.command("generate")
@click.argument("grants", type=_file())
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
    help="Folder with nso_agreement.docx, acceptance.docx and plan.docx. Default: bundled.",
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
    "--force",
    is_flag=True,
    help="Replace final documents that already exist with other content (never done silently).",
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
    force: bool,
    jobs: int,
    timeout: float,
    quiet: bool,
    sheet: str | None,
    mappings: tuple[str, ...],
    only: str | None,
    where: tuple[str, ...],
) -> None:
    """Make a Word agreement and a signature-ready PDF packet for every grant in GRANTS.

    GRANTS is a CSV file, one grant per row (columns: grant_id, participant, address,
    grant_date, shares, exercise_price, award_type, is_employee, substitute,
    fair_market_value, final_exercise_date). Every grant is first checked against the plan
    (as `grantgen validate` does); a grant with an error gets no documents. For each good row,
    OUT gets <grant_id>.docx (agreement + acceptance page, for counsel) and <grant_id>.pdf
    (agreement, acceptance page and the Plan, with empty signature fields), and the grant is
    recorded in the ledger in the same transaction. manifest.json lists documents and errors.

    Exit status: 0 all grants made, 1 any grant refused or failed, 2 usage error.
    """
    reading = _read_options(sheet, mappings, only, where)
    with errors(verbose()):
        if strict:
            checked = check_batch(grants, plan, prices, ledger, documents=True, read=reading)
            if checked.report.count("warning"):
                for f in checked.findings:
                    click.echo(f"{f.severity}: {f}", err=True)
                click.echo("error: --strict: warnings found; nothing was generated", err=True)
                sys.exit(1)
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
            jobs=jobs,
            timeout=timeout,
            read=reading,
        )
        with _progress(quiet) as progress:
            result = generate(options, progress=progress)
        _report(result, quiet)
        sys.exit(1 if result.errors else 0)


# --- validate ------------------------------------------------------------------------------


@main.command("validate")
@click.argument("grants", type=_file())
@prices_option
@plan_option
@ledger_option
@format_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@read_options
def validate_command(
    grants: Path,
    prices: Path | None,
    plan: Path | None,
    ledger: Path | None,
    fmt: str,
    strict: bool,
    sheet: str | None,
    mappings: tuple[str, ...],
    only: str | None,
    where: tuple[str, ...],
) -> None:
    """Check every grant in GRANTS against the plan, the prices and the ledger; make nothing.

    Reports every finding (never stopping at the first), each with its row, rule and the plan
    section it cites, plus the share reserve before and after the batch. Exit 0 when there is
    no error (warnings pass unless --strict), 1 when there is.
    """
    reading = _read_options(sheet, mappings, only, where)
    with errors(verbose()):
        checked = check_batch(grants, plan, prices, ledger, read=reading)
        summary = checked.summary()
        if fmt == "json":
            findings = [f.as_dict() for f in checked.findings]
            for f, d in zip(checked.findings, findings, strict=True):
                d["message"] = f.message
            click.echo(json.dumps({"findings": findings, "summary": summary}, indent=2))
        else:
            _findings_table(checked.findings)
            click.echo(
                f"{summary['grants']} grant(s): {summary['ok']} ok, {summary['refused']} refused; "
                f"{summary['errors']} error(s), {summary['warnings']} warning(s), "
                f"{summary['notes']} note(s). Reserve {summary['reserve']:,}: "
                f"{summary['available_before']:,} available before this batch, "
                f"{summary['available_after']:,} after."
            )
        failed = summary["errors"] > 0 or (strict and summary["warnings"] > 0)
        sys.exit(1 if failed else 0)


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


# --- ledger --------------------------------------------------------------------------------


@main.group("ledger")
def ledger_group() -> None:
    """The share ledger: what the plan's reserve holds, forfeitures, Section 8 adjustments."""


def _day(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@ledger_group.command("show")
@plan_option
@ledger_option
@format_option
def ledger_show(plan: Path | None, ledger: Path | None, fmt: str) -> None:
    """Print the reserve, the shares used and available, per award type."""
    with errors(verbose()):
        terms = load_plan(plan)
        with Ledger(ledger_path(ledger), create=False) as book:
            pool = book.pool(terms)
            history = book.history(terms.id)
        data = {
            "plan": terms.id,
            "reserve": pool.reserve,
            "used": pool.used,
            "available": pool.available,
            "non_option_cap": pool.non_option_cap,
            "non_option_used": pool.non_option_used,
            "non_option_available": pool.non_option_available,
            "by_award_type": pool.by_type,
            "grants": len(pool.known),
            "adjustments": history,
        }
        if fmt == "json":
            click.echo(json.dumps(data, indent=2))
            return
        click.echo(f"Plan {terms.id}: {terms.name}")
        click.echo(f"  reserve (Section {terms.section('reserve')}): {pool.reserve:>12,}")
        click.echo(f"  used:                       {pool.used:>12,}")
        click.echo(f"  available:                  {pool.available:>12,}")
        click.echo(
            f"  other than options (Section {terms.section('non_option_cap')}): "
            f"{pool.non_option_used:,} used of {pool.non_option_cap:,}"
        )
        for kind, shares in sorted(pool.by_type.items()):
            click.echo(f"  {kind:<26}{shares:>14,}")
        for adj in history:
            click.echo(
                f"  split {adj['ratio']} on {adj['day']}: reserve "
                f"{adj['reserve_before']:,} -> {adj['reserve_after']:,}"
            )


@ledger_group.command("forfeit")
@click.argument("grant_id")
@click.option("--shares", type=click.IntRange(min=1), required=True, help="Shares returned.")
@click.option("--date", "day", required=True, help="Date of the forfeiture/expiry/cancellation.")
@plan_option
@ledger_option
def ledger_forfeit(
    grant_id: str, shares: int, day: str, plan: Path | None, ledger: Path | None
) -> None:
    """Return forfeited, expired or cancelled shares of GRANT_ID to the pool (Section 4(a))."""
    with errors(verbose()):
        terms = load_plan(plan)
        with Ledger(ledger_path(ledger)) as book:
            left = book.forfeit(terms, grant_id, shares, _day(day))
            pool = book.pool(terms)
        click.echo(
            f"{shares:,} share(s) of {grant_id} returned to the pool; {left:,} outstanding; "
            f"{pool.available:,} available under the plan"
        )


@ledger_group.command("adjust")
@click.option("--split", required=True, help="Split ratio NEW:OLD, e.g. 2:1 (or 1:10 reverse).")
@click.option("--date", "day", required=True, help="Effective date of the split.")
@plan_option
@ledger_option
def ledger_adjust(split: str, day: str, plan: Path | None, ledger: Path | None) -> None:
    """Section 8: adjust the reserve, the caps and every outstanding award for a stock split.

    Shares are multiplied by NEW/OLD and rounded down to whole shares (fractions dropped);
    exercise prices are divided by it and rounded up to the cent. Old values stay in history.
    """
    with errors(verbose()):
        terms = load_plan(plan)
        try:
            new, old = parse_split(split)
        except GrantgenError as exc:
            raise click.BadParameter(str(exc), param_hint="--split") from None
        with Ledger(ledger_path(ledger)) as book:
            change = book.adjust(terms, new, old, _day(day))
        click.echo(
            f"split {new}:{old} recorded; reserve {change['reserve_before']:,} -> "
            f"{change['reserve_after']:,}"
        )


@ledger_group.command("export")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="CSV file.")
@plan_option
@ledger_option
def ledger_export(out: Path | None, plan: Path | None, ledger: Path | None) -> None:
    """Write every recorded grant as CSV (to stdout, or --out); import reads it back."""
    with errors(verbose()):
        terms = load_plan(plan)
        with Ledger(ledger_path(ledger), create=False) as book:
            text = book.export_csv(terms.id)
        if out is None:
            click.echo(text, nl=False)
        else:
            write_atomic(out, text.encode("utf-8"))


@ledger_group.command("import")
@click.argument("csv_file", type=_file())
@plan_option
@ledger_option
def ledger_import(csv_file: Path, plan: Path | None, ledger: Path | None) -> None:
    """Bring an existing grant history (CSV, as export writes it) into the ledger."""
    with errors(verbose()):
        terms = load_plan(plan)
        with Ledger(ledger_path(ledger)) as book:
            done = book.import_csv(terms, csv_file.read_text(encoding="utf-8-sig"))
        click.echo(f"{len(done.added)} grant(s) imported, {len(done.already)} already present")


# --- columns, preview, check-templates (generator.cli_preview) ---------------------------------

from .cli_preview import (  # noqa: E402
    check_templates_command,
    columns_command,
    preview_command,
)

main.add_command(columns_command, "columns")
main.add_command(preview_command, "preview")
main.add_command(check_templates_command, "check-templates")
