"""Excel input, header aliases and mappings, row selection, `columns` and `preview`."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.errors import InputError
from generator.reading.columns import ReadOptions, parse_mapping, parse_rows
from generator.reading.records import read_grants
from generator.reading.sheets import check_archive

from .conftest import PRICES


def workbook(path: Path, rows: list[list[object]], formats: dict[str, str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Grants"
    for row in rows:
        ws.append(row)
    for coord, fmt in (formats or {}).items():
        ws[coord].number_format = fmt
    other = wb.create_sheet("Other")
    other.append(["participant", "grant_date", "shares", "exercise_price"])
    other.append(["Sheet Two Person", dt.date(2005, 5, 16), 100, 3.25])
    wb.save(path)
    return path


HEADERS = ["Grant ID", "Director Name", "Date of Grant", "No. of Shares", "Price", "Employee?"]


def test_excel_cells_are_read_as_what_they_are(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx",
        [
            HEADERS,
            ["00123", "Zoë O'Brien & Sons", dt.datetime(2005, 5, 16), 15000, 3.25, False],
            [124, "Bo Chen", dt.date(2005, 5, 20), 7500.0, 3.31, "no"],
        ],
        {"E2": '"$"#,##0.00', "E3": '"$"#,##0.00', "A3": "00000", "D2": "#,##0"},
    )
    result = read_grants(path, ReadOptions(mapping=parse_mapping(["Employee?=is_employee"])))
    assert not result.errors, result.errors
    first, second = result.records
    assert first.grant_id == "00123"  # text keeps its leading zeros
    assert second.grant_id == "00124"  # a number shown as 00124 is read as shown
    assert (first.participant, first.grant_date, first.shares) == (
        "Zoë O'Brien & Sons",
        dt.date(2005, 5, 16),
        15000,
    )
    assert first.exercise_price == Decimal("3.25") and second.exercise_price == Decimal("3.31")
    assert second.shares == 7500 and first.is_employee is False
    assert result.columns["Director Name"] == "participant"
    assert result.columns["No. of Shares"] == "shares"


def test_sheet_option_and_unknown_sheet(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx", [HEADERS[:5], ["A-1", "Ann", dt.date(2005, 5, 16), 1, 3.25]]
    )
    other = read_grants(path, ReadOptions(sheet="Other"))
    assert [r.participant for r in other.records] == ["Sheet Two Person"]
    with pytest.raises(InputError, match=r"no sheet .Nope.*Grants, Other"):
        read_grants(path, ReadOptions(sheet="Nope"))


def test_a_hidden_first_sheet_is_read_only_when_named(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx", [HEADERS[:5], ["OLD-1", "Stale Person", dt.date(2005, 5, 16), 9, 1]]
    )
    wb = openpyxl.load_workbook(path)
    wb["Grants"].sheet_state = "hidden"
    wb.save(path)
    default = read_grants(path)
    assert [r.participant for r in default.records] == ["Sheet Two Person"]
    named = read_grants(path, ReadOptions(sheet="Grants"))
    assert [r.participant for r in named.records] == ["Stale Person"]
    wb["Other"].sheet_state = "veryHidden"
    wb.active = 0
    wb["Grants"].sheet_state = "visible"
    wb.save(path)
    assert [r.participant for r in read_grants(path).records] == ["Stale Person"]


def test_bad_excel_values_name_row_and_column(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx",
        [
            HEADERS[:5],
            ["A-1", "Ann", "not a date", 1, 3.25],
            ["A-2", "Bo", dt.date(2005, 5, 16), 1.5, 3.25],
        ],
    )
    errs = {(e.row, e.column) for e in read_grants(path).errors}
    assert errs == {(2, "Date of Grant"), (3, "No. of Shares")}


def test_formula_without_a_cached_value_is_a_clear_error(tmp_path: Path) -> None:
    rows = [
        [*HEADERS[:5], "Notes"],
        ["A-1", "Ann", dt.date(2005, 5, 16), "=1000*15", 3.25, "=NOW()"],
        ["A-2", "Bo", dt.date(2005, 5, 16), 100, 3.25, "=NOW()"],
    ]
    result = read_grants(workbook(tmp_path / "g.xlsx", rows))
    (error,) = result.errors  # the row whose shares are a formula with no saved value
    assert (error.row, error.column) == (2, "No. of Shares")
    assert "cell D2 holds the formula =1000*15 with no saved value" in str(error)
    # one in a column grantgen does not read (Notes) refuses nothing
    assert [r.grant_id for r in result.records] == ["A-2"]


def test_formula_with_a_cached_value_reads_the_value(tmp_path: Path) -> None:
    source = workbook(
        tmp_path / "src.xlsx", [HEADERS[:5], ["A-1", "Ann", dt.date(2005, 5, 16), "=1000*15", 3.25]]
    )
    saved = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(saved, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                # what Excel writes: the formula and its last computed value
                assert b"<f>1000*15</f><v></v>" in data or b"<f>1000*15</f><v />" in data
                data = data.replace(b"<f>1000*15</f><v></v>", b"<f>1000*15</f><v>15000</v>")
                data = data.replace(b"<f>1000*15</f><v />", b"<f>1000*15</f><v>15000</v>")
            dst.writestr(item, data)
    (rec,) = read_grants(saved).records
    assert rec.shares == 15000


def _patched(source: Path, dest: Path, edit: dict[bytes, bytes], member: str) -> Path:
    """A copy of a workbook with ``member`` edited: what another program would have written."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == member:
                for old, new in edit.items():
                    assert old in data, old
                    data = data.replace(old, new)
            dst.writestr(item, data)
    return dest


