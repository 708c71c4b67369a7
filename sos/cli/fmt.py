"""sos fmt: blueprints in one layout, comments kept, so that diffs between clients and starters show meaning only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from sos.blueprint.resolve import display_path
from sos.cli.options import locate_blueprint
from sos.errors import Diagnostic, SosError, Span

# The order of a blueprint's top-level keys (schemas/blueprint.schema.json); keys it does not know keep their place
# after these (`sos validate` reports them).
TOP_LEVEL = ("sos", "name", "description", "extends", "vars", "remove", "fields", "pipelines", "rules",
             "lead_statuses", "cadences", "routing", "handoffs", "forecast_target")


@click.command("fmt", epilog="""\b
Examples:
  sos fmt                          # the project's blueprint
  sos fmt blueprints/*.yaml        # several files
  sos fmt --check                  # in CI or pre-commit: exit 1 and name the files that are not formatted

\b
The layout: top-level keys in the order the language lists them (sos, name,
description, extends, vars, remove, fields, pipelines, rules, lead_statuses,
cadences, routing), two-space indentation, list items indented under their key,
comments and flow maps ({key: a, label: B}) kept as written.
""")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file is not in the layout.")
def command(paths: tuple[Path, ...], check: bool) -> int:
    """Rewrite blueprints in sos's one layout, keeping comments. Without PATHS,
    the project's blueprint."""
    files = list(paths) or [locate_blueprint(None)[0]]
    unformatted = []
    for path in files:
        text = _read(path)
        formatted = formatted_text(text, display_path(path))
        if formatted == text:
            continue
        unformatted.append(path)
        if not check:
            path.write_text(formatted, encoding="utf-8")
            click.echo(f"Formatted {display_path(path)}", err=True)
    if check and unformatted:
        for path in unformatted:
            click.echo(f"{display_path(path)} is not formatted; run `sos fmt {display_path(path)}`", err=True)
        return 1
    if not unformatted:
        click.echo(f"{len(files)} file{'s' * (len(files) != 1)} already formatted.", err=True)
    return 0


def formatted_text(text: str, name: str) -> str:
    """`text` (a blueprint) in the layout; SosError, located, for YAML that does not parse."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096                 # never fold a long line: a message or an expression stays on its line
    yaml.preserve_quotes = True
    try:
        data = yaml.load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = Span(name, mark.line + 1, mark.column + 1) if mark is not None else Span(name, 1, 1)
        raise SosError(Diagnostic(where, f"not YAML sos can format: {getattr(error, 'problem', error)}", "fmt-yaml",
                                  fix="`sos validate` says more")) from None
    if isinstance(data, CommentedMap):
        _order(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _order(top: CommentedMap) -> None:
    """Put the top-level keys in TOP_LEVEL order, each with its comments."""
    known = [key for key in TOP_LEVEL if key in top]
    rest = [key for key in top if key not in TOP_LEVEL]
    wanted = known + rest
    if list(top) == wanted:
        return
    items: list[tuple[Any, Any]] = [(key, top[key]) for key in wanted]
    comments = {key: top.ca.items.get(key) for key in wanted}
    for key in list(top):
        del top[key]
    for position, (key, value) in enumerate(items):
        top.insert(position, key, value)
        if comments[key] is not None:
            top.ca.items[key] = comments[key]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SosError(f"cannot read {display_path(path)}: {getattr(error, 'strerror', None) or error}",
                       "file-missing") from None
