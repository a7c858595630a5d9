"""The ``grantgen`` console script: the command line, and a quiet Ctrl-C even while the
libraries are still loading (before :mod:`generator.cli` can catch anything)."""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    main()
