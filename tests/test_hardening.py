"""Regression tests for findings of the adversarial trial (issue 18), each named after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.errors import InputError
from generator.reading.records import read_grants

from .conftest import grant, write_csv


def test_grant_ids_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "g.csv",
        [grant(grant_id="CASE-1"), grant(grant_id="case-1", participant="Bo Ng")],
    )
    result = read_grants(path)
    assert [r.grant_id for r in result.records] == ["CASE-1"]
    (error,) = result.errors
    assert error.row == 3 and "'CASE-1', the same id in other capitals" in str(error)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_timeout_nan_and_inf_are_refused(tmp_path: Path, value: str) -> None:
    path = write_csv(tmp_path / "g.csv", [grant()])
    result = CliRunner().invoke(main, ["generate", str(path), "--timeout", value])
    assert result.exit_code == 2 and "--timeout" in result.output


def test_a_fifo_or_a_device_as_grants_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "grants.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(InputError, match="not a regular file"):
            read_grants(path)  # at once: nothing is opened, so nothing blocks


def test_no_cryptography_warning_on_help_sign_and_verify() -> None:
    for args in (["--help"], ["sign", "--help"], ["verify", "--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "generator", *args], capture_output=True, text=True
        )
        assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr


def test_a_grant_id_the_ledger_holds_in_other_capitals_is_refused(tmp_path: Path) -> None:
    from generator.checking.ledger import Ledger
    from generator.checking.ledgerentry import Entry
    from generator.pipeline import check_batch
    from generator.terms.plan import load_plan

    plan = load_plan()
    first = read_grants(write_csv(tmp_path / "a.csv", [grant(grant_id="CASE-1")])).records
    with Ledger(tmp_path / "l.sqlite") as book:
        book.record(plan, [Entry(first[0], True, None)])
        again = read_grants(write_csv(tmp_path / "b.csv", [grant(grant_id="case-1")])).records
        refused = book.record(plan, [Entry(again[0], True, None)])
    assert "other capitals" in refused.refused["case-1"].message
    checked = check_batch(tmp_path / "b.csv", ledger=tmp_path / "l.sqlite")
    assert any(f.rule == "ledger-conflict" and "CASE-1" in f.message for f in checked.findings)


@pytest.mark.soffice
def test_the_kept_libreoffice_starts_from_an_activated_venv_of_a_non_system_python(
    soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``source .venv/bin/activate`` puts the venv's python3 first on PATH; LibreOffice's
    embedded Python took its home from it and aborted (the kept mode silently lost)."""
    import time

    from generator.converting.converter import Converter

    venv_bin = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", venv_bin + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("VIRTUAL_ENV", str(Path(sys.executable).parent.parent))
    monkeypatch.setenv("PYTHONPATH", venv_bin)
    with Converter(jobs=1) as converter:
        converter.warm()
        for _ in range(100):  # warm() starts it in the background
            if converter._workers[0].session is not None:
                break
            time.sleep(0.1)
        assert converter._workers[0].session is not None
        env = converter._env
    assert env["PATH"].split(os.pathsep)[0] != venv_bin
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env


def test_no_lock_on_the_output_folder_a_second_run_is_refused(tmp_path: Path) -> None:
    """A generate (or sign) into a folder another grantgen run holds is refused at once,
    with a clear error, and writes nothing there."""
    from generator.core.output import folder_lock

    out = tmp_path / "out"
    out.mkdir()
    path = write_csv(tmp_path / "g.csv", [grant()])
    with folder_lock(out):
        result = CliRunner().invoke(
            main, ["generate", str(path), "--out", str(out), "--ledger", str(tmp_path / "l")]
        )
        from generator.core.errors import OutputError
        from generator.signing.signing import sign_batch

        with pytest.raises(OutputError, match="in use by another grantgen run"):
            sign_batch(out, None)  # type: ignore[arg-type]  # (refused before it is used)
    assert result.exit_code == 1 and "is in use by another grantgen run" in result.output
    assert list(out.iterdir()) == [] and not (tmp_path / "l").exists()
    with folder_lock(out):  # released: held again at once
        pass


