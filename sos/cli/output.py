"""How diagnostics look in a terminal and in JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterable, TextIO

import click

from sos.errors import Diagnostic
from sos.resources import starters_dir


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _source_line(file: str, line: int) -> str | None:
    path = starters_dir() / f"{file.split(':', 1)[1]}.yaml" if file.startswith("starter:") else Path(file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_diagnostic(d: Diagnostic, *, colour: bool = False) -> str:
    """The headline `file:line:col: severity: message [code]`, the source line with a caret, why, fix."""
    severity_colour = "red" if d.is_error else "yellow"
    head = d.headline()
    if colour:
        where = f"{d.span}: " if d.span else ""
        head = (f"{click.style(where, bold=True)}{click.style(d.severity.value, fg=severity_colour, bold=True)}"
                f": {d.message} [{d.code}]")
    out = [head]
    if d.span is not None and (text := _source_line(d.span.file, d.span.line)) is not None:
        width = len(str(d.span.line))
        length = d.span.end_col - d.span.col if d.span.end_line == d.span.line and d.span.end_col > d.span.col else 1
        caret = " " * (d.span.col - 1) + "^" * max(1, min(length, len(text) - d.span.col + 1))
        out.append(f"  {d.span.line:>{width}} | {text}")
        out.append(f"  {' ' * width} | {click.style(caret, fg=severity_colour) if colour else caret}")
    if d.why:
        out.append(f"  why: {d.why}")
    if d.fix:
        out.append(f"  fix: {d.fix}")
    return "\n".join(out)


def print_diagnostics(diagnostics: Iterable[Diagnostic], stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    colour = use_colour(stream)
    for d in diagnostics:
        click.echo(format_diagnostic(d, colour=colour), file=stream)


def diagnostics_json(diagnostics: list[Diagnostic], **extra: object) -> str:
    errors = sum(d.is_error for d in diagnostics)
    return json.dumps({**extra, "errors": errors, "warnings": len(diagnostics) - errors,
                       "diagnostics": [d.to_json() for d in diagnostics]}, indent=2)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
