"""Plan terms, read from a TOML file under ``data/plans/``.

A plan file holds what the documents and the rules need to know about the plan and the
company granting under it, so that another company's plan is another file, not new code. A
missing or ill-typed term is rejected with its key named.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from generator.core.errors import PlanError
from generator.core.layout import manifest_path
from generator.core.resources import default_plan, templates_dir
from generator.reading.values import AWARD_TYPES, OPTION_AWARDS
from generator.terms.planmodel import (
    EXERCISE_PRICE_RULES,
    LEAP_DAY_RULES,
    MAX_SHARES,
    MAX_YEARS,
    OPTIONAL_SECTIONS,
    SECTION_KEYS,
    Amendment,
    Company,
    FormEntry,
    Officer,
    Plan,
    _in_force,
)
from generator.terms.planreader import _Reader
from generator.terms.plantables import RESERVED_FIELDS as RESERVED_FIELDS  # (its old home)
from generator.terms.plantables import (
    _country,
    _read_board,
    _read_columns,
    _read_forms,
    _read_kit,
    _read_samples,
    _read_section16,
    _read_vesting,
)

_PLAN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@functools.cache
def bundled_plan() -> Plan:
    """The bundled plan (the one the approved form and the bundled plan.docx were written
    for), read once."""
    return load_plan()


@functools.cache
def bundled_forms() -> tuple[FormEntry, ...]:
    """The bundled example's forms (``templates/forms.toml``), for a plan file that names no
    ``[forms]`` of its own."""
    path = templates_dir() / "forms.toml"
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(where, None, f"cannot be read: {exc}") from None
    top = _Reader(where, data)
    forms = _read_forms(top, path.parent, AWARD_TYPES)
    top.unknown_keys()
    return forms


def plan_file(path: Path) -> Path:
    """The plan file of ``path``: the file itself, a kit folder's ``plan.toml`` (or its
    only ``.toml`` file), or the kit a batch folder's ``manifest.json`` records."""
    if not path.is_dir():
        return path
    named = path / "plan.toml"
    if named.is_file():
        return named
    if manifest_path(path).is_file():
        from generator.terms.manifest import recorded_plan  # (kit reads plan files)

        recorded = recorded_plan(path)
        if recorded is not None:
            return recorded
    found = sorted(p for p in path.glob("*.toml") if p.is_file() and p.name != "forms.toml")
    if len(found) == 1:
        return found[0]
    what = "no .toml file" if not found else f"{len(found)} .toml files and no plan.toml"
    raise PlanError(str(path), None, f"is a folder with {what}: a kit's plan file is plan.toml")


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and check a plan file, or a kit folder's (the bundled ATG plan when ``path`` is
    None). The terms are read, and a bad one refused, in a fixed order: the tables every
    plan file has, the awards, dates, id and shares, the optional tables, then the rest."""
    file = plan_file(Path(path)) if path is not None else default_plan()
    top = _Reader(str(file), _parse(file))
    tables = _open_tables(top)
    awards = _read_awards(tables.awards)
    effective, last = _read_dates(tables.plan)
    plan_id = _read_plan_id(tables.plan)
    pool = _read_pool(top, tables.shares, effective)
    forms = _read_forms(top, file.parent, awards.types)
    signatures, consent = _read_kit(top, file.parent)
    samples = _read_samples(top, top.table)
    directors = _read_board(top)
    schedules, default_schedule, by_type = _read_vesting(top)
    ignore_columns, extra_columns = _read_columns(top)
    section16 = _read_section16(top)
    reserve, non_option_cap = pool.in_force(pool.latest(effective))
    result = Plan(
        id=plan_id,
        name=tables.plan.text("name"),
        short_name=tables.plan.text("short_name"),
        company=_company(tables.company, tables.officer),
        effective_date=effective,
        last_grant_date=last,
        restatement_approved=tables.plan.flag("restatement_approved"),
        reserve=reserve,
        non_option_cap=non_option_cap,
        reserve_first=pool.reserve,
        non_option_cap_first=pool.non_option_cap,
        award_types=awards.types,
        option_types=awards.option_types,
        incentive_options=awards.incentive,
        term_years=tables.options.count("term_years", most=MAX_YEARS),
        post_service_exercise_years=tables.options.count(
            "post_service_exercise_years", most=MAX_YEARS
        ),
        leap_day_anniversary=tables.options.choice("leap_day_anniversary", LEAP_DAY_RULES),
        exercise_price=tables.options.choice("exercise_price", EXERCISE_PRICE_RULES),
        incentive_excess=_incentive_excess(tables.options),
        sections=tables.sections,
        amendments=pool.amendments,
        source=top.path,
        document=tables.plan.file("document", file.parent, (".docx", ".pdf")),
        forms=forms,
        signatures=signatures,
        consent=consent,
        kit_root=file.parent,
        vesting=schedules,
        default_vesting=default_schedule,
        default_vesting_by_type=by_type,
        ignore_columns=ignore_columns,
        extra_columns=extra_columns,
        samples=samples,
        directors=directors,
        section16=section16,
    )
    top.unknown_keys()
    return result


def _parse(file: Path) -> dict[str, Any]:
    """The plan file's TOML (one that cannot be read, or is not TOML, is refused)."""
    where = str(file)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(where, None, "no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(where, None, f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(where, None, f"is not valid TOML: {exc}") from None


@dataclass(frozen=True)
class _Tables:
    """The tables every plan file has (``[sections]`` already read)."""

    plan: _Reader
    shares: _Reader
    awards: _Reader
    options: _Reader
    sections: dict[str, str]
    """The plan section each rule cites, by rule key."""
    company: _Reader
    officer: _Reader


def _open_tables(top: _Reader) -> _Tables:
    """The tables every plan file has, opened in this order (the first one missing is the
    one refused), and the sections of ``[sections]``."""
    plan, shares, awards, options = (
        top.sub("plan"),
        top.sub("shares"),
        top.sub("awards"),
        top.sub("options"),
    )
    sections_table = top.sub("sections")
    sections = {key: sections_table.text(key) for key in SECTION_KEYS}
    sections.update(
        {key: sections_table.text(key) for key in OPTIONAL_SECTIONS if key in sections_table.table}
    )
    company = top.sub("company")
    return _Tables(plan, shares, awards, options, sections, company, company.sub("officer"))


class _Awards(NamedTuple):
    """``[awards]``: the kinds of award the plan grants, which of them are options, and
    whether incentive options are among them."""

    types: tuple[str, ...]
    option_types: tuple[str, ...]
    incentive: bool


def _read_awards(awards: _Reader) -> _Awards:
    """``[awards]``, each kind one grantgen knows, named once, and the flag
    ``incentive_options`` agreeing with the list."""
    where = awards.path
    award_types = awards.words("types")
    for kind in award_types:
        if kind not in AWARD_TYPES:
            raise PlanError(
                where,
                "awards.types",
                f"{kind!r} is not a kind of award grantgen knows ({', '.join(AWARD_TYPES)})",
            )
    if len(set(award_types)) < len(award_types):
        raise PlanError(where, "awards.types", "names a kind of award twice")
    option_types = awards.words("option_types")
    for kind in option_types:
        if kind not in award_types:
            raise PlanError(where, "awards.option_types", f"{kind!r} is not in awards.types")
        if kind not in OPTION_AWARDS:
            raise PlanError(where, "awards.option_types", f"{kind!r} is not an option")
    incentive = awards.flag("incentive_options")
    if incentive != ("incentive_option" in award_types):
        raise PlanError(
            where,
            "awards.incentive_options",
            f"is {str(incentive).lower()}, but 'incentive_option' is "
            f"{'not ' if incentive else ''}in awards.types; make them agree",
        )
    return _Awards(award_types, option_types, incentive)


def _read_dates(plan: _Reader) -> tuple[date, date]:
    """``[plan]``'s effective date and last grant date, in that order."""
    effective, last = plan.day("effective_date"), plan.day("last_grant_date")
    if last < effective:
        raise PlanError(plan.path, "plan.last_grant_date", "is before plan.effective_date")
    return effective, last


def _read_plan_id(plan: _Reader) -> str:
    """``[plan] id``, which names the plan in the ledger and in file metadata."""
    plan_id = plan.text("id")
    if not _PLAN_ID.fullmatch(plan_id):
        raise PlanError(
            plan.path,
            "plan.id",
            "must be 1-64 letters, digits, '.', '_' or '-' (it names the plan "
            "in the ledger and in file metadata)",
        )
    return plan_id


@dataclass(frozen=True)
class _Pool:
    """The share reserve and the non-option cap as the plan adopted them, and the amendments
    (in number order) that change them."""

    reserve: int
    non_option_cap: int
    amendments: tuple[Amendment, ...]

    def in_force(self, day: date) -> tuple[int, int]:
        """The reserve and the non-option cap in force on ``day``."""
        reserves = [(am.date, am.reserve) for am in self.amendments]
        caps = [(am.date, am.non_option_cap) for am in self.amendments]
        return _in_force(self.reserve, reserves, day), _in_force(self.non_option_cap, caps, day)

    def latest(self, effective: date) -> date:
        """The date of the last amendment (the effective date when there is none)."""
        return max(am.date for am in self.amendments) if self.amendments else effective


def _read_pool(top: _Reader, shares: _Reader, effective: date) -> _Pool:
    """``[shares]`` and ``[[amendments]]``: on no day may the cap be larger than the
    reserve."""
    reserve = shares.count("reserve", most=MAX_SHARES)
    non_option_cap = shares.count("non_option_cap", positive=False, most=MAX_SHARES)
    if non_option_cap > reserve:
        raise PlanError(top.path, "shares.non_option_cap", "is larger than shares.reserve")
    pool = _Pool(reserve, non_option_cap, _read_amendments(top, effective))
    for day in sorted({effective, *(am.date for am in pool.amendments)}):
        res, cap = pool.in_force(day)
        if cap > res:
            raise PlanError(
                top.path,
                "amendments",
                f"from {day.isoformat()} the non-option cap ({cap:,}) would be larger than the "
                f"reserve ({res:,})",
            )
    return pool


def _read_amendments(top: _Reader, effective: date) -> tuple[Amendment, ...]:
    """``[[amendments]]``, each numbered once and dated from the effective date, in number
    order."""
    where = top.path
    amendments: list[Amendment] = []
    raw = top.table.get("amendments", [])
    top.read.add("amendments")
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise PlanError(where, "amendments", "must be a list of tables ([[amendments]])")
    for i, entry in enumerate(raw):
        a = _Reader(where, entry, f"amendments[{i}]", top.opened)
        amendment = Amendment(
            a.count("number"),
            a.day("date"),
            a.text("approved_by"),
            a.text("summary"),
            a.count("reserve", most=MAX_SHARES) if "reserve" in entry else None,
            a.count("non_option_cap", positive=False, most=MAX_SHARES)
            if "non_option_cap" in entry
            else None,
        )
        if any(amendment.number == other.number for other in amendments):
            raise PlanError(where, a.key("number"), f"Amendment No. {amendment.number} twice")
        if amendment.date < effective:
            raise PlanError(where, a.key("date"), "is before plan.effective_date")
        amendments.append(amendment)
    amendments.sort(key=lambda am: am.number)
    return tuple(amendments)


def _company(company: _Reader, officer: _Reader) -> Company:
    """``[company]`` and its ``[company.officer]``."""
    return Company(
        name=company.text("name"),
        state=company.text("state"),
        officer=Officer(name=officer.text("name"), title=officer.text("title")),
        formation_date=company.day("formation_date") if "formation_date" in company.table else None,
        country=_country(company),
    )


def _incentive_excess(options: _Reader) -> str:
    """``[options] incentive_excess``: ``nonstatutory`` unless given."""
    if "incentive_excess" in options.table:
        return options.choice("incentive_excess", ("nonstatutory", "refuse"))
    return "nonstatutory"