def test_symlinks_followed_review_superseded_and_journal_links_are_refused(
    tmp_path: Path,
) -> None:
    """A review/ or superseded/ link in the batch folder, or a signing journal linked to a
    user's file, is refused: nothing is written through a link."""
    from generator.core.errors import OutputError
    from generator.core.output import own_folder
    from generator.core.superseded import set_aside
    from generator.signing.signjobs import append_line

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "review").symlink_to(outside)
    with pytest.raises(OutputError, match="symbolic link"):
        own_folder(batch / "review")
    (batch / "superseded").symlink_to(outside)
    packet = batch / "P-1.signed.pdf"
    packet.write_bytes(b"%PDF-1.7 signed")
    with pytest.raises(OutputError, match="symbolic link"):
        set_aside(packet)
    assert packet.read_bytes() == b"%PDF-1.7 signed" and list(outside.iterdir()) == []
    mine = outside / "notes.txt"
    mine.write_text("mine\n")
    (batch / ".manifest.json.signing").symlink_to(mine)
    with pytest.raises(OutputError, match="symbolic link"):
        append_line(batch / ".manifest.json.signing", "{}")
    assert mine.read_text() == "mine\n"


@pytest.mark.soffice
def test_generate_refuses_a_review_link_and_writes_nothing_outside(
    tmp_path: Path, soffice: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "review").symlink_to(outside)
    path = write_csv(tmp_path / "g.csv", [grant()])
    result = CliRunner().invoke(
        main,
        ["generate", str(path), "--out", str(out), "--ledger", str(tmp_path / "l"), "--draft"],
    )
    assert list(outside.iterdir()) == []
    assert "symbolic link" in result.output


def test_a_users_own_manifest_and_review_are_not_overwritten(tmp_path: Path) -> None:
    from generator.pipeline import foreign_folder

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"shipment": 7}')
    path = write_csv(tmp_path / "g.csv", [grant()])
    result = CliRunner().invoke(
        main, ["generate", str(path), "--out", str(mine), "--ledger", str(tmp_path / "l")]
    )
    assert result.exit_code == 1 and "is not a grantgen batch folder" in result.output
    assert (mine / "manifest.json").read_text() == '{"shipment": 7}'
    assert sorted(p.name for p in mine.iterdir()) == ["manifest.json"]
    (mine / "manifest.json").unlink()
    (mine / "review").mkdir()
    (mine / "review" / "notes.html").write_text("<p>mine</p>")
    assert "'notes.html', not a file of a grantgen review" in (foreign_folder(mine) or "")
    (mine / "review" / "notes.html").unlink()
    (mine / "review" / "summary.html").write_text("<p>a killed run's</p>")
    (mine / "review" / ".packet.pdf.1a2b3c4d.part").write_bytes(b"%PDF")
    assert foreign_folder(mine) is None  # what a first run killed before its manifest left
    (mine / "manifest.json").write_text('{"generator": "grantgen 0.1.0", "documents": []}')
    assert foreign_folder(mine) is None  # a batch's folder


@pytest.mark.parametrize(
    ("tag", "says"),
    [
        ("{{ 10 ** (10 ** 9) }}", "too large"),
        ("{{ 7 ** 100000 }}", "too large"),
        ("{{ 'x' * (10 ** 9) }}", "repeated"),
        ("{{ (10 ** 1000) * (10 ** 1000) }}", "too large"),
    ],
)
def test_hostile_templates_hang_arithmetic_is_bounded(tag: str, says: str) -> None:
    import time

    from generator.core.errors import TemplateError
    from generator.rendering.render import DocumentTemplate

    started = time.monotonic()
    with pytest.raises(TemplateError, match=says) as caught:
        DocumentTemplate("hostile.docx", _docx_with(tag)).render({}, {})
    assert "hostile.docx" in str(caught.value) and time.monotonic() - started < 10


def test_hostile_templates_hang_a_long_loop_is_stopped_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from generator.core.errors import TemplateError
    from generator.rendering.render import DocumentTemplate

    monkeypatch.setenv("GRANTGEN_RENDER_SECONDS", "1")
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateError, match="took more than 1 s to render"):
        DocumentTemplate("loops.docx", _docx_with(loop)).render({}, {})
    assert time.monotonic() - started < 10


def _docx_with(text: str) -> bytes:
    import io

    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _split_plan(reserve: int, cap: int) -> Any:
    from dataclasses import replace

    from generator.terms.plan import load_plan

    plan = load_plan()
    return replace(plan, reserve=reserve, non_option_cap=cap, amendments=())


