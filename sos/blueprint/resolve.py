"""extends / starter: / remove: → one merged tree → a typed Blueprint.

Merging happens on Node trees, so every attribute keeps the span of the file
that last set it, and every item's origin is the place that last touched it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable, Sequence

from sos.blueprint.schema import merged_problems, validate_node
from sos.blueprint.vars import Substitution
from sos.blueprint.yaml import Node, load_file
from sos.errors import Diagnostic, Diagnostics, SosError, Span, did_you_mean
from sos.resources import starter_folders, starter_names, starter_path

STARTER_PREFIX = "starter:"
KEYED_MAPS = ("pipelines", "rules", "cadences", "handoffs")
KEYED_LISTS = ("lead_statuses", "routing")


@dataclass
class Source:
    """A blueprint file: where it is and how messages name it."""

    path: Path
    display: str


def display_path(path: Path) -> str:
    """`path` as messages show it: relative to the working directory when that is short."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path.resolve()) if relative.startswith(os.path.join("..", "..")) else relative


def source_for(reference: str, base_dir: Path) -> Source | None:
    """The Source an `extends` entry names, or None for an unknown starter."""
    if reference.startswith(STARTER_PREFIX):
        name = reference[len(STARTER_PREFIX):]
        found = starter_path(name)
        return Source(Path(os.path.realpath(found)), f"{STARTER_PREFIX}{name}") if found else None
    path = Path(os.path.realpath(base_dir / reference))  # realpath: Path.resolve raises on a symlink loop
    return Source(path, display_path(path))


def reach_problem(path: Path, folders: Sequence[Path]) -> tuple[str, str, str] | None:
    """Why a blueprint may not read `path` (already resolved): (what, code suffix, fix), or None.

    Blueprints come from pull requests and messages quote them: reading only YAML files of the
    client repository (and the folders sos.yaml opts into) keeps other files out of CI logs.
    """
    if not any(path.is_relative_to(folder) for folder in folders):
        return ("is outside the project folder", "outside", "move the file into the project, or list its folder "
                "under `blueprint_folders` in sos.yaml")
    if path.suffix not in (".yaml", ".yml"):
        return "is not a YAML file (.yaml or .yml)", "not-yaml", "name a blueprint file"
    return None


def readable_folders(folders: Sequence[Path]) -> tuple[Path, ...]:
    """`folders` resolved, with the starters' folders: what blueprints may read."""
    return tuple(Path(os.path.realpath(folder)) for folder in (*folders, *starter_folders()))


@dataclass
class Merged:
    """What a blueprint and its ancestors add up to, still as Nodes."""

    top: dict[str, Node] = field(default_factory=dict)  # name, description, sos
    fields: dict[str, dict[str, Node]] = field(default_factory=dict)
    maps: dict[str, dict[str, Node]] = field(default_factory=lambda: {k: {} for k in KEYED_MAPS})
    lists: dict[str, list[Node]] = field(default_factory=lambda: {k: [] for k in KEYED_LISTS})
    origin: Span | None = None
    files: list[str] = field(default_factory=list)
    starters: dict[str, str] = field(default_factory=dict)      # digest of each starter it extends, by reference
    vars: dict[str, Node] = field(default_factory=dict)         # declarations, by name
    var_values: dict[str, Node] = field(default_factory=dict)   # values set for declared variables


