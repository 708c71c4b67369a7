"""The style holds by itself: ruff and mypy, configured in pyproject.toml, find nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [
    pytest.param(["ruff", "check", "--no-cache", "."], id="ruff"),
    pytest.param(["mypy"], id="mypy"),   # sos and bench, as [tool.mypy] says; its cache keeps a rerun quick
])
def test_the_linter_finds_nothing(command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} found problems:\n{result.stdout}{result.stderr}"
