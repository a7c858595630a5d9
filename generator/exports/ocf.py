"""The ledger as an Open Cap Format (OCF) 1.2.0 package (read back by :mod:`.ocfimport`).

``export_ocf`` writes a ZIP of OCF files: the manifest (the issuer from the plan file), the
stakeholders, the stock plan (each amendment that changes its reserve, and each split, a pool
adjustment), one common stock class, the plan's schedules as vesting terms, the transactions
(:mod:`.ocfhistory`: each grant an equity compensation issuance with its exact vestings,
expiration and exercise window; restricted stock a stock issuance; vesting starts,
acceptances, forfeitures as cancellations, splits) and the documents (the accepted packets,
with their md5), validated (:mod:`.ocfschema`) before anything is written. What OCF has no
field for (a grant's schedule and vesting start, how it was accepted) travels in ``comments``
as ``grantgen: {json}``. The package is deterministic: its time is the ledger's last date,
not the clock's.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

from anyascii import anyascii

from generator.checking.ledger import Ledger
from generator.core.errors import OcfError
from generator.exports.ocfhistory import Ledgered, read_ledger, transactions
from generator.exports.ocfschema import (
    FILES,
    MANIFEST,
    OCF_VERSION,
    STOCK_CLASS,
    validate_package,
)
from generator.terms.planmodel import Plan
from generator.terms.vesting import Schedule

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
    as_of = _as_of(data, plan)
    holders = _stakeholder_ids(g["participant"] for g in data.grants)
    stakeholders = _stakeholders(holders)
    stock_class, stock_plan = _stock_class(plan), _stock_plan(plan)
    schedules = {name: vesting_terms(s) for name, s in sorted(plan.vesting.items())}
    content = {
        "Stakeholders.ocf.json": stakeholders,
        "StockClasses.ocf.json": [stock_class],
        "StockPlans.ocf.json": [stock_plan],
        "VestingTerms.ocf.json": [t for t in schedules.values() if t is not None],
        "Transactions.ocf.json": transactions(data, plan, holders, schedules),
        "Documents.ocf.json": _documents(data),
    }
    files: dict[str, bytes] = {}
    manifest = _manifest(plan, as_of)
    for key, name, kind, _ in FILES:
        files[name] = _json({"file_type": kind, "items": content[name]})
        manifest[key] = [{"filepath": name, "md5": hashlib.md5(files[name]).hexdigest()}]
    files[MANIFEST] = _json(manifest)
    return files


def _as_of(data: Ledgered, plan: Plan) -> str:
    """The ledger's last date (the plan's effective date when it holds nothing): the
    package's time, so that the same ledger gives the same package."""
    days = [g["grant_date"] for g in data.grants]
    days += [d for _, d, _ in data.forfeits] + [d for d, _, _ in data.splits]
    days += [a["day"] for a in data.answers.values()]
    return str(max(days, default=plan.effective_date.isoformat()))


def _stakeholders(holders: Mapping[str, str]) -> list[dict[str, Any]]:
    """A stakeholder for each id (``holders``: participant -> id), by the name first
    recorded for it."""
    named: dict[str, str] = {}  # stakeholder id -> the name first recorded for it
    for name, sid in holders.items():
        named.setdefault(sid, name)
    return [
        {
            "id": sid,
            "object_type": "STAKEHOLDER",
            "name": {"legal_name": name},
            "stakeholder_type": "INDIVIDUAL",
            "current_relationship": "BOARD_MEMBER",
        }
        for sid, name in sorted(named.items())
    ]


def _stock_class(plan: Plan) -> dict[str, Any]:
    return {
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


def _stock_plan(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "object_type": "STOCK_PLAN",
        "plan_name": plan.name,
        "board_approval_date": plan.effective_date.isoformat(),
        "initial_shares_reserved": str(plan.reserve_first),
        "default_cancellation_behavior": "RETURN_TO_POOL",
        "stock_class_ids": [STOCK_CLASS],
    }


def _manifest(plan: Plan, as_of: str) -> dict[str, Any]:
    """The manifest, but the files it lists (each added with its md5)."""
    return {
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": _issuer(plan),
        "as_of": as_of,
        "generated_at": f"{as_of}T00:00:00Z",
        "comments": [
            f"Exported by grantgen from its share ledger, plan {plan.id}; generated_at is the "
            "ledger's last date, so the same ledger gives the same package.",
            *([] if plan.company.formation_date else [STAND_IN]),
        ],
        "stock_legend_templates_files": [],
        "valuations_files": [],
        "financings_files": [],
    }


def _issuer(plan: Plan) -> dict[str, Any]:
    """The company of the plan file (the plan's effective date standing in for a formation
    date it does not give)."""
    company = plan.company
    formed = company.formation_date or plan.effective_date
    issuer = {
        "id": f"issuer-{_slug(company.name)}",
        "object_type": "ISSUER",
        "legal_name": company.name,
        "formation_date": formed.isoformat(),
        "country_of_formation": company.country,
    }
    if company.country == "US" and company.state in US_STATES:
        issuer["country_subdivision_of_formation"] = US_STATES[company.state]
    return issuer


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
