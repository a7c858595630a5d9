"""The ledger as an Open Cap Format (OCF) 1.2.0 package, and back.

``export_ocf`` writes a ZIP of OCF files: the manifest (the issuer from the plan file), the
stakeholders (each participant), the stock plan (its reserve; each amendment that changes it,
and each split, a pool adjustment), one common stock class, the plan's vesting schedules as
vesting terms, the transactions (each grant an equity compensation issuance with its exact
vestings, expiration and termination exercise window; restricted stock a stock issuance;
vesting starts, acceptances, forfeitures as cancellations, splits) and the documents (the
accepted packets, with their md5). Every file is validated against the OCF JSON schemas the
package carries (``generator/schemas/ocf-1.2.0``, offline) before anything is written.

``import_ocf`` reads such a package back into an empty ledger, so that an export of the
imported ledger is the same file, byte for byte. What OCF has no field for (a grant's vesting
schedule and start, how it was accepted) travels in the objects' ``comments`` as
``grantgen: {json}``. The package is deterministic: its time is the ledger's last date, not
the clock's.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from anyascii import anyascii

from .errors import GrantgenError
from .ledger import EXPORT_COLUMNS, VESTING_COLUMNS, Ledger, LedgerError, parse_split
from .plan import Plan
from .vesting import Schedule

OCF_VERSION = "1.2.0"
SCHEMAS = Path(__file__).parent / "schemas" / "ocf-1.2.0" / "schema"
_ID = "https://schema.opencaptablecoalition.com/v/1.2.0/"
STOCK_CLASS = "common"
NOTE = "grantgen: "
"""The start of a comment holding what OCF has no field for (JSON after it)."""

#: The package's files: (manifest key, file name, OCF file type, schema).
FILES = (
    ("stakeholders_files", "Stakeholders.ocf.json", "OCF_STAKEHOLDERS_FILE", "StakeholdersFile"),
    ("stock_classes_files", "StockClasses.ocf.json", "OCF_STOCK_CLASSES_FILE", "StockClassesFile"),
    ("stock_plans_files", "StockPlans.ocf.json", "OCF_STOCK_PLANS_FILE", "StockPlansFile"),
    ("vesting_terms_files", "VestingTerms.ocf.json", "OCF_VESTING_TERMS_FILE", "VestingTermsFile"),
    ("transactions_files", "Transactions.ocf.json", "OCF_TRANSACTIONS_FILE", "TransactionsFile"),
    ("documents_files", "Documents.ocf.json", "OCF_DOCUMENTS_FILE", "DocumentsFile"),
)
MANIFEST = "Manifest.ocf.json"

#: grantgen's award types as OCF's compensation types (restricted stock is stock, not these).
COMPENSATION = {"option": "OPTION_NSO", "incentive_option": "OPTION_ISO", "stock_unit": "RSU"}
_AWARD = {v: k for k, v in COMPENSATION.items()}


class OcfError(GrantgenError):
    """Raised when a package cannot be written or read: the file, object and field named."""


# --- validation --------------------------------------------------------------------------


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources = []
    for path in sorted(SCHEMAS.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT7)))
    if not resources:
        raise OcfError(f"the OCF schemas are missing from {SCHEMAS}")
    return Registry().with_resources(resources)


@functools.cache
def _object_schemas() -> dict[str, str]:
    """Each OCF object type and the ``$id`` of the schema of objects of that type."""
    found: dict[str, str] = {}
    for path in sorted((SCHEMAS / "objects").rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        kind = schema.get("properties", {}).get("object_type", {})
        for name in [kind["const"]] if "const" in kind else kind.get("enum", []):
            found.setdefault(name, schema["$id"])
    return found


def _validator(schema_id: str) -> Any:
    from jsonschema import Draft7Validator

    registry = _registry()
    return Draft7Validator(
        registry.contents(schema_id),
        registry=registry,
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def problems(document: Mapping[str, Any], schema: str) -> list[str]:
    """Where ``document`` breaks the OCF schema ``files/<schema>.schema.json``: each problem
    with the path to the value (``items[3].quantity``). An item of a file that holds several
    kinds of object is checked against the schema of its own ``object_type``, so the problem
    is that kind's, not a list of every kind it is not."""
    found: list[tuple[str, str]] = []
    for error in _validator(f"{_ID}files/{schema}.schema.json").iter_errors(document):
        path = list(error.absolute_path)
        item = _item(document, path)
        own = _object_schemas().get(str(item.get("object_type"))) if item is not None else None
        if item is not None and own is not None and len(path) >= 2:
            for inner in _validator(own).iter_errors(item):
                found.append((_where(path[:2] + list(inner.absolute_path)), _short(inner)))
            continue
        found.append((_where(path), _short(error)))
    return [f"{where}: {text}" for where, text in sorted(dict.fromkeys(found))]


def _item(document: Mapping[str, Any], path: Sequence[object]) -> Mapping[str, Any] | None:
    """The object ``items[n]`` a path goes into, if it does."""
    if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
        items = document.get("items")
        if isinstance(items, list) and path[1] < len(items):
            item = items[path[1]]
            return item if isinstance(item, dict) else None
    return None


def _where(path: Sequence[object]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "(top)"


def _short(error: Any) -> str:
    """A schema error in a line."""
    text = str(error.message)
    return text if len(text) < 300 else text[:297] + "…"


def validate_package(files: Mapping[str, bytes]) -> list[str]:
    """Every problem of a package (file name -> bytes), by file."""
    found = []
    kinds = {name: schema for _, name, _, schema in FILES} | {MANIFEST: "OCFManifestFile"}
    for name, data in files.items():
        schema = kinds.get(name)
        if schema is None:
            continue
        try:
            document = json.loads(data)
        except ValueError as exc:
            found.append(f"{name}: not JSON ({exc})")
            continue
        found += [f"{name}: {p}" for p in problems(document, schema)]
    return found


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
    from .ledger import participant_key

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
    from .ledgercsv import import_csv

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
