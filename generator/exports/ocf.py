"""The ledger as an Open Cap Format (OCF) 1.2.0 package (read back by :mod:`.ocfimport`).

``export_ocf`` writes a ZIP of OCF files: the manifest (the issuer from the plan file), the
stakeholders, the stock plan (each amendment that changes its reserve, and each split, a pool
adjustment), one common stock class, the plan's schedules as vesting terms, the transactions
(each grant an equity compensation issuance with its exact vestings, expiration and exercise
window; restricted stock a stock issuance; vesting starts, acceptances, forfeitures as
cancellations, splits) and the documents (the accepted packets, with their md5), validated
(:mod:`.ocfschema`) before anything is written. What OCF has no field for (a grant's schedule
and vesting start, how it was accepted) travels in ``comments`` as ``grantgen: {json}``. The
package is deterministic: its time is the ledger's last date, not the clock's.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from anyascii import anyascii

from generator.checking.ledger import Ledger
from generator.checking.ledgerhistory import parse_split
from generator.core.errors import OcfError
from generator.exports.ocfschema import (
    COMPENSATION,
    FILES,
    MANIFEST,
    NOTE,
    OCF_VERSION,
    STOCK_CLASS,
    validate_package,
)
from generator.terms.planmodel import Plan
from generator.terms.vesting import Schedule

# --- validation --------------------------------------------------------------------------


# --- export ------------------------------------------------------------------------------


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


STAND_IN = (
    "The plan file gives no date of incorporation ([company] formation_date): the issuer's "
    "formation_date is the plan's effective date, standing in for it."
)


def missing_issuer_facts(plan: Plan) -> list[str]:
    """What the OCF issuer takes a stand-in for, in sentences (empty: nothing)."""
    if plan.company.formation_date is not None:
        return []
    return [
        f"{plan.source}: [company] formation_date is not given: the OCF issuer's formation date "
        f"is the plan's effective date {plan.effective_date.isoformat()}, standing in for the "
        "date of incorporation (add formation_date = YYYY-MM-DD under [company])"
    ]


def export_ocf(book: Ledger, plan: Plan) -> bytes:
    """The ledger's grants under ``plan`` as an OCF 1.2.0 ZIP (validated); raises naming
    what the plan file lacks or what does not validate."""
    files = package(read_ledger(book, plan), plan)
    found = validate_package(files)
    if found:
        raise OcfError(
            "the export does not validate against the OCF 1.2.0 schemas (nothing was written): "
            + "; ".join(found[:5])
            + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        )
    return _zip(files)


def _zip(files: Mapping[str, bytes]) -> bytes:
    """A ZIP whose bytes depend only on ``files`` (fixed times and order)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in [MANIFEST, *(n for _, n, _, _ in FILES)]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return buf.getvalue()


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()


def _note(data: Mapping[str, Any]) -> str:
    return NOTE + json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _money(value: str) -> dict[str, str]:
    return {"amount": _numeric(value), "currency": "USD"}


def _numeric(value: object) -> str:
    """A number as the ledger holds it (``18.40``: OCF's Numeric keeps its decimals, so a
    package read back gives the same text)."""
    return str(value)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", anyascii(name).lower()).strip("-") or "participant"


def _stakeholder_ids(names: Iterable[str]) -> dict[str, str]:
    """An id for each participant (by name as recorded): ``stakeholder-ana-nunez``."""
    from generator.checking.pool import participant_key

    ids: dict[str, str] = {}
    by_key: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        key = participant_key(name)
        if key in by_key:
            ids[name] = by_key[key]
            continue
        base = f"stakeholder-{_slug(name)}"
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        ids[name] = by_key[key] = candidate
    return ids


