"""How diagnostics look in a terminal and in JSON."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TextIO
from collections.abc import Callable, Iterable

import click

from sos.blueprint.yaml import MAX_FILE_BYTES
from sos.errors import Diagnostic
from sos.plan.planfile import write_output
from sos.resources import starter_path

MAX_PER_FILE = 50  # diagnostics shown for one file; the rest are counted (one mistake repeated can make thousands)
MAX_LINE_WIDTH = 160  # characters of a source line shown, around the column pointed at
HIDDEN = "[redacted]"
_CREDENTIAL_WORDS = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS", "KEY",
                     "APIKEY", "AUTH", "SESSION", "COOKIE"}


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def show_report(render: Callable[[bool], str], out: Path | None, fmt: str, summary: str) -> None:
    """A report rendered (`render(colour)`) to the terminal, or written to `out` with its `summary` line on stderr."""
    if out is None:
        click.echo(render(use_colour(sys.stdout)), nl=False)
    else:
        write_output(out, render(False))
        click.echo(f"{summary} Wrote the {fmt} report to {out}.", err=True)


def _source_line(file: str, line: int, cache: dict[str, list[str] | None]) -> str | None:
    if file not in cache:
        cache[file] = _source_lines(file)
    lines = cache[file]
    return lines[line - 1] if lines is not None and 0 < line <= len(lines) else None


def _source_lines(file: str) -> list[str] | None:
    """The lines of a blueprint a diagnostic points into; None for anything not a small regular file."""
    path = (starter_path(file.split(":", 1)[1]) or Path(file)) if file.startswith("starter:") else Path(file)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):  # ValueError: not UTF-8, or a NUL in the name
        return None


def _window(text: str, col: int, length: int) -> tuple[str, int, int]:
    """At most MAX_LINE_WIDTH characters of `text` around column `col`: (text, col, caret length) as shown."""
    if len(text) <= MAX_LINE_WIDTH:
        return text, col, length
    start = max(0, min(col - 1 - MAX_LINE_WIDTH // 2, len(text) - MAX_LINE_WIDTH))
    end = start + MAX_LINE_WIDTH
    shown = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    col = col - start + (1 if start else 0)
    return shown, col, min(length, MAX_LINE_WIDTH - col + 1)


def format_diagnostic(d: Diagnostic, *, colour: bool = False,
                      sources: dict[str, list[str] | None] | None = None) -> str:
    """The headline `file:line:col: severity: message [code]`, the source line with a caret, why, fix.

    `sources`: the lines of files already read, by name, shared across one listing.
    """
    d = _shortened(d)
    severity_colour = "red" if d.is_error else "yellow"
    head = d.headline()
    if colour:
        where = f"{d.span}: " if d.span else ""
        head = (f"{click.style(where, bold=True)}{click.style(d.severity.value, fg=severity_colour, bold=True)}"
                f": {d.message} [{d.code}]")
    out = [head]
    text = _source_line(d.span.file, d.span.line, {} if sources is None else sources) \
        if d.span is not None and d.quote else None
    if d.span is not None and text is not None:
        width = len(str(d.span.line))
        length = d.span.end_col - d.span.col if d.span.end_line == d.span.line and d.span.end_col > d.span.col else 1
        text, col, length = _window(_BREAKS.sub("?", text), d.span.col, length)   # one shown char for one
        caret = " " * (col - 1) + "^" * max(1, min(length, len(text) - col + 1))
        out.append(f"  {d.span.line:>{width}} | {text}")
        out.append(f"  {' ' * width} | {click.style(caret, fg=severity_colour) if colour else caret}")
    if d.why:
        out.append(f"  why: {d.why}")
    if d.fix:
        out.append(f"  fix: {d.fix}")
    return redact("\n".join(out))


def _shortened(d: Diagnostic) -> Diagnostic:
    """`d` on one line of at most about MAX_LINE_WIDTH * 2 characters: a message may quote a value from the file,
    and a line break or control character in it (U+2028 included) is shown escaped, never acted on."""
    half = MAX_LINE_WIDTH
    message = _BREAKS.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), d.message)
    if len(message) > 2 * half:
        message = f"{message[:half]}…{message[-half:]}"
    return d if message == d.message else replace(d, message=message)


# Characters that end or control a line (str.splitlines breaks on all of them): C0, DEL, C1, U+2028, U+2029.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _bounded(diagnostics: Iterable[Diagnostic]) -> tuple[list[Diagnostic], Counter[str]]:
    """The first MAX_PER_FILE diagnostics of each file, and how many more each file has."""
    shown: list[Diagnostic] = []
    seen: Counter[str] = Counter()
    for d in diagnostics:
        file = d.span.file if d.span else ""
        seen[file] += 1
        if seen[file] <= MAX_PER_FILE:
            shown.append(d)
    return shown, Counter({file: count - MAX_PER_FILE for file, count in seen.items() if count > MAX_PER_FILE})


def print_diagnostics(diagnostics: Iterable[Diagnostic], stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    colour = use_colour(stream)
    shown, more = _bounded(diagnostics)
    sources: dict[str, list[str] | None] = {}
    for d in shown:
        click.echo(format_diagnostic(d, colour=colour, sources=sources), file=stream)
    for file, count in more.items():
        click.echo(redact(f"{file or 'sos'}: … and {plural(count, 'more problem')} not shown"), file=stream)


def diagnostics_json(diagnostics: list[Diagnostic], **extra: object) -> str:
    errors = sum(d.is_error for d in diagnostics)
    shown, more = _bounded(diagnostics)
    listed = [{key: redact(value) if isinstance(value, str) else value
               for key, value in _shortened(d).to_json().items()} for d in shown]
    return json.dumps({**extra, "errors": errors, "warnings": len(diagnostics) - errors, "diagnostics": listed,
                       **({"not_shown": sum(more.values())} if more else {})}, indent=2)


def redact(text: str) -> str:
    """`text` without the value of any environment variable whose name says it holds a credential.

    Backends hide the secrets they know (each has its redactor); this catches the rest, e.g. a file
    that quotes the environment. Values under 6 characters are no credential and would blank out words.
    """
    secrets = {value for name, value in os.environ.items()
               if len(value) >= 6 and _CREDENTIAL_WORDS.intersection(name.upper().split("_"))}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
