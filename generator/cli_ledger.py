"""``grantgen ledger``: the share reserve, forfeitures, stock split adjustments, export/import."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from generator.checking.ledger import Ledger, ledger_path
from generator.checking.ledgercsv import export_csv, import_csv
from generator.checking.ledgerhistory import parse_split
from generator.checking.pool import Pool
from generator.checking.splits import split_names
from generator.cliutil import (
    errors,
    existing_file,
    format_option,
    ledger_option,
    plan_option,
    verbose,
)
from generator.core.errors import GrantgenError, OcfError
from generator.core.output import write_atomic
from generator.exports.ocf import export_ocf, missing_issuer_facts
from generator.exports.ocfimport import import_ocf
from generator.exports.ocfschema import OCF_VERSION
from generator.reading.values import parse_date
from generator.terms.plan import load_plan
from generator.terms.planmodel import Plan
from generator.terms.section16 import Section16, form4_csv, form4_rows, recorded_reportables

# --- ledger --------------------------------------------------------------------------------


@click.group("ledger")
def ledger_group() -> None:
    """The share ledger: what the plan's reserve holds, forfeitures, stock split
    adjustments."""


def _day(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--date'") from None


@ledger_group.command("show")
@plan_option
@ledger_option
@format_option
@click.option(
    "--grants", "show_grants", is_flag=True, help="Also list each grant with its vesting."
)
def ledger_show(plan: Path | None, ledger: Path | None, fmt: str, show_grants: bool) -> None:
    """Print the reserve, the shares used and available, per award type (and with --grants
    each grant with its vesting schedule and installments)."""
    with errors(verbose()):
        terms = load_plan(plan)
        with Ledger(ledger_path(ledger), create=False) as book:
            pool = book.pool(terms)
            history = book.history(terms.id)
            grants = book.grants(terms.id)
            others = _other_plans(book, terms.id)
        if fmt == "json":
            click.echo(json.dumps(_pool_data(terms.id, pool, history, grants), indent=2))
            return
        _echo_pool(terms, pool, history)
        if show_grants:
            for g in grants:
                click.echo(
                    f"  {g['grant_id']}  {g['participant']}  {g['grant_date']}  "
                    f"{g['shares']:,} {g['award_type']}  vesting: "
                    f"{g['vesting_schedule'] or 'at once'} ({g['vesting'] or 'not recorded'})"
                )
        if not pool.known and others:
            _note_other_plans(terms.id, others, "kit")


def _pool_data(
    plan_id: str, pool: Pool, history: list[dict[str, Any]], grants: list[dict[str, Any]]
) -> dict[str, Any]:
    """``ledger show --format json``: the pool's figures, the splits, each grant's vesting."""
    return {
        "plan": plan_id,
        "reserve": pool.reserve,
        "used": pool.used,
        "available": pool.available,
        "non_option_cap": pool.non_option_cap,
        "non_option_used": pool.non_option_used,
        "non_option_available": pool.non_option_available,
        "by_award_type": pool.by_type,
        "grants": len(pool.known),
        "adjustments": history,
        "vesting": {
            g["grant_id"]: {
                "schedule": g["vesting_schedule"],
                "vesting_start": g["vesting_start"],
                "installments": g["vesting"],
            }
            for g in grants
            if g["vesting"]
        },
    }


def _echo_pool(terms: Plan, pool: Pool, history: list[dict[str, Any]]) -> None:
    """``ledger show``: the reserve, used and available, the cap on awards other than
    options, the shares by award type and the splits."""
    click.echo(f"Plan {terms.id}: {terms.name}")
    rows = (
        (f"reserve (Section {terms.section('reserve')}):", pool.reserve),
        ("used:", pool.used),
        ("available:", pool.available),
    )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"  {label:<{width}} {value:>12,}")
    click.echo(
        f"  other than options (Section {terms.section('non_option_cap')}): "
        f"{pool.non_option_used:,} used of {pool.non_option_cap:,}"
    )
    for kind, shares in sorted(pool.by_type.items()):
        click.echo(f"  {kind:<26}{shares:>14,}")
    for adj in history:
        click.echo(
            f"  split {adj['ratio']} on {adj['day']}: reserve "
            f"{adj['reserve_before']:,} -> {adj['reserve_after']:,}"
        )


def _other_plans(book: Ledger, plan_id: str) -> list[str]:
    """The other plans the ledger holds grants under."""
    return sorted({g["plan_id"] for g in book.grants()} - {plan_id})


def _note_other_plans(plan_id: str, others: list[str], what: str) -> None:
    """The note that no grant is under ``plan_id`` but some are under ``others`` (``what``:
    the thing to give with --plan, the plan's kit or file)."""
    click.echo(
        f"note: no grant is recorded under plan {plan_id}; this ledger holds grants "
        f"under {', '.join(others)} (give that plan's {what} with --plan)",
        err=True,
    )


@ledger_group.command("forfeit")
@click.argument("grant_id")
@click.option("--shares", type=click.IntRange(min=1), required=True, help="Shares returned.")
@click.option("--date", "day", required=True, help="Date of the forfeiture/expiry/cancellation.")
@plan_option
@ledger_option
def ledger_forfeit(
    grant_id: str, shares: int, day: str, plan: Path | None, ledger: Path | None
) -> None:
    """Return forfeited, expired or cancelled shares of GRANT_ID to the plan's reserve."""
    with errors(verbose()):
        terms = load_plan(plan)
        when = _day(day)
        with Ledger(ledger_path(ledger)) as book:
            done = book.forfeit(terms, grant_id, shares, when)
            pool = book.pool(terms)
        since = pool.splits_since(when)
        split = f" ({done.returned:,} after {split_names(since)})" if since else ""
        click.echo(
            f"{shares:,} share(s) of {grant_id} returned to the pool{split}; "
            f"{done.outstanding:,} outstanding; {pool.available:,} available under the plan"
        )


@ledger_group.command("adjust")
@click.option("--split", required=True, help="Split ratio NEW:OLD, e.g. 2:1 (or 1:10 reverse).")
@click.option("--date", "day", required=True, help="Effective date of the split.")
@plan_option
@ledger_option
def ledger_adjust(split: str, day: str, plan: Path | None, ledger: Path | None) -> None:
    """A stock split (the plan's adjustments section): adjust the reserve, the caps and
    every outstanding award.

    Shares are multiplied by NEW/OLD and rounded down to whole shares (fractions dropped);
    exercise prices are divided by it and rounded up to the cent. Old values stay in history.
    """
    with errors(verbose()):
        terms = load_plan(plan)
        try:
            new, old = parse_split(split)
        except GrantgenError as exc:
            raise click.BadParameter(str(exc), param_hint="--split") from None
        with Ledger(ledger_path(ledger)) as book:
            change = book.adjust(terms, new, old, _day(day))
        click.echo(
            f"split {new}:{old} recorded; reserve {change['reserve_before']:,} -> "
            f"{change['reserve_after']:,}"
        )


@ledger_group.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="The file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "form4", "ocf"]),
    default="csv",
    show_default=True,
    help="csv: the grants, as import reads them back; form4: each grant's Form 4 values "
    "for the filing agent (Section 16); ocf: an Open Cap Format 1.2.0 package (a ZIP, "
    "validated against the OCF schemas), which import --format ocf reads back.",
)
@click.option(
    "--since",
    metavar="YYYY-MM-DD",
    callback=lambda ctx, param, value: _day(value) if value else None,
    help="Only grants made on or after this date.",
)
@plan_option
@ledger_option
def ledger_export(
    file: Path | None,
    out: Path | None,
    fmt: str,
    since: date | None,
    plan: Path | None,
    ledger: Path | None,
) -> None:
    """Write the grants recorded under the plan (--plan; default: the bundled plan) to FILE
    (or --out; default stdout): as CSV that import reads back, or (--format form4) the Form 4
    values of each grant, as CSV."""
    target = file or out
    with errors(verbose()):
        terms = load_plan(plan)
        if fmt == "ocf":
            _export_ocf(ledger_path(ledger), terms, target, since)
            return
        with Ledger(ledger_path(ledger), create=False) as book:
            if fmt == "form4":
                text = _form4_text(book, terms, since)
            else:
                text = export_csv(book, terms.id, since=since)
            others = _other_plans(book, terms.id)
        if others and text.count("\n") <= 1:  # the header alone
            _note_other_plans(terms.id, others, "file")
        if fmt == "form4" and terms.section16 is None:
            click.echo(
                f"note: the plan file {terms.source} does not say its participants are Section "
                "16 reporting persons ([section16] reporting = true)",
                err=True,
            )
        if target is None:
            click.echo(text, nl=False)
        else:
            write_atomic(target, text.encode("utf-8"))


