"""Fixtures shared by the command tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A client repository made by `sos init` from smb-bant; the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(cli, ["init", "beta", "--starter", "smb-bant", "--name", "beta"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    root = tmp_path / "beta"
    monkeypatch.chdir(root)
    return root
