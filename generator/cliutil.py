"""What every command shares: errors as one line and an exit code (tracebacks on --verbose),
the options several commands take, a progress bar."""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from generator.core.errors import GrantgenError, Terminated
from generator.reading.columns import ReadOptions, parse_mapping, parse_rows, parse_where

PLAN_HELP = (
    "The form kit: its folder, or its plan file (TOML). Default: the bundled example "
    "(data/plans/atg-1999.toml)."
)
LEDGER_HELP = "Share ledger (SQLite). Default: $GRANTGEN_LEDGER or ./grantgen-ledger.sqlite."
PRICES_HELP = "Closing prices, a CSV of date,close (the exercise-price check)."


def verbose() -> bool:
    """Whether ``grantgen --verbose`` was given (read from the root context)."""
    ctx = click.get_current_context()
    return bool((ctx.find_root().obj or {}).get("verbose"))


@contextmanager
def errors(verbose: bool) -> Iterator[None]:
    """Turn grantgen errors into a one-line message and an exit code (traceback: --verbose)."""
    if not verbose:  # pyHanko logs validation details; the report says what matters
        for name in ("pyhanko", "pyhanko_certvalidator"):
            logging.getLogger(name).addHandler(logging.NullHandler())
    try:
        yield
    except GrantgenError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Terminated:  # SIGTERM (see generator.entry)
        click.echo("terminated", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    except click.ClickException:
        raise  # usage errors: click prints them and exits 2
    except Exception as exc:  # an unexpected failure is still one line unless --verbose
        if verbose:
            traceback.print_exc()
        else:
            click.echo(
                f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)",
                err=True,
            )
        sys.exit(1)


# --- options shared by several commands -----------------------------------------------------


def existing_file(**kw: Any) -> click.Path:
    return click.Path(exists=True, dir_okay=False, path_type=Path, **kw)


plan_option = click.option("--plan", type=click.Path(exists=True, path_type=Path), help=PLAN_HELP)
ledger_option = click.option(
    "--ledger", type=click.Path(dir_okay=False, path_type=Path), help=LEDGER_HELP
)
prices_option = click.option("--prices", type=existing_file(), help=PRICES_HELP)


trust_option = click.option(
    "--trust",
    multiple=True,
    type=existing_file(),
    help="Root certificate (PEM or DER) to trust for signers and time-stamps; repeatable. "
    "There is no default trust store.",
)
any_signer_option = click.option(
    "--any-signer",
    is_flag=True,
    help="Do not require the certificate of the Company's signature to name the signing "
    "officer, nor that of a participant's to name the grant's participant: `sign` signs all "
    "the same (a warning); `verify` and `accept` do not check who signed.",
)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


consent_date_option = click.option(
    "--consent-date",
    metavar="YYYY-MM-DD",
    callback=lambda ctx, param, value: _day(value),
    help="The date the Board consent is dated and effective (default: the batch's first "
    "grant date); a grant dated before it is refused (rule consent-date): the Board cannot "
    "grant retroactively.",
)


def make_read_options(
    sheet: str | None,
    mappings: tuple[str, ...],
    only: str | tuple[str, ...] | None,
    where: tuple[str, ...],
) -> ReadOptions:
    option = "--map"
    try:
        mapping = parse_mapping(mappings)
        option = "--only"
        if isinstance(only, tuple):  # --only given several times: all of those rows
            only = ",".join(only)
        rows = parse_rows(only) if only else None
        option = "--where"
        return ReadOptions(sheet=sheet, mapping=mapping, only=rows, where=parse_where(where))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None


sheet_option = click.option(
    "--sheet", help="Excel: the sheet to read (default: the first visible one)."
)
map_option = click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="'HEADER=column'",
    help="Read a header as a column, e.g. 'Director Name=participant' (repeatable; or a file "
    "of such lines).",
)


def read_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--sheet, --map, --only, --where: how to read the grants file, given to the command as
    ``read`` (a :class:`ReadOptions`; a value that cannot be read is a usage error)."""

    @functools.wraps(func)
    def command(
        *args: Any,
        sheet: str | None,
        mappings: tuple[str, ...],
        only: tuple[str, ...],
        where: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        return func(*args, read=make_read_options(sheet, mappings, only, where), **kwargs)

    for option in reversed(
        [
            sheet_option,
            map_option,
            click.option(
                "--only",
                multiple=True,
                metavar="ROWS",
                help="Only these rows, e.g. 2-10,15 (repeatable: all the rows given).",
            ),
            click.option(
                "--where",
                multiple=True,
                metavar="column=value",
                help="Only rows whose column equals value, e.g. participant='Ann Lee' "
                "(repeatable: rows matching every one).",
            ),
        ]
    ):
        command = option(command)
    return command


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
table_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
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