def _export_ocf(book_path: Path, terms: Plan, target: Path | None, since: date | None) -> None:
    """``ledger export --format ocf``: the package written to ``target``, a warning for each
    fact of the issuer the plan file lacks, and what was written."""
    if target is None:
        raise click.UsageError("--format ocf writes a ZIP: give the FILE (e.g. cap.ocf.zip)")
    if not book_path.is_file():
        raise OcfError(f"there is no ledger at {book_path}: nothing to export")
    with Ledger(book_path, create=False) as book:
        if since is not None:
            raise click.UsageError("--since is for csv and form4: an OCF package is whole")
        write_atomic(target, export_ocf(book, terms))
        for warning in missing_issuer_facts(terms):
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"{target}: OCF {OCF_VERSION}, {len(book.grants(terms.id))} grant(s)")


def _form4_text(book: Ledger, terms: Plan, since: date | None) -> str:
    """``ledger export --format form4``: the Form 4 values of each grant made on or after
    ``since`` (None: every grant) as CSV, leaving out (with a note) the grants declined."""
    declined = {
        str(r[0])
        for r in book.conn.execute("SELECT grant_id FROM acceptances WHERE state = 'declined'")
    }
    grants = [
        g
        for g in book.grants(terms.id)
        if (since is None or str(g["grant_date"]) >= since.isoformat())
        and g["grant_id"] not in declined
    ]
    if declined:
        click.echo(
            "note: left out, as declined by the participant: " + ", ".join(sorted(declined)),
            err=True,
        )
    rows = form4_rows(recorded_reportables(grants, terms.is_option), terms.section16 or Section16())
    return form4_csv(rows).decode("utf-8-sig")


@ledger_group.command("import")
@click.argument("csv_file", metavar="FILE", type=existing_file())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "ocf"]),
    default="csv",
    show_default=True,
    help="csv: a grant history as export writes it; ocf: an OCF package export --format ocf "
    "wrote, into an empty ledger (its export is then the same file).",
)
@plan_option
@ledger_option
def ledger_import(csv_file: Path, fmt: str, plan: Path | None, ledger: Path | None) -> None:
    """Bring an existing grant history (CSV, as export writes it; or an OCF package) into the
    ledger."""
    with errors(verbose()):
        terms = load_plan(plan)
        if fmt == "ocf":
            count = import_ocf(ledger_path(ledger), terms, csv_file.read_bytes(), str(csv_file))
            click.echo(f"{count} grant(s) imported from {csv_file}")
            return
        with Ledger(ledger_path(ledger)) as book:
            done = import_csv(book, terms, csv_file.read_text(encoding="utf-8-sig"))
        for warning in done.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"{len(done.added)} grant(s) imported, {len(done.already)} already present"
            + (f", {len(done.warnings)} warning(s)" if done.warnings else "")
        )
