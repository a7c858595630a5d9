"""Plan terms, read from a TOML file under ``data/plans/``.

A plan file holds what the documents and the rules need to know about the plan and the
company granting under it, so that another company's plan is another file, not new code. A
missing or ill-typed term is rejected with its key named.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from .errors import PlanError
from .records import normalise_header
from .resources import default_plan, templates_dir
from .section16 import Section16
from .values import AWARD_TYPES, OPTION_AWARDS
from .vesting import ALLOCATIONS, MAX_INSTALLMENTS, Schedule

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
#: Sections a plan file may give for rules not every plan has (else the plan file is cited).
OPTIONAL_SECTIONS = ("vesting", "incentive_limit")
EXERCISE_PRICE_RULES = ("last_sale", "fair_market_value")
LEAP_DAY_RULES = ("feb28", "mar1")
#: The longest option term or exercise window a plan file may give, in years.
MAX_YEARS = 100
#: The largest share count a plan file may give (SQLite's integers are 64-bit; a split
#: multiplies counts).
MAX_SHARES = 10**15
_PLAN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: Control characters (and line breaks: plan terms are one line each).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


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
    formation_date: date | None = None
    """When it was incorporated (``[company] formation_date``: the Open Cap Format export's
    issuer needs it)."""
    country: str = "US"
    """Its country of formation, ISO 3166-1 alpha-2 (``[company] country``)."""


@dataclass(frozen=True)
class Amendment:
    """One amendment of the plan: its history, and the share figures it changes from its
    date (None: unchanged)."""

    number: int
    date: date
    approved_by: str
    summary: str
    reserve: int | None = None
    """Section 4(a): the reserve from this date."""
    non_option_cap: int | None = None
    """Section 4(b): the cap on awards other than options from this date."""


@dataclass(frozen=True)
class FormEntry:
    """The document a kit makes for one kind of award (``[forms.<award type>]``)."""

    award_type: str
    """The kind of award it documents (one of the plan's ``awards.types``)."""
    name: str
    """The document's name, e.g. ``Stock Option Grant Notice`` (review, Board consent)."""
    template: Path
    """The Word template of the document."""
    outline: str
    """Its entry in the PDF packet's outline (bookmarks); its name unless given."""
    acceptance: Path | None = None
    """A separate acceptance page's template, joined after it (None: the form has none)."""
    acceptance_outline: str | None = None
    """The acceptance page's outline entry."""
    exhibit: Path | None = None
    """The bundled example's approved form as filed (its own text format); kits of other
    companies keep theirs in ``approved/`` instead."""


#: The signature fields a plan file that declares none has (the bundled example's).
DEFAULT_SIGNATURES = ("company_signature", "participant_signature")
_SIGNATURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}_signature")


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
    """Section 4(a): shares available for all awards, before Section 8 adjustments, as the
    latest amendment that changes it has it (:meth:`reserve_on` for a given day)."""
    non_option_cap: int
    """Section 4(b): shares for awards other than options (latest figure)."""
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
    reserve_first: int = 0
    """The reserve as the plan was adopted ([shares] reserve), before any amendment."""
    non_option_cap_first: int = 0
    """The non-option cap as adopted."""
    document: Path | None = None
    """The Plan's own text, furnished with each agreement: a ``.docx`` (rendered like the
    templates' ``plan.docx``) or a ``.pdf`` (used as it is). None: the templates' plan.docx,
    which must be this plan's text (its ``identifier`` property names the plan id)."""
    forms: tuple[FormEntry, ...] = ()
    """The documents of the plan's kit, by award type (``[forms.*]``); none: the bundled
    example's forms (see :mod:`generator.kit`)."""
    signatures: tuple[str, ...] | None = None
    """The signature fields the kit's templates mark with Word bookmarks (``[kit]
    signatures``); None: not declared (the bundled example's templates, found by label)."""
    consent: Path | None = None
    """The kit's own Board consent template (``[kit] consent``); None: the bundled one."""
    kit_root: Path | None = None
    """The folder of the kit (the plan file's folder)."""
    incentive_excess: str = "nonstatutory"
    """Incentive options first exercisable in a year beyond the $100,000 limit (Internal
    Revenue Code section 422(d)): ``nonstatutory`` (the excess is treated as a nonstatutory
    option, as 422(d) provides; a warning) or ``refuse`` (the grant is refused)."""
    ignore_columns: tuple[str, ...] = ()
    """Spreadsheet headers the kit's grants files have that grantgen leaves unread on
    purpose (``[columns] ignore``)."""
    extra_columns: tuple[str, ...] = ()
    """Spreadsheet columns the kit's templates print (``[columns] extra``): each is a field
    of that name, its cell's text."""
    directors: tuple[str, ...] = ()
    """``[board] directors``: the members of the Board, who sign its consent (none: the
    consent has unnamed signature lines)."""
    section16: Section16 | None = None
    """``[section16]``: the participants are Section 16 reporting persons, each grant
    reported on Form 4 (None: they are not, or the plan file does not say)."""
    samples: dict[str, str] = field(default_factory=dict)
    """``[samples]``: the plan file's values that are samples or assumptions, not the
    company's facts (dotted key, e.g. ``company.officer`` → why): warned about, listed in the
    review, and a sample signing officer refuses final documents."""
    vesting: dict[str, Schedule] = field(default_factory=dict)
    """The plan's vesting schedules, by name (``[vesting.<name>]``)."""
    default_vesting: str | None = None
    """The schedule of a grant whose ``vesting_schedule`` is blank (``[vesting] default``);
    None: such a grant vests at once."""
    default_vesting_by_type: dict[str, str] = field(default_factory=dict)
    """Defaults of one kind of award (``[vesting] default_stock_unit = "meeting"``)."""

    def default_schedule(self, award_type: str) -> str | None:
        """The schedule of a grant of ``award_type`` whose ``vesting_schedule`` is blank."""
        return self.default_vesting_by_type.get(award_type, self.default_vesting)

    def section(self, key: str) -> str:
        """The section the rule ``key`` cites; for a rule whose section the plan file does not
        give (an optional one), the plan file's table that sets its terms."""
        return self.sections.get(key) or f"plan file [{key}]"

    def reserve_on(self, day: date) -> int:
        """The Section 4(a) reserve in force on ``day`` (as adopted, or as last amended)."""
        changes = [(a.date, a.reserve) for a in self.amendments]
        return _in_force(self.reserve_first, changes, day, unchanged=self.reserve)

    def non_option_cap_on(self, day: date) -> int:
        """The Section 4(b) cap in force on ``day``."""
        changes = [(a.date, a.non_option_cap) for a in self.amendments]
        return _in_force(self.non_option_cap_first, changes, day, unchanged=self.non_option_cap)

    def reserve_adopted(self, day: date) -> date | None:
        """When the reserve in force on ``day`` was set: the amendment's date, or None for
        the Plan's own figure (a Section 8 split after that date adjusts it)."""
        return _adopted([(a.date, a.reserve) for a in self.amendments], day)

    def non_option_cap_adopted(self, day: date) -> date | None:
        """When the Section 4(b) cap in force on ``day`` was set (as :meth:`reserve_adopted`)."""
        return _adopted([(a.date, a.non_option_cap) for a in self.amendments], day)

    def is_option(self, award_type: str) -> bool:
        """An Option of the Plan: a type it lists as an option, or an incentive option
        (refused by Section 5(a) unless a substitute, but an Option still). The rules and the
        ledger both count shares with this, so the Section 4(b) figures agree."""
        return award_type in self.option_types or award_type == "incentive_option"


