"""The Open Cap Format 1.2.0 package's files, and their validation against the OCF JSON schemas
the project carries (generator/schemas/ocf-1.2.0, offline): each problem named by file, object
and field."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from generator.core.errors import OcfError

OCF_VERSION = "1.2.0"


OCF_DIR: Traversable = files("generator") / "schemas" / "ocf-1.2.0"
"""The schemas as the package ships them (package data, with their license and README)."""
SCHEMAS: Traversable = OCF_DIR / "schema"


def schema_files(folder: Traversable = SCHEMAS) -> Iterator[Traversable]:
    """Every ``*.schema.json`` under ``folder``, its subfolders included, in name order."""
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            yield from schema_files(item)
        elif item.name.endswith(".schema.json"):
            yield item


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


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources = []
    for path in schema_files():
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT7)))
    if not resources:
        raise OcfError(f"the OCF schemas are missing from {SCHEMAS}")
    return Registry().with_resources(resources)


@functools.cache
def _object_schemas() -> dict[str, str]:
    """Each OCF object type and the ``$id`` of the schema of objects of that type."""
    found: dict[str, str] = {}
    for path in schema_files(SCHEMAS / "objects"):
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
