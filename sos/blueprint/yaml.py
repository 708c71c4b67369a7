"""YAML → a tree of Nodes that remember where they came from.

PyYAML is strict about syntax but lenient where our users get hurt: it keeps the
last of two duplicate keys and reads `No`, `On` or `1.10` as a boolean or a
number. The loader reports the first; the schema step reports the second (only
where a string is expected), using `Node.plain` and `Node.source`.
"""

from __future__ import annotations

import datetime
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

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

    def __getitem__(self, key: str) -> Node:
        """A key the schema requires, so present once the file is valid."""
        return self.value[key]

    def items(self) -> Iterable[tuple[str, Node]]:
        return self.value.items() if self.is_map else ()

    def key_span(self, key: str) -> Span:
        return self.key_spans.get(key, self.span)

    def at(self, path: Iterable[str | int]) -> Node:
        """The deepest node along `path` (a JSON path as jsonschema gives it)."""
        node = self
        for step in path:
            if node.is_map and isinstance(step, str) and step in node.value:  # noqa: SIM114 - a key, then an index
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


MAX_FILE_BYTES = 1_000_000  # a blueprint of 2,000 fields is a tenth of this
MAX_DEPTH = 50  # a blueprint nests about 8 levels; deeper input only exhausts the stack
MAX_ALIAS_NODES = 10_000  # values copied by `*alias`: enough for any reuse, not for a "billion laughs"
_IMPLICIT = yaml.resolver.Resolver()  # the tag YAML gives a value written without one
# Characters no CRM label or XML document may hold: C0/C1 controls (but tab and line breaks), lone surrogates.
_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


class _Builder:
    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text  # the whole file, whose character offsets the marks' `index` counts
        self.constructor = yaml.constructor.SafeConstructor()
        self.problems: list[Diagnostic] = []
        self.seen: set[int] = set()  # YAML nodes built once: meeting one again is an alias
        self.copied = 0  # nodes built through aliases

    def build(self, node: yaml.Node, at: Span | None = None, depth: int = 1, alias_at: Span | None = None) -> Node:
        """`at`: where the value is written (the composer drops an alias's own mark: its key's line stands in);
        `alias_at`: the alias this node is copied through, if any."""
        span = _span(self.file, node)
        if depth > MAX_DEPTH:
            raise _too_deep(span)
        if alias_at is None and id(node) in self.seen:
            alias_at = at or span
        self.seen.add(id(node))
        if alias_at is not None:
            self._count_copy(alias_at)
        self._check_tag(node, span)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, span, depth, alias_at)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, span)
        return Node([self.build(item, span, depth + 1, alias_at) for item in node.value], span)

    def _count_copy(self, alias_at: Span) -> None:
        self.copied += 1
        if self.copied > MAX_ALIAS_NODES:
            raise SosError(Diagnostic(alias_at, f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} values",
                                      "yaml-alias", why="nested aliases multiply: a few lines can expand "
                                      "to billions of values", fix="write the values out, or alias less"))

    def _check_tag(self, node: yaml.Node, span: Span) -> None:
        plain = not getattr(node, "style", None)  # collections have no quoting style
        if node.tag != _IMPLICIT.resolve(type(node), node.value, (plain, not plain)):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(Diagnostic(span, f"YAML tag '{tag}' is not supported in sos files", "yaml-tag",
                                            fix="remove the tag; quote the value if it must stay text"))

    def _scalar(self, node: yaml.ScalarNode, span: Span) -> Node:
        try:
            value = self.constructor.construct_object(node)
        except Exception:  # noqa: BLE001 — a tag refused above (!!timestamp x fails inside PyYAML), or 2024-13-45
            value = node.value
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = node.value  # dates stay text; the schema says where a date is allowed
        if isinstance(value, str):
            self._check_characters(value, span)
        raw = self.text[node.start_mark.index : node.end_mark.index]
        return Node(value, span, style=node.style or None, source=node.value, raw=raw)  # libyaml says "" for plain

    def _check_characters(self, text: str, span: Span) -> None:
        if (bad := _BAD_CHARACTER.search(text)) is not None:
            kind = "a lone surrogate" if 0xD800 <= ord(bad[0]) <= 0xDFFF else "the control character"
            self.problems.append(Diagnostic(span, f"text holds {kind} U+{ord(bad[0]):04X}", "bad-character",
                                            why="CRMs and their metadata files (XML) cannot store it",
                                            fix="remove it; write plain text"))

    def _mapping(self, node: yaml.MappingNode, span: Span, depth: int, alias_at: Span | None) -> Node:
        values: dict[str, Node] = {}
        key_spans: dict[str, Span] = {}
        for key_node, value_node in node.value:
            key_span = _span(self.file, key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Diagnostic(key_span, "a key must be a plain name, not a list or map", "yaml-key"))
                continue
            key = key_node.value
            self._check_characters(key, key_span)
            if key in values:
                first = key_spans[key].line
                self.problems.append(
                    Diagnostic(key_span, f"duplicate key '{key}' (first at line {first})", "duplicate-key",
                               why="YAML would silently keep only the last value",
                               fix="remove one of them or merge them into one")
                )
                continue
            key_spans[key] = key_span
            values[key] = self.build(value_node, key_span, depth + 1, alias_at)
        return Node(values, span, key_spans=key_spans)


