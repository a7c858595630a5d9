"""The sandboxed Jinja environment templates are rendered in: bounded arithmetic, repetition
and time, no value printed as None, and template errors that name the field and the line."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, MutableMapping
from decimal import Decimal
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import soft_str

from generator.checking.fields import FILTERS, format_price, format_shares
from generator.core.errors import TemplateError


class NoValueError(Exception):
    """An expression gave something that is not the text of a blank: ``None`` (which would
    print as the word "None"), or an object, list, dict or true/false value (which would print
    as Python writes it). ``near``: the text of the paragraph it is in, once known."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value
        self.expression = ""
        self.near = ""

    def describe(self) -> str:
        if self.value is None:
            return "gives no value (None), which would print as the word None"
        shown = repr(self.value)
        shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
        return (
            f"gives a {type(self.value).__name__} ({shown}), not text: it would print as "
            "Python writes it"
        )


@jinja2.pass_eval_context
def _printable(eval_ctx: Any, value: Any) -> Any:
    """Every ``{{ … }}`` output passes here: only text and whole or decimal numbers print;
    ``None`` is an error, never the text "None", and so is a dict, a list, a true/false value
    or any other object. (Taking the evaluation context makes Jinja apply this at render time
    to constant expressions too: ``{{ none }}`` or ``{{ [none]|first }}`` are otherwise
    folded to the text "None" when the template is compiled, without passing here.)"""
    if isinstance(value, str | jinja2.Undefined):  # a strict Undefined fails when printed
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    raise NoValueError(value)


#: The largest number a template may compute (``{{ 10 ** (10 ** 9) }}`` would take hours).
MAX_NUMBER_BITS = 4096


#: The longest text or list a template may make by multiplying (``{{ "x" * 10 ** 9 }}``).
MAX_REPEAT = 1_000_000


#: The most characters one rendered part may have (a 10,000-row Board consent has ~30 MB).
MAX_RENDERED = 256 * 1024 * 1024


#: The most characters of text between two tags of a rendered part (libxml2's limit, which
#: python-docx and LibreOffice read it with).
MAX_TEXT_NODE = 10_000_000


#: Seconds one template part may take to render (``GRANTGEN_RENDER_SECONDS``).
RENDER_SECONDS = 60.0