class Resolver:
    def __init__(self, folders: Sequence[Path]) -> None:
        self.diagnostics = Diagnostics()
        self.folders = readable_folders(folders)

    def resolve(self, source: Source, chain: tuple[Path, ...] = (), at: Span | None = None) -> Merged | None:
        """Load `source`, merge its parents in order, then apply its own content.

        `at`: the `extends` entry naming `source`, where a file that cannot be read is reported
        (the blueprint itself: at its line 1, if it is there at all).
        """
        try:
            root = _load(source)
        except SosError as exc:
            first_line = None if exc.diagnostics[0].code == "file-missing" else Span(source.display, 1, 1)
            self.diagnostics.extend(replace(d, span=d.span or at or first_line) for d in exc.diagnostics)
            return None
        layered = bool(chain) or (root.is_map and root.get("extends") is not None)  # a parent, or a child
        problems = _validated(source, root, layered)
        if not root.is_map:  # not a blueprint: none of its lines is shown
            problems = [replace(problem, quote=False) for problem in problems]
        self.diagnostics.extend(problems)
        if problems or not root.is_map:
            return None
        merged = Merged(origin=root.span)
        if source.display.startswith(STARTER_PREFIX):
            merged.starters[source.display] = file_digest(source.path)
        chain = chain + (Path(os.path.realpath(source.path)),)
        for ref_node in _as_list(root.get("extends")):
            parent = self._parent(ref_node, source, chain)
            if parent is not None:
                _merge_into(merged, parent, self.diagnostics)
        merged.files.insert(0, source.display)
        if (remove := root.get("remove")) is not None:
            self._remove(merged, remove)
        _merge_into(merged, _own(root), self.diagnostics)
        return merged

    def _parent(self, ref_node: Node, child: Source, chain: tuple[Path, ...]) -> Merged | None:
        reference = str(ref_node.value)
        parent = source_for(reference, child.path.parent)
        if parent is None:
            name = reference[len(STARTER_PREFIX):]
            self.diagnostics.error(ref_node.span, f"unknown starter '{name}'", "unknown-starter",
                                   fix=did_you_mean(name, starter_names())
                                   or "run `sos starters` to list them")
            return None
        if problem := reach_problem(parent.path, self.folders):
            what, code, fix = problem
            self.diagnostics.error(ref_node.span, f"extends '{reference}', which {what}", f"extends-{code}",
                                   why="a blueprint reads only the YAML files of its client repository and the "
                                   "starters, so that no pull request can make sos print another file", fix=fix)
            return None
        if parent.path in chain:
            names = [display_path(p) for p in chain] + [parent.display]
            self.diagnostics.error(ref_node.span, f"extends cycle: {' → '.join(names)}", "extends-cycle",
                                   fix="remove one of these `extends` entries")
            return None
        if not _exists(parent.path):
            self.diagnostics.error(ref_node.span, f"extends '{reference}', which does not exist", "extends-missing",
                                   fix="paths are relative to the file that extends them")
            return None
        return self.resolve(parent, chain, ref_node.span)

    def _remove(self, merged: Merged, remove: Node) -> None:
        for section, spec in remove.items():
            if section == "fields":
                for obj, keys in spec.items():
                    self._drop(merged.fields.get(obj, {}), keys, f"field {obj}.")
            elif section == "stages":
                for pipeline_key, keys in spec.items():
                    pipeline = merged.maps["pipelines"].get(pipeline_key)
                    stages_node = pipeline.get("stages") if pipeline is not None else None
                    stages = {s["key"].value: s for s in stages_node.value} if stages_node else {}
                    self._drop(stages, keys, f"stage {pipeline_key}.")
                    if pipeline is not None and stages_node is not None:
                        pipeline.value["stages"] = Node(list(stages.values()), stages_node.span)
            elif section in KEYED_MAPS:
                self._drop(merged.maps[section], spec, f"{section[:-1]} ")
            else:
                items = {n["key"].value: n for n in merged.lists[section]}
                self._drop(items, spec, "lead status " if section == "lead_statuses" else "route ")
                merged.lists[section] = list(items.values())

    def _drop(self, items: dict[str, Node], keys: Node, what: str) -> None:
        for key_node in keys.value:
            if items.pop(key_node.value, None) is None:
                self.diagnostics.error(key_node.span, f"cannot remove {what}{key_node.value}: no parent blueprint "
                                       "defines it", "remove-unknown",
                                       fix=did_you_mean(str(key_node.value), items) or "check the name with `sos show`")


# Kept per run for starters, which `sos status` resolves once for each client extending them: their trees
# (resolving builds new nodes and never changes a tree it read) and their schema problems.
_STARTER_TREES: dict[tuple[str, int, int], Node] = {}
_STARTER_PROBLEMS: dict[tuple[str, int, int, bool], list[Diagnostic]] = {}


def _starter_stamp(source: Source) -> tuple[str, int, int] | None:
    """A starter's path, modification time and size, so that an edited starter is read again; None for any other
    file, or one that cannot be read (loading it says why)."""
    if not source.display.startswith(STARTER_PREFIX):
        return None
    try:
        info = source.path.stat()
    except OSError:
        return None
    return str(source.path), info.st_mtime_ns, info.st_size


def _load(source: Source) -> Node:
    stamp = _starter_stamp(source)
    if stamp is None:
        return load_file(source.path, source.display)
    if stamp not in _STARTER_TREES:
        _STARTER_TREES[stamp] = load_file(source.path, source.display)
    return _STARTER_TREES[stamp]


def _validated(source: Source, root: Node, layered: bool) -> list[Diagnostic]:
    stamp = _starter_stamp(source)
    if stamp is None:
        return validate_node(root, "blueprint", partial=layered)
    key = (*stamp, layered)
    if key not in _STARTER_PROBLEMS:
        _STARTER_PROBLEMS[key] = validate_node(root, "blueprint", partial=layered)
    return list(_STARTER_PROBLEMS[key])


def file_digest(path: Path) -> str:
    """What a lock file records of a starter: the digest of its bytes."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _exists(path: Path) -> bool:
    """False only when nothing is there; a name too long or a symlink loop is for `load_file` to report."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:
        pass
    return True