def test_a_formula_whose_saved_result_is_empty_text_is_an_empty_cell(tmp_path: Path) -> None:
    source = workbook(
        tmp_path / "src.xlsx",
        [[*HEADERS[:5], "Address"], ["A-1", "Ann", dt.date(2005, 5, 16), 15000, 3.25, '=""']],
    )
    # Excel and LibreOffice save =IF(x,"",y) with an empty result as a text result, empty
    saved = _patched(
        source,
        tmp_path / "saved.xlsx",
        {b'<c r="F2"><f>""</f><v></v></c>': b'<c r="F2" t="str"><f>""</f><v></v></c>'},
        "xl/worksheets/sheet1.xml",
    )
    (rec,) = read_grants(saved).records
    assert rec.address == ()
    (error,) = read_grants(source).errors  # never computed: that row is refused
    assert error.column == "Address" and "cell F2 holds the formula" in str(error)


def test_excel_error_values_are_refused_in_every_column(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx",
        [
            [*HEADERS[:5], "Address"],
            ["A-1", "#N/A", dt.date(2005, 5, 16), 15000, 3.25, "1 Main St"],
            ["A-2", "Bo", dt.date(2005, 5, 16), 15000, 3.25, "#REF!"],
        ],
    )
    found = {(e.row, e.column, e.rule) for e in read_grants(path).errors}
    assert found == {
        (2, "Director Name", "spreadsheet-error"),
        (3, "Address", "spreadsheet-error"),
    }
    csv = tmp_path / "g.csv"  # the same errors exported to CSV, by Excel and by Calc
    csv.write_text(
        "participant,grant_date,shares,exercise_price\n#N/A,2005-05-16,1,3.25\n"
        "Err:502,2005-05-16,1,3.25\n"
    )
    assert [e.rule for e in read_grants(csv).errors] == ["spreadsheet-error"] * 2


def test_a_wrong_recorded_sheet_size_loses_no_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADERS]
    rows += [[f"A-{n}", f"Person {n}", dt.date(2005, 5, 16), 100, 3.25, "no"] for n in range(5)]
    rows[3][5] = "yes"
    source = workbook(tmp_path / "src.xlsx", rows)
    wrong = _patched(
        source,
        tmp_path / "wrong.xlsx",
        {b'<dimension ref="A1:F6"/>': b'<dimension ref="A1:E3"/>'},
        "xl/worksheets/sheet1.xml",
    )
    read = read_grants(wrong)
    assert [r.grant_id for r in read.records] == [f"A-{n}" for n in range(5)]
    assert [r.is_employee for r in read.records] == [False, False, True, False, False]


def test_a_chart_sheet_is_not_read_as_grants(tmp_path: Path) -> None:
    path = workbook(tmp_path / "g.xlsx", [HEADERS[:5], ["A-1", "Ann", dt.date(2005, 5, 16), 1, 3]])
    from openpyxl.chart import BarChart, Reference

    wb = openpyxl.load_workbook(path)
    chart = BarChart()
    chart.add_data(Reference(wb["Grants"], min_col=4, min_row=1, max_row=2), titles_from_data=True)
    wb.create_chartsheet("Chart", 0).add_chart(chart)
    wb.save(path)
    assert [r.grant_id for r in read_grants(path).records] == ["A-1"]
    with pytest.raises(InputError, match="'Chart' is a chart"):
        read_grants(path, ReadOptions(sheet="Chart"))


