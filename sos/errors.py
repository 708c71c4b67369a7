"""Where things are (Span) and what is wrong with them (Diagnostic)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import Enum
from collections.abc import Iterable, Iterator


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A place in a source file; lines and columns count from 1."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def origin(self) -> str:
        """`file:line`, as plans and the sandbox store where a resource came from."""
        return f"{self.file}:{self.line}"

    @classmethod
    def from_origin(cls, text: str | None) -> Span | None:
        if not text:
            return None
        file, _, line = text.rpartition(":")
        return cls(file, int(line), 1)


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in user input: where, what, why, and how to fix it."""

    span: Span | None
    message: str
    code: str
    severity: Severity = Severity.ERROR
    why: str = ""
    fix: str = ""
    quote: bool = True  # show the source line; never for a file that did not load as a blueprint

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def headline(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}{self.severity.value}: {self.message} [{self.code}]"

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.span is None:
            return ("", 0, 0, self.message)
        return (self.span.file, self.span.line, self.span.col, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.span.file if self.span else None,
            "line": self.span.line if self.span else None,
            "col": self.span.col if self.span else None,
            "why": self.why or None,
            "fix": self.fix or None,
        }


@dataclass
class Diagnostics:
    """Problems collected across a whole run, reported together."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span | None, message: str, code: str, *, why: str = "", fix: str = "") -> None:
        self.items.append(Diagnostic(span, message, code, Severity.ERROR, why, fix))

    def warning(self, span: Span | None, message: str, code: str, *, why: str = "", fix: str = "") -> None:
        self.items.append(Diagnostic(span, message, code, Severity.WARNING, why, fix))

    def extend(self, more: Iterable[Diagnostic]) -> None:
        self.items.extend(more)

    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.code): d for d in self.items}
        return [unique[k] for k in sorted(unique)]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class SosError(Exception):
    """A user-facing failure; carries the diagnostics that explain it."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str, code: str = "error") -> None:
        if isinstance(diagnostics, str):
            diagnostics = Diagnostic(None, diagnostics, code)
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.headline() for d in diagnostics))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean 'x'?" hint for a near miss, or an empty string."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
