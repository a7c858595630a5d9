"""How the documents word a plan's terms: numbers in words, the option term, the company.

The approved form was written for one plan (the bundled ATG plan): "expire on the tenth
anniversary", "ten (10) years", "more than one year after", "Art Technology Group, Inc., a
Delaware corporation". The templates write those phrases from the plan file, so an agreement
under another plan states that plan's terms; and the form is read with the same phrases of
the plan at hand (:func:`plan_phrases`), so a template that states them is no deviation.
"""

from __future__ import annotations

from generator.core.text import normalise
from generator.terms.planmodel import Plan

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def number_words(n: int) -> str:
    """``10`` -> ``ten``, ``21`` -> ``twenty-one`` (0 to 100; other numbers as digits)."""
    if 0 <= n < 20:
        return _ONES[n]
    if 20 <= n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    return "one hundred" if n == 100 else str(n)


def ordinal_words(n: int) -> str:
    """``10`` -> ``tenth``, ``21`` -> ``twenty-first``, ``20`` -> ``twentieth``."""
    words = number_words(n)
    head, _, last = words.rpartition("-") if "-" in words else ("", "", words)
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}-{last}" if head else last


def years(n: int) -> str:
    """``1`` -> ``one year``, ``3`` -> ``three years``."""
    return f"{number_words(n)} year{'' if n == 1 else 's'}"


def indefinite_article(word: str) -> str:
    """``a`` or ``an`` before a state's name: an Ohio, a Delaware, a Utah corporation."""
    return "an" if word[:1].upper() in "AEIO" else "a"


def term_phrase(n: int) -> str:
    """``10`` -> ``ten (10) years``, ``1`` -> ``one (1) year``: the form's way with a term."""
    return f"{number_words(n)} ({n}) year{'' if n == 1 else 's'}"


def plan_wording(plan: Plan) -> dict[str, object]:
    """The template values for a plan's terms (``plan.term_ordinal`` ...)."""
    return {
        "term_years": plan.term_years,
        "term_words": number_words(plan.term_years),
        "term_ordinal": ordinal_words(plan.term_years),
        "term_phrase": term_phrase(plan.term_years),
        "post_service": years(plan.post_service_exercise_years),
    }


def plan_phrases(plan: Plan) -> dict[str, str]:
    """The phrases of the form that depend on the plan, as this plan words them, by role.
    Two plans' phrases of one role are what the form says for one and the other."""
    company, name = plan.company.name, plan.name
    phrases = {
        "company_upper": company.upper(),
        "plan_upper": name.upper(),
        "plan": f"Company's {name}",
        "acceptance": f"{company} {plan.short_name}",
        "incorporated": (
            f"{company}, {indefinite_article(plan.company.state)} {plan.company.state} corporation"
        ),
        "anniversary": f"the {ordinal_words(plan.term_years)} anniversary of the Grant Date",
        "term": f"expiration of {term_phrase(plan.term_years)}",
        "post_service": f"more than {years(plan.post_service_exercise_years)} after the",
    }
    # as the form is read: quotes, dashes and spaces folded (a plan named with typographic
    # apostrophes must match its own rendering)
    return {role: normalise(text) for role, text in phrases.items()}
