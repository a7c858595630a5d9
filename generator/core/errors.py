"""One error hierarchy for every stage of the pipeline: every error grantgen reports to a user is
a :class:`GrantgenError` defined here (exceptions a stage raises and catches itself, such as a
LibreOffice session that died, stay with their stage).

Every error carries what a user needs to find the problem: the spreadsheet row and column for
grant data, the key for a plan file, the template and field for a template. The CLI prints
``str(error)``; tracebacks appear only with ``--verbose``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run stopped by ``kill`` (or a service manager)
    cleans up as an interrupted one does: LibreOffice stopped, the work folder removed."""


class GrantgenError(Exception):
    """Base class of every error grantgen raises on purpose."""

    exit_code = 1


class UsageError(GrantgenError):
    """Raised when the command line or the files it names cannot be used at all."""

    exit_code = 2


class InputError(GrantgenError):
    """Raised when a grants file cannot be read as a whole (missing column, not a CSV, ...)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class RecordError(GrantgenError):
    """Raised (or collected) when one value of one grant row cannot be accepted."""

    def __init__(
        self,
        row: int,
        column: str,
        message: str,
        *,
        value: str | None = None,
        grant_id: str | None = None,
        rule: str = "parse",
    ) -> None:
        self.row = row
        self.column = column
        self.message = message
        self.value = value
        self.grant_id = grant_id
        self.rule = rule
        if value is not None and len(value) > 80:  # a 40,000-character cell, say
            value = f"{value[:60]}… ({len(value):,} characters)"
        shown = "" if value is None else f" (value {value!r})"
        super().__init__(f"row {row}, column {column}: {message}{shown}")

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "grant_id": self.grant_id,
            "rule": self.rule,
            "message": str(self),
        }


class PlanError(GrantgenError):
    """Raised when a plan file is missing, unreadable, or has a missing or ill-typed term."""

    def __init__(self, path: str, key: str | None, message: str) -> None:
        self.path = path
        self.key = key
        where = f"{path}: key '{key}'" if key else path
        super().__init__(f"{where}: {message}")


class TemplateError(GrantgenError):
    """Raised when a template cannot be read or rendered (syntax error, unknown field, ...)."""

    def __init__(self, template: str, message: str, *, field: str | None = None) -> None:
        self.template = template
        self.field = field
        super().__init__(f"template {template}: {message}")


class ConvertError(GrantgenError):
    """Raised when LibreOffice cannot turn a DOCX into a PDF (missing, crashed, timed out)."""


class SofficeNotFoundError(ConvertError):
    """Raised when no LibreOffice ``soffice`` binary can be found."""


class AssembleError(GrantgenError):
    """Raised when a converted PDF cannot be made into a signature-ready packet; ``column``:
    the grant's column the problem is about (the participant's name not shown), if any."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class OutputError(GrantgenError):
    """Raised when a result cannot be written to the output folder."""


class SigningError(GrantgenError):
    """Raised when a packet cannot be signed: unusable key or certificate, missing field, ..."""


class VerifyError(GrantgenError):
    """Raised when verification cannot run at all (no signed PDF, unreadable trust root, ...)."""


class TimestampError(SigningError):
    """Raised when the time-stamp server gives no time-stamp: every packet would fail the same
    way, so a signing run stops at the first."""


class CredentialError(SigningError):
    """Raised when the signing key or certificate cannot be used; names the file."""

    def __init__(self, path: Path, message: str, *, needs_passphrase: bool = False) -> None:
        self.path = path
        self.needs_passphrase = needs_passphrase
        super().__init__(f"{path}: {message}")


class LedgerError(GrantgenError):
    """Raised when the ledger cannot be read or written, or an operation on it is refused."""


class AcceptError(GrantgenError):
    """Raised when acceptances cannot be recorded at all (no batch, no such grant, ...)."""


class ApprovedFormError(GrantgenError):
    """Raised when an approved form cannot be read, or its Jinja fails (naming the field)."""

    def __init__(self, path: Path | str, message: str, *, field: str | None = None) -> None:
        self.path, self.field = path, field
        super().__init__(f"approved form {path}: {message}")


class DeviationError(GrantgenError):
    """Raised when a final ``--strict`` batch has deviations nobody approved."""

    def __init__(self, deviations: Mapping[str, Sequence[Any]]) -> None:
        """``deviations``: each document's :class:`~generator.comparing.deviations.Deviation` s."""
        self.deviations = {k: list(v) for k, v in deviations.items() if v}
        count = sum(len(v) for v in self.deviations.values())
        first_id, first = next(iter(self.deviations.items()))
        super().__init__(
            f"{count} deviation(s) from the approved form in {len(self.deviations)} "
            f"document(s) (first, {first_id}: {first[0]}); restore the template, have counsel "
            "approve it (`grantgen approve`; or let this batch pass with --accept-deviations), "
            "or make a --draft batch to review them in its review/summary.html"
        )


class OcfError(GrantgenError):
    """Raised when a package cannot be written or read: the file, object and field named."""


class FormError(GrantgenError):
    """Raised when the form text has no agreement to compare with."""


class KitError(GrantgenError):
    """Raised when a kit is missing a piece, or its pieces do not agree."""


class StrictError(GrantgenError):
    """Raised when ``--strict`` finds warnings: nothing is generated."""

    def __init__(self, findings: Sequence[Any]) -> None:
        """``findings``: the warnings (:class:`~generator.checking.findings.Finding`)."""
        self.findings = list(findings)
        listed = "".join(f"\n  {f.severity}: {f}" for f in findings)
        samples = any(getattr(f, "rule", None) == "sample-value" for f in findings)
        hint = (
            "\n(sample values: make them your company's and take them out of [samples] in the "
            "plan file, or give --accept-samples to make them notes)"
            if samples
            else ""
        )
        super().__init__(f"--strict: warnings found; nothing was generated{listed}{hint}")