def vesting_terms(schedule: Schedule) -> dict[str, Any] | None:
    """A plan's schedule as OCF vesting terms (None when OCF's conditions cannot say it: a
    date per grant, or a cliff between installments: the grants carry exact vestings)."""
    n, every, cliff = schedule.installments, schedule.every_months, schedule.cliff_months
    terms: dict[str, Any] = {
        "id": f"vesting-{schedule.name}",
        "object_type": "VESTING_TERMS",
        "name": schedule.name,
        "description": schedule.description,
        "allocation_type": schedule.rounding,
    }
    start: dict[str, Any] = {"id": "start", "trigger": {"type": "VESTING_START_DATE"}}
    if schedule.on_date:
        return None
    if schedule.immediate:
        start |= {"portion": {"numerator": "1", "denominator": "1"}, "next_condition_ids": []}
        return terms | {"vesting_conditions": [start]}
    if cliff % every:
        return None
    at_cliff = min(n, cliff // every)
    rest = n - at_cliff
    conditions = [start | {"quantity": "0", "next_condition_ids": []}]

    def relative(cid: str, months: int, times: int, after: str, parts: int) -> dict[str, Any]:
        return {
            "id": cid,
            "portion": {"numerator": str(parts), "denominator": str(n)},
            "trigger": {
                "type": "VESTING_SCHEDULE_RELATIVE",
                "period": {
                    "type": "MONTHS",
                    "length": months,
                    "occurrences": times,
                    "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH",
                },
                "relative_to_condition_id": after,
            },
            "next_condition_ids": [],
        }

    previous = "start"
    if at_cliff:
        conditions.append(relative("cliff", cliff, 1, "start", at_cliff))
        conditions[0]["next_condition_ids"] = ["cliff"]
        previous = "cliff"
    if rest:
        conditions.append(relative("installments", every, rest, previous, rest))
        conditions[-2]["next_condition_ids"] = ["installments"]
    return terms | {"vesting_conditions": conditions}


def package(data: Ledgered, plan: Plan) -> dict[str, bytes]:
    """The package's files (name -> bytes), not yet validated."""
    company = plan.company
    formed = company.formation_date or plan.effective_date
    days = [g["grant_date"] for g in data.grants]
    days += [d for _, d, _ in data.forfeits] + [d for d, _, _ in data.splits]
    days += [a["day"] for a in data.answers.values()]
    as_of = max(days, default=plan.effective_date.isoformat())
    holders = _stakeholder_ids(g["participant"] for g in data.grants)
    named: dict[str, str] = {}  # stakeholder id -> the name first recorded for it
    for name, sid in holders.items():
        named.setdefault(sid, name)
    stakeholders = [
        {
            "id": sid,
            "object_type": "STAKEHOLDER",
            "name": {"legal_name": name},
            "stakeholder_type": "INDIVIDUAL",
            "current_relationship": "BOARD_MEMBER",
        }
        for sid, name in sorted(named.items())
    ]
    stock_class = {
        "id": STOCK_CLASS,
        "object_type": "STOCK_CLASS",
        "name": plan.section16.underlying_title if plan.section16 else "Common Stock",
        "class_type": "COMMON",
        "default_id_prefix": "CS-",
        "initial_shares_authorized": "NOT APPLICABLE",
        "votes_per_share": "1",
        "seniority": "1",
        "comments": ["The shares the company's charter authorizes are not in grantgen's ledger."],
    }
    stock_plan = {
        "id": plan.id,
        "object_type": "STOCK_PLAN",
        "plan_name": plan.name,
        "board_approval_date": plan.effective_date.isoformat(),
        "initial_shares_reserved": str(plan.reserve_first),
        "default_cancellation_behavior": "RETURN_TO_POOL",
        "stock_class_ids": [STOCK_CLASS],
    }
    schedules = {name: vesting_terms(s) for name, s in sorted(plan.vesting.items())}
    terms = [t for t in schedules.values() if t is not None]
    transactions = _transactions(data, plan, holders, schedules)
    documents = _documents(data)
    files: dict[str, bytes] = {}
    content = {
        "Stakeholders.ocf.json": stakeholders,
        "StockClasses.ocf.json": [stock_class],
        "StockPlans.ocf.json": [stock_plan],
        "VestingTerms.ocf.json": terms,
        "Transactions.ocf.json": transactions,
        "Documents.ocf.json": documents,
    }
    manifest: dict[str, Any] = {
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": {
            "id": f"issuer-{_slug(company.name)}",
            "object_type": "ISSUER",
            "legal_name": company.name,
            "formation_date": formed.isoformat(),
            "country_of_formation": company.country,
            **(
                {"country_subdivision_of_formation": US_STATES[company.state]}
                if company.country == "US" and company.state in US_STATES
                else {}
            ),
        },
        "as_of": as_of,
        "generated_at": f"{as_of}T00:00:00Z",
        "comments": [
            f"Exported by grantgen from its share ledger, plan {plan.id}; generated_at is the "
            "ledger's last date, so the same ledger gives the same package.",
            *([] if company.formation_date else [STAND_IN]),
        ],
        "stock_legend_templates_files": [],
        "valuations_files": [],
        "financings_files": [],
    }
    for key, name, kind, _ in FILES:
        files[name] = _json({"file_type": kind, "items": content[name]})
        manifest[key] = [{"filepath": name, "md5": hashlib.md5(files[name]).hexdigest()}]
    order = ["ocf_version", "file_type", "issuer", "as_of", "generated_at", "comments"]
    order += [k for k in manifest if k not in order]
    files[MANIFEST] = _json({k: manifest[k] for k in order})
    return files


def _security(grant_id: str) -> str:
    return f"security-{grant_id}"


