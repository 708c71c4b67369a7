"""`renamed_from:` on fields, stages, lead statuses and rules: which keys a blueprint renames, checked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sos.blueprint.types import Blueprint
from sos.blueprint.yaml import Node
from sos.errors import Diagnostics, Span


class Renamable(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def renamed_from(self) -> str | None: ...
    @property
    def origin(self) -> Span: ...
    @property
    def node(self) -> Node | None: ...


def renamable_groups(bp: Blueprint) -> Iterator[tuple[str, Sequence[Renamable]]]:
    """Each set of items whose keys are one namespace (a rename stays inside it), with what to call one of them."""
    for obj, fields in bp.fields.items():
        yield f"{obj} field", list(fields.values())
    for pipeline in bp.pipelines.values():
        yield f"stage of pipeline {pipeline.key}", pipeline.stages
    yield "lead status", bp.lead_statuses
    yield "rule", list(bp.rules.values())


def renamed_from_span(item: Renamable) -> Span:
    value = item.node.get("renamed_from") if item.node is not None else None
    return value.span if value is not None else item.origin


def check_renames(bp: Blueprint, diags: Diagnostics) -> None:
    """A rename names a key the blueprint no longer has, renamed once, and straight from it (no chain)."""
    for noun, items in renamable_groups(bp):
        by_key = {item.key: item for item in items}
        renamed: dict[str, Renamable] = {}
        for item in items:
            old = item.renamed_from
            if old is None:
                continue
            span = renamed_from_span(item)
            earlier = by_key.get(old)
            if old == item.key:
                diags.error(span, f"{noun} {item.key} is renamed from itself", "rename-exists",
                            fix="remove `renamed_from`, or name the key it had before")
            elif earlier is not None and earlier.renamed_from is not None:
                diags.error(span, f"{noun} {item.key} is renamed from {old}, which is itself renamed from "
                                  f"{earlier.renamed_from}", "rename-chain",
                            why="a target holds only one of the old keys; a chain of renames is ambiguous",
                            fix=f"rename {item.key} straight from the key the CRM has (`renamed_from: "
                                f"{earlier.renamed_from}`) and remove {old}")
            elif earlier is not None:
                diags.error(span, f"{noun} {item.key} is renamed from {old}, which the blueprint still has "
                                  f"(line {earlier.origin.line})", "rename-exists",
                            why="a rename moves the old key's data to the new one; both cannot exist",
                            fix=f"remove {old} (or `remove: [{old}]` when a starter has it), or drop `renamed_from`")
            if old in renamed:
                diags.error(span, f"{noun} {item.key} is renamed from {old}, as {renamed[old].key} already is",
                            "rename-twice", why="one key's data can move to one new key only",
                            fix=f"keep `renamed_from: {old}` on one of them")
            renamed.setdefault(old, item)
