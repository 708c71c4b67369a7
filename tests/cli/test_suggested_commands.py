"""Every command sos suggests is quoted for the shell (shlex.quote), so pasting it works whatever the names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cycle import SMB_RESOURCES, sandbox_addresses, sos


def run_in_shell(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """What a user gets by pasting `command` into bash in `folder`, with this sos on PATH."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PATH": path}, check=False)


def test_the_saved_plan_command_is_quoted_for_the_shell(project: Path) -> None:
    result = sos("plan", "-o", "plän 1.json")
    assert result.exit_code == 0
    suggestion = result.stderr.splitlines()[-1]
    assert suggestion == "Saved the plan to plän 1.json. Apply exactly it with: sos apply 'plän 1.json'"
    applied = run_in_shell(suggestion.split("with: ", 1)[1] + " --auto-approve", project)
    assert applied.returncode == 0, applied.stderr
    assert len(sandbox_addresses(project)) == SMB_RESOURCES


def test_a_not_a_plan_file_suggests_a_quoted_command(project: Path) -> None:
    (project / "my plan.json").write_text("{}", encoding="utf-8")
    result = sos("apply", "my plan.json", "--auto-approve")
    assert result.stderr == ("error: my plan.json: not a plan file (no format_version); make one with "
                             "`sos plan -o 'my plan.json'` [plan-format]\n")


def test_init_suggests_a_quoted_cd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = sos("init", "acme corp's", "--starter", "smb-bant", "--name", "acme")
    assert result.exit_code == 0, result.output
    next_step = result.stdout.splitlines()[-1]
    assert next_step == "Next: cd 'acme corp'\"'\"'s' && sos validate && sos show && sos test"
    pasted = run_in_shell(next_step.removeprefix("Next: "), tmp_path)
    assert pasted.returncode == 0, pasted.stderr
