"""A plan's terms as the stages use them (:class:`Plan`): the company and its officer, the share
reserve and cap through the amendments, the award types, the option term, the sections the
plan numbers, the kit's forms, vesting schedules, samples. Read from a plan file by
:mod:`.plan`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from generator.terms.section16 import Section16
from generator.terms.vesting import Schedule

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
    example's forms (see :mod:`generator.terms.kit`)."""
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