def _as_list(node: Node | None) -> list[Node]:
    if node is None:
        return []
    return node.value if node.is_list else [node]


def _own(root: Node) -> Merged:
    own = Merged(origin=root.span)
    for key, node in root.items():
        if key == "fields":
            own.fields = {obj: _by_key(items) for obj, items in node.items()}
        elif key in KEYED_MAPS:
            own.maps[key] = _by_key(node)
        elif key in KEYED_LISTS:
            own.lists[key] = list(node.value)
        elif key == "vars":
            for name, item in node.items():
                (own.vars if item.is_map else own.var_values)[name] = item
        elif key not in ("extends", "remove"):
            own.top[key] = node
    return own


def _by_key(items: Node) -> dict[str, Node]:
    """A map's items, each taking its key's span as its own: an item's origin is the line naming it."""
    return {key: Node(item.value, items.key_span(key), item.style, item.source, item.key_spans)
            for key, item in items.items()}


def _merge_into(base: Merged, layer: Merged, diagnostics: Diagnostics) -> None:
    """Lay `layer` over `base`, the way a child blueprint lays over its parents."""
    base.top.update(layer.top)
    base.starters.update(layer.starters)
    for name, declaration in layer.vars.items():     # a child may change a default and keep the type
        base.vars[name] = _merge_item(base.vars.get(name), declaration)
    base.var_values.update(layer.var_values)
    base.origin = layer.origin
    for file in layer.files:
        if file not in base.files:
            base.files.append(file)
    for obj, items in layer.fields.items():
        into = base.fields.setdefault(obj, {})
        for key, item in items.items():
            into[key] = _merge_item(into.get(key), item, replace_on="type")
    for section, items in layer.maps.items():
        into = base.maps[section]
        for key, item in items.items():
            into[key] = _merge_item(into.get(key), item, diagnostics=diagnostics)
    for section, listed in layer.lists.items():
        base.lists[section] = _merge_keyed(base.lists[section], listed, _DEFAULT_PLACES[section], diagnostics)


def _merge_item(parent: Node | None, child: Node, *, replace_on: str = "",
                diagnostics: Diagnostics | None = None) -> Node:
    """Override `parent` attribute by attribute; a changed `replace_on` attribute replaces it whole."""
    if parent is not None and replace_on and (mine := child.get(replace_on)) is not None \
            and (theirs := parent.get(replace_on)) is not None and mine.value != theirs.value:
        parent = None
    values = dict(parent.value) if parent else {}
    key_spans = dict(parent.key_spans) if parent else {}
    if child.get("trigger") is not None or child.get("schedule") is not None:  # a cadence may change its kind
        values.pop("trigger", None)
        values.pop("schedule" if child.get("schedule") is None else "", None)
    for key, value in child.items():
        if key == "stages" and diagnostics is not None:
            inherited = values[key].value if key in values else []
            value = Node(_merge_keyed(inherited, value.value, _open_stage_place, diagnostics), value.span)
        elif key == "schedule" and key in values and values[key].is_map and value.is_map:
            value = _merge_item(values[key], value)    # a schedule's time zone alone keeps its day and time
        values[key] = value
        key_spans[key] = child.key_span(key)
    return Node(values, child.span, key_spans=key_spans)


Placement = Callable[[list[Node], Node], int]


def _open_stage_place(items: list[Node], new: Node) -> int:
    """A new open stage goes before the first won or lost stage."""
    outcome = new.get("outcome")
    if outcome is None or outcome.value == "open":
        for index, item in enumerate(items):
            if (outcome := item.get("outcome")) is not None and outcome.value != "open":
                return index
    return len(items)


def _route_place(items: list[Node], new: Node) -> int:
    """A new conditional route goes before the first catch-all route."""
    if new.get("when") is not None:
        for index, item in enumerate(items):
            if item.get("when") is None:
                return index
    return len(items)


def _append(items: list[Node], new: Node) -> int:
    return len(items)


_DEFAULT_PLACES: dict[str, Placement] = {"lead_statuses": _append, "routing": _route_place}


def _merge_keyed(parents: list[Node], children: list[Node], default_place: Placement,
                 diagnostics: Diagnostics) -> list[Node]:
    """Merge a keyed list (stages, statuses, routes) by `key`, honouring before/after."""
    merged = list(parents)
    inherited = bool(parents)
    own: dict[str, Node] = {}
    for child in children:
        key = child["key"].value
        if key in own:
            diagnostics.error(child["key"].span,
                              f"duplicate key '{key}' (first at line {own[key].span.line})", "duplicate-key",
                              fix="each item in this list needs its own key")
            continue
        own[key] = child
        keys = [n["key"].value for n in merged]
        if key in keys:  # an inherited item: merged in place, or moved by before/after
            index = keys.index(key)
            _warn_dropped_requirements(merged[index], child, diagnostics)
            item = _merge_item(merged.pop(index), child)
            moved_to = _placement(child, keys[:index] + keys[index + 1:], diagnostics)
            merged.insert(index if moved_to is None else moved_to, item)
            continue
        placed = _placement(child, keys, diagnostics)
        if placed is None:
            placed = default_place(merged, child) if inherited else len(merged)
        merged.insert(placed, child)
    return [_with_additions(item) for item in merged]


