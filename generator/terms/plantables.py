"""The tables of a plan file that a plan may leave out, each read and checked: ``[forms]``,
``[kit]``, ``[board]``, ``[vesting]``, ``[columns]``, ``[section16]`` and ``[samples]``, and
``[company] country``. :func:`.plan.load_plan` reads them in this module's order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.core.errors import PlanError
from generator.reading.columns import normalise_header
from generator.reading.values import AWARD_TYPES
from generator.terms.planmodel import MAX_YEARS, FormEntry
from generator.terms.planreader import _Reader
from generator.terms.section16 import Section16
from generator.terms.vesting import ALLOCATIONS, MAX_INSTALLMENTS, Schedule

_SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")


_SIGNATURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}_signature")


def _read_forms(top: _Reader, base: Path, award_types: tuple[str, ...]) -> tuple[FormEntry, ...]:
    """``[forms.<award type>]``: the document each kind of award is made with."""
    top.read.add("forms")
    if "forms" not in top.table:
        return ()
    table = top.sub("forms")
    out = []
    for kind in table.table:
        entry = table.sub(kind)
        if kind not in award_types:
            raise PlanError(
                top.path,
                table.key(kind),
                f"is a form for {kind!r} awards, which awards.types does not list "
                f"({', '.join(award_types)}): add the award type, or remove the form",
            )
        name = entry.text("name")
        acceptance = entry.file("acceptance", base, (".docx",))
        out.append(
            FormEntry(
                award_type=kind,
                name=name,
                template=_required_file(entry, "template", base),
                outline=entry.text("outline") if "outline" in entry.table else name,
                acceptance=acceptance,
                acceptance_outline=(
                    entry.text("acceptance_outline")
                    if "acceptance_outline" in entry.table
                    else ("Acceptance" if acceptance is not None else None)
                ),
                exhibit=entry.file("exhibit", base, (".txt",)),
            )
        )
        entry.read.update({"outline", "acceptance_outline"})
    return tuple(out)


def _required_file(reader: _Reader, name: str, base: Path) -> Path:
    """A form's Word template, which a ``[forms.<award type>]`` table must name."""
    found = reader.file(name, base, (".docx",))
    if found is None:
        raise PlanError(reader.path, reader.key(name), "is missing (the form's Word template)")
    return found


def _read_kit(top: _Reader, base: Path) -> tuple[tuple[str, ...] | None, Path | None]:
    """``[kit]``: the signature fields its templates mark (None: not declared), and its own
    Board consent template (None: the bundled one)."""
    kit = top.table.get("kit")
    top.read.add("kit")
    if kit is None:
        return None, None
    k = top.sub("kit")
    signatures: tuple[str, ...] | None = None
    if "signatures" in kit:
        signatures = k.words("signatures")
        for name in signatures:
            if not _SIGNATURE_NAME.fullmatch(name):
                raise PlanError(
                    top.path,
                    "kit.signatures",
                    f"{name!r} is not a signature field name: lower-case letters, digits "
                    "and _, ending in _signature (e.g. company_signature)",
                )
        if len(set(signatures)) < len(signatures):
            raise PlanError(top.path, "kit.signatures", "names a field twice")
    return signatures, k.file("consent", base, (".docx",))


def _read_board(top: _Reader) -> tuple[str, ...]:
    """``[board] directors``: the members of the Board, who sign its consent (none: the
    table is left out)."""
    if "board" not in top.table:
        top.read.add("board")
        return ()
    directors = top.sub("board").words("directors")
    if len(set(directors)) < len(directors):
        raise PlanError(top.path, "board.directors", "names a director twice")
    return directors


#: Names an extra column may not take: the fields grantgen fills itself.
RESERVED_FIELDS = frozenset(
    {
        "grant_id", "participant", "grant_date", "shares", "exercise_price", "address_lines",
        "award_type", "final_exercise_date", "vesting", "vesting_start", "vesting_schedule",
        "vesting_description", "company", "officer", "plan", "address", "is_employee",
        "substitute", "fair_market_value", "term_years", "vesting_date",
    }
)  # fmt: skip
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


