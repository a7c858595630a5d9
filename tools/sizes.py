"""Check the package stays readable in a sitting: no module over MODULE_LINES lines and no
function over FUNCTION_LINES (from its ``def`` to its last line). ``make lint`` runs it.

usage: python tools/sizes.py [PACKAGE_DIR]   (default: generator)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES = 500
FUNCTION_LINES = 80


def problems(package: Path) -> list[str]:
    """Each module or function over its limit, as ``path:line: what``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            found.append(f"{path}:1: {lines} lines (at most {MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_LINES:
                    found.append(
                        f"{path}:{node.lineno}: {node.name} is {size} lines "
                        f"(at most {FUNCTION_LINES})"
                    )
    return found


def main() -> int:
    package = Path(sys.argv[1] if len(sys.argv) > 1 else "generator")
    found = problems(package)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
