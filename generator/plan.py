"""Plan terms, read from a TOML file under ``data/plans/``.

A plan file holds what the documents need to know about the plan and the company granting
under it. Another company's plan is another file, not new code. A missing or ill-typed term is
rejected with its key named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PlanError
from .resources import default_plan


@dataclass(frozen=True)
class Officer:
    """The officer who signs for the Company."""

    name: str
    """Full name, as printed under the signature line."""
    title: str
    """Title, as printed under the name."""


@dataclass(frozen=True)
class Company:
    """The company granting the awards."""

    name: str
    """Legal name, e.g. ``Art Technology Group, Inc.``."""
    state: str
    """State of incorporation, e.g. ``Delaware``."""
    officer: Officer
    """Who signs the agreements for the Company."""


@dataclass(frozen=True)
class Plan:
    """The terms of one stock plan."""

    id: str
    """Short identifier, e.g. ``atg-1999``."""
    name: str
    """The Plan's name as the agreement writes it."""
    short_name: str
    """The shorter name the acceptance page uses."""
    company: Company
    """The company granting under the plan."""
    source: str
    """The file the terms were read from."""


def _get(table: dict[str, Any], key: str, path: str, prefix: str) -> Any:
    full = f"{prefix}.{key}" if prefix else key
    if key not in table:
        raise PlanError(path, full, "is missing")
    return table[key]


def _text(table: dict[str, Any], key: str, path: str, prefix: str) -> str:
    value = _get(table, key, path, prefix)
    full = f"{prefix}.{key}"
    if not isinstance(value, str):
        raise PlanError(path, full, f"must be text, not {type(value).__name__} ({value!r})")
    if not value.strip():
        raise PlanError(path, full, "must not be empty")
    return value.strip()


def _table(table: dict[str, Any], key: str, path: str, prefix: str = "") -> dict[str, Any]:
    value = _get(table, key, path, prefix)
    if not isinstance(value, dict):
        full = f"{prefix}.{key}" if prefix else key
        raise PlanError(path, full, f"must be a table ([{full}]), not {type(value).__name__}")
    return value


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and check a plan file (the bundled ATG plan when ``path`` is None)."""
    file = Path(path) if path is not None else default_plan()
    where = str(file)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(where, None, "no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(where, None, f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(where, None, f"is not valid TOML: {exc}") from None

    plan = _table(data, "plan", where)
    company = _table(data, "company", where)
    officer = _table(company, "officer", where, "company")
    return Plan(
        id=_text(plan, "id", where, "plan"),
        name=_text(plan, "name", where, "plan"),
        short_name=_text(plan, "short_name", where, "plan"),
        company=Company(
            name=_text(company, "name", where, "company"),
            state=_text(company, "state", where, "company"),
            officer=Officer(
                name=_text(officer, "name", where, "company.officer"),
                title=_text(officer, "title", where, "company.officer"),
            ),
        ),
        source=where,
    )
