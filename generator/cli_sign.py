"""``grantgen sign`` and ``grantgen verify``: the Company's countersignature and its proof.

The commands are registered on the main group by ``cli.py``; they handle errors the way the
other commands do: one ``error: ...`` line on stderr and exit status 1, a traceback only with
``grantgen --verbose``.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from types import FrameType

import click

from generator.assembling.stamp import Appearance
from generator.cliutil import (
    any_signer_option,
    errors,
    existing_file,
    quiet_option,
    table_format_option,
    trust_option,
    verbose,
)
from generator.core.errors import CredentialError, GrantgenError
from generator.signing.credentials import load_credentials
from generator.signing.signfiles import COMPANY_FIELD
from generator.signing.signing import Credentials, SignResult, sign_batch
from generator.signing.signjobs import DRAFT_REASON
from generator.signing.timestamps import http_timestamper, timestamp_url_problem
from generator.signing.verify import NO_SIGNATURE, FileCheck, VerifyResult, verify_path
from generator.terms.kit import plan_for_folder


def _passphrase(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise CredentialError(path, f"cannot be read: {exc.strerror or exc}") from None
    return text.splitlines()[0] if text.strip() else b""


def _credentials(cert: Path, key: Path | None, passphrase_file: Path | None) -> Credentials:
    passphrase = _passphrase(passphrase_file)
    try:
        return load_credentials(cert, key, passphrase)
    except CredentialError as exc:
        if not exc.needs_passphrase or passphrase_file is not None:
            raise
        if not sys.stdin.isatty():
            raise CredentialError(exc.path, "needs a passphrase: use --passphrase-file") from None
        typed = click.prompt(f"Passphrase for {exc.path}", hide_input=True, err=True)
    return load_credentials(cert, key, typed.encode("utf-8"))


def _timestamp_url(url: str | None) -> str | None:
    problem = timestamp_url_problem(url) if url is not None else None
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--timestamp-url'")
    return url


def _output(output: Path | None) -> Path | None:
    if output is not None and str(output) in ("", "."):
        raise click.BadParameter("an empty file name", param_hint="'-o' / '--output'")
    if output is not None and output.suffix.lower() != ".pdf":
        raise click.BadParameter(
            f"{str(output)!r}: the signed file's name must end in .pdf",
            param_hint="'-o' / '--output'",
        )
    return output


@click.command("sign")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--cert",
    required=True,
    type=existing_file(),
    help="The signer's PKCS#12 file (.p12/.pfx), or PEM certificate (its chain may follow).",
)
@click.option(
    "--key",
    type=existing_file(),
    help="PEM private key, when --cert is a PEM certificate without its key.",
)
@click.option(
    "--passphrase-file",
    type=existing_file(),
    help="File whose first line is the passphrase of the key or PKCS#12 file "
    "(asked for on a terminal when needed and not given).",
)
@click.option(
    "--field",
    default=COMPANY_FIELD,
    show_default=True,
    help="Signature field to sign.",
)
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The kit (folder or plan file) whose officer (name, title) the visible signature "
    "shows. Default: the kit the batch's manifest records (else the bundled example).",
)
@click.option(
    "--timestamp-url",
    metavar="URL",
    callback=lambda ctx, param, url: _timestamp_url(url),
    help="RFC 3161 time-stamp server: makes a PAdES B-T signature (default B-B, no network).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=lambda ctx, param, output: _output(output),
    help="Where to write the signed file, when PATH is one PDF. "
    "Default: <name>.signed.pdf beside it.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Sign again packets the manifest shows as signed, or over a file in the way; "
    "the file there is moved to superseded/ beside it, never overwritten.",
)
@any_signer_option
@click.option(
    "--tz",
    "zone",
    metavar="ZONE",
    callback=lambda ctx, param, value: _zone(value),
    help="The signer's time zone, for the date the visible signature shows (an IANA name "
    "such as America/New_York). Default: this machine's.",
)
@click.option(
    "--dated",
    is_flag=True,
    help='Also write the day of signing (in --tz) on the form\'s date line ("Dated:"), '
    "in the revision the Company's signature covers; recorded in the manifest.",
)
@quiet_option
@click.pass_context
def sign_command(
    ctx: click.Context,
    path: Path,
    cert: Path,
    key: Path | None,
    passphrase_file: Path | None,
    field: str,
    plan: Path | None,
    timestamp_url: str | None,
    output: Path | None,
    force: bool,
    any_signer: bool,
    zone: tzinfo | None,
    dated: bool,
    quiet: bool,
) -> None:
    """Sign the PDF packets of a generated batch (PATH a folder), or one PDF, for the Company.

    Each <grant_id>.pdf the batch's manifest lists is signed in its company_signature field
    with a PAdES signature (B-B; B-T with --timestamp-url) whose visible appearance shows the
    plan's officer, their title and the date. The signature is an incremental update that
    certifies the packet and allows only form filling and signing afterwards, so the
    participant_signature field stays open. The signed copy is written beside the original as
    <grant_id>.signed.pdf (the original is never changed) and recorded in manifest.json with
    its sha256. A packet whose bytes differ from the manifest's record is refused.

    Exit status: 0 all signed (or already signed), 1 any packet failed or the key, passphrase
    or certificate cannot be used, 2 usage error.
    """
    if dated and field != COMPANY_FIELD:
        raise click.UsageError(
            f"--dated fills the date of the Company's signature: not with --field {field}"
        )
    with errors(verbose()):
        credentials = _credentials(cert, key, passphrase_file)
        look, plan_id = _appearance(credentials, field, path, plan, zone, dated)
        shown = _Shown(quiet)
        with _sigterm_as_interrupt(), _interrupted(shown):
            result = sign_batch(
                path,
                credentials,
                field=field,
                appearance=look,
                timestamper=http_timestamper(timestamp_url) if timestamp_url else None,
                output=output,
                force=force,
                plan_id=plan_id,
                progress=shown,
                any_signer=any_signer,
            )
        _sign_report(result, quiet)
        sys.exit(1 if result.errors else 0)


def _appearance(
    credentials: Credentials,
    field: str,
    path: Path,
    plan: Path | None,
    zone: tzinfo | None,
    dated: bool,
) -> tuple[Appearance, str | None]:
    """What the visible signature shows, and the plan whose officer it shows: the Company's
    field shows the plan's officer and their title; another field, the certificate's name."""
    if field != COMPANY_FIELD:
        return Appearance(credentials.subject, tz=zone), None
    terms = plan_for_folder(plan, path if path.is_dir() else path.parent)
    officer = terms.company.officer
    return Appearance(officer.name, officer.title, zone, dated), terms.id


class _Shown:
    """Prints each step of a signing run as it happens (signed files unless --quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.signed = 0

    def __call__(self, kind: str, text: str) -> None:
        if kind == "signed":
            self.signed += 1
        if kind in ("warning", "error"):
            click.echo(f"{kind}: {text}", err=True)
        elif not self.quiet:
            click.echo(f"{kind} {text}")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a signing run the way Ctrl-C does: what was signed is recorded first."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def _interrupted(shown: _Shown) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) during a signing run: say how far it got, and exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(
            f"interrupted after {shown.signed} signed; each one is recorded in the "
            "manifest: run the same command again to sign the rest",
            err=True,
        )
        sys.exit(130)