def _in_force(
    first: int,
    changes: Sequence[tuple[date, int | None]],
    day: date,
    *,
    unchanged: int | None = None,
) -> int:
    """The figure on ``day``: ``first``, then each change (None: none) from its date.
    ``unchanged``: the figure when no amendment changes it at all."""
    # by date; on one date, in the order given (amendments are sorted by number)
    ordered = sorted(((d, v) for d, v in changes if v is not None), key=lambda c: c[0])
    if not ordered and unchanged is not None:
        return unchanged
    value = first
    for since, changed in ordered:
        if since <= day:
            value = changed
    return value


def _adopted(changes: Sequence[tuple[date, int | None]], day: date) -> date | None:
    """The date of the last change (None: none) on or before ``day``; None when none is."""
    dates = [d for d, v in changes if v is not None and d <= day]
    return max(dates) if dates else None


class _Reader:
    """Typed access to a TOML table, naming the full key in every error."""

    def __init__(
        self,
        path: str,
        table: dict[str, Any],
        prefix: str = "",
        opened: list[_Reader] | None = None,
    ) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.read: set[str] = set()
        self.opened = opened if opened is not None else []  # every reader of this file
        self.opened.append(self)

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def unknown_keys(self) -> None:
        """Refuse a key nothing read: a misspelt key (``last_grant_dat``) or a term this
        version cannot apply (a per-person cap, a vesting schedule) must not pass unnoticed."""
        for reader in self.opened:
            extra = [k for k in reader.table if k not in reader.read]
            if extra:
                known = ", ".join(sorted(reader.read)) or "none"
                raise PlanError(
                    self.path,
                    reader.key(extra[0]),
                    f"is not a key grantgen knows here (a misspelling, or a term it cannot "
                    f"apply?); the keys it reads here: {known}",
                )

    def get(self, name: str, kind: type[T], what: str) -> T:
        self.read.add(name)
        if name not in self.table:
            import difflib

            near = difflib.get_close_matches(name, [str(k) for k in self.table], n=1, cutoff=0.8)
            hint = f" (is {self.key(near[0])!r} a misspelling of it?)" if near else ""
            raise PlanError(self.path, self.key(name), f"is missing{hint}")
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
        bad = _CONTROL.search(value)
        if bad:  # a form feed in the company's name would be a page break in every agreement
            raise PlanError(
                self.path,
                self.key(name),
                f"contains the control character U+{ord(bad.group()):04X}; write it on one "
                "line, without control characters",
            )
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

    def file(self, name: str, base: Path, suffixes: tuple[str, ...]) -> Path | None:
        """An optional file named relative to ``base``; it must exist and be of a kind given."""
        self.read.add(name)
        if name not in self.table:
            return None
        file = Path(os.path.normpath(base / self.text(name)))
        if file.suffix.lower() not in suffixes:
            raise PlanError(self.path, self.key(name), f"must be a {' or '.join(suffixes)} file")
        if not file.is_file():
            raise PlanError(self.path, self.key(name), f"no such file: {file}")
        if file.suffix.lower() == ".pdf":
            with file.open("rb") as fh:
                if not fh.read(1024).lstrip().startswith(b"%PDF-"):
                    raise PlanError(self.path, self.key(name), f"{file} is not a PDF file")
        return file

    def flag(self, name: str) -> bool:
        return self.get(name, bool, "true or false")

    def words(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, "a list of text")
        if not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise PlanError(self.path, self.key(name), "must be a non-empty list of text")
        return tuple(v.strip() for v in value)

    def sub(self, name: str) -> _Reader:
        value = self.get(name, dict, f"a table ([{self.key(name)}])")
        return _Reader(self.path, value, self.key(name), self.opened)


