"""The command-line reference (docs/cli.md), written from the commands' own ``--help``.

docs/cli.md holds a cog block calling :func:`reference`; ``make docs`` rewrites it and
``make lint`` checks it is current (``cog --check``), so the reference cannot drift from the
help a user sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

WIDTH = 96


def _commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[list[str], click.Command]]:
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield [name], command
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            for path, inner in _commands(command, sub):
                yield [name, *path], inner


def reference() -> str:
    """Every command's help, as Markdown: a heading and the help text in a block each."""
    from generator.cli import main

    root = click.Context(
        main,
        info_name="grantgen",
        terminal_width=WIDTH,
        max_content_width=WIDTH,
        **main.context_settings,
    )
    parts = [f"## `grantgen`\n\n```text\n{main.get_help(root)}\n```\n"]
    for path, command in _commands(main, root):
        ctx = click.Context(command, info_name=" ".join(path), parent=root)
        parts.append(f"## `grantgen {' '.join(path)}`\n\n```text\n{command.get_help(ctx)}\n```\n")
    return "\n" + "\n".join(parts) + "\n"
