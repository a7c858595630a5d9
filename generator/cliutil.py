"""What every command shares: errors as one line and an exit code, tracebacks on --verbose."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .errors import GrantgenError


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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
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