def test_binary_noise_of_a_formula_is_read_as_the_spreadsheet_shows_it(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx",
        [HEADERS[:5], ["A-1", "Ann", dt.date(2005, 5, 16), 15000.000000000002, 2.9545454545454541]],
    )
    (rec,) = read_grants(path).records
    assert (rec.shares, rec.exercise_price) == (15000, Decimal("2.95454545454545"))


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("\u200b", "invisible character U+200B ZERO WIDTH SPACE"),
        ("\u0301", "no letter or digit"),
        ("\ufeff\u200d", "invisible character U+FEFF"),
        ("B" * 1001, "at most 1,000"),
    ],
)
def test_a_name_that_would_print_blank_or_cannot_be_laid_out_is_refused(
    tmp_path: Path, name: str, needle: str
) -> None:
    csv = tmp_path / "g.csv"
    csv.write_text(
        f"participant,grant_date,shares,exercise_price\n{name},2005-05-16,1,3.25\n",
        encoding="utf-8",
    )
    (error,) = read_grants(csv).errors
    assert (error.row, error.column) == (2, "participant") and needle in error.message


def test_a_trailing_line_break_in_a_cell_is_trimmed(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "g.xlsx", [HEADERS[:5], ["A-1", "Di Poe\n", dt.date(2005, 5, 16), 1, 3]]
    )
    (rec,) = read_grants(path).records
    assert rec.participant == "Di Poe"


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("g.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old-style Excel .xls"),
        ("g.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "password-protected"),
        ("g.xlsx", b"participant,grant_date\nAnn,2005-05-16\n", "looks like CSV text"),
        ("g.ods", None, "OpenDocument"),
        ("g.xlsx", None, "OpenDocument"),
        ("g.csv", None, "OpenDocument"),
    ],
)
def test_files_of_another_kind_are_named(
    tmp_path: Path, name: str, content: bytes | None, needle: str
) -> None:
    path = tmp_path / name
    if content is None:  # what LibreOffice Calc saves: the mimetype first, stored
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            z.writestr("content.xml", "<office:document-content/>")
    else:
        path.write_bytes(content)
    if path.suffix == ".ods":
        path = path.rename(path.with_suffix(".xlsx"))
    with pytest.raises(InputError, match=needle):
        read_grants(path)


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (  # Excel's CSV where the decimal mark is a comma
            "grant_id;participant;address;grant_date;shares;exercise_price\r\n"
            'S-1;"Lee, Ann; Jr.";"1 Main St, Apt 2";2005-05-16;15000;3.25\r\n',
            2,
        ),
        (  # tab-separated, blank lines above the header
            "\n\ngrant_id\tparticipant\taddress\tgrant_date\tshares\texercise_price\n"
            "S-1\tLee, Ann; Jr.\t1 Main St, Apt 2\t2005-05-16\t15000\t3.25\n",
            4,
        ),
        (  # Excel's sep= line names the delimiter
            "sep=;\ngrant_id;participant;address;grant_date;shares;exercise_price\n"
            'S-1;"Lee, Ann; Jr.";"1 Main St, Apt 2";2005-05-16;15000;3.25\n',
            2,
        ),
    ],
    ids=["semicolons", "tabs", "sep-line"],
)
def test_semicolon_and_tab_separated_files_are_read(tmp_path: Path, text: str, rows: int) -> None:
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    (rec,) = read_grants(path).records
    assert (rec.row, rec.grant_id, rec.participant) == (rows, "S-1", "Lee, Ann; Jr.")
    assert rec.address == ("1 Main St, Apt 2",) and rec.shares == 15000
    assert rec.exercise_price == Decimal("3.25")