def _entry(plan: Any, gid: str, shares: int, kind: str = "option") -> Any:
    from datetime import date
    from decimal import Decimal

    from generator.checking.ledgerentry import Entry
    from generator.reading.grantrecord import GrantRecord

    row = 2 + int("".join(c for c in gid if c.isdigit()) or 0)
    rec = GrantRecord(row, gid, f"Director {gid}", date(2005, 5, 16), shares, Decimal("3.25"),
                      award_type=kind)  # fmt: skip
    return Entry(rec, plan.is_option(kind), date(2015, 5, 16), "test")


@pytest.mark.parametrize("ratio", [(3, 2), (2, 1), (5, 3), (1, 2)])
def test_reserve_exceeded_after_a_split_one_share_grants_fill_the_reserve_exactly(
    tmp_path: Path, ratio: tuple[int, int]
) -> None:
    """Issue 18 #3: grants dated before a recorded split are checked in the shares of their
    date: on a 10-share plan, ten one-share grants fit and the eleventh is refused, whatever
    fractions the split drops (the rules and the recording transaction agree)."""
    from datetime import date

    from generator.checking.batchcheck import check
    from generator.checking.ledger import Ledger

    plan = _split_plan(10, 10)
    with Ledger(tmp_path / "l.sqlite") as book:
        book.adjust(plan, *ratio, date(2007, 1, 1))
        entries = [_entry(plan, f"G-{n:02d}", 1) for n in range(15)]
        report = check([e.record for e in entries], plan, None, book.pool(plan))
        refused = [f.row for f in report.findings if f.rule == "reserve"]
        assert refused == [e.record.row for e in entries[10:]]
        done = book.record(plan, entries)
        assert done.added == [f"G-{n:02d}" for n in range(10)]
        assert sorted(done.refused) == [f"G-{n:02d}" for n in range(10, 15)]
        why = done.refused["G-10"]
        assert (why.rule, why.section, why.column) == ("reserve", plan.section("reserve"), "shares")
        assert (
            "exceeds the 0 " in why.message or "0 of the 10 in force on 2005-05-16" in why.message
        )


def test_reserve_exceeded_after_a_split_799999_plus_1_plus_1_is_refused(tmp_path: Path) -> None:
    from datetime import date

    from generator.checking.batchcheck import check
    from generator.checking.ledger import Ledger

    plan = _split_plan(800_000, 100_000)
    with Ledger(tmp_path / "l.sqlite") as book:
        book.adjust(plan, 3, 2, date(2007, 1, 1))
        entries = [_entry(plan, "BIG", 799_999), _entry(plan, "ONE", 1), _entry(plan, "TWO", 1)]
        report = check([e.record for e in entries], plan, None, book.pool(plan))
        errors = [(f.rule, f.section) for f in report.findings if f.severity == "error"]
        assert errors == [("reserve", plan.section("reserve"))]
        assert "0 of the 800,000 in force on 2005-05-16" in str(report.findings)
        done = book.record(plan, entries)
        assert done.added == ["BIG", "ONE"] and list(done.refused) == ["TWO"]
        # recorded one run at a time, the same: the ledger holds what fitted on the day
        assert book.record(plan, [_entry(plan, "THREE", 1)]).refused
        pool = book.pool(plan)
        assert pool.used == 1_199_998 + 1 and pool.reserve == 1_200_000


def test_reserve_exceeded_after_a_split_the_non_option_cap_too(tmp_path: Path) -> None:
    from datetime import date

    from generator.checking.ledger import Ledger

    plan = _split_plan(1_000, 3)
    with Ledger(tmp_path / "l.sqlite") as book:
        book.adjust(plan, 3, 2, date(2007, 1, 1))
        kind = next(k for k in ("restricted_stock", "rsu") if not plan.is_option(k))
        done = book.record(plan, [_entry(plan, f"R-{n}", 1, kind) for n in range(5)])
        assert done.added == ["R-0", "R-1", "R-2"]
        assert {r.rule for r in done.refused.values()} == {"non-option-cap"}


def test_reserve_a_forfeiture_after_the_grant_date_frees_nothing_on_that_date(
    tmp_path: Path,
) -> None:
    """Shares forfeited after a split came back after the grant date of a late-recorded grant
    dated before it: on that date the reserve was full."""
    from datetime import date

    from generator.checking.ledger import Ledger

    plan = _split_plan(100, 100)
    with Ledger(tmp_path / "l.sqlite") as book:
        assert book.record(plan, [_entry(plan, "FULL", 100)]).added == ["FULL"]
        book.adjust(plan, 2, 1, date(2007, 1, 1))
        book.forfeit(plan, "FULL", 50, date(2008, 1, 1))
        assert book.pool(plan).available == 50  # today, 50 are free
        late = book.record(plan, [_entry(plan, "LATE", 10)])
        assert list(late.refused) == ["LATE"]
        assert "0 of the 100 in force on 2005-05-16" in late.refused["LATE"].message