def _read_columns(top: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``[columns]``: headers left unread on purpose, and extra columns the templates print."""
    top.read.add("columns")
    if "columns" not in top.table:
        return (), ()
    table = top.sub("columns")
    ignore = table.words("ignore") if "ignore" in table.table else ()
    extra = table.words("extra") if "extra" in table.table else ()
    table.read.update({"ignore", "extra"})
    both = {normalise_header(h) for h in ignore} & {normalise_header(n) for n in extra}
    if both:
        raise PlanError(
            top.path,
            "columns.ignore",
            "leaves unread a column [columns] extra has the templates print: "
            + ", ".join(sorted(both)),
        )
    for name in extra:
        if not _FIELD_NAME.fullmatch(name) or name in RESERVED_FIELDS:
            raise PlanError(
                top.path,
                "columns.extra",
                f"{name!r} cannot name an extra column: use lower-case letters, digits and _, "
                "and no name of a field grantgen fills itself",
            )
    return ignore, extra


def _read_vesting(top: _Reader) -> tuple[dict[str, Schedule], str | None, dict[str, str]]:
    """``[vesting]``: the plan's named schedules, the default one, and the defaults of some
    kinds of award (``default_stock_unit``)."""
    top.read.add("vesting")
    if "vesting" not in top.table:
        return {}, None, {}
    table = top.sub("vesting")
    schedules: dict[str, Schedule] = {}
    for name, value in table.table.items():
        if not isinstance(value, dict):
            continue
        entry = table.sub(name)
        schedules[name] = _schedule(entry, name)
    default = None
    if "default" in table.table:
        default = table.text("default")
        if default not in schedules:
            raise PlanError(
                top.path,
                "vesting.default",
                f"{default!r} is not a schedule of [vesting] ({', '.join(schedules) or 'none'})",
            )
    by_type: dict[str, str] = {}
    for kind in AWARD_TYPES:
        key = f"default_{kind}"
        if key in table.table:
            by_type[kind] = table.text(key)
            if by_type[kind] not in schedules:
                raise PlanError(
                    top.path, f"vesting.{key}", f"{by_type[kind]!r} is not a schedule of [vesting]"
                )
    for name in table.table:
        if name not in ("default", *(f"default_{k}" for k in AWARD_TYPES)) and (
            name not in schedules
        ):
            raise PlanError(top.path, f"vesting.{name}", "must be a table ([vesting.NAME])")
    return schedules, default, by_type


def _schedule(entry: _Reader, name: str) -> Schedule:
    """One ``[vesting.<name>]`` table."""
    if not _SCHEDULE_NAME.fullmatch(name):
        raise PlanError(
            entry.path, entry.prefix, "a schedule's name is 1-40 letters, digits, '-' or '_'"
        )
    description = entry.text("description") if "description" in entry.table else ""
    if entry.table.get("on_date") is not None:
        if not entry.flag("on_date"):
            raise PlanError(entry.path, entry.key("on_date"), "is true or left out")
        return Schedule(name, description or "in full on the vesting date given", on_date=True)
    if entry.table.get("immediate") is not None:
        if not entry.flag("immediate"):
            raise PlanError(entry.path, entry.key("immediate"), "is true or left out")
        return Schedule(name, description or "in full on the vesting commencement date")
    count = entry.count("installments", most=MAX_INSTALLMENTS)
    every = entry.count("every_months", most=MAX_YEARS * 12)
    cliff = (
        entry.count("cliff_months", positive=False, most=MAX_YEARS * 12)
        if "cliff_months" in entry.table
        else 0
    )
    rounding = entry.choice("rounding", ALLOCATIONS)
    if not description:  # never a blank where a template prints it
        description = (
            f"in {count} installment{'s' if count != 1 else ''}, one every {every} "
            f"month{'s' if every != 1 else ''} from the vesting commencement date"
            + (f", none before {cliff} months" if cliff else "")
        )
    if cliff >= every * count:
        raise PlanError(
            entry.path,
            entry.key("cliff_months"),
            f"is {cliff} months, as long as the whole schedule ({count} x {every} months)",
        )
    return Schedule(name, description, count, every, cliff, rounding)


def _country(company: _Reader) -> str:
    """``[company] country``: two capital letters (ISO 3166-1 alpha-2); US when not given."""
    company.read.add("country")
    if "country" not in company.table:
        return "US"
    value = company.text("country")
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise PlanError(company.path, company.key("country"), "must be a country code like US")
    return value


def _read_section16(top: _Reader) -> Section16 | None:
    """``[section16]``: ``reporting = true`` when the participants are reporting persons, and
    the Form 4 titles of the securities (defaults: :class:`.section16.Section16`)."""
    top.read.add("section16")
    if "section16" not in top.table:
        return None
    table = top.sub("section16")
    if not table.flag("reporting"):
        table.read.update(("option_title", "unit_title", "underlying_title"))
        return None
    titles = {
        key: table.text(key)
        for key in ("option_title", "unit_title", "underlying_title")
        if key in table.table
    }
    table.read.update(("option_title", "unit_title", "underlying_title"))
    return Section16(**titles)


def _read_samples(top: _Reader, data: dict[str, Any]) -> dict[str, str]:
    """``[samples]``: each key a dotted key of this file (a table or a value), each value why
    it is a sample or an assumption."""
    raw = top.table.get("samples", {})
    top.read.add("samples")
    if not isinstance(raw, dict):
        raise PlanError(top.path, "samples", 'must be a table: dotted key = "why"')
    found: dict[str, str] = {}
    for key, why in raw.items():
        if not isinstance(why, str) or not why.strip():
            raise PlanError(top.path, f"samples.{key}", "must say why it is a sample (text)")
        node: Any = data
        for part in str(key).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            raise PlanError(
                top.path, f"samples.{key}", f"names {key!r}, which this plan file does not set"
            )
        found[str(key)] = why.strip()
    return found
