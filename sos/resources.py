"""Where the schemas and starter blueprints live: in a checkout or an installed wheel."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from sos.errors import Diagnostic, SosError, Span

_PACKAGE = Path(__file__).parent
_CHECKOUT = _PACKAGE.parent


def _data_dir(installed: str, checkout: str) -> Path:
    wheel_dir = _PACKAGE / installed
    return wheel_dir if wheel_dir.is_dir() else _CHECKOUT / checkout


def schemas_dir() -> Path:
    return _data_dir("schemas", "schemas")


def starters_dir() -> Path:
    return _data_dir("starters", "blueprints")


# Keys every target may have, whatever its type (schemas/project.schema.json, Target).
COMMON_TARGET_KEYS = ("description", "allow_delete", "protected")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema by short name: 'blueprint', 'project' or 'plan'. The project's holds each backend's target
    options (sos/backends/<type>/options.schema.json), so sos.yaml is checked, and editors complete it, as one."""
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    if name == "project":
        for target_type, options in target_options().items():
            _add_target_type(schema["$defs"]["Target"], target_type, options)
    return schema


@cache
def target_options() -> dict[str, dict[str, Any]]:
    """Each backend's schema of its targets' options in sos.yaml, by target type."""
    return {path.parent.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((_PACKAGE / "backends").glob("*/options.schema.json"))}


def _add_target_type(target: dict[str, Any], name: str, options: dict[str, Any]) -> None:
    """Let a target have `type: <name>` and the keys of the backend's `options` schema, and no others."""
    properties = target["properties"]
    properties["type"]["enum"].append(name)
    properties.update(options["properties"])
    shown = {key: {"description": properties[key]["description"], "examples": properties[key]["examples"]}
             for key in ("type", *options["properties"], *COMMON_TARGET_KEYS)}
    shown["type"]["examples"] = [name]
    target["allOf"].append({"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                            "then": {"properties": shown, "additionalProperties": False}})
    target["examples"].extend(options.get("examples", ()))


STARTERS_PATH_ENV = "SOS_STARTERS_PATH"
PORTFOLIO_FILE = "sos-portfolio.yaml"


def starter_folders() -> list[Path]:
    """Where starters are found, first match winning: the folders in SOS_STARTERS_PATH (os.pathsep between
    them), those the nearest sos-portfolio.yaml lists under `starters:` (relative to it), then sos's own."""
    folders = [Path(part) for part in os.environ.get(STARTERS_PATH_ENV, "").split(os.pathsep) if part]
    for folder in folders:
        if not folder.is_dir():     # a typo would otherwise fall back, silently, to a starter of the same name
            raise SosError(Diagnostic(None, f"{STARTERS_PATH_ENV} names {folder}, which is not a folder",
                                      "starters-path", fix=f"correct {STARTERS_PATH_ENV} (folders separated by "
                                                           f"'{os.pathsep}'), or unset it"))
    here = Path.cwd()
    portfolio = next((folder / PORTFOLIO_FILE for folder in (here, *here.parents)
                      if (folder / PORTFOLIO_FILE).is_file()), None)
    if portfolio is not None:
        folders += _portfolio_folders(portfolio)
    return [Path(os.path.realpath(folder)) for folder in folders] + [starters_dir()]


def _portfolio_folders(portfolio: Path) -> list[Path]:
    """The starter folders a sos-portfolio.yaml lists; SosError at the line of what it cannot follow."""
    shown = os.path.relpath(portfolio)

    def at(mark: Any) -> Span:
        return Span(shown, mark.line + 1, mark.column + 1)

    try:
        root = yaml.compose(portfolio.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as error:
        raise SosError(Diagnostic(Span(shown, 1, 1), f"cannot read {PORTFOLIO_FILE}: {error}", "portfolio-file",
                                  quote=False)) from None
    except yaml.MarkedYAMLError as error:
        raise SosError(Diagnostic(at(error.problem_mark), f"invalid YAML: {error.problem}", "yaml-syntax")) from None
    listed = next((value for key, value in root.value if key.value == "starters"), None) \
        if isinstance(root, yaml.MappingNode) else None
    if not isinstance(listed, yaml.SequenceNode) or not all(isinstance(e, yaml.ScalarNode) for e in listed.value):
        node = listed or root
        raise SosError(Diagnostic(Span(shown, 1, 1) if node is None else at(node.start_mark),
                                  "`starters:` must list the folders of your starters", "portfolio-file",
                                  fix="starters: [library]   # folders beside sos-portfolio.yaml"))
    for entry in listed.value:
        if not (portfolio.parent / entry.value).is_dir():
            raise SosError(Diagnostic(at(entry.start_mark), f"no folder {entry.value} beside {PORTFOLIO_FILE}",
                                      "portfolio-file"))
    return [portfolio.parent / entry.value for entry in listed.value]


def starter_path(name: str) -> Path | None:
    """The file of starter `name` (`smb-bant`, or `smb-bant@2` for that version), or None."""
    return next((folder / f"{name}.yaml" for folder in starter_folders() if (folder / f"{name}.yaml").is_file()),
                None)


def starter_names() -> list[str]:
    """Every starter name, versions included (`agency@2`), once (the first folder's wins)."""
    return sorted({p.stem for folder in starter_folders() for p in folder.glob("*.yaml")})
