"""YAML → a tree of Nodes that remember where they came from.

PyYAML is strict about syntax but lenient where our users get hurt: it keeps the
last of two duplicate keys and reads `No`, `On` or `1.10` as a boolean or a
number. The loader reports the first; the schema step reports the second (only
where a string is expected), using `Node.plain` and `Node.source`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from sos.errors import Diagnostic, SosError, Span


@dataclass(eq=False)
class Node:
    """A YAML value with its Span: a scalar, a dict of Nodes or a list of Nodes."""

    value: Any
    span: Span
    style: str | None = None  # a scalar's quoting: None (plain), "'", '"', "|" or ">"
    source: str = ""  # a scalar as written
    key_spans: dict[str, Span] = field(default_factory=dict)
    raw: str = ""  # a scalar's text in the file, from `span`'s start: quotes, escapes, `|` header and all

    @property
    def plain(self) -> bool:
        """An unquoted scalar, which YAML may have read as a boolean, number or null."""
        return self.style is None and not self.is_map and not self.is_list

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if self.is_map else None

    def items(self) -> Iterable[tuple[str, Node]]:
        return self.value.items() if self.is_map else ()

    def key_span(self, key: str) -> Span:
        return self.key_spans.get(key, self.span)

    def at(self, path: Iterable[str | int]) -> Node:
        """The deepest node along `path` (a JSON path as jsonschema gives it)."""
        node = self
        for step in path:
            if node.is_map and isinstance(step, str) and step in node.value:
                node = node.value[step]
            elif node.is_list and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
            else:
                break
        return node

    def to_data(self) -> Any:
        """Plain Python data (dicts, lists, scalars), as JSON Schema sees it."""
        if self.is_map:
            return {k: v.to_data() for k, v in self.value.items()}
        if self.is_list:
            return [v.to_data() for v in self.value]
        return self.value


def _span(file: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text  # the whole file, whose character offsets the marks' `index` counts
        self.constructor = yaml.constructor.SafeConstructor()
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node) -> Node:
        span = _span(self.file, node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, span)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item) for item in node.value], span)
        value = self.constructor.construct_object(node)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = node.value  # dates stay text; the schema says where a date is allowed
        raw = self.text[node.start_mark.index : node.end_mark.index]
        return Node(value, span, style=node.style or None, source=node.value, raw=raw)  # libyaml says "" for plain

    def _mapping(self, node: yaml.MappingNode, span: Span) -> Node:
        values: dict[str, Node] = {}
        key_spans: dict[str, Span] = {}
        for key_node, value_node in node.value:
            key_span = _span(self.file, key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Diagnostic(key_span, "a key must be a plain name, not a list or map", "yaml-key"))
                continue
            key = key_node.value
            if key in values:
                first = key_spans[key].line
                self.problems.append(
                    Diagnostic(key_span, f"duplicate key '{key}' (first at line {first})", "duplicate-key",
                               why="YAML would silently keep only the last value",
                               fix="remove one of them or merge them into one")
                )
                continue
            key_spans[key] = key_span
            values[key] = self.build(value_node)
        return Node(values, span, key_spans=key_spans)


def load_text(text: str, file: str) -> Node:
    """Parse YAML text; raise SosError with every duplicate key, or the syntax error."""
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        root = _compose_for_message(text, file)
    if root is None:
        raise SosError(Diagnostic(Span(file, 1, 1), "the file is empty", "empty-file",
                                  fix="start from a starter: `sos init --starter NAME`"))
    builder = _Builder(file, text)
    node = builder.build(root)
    if builder.problems:
        raise SosError(builder.problems)
    return node


# libyaml when PyYAML was built with it; its error messages are terser, so errors are re-read in Python.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_for_message(text: str, file: str) -> yaml.Node | None:
    """Parse with the pure-Python loader, whose syntax errors say more; raise them as SosError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SosError(Diagnostic(span, f"invalid YAML: {problem}", "yaml-syntax",
                                  fix="check the indentation and quoting around this line")) from None
    except yaml.YAMLError as exc:
        raise SosError(Diagnostic(Span(file, 1, 1), f"invalid YAML: {exc}", "yaml-syntax")) from None


def load_file(path: Path, display: str | None = None) -> Node:
    """Read and parse a YAML file; every failure is one clear SosError."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SosError(Diagnostic(None, f"{name}: no such file", "file-missing")) from None
    except IsADirectoryError:
        raise SosError(Diagnostic(None, f"{name}: is a directory, not a YAML file", "file-unreadable")) from None
    except OSError as exc:
        raise SosError(Diagnostic(None, f"{name}: cannot read: {exc.strerror}", "file-unreadable")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SosError(Diagnostic(Span(name, line, col), "the file is not UTF-8 text", "not-utf8",
                                  fix="save it as UTF-8")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_text(text, name)
