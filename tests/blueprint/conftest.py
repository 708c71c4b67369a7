"""Shared helpers for blueprint tests: write small blueprint files, load them, read the diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sos.blueprint.load import load_blueprint
from sos.blueprint.types import Blueprint
from sos.errors import Diagnostic


class Files:
    """A scratch folder (the working directory) holding blueprint files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def write_all(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            self.write(name, text)

    def load(self, name: str = "b.yaml") -> tuple[Blueprint | None, list[Diagnostic]]:
        return load_blueprint(Path(name))

    def headlines(self, name: str = "b.yaml") -> list[str]:
        return [d.headline() for d in self.load(name)[1]]

    def valid(self, name: str = "b.yaml") -> Blueprint:
        """The blueprint, asserting it loads with no diagnostics but a starter's placeholder team addresses."""
        blueprint, diagnostics = self.load(name)
        assert [d.headline() for d in diagnostics if d.code != "placeholder-domain"] == []
        assert blueprint is not None
        return blueprint


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    """Blueprint files in tmp_path, which is made the working directory so messages name them `b.yaml`."""
    monkeypatch.chdir(tmp_path)
    return Files(tmp_path)


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of `path` containing `text`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not found in {path}")