# A stage's lists a child may add to without restating them: `also_require: [x]` adds x to `require`.
ADDITIONS = {"also_require": "require", "also_require_to_leave": "require_to_leave"}


def _with_additions(item: Node) -> Node:
    """`item` with each `also_<list>` folded into its list (the inherited one, or the item's own)."""
    if not item.is_map or not any(name in item.value for name in ADDITIONS):
        return item
    values, key_spans = dict(item.value), dict(item.key_spans)
    for addition, listed in ADDITIONS.items():
        added = values.pop(addition, None)
        if added is None:
            continue
        key_spans.pop(addition, None)
        base = values.get(listed)
        items = list(base.value) if base is not None and base.is_list else []
        known = {n.value for n in items}
        items += [n for n in added.value if n.value not in known]
        values[listed] = Node(items, base.span if base is not None else added.span)
        key_spans.setdefault(listed, item.key_span(addition))
    return Node(values, item.span, key_spans=key_spans)


def _warn_dropped_requirements(parent: Node, child: Node, diagnostics: Diagnostics) -> None:
    """A stage that restates `require` (or `require_to_leave`) replaces the inherited list: say which inherited
    fields that drops, unless the new list is empty (the documented way to clear it)."""
    for listed in ADDITIONS.values():
        mine, theirs = child.get(listed), parent.get(listed)
        if mine is None or theirs is None or not mine.is_list or not theirs.is_list or not mine.value:
            continue
        kept = {n.value for n in mine.value}
        dropped = [str(n.value) for n in theirs.value if n.value not in kept]
        if dropped:
            diagnostics.warning(mine.span, f"stage '{child['key'].value}' replaces the inherited `{listed}` and "
                                f"drops {', '.join(dropped)}", "require-dropped",
                                fix=f"add them to this list, or write `also_{listed}: [...]` to add fields to the "
                                    "inherited list instead of replacing it")


def _placement(item: Node, keys: list[str], diagnostics: Diagnostics) -> int | None:
    for word, shift in (("before", 0), ("after", 1)):
        anchor = item.get(word)
        if anchor is None:
            continue
        if anchor.value in keys:
            return keys.index(anchor.value) + shift
        diagnostics.error(anchor.span, f"{word}: '{anchor.value}' names no item before it", "unknown-anchor",
                          fix=did_you_mean(str(anchor.value), keys) or f"one of: {', '.join(keys)}")
    return None


def resolve_file(path: Path, folders: Sequence[Path] = ()) -> tuple[Merged | None, Diagnostics]:
    """Resolve the blueprint at `path`; all problems found are in the Diagnostics.

    `folders`: where files it extends may be (see `reach_problem`); by default the blueprint's own folder.
    """
    resolver = Resolver(folders or (path.parent,))
    merged = resolver.resolve(Source(path, display_path(path)))
    if merged is None or resolver.diagnostics.has_errors():
        return merged, resolver.diagnostics
    used = _substitute(merged, resolver.diagnostics)
    if (len(merged.files) > 1 or used) and not resolver.diagnostics.has_errors():
        resolver.diagnostics.extend(merged_problems(merged_node(merged)))
    return merged, resolver.diagnostics


def _substitute(merged: Merged, diagnostics: Diagnostics) -> bool:
    """Put the value of each variable where `${name}` uses it; whether any was used."""
    substitution = Substitution(merged.vars, merged.var_values, diagnostics)
    merged.top = {key: substitution.node(node, key) for key, node in merged.top.items()}
    merged.fields = {obj: {key: substitution.node(node) for key, node in items.items()}
                     for obj, items in merged.fields.items()}
    merged.maps = {section: {key: substitution.node(node) for key, node in items.items()}
                   for section, items in merged.maps.items()}
    merged.lists = {section: [substitution.node(node) for node in items] for section, items in merged.lists.items()}
    return substitution.used


def merged_node(merged: Merged) -> Node:
    """The merged blueprint as one Node tree, each item keeping the span of the file that set it."""
    origin = merged.origin or Span("?", 1, 1)

    def node(value: object) -> Node:
        return Node(value, origin)

    sections: dict[str, object] = {
        "fields": {obj: node(items) for obj, items in merged.fields.items() if items},
        **merged.maps, **merged.lists,
    }
    values = dict(merged.top)
    values.update({section: node(items) for section, items in sections.items() if items})
    return node(values)