def _sign_report(result: SignResult, quiet: bool) -> None:
    if not quiet:
        where = f"; manifest: {result.manifest}" if result.manifest else ""
        drafts = f", {len(result.drafts)} drafts skipped" if result.drafts else ""
        others = f", {len(result.others)} of other participants skipped" if result.others else ""
        click.echo(
            f"{len(result.signed)} signed, {len(result.skipped)} already signed, "
            f"{len(result.errors)} failed{others}{drafts}{where}"
        )


@click.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@trust_option
@click.option(
    "--manifest",
    type=existing_file(),
    help="The batch's manifest.json. Default: the one beside the PDFs.",
)
@table_format_option
@any_signer_option
@click.pass_context
def verify_command(
    ctx: click.Context,
    path: Path,
    trust: tuple[Path, ...],
    manifest: Path | None,
    fmt: str,
    any_signer: bool,
) -> None:
    """Verify the signed PDFs of a batch (PATH a folder; unsigned PDFs are skipped) or one PDF.

    For each signature: is it intact (the signed bytes and the signature value check out), is
    the signer's certificate trusted (--trust; an intact but untrusted signature is reported as
    untrusted, not broken), and was the document changed after signing other than by later
    signatures and form filling. For each file: is the signed content the approved one (a
    revision before the first signature hashes to the sha256 the manifest recorded for the
    packet, and the text of every signed revision, and of the file now, is that packet's
    text), and which signature fields are signed and which are still empty. Who signed: the
    Company's field must be signed by the plan's signing officer and the participant's by the
    grant's participant, as the certificates name them (--any-signer: not checked).

    Exit status: 0 everything checks; 1 otherwise, with one `error: FILE: reason` line per
    problem on stderr.
    """
    with errors(verbose()):
        try:
            result = verify_path(path, trust=trust, manifest=manifest, any_signer=any_signer)
        except GrantgenError as exc:
            if fmt == "json":  # a program reading the output still gets an answer
                failed = {"ok": False, "error": str(exc), "files": [], "drafts_skipped": []}
                click.echo(json.dumps(failed, indent=2, ensure_ascii=False))
            raise
        _verify_report(result, fmt, base=path if path.is_dir() else None)
        sys.exit(0 if result.ok else 1)