def _transactions(
    data: Ledgered,
    plan: Plan,
    holders: Mapping[str, str],
    schedules: Mapping[str, dict[str, Any] | None],
) -> list[dict[str, Any]]:
    out: list[tuple[str, int, dict[str, Any]]] = []  # (date, order within the day, object)
    kinds: dict[str, str] = {}
    for g in data.grants:
        grant_id, kind = str(g["grant_id"]), str(g["award_type"])
        kinds[grant_id] = kind
        day = str(g["grant_date"])
        schedule, start = g.get("vesting_schedule"), g.get("vesting_start")
        extra = {"vesting_schedule": schedule, "vesting_start": start}
        if kind == "stock_unit":  # a price OCF has no field for
            extra["price"] = str(g["original_price"])
        answer = data.answers.get(grant_id)
        comments = [_note(extra)]
        if answer is not None:
            # (not the batch folder: a path on the machine that recorded it)
            comments.append(_note({"answer": {k: v for k, v in answer.items() if k != "batch"}}))
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
            "comments": comments,
        }
        vestings = [
            {"date": d, "amount": _numeric(n)}
            for d, n in (
                part.split(" ") for part in str(g.get("vesting") or "").split("; ") if part
            )
        ]
        if vestings:
            common["vestings"] = vestings
        if schedule and schedules.get(str(schedule)) is not None:
            common["vesting_terms_id"] = f"vesting-{schedule}"
        issuance: dict[str, Any]
        if kind == "restricted_stock":
            issuance = {
                "object_type": "TX_STOCK_ISSUANCE",
                **common,
                "share_price": _money(str(g["original_price"])),
                "stock_legend_ids": [],
                "issuance_type": "RSA",
            }
        else:
            final = g.get("final_exercise_date")
            issuance = {
                "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
                **common,
                "compensation_type": COMPENSATION[kind],
                # a unit has no exercise term: it expires with nothing to exercise
                "expiration_date": str(final) if final and kind != "stock_unit" else None,
                "termination_exercise_windows": _windows(plan, kind),
            }
            if kind in ("option", "incentive_option"):
                issuance["exercise_price"] = _money(str(g["original_price"]))
        out.append((day, 0, issuance))
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
    for number, (grant_id, day, shares) in enumerate(data.forfeits, start=1):
        out.append((day, 3, {
            "id": f"cancellation-{number}-{grant_id}",
            "object_type": _of_security(kinds.get(grant_id, ""), "CANCELLATION"),
            "security_id": _security(grant_id),
            "date": day,
            "quantity": str(shares),
            "reason_text": "Forfeited, expired or cancelled: the shares return to the plan's "
            "reserve (in the shares of that date)",
        }))  # fmt: skip
    for number, (day, ratio, after) in enumerate(data.splits, start=1):
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
    for amendment in plan.amendments:
        if amendment.reserve is not None:
            out.append((amendment.date.isoformat(), 5, {
                "id": f"pool-amendment-{amendment.number}",
                "object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT",
                "stock_plan_id": plan.id,
                "date": amendment.date.isoformat(),
                "shares_reserved": str(amendment.reserve),
                "comments": [f"Amendment No. {amendment.number}: {amendment.summary}"],
            }))  # fmt: skip
    out.sort(key=lambda t: (t[0], t[1], t[2]["id"]))
    return [obj for _, _, obj in out]


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


def _documents(data: Ledgered) -> list[dict[str, Any]]:
    docs = []
    for grant_id, answer in sorted(data.answers.items()):
        if not answer.get("file") or not answer.get("md5"):
            continue
        related = [
            {"object_type": "TX_EQUITY_COMPENSATION_ISSUANCE", "object_id": f"issuance-{grant_id}"}
        ]
        docs.append({
            "id": f"document-{grant_id}",
            "object_type": "DOCUMENT",
            "path": str(answer["file"]),
            "md5": str(answer["md5"]),
            "related_objects": related,
        })  # fmt: skip
    return docs


#: US states (and DC, Puerto Rico) as ISO 3166-2 subdivision codes, by name.
US_STATES: dict[str, str] = {
    name: code
    for code, name in (
        item.split(" ", 1)
        for item in (  # noqa: SIM905 - a table to read, not a list to write
            "AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|"
            "CT Connecticut|DE Delaware|DC District of Columbia|FL Florida|GA Georgia|HI Hawaii|"
            "ID Idaho|IL Illinois|IN Indiana|IA Iowa|KS Kansas|KY Kentucky|LA Louisiana|ME Maine|"
            "MD Maryland|MA Massachusetts|MI Michigan|MN Minnesota|MS Mississippi|MO Missouri|"
            "MT Montana|NE Nebraska|NV Nevada|NH New Hampshire|NJ New Jersey|NM New Mexico|"
            "NY New York|NC North Carolina|ND North Dakota|OH Ohio|OK Oklahoma|OR Oregon|"
            "PA Pennsylvania|RI Rhode Island|SC South Carolina|SD South Dakota|TN Tennessee|"
            "TX Texas|UT Utah|VT Vermont|VA Virginia|WA Washington|WV West Virginia|"
            "WI Wisconsin|WY Wyoming|PR Puerto Rico"
        ).split("|")
    )
}


# --- import ------------------------------------------------------------------------------