def load_text(text: str, file: str) -> Node:
    """Parse YAML text; raise SosError with every duplicate key, tag or bad character, or the syntax error."""
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        root = _compose_for_message(text, file, exc)
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
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


def _compose_for_message(text: str, file: str, first: yaml.YAMLError) -> yaml.Node | None:
    """Parse with the pure-Python loader, whose syntax errors say more; raise them as SosError.

    Where the Python loader cannot say more (libyaml's nesting limit; an escape beyond Unicode, which it
    turns into a ValueError or OverflowError; nesting it recurses into past an error libyaml stopped at),
    libyaml's error `first` is the one reported. No source line of a file that
    is not YAML is ever shown.
    """
    error = first
    if getattr(first, "problem", "") != _LIBYAML_TOO_DEEP:
        _check_depth(text, file)  # the Python loader recurses, and slows down with the square of the depth
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            error = exc
        except (ValueError, OverflowError, RecursionError):  # see above
            pass
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, error.position) + 1
        span = Span(file, line, error.position - (text.rfind("\n", 0, error.position) + 1) + 1)
        problem = f"the character U+{error.character:04X} is not allowed in YAML"
    else:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        problem = getattr(error, "problem", None) or getattr(error, "context", None) or "invalid YAML"
    raise SosError(Diagnostic(span, f"invalid YAML: {problem}", "yaml-syntax", quote=False,
                              fix="check the indentation and quoting around this line")) from None


def _check_depth(text: str, file: str) -> None:
    """Raise the error for YAML nested deeper than MAX_DEPTH, read as far as libyaml can read it."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark  # the parser marks every event; the stubs allow None
                    raise _too_deep(Span(file, mark.line + 1, mark.column + 1))  # type: ignore[union-attr]
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass


def _too_deep(span: Span) -> SosError:
    return SosError(Diagnostic(span, f"the YAML is nested too deeply (more than {MAX_DEPTH} levels)", "yaml-depth",
                               fix="flatten it; a blueprint needs a few levels"))


def _read_text(path: Path, name: str) -> str:
    """A regular file's UTF-8 text, refusing folders, devices, pipes and files over MAX_FILE_BYTES."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SosError(Diagnostic(None, f"{name}: is a directory, not a YAML file", "file-unreadable"))
        if not stat.S_ISREG(info.st_mode):
            raise SosError(Diagnostic(None, f"{name}: is not a regular file (a device, pipe or socket)",
                                      "file-unreadable"))
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SosError(Diagnostic(None, f"{name}: no such file", "file-missing")) from None
    except OSError as exc:
        raise SosError(Diagnostic(None, f"{name}: cannot read: {exc.strerror}", "file-unreadable")) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SosError(Diagnostic(None, f"{name}: is larger than {MAX_FILE_BYTES // 1_000_000} MB, too large for "
                                  "a YAML file sos reads", "file-too-large", fix="split it with `extends`"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SosError(Diagnostic(Span(name, line, col), "the file is not UTF-8 text", "not-utf8", quote=False,
                                  fix="save it as UTF-8")) from None
    return text[1:] if text.startswith("\ufeff") else text


def load_file(path: Path, display: str | None = None) -> Node:
    """Read and parse a YAML file; every failure is one clear SosError."""
    name = display or str(path)
    return load_text(_read_text(path, name), name)
