"""A new user's first session, as docs/pipedrive.md tells it: the emulator started on its own, its printed lines
put in sos.yaml and the environment, then the installed `sos` (init, plan, apply, plan) for every starter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends.pipedrive.conftest import REPO, STARTERS

SOS = str(Path(sys.executable).with_name("sos"))


@pytest.mark.parametrize("starter", STARTERS)
def test_a_new_user_cycles_every_starter_from_the_printed_lines(tmp_path: Path, starter: str) -> None:
    emulator = subprocess.Popen([sys.executable, "-m", "tests.emulators.pipedrive", "--port", "0", "--burst-limit",
                                 "1000"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        printed = dict(emulator.stdout.readline().rstrip("\n").split(": ", 1) for _ in range(3))
        env = {**os.environ, "NO_COLOR": "1", "ACME_PIPEDRIVE_API_TOKEN": printed["api_token"]}

        def sos(*args: str) -> str:
            done = subprocess.run([SOS, *args], cwd=tmp_path / "client", env=env, capture_output=True, text=True,
                                  timeout=300, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            assert printed["api_token"] not in done.stdout + done.stderr
            return done.stdout + done.stderr

        subprocess.run([SOS, "init", "client", "--starter", starter], cwd=tmp_path, check=True, capture_output=True)
        config = tmp_path / "client" / "sos.yaml"
        config.write_text(config.read_text(encoding="utf-8").replace("targets:\n", (
            "targets:\n  pipedrive_prod:\n    type: pipedrive\n"
            f"    company_domain: {printed['company_domain']}\n    api_url: {printed['api_url']}\n"
            "    token_env: ACME_PIPEDRIVE_API_TOKEN\n"), 1), encoding="utf-8")
        assert "to add, 0 to change, 0 to delete." in sos("plan", "--target", "pipedrive_prod")
        assert "Apply complete: " in sos("apply", "--target", "pipedrive_prod", "--auto-approve")
        assert "No changes. The CRM matches the blueprint." in sos("plan", "--target", "pipedrive_prod")
    finally:
        emulator.terminate()
        emulator.wait(timeout=60)
