"""The values a template is rendered with: the company's and the plan's, shared by every
document of a batch, and one grant's (each prints as the form writes it and is a value to
compute with: :mod:`generator.checking.fields`)."""

from __future__ import annotations

from typing import Any

from generator.checking.fields import Count, Day, Money, vesting_fields
from generator.reading.grantrecord import GrantRecord
from generator.rendering.wording import indefinite_article, plan_wording
from generator.terms.planmodel import Plan

#: Blank lines drawn on the acceptance page where no address line is given (as in the form).
ADDRESS_BLANK = "_" * 24
ADDRESS_LINES = 4


def plan_context(plan: Plan) -> dict[str, Any]:
    """Company and plan values, shared by every document of a batch."""
    state = plan.company.state
    return {
        "company": {
            "name": plan.company.name,
            "state": state,
            "a_state": f"{indefinite_article(state)} {state}",
        },
        "officer": {"name": plan.company.officer.name, "title": plan.company.officer.title},
        "plan": {
            "id": plan.id,
            "name": plan.name,
            "short_name": plan.short_name,
            **plan_wording(plan),
        },
    }


def grant_context(record: GrantRecord, plan: Plan) -> dict[str, Any]:
    """The values one agreement's blanks are filled with: each prints as the form writes it
    and is also a value to compute with (see :mod:`generator.checking.fields`)."""
    from generator.checking.fields import final_exercise_date
    from generator.terms.vesting import VestingError

    lines = list(record.address)
    lines += [ADDRESS_BLANK] * max(0, ADDRESS_LINES - len(lines))
    # an award other than an option has no term, and (at no cost) no price: a template
    # that prints them for it fails, naming the field, rather than print a made-up one
    option = plan.is_option(record.award_type)
    final = final_exercise_date(record, plan) if option else None
    try:
        vesting = vesting_fields(record, plan, final)
    except VestingError:  # refused by the rules: never rendered but in a check
        vesting = {"vesting": [], "vesting_start": Day(record.grant_date)}
    priced = {"exercise_price": Money(record.exercise_price)} if record.exercise_price else {}
    return {
        **plan_context(plan),
        "grant_id": record.grant_id,
        "participant": record.participant,
        "grant_date": Day(record.grant_date),
        "shares": Count(record.shares),
        **priced,
        "address_lines": lines,
        "award_type": record.award_type,
        **vesting,
        **{name: value for name, value in record.extra if name in plan.extra_columns},
    }