def test_a_forfeiture_after_the_grant_date_frees_nothing_on_it_without_a_split_too(
    tmp_path: Path,
) -> None:
    """A grant recorded late, dated before a recorded forfeiture, fits the reserve and cap as
    they stood on its date: the shares forfeited later were not free then. (Without this, a
    split recorded afterwards left the cap overdrawn by the forfeited share.)"""
    from datetime import date

    from generator.checking.batchcheck import check
    from generator.checking.ledger import Ledger

    plan = _split_plan(1000, 100)
    kind = next(k for k in ("restricted_stock", "rsu") if not plan.is_option(k))
    with Ledger(tmp_path / "l.sqlite") as book:
        assert book.record(plan, [_entry(plan, "A1", 44, kind)]).added == ["A1"]
        book.forfeit(plan, "A1", 1, date(2008, 1, 1))
        assert book.pool(plan).non_option_available == 57  # today, 57 are free
        late = _entry(plan, "B2", 57, kind)
        report = check([late.record], plan, None, book.pool(plan))
        [found] = [f for f in report.findings if f.severity == "error"]
        assert found.rule == "non-option-cap" and found.column == "shares"
        assert "56 of the 100 in force on 2005-05-16 remained that day" in str(found)
        assert "shares forfeited after it were not free on it" in str(found)
        refused = book.record(plan, [late])
        assert list(refused.refused) == ["B2"]
        assert refused.refused["B2"].message == found.message
        assert book.record(plan, [_entry(plan, "C3", 56, kind)]).added == ["C3"]
        book.adjust(plan, 2, 1, date(2007, 1, 1))
        pool = book.pool(plan)
        assert pool.non_option_used == 2 * 44 - 1 + 2 * 56 <= pool.non_option_cap


def test_validate_reports_non_option_cap_for_restricted_stock_refused_for_another_reason() -> None:
    """Issue 18 #11: once 4(b) is used up, a restricted stock grant the kit has no form for is
    told both: no form, and over the cap (it is not counted, since it will not be recorded)."""
    from generator.checking.batchcheck import check
    from generator.checking.findings import ERROR, Finding
    from generator.checking.pool import Pool
    from generator.reading.grantrecord import GrantRecord
    from generator.terms.plan import load_plan

    plan = load_plan()
    from datetime import date
    from decimal import Decimal

    rec = GrantRecord(
        2, "RS-1", "Ann Able", date(2005, 5, 16), 1000, Decimal("0.01"),
        award_type="restricted_stock",
    )  # fmt: skip
    full = Pool(plan.reserve, plan.non_option_cap, plan.non_option_cap, plan.non_option_cap)

    def no_form(_report: object) -> list[Finding]:
        return [Finding(2, "RS-1", "agreement-form", "—", ERROR, "no form", "award_type")]

    report = check([rec], plan, None, full, more=no_form)
    rules = sorted(f.rule for f in report.findings if f.severity == ERROR)
    assert rules == ["agreement-form", "non-option-cap"]
    assert report.batch_shares == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hung_libreoffice_fails_the_batch_within_about_twice_the_timeout(
    tmp_path: Path, jobs: int
) -> None:
    """Issue 18 #9: a LibreOffice that never answers is stopped after the timeout, tried once
    more on a fresh profile, and then the batch fails: every grant names LibreOffice and what
    to do, nothing is converted one by one, nothing is recorded. (Was: timeout x retries x
    fresh profiles x one-by-one fallbacks.)"""
    import time

    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "soffice"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho call >> {calls}\nexec sleep 600\n", encoding="utf-8")
    fake.chmod(0o755)
    rows = [grant(grant_id=f"H-{n}", participant=f"Director {n}") for n in range(5)]
    path = write_csv(tmp_path / "g.csv", rows)
    env = {**os.environ, "GRANTGEN_SOFFICE": str(fake), "XDG_CACHE_HOME": str(tmp_path / "c")}
    timeout = 3
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "generator", "generate", str(path), "--out", str(tmp_path / "o"),
         "--ledger", str(tmp_path / "l.sqlite"), "--timeout", str(timeout), "--jobs", str(jobs)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert "LibreOffice stopped responding" in done.stderr and "--timeout" in done.stderr
    assert "converting them one by one" not in done.stderr
    # two conversions per worker at most (the first, the retry on a fresh profile)
    assert 2 <= len(calls.read_text().splitlines()) <= 2 * jobs
    assert took < 2 * (timeout + 0.5 * 5) + 30, took  # the old way: four limits per grant
    assert not list((tmp_path / "o").glob("*.pdf"))
    from generator.checking.ledger import Ledger

    with Ledger(tmp_path / "l.sqlite") as book:
        assert book.grants() == []


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Sinéad Ó Connor-Walsh", "sinead-o-connor-walsh-"),
        ("Sine\u0301ad O\u0301 Connor-Walsh", "sinead-o-connor-walsh-"),  # decomposed accents
        ("Søren Æbeltoft-Straße", "soren-aebeltoft-strasse-"),
        ("Łukasz Żółwiński", "lukasz-zolwinski-"),
        ("Дмитрий Иванов", "dmitriy-ivanov-"),
    ],
)
def test_derived_grant_ids_transliterate_accented_letters(name: str, slug: str) -> None:
    """Issue 18 #11: a derived id (and so the file names) spells the name in plain letters,
    never dropping the accented ones (was ``sin-ad-o-connor-walsh-…``)."""
    from datetime import date
    from decimal import Decimal

    from generator.reading.values import derive_grant_id

    gid = derive_grant_id(name, date(2025, 6, 16), 1000, Decimal("1.50"))
    assert gid.startswith(slug + "20250616-"), gid


