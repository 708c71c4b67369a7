"""No credential ever reaches output, saved plans, history or crash logs: the whole cycle through the CLI.

Every command runs through click's CliRunner against the emulator, with faults injected on
the way; then every byte the commands printed or wrote is searched for every credential:
the access token, the password, security token and consumer secret in the environment, and
a session-shaped token an `sf` CLI echoes in an error.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from sos.backends.salesforce.names import field_api_name
from sos.cli import cli
from sos.model.resources import Address, Kind, Resource
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator

PASSWORD = "Pa55-word-never-shown"
SECURITY_TOKEN = "SecTokenNeverShown42"
CONSUMER_SECRET = "consumer-secret-never-shown-7"
LEAKED = "00D000000000001!ThisIsAnEchoedSessionIdOfTheCli_xyz"   # what a noisy `sf` prints in its error


class Session:
    """The commands run so far and what they printed."""

    def __init__(self) -> None:
        self.results: list[tuple[list[str], Result]] = []

    def sos(self, *args: str, code: int | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args))
        self.results.append((list(args), result))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        if code is not None:
            assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result


def fake_sf(folder: Path) -> None:
    """An `sf` whose every answer is an error that echoes a session id (some CLIs do, in debug output)."""
    folder.mkdir(exist_ok=True)
    script = folder / "sf"
    answer = {"status": 1, "name": "AuthError", "exitCode": 1,
              "message": f"Error authenticating with the refresh token due to: expired access/refresh token {LEAKED}"}
    script.write_text(f"#!{sys.executable}\nimport sys\nprint({json.dumps(json.dumps(answer))})\nsys.exit(1)\n",
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_no_credential_anywhere(emulator: SalesforceEmulator, make_project: Callable[..., Project], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    root = project.root
    monkeypatch.chdir(root)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    for name, value in (("SF_PASSWORD", PASSWORD), ("SF_SECURITY_TOKEN", SECURITY_TOKEN),
                        ("SF_CONSUMER_SECRET", CONSUMER_SECRET)):
        monkeypatch.setenv(name, value)      # set, but the access token is the complete mode and wins
    fake_sf(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    (root / "sos.yaml").write_text((root / "sos.yaml").read_text(encoding="utf-8")
                                   + "  cli: {type: salesforce, org: acme-prod}\ndefault_target: prod\n",
                                   encoding="utf-8")
    run = Session()

    # The happy cycle.
    assert "daily API requests used" in run.sos("targets", code=1).stdout          # `cli` is unreachable
    run.sos("plan", "-o", "plan.json", code=0)
    run.sos("plan", "--validate", code=0)
    run.sos("apply", "plan.json", "--auto-approve", code=0)
    run.sos("plan", "--detailed-exitcode", code=0)
    run.sos("import", "-o", "imported.yaml", code=0)
    run.sos("history", code=0)

    # Faults on the way.
    extra = Resource(Address(Kind.FIELD, "opportunity", "partner"), {"type": "text"})
    (root / "blueprint.yaml").write_text(SMALL.replace("    budget:", "    partner: {type: text, length: 80}\n"
                                                       "    budget:"), encoding="utf-8")
    run.sos("plan", "-o", "plan2.json", code=0)
    emulator.faults.fail_component(f"Opportunity.{field_api_name(extra)}", "Field name is reserved")
    failed = run.sos("apply", "plan2.json", "--auto-approve", code=1)
    assert "Salesforce rejected field partner" in failed.stderr
    emulator.faults.expire_session(times=1)
    expired = run.sos("plan", code=1)
    assert "the Salesforce access token has expired or is not valid" in expired.stderr
    from_cli = run.sos("plan", "--target", "cli", code=1)
    assert "the sf CLI has no usable login for org 'acme-prod' (sf said: Error authenticating with the refresh " \
           "token due to: expired access/refresh token [redacted])" in from_cli.stderr
    emulator.invalidate_sessions()
    run.sos("apply", "plan2.json", "--auto-approve", code=1)
    run.sos("history", code=0)

    # Everything printed or written.
    texts = {f"{' '.join(args)} (stdout)": result.stdout for args, result in run.results}
    texts |= {f"{' '.join(args)} (stderr)": result.stderr for args, result in run.results}
    written = [*root.glob("*.json"), *root.glob("*.yaml"), *(root / ".sos").rglob("*"),
               *(tmp_path / "home").rglob("*")]
    texts |= {str(path): path.read_text(encoding="utf-8", errors="replace") for path in written if path.is_file()}
    assert (root / ".sos" / "history.jsonl").is_file()
    assert sum("outcome" in line for line in (root / ".sos" / "history.jsonl").read_text().splitlines()) == 3
    secrets = [emulator.access_token, PASSWORD, SECURITY_TOKEN, CONSUMER_SECRET, LEAKED, LEAKED.split("!")[1]]
    leaks = [(where, secret[:6]) for where, text in texts.items() for secret in secrets if secret in text]
    assert leaks == []
