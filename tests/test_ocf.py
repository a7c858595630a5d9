"""Issue 20: the ledger as an Open Cap Format 1.2.0 package. Every file validates against the
OCF schemas the project carries (checked here with jsonschema, offline), and export, import
into an empty ledger, export again gives the same bytes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.checking.ledger import Ledger
from generator.checking.ledgercsv import import_csv
from generator.cli import main
from generator.core.errors import OcfError
from generator.exports.ocfimport import read_package
from generator.exports.ocfschema import MANIFEST, OCF_DIR, problems, schema_files
from generator.terms.kit import init_kit
from generator.terms.plan import load_plan
from generator.terms.planmodel import Plan

#: (grant id, participant, grant date, award type, shares, price, final date, schedule, start,
#: vesting date): a history of every kind of award, its vesting worked out as generate does.
GRANTS = [
    ("M-1", "Ana Núñez", "2024-07-01", "option", 12000, "18.40", "2034-07-01", "initial", None,
     None),
    ("M-2", "Henrik Solberg & Co. <Trust>", "2024-07-01", "option", 9000, "18.40", "2034-07-01",
     "monthly", "2024-06-15", None),
    ("M-3", "Ana Núñez", "2024-08-15", "restricted_stock", 3000, "0", None, "annual", None,
     None),
    ("M-4", "Zoë O'Brien", "2024-09-02", "stock_unit", 4500, "0", None, "meeting", None,
     "2025-06-01"),
    ("M-5", "Henrik Solberg & Co. <Trust>", "2025-01-06", "option", 7000, "21.125", "2035-01-06",
     None, None, None),
    ("M-6", "Zoë O'Brien", "2025-05-01", "option", 3000, "14.10", "2035-05-01", None, None,
     None),  # granted on the day of the split: in post-split shares already
]  # fmt: skip


def history(plan: Plan) -> str:
    """:data:`GRANTS` as the CSV import reads, with their installments."""
    from generator.checking.ledgerentry import vesting_entry
    from generator.reading.grantrecord import GrantRecord

    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["grant_id", "participant", "grant_date", "award_type", "shares",
                  "exercise_price", "final_exercise_date", "vesting_schedule", "vesting_start",
                  "vesting"])  # fmt: skip
    for gid, who, day, kind, shares, price, final, schedule, start, on in GRANTS:
        record = GrantRecord(
            row=2, grant_id=gid, participant=who, grant_date=date.fromisoformat(day),
            shares=shares, exercise_price=Decimal(price), award_type=kind,
            vesting_schedule=schedule, vesting_start=date.fromisoformat(start) if start else None,
            vesting_date=date.fromisoformat(on) if on else None,
        )  # fmt: skip
        name, parts = vesting_entry(record, plan)
        assert parts, gid
        vesting = "; ".join(f"{p.day.isoformat()} {p.shares}" for p in parts)
        out.writerow([gid, who, day, kind, shares, price, final or "", name or "", start or "",
                      vesting])  # fmt: skip
    return buf.getvalue()


def grantgen(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def ledger_cli(kit: Path, book: Path, *args: object) -> Result:
    """``grantgen ledger ARGS --plan KIT --ledger BOOK``."""
    return grantgen("ledger", *args, "--plan", kit, "--ledger", book)


def ledger_ok(kit: Path, book: Path, *args: object) -> Result:
    """:func:`ledger_cli`, which must succeed (its output shown when it does not)."""
    result = ledger_cli(kit, book, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    folder = tmp_path / "kit"
    init_kit(folder, "meridian")  # (its plan file gives the company's formation date)
    return folder


@pytest.fixture
def ledger(kit: Path, tmp_path: Path) -> Path:
    """Grants of every kind, a forfeiture before and one after a 3:2 split, a signed, a
    paper and a declined answer."""
    path = tmp_path / "ledger.sqlite"
    plan = load_plan(kit)
    with Ledger(path) as book:
        import_csv(book, plan, history(plan))
    ledger_ok(kit, path, "forfeit", "M-2", "--shares", "1000", "--date", "2025-03-01")
    ledger_ok(kit, path, "adjust", "--split", "3:2", "--date", "2025-05-01")
    ledger_ok(kit, path, "forfeit", "M-5", "--shares", "1500", "--date", "2025-06-02")
    with sqlite3.connect(path) as conn:
        for row in [
            ("M-1", "accepted", "signature", "2024-07-09", "2024-07-09T17:02:11Z",
             "Ana Núñez", "M-1.accepted.pdf", "a" * 64, "0123456789abcdef0123456789abcdef"),
            ("M-3", "accepted", "paper", "2024-08-20", None, None,
             "M-3.accepted-paper.pdf", "b" * 64, "fedcba9876543210fedcba9876543210"),
            ("M-4", "declined", "paper", "2024-09-10", None, None, None, None, None),
        ]:  # fmt: skip
            conn.execute(
                "INSERT INTO acceptances (grant_id, plan_id, state, how, day, signed_at, signer, "
                "file, sha256, md5, batch, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    *row[:1],
                    plan.id,
                    *row[1:],
                    "/batches/2024",
                    "prefers cash" if row[0] == "M-4" else "",
                ),
            )
    return path


def _files(data: bytes) -> dict[str, dict[str, object]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: json.loads(z.read(n)) for n in z.namelist()}


def test_the_export_validates_and_says_what_the_ledger_holds(
    kit: Path, ledger: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cap.ocf.zip"
    ledger_ok(kit, ledger, "export", "--format", "ocf", out)
    files = _files(out.read_bytes())
    schemas = {
        "Manifest.ocf.json": "OCFManifestFile",
        "Stakeholders.ocf.json": "StakeholdersFile",
        "StockClasses.ocf.json": "StockClassesFile",
        "StockPlans.ocf.json": "StockPlansFile",
        "VestingTerms.ocf.json": "VestingTermsFile",
        "Transactions.ocf.json": "TransactionsFile",
        "Documents.ocf.json": "DocumentsFile",
    }
    assert set(files) == set(schemas)
    for name, schema in schemas.items():
        assert problems(files[name], schema) == [], name
    manifest = files[MANIFEST]
    assert manifest["ocf_version"] == "1.2.0"
    assert manifest["issuer"] == {  # type: ignore[comparison-overlap]
        "id": "issuer-meridian-lattice-systems-inc",
        "object_type": "ISSUER",
        "legal_name": "Meridian Lattice Systems, Inc.",
        "formation_date": "2014-03-03",
        "country_of_formation": "US",
        "country_subdivision_of_formation": "DE",
    }
    items = {o["id"]: o for o in files["Transactions.ocf.json"]["items"]}  # type: ignore[index, attr-defined]
    option = items["issuance-M-1"]
    assert option["compensation_type"] == "OPTION_NSO" and option["quantity"] == "12000"
    assert option["exercise_price"] == {"amount": "18.40", "currency": "USD"}
    assert (
        option["expiration_date"] == "2034-07-01"
        and option["vesting_terms_id"] == "vesting-initial"
    )
    assert [v["amount"] for v in option["vestings"]] == ["4000", "4000", "4000"]
    assert {w["period"] for w in option["termination_exercise_windows"]} == {1}
    assert items["issuance-M-3"]["object_type"] == "TX_STOCK_ISSUANCE"
    assert items["issuance-M-3"]["issuance_type"] == "RSA"
    assert items["issuance-M-4"]["compensation_type"] == "RSU"
    assert items["issuance-M-4"]["expiration_date"] is None  # a unit does not expire
    order = list(items)
    assert order.index("split-1") < order.index("issuance-M-6")  # the split starts its day
    assert items["issuance-M-5"]["exercise_price"]["amount"] == "21.125"
    assert items["acceptance-M-1"]["object_type"] == "TX_EQUITY_COMPENSATION_ACCEPTANCE"
    assert items["acceptance-M-3"]["object_type"] == "TX_STOCK_ACCEPTANCE"
    assert "acceptance-M-4" not in items  # declined
    cancels = [o for o in items.values() if o["object_type"].endswith("_CANCELLATION")]
    assert [(c["security_id"], c["date"], c["quantity"]) for c in cancels] == [
        ("security-M-2", "2025-03-01", "1000"), ("security-M-5", "2025-06-02", "1500")
    ]  # fmt: skip
    split = items["split-1"]
    assert split["split_ratio"] == {"numerator": "3", "denominator": "2"}
    assert items["pool-split-1"]["shares_reserved"] == "2250000"
    names = {s["name"]["legal_name"] for s in files["Stakeholders.ocf.json"]["items"]}  # type: ignore[index, attr-defined]
    assert names == {"Ana Núñez", "Henrik Solberg & Co. <Trust>", "Zoë O'Brien"}
    docs = files["Documents.ocf.json"]["items"]  # type: ignore[index]
    assert [(d["path"], d["md5"]) for d in docs] == [  # type: ignore[union-attr]
        ("M-1.accepted.pdf", "0123456789abcdef0123456789abcdef"),
        ("M-3.accepted-paper.pdf", "fedcba9876543210fedcba9876543210"),
    ]
    terms = {t["id"]: t for t in files["VestingTerms.ocf.json"]["items"]}  # type: ignore[index, union-attr]
    monthly = terms["vesting-monthly"]["vesting_conditions"]
    assert [c["portion"]["numerator"] for c in monthly[1:]] == ["12", "24"]
    assert "vesting-meeting" not in terms  # a date per grant: the grants carry the vestings


def test_export_import_export_is_the_same_file(kit: Path, ledger: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.ocf.zip", tmp_path / "2.ocf.zip"
    ledger_ok(kit, ledger, "export", "--format", "ocf", first)
    fresh = tmp_path / "fresh" / "ledger.sqlite"
    fresh.parent.mkdir()
    done = ledger_ok(kit, fresh, "import", "--format", "ocf", first)
    assert "6 grant(s) imported" in done.output, done.output
    ledger_ok(kit, fresh, "export", "--format", "ocf", second)
    assert first.read_bytes() == second.read_bytes()
    csv_before = ledger_cli(kit, ledger, "export")
    csv_after = ledger_cli(kit, fresh, "export")
    assert csv_before.output == csv_after.output
    again = ledger_cli(kit, fresh, "import", "--format", "ocf", first)
    assert again.exit_code == 1 and "holds grants already" in again.output
    assert sorted(p.name for p in fresh.parent.iterdir() if "ocf-import" in p.name) == []


def test_a_damaged_package_or_another_plans_is_refused_naming_the_problem(
    kit: Path, ledger: Path, tmp_path: Path
) -> None:
    good = tmp_path / "cap.ocf.zip"
    ledger_cli(kit, ledger, "export", "--format", "ocf", good)
    files = {n: json.dumps(d).encode() for n, d in _files(good.read_bytes()).items()}
    txs = json.loads(files["Transactions.ocf.json"])
    at = next(i for i, o in enumerate(txs["items"]) if o["id"] == "issuance-M-1")
    txs["items"][at]["quantity"] = "12,000"
    files["Transactions.ocf.json"] = json.dumps(txs).encode()
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        for name, body in files.items():
            z.writestr(name, body)
    with pytest.raises(OcfError) as refused_read:
        read_package(bad.getvalue())
    assert f"Transactions.ocf.json: items[{at}].quantity: '12,000' does not match" in str(
        refused_read.value
    )
    other = tmp_path / "other"
    init_kit(other, "meridian")
    text = (other / "plan.toml").read_text().replace('id = "meridian-2024"', 'id = "other-plan"')
    (other / "plan.toml").write_text(text)
    refused = ledger_cli(other, tmp_path / "new.sqlite", "import", "--format", "ocf", good)
    assert refused.exit_code == 1 and "the package's stock plan is meridian-2024" in refused.output


def test_an_issuer_without_a_formation_date_is_exported_with_a_stand_in_and_a_warning(
    tmp_path: Path,
) -> None:
    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    text = (kit / "plan.toml").read_text()
    (kit / "plan.toml").write_text(text.replace("formation_date = 2014-03-03\n", ""))
    out = tmp_path / "x.ocf.zip"
    nowhere = ledger_cli(kit, tmp_path / "none.sqlite", "export", "--format", "ocf", out)
    assert nowhere.exit_code == 1 and "there is no ledger at" in nowhere.output
    with Ledger(tmp_path / "l.sqlite"):
        pass  # an empty ledger
    result = ledger_ok(kit, tmp_path / "l.sqlite", "export", "--format", "ocf", out)
    assert "warning:" in result.stderr and "[company] formation_date is not given" in result.stderr
    manifest = _files(out.read_bytes())[MANIFEST]
    assert manifest["issuer"]["formation_date"] == "2024-06-01"  # type: ignore[index]
    assert any("standing in" in c for c in manifest["comments"])  # type: ignore[attr-defined]


def test_the_schemas_carried_keep_their_license_and_notices() -> None:
    assert (OCF_DIR / "LICENSE.md").is_file()
    schemas = list(schema_files())
    assert len(schemas) > 100
    for path in schemas:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["$comment"].startswith("Copyright © 2024 Open Cap Table Coalition"), path
