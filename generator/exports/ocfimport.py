"""An Open Cap Format package read back into an empty ledger (:func:`import_ocf`): the grants as
granted, then the splits, the forfeitures and the answers, so that an export of the imported
ledger is the same file."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from generator.checking.ledger import Ledger
from generator.checking.ledgerschema import EXPORT_COLUMNS, VESTING_COLUMNS
from generator.core.errors import LedgerError, OcfError
from generator.exports.ocfschema import (
    _AWARD,
    FILES,
    MANIFEST,
    NOTE,
    validate_package,
)
from generator.terms.planmodel import Plan


def read_package(data: bytes, source: str = "the package") -> dict[str, Any]:
    """The package's files, parsed and validated; raises naming the first problems."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if MANIFEST not in names:
                raise OcfError(f"{source}: not an OCF package (no {MANIFEST})")
            files = {n: z.read(n) for n in [MANIFEST, *(f for _, f, _, _ in FILES)] if n in names}
    except zipfile.BadZipFile:
        raise OcfError(f"{source}: not a ZIP file") from None
    found = validate_package(files)
    missing = [n for _, n, _, _ in FILES if n not in files]
    if missing or found:
        raise OcfError(
            f"{source}: " + "; ".join([*(f"{n} is missing" for n in missing), *found][:5])
        )
    return {name: json.loads(body) for name, body in files.items()}


def import_ocf(book_path: Path, plan: Plan, data: bytes, source: str = "the package") -> int:
    """Read a package ``export_ocf`` wrote into the ledger at ``book_path``, which must hold no
    grant: built in a file beside it and put in place only when complete. Returns the number
    of grants."""
    files = read_package(data, source)
    plans = files["StockPlans.ocf.json"]["items"]
    if [p["id"] for p in plans] != [plan.id]:
        raise OcfError(
            f"{source}: the package's stock plan is {', '.join(p['id'] for p in plans) or 'none'}"
            f", not {plan.id}: give that plan's file with --plan"
        )
    with Ledger(book_path, create=False) as existing:
        if existing.grants() or existing.conn.execute("SELECT 1 FROM acceptances").fetchone():
            raise OcfError(f"{book_path}: the ledger holds grants already; import into a new one")
    holders = {s["id"]: s["name"]["legal_name"] for s in files["Stakeholders.ocf.json"]["items"]}
    txs = files["Transactions.ocf.json"]["items"]
    rows, answers, forfeits, splits = [], {}, [], []
    for tx in txs:
        kind = tx["object_type"]
        if kind in ("TX_EQUITY_COMPENSATION_ISSUANCE", "TX_STOCK_ISSUANCE"):
            extra = _notes(tx)
            award = _AWARD.get(tx.get("compensation_type", ""), "restricted_stock")
            money = tx.get("exercise_price") or tx.get("share_price")
            price = money["amount"] if money else str(extra.get("price", "0"))
            grant_id = tx["custom_id"]
            rows.append({
                "grant_id": grant_id,
                "plan_id": plan.id,
                "participant": holders[tx["stakeholder_id"]],
                "grant_date": tx["date"],
                "award_type": award,
                "shares": tx["quantity"],
                "exercise_price": price,
                "forfeited": "0",
                "original_shares": tx["quantity"],
                "original_price": price,
                "final_exercise_date": tx.get("expiration_date") or "",
                "vesting_schedule": extra.get("vesting_schedule") or "",
                "vesting_start": extra.get("vesting_start") or "",
                "vesting": "; ".join(f"{v['date']} {v['amount']}" for v in tx.get("vestings", [])),
                "split": "1:1",
            })  # fmt: skip
            if "answer" in extra:
                answers[grant_id] = extra["answer"]
        elif kind in ("TX_EQUITY_COMPENSATION_CANCELLATION", "TX_STOCK_CANCELLATION"):
            forfeits.append(
                (tx["security_id"].removeprefix("security-"), tx["date"], int(tx["quantity"]))
            )
        elif kind == "TX_STOCK_CLASS_SPLIT":
            ratio = tx["split_ratio"]
            splits.append((tx["date"], int(ratio["numerator"]), int(ratio["denominator"])))
    return _build(book_path, plan, rows, answers, forfeits, splits, source)


def _grant_named(message: str, rows: Sequence[Mapping[str, str]]) -> str:
    """An import error about row N of the grants made from the package, about its grant."""
    found = re.match(r"import row (\d+), column (\w+): (.*)", message, re.S)
    if found is None:
        return message
    number, column, rest = int(found.group(1)), found.group(2), found.group(3)
    grant = rows[number - 2]["grant_id"] if 2 <= number < len(rows) + 2 else "?"
    return f"issuance of {grant} ({column}): {rest}"


def _notes(obj: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for comment in obj.get("comments", []):
        if comment.startswith(NOTE):
            try:
                found |= json.loads(comment[len(NOTE) :])
            except ValueError:
                raise OcfError(f"{obj.get('id')}: a grantgen comment that is not JSON") from None
    return found


def _build(
    book_path: Path,
    plan: Plan,
    rows: Sequence[Mapping[str, str]],
    answers: Mapping[str, Mapping[str, Any]],
    forfeits: Sequence[tuple[str, str, int]],
    splits: Sequence[tuple[str, int, int]],
    source: str,
) -> int:
    from generator.checking.ledgercsv import import_csv

    building = book_path.with_name(f".{book_path.name}.ocf-import")
    for leftover in (building, *(Path(f"{building}{s}") for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*EXPORT_COLUMNS, *VESTING_COLUMNS, "split"])
    writer.writeheader()
    writer.writerows(rows)
    try:
        with Ledger(building) as book:
            try:
                import_csv(book, plan, buf.getvalue(), source="ocf import")
            except LedgerError as exc:  # "import row N, column C: ..." of the rows made here
                raise OcfError(f"{source}: {_grant_named(str(exc), rows)}") from None
            for day, new, old in splits:
                book.adjust(plan, new, old, date.fromisoformat(day))
            for grant_id, day, shares in forfeits:
                book.forfeit(plan, grant_id, shares, date.fromisoformat(day))
            with book.transaction() as conn:
                for grant_id, answer in sorted(answers.items()):
                    conn.execute(
                        "INSERT INTO acceptances (grant_id, plan_id, state, how, day, signed_at, "
                        "signer, file, sha256, md5, batch, note) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (grant_id, plan.id, answer["state"], answer["how"], answer["day"],
                         answer.get("signed_at"), answer.get("signer"), answer.get("file"),
                         answer.get("sha256"), answer.get("md5"), answer.get("batch") or "",
                         answer.get("note") or ""),
                    )  # fmt: skip
            book.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ("-wal", "-shm"):
            Path(f"{book_path}{suffix}").unlink(missing_ok=True)
        os.replace(building, book_path)
    finally:
        for leftover in (building, *(Path(f"{building}{s}") for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return len(rows)
