"""sos sandbox: put records in the local sandbox, seeded or loaded from a CRM's CSV export."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import click

from sos.cli.options import current_project, target_option
from sos.engine import convert_lead, load_sandbox, sandbox_objects, seed_sandbox, tick_sandbox
from sos.errors import Diagnostic, SosError


# How the summary of a seed names each kind of row.
SEEDED = {"user": "users", "queue": "queues", "account": "accounts", "contact": "contacts", "lead": "leads",
          "opportunity": "deals", "field_history": "history entries", "task": "tasks"}


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _today(day: datetime.datetime | None) -> datetime.date | None:
    return day.date() if day else None


today_option = click.option("--today", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
                            help="The day the records are as of: close dates, aging and days_in_stage count from it "
                                 "(default: the sandbox's day: today, UTC, moved on by `sos sandbox tick`).")


@click.group("sandbox", epilog="""\b
Examples:
  sos apply && sos sandbox seed --deals 2000     # a pipeline to audit, from the blueprint
  sos sandbox load deals.csv --object opportunity  # a client's export, before API access
  sos sandbox convert 42                         # a rep converts lead 42 into a deal
""")
def command() -> None:
    """Fill the local sandbox with records: realistic seeded data, or a CRM's CSV export.

    The sandbox holds accounts, contacts, leads, deals (opportunity), tasks, users and queues beside the applied
    blueprint, so `sos audit` and a plan's impact counts have records to read. Apply the blueprint first: records
    follow its stages and fields.
    """


@command.command("seed", epilog="""\b
Examples:
  sos sandbox seed                                # 500 deals, seed 1
  sos sandbox seed --deals 100000 --seed 7        # a big pipeline, the same rows every run
  sos sandbox seed --today 2026-03-02             # as of a fixed day: byte-for-byte repeatable
""")
@click.option("--deals", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="How many deals (opportunities); a lead per deal, an account per four, two contacts per account.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="The random seed: the same seed, --deals and --today give the same records, byte for byte.")
@today_option
@target_option
def seed_command(deals: int, seed_value: int, today: datetime.datetime | None, target_name: str | None) -> None:
    """Replace the sandbox's records with realistic data for the applied blueprint.

    Users and queues from the blueprint's routes, accounts, contacts, leads through the lead statuses (converted
    into deals, each with its first-touch task: done in time, late or never), and deals through the stage funnel
    with amounts, close dates, aging, tasks and the history the weekly reports read (stage moves, Commit calls,
    amounts and close dates changed), with the dirty data a
    client's CRM has in week one: open deals without a next step or with a close date past, deals past their
    stage's max_days, stage requirements unmet. Seeding writes the rows directly, like a data import: the
    blueprint's rules are not enforced on them (that is how dirty data gets in).
    """
    project = current_project()
    target = project.target(target_name)
    started = time.perf_counter()
    _progress(f"seeding {deals:,} deals into target '{target.name}' (seed {seed_value})")
    counts = seed_sandbox(project, target, deals=deals, seed=seed_value, today=_today(today), progress=_progress)
    written = ", ".join(f"{count:,} {SEEDED[name]}" for name, count in counts.items())
    click.echo(f"Seeded target '{target.name}' in {time.perf_counter() - started:.1f} s: {written}.")


@command.command("load", epilog="""\b
Examples:
  sos sandbox load deals.csv --object opportunity
  sos sandbox load leads.csv --object lead --map "Lead Stage=status" --map "Rep=owner"
""")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--object", "obj", type=click.Choice(sandbox_objects()), required=True,
              help="The object the export holds.")
@click.option("--map", "mappings", multiple=True, metavar='"COLUMN=FIELD"',
              help="Read COLUMN as the field key FIELD (repeatable); wins over the mapping by label or key.")
@today_option
@target_option
def load_command(file: Path, obj: str, mappings: tuple[str, ...], today: datetime.datetime | None,
                 target_name: str | None) -> None:
    """Add the records of a CSV export from any CRM to the sandbox, all or none.

    Each column is read as the field whose label or key it names, case, spaces and punctuation aside ("Close
    Date" is close_date, "Stage" is stage); --map says it for the others. Values are read by the field's type:
    numbers may carry currency signs and thousands separators, dates are 2026-03-31 or 3/31/2026, stages and lead
    statuses their key or label. Every bad row is reported by line, and then nothing is loaded. Columns no field
    takes are listed and left out.
    """
    overrides = {}
    for mapping in mappings:
        column, equals, field = mapping.partition("=")
        if not equals or not column.strip() or not field.strip():
            raise SosError(Diagnostic(None, f"--map takes COLUMN=FIELD, not '{mapping}'", "usage",
                                      fix='for example --map "Deal Stage=stage"'))
        overrides[column.strip()] = field.strip()
    project = current_project()
    target = project.target(target_name)
    count, ignored = load_sandbox(project, target, file, obj, overrides, today=_today(today), progress=_progress)
    if ignored:
        _progress(f"left out the columns no {obj} field takes: {', '.join(ignored)} (map them with --map)")
    click.echo(f"Loaded {count:,} {obj} record{'s' * (count != 1)} from {file} into target '{target.name}'.")


@command.command("tick", epilog="""\b
Example:
  sos sandbox tick --days 8     # a week and a day later: deals past their stage's max_days get their task
""")
@click.option("--days", type=click.IntRange(1, 3650), default=1, show_default=True,
              help="How many days to move the sandbox's clock forward.")
@target_option
def tick_command(days: int, target_name: str | None) -> None:
    """Move the sandbox's clock forward and fire the cadences on a deal's time in its stage.

    The sandbox runs the blueprint's automation as a CRM would: a lead created through its API is routed (the
    first route whose `when` holds; a round robin keeps its turn) and the cadences on a record created, a stage
    or a lead status entered fire at once (tasks with owner, subject, due date and priority; notifications).
    `stage_age_over` cadences fire as time passes, once per deal and stage: this command is the passing time.
    """
    project = current_project()
    target = project.target(target_name)
    today, fired = tick_sandbox(project, target, days)
    click.echo(f"Target '{target.name}' is now at {today.isoformat()}: {fired:,} time-in-stage "
               f"cadence{'s' * (fired != 1)} fired.")


@command.command("convert", epilog="""\b
Examples:
  sos sandbox convert 42                          # lead 42 becomes a deal at the first stage
  sos sandbox convert 42 --amount 12000 --close-date 2027-01-29
""")
@click.argument("lead_id", type=click.IntRange(1), metavar="LEAD_ID")
@click.option("--amount", type=click.FloatRange(min=0), help="The new deal's amount.")
@click.option("--close-date", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The new deal's close date (default: 30 days from the sandbox's today).")
@click.option("--stage", help="The new deal's stage key (default: the first open stage).")
@target_option
def convert_command(lead_id: int, amount: float | None, close_date: datetime.datetime | None, stage: str | None,
                    target_name: str | None) -> None:
    """Convert a lead into a deal, as a rep does in the CRM.

    The lead's status becomes the blueprint's converted status and a deal is created from it (its company, owner
    and source), both saved as through the CRM's API: the applied rules are enforced and the history records them,
    all or nothing. `sos trace` follows the lead into that deal.
    """
    project = current_project()
    target = project.target(target_name)
    values: dict[str, object] = {key: value for key, value in (
        ("amount", amount), ("close_date", close_date.date().isoformat() if close_date else None),
        ("stage", stage)) if value is not None}
    deal = convert_lead(project, target, lead_id, values)
    click.echo(f"Converted lead {lead_id} into deal {deal} in target '{target.name}'.")