@pytest.mark.parametrize(
    "text",
    [
        # a comma file whose quoted header spans two lines and holds semicolons
        'grant_id,participant,grant_date,shares,exercise_price,"Notes;\nmore; notes"\n'
        "S-1,Ann Lee,2005-05-16,15000,3.25,x\n",
        # a semicolon file with a comma in a header name (Excel quotes only semicolons)
        "grant_id;participant;grant_date;shares;exercise_price;Notes, misc\n"
        "S-1;Ann Lee;2005-05-16;15000;3.25;x\n",
        # a tab file with a semicolon in a header name
        "grant_id\tparticipant\tgrant_date\tshares\texercise_price\tNotes; misc\n"
        "S-1\tAnn Lee\t2005-05-16\t15000\t3.25\tx\n",
        # Excel's sep= line, in capitals or quoted
        "SEP=;\ngrant_id;participant;grant_date;shares;exercise_price\n"
        "S-1;Ann Lee;2005-05-16;15000;3.25\n",
        '"sep=;"\r\ngrant_id;participant;grant_date;shares;exercise_price\r\n'
        "S-1;Ann Lee;2005-05-16;15000;3.25\r\n",
    ],
    ids=[
        "comma-multiline-header",
        "semicolon-comma-header",
        "tab-semicolon-header",
        "SEP",
        "quoted-sep",
    ],
)
def test_the_delimiter_is_the_one_that_splits_the_header_most(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    (rec,) = read_grants(path).records
    assert (rec.grant_id, rec.participant, rec.shares) == ("S-1", "Ann Lee", 15000)


def test_a_comma_file_whose_names_hold_semicolons_stays_a_comma_file(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "grant_id,participant,grant_date,shares,exercise_price\n"
        "C-1,Ann; Lee,2005-05-16,15000,3.25\n",
        encoding="utf-8",
    )
    (rec,) = read_grants(path).records
    assert rec.participant == "Ann; Lee"


def test_an_unclosed_quote_is_reported_at_the_row_it_opens(tmp_path: Path) -> None:
    rows = [f"U-{n},Person {n},2005-05-16,1000,3.25" for n in range(1, 20)]
    rows[2] = 'U-3,"Person 3,2005-05-16,1000,3.25'
    path = tmp_path / "g.csv"
    path.write_text("grant_id,participant,grant_date,shares,exercise_price\n" + "\n".join(rows))
    with pytest.raises(InputError, match=r"row 4 \(line 4\): not valid CSV"):
        read_grants(path)


def test_hidden_rows_are_read_with_a_warning_naming_them(tmp_path: Path) -> None:
    from generator.pipeline import check_batch

    rows: list[list[object]] = [[*HEADERS[:5], "Status"]]
    rows += [[f"A-{n}", f"P {n}", dt.date(2005, 5, 16), 100, 3.25, ""] for n in range(1, 5)]
    path = workbook(tmp_path / "g.xlsx", rows)
    wb = openpyxl.load_workbook(path)
    wb["Grants"].row_dimensions[3].hidden = True  # A-2, set aside by hand
    wb.save(path)
    assert read_grants(path).hidden == (3,)
    checked = check_batch(path, None, PRICES, tmp_path / "l.sqlite")
    hidden = [(f.row, f.grant_id) for f in checked.report.findings if f.rule == "hidden-row"]
    assert hidden == [(3, "A-2")] and len(checked.grants.records) == 4
    result = CliRunner().invoke(
        main, ["validate", str(path), "--prices", str(PRICES), "--ledger", str(tmp_path / "v")]
    )
    assert "hidden-row" in result.stdout and "unknown column(s) ignored: 'Status'" in result.stdout


def test_hidden_columns_that_are_read_are_warned(tmp_path: Path) -> None:
    from generator.pipeline import check_batch

    rows: list[list[object]] = [[*HEADERS[:5], "Address", "Notes"]]
    rows.append(["A-1", "Ann", dt.date(2005, 5, 16), 100, 3.25, "1 Secret Way", "x"])
    path = workbook(tmp_path / "g.xlsx", rows)
    wb = openpyxl.load_workbook(path)
    for letter in ("F", "G"):  # Address (read) and Notes (not read)
        wb["Grants"].column_dimensions[letter].hidden = True
    wb.save(path)
    assert read_grants(path).hidden_columns == ("Address",)
    checked = check_batch(path, None, PRICES, tmp_path / "l.sqlite")
    (f,) = [f for f in checked.report.findings if f.rule == "hidden-column"]
    assert (f.severity, f.column) == ("warning", "Address") and "hidden" in f.message


def test_hostile_workbooks_are_refused_before_parsing(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    with pytest.raises(InputError, match="zip bomb"):
        read_grants(bomb)
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(2500):
            z.writestr(f"x/{i}.txt", b"")
    with pytest.raises(InputError, match="2500 archive members"):
        read_grants(many)
    good = workbook(
        tmp_path / "ok.xlsx", [HEADERS[:5], ["A-1", "Ann", dt.date(2005, 5, 16), 1, 3.25]]
    )
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data
            dst.writestr(item, data)
    with pytest.raises(InputError, match="declares XML entities"):
        read_grants(evil)
    with pytest.raises(InputError, match="not a valid"):
        check_archive(tmp_path / "x.docx", b"not a zip", what="Word template")


def test_a_csv_that_is_really_a_workbook_is_named(tmp_path: Path) -> None:
    good = workbook(tmp_path / "ok.xlsx", [HEADERS[:5]])
    fake = tmp_path / "grants.csv"
    fake.write_bytes(good.read_bytes())
    with pytest.raises(InputError, match="zip archive"):
        read_grants(fake)


def test_only_and_where_select_rows(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "participant,grant_date,shares,exercise_price\n"
        + "".join(f"P{i},2005-05-16,{i + 1},3.25\n" for i in range(20)),
        encoding="utf-8",
    )
    got = read_grants(path, ReadOptions(only=parse_rows("2-4,10")))
    assert [r.row for r in got.records] == [2, 3, 4, 10]
    tail = read_grants(path, ReadOptions(only=parse_rows("19-999999999999")))  # no memory
    assert [r.row for r in tail.records] == [19, 20, 21]
    where = read_grants(path, ReadOptions(where=(("participant", "p7"),)))
    assert [r.participant for r in where.records] == ["P7"]
    # numbers and dates are compared as values: 0008 shares is the row whose cell says 8
    by_value = read_grants(
        path, ReadOptions(where=(("shares", "0008"), ("exercise_price", "$3.250")))
    )
    assert [r.participant for r in by_value.records] == ["P7"]
    with pytest.raises(
        InputError, match=r"no grant row matches participant=Nobody \(the file has 20 grant row"
    ):
        read_grants(path, ReadOptions(where=(("participant", "Nobody"),)))
    with pytest.raises(InputError, match="no grant row matches row 99 "):
        read_grants(path, ReadOptions(only=parse_rows("99")))
    for bad in ("1-3", "5-2", "x", ""):
        with pytest.raises(ValueError):
            parse_rows(bad)


def test_only_given_twice_selects_the_rows_of_both(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "grant_id,participant,grant_date,shares,exercise_price\n"
        + "".join(f"R-{i},P{i},2005-05-16,{i + 1},3.25\n" for i in range(2, 8)),
        encoding="utf-8",
    )
    done = CliRunner().invoke(
        main,
        [
            "validate",
            str(path),
            "--ledger",
            str(tmp_path / "l.sqlite"),
            "--format",
            "json",
            "--only",
            "3",
            "--only",
            "5-6",
        ],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)["summary"]
    assert (summary["grants"], summary["batch_shares"]) == (3, 4 + 6 + 7)  # rows 3, 5, 6


def test_where_a_blank_cell_is_the_value_it_stands_for(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "participant,grant_date,shares,exercise_price,is_employee,award_type\n"
        "Ann,2005-05-16,1,3.25,,\n"  # blank: not an employee, an option
        "Bo,2005-05-16,1,3.25,yes,option\n"
        "Cy,2005-05-16,1,3.25,No,restricted_stock\n",
        encoding="utf-8",
    )

    def picked(*where: tuple[str, str]) -> list[str]:
        return [r.participant for r in read_grants(path, ReadOptions(where=where)).records]

    assert picked(("is_employee", "no")) == ["Ann", "Cy"]
    assert picked(("is_employee", "false")) == ["Ann", "Cy"]  # as the value it stands for
    assert picked(("award_type", "option")) == ["Ann", "Bo"]
    # a column the file does not have is its default for every row
    plain = tmp_path / "plain.csv"
    plain.write_text("participant,grant_date,shares,exercise_price\nDi,2005-05-16,1,3.25\n")
    got = read_grants(plain, ReadOptions(where=(("substitute", "no"),)))
    assert [r.participant for r in got.records] == ["Di"]


def test_mapping_validation() -> None:
    assert parse_mapping(["Director Full Name=participant"]) == {"directorfullname": "participant"}
    with pytest.raises(ValueError, match="not a column"):
        parse_mapping(["Director=director"])


def test_columns_command_shows_each_header(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("Director Full Name,Date of Grant,Shares,Strike,Notes\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["columns", str(path)])
    assert r.exit_code == 1 and "participant" in r.stderr
    assert "'Notes'" in r.output and "ignored" in r.output
    r = runner.invoke(main, ["columns", str(path), "--map", "Director Full Name=participant"])
    assert r.exit_code == 0, r.output
    assert "'Director Full Name'" in r.output and "-> participant" in r.output
    assert "'Strike'" in r.output and "-> exercise_price" in r.output
    # two headers that mean one column: validate would refuse the file, and columns says so
    both = tmp_path / "both.csv"
    both.write_text("Name,Director,Date of Grant,Shares,Price\n", encoding="utf-8")
    r = runner.invoke(main, ["columns", str(both)])
    assert r.exit_code == 1
    assert "headers 'Name' and 'Director' both mean 'participant'" in r.stderr


def test_generate_from_excel_with_mapping_and_only(tmp_path: Path, soffice: str) -> None:
    path = workbook(
        tmp_path / "g.xlsx",
        [
            ["ID", "Optionee Full Name", "Date of Grant", "Number of Shares", "Price"],
            ["X-1", "Ann Lee", dt.date(2005, 5, 16), 1000, 3.25],
            ["X-2", "Bo Chen", dt.date(2005, 5, 20), 2000, 3.31],
            ["X-3", "Cy Diaz", dt.date(2005, 5, 20), 3000, 3.31],
        ],
    )
    out = tmp_path / "o"
    r = CliRunner().invoke(
        main,
        [
            "generate",
            str(path),
            "-o",
            str(out),
            "--prices",
            str(PRICES),
            "-q",
            "--map",
            "Optionee Full Name=participant",
            "--only",
            "3-4",
            "--where",
            "grant_date=2005-05-20",
        ],
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.glob("*.pdf")) == ["X-2.pdf", "X-3.pdf"]


def test_preview_one_row(tmp_path: Path, soffice: str) -> None:
    from .conftest import SAMPLE

    out = tmp_path / "p"
    r = CliRunner().invoke(
        main, ["preview", str(SAMPLE), "--row", "3", "-o", str(out), "--prices", str(PRICES)]
    )
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    pdf = Path(next(ln.split(None, 1)[1] for ln in lines if ln.startswith("pdf:")))
    assert pdf.is_file() and pdf.name.endswith(".draft.pdf")
    pngs = [Path(ln.split(None, 1)[1]) for ln in lines if ln.startswith("png:")]
    assert len(pngs) >= 4 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert len(list(out.glob("*.pdf"))) == 1
    bad = CliRunner().invoke(
        main, ["preview", str(SAMPLE), "--row", "40", "-o", str(tmp_path / "q")]
    )
    assert bad.exit_code == 1 and "row 40" in bad.stderr


def test_preview_never_replaces_a_batchs_documents(tmp_path: Path, soffice: str) -> None:
    from .conftest import SAMPLE

    batch, ledger = tmp_path / "batch", tmp_path / "l.sqlite"
    common = ["--prices", str(PRICES), "--ledger", str(ledger)]
    made = CliRunner().invoke(main, ["generate", str(SAMPLE), "-o", str(batch), "--draft", *common])
    assert made.exit_code == 0, made.output
    before = {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()}
    args = ["preview", str(SAMPLE), "--row", "3", "-o", str(batch), "--no-png", *common]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1
    assert "manifest.json lists SAMPLE-2005-002.draft.docx, SAMPLE-2005-002.draft.pdf" in (
        refused.stderr
    )
    assert {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()} == before


def test_preview_writes_only_its_files_and_reads_only_the_ledger_it_is_given(
    tmp_path: Path, soffice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile
    from datetime import date

    from generator.checking.ledger import Ledger
    from generator.checking.ledgerentry import Entry
    from generator.reading.grantrecord import GrantRecord
    from generator.terms.plan import load_plan

    from .conftest import SAMPLE

    scratch = tmp_path / "tmp"  # where a preview's temporary folders go
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    held = tmp_path / "held.sqlite"  # the ledger in use holds row 3's grant id, other terms
    rec = GrantRecord(2, "SAMPLE-2005-002", "Daniel K. Osei", date(2005, 5, 16), 1, Decimal(3))
    with Ledger(held) as book:
        book.record(load_plan(), [Entry(rec, True, None, "test")])
    ledger_bytes = held.read_bytes()
    monkeypatch.setenv("GRANTGEN_LEDGER", str(held))
    batch = tmp_path / "batch"  # a batch's folder: its manifest and review are not a preview's
    (batch / "review").mkdir(parents=True)
    (batch / "manifest.json").write_text('{"documents": []}')
    (batch / "review" / "board_consent.pdf").write_bytes(b"the Board's consent")
    (batch / "SAMPLE-2005-002.draft-11.png").write_bytes(b"a page of an earlier preview")
    before = {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()}
    args = ["preview", str(SAMPLE), "--row", "3", "--prices", str(PRICES), "-o", str(batch)]

    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "ledger-conflict" in refused.stderr, refused.output
    assert {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()} == before
    assert list(scratch.iterdir()) == []

    fresh = tmp_path / "fresh.sqlite"
    r = CliRunner().invoke(main, [*args, "--ledger", str(fresh)])
    assert r.exit_code == 0, r.output
    printed = [Path(line.split(None, 1)[1]) for line in r.stdout.splitlines()]
    assert [p.name for p in printed[:2]] == [
        "SAMPLE-2005-002.draft.docx",
        "SAMPLE-2005-002.draft.pdf",
    ]
    assert len(printed) > 4 and all(p.parent == batch and p.is_file() for p in printed)
    assert sorted(p.name for p in batch.iterdir()) == sorted(
        ["manifest.json", "review", *(p.name for p in printed)]
    )  # the earlier preview's 11th page is gone: this one has fewer
    assert [p.name for p in (batch / "review").iterdir()] == ["board_consent.pdf"]
    assert (batch / "manifest.json").read_bytes() == before[batch / "manifest.json"]
    assert (batch / "review" / "board_consent.pdf").read_bytes() == b"the Board's consent"
    assert not fresh.exists() and held.read_bytes() == ledger_bytes  # read, never written
    assert list(scratch.iterdir()) == []

    for row in ("40", "3"):  # no such row; a refused row: no folder made or left
        failed = CliRunner().invoke(main, ["preview", str(SAMPLE), "--row", row])
        assert failed.exit_code == 1
        failed = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "new"), "--row", row])
        assert failed.exit_code == 1
        assert list(scratch.iterdir()) == [] and not (tmp_path / "new").exists()
    shown = CliRunner().invoke(main, ["preview", "--help"]).output
    assert "--ledger" in shown and "Read only" in shown and "no manifest.json" in shown


def test_where_and_map_name_what_is_wrong(tmp_path: Path) -> None:
    from .conftest import SAMPLE

    runner = CliRunner()
    bad = runner.invoke(main, ["validate", str(SAMPLE), "--where", "partcipant=x"])
    assert bad.exit_code == 2 and "'partcipant' is not a column" in bad.output
    assert "'--where'" in bad.output
    odd = tmp_path / "odd.csv"  # the participant under a header no alias knows
    odd.write_text("Who Gets It,grant_date,shares,exercise_price\nAnn,2005-05-16,1,3.25\n")
    mapped = runner.invoke(main, ["validate", str(odd), "--map", "Director Full Name=participant"])
    assert mapped.exit_code == 1 and "missing required column(s): participant" in mapped.output
    assert "--map names header(s) the file does not have: 'directorfullname'" in mapped.output


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("[$€-407]#,##0.00", "€ 3.25"),
        ('"£"#,##0.00', "£ 3.25"),
        ("[$EUR] #,##0.00", "EUR 3.25"),
        ("0.00%", "325%"),
    ],
)
def test_a_price_in_another_currency_or_a_percentage_is_not_read_as_dollars(
    tmp_path: Path, fmt: str, shown: str
) -> None:
    rows = [HEADERS, ["G-1", "Ann Lee", dt.date(2005, 5, 16), 15000, 3.25, "no"]]
    path = workbook(tmp_path / "g.xlsx", rows, {"E2": fmt})
    result = read_grants(path, ReadOptions(mapping=parse_mapping(["Employee?=is_employee"])))
    (error,) = result.errors
    assert (error.row, error.column) == (2, "Price")  # the sheet's header for exercise_price
    assert "not a price in dollars" in str(error) and shown in str(error)
    dollars = workbook(tmp_path / "d.xlsx", rows, {"E2": "[$$-409]#,##0.00"})
    ok = read_grants(dollars, ReadOptions(mapping=parse_mapping(["Employee?=is_employee"])))
    assert not ok.errors and ok.records[0].exercise_price == Decimal("3.25")
