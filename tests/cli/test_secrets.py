"""A blueprint from a pull request cannot make sos print another file, nor a credential from the environment.

`extends` and sos.yaml's `blueprint:` are pointed at /proc/self/environ (which holds the process's
environment, a fake Salesforce password included) and at symlinks out of the project. /proc/self/environ
is the environment the process was started with, so the commands run in one child process started with
the fake secret, each through click's CliRunner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli

SECRET = "fake-sf-password-5d1c9a"
ENVIRON = "/proc/self/environ"
COMMANDS = (["validate"], ["show"], ["plan"], ["apply", "--auto-approve"], ["build", "-t", "crm", "-o", "package"])
PROJECT = ("sos: 1\nblueprint: {blueprint}\ntargets:\n  sandbox: {{type: local}}\n"
           "  crm: {{type: salesforce, org: acme}}\ndefault_target: sandbox\n")
BLUEPRINT = "sos: 1\nname: acme\nextends: [{parent}]\n"
OUTSIDE_MESSAGE = ("blueprint.yaml:3:11: error: extends '{parent}', which is outside the project folder "
                   "[extends-outside]")

# Each command runs in its project folder in this child process; results come back as JSON.
PROBE = """\
import json, os, sys
from click.testing import CliRunner
from sos.cli import cli
results = []
for folder, args in json.loads(sys.argv[1]):
    os.chdir(folder)
    result = CliRunner().invoke(cli, args)
    results.append({"exit": result.exit_code, "output": result.output})
print(json.dumps(results))
"""

def project(root: Path, name: str, *, blueprint: str = "blueprint.yaml", parent: str = "") -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "sos.yaml").write_text(PROJECT.format(blueprint=blueprint), encoding="utf-8")
    if parent:
        (folder / "blueprint.yaml").write_text(BLUEPRINT.format(parent=parent), encoding="utf-8")
    return folder


def run_with_secret(runs: list[tuple[Path, list[str]]]) -> list[dict[str, object]]:
    env = {**os.environ, "SF_PASSWORD": SECRET, "NO_COLOR": "1"}
    child = subprocess.run([sys.executable, "-c", PROBE, json.dumps([(str(f), a) for f, a in runs])],
                           capture_output=True, text=True, env=env, timeout=120)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


def test_no_command_prints_the_environment_or_a_file_outside_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.yaml").write_text(f"sos: 1\nname: x\npassword: {SECRET}-in-a-file\n", encoding="utf-8")
    climb = os.path.relpath(ENVIRON, tmp_path / "climb")
    cases = {  # project → the located error every command must give
        project(tmp_path, "climb", parent=climb): OUTSIDE_MESSAGE.format(parent=climb),
        project(tmp_path, "absolute", blueprint=ENVIRON):
            f"sos.yaml:2:12: error: blueprint '{ENVIRON}' is outside the project folder [blueprint-outside]",
    }
    linked = project(tmp_path, "linked", parent="environ.yaml")
    (linked / "environ.yaml").symlink_to(ENVIRON)
    linked_file = project(tmp_path, "linked-file", parent="shared.yaml")
    (linked_file / "shared.yaml").symlink_to(outside / "creds.yaml")
    linked_blueprint = project(tmp_path, "linked-blueprint", blueprint="main.yaml")
    (linked_blueprint / "main.yaml").symlink_to(ENVIRON)
    validate_only = {
        linked: OUTSIDE_MESSAGE.format(parent="environ.yaml"),
        linked_file: OUTSIDE_MESSAGE.format(parent="shared.yaml"),
        project(tmp_path, "climb-to-file", parent="../outside/creds.yaml"):
            OUTSIDE_MESSAGE.format(parent="../outside/creds.yaml"),
        linked_blueprint: "sos.yaml:2:12: error: blueprint 'main.yaml' is outside the project folder "
                          "[blueprint-outside]",
    }
    runs = [(folder, args) for folder in cases for args in COMMANDS]
    runs += [(folder, ["validate"]) for folder in validate_only]
    expected = [cases[folder] for folder in cases for _ in COMMANDS] + list(validate_only.values())
    for (folder, args), result, headline in zip(runs, run_with_secret(runs), expected, strict=True):
        where = f"{folder.name}: sos {' '.join(args)}"
        assert SECRET not in result["output"], where
        assert "SF_PASSWORD" not in result["output"], where
        assert result["exit"] == 1, where
        assert result["output"].splitlines()[0] == headline, where


def test_a_project_file_or_blueprint_linked_out_of_the_folder_is_never_read(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A pull request can commit sos.yaml, or blueprint.yaml without a sos.yaml, as a link to any file of the
    CI machine."""
    (tmp_path / "creds.yaml").write_text("sos: 1\ntoken: s3cr3t-of-another-client\n", encoding="utf-8")
    folder = tmp_path / "acme"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("NO_COLOR", "1")
    for name, code, commands in (("sos.yaml", "project-outside", (["validate"], ["targets"], ["plan"])),
                                 ("blueprint.yaml", "blueprint-outside", (["validate"], ["show"]))):
        for target in (tmp_path / "creds.yaml", Path("/etc/passwd")):
            for old in folder.iterdir():
                old.unlink()
            (folder / name).symlink_to(target)
            for args in commands:
                result = CliRunner().invoke(cli, args)
                assert result.exit_code == 1, args
                assert result.stderr.splitlines()[:3] == [
                    f"{name}:1:1: error: {name} is a link to a file outside the project folder [{code}]",
                    "  why: sos reads only the files of its client repository, so that no pull request can make it "
                    "print another file",
                    f"  fix: make {name} a regular file"], args
                assert "s3cr3t" not in result.output and "root:" not in result.output, args


def test_diagnostics_hide_the_values_of_credential_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("ACME_API_TOKEN", SECRET)
    (tmp_path / "b.yaml").write_text(f"sos: 1\nname: acme\npassword: {SECRET}\n", encoding="utf-8")
    text = CliRunner().invoke(cli, ["validate", "b.yaml"])
    assert text.exit_code == 1
    assert text.stderr.splitlines()[:2] == ["b.yaml:3:1: error: unknown key 'password' in the top level [unknown-key]",
                                            "  3 | password: [redacted]"]
    (tmp_path / "b.yaml").write_text(f"sos: 1\nname: acme\nfields:\n  lead:\n    x: {{type: {SECRET}}}\n",
                                     encoding="utf-8")
    as_json = CliRunner().invoke(cli, ["validate", "b.yaml", "--format", "json"])
    assert as_json.exit_code == 1
    [problem] = json.loads(as_json.stdout)["diagnostics"]
    assert problem["message"] == "fields.lead.x.type: '[redacted]' is not allowed here"
    assert SECRET not in as_json.stdout


def test_a_file_that_is_not_a_blueprint_is_never_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "b.yaml").write_text("sos: 1\nname: acme\nextends: [notes.yaml, list.yaml]\n", encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("db password = s3cr3t: {\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- s3cr3t-too\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "b.yaml"])
    assert result.exit_code == 1
    assert "s3cr3t" not in result.stderr
    assert [line for line in result.stderr.splitlines() if ": error:" in line] == [
        "list.yaml:1:1: error: the top level must be a map of keys [wrong-type]",
        "notes.yaml:2:1: error: invalid YAML: expected the node content, but found '<stream end>' [yaml-syntax]",
    ]
