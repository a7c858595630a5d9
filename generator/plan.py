"""Plan terms, read from a TOML file under ``data/plans/``.

A plan file holds what the documents and the rules need to know about the plan and the
company granting under it, so that another company's plan is another file, not new code. A
missing or ill-typed term is rejected with its key named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from .errors import PlanError
from .resources import default_plan

T = TypeVar("T")

#: The rules every plan file must give a section for.
SECTION_KEYS = (
    "eligibility",
    "reserve",
    "non_option_cap",
    "nonstatutory",
    "exercise_price",
    "term",
    "substitute",
    "adjustments",
    "plan_term",
    "restatement",
    "whole_shares",
)
EXERCISE_PRICE_RULES = ("last_sale", "fair_market_value")
LEAP_DAY_RULES = ("feb28", "mar1")
#: The longest option term or exercise window a plan file may give, in years.
MAX_YEARS = 100


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
class Amendment:
    """One amendment of the plan, as history."""

    number: int
    date: date
    approved_by: str
    summary: str


@dataclass(frozen=True)
class Plan:
    """The terms of one stock plan."""

    id: str
    """Short identifier, e.g. ``atg-1999``; the ledger keeps one share pool per plan id."""
    name: str
    """The Plan's name as the agreement writes it."""
    short_name: str
    """The shorter name the acceptance page uses."""
    company: Company
    """The company granting under the plan."""
    effective_date: date
    """Section 10(c): the date the plan took effect; no award before it."""
    last_grant_date: date
    """Section 10(c): no award after this date."""
    restatement_approved: bool
    """Section 10(f): whether stockholder approval of the restatement is recorded."""
    reserve: int
    """Section 4(a): shares available for all awards, before Section 8 adjustments."""
    non_option_cap: int
    """Section 4(b): shares for awards other than options."""
    award_types: tuple[str, ...]
    """Kinds of award the plan allows."""
    option_types: tuple[str, ...]
    """Which of those are options (the rest count against the non-option cap)."""
    incentive_options: bool
    """Section 5(a): whether incentive stock options may be granted."""
    term_years: int
    """Section 5(c): years from the grant date to the Final Exercise Date."""
    post_service_exercise_years: int
    """Section 5(c): years an option stays exercisable after service ends."""
    leap_day_anniversary: str
    """``feb28`` or ``mar1``: the anniversary of a February 29 in a common year."""
    exercise_price: str
    """Section 5(b): ``last_sale`` (Board FMV where not traded) or ``fair_market_value``."""
    sections: dict[str, str]
    """The plan section each rule cites, by rule key (see :data:`SECTION_KEYS`)."""
    amendments: tuple[Amendment, ...]
    """Amendment history."""
    source: str
    """The file the terms were read from."""

    def section(self, key: str) -> str:
        return self.sections[key]

    def is_option(self, award_type: str) -> bool:
        """An Option of the Plan: a type it lists as an option, or an incentive option
        (refused by Section 5(a) unless a substitute, but an Option still). The rules and the
        ledger both count shares with this, so the Section 4(b) figures agree."""
        return award_type in self.option_types or award_type == "incentive_option"


class _Reader:
    """Typed access to a TOML table, naming the full key in every error."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type[T], what: str) -> T:
        if name not in self.table:
            raise PlanError(self.path, self.key(name), "is missing")
        value = self.table[name]
        # bool is an int in Python; a count must not be true/false, and a flag must be a bool
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PlanError(
                self.path,
                self.key(name),
                f"must be {what}, not {type(value).__name__} ({value!r})",
            )
        return value

    def text(self, name: str) -> str:
        value = self.get(name, str, "text")
        if not value.strip():
            raise PlanError(self.path, self.key(name), "must not be empty")
        return value.strip()

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in choices:
            raise PlanError(self.path, self.key(name), f"must be one of {', '.join(choices)}")
        return value

    def count(self, name: str, *, positive: bool = True, most: int | None = None) -> int:
        value = self.get(name, int, "a whole number")
        if value < (1 if positive else 0):
            what = "positive" if positive else "non-negative"
            raise PlanError(self.path, self.key(name), f"must be a {what} whole number")
        if most is not None and value > most:
            raise PlanError(self.path, self.key(name), f"must be at most {most}")
        return value

    def day(self, name: str) -> date:
        value = self.get(name, date, "a date (YYYY-MM-DD, unquoted)")
        if type(value) is not date:  # a TOML datetime is a date subclass: refuse it
            raise PlanError(self.path, self.key(name), "must be a date without a time")
        return value

    def flag(self, name: str) -> bool:
        return self.get(name, bool, "true or false")

    def words(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, "a list of text")
        if not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise PlanError(self.path, self.key(name), "must be a non-empty list of text")
        return tuple(v.strip() for v in value)

    def sub(self, name: str) -> _Reader:
        value = self.get(name, dict, f"a table ([{self.key(name)}])")
        return _Reader(self.path, value, self.key(name))


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

    top = _Reader(where, data)
    plan, shares, awards, options = (
        top.sub("plan"),
        top.sub("shares"),
        top.sub("awards"),
        top.sub("options"),
    )
    sections_table = top.sub("sections")
    sections = {key: sections_table.text(key) for key in SECTION_KEYS}
    company = top.sub("company")
    officer = company.sub("officer")

    award_types = awards.words("types")
    option_types = awards.words("option_types")
    for kind in option_types:
        if kind not in award_types:
            raise PlanError(where, "awards.option_types", f"{kind!r} is not in awards.types")
    effective, last = plan.day("effective_date"), plan.day("last_grant_date")
    if last < effective:
        raise PlanError(where, "plan.last_grant_date", "is before plan.effective_date")

    amendments = []
    raw = data.get("amendments", [])
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise PlanError(where, "amendments", "must be a list of tables ([[amendments]])")
    for i, entry in enumerate(raw):
        a = _Reader(where, entry, f"amendments[{i}]")
        amendments.append(
            Amendment(a.count("number"), a.day("date"), a.text("approved_by"), a.text("summary"))
        )

    return Plan(
        id=plan.text("id"),
        name=plan.text("name"),
        short_name=plan.text("short_name"),
        company=Company(
            name=company.text("name"),
            state=company.text("state"),
            officer=Officer(name=officer.text("name"), title=officer.text("title")),
        ),
        effective_date=effective,
        last_grant_date=last,
        restatement_approved=plan.flag("restatement_approved"),
        reserve=shares.count("reserve"),
        non_option_cap=shares.count("non_option_cap", positive=False),
        award_types=award_types,
        option_types=option_types,
        incentive_options=awards.flag("incentive_options"),
        term_years=options.count("term_years", most=MAX_YEARS),
        post_service_exercise_years=options.count("post_service_exercise_years", most=MAX_YEARS),
        leap_day_anniversary=options.choice("leap_day_anniversary", LEAP_DAY_RULES),
        exercise_price=options.choice("exercise_price", EXERCISE_PRICE_RULES),
        sections=sections,
        amendments=tuple(amendments),
        source=where,
    )
