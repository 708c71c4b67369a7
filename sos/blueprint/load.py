"""Load a blueprint: read, validate, resolve, build and check it."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

from sos.blueprint.build import build_blueprint
from sos.blueprint.checks import run_checks
from sos.blueprint.resolve import resolve_file
from sos.blueprint.types import Blueprint
from sos.errors import Diagnostic


def load_blueprint(path: Path, folders: Sequence[Path] = ()) -> tuple[Blueprint | None, list[Diagnostic]]:
    """Load, validate and resolve a blueprint: the Blueprint (None if it has errors) and every problem found.

    `folders`: where files it extends may be: the project's (`Project.blueprint_folders`); by default its own.

    Problems in one stage (reading, schema, resolving) stop before the next, so that
    a missing starter does not also report every field the starter would have defined.
    """
    merged, diagnostics = resolve_file(path, folders)
    if merged is None or diagnostics.has_errors():
        return None, diagnostics.sorted()
    blueprint = build_blueprint(merged, diagnostics)  # a rule whose expression does not parse is left out
    run_checks(blueprint, diagnostics)
    return (None if diagnostics.has_errors() else blueprint), diagnostics.sorted()
