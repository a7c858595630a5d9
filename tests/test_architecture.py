"""The package's shape, checked in ``make test`` as well as ``make lint``: the stages import one
way with no cycle (import-linter's contracts in pyproject.toml), no module is over 500 lines and
no function over 80 (tools/sizes.py), and the folder tree names each stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def _sizes() -> object:
    sys.path.insert(0, str(ROOT))
    try:
        from tools import sizes
    finally:
        sys.path.remove(str(ROOT))
    return sizes


def test_the_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_no_module_or_function_is_too_long_to_read_in_a_sitting(tmp_path: Path) -> None:
    sizes = _sizes()
    assert sizes.problems(ROOT / "generator") == []  # type: ignore[attr-defined]
    long_function = "def f():\n" + "    x = 1\n" * 90
    (tmp_path / "big.py").write_text(long_function + "y = 2\n" * 420, encoding="utf-8")
    found = sizes.problems(tmp_path)  # type: ignore[attr-defined]
    assert [line.split(": ", 1)[1] for line in found] == [
        "511 lines (at most 500)",
        "f is 91 lines (at most 80)",
    ]


def test_the_folder_tree_names_every_stage() -> None:
    stages = {p.name for p in (ROOT / "generator").iterdir() if (p / "__init__.py").is_file()}
    for stage in (
        "reading", "checking", "rendering", "converting", "assembling", "publishing",
        "reviewing", "signing",
    ):  # fmt: skip
        assert stage in stages
        assert (ROOT / "generator" / stage / "__init__.py").read_text(encoding="utf-8").strip()