class _Environment(SandboxedEnvironment):
    """Sandboxed, strict, autoescaping, no None printed; caches compiled templates by source.
    Arithmetic is bounded: a power or product too large to print is refused."""

    intercepted_binops = frozenset(["**", "*", "<<"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in ("**", "<<") and isinstance(right, int) and isinstance(left, int | Decimal):
            size = abs(int(left)).bit_length() * abs(right) if operator == "**" else right
            if size > MAX_NUMBER_BITS:
                raise jinja2.exceptions.SecurityError(
                    f"{operator} gives a number too large to print ({left!r} {operator} {right!r})"
                )
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_REPEAT:
                    raise jinja2.exceptions.SecurityError(
                        f"a text or list repeated into more than {MAX_REPEAT:,} items"
                    )
            both = isinstance(left, int) and isinstance(right, int)
            if both and left.bit_length() + right.bit_length() > MAX_NUMBER_BITS:
                raise jinja2.exceptions.SecurityError("a product too large to print")
        return super().call_binop(context, operator, left, right)

    def __init__(self, *, literal: bool = False) -> None:
        # literal: a document that is not a template (a plan's own text): delimiters no Word
        # text holds, so its braces and percent signs are printed as they are
        marks: dict[str, Any] = (
            {
                f"{kind}_{end}_string": f"\x00{mark}" if end == "start" else f"{mark}\x00"
                for kind, (first, last) in {
                    "block": ("{%", "%}"),
                    "variable": ("{{", "}}"),
                    "comment": ("{#", "#}"),
                }.items()
                for end, mark in (("start", first), ("end", last))
            }
            if literal
            else {}
        )
        super().__init__(
            undefined=jinja2.StrictUndefined, autoescape=True, finalize=_printable, **marks
        )
        self._compiled: dict[str, jinja2.Template] = {}
        self.filters.update(FILTERS)
        self.filters.update(money=format_price, number=format_shares, string=_string)

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: Any = None,
    ) -> jinja2.Template:
        if isinstance(source, str) and globals is None and template_class is None:
            cached = self._compiled.get(source)
            if cached is None:
                cached = super().from_string(source)
                if len(self._compiled) < 64:
                    self._compiled[source] = cached
            return cached
        return super().from_string(source, globals, template_class)


#: Filters that turn what they are given into text: ``none`` given to one prints as None.
_TO_TEXT = frozenset(
    {
        "join", "format", "string", "pprint", "tojson", "lower", "upper", "title",
        "capitalize", "trim", "replace", "center", "indent", "truncate", "wordwrap",
        "striptags", "urlencode", "e", "escape", "forceescape", "safe", "xmlattr",
    }
)  # fmt: skip


def _refuse_printed_none(env: jinja2.Environment, src: str, name: str) -> None:
    """A ``{{ … }}`` that turns the constant ``none`` into text (``{{ none ~ '' }}``,
    ``{{ (none,)|join }}``) prints the word None past the check of what is printed (which
    sees text): refused when the template is read, as every other template error."""
    for output in env.parse(src).find_all(jinja2.nodes.Output):
        converting = [
            node
            for node in output.find_all((jinja2.nodes.Concat, jinja2.nodes.Filter))
            if not isinstance(node, jinja2.nodes.Filter) or node.name in _TO_TEXT
        ]
        for node in converting:
            for const in node.find_all(jinja2.nodes.Const):
                if const.value is None:
                    text = re.sub(r"<[^>]+>", "", src.splitlines()[const.lineno - 1]).strip()
                    raise TemplateError(
                        name,
                        "an expression turns the constant none into text, which prints as "
                        f"the word None (in {text[:120]!r}): every blank must print a value",
                    )


def _string(value: Any) -> str:
    """The ``string`` filter, refusing ``None`` (which would print as the word None)."""
    if value is None:
        raise NoValueError(value)
    return soft_str(value)


def make_environment() -> SandboxedEnvironment:
    """The one Jinja environment every template is rendered in."""
    return _Environment()


@contextlib.contextmanager
def _time_limit(name: str) -> Iterator[None]:
    """Stop a render that takes longer than :data:`RENDER_SECONDS` (or
    ``$GRANTGEN_RENDER_SECONDS``) with an error naming the template. Only in the main thread
    (a timer signal); elsewhere the render is not bounded in time."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        seconds = float(os.environ.get("GRANTGEN_RENDER_SECONDS") or RENDER_SECONDS)
    except ValueError:
        seconds = RENDER_SECONDS

    def stop(signum: int, frame: Any) -> None:
        raise TemplateError(
            name,
            f"took more than {seconds:g} s to render: a loop too long, or arithmetic too "
            "large, in the template?",
        )

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Block tags that take an end tag (``set`` only without ``=``: a block assignment).
_PAIRED = frozenset({"if", "for", "macro", "call", "filter", "with", "autoescape", "block", "set"})


def _unclosed_block(env: SandboxedEnvironment, source: str) -> tuple[str, str, str] | None:
    """The innermost block tag left open at the end of ``source``: the tag as written, the
    end tag it needs, and the text of its paragraph from the tag on."""
    try:
        tokens = [t for t in env.lex(source) if t[1] != "whitespace"]
    except jinja2.TemplateSyntaxError:
        return None
    stack: list[tuple[str, list[str], int]] = []  # (tag name, the tag's tokens, line)
    i = 0
    while i < len(tokens):
        line, kind, _ = tokens[i]
        if kind == "block_begin":
            j = i + 1
            while j < len(tokens) and tokens[j][1] != "block_end":
                j += 1
            inner = tokens[i + 1 : j]
            name = inner[0][2] if inner and inner[0][1] == "name" else ""
            assigns = name == "set" and any(k == "operator" and v == "=" for _, k, v in inner)
            if name in _PAIRED and not assigns:
                stack.append((name, [v for _, _, v in inner], line))
            elif name.startswith("end") and stack and stack[-1][0] == name[3:]:
                stack.pop()
            i = j
        i += 1
    if not stack:
        return None
    name, words, line = stack[-1]
    lines = source.splitlines()
    text = " ".join(re.sub(r"<[^>]+>", "", ln).strip() for ln in lines[line - 1 : line + 2])
    pattern = r"\{%-?\s*" + r"\s*".join(map(re.escape, words)) + r"\s*-?%\}"
    found = list(re.finditer(pattern, text))
    start = found[-1].start() if found else 0
    return "{% " + " ".join(words) + " %}", f"end{name}", text[start : start + 120].strip()


def _template_line(exc: BaseException) -> int | None:
    """The line of the Jinja source an error was raised on (Jinja puts a frame for it into
    the traceback)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _line_text(source: str, line: int | None) -> str:
    """The text (XML tags removed) of a line of a part's Jinja source: one paragraph."""
    lines = source.splitlines()
    if line is None or not 0 < line <= len(lines):
        return ""
    return re.sub(r"<[^>]+>", "", lines[line - 1]).strip()


def _culprit(env: SandboxedEnvironment, text: str, context: dict[str, Any]) -> str:
    """Which ``{{ … }}`` of a paragraph prints no text (tried one by one; one that needs a
    loop's variable cannot be tried alone and is passed over)."""
    for found in re.finditer(r"\{\{.*?\}\}", text):
        try:
            env.from_string(found.group()).render(context)
        except NoValueError:
            return found.group()
        except Exception:  # a loop's variable, say: this one cannot be tried alone
            continue
    return ""


def _undefined_name(message: str) -> str:
    m = re.search(r"'([^']+)' is undefined", message) or re.search(
        r"has no attribute '([^']+)'", message
    )
    return m.group(1) if m else message
