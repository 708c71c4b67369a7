"""sos.yaml: the client repository's project file, found in the working directory or a parent."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping

from sos.blueprint.schema import validate_node
from sos.blueprint.resolve import display_path, reach_problem, readable_folders
from sos.blueprint.yaml import Node, load_file
from sos.errors import Diagnostic, SosError, Span, did_you_mean
from sos.target import Target

PROJECT_FILE = "sos.yaml"


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    blueprint_path: Path
    targets: Mapping[str, Target]
    default_target: str | None
    origin: Span | None = None
    state_dir: Path = field(default=Path(".sos"))
    blueprint_folders: tuple[Path, ...] = ()  # where blueprints may read files: the project and its opt-ins
    shared_history: bool = False   # `history: repository`: applies are recorded in history/, committed

    @property
    def history_dir(self) -> Path:
        """Where past applies are recorded: history/ in the repository, or the local state folder."""
        return self.root / "history" if self.shared_history else self.state_dir

    def target(self, name: str | None) -> Target:
        """The named target, or the default one; a clear error otherwise."""
        chosen = name or self.default_target
        if chosen is None:
            raise SosError(Diagnostic(self.origin, f"{PROJECT_FILE} names several targets and no default_target",
                                      "no-target", fix=f"pass --target ({', '.join(self.targets)}), or set "
                                      "default_target"))
        if chosen not in self.targets:
            hint = did_you_mean(chosen, self.targets) or f"targets in {PROJECT_FILE}: {', '.join(self.targets)}"
            raise SosError(Diagnostic(self.origin, f"unknown target '{chosen}'", "unknown-target", fix=hint))
        return self.targets[chosen]


def find_project_file(start: Path) -> Path | None:
    """sos.yaml in `start` or the nearest parent, like git finds .git."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def refuse_link_out(path: Path, code: str) -> None:
    """Refuse a file sos finds by its name (sos.yaml, blueprint.yaml) that is a link out of its folder: a pull
    request could commit one pointing at any file of the CI machine."""
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(path.parent)):
        raise SosError(Diagnostic(Span(display_path(path), 1, 1), f"{path.name} is a link to a file outside the "
                                  "project folder", code, quote=False,
                                  why="sos reads only the files of its client repository, so that no pull request "
                                      "can make it print another file", fix=f"make {path.name} a regular file"))


def load_project(path: Path) -> Project:
    """Read and validate a project file; raise SosError with every problem."""
    refuse_link_out(path, "project-outside")
    root = load_file(path, display_path(path))
    problems = validate_node(root, "project")
    if problems:
        raise SosError(sorted(problems, key=Diagnostic.sort_key))
    data = root.to_data()
    targets_node = root["targets"]
    targets = {
        name: Target(name, spec["type"], {k: v for k, v in spec.items() if k != "type"}, node.span)
        for (name, spec), (_, node) in zip(data["targets"].items(), targets_node.items(), strict=True)
    }
    default = data.get("default_target") or (next(iter(targets)) if len(targets) == 1 else None)
    if default is not None and default not in targets:
        span = root["default_target"].span if "default_target" in data else root.span
        raise SosError(Diagnostic(span, f"default_target '{default}' is not one of the targets", "unknown-target",
                                  fix=did_you_mean(default, targets) or f"targets: {', '.join(targets)}"))
    folder = path.parent.resolve()
    folders = (folder, *(folder / extra for extra in data.get("blueprint_folders", [])))
    blueprint_path = folder / data.get("blueprint", "blueprint.yaml")
    if (node := root.get("blueprint")) is not None:
        _check_blueprint_path(node, blueprint_path, folders)
    return Project(root=folder, blueprint_path=blueprint_path, targets=targets, default_target=default,
                   origin=root.span, state_dir=folder / ".sos", blueprint_folders=folders,
                   shared_history=data.get("history") == "repository")


def _check_blueprint_path(node: Node, path: Path, folders: tuple[Path, ...]) -> None:
    """`blueprint:` names a YAML file inside the project (or a `blueprint_folders` folder)."""
    if problem := reach_problem(Path(os.path.realpath(path)), readable_folders(folders)):
        what, code, fix = problem
        raise SosError(Diagnostic(node.span, f"blueprint '{node.value}' {what}", f"blueprint-{code}", fix=fix))
