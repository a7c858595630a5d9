"""Plan terms, read from a TOML file under ``data/plans/``.

A plan file holds what the documents and the rules need to know about the plan and the
company granting under it, so that another company's plan is another file, not new code. A
missing or ill-typed term is rejected with its key named.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

from generator.core.errors import PlanError
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
    _read_columns,
    _read_forms,
    _read_samples,
    _read_section16,
    _read_vesting,
)

_PLAN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


_SIGNATURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}_signature")


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
    if (path / "manifest.json").is_file():
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
    None)."""
    file = plan_file(Path(path)) if path is not None else default_plan()
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
    sections.update(
        {key: sections_table.text(key) for key in OPTIONAL_SECTIONS if key in sections_table.table}
    )
    company = top.sub("company")
    officer = company.sub("officer")

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
    effective, last = plan.day("effective_date"), plan.day("last_grant_date")
    if last < effective:
        raise PlanError(where, "plan.last_grant_date", "is before plan.effective_date")
    plan_id = plan.text("id")
    if not _PLAN_ID.fullmatch(plan_id):
        raise PlanError(
            where,
            "plan.id",
            "must be 1-64 letters, digits, '.', '_' or '-' (it names the plan "
            "in the ledger and in file metadata)",
        )
    reserve = shares.count("reserve", most=MAX_SHARES)
    non_option_cap = shares.count("non_option_cap", positive=False, most=MAX_SHARES)
    if non_option_cap > reserve:
        raise PlanError(where, "shares.non_option_cap", "is larger than shares.reserve")

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
    reserves = [(am.date, am.reserve) for am in amendments]
    caps = [(am.date, am.non_option_cap) for am in amendments]
    for day in sorted({effective, *(am.date for am in amendments)}):
        res, cap = _in_force(reserve, reserves, day), _in_force(non_option_cap, caps, day)
        if cap > res:
            raise PlanError(
                where,
                "amendments",
                f"from {day.isoformat()} the non-option cap ({cap:,}) would be larger than the "
                f"reserve ({res:,})",
            )
    latest = max(am.date for am in amendments) if amendments else effective

    forms = _read_forms(top, file.parent, award_types)
    kit = top.table.get("kit")
    top.read.add("kit")
    signatures: tuple[str, ...] | None = None
    consent: Path | None = None
    if kit is not None:
        k = top.sub("kit")
        if "signatures" in kit:
            signatures = k.words("signatures")
            for name in signatures:
                if not _SIGNATURE_NAME.fullmatch(name):
                    raise PlanError(
                        where,
                        "kit.signatures",
                        f"{name!r} is not a signature field name: lower-case letters, digits "
                        "and _, ending in _signature (e.g. company_signature)",
                    )
            if len(set(signatures)) < len(signatures):
                raise PlanError(where, "kit.signatures", "names a field twice")
        consent = k.file("consent", file.parent, (".docx",))

    samples = _read_samples(top, data)
    directors: tuple[str, ...] = ()
    if "board" in top.table:
        directors = top.sub("board").words("directors")
        if len(set(directors)) < len(directors):
            raise PlanError(where, "board.directors", "names a director twice")
    else:
        top.read.add("board")
    schedules, default_schedule, by_type = _read_vesting(top)
    ignore_columns, extra_columns = _read_columns(top)
    section16 = _read_section16(top)

    result = Plan(
        id=plan_id,
        name=plan.text("name"),
        short_name=plan.text("short_name"),
        company=Company(
            name=company.text("name"),
            state=company.text("state"),
            officer=Officer(name=officer.text("name"), title=officer.text("title")),
            formation_date=company.day("formation_date")
            if "formation_date" in company.table
            else None,
            country=_country(company),
        ),
        effective_date=effective,
        last_grant_date=last,
        restatement_approved=plan.flag("restatement_approved"),
        reserve=_in_force(reserve, reserves, latest),
        non_option_cap=_in_force(non_option_cap, caps, latest),
        reserve_first=reserve,
        non_option_cap_first=non_option_cap,
        award_types=award_types,
        option_types=option_types,
        incentive_options=incentive,
        term_years=options.count("term_years", most=MAX_YEARS),
        post_service_exercise_years=options.count("post_service_exercise_years", most=MAX_YEARS),
        leap_day_anniversary=options.choice("leap_day_anniversary", LEAP_DAY_RULES),
        exercise_price=options.choice("exercise_price", EXERCISE_PRICE_RULES),
        incentive_excess=(
            options.choice("incentive_excess", ("nonstatutory", "refuse"))
            if "incentive_excess" in options.table
            else "nonstatutory"
        ),
        sections=sections,
        amendments=tuple(amendments),
        source=where,
        document=plan.file("document", file.parent, (".docx", ".pdf")),
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