@functools.cache
def bundled_plan() -> Plan:
    """The bundled plan (the one the approved form and the bundled plan.docx were written
    for), read once."""
    return load_plan()


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


def _required_file(reader: _Reader, name: str, base: Path) -> Path:
    found = reader.file(name, base, (".docx",))
    if found is None:
        raise PlanError(reader.path, reader.key(name), "is missing (the form's Word template)")
    return found


def plan_file(path: Path) -> Path:
    """The plan file of ``path``: the file itself, a kit folder's ``plan.toml`` (or its
    only ``.toml`` file), or the kit a batch folder's ``manifest.json`` records."""
    if not path.is_dir():
        return path
    named = path / "plan.toml"
    if named.is_file():
        return named
    if (path / "manifest.json").is_file():
        from .manifest import recorded_plan  # (kit reads plan files)

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


ACCEPT_SAMPLES = "GRANTGEN_ACCEPT_SAMPLES"
"""Set (not 0) to accept the plan file's sample values, as ``generate --accept-samples``
does: they are then notes, not warnings, and a sample signing officer does not refuse final
documents."""


def samples_accepted() -> bool:
    return os.environ.get(ACCEPT_SAMPLES, "") not in ("", "0")


def sample_officer(plan: Plan) -> str | None:
    """Why the signing officer is a sample value ([samples] marks ``company.officer`` or its
    name or title), or None."""
    for key in ("company.officer", "company.officer.name", "company.officer.title"):
        if key in plan.samples:
            return plan.samples[key]
    return None
