"""The ``grantgen`` console script: the command line, and a quiet Ctrl-C even while the
libraries are still loading (before :mod:`generator.cli` can catch anything)."""

from __future__ import annotations

import signal
import sys
import warnings

from generator.core.errors import Terminated


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def run() -> None:
    signal.signal(signal.SIGTERM, _terminate)  # kill PID: cleaned up like Ctrl-C
    # pyHanko imports cryptography's DSA, which warns on every import: nothing a user can act
    # on, and it would print on every --help, sign and verify
    warnings.filterwarnings("ignore", message="DSA is deprecated", category=Warning)
    try:
        from generator.cli import main
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        sys.stderr.write("terminated\n" if terminated else "interrupted\n")
        sys.exit(143 if terminated else 130)
    main()
