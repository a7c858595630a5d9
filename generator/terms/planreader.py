"""Reading one table of a plan file: each value checked for its kind (text, a count, a date, a
choice, a file), every problem naming the file and the dotted key, and the keys nobody read
refused as misspellings."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from generator.core.errors import PlanError

T = TypeVar("T")


#: Control characters (and line breaks: plan terms are one line each).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


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
