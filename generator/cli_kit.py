"""``grantgen init`` and ``grantgen approve``: start a form kit of your own, and record what
counsel approved."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from generator.cliutil import errors, verbose


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--example",
    default="meridian",
    show_default=True,
    help="The bundled example kit to start from.",
)
def init_command(directory: Path, example: str) -> None:
    """Make a new form kit in DIRECTORY from a bundled example: a commented plan file, the
    Word templates of each document (with their signature bookmarks), the Plan document, and
    their approved forms, ready to edit.

    Then: put your plan's terms in plan.toml, your forms in templates/ (keep the bookmarks
    on the signature lines), check with `grantgen check-templates DIRECTORY`, make drafts
    with `grantgen generate GRANTS --plan DIRECTORY --draft`, and once counsel has signed
    off, `grantgen approve DIRECTORY`.
    """
    from generator.terms.kit import init_kit

    with errors(verbose()):
        files = init_kit(directory, example)
        click.echo(f"kit made in {directory} from the {example} example ({len(files)} files):")
        for path in files:
            click.echo(f"  {path.relative_to(directory).as_posix()}")
        click.echo(
            f"next: edit {directory / 'plan.toml'} and the templates, then "
            f"`grantgen check-templates {directory}`"
        )


@click.command("approve")
@click.argument("kit", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--by", "approved_by", help="Who approved the forms (counsel's name).")
@click.option(
    "--date",
    "approved_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day counsel approved them (default: today).",
)
def approve_command(kit: Path | None, approved_by: str | None, approved_on: object) -> None:
    """Record the kit's templates as the forms counsel approved (KIT: the kit's folder or
    plan file).

    Each template's text is written to approved/<template>.txt with its fields kept as
    blanks ({{ participant }} ...), the date, who approved and the template's sha256. From
    then on every rendered document is compared with it: an edit of a template is a
    deviation (listed with its word diff in review/summary.html, refused by `generate
    --strict`) until it is approved again.
    """
    from generator.comparing.approve import approve_kit
    from generator.kitchecks.templatecheck import check_templates
    from generator.terms.kit import resolve_kit
    from generator.terms.plan import load_plan

    with errors(verbose()):
        plan = load_plan(kit)
        problems, _ = check_templates(None, plan)
        structural = [p for p in problems if p.kind != "approved form"]
        for problem in structural:
            click.echo(f"error: {problem}", err=True)
        if structural:
            click.echo("nothing approved: correct the templates first", err=True)
            sys.exit(1)
        day = approved_on.date() if hasattr(approved_on, "date") else date.today()
        written = approve_kit(
            resolve_kit(plan), approved_on=day.isoformat(), approved_by=approved_by
        )
        for path in written:
            click.echo(f"approved: {path}")


@click.command("fields")
@click.option(
    "--plan",
    type=click.Path(exists=True, path_type=Path),
    help="The kit whose plan terms fill the sample (default: the bundled example).",
)
@click.option("--schedule", help="The vesting schedule of the sample grant (default: the plan's).")
def fields_command(plan: Path | None, schedule: str | None) -> None:
    """List every field a template can print, with its value for a sample grant of 10,000
    shares under the kit's plan (dated within the plan's life)."""
    from decimal import Decimal

    from generator.checking.fields import FIELDS
    from generator.reading.grantrecord import GrantRecord
    from generator.rendering.render import grant_context
    from generator.terms.plan import load_plan
    from generator.terms.vesting import add_months

    with errors(verbose()):
        terms = load_plan(plan)
        if schedule is not None and schedule not in terms.vesting:
            known = ", ".join(terms.vesting) or "the plan file has none"
            raise click.BadParameter(
                f"{schedule!r} is not a schedule ({known})", param_hint="--schedule"
            )
        day = min(max(date.today(), terms.effective_date), terms.last_grant_date)
        chosen = terms.vesting.get(schedule or terms.default_schedule("option") or "")
        sample = GrantRecord(
            row=2,
            grant_id="SAMPLE-1",
            participant="Ann Sample",
            grant_date=day,
            shares=10_000,
            exercise_price=Decimal("3.25"),
            address=("1 Sample Street", "Springfield, ST 00000"),
            vesting_schedule=schedule,
            vesting_date=add_months(day, 12) if chosen and chosen.on_date else None,
            extra=tuple((name, f"[{name}]") for name in terms.extra_columns),
        )
        context = grant_context(sample, terms)
        listed = {
            **FIELDS,
            **{
                name: "an extra column of the kit ([columns] extra)" for name in terms.extra_columns
            },
        }
        width = max(len(name) for name in listed)
        for name, meaning in listed.items():
            value: object = context
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            shown = "(no value for this grant: an error where a template prints it)"
            click.echo(f"{name:<{width}}  {shown if value is None else _shown(value)}")
            click.echo(f"{'':<{width}}  ({meaning})")


def _shown(value: object) -> str:
    """A field's sample value as a template prints it (a list: its items)."""
    if isinstance(value, list):
        items = [
            " ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
            for item in value
        ]
        return "; ".join(items)
    return str(value)