def test_a_failed_final_run_keeps_the_drafts_review_packet_and_board_consent(
    tmp_path: Path, soffice: str
) -> None:
    """Issue 18 #11: a final run into a folder of drafts that makes nothing (every grant
    refused) leaves the drafts' review/ as it was, and the manifest still lists it."""
    import json

    out, ledger = tmp_path / "b", tmp_path / "l.sqlite"
    rows = [grant(grant_id=f"D-{n}", participant=f"Director {n}") for n in range(2)]
    good = write_csv(tmp_path / "g.csv", rows)
    bad = write_csv(tmp_path / "bad.csv", [dict(r, shares="9,000,000") for r in rows])
    args = ["--out", str(out), "--ledger", str(ledger)]
    made = CliRunner().invoke(main, ["generate", str(good), *args, "--draft"])
    assert made.exit_code == 0, made.output
    before = {p.name: p.read_bytes() for p in (out / "review").iterdir()}
    assert {"packet.pdf", "board_consent.docx", "board_consent.pdf"} <= set(before)
    failed = CliRunner().invoke(main, ["generate", str(bad), *args])
    assert "0 document(s) made, 2 grant(s) refused" in failed.output
    assert "review files of the drafts in review/ were left as they are" in failed.output
    assert {p.name: p.read_bytes() for p in (out / "review").iterdir()} == before
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["draft"] is True and "review/packet.pdf" in manifest["draft_review"]["files"]
    assert len(manifest["errors"]) == 2


def test_regenerating_drafts_after_a_template_edit_replaces_them_without_force(
    tmp_path: Path, soffice: str
) -> None:
    """Issue 18 #11: drafts are never final and never signed: a draft run after the form
    changed replaces the earlier drafts (was: refused as "final documents", --force asked)."""
    import shutil

    import docx

    kit = Path(shutil.copytree(Path(__file__).parents[1] / "data/kits/meridian", tmp_path / "k"))
    args = ["generate", str(kit / "sample-grants.csv"), "--plan", str(kit), "--prices",
            str(kit / "sample-prices.csv"), "--out", str(tmp_path / "b"), "--ledger",
            str(tmp_path / "l.sqlite"), "--draft"]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    drafts = sorted((tmp_path / "b").glob("*.draft.docx"))
    before = {p.name: p.read_bytes() for p in drafts}
    template = kit / "templates" / "option_notice.docx"
    document = docx.Document(str(template))
    document.add_paragraph("A sentence counsel added.")
    document.save(str(template))
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "--force" not in again.output and "final documents" not in again.output
    after = {p.name: p.read_bytes() for p in drafts}
    assert after.keys() == before.keys() and after != before
    changed = [n for n in after if after[n] != before[n]]
    assert changed and all(
        "A sentence counsel added."
        in "\n".join(p.text for p in docx.Document(str(tmp_path / "b" / n)).paragraphs)
        for n in changed
    )