def _verify_report(result: VerifyResult, fmt: str, base: Path | None) -> None:
    """The result (a table or JSON on stdout), one ``error:`` line on stderr per problem, and
    the counts after a table."""
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_table(result, base=base))
    for check in result.files:
        for reason in check.reasons:
            click.echo(f"error: {_shown(check, base)}: {reason}", err=True)
    if fmt != "json":
        bad = sum(not f.ok for f in result.files)
        drafts = f"; {len(result.drafts)} drafts skipped" if result.drafts else ""
        click.echo(
            f"{len(result.files)} signed file(s): {len(result.files) - bad} ok, {bad} failed"
            f"{drafts}"
        )


def _shown(check: FileCheck, base: Path | None) -> str:
    return Path(check.path).name if base is not None else check.path


def _status(check: FileCheck, index: int) -> str:
    sig = check.signatures[index]
    if not sig.intact:
        return "BROKEN"
    words = ["intact", "trusted" if sig.trusted else "UNTRUSTED"]
    if any("changed after signing" in p for p in sig.problems):
        words.append("FORBIDDEN CHANGES")
    return ", ".join(words) + f" ({sig.level}, {sig.signed_at or 'no signing time'})"


def format_table(result: VerifyResult, base: Path | None = None) -> str:
    """The verification result as a plain-text table, one row per signature field."""
    rows = [("FILE", "GRANT", "CONTENT", "FIELD", "SIGNER", "SIGNATURE")]
    for check in result.files:
        first = (
            _shown(check, base),
            check.grant_id or "?",
            "approved" if check.approved else "NOT APPROVED",
        )
        for i, sig in enumerate(check.signatures):
            rows.append(
                (*(first if i == 0 else ("", "", "")), sig.field, sig.signer, _status(check, i))
            )
        for name in check.empty_fields:
            rows.append((*(first if not check.signatures else ("", "", "")), name, "-", "empty"))
        if check.path.endswith(".json"):  # the manifest, with entries that cannot be used
            rows.append((first[0], "-", "-", "-", "-", f"{len(check.problems)} unusable entries"))
        elif not check.signatures and not check.empty_fields:  # read and unsigned, or not read
            unsigned = check.problems[:1] in ((NO_SIGNATURE,), (DRAFT_REASON,))
            rows.append((*first, "-", "-", "no signature" if unsigned else "not checked"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _zone(name: str | None) -> tzinfo | None:
    """``--tz``: an IANA time zone (None: the machine's)."""
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{name!r} is not a time zone (give an IANA name such as America/New_York)"
        ) from None
