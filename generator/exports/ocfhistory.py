"""The ledger's history in the OCF package (:mod:`.ocf`): what the export reads from the ledger
(:func:`read_ledger`), and the transactions it makes of it (:func:`transactions`): each grant
an issuance with its exact vestings (restricted stock a stock issuance, the others equity
compensation), its vesting start and acceptance; forfeitures as cancellations; splits with the
pool adjustments they make, and each amendment that changes the reserve."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.checking.ledger import Ledger
from generator.checking.ledgerhistory import parse_split
from generator.exports.ocfschema import COMPENSATION, NOTE, STOCK_CLASS
from generator.terms.planmodel import Plan


@dataclass(frozen=True)
class Ledgered:
    """What the export reads from the ledger (and the import writes back)."""

    grants: list[dict[str, Any]]
    forfeits: list[tuple[str, str, int]]  # (grant id, day, shares), in the order recorded
    splits: list[tuple[str, str, int]]  # (day, ratio new:old, reserve after)
    answers: dict[str, dict[str, Any]]  # grant id -> its acceptances row


def read_ledger(book: Ledger, plan: Plan) -> Ledgered:
    grants = book.grants(plan.id)
    forfeits = [
        (str(g), str(d), int(n))
        for g, d, n in book.conn.execute(
            "SELECT grant_id, day, shares FROM events WHERE plan_id = ? AND kind = 'forfeit' "
            "ORDER BY day, id",
            (plan.id,),
        )
    ]
    splits = [
        (str(d), str(r), int(after))
        for d, r, after in book.conn.execute(
            "SELECT day, ratio, reserve_after FROM adjustments WHERE plan_id = ? ORDER BY day, id",
            (plan.id,),
        )
    ]
    names = ("state", "how", "day", "signed_at", "signer", "file", "sha256", "md5", "batch",
             "note")  # fmt: skip
    answers = {
        str(row[0]): dict(zip(names, row[1:], strict=True))
        for row in book.conn.execute(
            f"SELECT grant_id, {', '.join(names)} FROM acceptances WHERE plan_id = ? "
            "ORDER BY grant_id",
            (plan.id,),
        )
    }
    return Ledgered(grants, forfeits, splits, answers)


#: A transaction and where it sorts: (date, order within the day, the OCF object).
_Dated = tuple[str, int, dict[str, Any]]


def transactions(
    data: Ledgered,
    plan: Plan,
    holders: Mapping[str, str],
    schedules: Mapping[str, dict[str, Any] | None],
) -> list[dict[str, Any]]:
    """The package's transactions, by date, then order within the day (a split and its pool
    adjustment, issuances, vesting starts, acceptances, cancellations, amendments), then id.
    ``holders``: each participant's stakeholder id; ``schedules``: the plan's vesting terms
    by schedule name (None: a schedule OCF cannot say)."""
    out: list[_Dated] = []
    for g in data.grants:
        answer = data.answers.get(str(g["grant_id"]))
        out += _grant_transactions(g, answer, plan, holders, schedules)
    kinds = {str(g["grant_id"]): str(g["award_type"]) for g in data.grants}
    out += _cancellations(data.forfeits, kinds)
    out += _splits(data.splits, plan)
    out += _amendments(plan)
    out.sort(key=lambda t: (t[0], t[1], t[2]["id"]))
    return [obj for _, _, obj in out]


def _grant_transactions(
    g: Mapping[str, Any],
    answer: Mapping[str, Any] | None,
    plan: Plan,
    holders: Mapping[str, str],
    schedules: Mapping[str, dict[str, Any] | None],
) -> list[_Dated]:
    """A grant's issuance, its vesting start (when its schedule is one of the package's
    vesting terms and it has a start) and its acceptance (when accepted)."""
    grant_id, kind = str(g["grant_id"]), str(g["award_type"])
    start = g.get("vesting_start")
    common = _issuance_common(g, answer, plan, holders, schedules)
    out: list[_Dated] = [(str(g["grant_date"]), 0, _issuance(g, kind, common, plan))]
    if common.get("vesting_terms_id") and start:
        out.append((str(start), 1, {
            "id": f"vesting-start-{grant_id}",
            "object_type": "TX_VESTING_START",
            "security_id": _security(grant_id),
            "date": str(start),
            "vesting_condition_id": "start",
        }))  # fmt: skip
    if answer is not None and answer["state"] == "accepted":
        out.append((str(answer["day"]), 2, {
            "id": f"acceptance-{grant_id}",
            "object_type": _of_security(kind, "ACCEPTANCE"),
            "security_id": _security(grant_id),
            "date": str(answer["day"]),
        }))  # fmt: skip
    return out


def _issuance_common(
    g: Mapping[str, Any],
    answer: Mapping[str, Any] | None,
    plan: Plan,
    holders: Mapping[str, str],
    schedules: Mapping[str, dict[str, Any] | None],
) -> dict[str, Any]:
    """What every kind of issuance of a grant says: who, when, how many, its exact vestings
    and (when OCF can say its schedule) its vesting terms."""
    grant_id, day = str(g["grant_id"]), str(g["grant_date"])
    schedule = g.get("vesting_schedule")
    notes = _grant_notes(g, answer)
    common: dict[str, Any] = {
        "id": f"issuance-{grant_id}",
        "security_id": _security(grant_id),
        "date": day,
        "custom_id": grant_id,
        "stakeholder_id": holders[str(g["participant"])],
        "stock_plan_id": plan.id,
        "stock_class_id": STOCK_CLASS,
        "board_approval_date": day,
        "security_law_exemptions": [],
        "quantity": str(g["original_shares"]),
        "comments": notes,
    }
    vestings = [
        {"date": d, "amount": _numeric(n)}
        for d, n in (part.split(" ") for part in str(g.get("vesting") or "").split("; ") if part)
    ]
    if vestings:
        common["vestings"] = vestings
    if schedule and schedules.get(str(schedule)) is not None:
        common["vesting_terms_id"] = f"vesting-{schedule}"
    return common


def _grant_notes(g: Mapping[str, Any], answer: Mapping[str, Any] | None) -> list[str]:
    """What OCF has no field for: the grant's schedule and vesting start (a unit's price),
    and how it was answered."""
    extra = {"vesting_schedule": g.get("vesting_schedule"), "vesting_start": g.get("vesting_start")}
    if str(g["award_type"]) == "stock_unit":  # a price OCF has no field for
        extra["price"] = str(g["original_price"])
    notes = [_note(extra)]
    if answer is not None:
        # (not the batch folder: a path on the machine that recorded it)
        notes.append(_note({"answer": {k: v for k, v in answer.items() if k != "batch"}}))
    return notes


def _issuance(
    g: Mapping[str, Any], kind: str, common: Mapping[str, Any], plan: Plan
) -> dict[str, Any]:
    """The grant's issuance: restricted stock a stock issuance, the others equity
    compensation (an option with its exercise price, expiration and exercise windows)."""
    if kind == "restricted_stock":
        return {
            "object_type": "TX_STOCK_ISSUANCE",
            **common,
            "share_price": _money(str(g["original_price"])),
            "stock_legend_ids": [],
            "issuance_type": "RSA",
        }
    final = g.get("final_exercise_date")
    issuance: dict[str, Any] = {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        **common,
        "compensation_type": COMPENSATION[kind],
        # a unit has no exercise term: it expires with nothing to exercise
        "expiration_date": str(final) if final and kind != "stock_unit" else None,
        "termination_exercise_windows": _windows(plan, kind),
    }
    if kind in ("option", "incentive_option"):
        issuance["exercise_price"] = _money(str(g["original_price"]))
    return issuance


def _cancellations(
    forfeits: Sequence[tuple[str, str, int]], kinds: Mapping[str, str]
) -> list[_Dated]:
    """Each forfeiture (``kinds``: each grant's award type) as a cancellation."""
    return [
        (day, 3, {
            "id": f"cancellation-{number}-{grant_id}",
            "object_type": _of_security(kinds.get(grant_id, ""), "CANCELLATION"),
            "security_id": _security(grant_id),
            "date": day,
            "quantity": str(shares),
            "reason_text": "Forfeited, expired or cancelled: the shares return to the plan's "
            "reserve (in the shares of that date)",
        })
        for number, (grant_id, day, shares) in enumerate(forfeits, start=1)
    ]  # fmt: skip


def _splits(splits: Sequence[tuple[str, str, int]], plan: Plan) -> list[_Dated]:
    """Each split of the stock class, and the pool adjustment it makes."""
    out: list[_Dated] = []
    for number, (day, ratio, after) in enumerate(splits, start=1):
        new, old = parse_split(ratio)
        out.append((day, -2, {  # first on its day: a grant or forfeiture that day is in
            # post-split shares already
            "id": f"split-{number}",
            "object_type": "TX_STOCK_CLASS_SPLIT",
            "stock_class_id": STOCK_CLASS,
            "date": day,
            "split_ratio": {"numerator": str(new), "denominator": str(old)},
        }))  # fmt: skip
        out.append((day, -1, {
            "id": f"pool-split-{number}",
            "object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT",
            "stock_plan_id": plan.id,
            "date": day,
            "shares_reserved": str(after),
            "comments": [f"The reserve as adjusted for the {ratio} split."],
        }))  # fmt: skip
    return out


def _amendments(plan: Plan) -> list[_Dated]:
    """A pool adjustment for each amendment of the plan that changes its reserve."""
    return [
        (amendment.date.isoformat(), 5, {
            "id": f"pool-amendment-{amendment.number}",
            "object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT",
            "stock_plan_id": plan.id,
            "date": amendment.date.isoformat(),
            "shares_reserved": str(amendment.reserve),
            "comments": [f"Amendment No. {amendment.number}: {amendment.summary}"],
        })
        for amendment in plan.amendments
        if amendment.reserve is not None
    ]  # fmt: skip


def _note(data: Mapping[str, Any]) -> str:
    return NOTE + json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _money(value: str) -> dict[str, str]:
    return {"amount": _numeric(value), "currency": "USD"}


def _numeric(value: object) -> str:
    """A number as the ledger holds it (``18.40``: OCF's Numeric keeps its decimals, so a
    package read back gives the same text)."""
    return str(value)


def _security(grant_id: str) -> str:
    return f"security-{grant_id}"


def _of_security(kind: str, what: str) -> str:
    """The transaction type of an award: restricted stock is stock, the others equity
    compensation (``TX_STOCK_ACCEPTANCE``, ``TX_EQUITY_COMPENSATION_CANCELLATION``)."""
    return f"TX_{'STOCK' if kind == 'restricted_stock' else 'EQUITY_COMPENSATION'}_{what}"


def _windows(plan: Plan, kind: str) -> list[dict[str, Any]]:
    """The exercise window after service ends (the plan's post-service period)."""
    if kind not in ("option", "incentive_option"):
        return []
    return [
        {"reason": reason, "period": plan.post_service_exercise_years, "period_type": "YEARS"}
        for reason in ("VOLUNTARY_OTHER", "INVOLUNTARY_OTHER")
    ]
