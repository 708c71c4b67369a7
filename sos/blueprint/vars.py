"""Blueprint variables: `vars:` declares a value once (a time zone, team addresses, a threshold) and `${name}`
uses it anywhere a value is written, so a client sets its own once and a starter stays generic.

A string that is exactly `${name}` becomes the variable's value with its type (a number, a list of addresses);
`${name}` inside a longer string is replaced by the value's text. Expressions (`when`, `require`) are left alone:
their columns must match the file for located errors, so a reference there is an error.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from sos.blueprint.yaml import Node
from sos.errors import Diagnostics, did_you_mean

REFERENCE = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
WHOLE_REFERENCE = re.compile(r"^\$\{([a-z][a-z0-9_]*)\}$")
NOT_A_REFERENCE = re.compile(r"\$\{(?![a-z][a-z0-9_]*\})[^}]*\}?")     # `${ name }`, `${Name}`, `${name`
EXPRESSION_KEYS = ("when", "require")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def type_problem(kind: str, value: Any) -> str | None:
    """Why `value` is not a `kind` variable's value, or None when it is."""
    if kind == "number":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "a number"
    if kind == "emails":
        ok = isinstance(value, list) and all(isinstance(v, str) and _EMAIL.match(v) for v in value)
        return None if ok else "a list of email addresses"
    if not isinstance(value, str):
        return "text"
    if kind == "email" and not _EMAIL.match(value):
        return "an email address"
    if kind == "timezone" and value not in _timezones():
        return "a time zone of the tz database (like Europe/Berlin or America/New_York)"
    return None


class Substitution:
    """The variables a resolved blueprint declares and sets, and their substitution into its values."""

    def __init__(self, declared: Mapping[str, Node], values: Mapping[str, Node], diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics
        self.used = False
        self.declared = set(declared)
        self.values: dict[str, Node] = {}   # the declared variables whose value is good
        for name, value in values.items():
            if name not in declared:
                diagnostics.error(value.span, f"no blueprint declares the variable '{name}'", "unknown-var",
                                  fix=did_you_mean(name, declared) or "declare it under `vars:` with its `type`")
        for name, declaration in declared.items():
            if declaration.get("type") is None:
                diagnostics.error(declaration.span, f"the variable '{name}' has no `type`", "missing-key",
                                  fix="add `type:` (text, number, email, emails or timezone)")
                continue
            kind = str(declaration["type"].value)
            chosen = values.get(name) or declaration.get("default")
            if chosen is None:
                about = declaration.get("description")
                diagnostics.error(declaration.span, f"the variable '{name}' has no value", "var-unset",
                                  why=str(about.value) if about is not None else "",
                                  fix=f"set it in the client's blueprint: `vars: {{{name}: ...}}`")
            elif (wanted := type_problem(kind, chosen.to_data())) is not None:
                diagnostics.error(chosen.span, f"the variable '{name}' must be {wanted}", "var-type")
            else:
                self.values[name] = chosen

    def node(self, node: Node, key: str = "") -> Node:
        """`node` with every reference in its values replaced (none in expressions: reported instead)."""
        if node.is_map:
            return replace(node, value={k: self.node(child, k) for k, child in node.items()})
        if node.is_list:
            return replace(node, value=[self.node(child) for child in node.value])
        if not isinstance(node.value, str) or "${" not in node.value:
            return node
        if key in EXPRESSION_KEYS:
            self.diagnostics.error(node.span, "variables are not substituted in expressions", "var-in-expression",
                                   fix="write the value itself in the expression")
            return node
        if (wrong := NOT_A_REFERENCE.search(node.value)) is not None:
            self.diagnostics.error(node.span, f"'{wrong.group()}' is not a variable: write `${{name}}`, the name in "
                                   "lowercase letters, digits and _", "var-syntax")
            return node
        self.used = True
        whole = WHOLE_REFERENCE.match(node.value)
        if whole:
            value = self._value(whole.group(1), node)
            if value is None:
                return node
            return replace(value, span=node.span, raw=node.raw, value=self._spread(value, node))
        text = REFERENCE.sub(lambda match: self._text(match.group(1), node), node.value)
        return replace(node, value=text, source=text)

    def _value(self, name: str, at: Node) -> Node | None:
        if name not in self.declared:
            self.diagnostics.error(at.span, f"unknown variable '{name}'", "unknown-var",
                                   fix=did_you_mean(name, self.declared) or "declare it under `vars:` with its `type`")
        return self.values.get(name)     # None also for a declared one without a good value: reported there

    def _spread(self, value: Node, at: Node) -> object:
        """A list value, its items placed where the reference is (errors in them point at the use)."""
        return [replace(item, span=at.span) for item in value.value] if value.is_list else value.value

    def _text(self, name: str, at: Node) -> str:
        value = self._value(name, at)
        if value is None:
            return "${" + name + "}"
        if value.is_list:
            self.diagnostics.error(at.span, f"the variable '{name}' is a list: use it alone, as `${{{name}}}`",
                                   "var-type")
            return "${" + name + "}"
        return str(value.value)
