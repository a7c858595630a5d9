"""`grantgen validate`, the ledger commands, and generate's use of rules, prices and ledger."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from generator.checking.ledger import Ledger
from generator.cli import main
from generator.core.resources import templates_dir
from generator.rendering.form import DRAFT_MARK
from generator.terms.plan import load_plan

from .conftest import PRICES, ROOT, SAMPLE, grant, pdf_text, write_csv

PLAN = load_plan()


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_validate_sample_passes_and_reports_the_reserve(tmp_path: Path) -> None:
    r = invoke("validate", SAMPLE, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "0 error(s), 0 warning(s), 4 note(s)" in r.output  # type: ignore[attr-defined]
    assert "sample-value" in r.output  # the plan's samples, accepted: notes  # type: ignore[attr-defined]
    assert "800,000 available before this batch, 737,500 after" in r.output  # type: ignore[attr-defined]
    assert not (tmp_path / "l.sqlite").exists(), "validate must not create a ledger"


def test_a_reserve_reduced_below_the_batch_is_said_in_words_not_as_a_negative(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "amended.toml"
    bundled = (ROOT / "data" / "plans" / "atg-1999.toml").read_text(encoding="utf-8")
    plan.write_text(
        bundled + "\n[[amendments]]\nnumber = 2\ndate = 2005-05-18\n"
        'approved_by = "Board of Directors"\nsummary = "reserve reduced"\nreserve = 50000\n'
        "non_option_cap = 10000\n",
        encoding="utf-8",
    )
    r = invoke(
        "validate", SAMPLE, "--plan", plan, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite"
    )
    out = r.output  # type: ignore[attr-defined]
    assert "0 of the 50,000 reserved remain" in out  # the grant after the amendment
    assert "50,000 available before this batch, none after: 2,500 more than the reserve" in out
    assert "-2,500" not in out


def test_validate_json_lists_every_finding_with_section(tmp_path: Path) -> None:
    rows = [
        grant(grant_id="OK", grant_date="2005-05-20", exercise_price="3.31"),
        grant(grant_id="EMP", is_employee="yes", grant_date="2005-05-21", exercise_price="3.31"),
        grant(grant_id="CHEAP", grant_date="2005-05-21", exercise_price="3.00"),
        grant(grant_id="LATE", grant_date="2014-01-01", exercise_price="3.31"),
        grant(grant_id="FRAC", shares="15.5"),
    ]
    path = write_csv(tmp_path / "g.csv", rows)
    r = invoke("validate", path, "--prices", PRICES, "--format", "json")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    data = json.loads(r.output)  # type: ignore[attr-defined]
    got = {(f["row"], f["rule"], f["section"], f["severity"]) for f in data["findings"]}
    assert (3, "eligibility", "2", "error") in got
    assert (4, "exercise-price", "5(b)", "error") in got
    assert (5, "plan-term", "10(c)", "error") in got
    assert (6, "whole-shares", "Agreement 3(a)", "error") in got
    for f in data["findings"]:
        assert set(f) >= {"row", "grant_id", "rule", "section", "severity", "message"}
    cheap = next(f for f in data["findings"] if f["rule"] == "exercise-price")
    assert "$3.00 given" in cheap["message"] and "$3.31" in cheap["message"]
    assert "May 20, 2005" in cheap["message"]  # the day the price came from
    assert data["summary"]["refused"] == 4 and data["summary"]["ok"] == 1


def test_validate_json_reports_a_file_that_cannot_be_checked_as_json(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("grant_id,participant,grant_date,shares\nA,Ann,2005-05-16,100\n", "utf-8")
    r = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["findings"] == [] and "missing required column(s): exercise_price" in data["error"]


def test_validate_warnings_pass_unless_strict(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [grant()])
    assert invoke("validate", path).exit_code == 0  # type: ignore[attr-defined]
    strict = invoke("validate", path, "--strict")
    assert strict.exit_code == 1  # type: ignore[attr-defined]
    assert "no price file" in strict.output  # type: ignore[attr-defined]


def test_generate_records_the_ledger_once_and_reruns_are_no_ops(
    tmp_path: Path, soffice: str
) -> None:
    ledger = tmp_path / "l.sqlite"
    path = write_csv(
        tmp_path / "g.csv", [grant(grant_id="A"), grant(grant_id="B", participant="Bo")]
    )
    out = tmp_path / "o"
    first = invoke("generate", path, "-o", out, "--ledger", ledger, "--prices", PRICES, "-q")
    manifest1 = (out / "manifest.json").read_text(encoding="utf-8")
    again = invoke("generate", path, "-o", out, "--ledger", ledger, "--prices", PRICES, "-q")
    assert first.exit_code == 0 and again.exit_code == 0, again.output  # type: ignore[attr-defined]
    assert (out / "manifest.json").read_text(encoding="utf-8") == manifest1
    with Ledger(ledger) as book:
        assert book.pool(PLAN).used == 30000
    doc = json.loads(manifest1)["documents"][0]
    assert doc["final_exercise_date"] == "2015-05-16"
    assert doc["price_source"] == "close on grant date 2005-05-16"
    changed = write_csv(tmp_path / "g2.csv", [grant(grant_id="A", shares="15,001")])
    r = invoke("generate", changed, "-o", tmp_path / "o2", "--ledger", ledger, "-q")
    assert r.exit_code == 1 and "other terms: shares '15000' there, '15001' here" in r.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "o2" / "A.pdf").exists()


def test_generate_refuses_the_grant_that_overflows_the_reserve(
    tmp_path: Path, soffice: str
) -> None:
    ledger = tmp_path / "l.sqlite"
    big = write_csv(tmp_path / "big.csv", [grant(grant_id="BIG", shares=str(PLAN.reserve - 20000))])
    assert invoke("generate", big, "-o", tmp_path / "o1", "--ledger", ledger, "-q").exit_code == 0  # type: ignore[attr-defined]
    rows = [
        grant(grant_id="R1"),
        grant(grant_id="R2", participant="Bo"),
        grant(grant_id="R3", participant="Cy", shares="5000"),
    ]
    batch = write_csv(tmp_path / "b.csv", rows)
    r = invoke("generate", batch, "-o", tmp_path / "o2", "--ledger", ledger, "-q")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    assert "row 3, column shares" in r.stderr and "5,000 of the 800,000" in r.stderr  # type: ignore[attr-defined]
    assert "Plan Section 4(a)" in r.stderr  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "o2").glob("*.pdf")) == ["R1.pdf", "R3.pdf"]
    with Ledger(ledger) as book:
        assert book.pool(PLAN).available == 0


@pytest.mark.parametrize("option", ["different first page", "different odd and even pages"])
def test_draft_mark_is_on_every_page_whatever_the_header_options(
    tmp_path: Path, soffice: str, option: str
) -> None:
    templates = tmp_path / "t"
    shutil.copytree(templates_dir(), templates)
    for name in ("nso_agreement.docx", "acceptance.docx"):
        document = docx.Document(str(templates / name))
        if option == "different first page":
            document.sections[0].different_first_page_header_footer = True
        else:
            document.settings.odd_and_even_pages_header_footer = True
        document.save(str(templates / name))
    path = write_csv(tmp_path / "g.csv", [grant(grant_id="D1")])
    out = tmp_path / "o"
    r = invoke(
        "generate",
        path,
        "-o",
        out,
        "--ledger",
        tmp_path / "l.sqlite",
        "--draft",
        "--templates",
        templates,
    )
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    pages = pdf_text(out / "D1.draft.pdf")
    assert [n for n, page in enumerate(pages, 1) if DRAFT_MARK not in page] == []


def test_draft_marks_every_page_has_no_fields_and_records_nothing(
    tmp_path: Path, soffice: str
) -> None:
    ledger = tmp_path / "l.sqlite"
    path = write_csv(tmp_path / "g.csv", [grant(grant_id="D1")])
    out = tmp_path / "o"
    r = invoke("generate", path, "-o", out, "--ledger", ledger, "--draft")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "draft document(s) made" in r.output  # type: ignore[attr-defined]
    assert sorted(p.name for p in out.iterdir()) == [
        "D1.draft.docx",
        "D1.draft.pdf",
        "manifest.json",
        "review",
    ]
    consent = pdf_text(out / "review" / "board_consent.pdf")  # a folder of drafts only
    assert consent and all(DRAFT_MARK in page for page in consent)
    pages = pdf_text(out / "D1.draft.pdf")
    assert len(pages) > 5 and all(DRAFT_MARK in page for page in pages)
    assert not PdfReader(out / "D1.draft.pdf").get_fields()
    with Ledger(ledger, create=False) as book:
        assert book.pool(PLAN).used == 0
    assert json.loads((out / "manifest.json").read_text())["draft"] is True


def test_strict_generate_makes_nothing_when_there_are_warnings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [grant()])
    r = invoke("generate", path, "-o", tmp_path / "o", "--strict")
    assert r.exit_code == 1 and "--strict" in r.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "o").exists()


def test_strict_refused_for_sample_values_says_how_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRANTGEN_ACCEPT_SAMPLES", raising=False)  # as a user runs it
    out = tmp_path / "o"
    r = invoke("generate", SAMPLE, "--prices", PRICES, "-o", out, "--strict", "--ledger",
               tmp_path / "l.sqlite")  # fmt: skip
    assert r.exit_code == 1 and not out.exists()
    assert "warning: batch: company.officer in atg-1999.toml is a sample" in r.stderr  # type: ignore[attr-defined]
    assert "or give --accept-samples to make them notes" in r.stderr  # type: ignore[attr-defined]
    # warnings of another kind get no such hint
    path = write_csv(tmp_path / "g.csv", [grant()])
    other = invoke("generate", path, "-o", out, "--strict", "--accept-samples")
    assert other.exit_code == 1 and "exercise prices were not checked" in other.stderr  # type: ignore[attr-defined]
    assert "--accept-samples" not in other.stderr  # type: ignore[attr-defined]


def test_a_bad_ledger_date_names_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["ledger", "forfeit", "A", "--shares", "5", "--date", "13/45/2006", "--ledger",
         str(tmp_path / "l.sqlite")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Invalid value for '--date': there is no such date" in result.output


def test_ledger_commands(tmp_path: Path, soffice: str) -> None:
    ledger = tmp_path / "l.sqlite"
    path = write_csv(tmp_path / "g.csv", [grant(grant_id="A", shares="15,001")])
    assert invoke("generate", path, "-o", tmp_path / "o", "--ledger", ledger, "-q").exit_code == 0  # type: ignore[attr-defined]
    show = invoke("ledger", "show", "--ledger", ledger, "--format", "json")
    assert json.loads(show.output)["used"] == 15001  # type: ignore[attr-defined]
    f = invoke(
        "ledger", "forfeit", "A", "--shares", "1", "--date", "2006-01-01", "--ledger", ledger
    )
    assert f.exit_code == 0 and "785,000 available" in f.output  # type: ignore[attr-defined]
    before_split = tmp_path / "before.csv"
    assert invoke("ledger", "export", "--ledger", ledger, "-o", before_split).exit_code == 0  # type: ignore[attr-defined]
    a = invoke("ledger", "adjust", "--split", "2:1", "--date", "2007-01-02", "--ledger", ledger)
    assert a.exit_code == 0 and "800,000 -> 1,600,000" in a.output  # type: ignore[attr-defined]
    text = invoke("ledger", "show", "--ledger", ledger)
    assert "1,600,000" in text.output and "split 2:1" in text.output  # type: ignore[attr-defined]
    export = tmp_path / "export.csv"
    assert invoke("ledger", "export", "--ledger", ledger, "-o", export).exit_code == 0  # type: ignore[attr-defined]
    assert "A," in export.read_text()
    other = tmp_path / "other.sqlite"
    refused = invoke("ledger", "import", export, "--ledger", other)
    assert refused.exit_code == 1 and "2:1 split" in refused.output  # type: ignore[attr-defined]
    imp = invoke("ledger", "import", before_split, "--ledger", other)
    assert imp.exit_code == 0 and "1 grant(s) imported" in imp.output  # type: ignore[attr-defined]
    bad = CliRunner().invoke(
        main, ["ledger", "adjust", "--split", "x", "--date", "2007-01-02", "--ledger", str(ledger)]
    )
    assert bad.exit_code == 2
    missing = CliRunner().invoke(
        main,
        [
            "ledger",
            "forfeit",
            "ZZ",
            "--shares",
            "1",
            "--date",
            "2006-01-01",
            "--ledger",
            str(ledger),
        ],
    )
    assert missing.exit_code == 1 and "not in the ledger" in missing.stderr


def test_strict_refuses_an_edited_template_unless_deviations_are_accepted(
    tmp_path: Path, soffice: str
) -> None:
    import shutil

    import docx

    from generator.core.resources import templates_dir

    folder = tmp_path / "t"
    shutil.copytree(templates_dir(), folder)
    d = docx.Document(str(folder / "nso_agreement.docx"))
    for p in d.paragraphs:
        for run in p.runs:
            run.text = run.text.replace("{{ plan.term_phrase }}", "twelve (12) years")
    d.save(str(folder / "nso_agreement.docx"))
    path = write_csv(
        tmp_path / "g.csv",
        [grant(grant_id="E-1"), grant(grant_id="E-2", participant="Bo", is_employee="yes")],
    )
    ledger = tmp_path / "l.sqlite"
    args = ["generate", path, "--templates", folder, "--ledger", ledger, "--prices", PRICES, "-q"]
    refused = invoke(*args, "-o", tmp_path / "o1", "--strict")
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert "deviation" in refused.stderr and "twelve (12)" in refused.stderr  # type: ignore[attr-defined]
    o1 = tmp_path / "o1"  # the folder it made is removed when left empty
    assert not o1.exists() or not [p for p in o1.iterdir() if not p.name.startswith(".")]
    with Ledger(ledger, create=False) as book:
        assert book.pool(PLAN).used == 0
    ok = invoke(*args, "-o", tmp_path / "o2", "--strict", "--accept-deviations")
    assert ok.exit_code == 1  # the employee row is still refused
    assert (tmp_path / "o2" / "E-1.pdf").exists()
    html = (tmp_path / "o2" / "review" / "summary.html").read_text(encoding="utf-8")
    assert "twelve (12)" in html and "<del>" in html
    manifest = json.loads((tmp_path / "o2" / "manifest.json").read_text())
    assert manifest["review"]["deviations"] >= 1
    consent = "\n".join(pdf_text(tmp_path / "o2" / "review" / "board_consent.pdf"))
    assert "Alex Example" in consent and "Bo\n" not in consent


def test_validate_strict_says_the_warnings_refuse_the_batch(tmp_path: Path) -> None:
    r = invoke("validate", SAMPLE, "--strict")  # no price file: one batch warning
    assert r.exit_code == 1  # type: ignore[attr-defined]
    assert "--strict: the 1 warning(s) refuse the batch." in r.output  # type: ignore[attr-defined]


def test_a_misspelt_column_is_a_warning_strict_refuses(tmp_path: Path) -> None:
    header = ["grant_id", "participant", "grant_date", "shares", "exercise_price", "is_employe"]
    path = write_csv(tmp_path / "g.csv", [grant(is_employe="yes")], header)  # type: ignore[arg-type]
    args = ("validate", path, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    loose = invoke(*args)
    assert loose.exit_code == 0  # type: ignore[attr-defined]
    assert "unknown column(s) ignored: 'is_employe'" in loose.output  # type: ignore[attr-defined]
    assert invoke(*args, "--strict").exit_code == 1  # type: ignore[attr-defined]


def test_a_repeated_id_is_caught_when_the_first_row_has_another_error(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "g.csv", [grant(grant_id="D-1", grant_date="9990-01-01"), grant(grant_id="D-1")]
    )
    r = invoke("validate", path, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    out = r.output  # type: ignore[attr-defined]
    assert "unique-grant-id" in out and "repeated grant id: row 2 already uses it" in out


def test_a_row_repeated_in_a_file_without_ids_is_reported_on_its_participant(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "participant,grant_date,shares,exercise_price\n"
        "Ann Lee,2005-05-16,100,3.25\nAnn Lee,2005-05-16,100,3.25\n"
    )
    r = invoke("validate", path, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    (line,) = [ln for ln in r.output.splitlines() if ln.startswith("3 ")]  # type: ignore[attr-defined]
    assert line.split()[1] == "participant" and "repeated-row" in line
    assert "repeats row 2: the same participant, grant date, shares and exercise price" in line
    assert "unique-grant-id" not in line and "repeated grant id" not in line


def test_validate_refuses_what_generate_refuses(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [grant(award_type="restricted_stock")])
    r = invoke("validate", path, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    assert r.exit_code == 1 and "agreement-form" in r.output  # type: ignore[attr-defined]


def test_generate_says_which_grants_were_made_with_warnings(tmp_path: Path, soffice: str) -> None:
    path = write_csv(
        tmp_path / "g.csv",
        [grant(grant_id="R-1"), grant(grant_id="R-2", shares="100")],  # one person, one day
    )
    r = invoke(
        "generate",
        path,
        "--out",
        tmp_path / "out",
        "--prices",
        PRICES,
        "--ledger",
        tmp_path / "l.sqlite",
    )
    assert r.exit_code == 0  # type: ignore[attr-defined]
    assert "warning: row 3" in r.output and "repeat-grant" in r.output  # type: ignore[attr-defined]


def test_a_huge_value_is_not_echoed_whole(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [grant(shares="9" * 5000 + "x")])
    r = invoke("validate", path, "--ledger", tmp_path / "l.sqlite")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    assert "(5,001 characters)" in r.output and len(r.output) < 2000  # type: ignore[attr-defined]


def test_a_grant_the_form_cannot_document_uses_no_shares(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "g.csv",
        [
            grant(grant_id="R-1", award_type="restricted_stock", shares="100,000"),
            grant(grant_id="O-1", participant="Bo", shares="750,000"),
        ],
    )
    r = invoke("validate", path, "--prices", PRICES, "--ledger", tmp_path / "l.sqlite")
    out = r.output  # type: ignore[attr-defined]
    assert "agreement-form" in out and "exceed the shares available" not in out
    assert "1 ok, 1 refused" in out


def test_an_export_for_a_plan_with_no_grants_says_which_plans_the_ledger_has(
    tmp_path: Path,
) -> None:
    from dataclasses import replace as dc_replace
    from datetime import date
    from decimal import Decimal

    from generator.checking.ledgerentry import Entry
    from generator.reading.grantrecord import GrantRecord

    ledger = tmp_path / "l.sqlite"
    other = dc_replace(PLAN, id="acme-2015")
    rec = GrantRecord(2, "A-1", "Ann", date(2016, 1, 4), 10, Decimal("1.00"))
    with Ledger(ledger) as book:
        book.record(other, [Entry(rec, True, None, "test")])
    r = invoke("ledger", "export", "--ledger", str(ledger))
    assert r.exit_code == 0  # type: ignore[attr-defined]
    assert r.stdout.count("\n") == 1  # type: ignore[attr-defined]  # the header
    assert "holds grants under acme-2015" in r.stderr  # type: ignore[attr-defined]


def test_a_grant_dated_before_a_recorded_split_is_counted_and_recorded_adjusted(
    tmp_path: Path,
) -> None:
    """validate counts a pre-split grant in post-split shares and says so; a forfeiture dated
    before the split returns its shares as adjusted by it."""
    ledger = tmp_path / "l.sqlite"
    a = invoke("ledger", "adjust", "--split", "3:2", "--date", "2007-01-01", "--ledger", ledger)
    assert a.exit_code == 0  # type: ignore[attr-defined]
    path = write_csv(
        tmp_path / "g.csv",
        [grant(grant_id="P-1", grant_date="2005-05-20", shares="1,000", exercise_price="3.31")],
    )
    r = invoke("validate", path, "--prices", PRICES, "--ledger", ledger, "--format", "json")
    assert r.exit_code == 0  # type: ignore[attr-defined]
    data = json.loads(r.output)  # type: ignore[attr-defined]
    (note,) = [f for f in data["findings"] if f["rule"] == "split-adjusted"]
    assert (note["severity"], note["section"]) == ("note", "8")
    assert data["summary"]["batch_shares"] == 1500
    assert data["summary"]["available_after"] == 1_200_000 - 1500
    from generator.checking.ledgerentry import Entry
    from generator.reading.grantrecord import GrantRecord

    rec = GrantRecord(2, "P-1", "Alex Example", date(2005, 5, 20), 1000, Decimal("3.31"))
    with Ledger(ledger) as book:
        book.record(PLAN, [Entry(rec, True, None, "test")])
    f = invoke(
        "ledger", "forfeit", "P-1", "--shares", "100", "--date", "2006-06-01", "--ledger", ledger
    )
    assert f.exit_code == 0, f.output  # type: ignore[attr-defined]
    assert (
        "100 share(s) of P-1 returned to the pool (150 after the 3:2 split of 2007-01-01); "
        "1,350 outstanding" in f.output  # type: ignore[attr-defined]
    )
    export = invoke("ledger", "export", "--ledger", ledger).output  # type: ignore[attr-defined]
    assert "P-1,atg-1999,Alex Example,2005-05-20,option,1350,2.21,150,1000,3.31," in export


def test_ledger_import_warns_of_a_term_the_plan_does_not_allow_and_refuses_by_row_and_column(
    tmp_path: Path,
) -> None:
    head = "grant_id,participant,grant_date,award_type,shares,exercise_price,final_exercise_date\n"
    long_term = tmp_path / "long.csv"
    long_term.write_text(head + "L-1,Ann,2005-05-16,option,10,3.25,2035-05-16\n", "utf-8")
    ledger = tmp_path / "l.sqlite"
    r = CliRunner().invoke(main, ["ledger", "import", str(long_term), "--ledger", str(ledger)])
    assert r.exit_code == 0, r.output
    assert "1 grant(s) imported, 0 already present, 1 warning(s)" in r.stdout
    assert "warning: import row 2, column final_exercise_date: grant L-1" in r.stderr
    late = tmp_path / "late.csv"
    late.write_text(head + "L-2,Bob,2014-01-02,option,10,10.10,2024-01-02\n", "utf-8")
    r = CliRunner().invoke(main, ["ledger", "import", str(late), "--ledger", str(ledger)])
    assert r.exit_code == 1
    assert "import row 2, column grant_date: grant L-2 is dated 2014-01-02" in r.stderr
    with Ledger(ledger, create=False) as book:
        assert [g["grant_id"] for g in book.grants()] == ["L-1"]
