"""The command line, through click's CliRunner (and once as `python -m generator`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from generator.cli import main
from generator.core.resources import templates_dir

from .conftest import ROOT, grant, pdftotext_words, write_csv


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command path: [], ["generate"], ["ledger"], ["ledger", "show"], ..."""
    out = [list(prefix)]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            out += commands(command, (*prefix, name))
        else:
            out.append([*prefix, name])
    return out


def command_at(path: list[str]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


@pytest.mark.parametrize("args", commands(), ids=lambda a: " ".join(a) or "grantgen")
def test_every_command_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Usage:" in result.output
    help_text = command_at(args).help
    assert help_text and len(help_text) > 40


@pytest.mark.parametrize("args", [a for a in commands() if a], ids=" ".join)
def test_readme_documents_every_command(args: list[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"grantgen {' '.join(args)}" in readme


def test_readme_gives_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme


def _readme_example(command: str) -> list[str]:
    """The lines README shows for ``$ command`` (its console block), less the elisions."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"$ {command}\n") + len(command) + 3
    block = text[start : text.index("```", start)]
    return [" ".join(line.split()) for line in block.splitlines() if line and line != "..."]


@pytest.mark.parametrize(
    "command",
    [
        "grantgen validate data/grants/examples/check.csv --prices "
        "data/prices/atg-sample-prices.csv",
        "grantgen generate data/grants/examples/bad.csv --out out --accept-samples",
    ],
)
def test_readme_examples_print_what_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh folder: no ledger, no out/
    for name in ("data",):
        (tmp_path / name).symlink_to(ROOT / name)
    done = subprocess.run(
        [sys.executable, "-m", "generator", *command.split()[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={  # as a user runs it: the bundled plan's sample values not accepted
            **{k: v for k, v in os.environ.items() if k != "GRANTGEN_ACCEPT_SAMPLES"},
            "PYTHONPATH": str(ROOT),
        },
    )
    assert done.returncode == 1, done.stderr
    printed = [" ".join(line.split()) for line in (done.stdout + done.stderr).splitlines()]
    timed = re.compile(r" in \d+\.\d s;")
    printed = [timed.sub(" in 0.0 s;", line) for line in printed]
    for line in _readme_example(command):
        assert timed.sub(" in 0.0 s;", line) in printed, line


def test_python_dash_m_generator_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "generator", "--help"], capture_output=True, text=True, check=True
    )
    assert "generate" in out.stdout


def test_bad_rows_exit_1_name_row_and_column_and_good_rows_are_made(
    tmp_path: Path, soffice: str
) -> None:
    rows = [
        grant(grant_id="GOOD-1", participant="Ann Lee"),
        grant(grant_id="BAD-DATE", grant_date="13/45/2005"),
        grant(grant_id="BAD-NUM", shares="1e6"),
        grant(grant_id="NO-NAME", participant=""),
        grant(grant_id="EMPLOYEE", is_employee="yes"),
        grant(grant_id="GOOD-2", participant="Bo Chen"),
    ]
    grants = write_csv(tmp_path / "g.csv", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["generate", str(grants), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 1
    err = result.stderr
    assert "row 3, column grant_date" in err and "13/45/2005" in err
    assert "row 4, column shares" in err and "1e6" in err
    assert "row 5, column participant: a value is required" in err
    assert "row 6, column is_employee" in err and "Plan Section 2" in err
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.glob("*.pdf")) == ["GOOD-1.pdf", "GOOD-2.pdf"]
    assert sorted(p.name for p in out.glob("*.docx")) == ["GOOD-1.docx", "GOOD-2.docx"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [d["grant_id"] for d in manifest["documents"]] == ["GOOD-1", "GOOD-2"]
    assert [(e["row"], e["column"]) for e in manifest["errors"]] == [
        (3, "grant_date"),
        (4, "shares"),
        (5, "participant"),
        (6, "is_employee"),
    ]
    assert all(set(e) >= {"row", "column", "grant_id", "message"} for e in manifest["errors"])
    assert "2 document(s) made, 4 grant(s) refused" in result.stdout


def test_all_good_rows_exit_0(tmp_path: Path, soffice: str) -> None:
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="ONE")])
    result = CliRunner().invoke(main, ["generate", str(grants), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert (tmp_path / "o" / "ONE.pdf").is_file()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["generate", str(tmp_path / "missing.csv")]).exit_code == 2
    grants = write_csv(tmp_path / "g.csv", [grant()])
    assert runner.invoke(main, ["generate", str(grants), "--jobs", "-1"]).exit_code == 2
    assert runner.invoke(main, ["nonsense"]).exit_code == 2


def test_missing_libreoffice_is_one_line_and_traceback_only_with_verbose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRANTGEN_SOFFICE", str(tmp_path / "no-soffice"))
    grants = write_csv(tmp_path / "g.csv", [grant()])
    args = ["generate", str(grants), "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install libreoffice" in lines[0]
    verbose = CliRunner().invoke(main, ["--verbose", *args])
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr
    after = CliRunner().invoke(main, [*args, "--verbose"])  # after the command, too
    assert after.exit_code == 1 and "Traceback" in after.stderr, after.output


@pytest.mark.parametrize("args", [a for a in commands() if a], ids=" ".join)
def test_verbose_is_accepted_after_every_command(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "-v", "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_verbose_after_a_ledger_command_shows_the_traceback(tmp_path: Path) -> None:
    not_a_ledger = tmp_path / "l.sqlite"
    not_a_ledger.write_text("participant\n")
    args = ["ledger", "show", "--ledger", str(not_a_ledger)]
    quiet = CliRunner().invoke(main, args)
    assert quiet.exit_code == 1 and "Traceback" not in quiet.stderr
    for flag in ("--verbose", "-v"):
        loud = CliRunner().invoke(main, [*args, flag])
        assert loud.exit_code == 1 and "Traceback" in loud.stderr, loud.output


def test_bad_file_level_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "g.csv"
    bad.write_text("who,when\nA,B\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["generate", str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "missing required column(s): participant, grant_date" in result.stderr
    assert "Traceback" not in result.output


def copy_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder)
    return folder


def test_template_with_an_unknown_field_is_refused_naming_field_and_file(
    tmp_path: Path, soffice: str
) -> None:
    folder = copy_templates(tmp_path)
    d = docx.Document(str(folder / "nso_agreement.docx"))
    d.paragraphs[-1].add_run(" Vesting: {{ vesting_scheme }}.")
    d.save(str(folder / "nso_agreement.docx"))
    grants = write_csv(tmp_path / "g.csv", [grant()])
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main, ["generate", str(grants), "-o", str(out), "--templates", str(folder)]
    )
    assert result.exit_code == 1
    assert "vesting_scheme" in result.stderr and "nso_agreement.docx" in result.stderr
    assert not list(out.glob("*.pdf")) and not list(out.glob("*.docx"))


def test_signature_field_follows_a_moved_signature_block(tmp_path: Path, soffice: str) -> None:
    """Push the Company's signature block down a page: the field must move with its line."""
    folder = copy_templates(tmp_path)
    d = docx.Document(str(folder / "nso_agreement.docx"))
    table = d.tables[0]._tbl
    for _ in range(18):
        table.addprevious(d.add_paragraph("")._p)
    d.save(str(folder / "nso_agreement.docx"))
    grants = write_csv(tmp_path / "g.csv", [grant(grant_id="MOVED")])
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main, ["generate", str(grants), "-o", str(out), "--templates", str(folder)]
    )
    assert result.exit_code == 0, result.output
    pdf = out / "MOVED.pdf"
    reader = PdfReader(pdf)
    for index, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            a = annot.get_object()
            if a["/T"] != "company_signature":
                continue
            words = pdftotext_words(pdf, index + 1)
            by = next(w for w in words if w[0] == "By:")
            line = max(
                (w for w in words if set(w[0]) == {"_"} and abs(w[1] - by[1]) < 5 and w[4] < by[2]),
                key=lambda w: w[4],
            )
            rect = [float(v) for v in a["/Rect"]]
            assert rect[0] <= line[1] + 1 and rect[2] >= line[3] - 1
            assert rect[1] <= line[2] + 2 and rect[3] >= line[4]
            assert index == 2, "the edit was meant to push the block onto page 3"
            return
    raise AssertionError("no company_signature field")


def test_template_without_a_signature_line_is_a_clear_error(tmp_path: Path, soffice: str) -> None:
    folder = copy_templates(tmp_path)
    d = docx.Document(str(folder / "acceptance.docx"))
    for p in d.tables[0].rows[0].cells[1].paragraphs:
        if p.text == "PARTICIPANT:":
            p.runs[0].text = "SIGNED:"
    d.save(str(folder / "acceptance.docx"))
    grants = write_csv(tmp_path / "g.csv", [grant()])
    result = CliRunner().invoke(
        main, ["generate", str(grants), "-o", str(tmp_path / "o"), "--templates", str(folder)]
    )
    assert result.exit_code == 1
    assert "participant_signature" in result.stderr and "PARTICIPANT:" in result.stderr


def test_the_cli_reference_in_docs_is_the_commands_own_help() -> None:
    """docs/cli.md is generated from --help (make docs); a command changed without it is
    caught here as well as by make lint."""
    sys.path.insert(0, str(ROOT))
    try:
        from tools.clidoc import reference
    finally:
        sys.path.remove(str(ROOT))
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    generated = text.split("]]] -->", 1)[1].split("<!-- [[[end]]]", 1)[0]
    assert generated.removeprefix("\n") == reference(), "docs/cli.md is out of date: make docs"


def test_the_readme_stays_a_newcomers_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    for page in ("kits", "cli", "commands", "after-signing", "guarantees", "speed", "design"):
        assert f"docs/{page}.md" in readme and (ROOT / "docs" / f"{page}.md").is_file()
