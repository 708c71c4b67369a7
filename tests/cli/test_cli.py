"""The blueprint commands (validate, show, starters, init, schema) through click's CliRunner and the installed `sos`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from sos import __version__
from sos.blueprint.load import load_blueprint
from sos.cli import cli
from sos.resources import load_schema, starter_names, starters_dir

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "resolved"
SOS = Path(sys.executable).parent / "sos"  # the console script pip installed next to this interpreter

BROKEN = "sos: 1\nname: t\nfields:\n  lead:\n    a: {type: txt}\n"
BROKEN_HEADLINE = "b.yaml:5:15: error: fields.lead.a.type: 'txt' is not allowed here [bad-value]"
ONLY_A_WARNING = """\
sos: 1
name: t
routing:
  - {key: big, when: employees > 500, assign_to: {user: ae@acme.com}}
"""


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def starter_counts(name: str) -> str:
    """The summary `sos validate` should print for a starter, counted from its YAML directly."""
    data = yaml.safe_load((starters_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    fields = sum(len(items) for items in data.get("fields", {}).values())

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return ", ".join([n(fields, "field"), n(len(data.get("pipelines", {})), "pipeline"),
                      n(len(data.get("rules", {})), "rule"), n(len(data.get("cadences", {})), "cadence"),
                      n(len(data.get("routing", [])), "route")]) + "; 1 warning"   # its placeholder team


# --- validate ---

def test_validate_a_valid_project(workdir: Path) -> None:
    assert sos("init", "acme", "--starter", "smb-bant", "--name", "acme").exit_code == 0
    result = CliRunner().invoke(cli, ["validate", "acme"])
    assert result.exit_code == 0
    assert result.stdout == f"acme/blueprint.yaml is valid: {starter_counts('smb-bant')}\n"
    assert result.stderr.startswith("starter:smb-bant:") and "[placeholder-domain]" in result.stderr.splitlines()[0]


def test_validate_reports_errors_with_source_line_and_fix(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(BROKEN, encoding="utf-8")
    result = sos("validate", "b.yaml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{BROKEN_HEADLINE}\n"
        "  5 |     a: {type: txt}\n"
        "    |               ^^^\n"
        "  fix: did you mean 'text'?\n"
        "b.yaml: 1 error, 0 warnings\n"
    )


def test_validate_reports_every_problem(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(BROKEN + "    b: {type: text, lenght: 5}\nrules: []\n", encoding="utf-8")
    result = sos("validate", "b.yaml")
    assert result.exit_code == 1
    headlines = [line for line in result.stderr.splitlines() if line.startswith("b.yaml:") and ": error:" in line]
    assert headlines == [
        BROKEN_HEADLINE,
        "b.yaml:6:21: error: unknown key 'lenght' in fields.lead.b [unknown-key]",
        "b.yaml:7:8: error: rules must be a map of keys [wrong-type]",
    ]
    assert result.stderr.endswith("b.yaml: 3 errors, 0 warnings\n")


def test_validate_warnings_pass_unless_strict(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(ONLY_A_WARNING, encoding="utf-8")
    warning = "b.yaml:4:5: warning: no catch-all route: leads that match no route stay unassigned [no-catch-all]"
    relaxed = sos("validate", "b.yaml")
    assert relaxed.exit_code == 0
    assert relaxed.stderr.splitlines()[0] == warning
    assert relaxed.stdout == "b.yaml is valid: 0 fields, 0 pipelines, 0 rules, 0 cadences, 1 route; 1 warning\n"
    strict = sos("validate", "b.yaml", "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.splitlines()[0] == warning
    assert strict.stderr.splitlines()[-1] == "b.yaml: 0 errors, 1 warning (--strict: warnings fail)"
    assert strict.stdout == ""


def test_validate_shows_the_starter_line_of_a_problem_found_there(workdir: Path) -> None:
    (workdir / "b.yaml").write_text("sos: 1\nname: t\nextends: starter:smb-bant\npipelines:\n  new_business:\n"
                                    "    stages:\n      - {key: discovery_call, probability: 40}\n", encoding="utf-8")
    result = sos("validate", "b.yaml")
    assert result.exit_code == 0
    lines = (starters_dir() / "smb-bant.yaml").read_text(encoding="utf-8").splitlines()
    demo = next(n for n, line in enumerate(lines, 1) if "- key: demo" in line)
    number = next(n for n in range(demo, demo + 6) if lines[n - 1].strip() == "probability: 25")
    col = lines[number - 1].index("25") + 1
    assert result.stderr.splitlines()[:4] == [
        f"starter:smb-bant:{number}:{col}: warning: stage new_business.demo has probability 25, below the 40 of "
        "'discovery_call' before it [probability-order]",
        f"  {number} | {lines[number - 1]}",
        f"  {' ' * len(str(number))} | {' ' * (col - 1)}^^",
        "  why: win probability usually rises as a deal advances",
    ]


def test_validate_json(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(BROKEN, encoding="utf-8")
    result = sos("validate", "b.yaml", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "file": "b.yaml", "valid": False, "errors": 1, "warnings": 0,
        "diagnostics": [{"severity": "error", "code": "bad-value",
                         "message": "fields.lead.a.type: 'txt' is not allowed here",
                         "file": "b.yaml", "line": 5, "col": 15, "why": None, "fix": "did you mean 'text'?"}],
    }


def test_validate_json_strict_and_valid(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(ONLY_A_WARNING, encoding="utf-8")
    relaxed = json.loads(sos("validate", "b.yaml", "--format", "json").stdout)
    assert (relaxed["valid"], relaxed["errors"], relaxed["warnings"]) == (True, 0, 1)
    strict = sos("validate", "b.yaml", "--format", "json", "--strict")
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["valid"] is False


def test_validate_without_a_project(workdir: Path) -> None:
    result = sos("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: no sos.yaml here or in any parent folder, and no blueprint.yaml; run `sos init --starter NAME` "
        "to start a client repository, or pass a blueprint file [no-project]")


def test_validate_a_missing_file(workdir: Path) -> None:
    result = sos("validate", "nope.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "error: nope.yaml: no such file or folder [file-missing]"


def test_validate_finds_the_project_from_a_subfolder(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sos("init", "acme", "--starter", "plg-inbound").exit_code == 0
    (workdir / "acme" / "notes").mkdir()
    monkeypatch.chdir(workdir / "acme" / "notes")
    result = sos("validate")
    assert result.exit_code == 0
    assert result.stdout == f"../blueprint.yaml is valid: {starter_counts('plg-inbound')}\n"


# --- show ---

def test_show_yaml_is_the_resolved_blueprint() -> None:
    result = sos("show", str(REPO / "examples" / "acme" / "blueprint.yaml"))
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "acme.yaml").read_text(encoding="utf-8")


def test_show_json(workdir: Path) -> None:
    result = sos("show", str(REPO / "examples" / "acme"), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == yaml.safe_load((GOLDEN / "acme.yaml").read_text(encoding="utf-8"))


def test_show_a_broken_blueprint(workdir: Path) -> None:
    (workdir / "b.yaml").write_text(BROKEN, encoding="utf-8")
    result = sos("show", "b.yaml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == BROKEN_HEADLINE
    assert "Traceback" not in result.output


# --- starters ---

def test_starters_lists_all_four_with_descriptions() -> None:
    result = sos("starters")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["b2b-saas-meddicc", "plg-inbound", "services-agency", "smb-bant"]
    for line, name in zip(lines, starter_names(), strict=True):
        description = yaml.safe_load((starters_dir() / f"{name}.yaml").read_text(encoding="utf-8"))["description"]
        assert line == f"{name:<16}  {description.strip().splitlines()[0]}"
        assert len(description) > 20


# --- init ---

def test_init_creates_a_project_that_validates(workdir: Path) -> None:
    result = sos("init", "acme", "--starter", "b2b-saas-meddicc", "--name", "Acme Robotics")
    assert result.exit_code == 0
    assert result.stdout == ("Created a client repository for acme-robotics in acme from starter b2b-saas-meddicc.\n"
                             "Next: cd acme && sos validate && sos show && sos test\n")
    root = workdir / "acme"
    assert sorted(p.name for p in root.iterdir()) == [".gitignore", "blueprint.yaml", "schemas", "sos.lock", "sos.yaml",
                                                      "tests"]
    assert ".sos/" in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    project = yaml.safe_load((root / "sos.yaml").read_text(encoding="utf-8"))
    assert project["blueprint"] == "blueprint.yaml"
    assert project["targets"]["sandbox"] == {"type": "local"}
    written = (root / "blueprint.yaml").read_text(encoding="utf-8")
    assert "# vars:\n#   vp_sales: vp-sales@example.com\n#   timezone: America/New_York\n" in written  # to set
    blueprint_data = yaml.safe_load(written)
    assert blueprint_data == {"sos": 1, "name": "acme-robotics", "extends": ["starter:b2b-saas-meddicc"],
                              "description": "acme-robotics's sales process, from the b2b-saas-meddicc starter"}
    for name, file in (("blueprint", "blueprint.yaml"), ("project", "sos.yaml")):  # committed, so clones keep them
        comment = (root / file).read_text(encoding="utf-8").splitlines()[0]
        assert comment == f"# yaml-language-server: $schema=schemas/{name}.schema.json"
        assert json.loads((root / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")) == load_schema(name)
    blueprint, diagnostics = load_blueprint(root / "blueprint.yaml")
    assert [d.code for d in diagnostics] == ["placeholder-domain"]     # the starter's team, until set in vars
    assert blueprint is not None and blueprint.name == "acme-robotics"


@pytest.mark.parametrize("starter", starter_names())
def test_init_each_starter_validates(workdir: Path, monkeypatch: pytest.MonkeyPatch, starter: str) -> None:
    assert sos("init", "client", "--starter", starter).exit_code == 0
    monkeypatch.chdir(workdir / "client")
    result = sos("validate")
    assert result.exit_code == 0
    assert result.stdout == f"blueprint.yaml is valid: {starter_counts(starter)}\n"


def test_init_keeps_an_existing_gitignore(workdir: Path) -> None:
    (workdir / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    assert sos("init", ".", "--starter", "smb-bant").exit_code == 0
    assert (workdir / ".gitignore").read_text(encoding="utf-8") == (
        "*.pyc\n# sos state: sandbox databases, locks, crash logs\n.sos/\n")
    assert yaml.safe_load((workdir / "blueprint.yaml").read_text(encoding="utf-8"))["name"] == workdir.name.lower() \
        .replace("_", "-")


def test_init_refuses_to_overwrite(workdir: Path) -> None:
    assert sos("init", "acme", "--starter", "smb-bant").exit_code == 0
    blueprint = workdir / "acme" / "blueprint.yaml"
    blueprint.write_text(blueprint.read_text(encoding="utf-8") + "# my changes\n", encoding="utf-8")
    before = blueprint.read_text(encoding="utf-8")
    result = sos("init", "acme", "--starter", "plg-inbound")
    assert result.exit_code == 1
    assert result.stderr == "error: acme/sos.yaml already exists; sos init will not overwrite it [init-exists]\n"
    assert blueprint.read_text(encoding="utf-8") == before


def test_init_refuses_an_existing_blueprint_alone(workdir: Path) -> None:
    (workdir / "blueprint.yaml").write_text("sos: 1\nname: mine\n", encoding="utf-8")
    result = sos("init", ".", "--starter", "smb-bant")
    assert result.exit_code == 1
    assert result.stderr == "error: blueprint.yaml already exists; sos init will not overwrite it [init-exists]\n"
    assert not (workdir / "sos.yaml").exists()


def test_init_unknown_starter(workdir: Path) -> None:
    result = sos("init", "acme", "--starter", "smb-bnat")
    assert result.exit_code == 1
    assert result.stderr == "error: unknown starter 'smb-bnat' [unknown-starter]\n  fix: did you mean 'smb-bant'?\n"
    assert not (workdir / "acme").exists()


def test_init_needs_a_starter(workdir: Path) -> None:
    result = sos("init", "acme")
    assert result.exit_code == 1
    assert "Missing option '--starter'" in result.stderr
    assert not (workdir / "acme").exists()


# --- schema, version, help ---

@pytest.mark.parametrize("name", ["blueprint", "project"])
def test_schema_prints_the_json_schema(name: str) -> None:
    result = sos("schema", *([name] if name != "blueprint" else []))
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == load_schema(name)   # the project's with each backend's target options
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_version() -> None:
    result = sos("--version")
    assert result.exit_code == 0
    assert result.stdout == f"sos, version {__version__}\n"


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_help_has_an_example(command: str) -> None:
    result = sos(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "\n    sos " in result.stdout.split("Example", 1)[1]


def test_group_help_has_examples() -> None:
    result = sos("--help")
    assert result.exit_code == 0
    assert "sos init acme --starter b2b-saas-meddicc --name acme" in result.stdout
    assert set(cli.commands) >= {"validate", "show", "init", "starters", "schema"}


# --- exit codes ---

@pytest.mark.parametrize("args", [
    pytest.param(["validate", "--bogus"], id="unknown-option"),
    pytest.param(["frobnicate"], id="unknown-command"),
    pytest.param(["show", "--format", "xml"], id="bad-choice"),
    pytest.param(["schema", "plan-file"], id="bad-argument"),
])
def test_usage_errors_exit_1(args: list[str]) -> None:
    result = sos(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("source", [
    pytest.param(BROKEN, id="schema-error"),
    pytest.param("a: [1, 2\n", id="yaml-syntax"),
    pytest.param("sos: 1\nname: t\nextends: [starter:nope]\n", id="unknown-starter"),
    pytest.param("sos: 1\nname: t\nrules:\n  r: {object: lead, require: 'employees >', message: m}\n",
                 id="expression-syntax"),
    pytest.param(b"name: caf\xe9\n", id="not-utf8"),
])
def test_a_broken_blueprint_exits_1_without_traceback(workdir: Path, source: str | bytes) -> None:
    path = workdir / "b.yaml"
    path.write_bytes(source if isinstance(source, bytes) else source.encode())
    result = sos("validate", "b.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("b.yaml:")
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


# --- the installed `sos` script ---

def run_sos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SOS.is_file(), f"no console script at {SOS}"
    return subprocess.run([str(SOS), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": str(SOS.parent), "NO_COLOR": "1", "HOME": str(cwd)})


def test_installed_script_version(tmp_path: Path) -> None:
    result = run_sos("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"sos, version {__version__}\n", "")


def test_installed_script_init_validate_show(tmp_path: Path) -> None:
    assert run_sos("init", "acme", "--starter", "smb-bant", cwd=tmp_path).returncode == 0
    validate = run_sos("validate", cwd=tmp_path / "acme")
    assert (validate.returncode, validate.stdout) == (0, f"blueprint.yaml is valid: {starter_counts('smb-bant')}\n")
    show = run_sos("show", "--format", "json", cwd=tmp_path / "acme")
    assert show.returncode == 0
    assert json.loads(show.stdout)["name"] == "acme"


def test_installed_script_broken_blueprint(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(BROKEN, encoding="utf-8")
    result = run_sos("validate", "b.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == BROKEN_HEADLINE
    assert "Traceback" not in result.stderr


def test_installed_script_usage_error(tmp_path: Path) -> None:
    result = run_sos("validate", "--bogus", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("Usage: sos validate [OPTIONS] [PATHS]...\nTry 'sos validate --help' for help.\n\n"
                             "Error: No such option '--bogus'.\n")
