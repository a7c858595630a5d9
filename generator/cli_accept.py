"""``grantgen accept`` and ``grantgen status``: the participants' answers, and where each grant
of a batch stands (:mod:`generator.signing.acceptance`)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from generator.checking.ledger import ledger_path
from generator.cliutil import (
    any_signer_option,
    errors,
    existing_file,
    ledger_option,
    table_format_option,
    trust_option,
    verbose,
)
from generator.reading.values import parse_date
from generator.signing.acceptance import AcceptResult, accept_returned
from generator.signing.byhand import record_by_hand
from generator.signing.status import GrantState, grant_states
from generator.terms.kit import plan_for_folder

_BATCH = click.option(
    "--batch",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The batch folder (the one `grantgen generate --out` made, with its manifest.json).",
)


def _day(ctx: click.Context, param: click.Parameter, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("accept")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_BATCH
@ledger_option
@trust_option
@any_signer_option
@click.option(
    "--paper",
    metavar="GRANT_ID",
    help="Record a paper acceptance of this grant instead: with --on and --scan.",
)
@click.option(
    "--declined",
    metavar="GRANT_ID",
    help="Record that the participant declined this grant: with --on.",
)
@click.option(
    "--on", "day", metavar="YYYY-MM-DD", callback=_day, help="The day (--paper, --declined)."
)
@click.option("--scan", type=existing_file(), help="The signed paper copy, scanned (--paper).")
@click.option("--note", default="", help="A note kept with a --paper or --declined record.")
@click.option(
    "--force",
    is_flag=True,
    help="Record this acceptance although the grant has one (the earlier file is set aside).",
)
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The kit (folder or plan file) the batch was made under. Default: the one the "
    "batch's manifest records.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only refusals.")
def accept_command(
    paths: tuple[Path, ...],
    folder: Path,
    ledger: Path | None,
    trust: tuple[Path, ...],
    any_signer: bool,
    paper: str | None,
    declined: str | None,
    day: date | None,
    scan: Path | None,
    note: str,
    force: bool,
    plan: Path | None,
    quiet: bool,
) -> None:
    """Record the participants' acceptances: PATHS are the packets they signed and sent back
    (files, or folders of them, under any names and in any order).

    Each is matched to its grant in the batch (--batch) by its content, and accepted when it
    verifies: every signature intact and trusted (--trust), the Company's the signed copy the
    manifest records, the participant's signature made by the grant's participant and the
    file's last change. It is kept as <grant_id>.accepted.pdf beside the batch and recorded in
    the ledger with the signing time and its sha256. A packet that does not qualify is
    refused with the reason and changes nothing.

    --paper GRANT_ID --on DATE --scan FILE records a paper acceptance; --declined GRANT_ID
    --on DATE records a grant the participant declined.

    Exit status: 0 every file accepted (or accepted before), 1 any refused, 2 usage error.
    """
    by_hand = _by_hand(paths, paper, declined, day, scan)
    with errors(verbose()):
        book = ledger_path(ledger)
        if by_hand is not None:
            grant, state, day = by_hand
            kept = record_by_hand(
                folder, grant, plan=plan_for_folder(plan, folder), ledger=book, day=day,
                state=state, scan=scan, note=note, force=force,
            )  # fmt: skip
            where = f", scan kept as {kept.name}" if kept is not None else ""
            click.echo(f"{grant}: {state} on {day.isoformat()} (paper){where}")
            return
        result = accept_returned(
            folder, list(paths), ledger=book, trust=list(trust), any_signer=any_signer,
            force=force,
        )  # fmt: skip
        _report(result, quiet)
        sys.exit(0 if result.ok else 1)


def _by_hand(
    paths: tuple[Path, ...],
    paper: str | None,
    declined: str | None,
    day: date | None,
    scan: Path | None,
) -> tuple[str, str, date] | None:
    """What --paper or --declined asks to record: (grant, state, day); None for returned
    files. A usage error when the options do not go together."""
    by_hand = paper or declined
    if paper and declined:
        raise click.UsageError("--paper and --declined: one at a time")
    if by_hand and paths:
        raise click.UsageError("--paper/--declined take no returned files")
    if by_hand and day is None:
        raise click.UsageError("--on DATE: the day it was signed (or declined)")
    if not by_hand and not paths:
        raise click.UsageError("give the returned packets (files or folders), or --paper")
    if not by_hand and (day or scan):
        raise click.UsageError("--on and --scan go with --paper or --declined")
    if not by_hand:
        return None
    assert day is not None  # (a usage error above)
    return by_hand, "declined" if declined else "accepted", day


def _report(result: AcceptResult, quiet: bool) -> None:
    for item in result.files:
        grant = item.grant_id or "?"
        if item.refused:
            click.echo(f"refused {item.path}: {item.reason}", err=True)
        elif not quiet:
            kept = f" -> {item.kept.name}" if item.kept is not None else ""
            when = f" (signed {item.signed_at})" if item.signed_at else ""
            note = f"; {item.reason}" if item.reason else ""
            click.echo(f"{item.outcome} {grant}: {item.path}{kept}{when}{note}")
    counts = {k: sum(1 for f in result.files if f.outcome == k) for k in
              ("accepted", "already accepted", "refused")}  # fmt: skip
    click.echo(
        f"{counts['accepted']} accepted, {counts['already accepted']} accepted before, "
        f"{counts['refused']} refused"
    )


@click.command("status")
@click.argument(
    "folder", required=False, default=Path("."),
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)  # fmt: skip
@ledger_option
@click.option(
    "--overdue",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Exit 1 when a grant has been waiting for its participant longer than DAYS days "
    "since the Company signed (for a reminder job).",
)
@table_format_option
def status_command(folder: Path, ledger: Path | None, overdue: int | None, fmt: str) -> None:
    """Where each grant of the batch in FOLDER stands: made, company-signed (pending the
    participant, for N days), accepted or declined.

    Exit status: 0, or 1 with --overdue DAYS when any grant has been pending longer.
    """
    with errors(verbose()):
        book = ledger_path(ledger)
        if not book.is_file():
            click.echo(
                f"warning: there is no ledger at {book}: no acceptance recorded there can be "
                "shown (give the batch's ledger with --ledger)",
                err=True,
            )
        states = grant_states(folder, ledger=book)
    late = [s for s in states if s.pending and overdue is not None and (s.days or 0) > overdue]
    if fmt == "json":
        data = {"grants": [s.as_dict() for s in states], "overdue": [s.grant_id for s in late]}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _status_table(states, late, overdue)
    sys.exit(1 if late else 0)


def _status_table(states: list[GrantState], late: list[GrantState], overdue: int | None) -> None:
    """One row per grant, then the counts."""
    head = ("grant", "participant", "grant date", "state", "since", "")
    rows = [head] + [
        (
            s.grant_id,
            s.participant,
            s.grant_date,
            s.state + (f" ({s.days} days)" if s.pending and s.days is not None else ""),
            s.since or "",
            s.detail,
        )
        for s in states
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    for r in rows:
        click.echo(
            "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        )
    counts = {k: sum(1 for s in states if s.state == k) for k in
              ("made", "company-signed", "accepted", "declined")}  # fmt: skip
    click.echo(
        f"{len(states)} grant(s): {counts['accepted']} accepted, {counts['declined']} "
        f"declined, {counts['company-signed']} pending the participant, {counts['made']} "
        "not signed by the Company"
        + (f"; {len(late)} pending more than {overdue} days" if overdue is not None else "")
    )
