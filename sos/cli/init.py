"""sos init: a ready client repository from a starter blueprint."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import yaml

from sos.blueprint.load import load_blueprint
from sos.engine import target_types
from sos.lock import lock_new_starters
from sos.errors import Diagnostic, SosError, did_you_mean
from sos.project import PROJECT_FILE
from sos.resources import load_schema, starter_names, starter_path, target_options

PROJECT_TEMPLATE = """\
# yaml-language-server: $schema={schema_dir}/project.schema.json
# The sos project file: which blueprint, and which CRMs it is planned and applied against.
sos: 1
blueprint: blueprint.yaml
targets:
  sandbox:
    type: local            # the embedded CRM sandbox in .sos/, no account needed
{crm_targets}default_target: sandbox
"""

BLUEPRINT_TEMPLATE = """\
# yaml-language-server: $schema={schema_dir}/blueprint.schema.json
# {name}'s sales process. It starts from the {starter} starter: everything the
# starter defines applies unless overridden here (same key) or removed (remove:).
# See it whole with `sos show`.
sos: 1
name: {name}
description: {name}'s sales process, from the {starter} starter
extends: [starter:{starter}]
{vars_hint}
# fields:
#   opportunity:
#     implementation_partner: {{type: text, label: Implementation partner}}
# remove:
#   cadences: [friday_forecast]
"""

def _vars_hint(starter: str) -> str:
    """The starter's variables with their defaults, commented out, for the client to set before applying to a CRM."""
    path = starter_path(starter)
    declared = ((yaml.safe_load(path.read_text(encoding="utf-8")) if path else None) or {}).get("vars") or {}
    if not declared:
        return ""
    lines = ["", "# Set these to the client's own before the first apply to a CRM (the starter's are placeholders):",
             "# vars:"]
    for name, declaration in declared.items():
        default = declaration.get("default")
        shown = f"[{', '.join(default)}]" if isinstance(default, list) else default
        lines.append(f"#   {name}: {shown}")
    return "\n".join(lines) + "\n"


# Written by init for editors and committed with the blueprint, so every clone keeps completion (.sos/ is ignored).
SCHEMA_DIR = "schemas"


def write_editor_schemas(folder: Path) -> None:
    """Copy the JSON Schemas where the blueprint's `$schema` comment points, for editor completion."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("blueprint", "project"):
        (folder / f"{name}.schema.json").write_text(json.dumps(load_schema(name), indent=2), encoding="utf-8")


def crm_targets(client: str) -> str:
    """A commented-out target for each CRM sos plans and applies, from the example of its options schema, with
    the client's name where the example has one (`acme`, `ACME_`)."""
    examples = {target_type: options["examples"][0] for target_type, options in target_options().items()
                if target_type in target_types()}
    lines = []
    for target_type, example in examples.items():
        lines.append(f"  # {'prod' if len(examples) == 1 else f'{target_type}_prod'}:")
        lines += [f"  #   {key}: {_named(value, client)}" for key, value in example.items()]
    lines.append("  # (`sos schema project` describes every option)")
    return "".join(f"{line}\n" for line in lines)


def _named(value: object, client: str) -> object:
    if not isinstance(value, str):
        return value
    return value.replace("acme", client).replace("ACME", re.sub(r"\W", "_", client.upper()))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "client"


@click.command("init", epilog="""\b
Examples:
  sos init acme --starter b2b-saas-meddicc --name acme
  sos init . --starter smb-bant            # in the current folder, named after it
""")
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path, file_okay=False))
@click.option("--starter", required=True, help="The starter blueprint to extend (see `sos starters`).",
              shell_complete=lambda context, parameter, incomplete: [
                  name for name in starter_names() if name.startswith(incomplete)])
@click.option("--name", help="The client's short name, e.g. acme (default: the folder's name).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What it says it made: text for people, json (folder, name, starter, files) for tools.")
def command(directory: Path, starter: str, name: str | None, fmt: str) -> int:
    """Create a client repository: sos.yaml (local sandbox target), blueprint.yaml
    extending a starter, the JSON Schemas editors complete them from (schemas/, to
    commit; `sos schema` prints the current ones), and a .gitignore for sos's state folder .sos/.
    """
    if starter not in starter_names():
        raise SosError(Diagnostic(None, f"unknown starter '{starter}'", "unknown-starter",
                                  fix=did_you_mean(starter, starter_names())
                                  or f"choose one of: {', '.join(starter_names())}"))
    name = _slug(name or directory.resolve().name)
    for existing in (PROJECT_FILE, "blueprint.yaml"):
        if (directory / existing).exists():
            raise SosError(f"{directory / existing} already exists; sos init will not overwrite it", "init-exists")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / PROJECT_FILE).write_text(PROJECT_TEMPLATE.format(schema_dir=SCHEMA_DIR, crm_targets=crm_targets(name)),
                                          encoding="utf-8")
    (directory / "blueprint.yaml").write_text(
        BLUEPRINT_TEMPLATE.format(schema_dir=SCHEMA_DIR, name=name, starter=starter, vars_hint=_vars_hint(starter)),
        encoding="utf-8")
    write_editor_schemas(directory / SCHEMA_DIR)
    starter_file = starter_path(starter)
    shipped = starter_file.parent / "tests" / f"{starter}.yaml" if starter_file else None
    if shipped is not None and shipped.is_file() and not (directory / "tests" / shipped.name).exists():
        (directory / "tests").mkdir(exist_ok=True)          # the starter's process tests, for `sos test`
        (directory / "tests" / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    blueprint, _ = load_blueprint(directory / "blueprint.yaml", (directory,))
    if blueprint is not None:
        lock_new_starters(directory, blueprint.starters)     # sos.lock: the starter as it is today
    gitignore = directory / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if ".sos/" not in lines:
        gitignore.write_text("\n".join([*lines, "# sos state: sandbox databases, locks, crash logs", ".sos/"]) + "\n",
                             encoding="utf-8")
    if fmt == "json":
        made = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
        click.echo(json.dumps({"directory": str(directory), "name": name, "starter": starter, "files": made},
                              indent=2))
        return 0
    click.echo(f"Created a client repository for {name} in {directory} from starter {starter}.")
    cd = f"cd {shlex.quote(str(directory))} && " if str(directory) != "." else ""
    click.echo(f"Next: {cd}sos validate && sos show && sos test")
    return 0