def test_a_rerun_that_records_nothing_does_not_say_documents_made(
    tmp_path: Path, soffice: str
) -> None:
    """Issue 18 #11: running the same batch again makes and records nothing new, and says so
    (was: "2 document(s) made" again)."""
    rows = [grant(grant_id=f"R-{n}", participant=f"Director {n}") for n in range(2)]
    path = write_csv(tmp_path / "g.csv", rows)
    args = ["generate", str(path), "--out", str(tmp_path / "b"), "--ledger", str(tmp_path / "l")]
    first = CliRunner().invoke(main, args)
    assert "2 document(s) made, 0 grant(s) refused" in first.output, first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert "0 document(s) made, 2 already made and recorded, 0 grant(s) refused" in again.output
    rows.append(grant(grant_id="R-9", participant="Director 9"))
    more = CliRunner().invoke(main, ["generate", str(write_csv(path, rows)), *args[2:]])
    assert "1 document(s) made, 2 already made and recorded, 0 grant(s) refused" in more.output


def test_errors_that_mislead_a_5_mb_cell_is_not_called_a_quoting_problem(tmp_path: Path) -> None:
    """Issue 18 #11: a cell far too long says so; an unclosed quote still says check the
    quotes."""
    header = "grant_id,participant,address,grant_date,shares,exercise_price,award_type\n"
    big = tmp_path / "big.csv"
    big.write_text(header + "G-1," + "A" * 5_000_000 + ",x,2005-05-16,1000,3.25,option\n")
    with pytest.raises(InputError) as found:
        read_grants(big)
    assert "a cell is longer than 131,072 characters" in str(found.value)
    assert "check the quotes" not in str(found.value) and "row 2 (line 2)" in str(found.value)
    quoted = tmp_path / "quoted.csv"
    row = "G-2,Bob,x,2005-05-16,1000,3.25,option\n"
    quoted.write_text(header + 'G-1,"Ann,x,2005-05-16,1000,3.25,option\n' + row * 4000)
    with pytest.raises(InputError, match=r"row 2 \(line 2\).*check the quotes in that row"):
        read_grants(quoted)


def test_errors_that_mislead_a_huge_template_output_names_the_template(tmp_path: Path) -> None:
    """Issue 18 #11: a loop rendering more text into one run than a Word document's XML can
    hold is a template error naming the form, in check-templates and generate alike (was:
    "unexpected XMLSyntaxError")."""
    import docx

    kit = tmp_path / "k"
    assert CliRunner().invoke(main, ["init", str(kit)]).exit_code == 0
    template = kit / "templates" / "option_notice.docx"
    document = docx.Document(str(template))
    loop = '{% for i in range(100000) %}{{ "&" * 101 }}{% endfor %}'
    document.paragraphs[0].add_run(loop)
    document.save(str(template))
    checked = CliRunner().invoke(main, ["check-templates", str(kit)])
    assert checked.exit_code == 1
    assert "option_notice.docx: template error: renders" in checked.output
    assert "in one piece, more than the 10,000,000" in checked.output
    made = CliRunner().invoke(
        main,
        ["generate", str(kit / "sample-grants.csv"), "--plan", str(kit), "--prices",
         str(kit / "sample-prices.csv"), "--out", str(tmp_path / "b"), "--ledger",
         str(tmp_path / "l"), "--draft"],
    )  # fmt: skip
    assert made.exit_code == 1 and "XMLSyntaxError" not in made.output
    assert "option_notice.docx" in made.output and "in one piece" in made.output


def test_no_scratch_folder_is_left_behind_a_killed_runs_is_reaped_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Done-when of issue 18: a run that ends normally removes its LibreOffice scratch
    folder; a killed run's (its process gone) is removed by the next converter, another
    live process's is left alone."""
    import tempfile

    from generator.converting.convert import SCRATCH_PREFIX
    from generator.converting.converter import Converter

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"{SCRATCH_PREFIX}{gone.pid}-abc"
    (dead / "w0.log").parent.mkdir()
    (dead / "w0.log").write_text("left by a killed run")
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getppid()}-def"
    alive.mkdir()
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRANTGEN_SOFFICE", str(fake))
    with Converter(jobs=1) as converter:
        mine = converter._root
        assert mine.is_dir() and mine.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-")
    assert not dead.exists() and alive.is_dir() and not mine.exists()
