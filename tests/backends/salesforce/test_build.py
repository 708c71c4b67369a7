"""The compiled Salesforce packages (golden files) and `sos build` through click's CliRunner.

Golden files: tests/golden/salesforce/<case>/ holds the whole mdapi package of every starter
and of examples/acme, as `sos apply` would build it for an empty org (value sets included).
Refresh with `pytest --update-golden` and review the result as a git diff.
"""

from __future__ import annotations

import json

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.cli import cli
from tests.backends.salesforce.conftest import REPO
from tests.backends.salesforce.test_metadata import CASES, desired_of, full_package

GOLDEN = REPO / "tests" / "golden" / "salesforce"

SOURCE_FILES = {
    "sfdx-project.json",
    "manifest/package.xml",
    "force-app/main/default/objects/Opportunity/fields/Pain__c.field-meta.xml",
    "force-app/main/default/objects/Opportunity/fields/Loss_Reason__c.field-meta.xml",
    "force-app/main/default/objects/Opportunity/fields/Sos_Days_In_Stage__c.field-meta.xml",
    "force-app/main/default/objects/Opportunity/fields/Sos_Stale__c.field-meta.xml",
    "force-app/main/default/objects/Opportunity/validationRules/Sos_Close_Date_Not_Past.validationRule-meta.xml",
    "force-app/main/default/objects/Opportunity/businessProcesses/New_Business.businessProcess-meta.xml",
    "force-app/main/default/objects/Opportunity/recordTypes/New_Business.recordType-meta.xml",
    "force-app/main/default/permissionsets/Sos_Managed_Fields.permissionset-meta.xml",
}
BLUEPRINT = """\
sos: 1
name: client
fields:
  opportunity:
    pain: {type: long_text, label: Pain}
    loss_reason: {type: picklist, values: [Price, Timing]}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 21, require: [pain]}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost, require: [loss_reason]}
rules:
  close_date_not_past:
    object: opportunity
    when: stage.is_open
    require: close_date >= today()
    message: Open deals need a close date today or later.
"""
PROJECT = """\
sos: 1
targets:
  sandbox: {type: local}
  prod: {type: salesforce, org: client-prod, api_version: "62.0"}
default_target: sandbox
"""


# -- golden packages --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_compiled_package_matches_golden(case: str, update_golden: bool) -> None:
    files = full_package(desired_of(case)).files
    folder = GOLDEN / case
    if update_golden:
        shutil.rmtree(folder, ignore_errors=True)
        for name, body in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(body)
    expected = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(expected), "files differ; `pytest --update-golden` and review the git diff"
    for name in files:
        assert files[name].decode() == expected[name].decode(), name


def test_packages_are_deterministic() -> None:
    first, second = full_package(desired_of("acme")), full_package(desired_of("acme"))
    assert first.zip_bytes() == second.zip_bytes()


# -- sos build --------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (tmp_path / "sos.yaml").write_text(PROJECT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("SF_ACCESS_TOKEN", "SF_INSTANCE_URL", "SF_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_build_mdapi(project: Path) -> None:
    result = sos("build", "--target", "prod", "--out", "build")
    assert result.exit_code == 0, result.output
    assert tree(project / "build") == {"package.xml", "objects/Opportunity.object",
                                       "permissionsets/Sos_Managed_Fields.permissionset"}
    assert "<version>62.0</version>" in (project / "build" / "package.xml").read_text()   # the target's api_version
    assert result.stdout == textwrap.dedent("""\
        Wrote 10 components to build (mdapi layout):
          BusinessProcess    1
          CustomField        4
          PermissionSet      1
          RecordType         1
          ValidationRule     3
        Deploy with: sf project deploy start --metadata-dir build
        """)
    assert result.stderr.startswith("Left out the stage and lead status value sets (OpportunityStage, LeadStatus): "
                                    "a deployed value set deactivates every value it does not list")


def test_build_says_what_it_wrote_in_json(project: Path) -> None:
    result = sos("build", "--target", "prod", "--out", "build", "--format", "json")
    assert result.exit_code == 0, result.output
    said = json.loads(result.stdout)
    assert said["files"] == sorted(tree(project / "build")) and said["layout"] == "mdapi"
    assert (said["components"], said["counts"]["ValidationRule"]) == (10, 3)
    assert said["deploy"] == "sf project deploy start --metadata-dir build"


def test_build_source_with_value_sets(project: Path) -> None:
    result = sos("build", "--target", "prod", "--layout", "source", "--out", "sfdx", "--include-value-sets")
    assert result.exit_code == 0, result.output
    assert tree(project / "sfdx") == SOURCE_FILES | {
        "force-app/main/default/objects/Opportunity/validationRules/" + name
        for name in _stage_rule_files(project / "sfdx")} | {
        "force-app/main/default/standardValueSets/OpportunityStage.standardValueSet-meta.xml"}   # no lead statuses
    field = (project / "sfdx/force-app/main/default/objects/Opportunity/fields/Pain__c.field-meta.xml").read_text()
    assert field.startswith('<?xml version="1.0" encoding="UTF-8"?>\n'
                            '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                            "    <fullName>Pain__c</fullName>\n")
    assert '"sourceApiVersion": "62.0"' in (project / "sfdx" / "sfdx-project.json").read_text()
    assert "deploying it deactivates every other stage value in the org" in result.stderr
    assert result.stdout.endswith("Deploy with: cd sfdx && sf project deploy start --manifest manifest/package.xml\n")


def _stage_rule_files(folder: Path) -> list[str]:
    rules = folder / "force-app/main/default/objects/Opportunity/validationRules"
    return [p.name for p in rules.iterdir() if p.name.startswith("Sos_New_Business_")]


def test_build_replaces_its_own_output_and_refuses_other_folders(project: Path) -> None:
    assert sos("build", "-t", "prod", "--out", "build", "--include-value-sets").exit_code == 0
    assert (project / "build/standardValueSets").is_dir()
    assert sos("build", "-t", "prod", "--out", "build").exit_code == 0
    assert not (project / "build/standardValueSets").exists()            # nothing stale is left to deploy
    (project / "build" / "notes.txt").write_text("mine")
    result = sos("build", "-t", "prod", "--out", "build")
    assert result.exit_code == 1
    assert result.stderr == ("error: build holds files sos build did not write (notes.txt); choose a new or empty "
                             "folder [build-out]\n")


def test_build_needs_a_target_whose_backend_writes_files(project: Path) -> None:
    result = sos("build", "--out", "build")
    assert result.exit_code == 1
    assert result.stderr == ("error: target 'sandbox' has type 'local', for which sos build has nothing to write "
                             "(targets it builds: prod) [build-target]\n")
    assert not (project / "build").exists()


def test_build_names_the_formats_of_the_targets_type(project: Path) -> None:
    result = sos("build", "-t", "prod", "--layout", "sources", "--out", "build")
    assert result.exit_code == 1
    assert result.stderr == ("error: salesforce targets are built as mdapi or source, not 'sources' [build-format]\n"
                             "  fix: did you mean 'source'?\n")
    assert not (project / "build").exists()


def test_allow_delete_without_a_plan_says_there_is_nothing_to_delete(project: Path) -> None:
    result = sos("build", "-t", "prod", "--out", "build", "--allow-delete")
    assert result.exit_code == 0
    assert result.stderr.startswith("Nothing to delete: without --plan the package creates and updates only.\n")
    assert "destructiveChanges.xml" not in tree(project / "build")


def test_build_help_explains_the_value_set_trap() -> None:
    result = sos("build", "--help")
    assert result.exit_code == 0
    assert "a deployed value set DEACTIVATES every value it does not list" in " ".join(result.output.split())
    assert "sos build --target prod --layout source --out sfdx/" in result.output


def test_build_from_a_saved_plan_writes_deletions_only_when_allowed(project: Path) -> None:
    from sos.backends.salesforce.lower import HELD_KINDS
    from sos.model.resources import Address, Kind, Model, Resource
    from sos.plan.diff import diff
    from sos.plan.planfile import save_plan
    from sos.engine import desired_model
    from sos.project import load_project

    desired = desired_model(load_project(project / "sos.yaml"))
    live = Model({Address(Kind.FIELD, "opportunity", "old_notes"): Resource(
        Address(Kind.FIELD, "opportunity", "old_notes"), {"type": "text", "label": "Old notes", "length": 255})})
    save_plan(diff(desired, live, target="prod", target_type="salesforce", supported=HELD_KINDS), desired,
              project / "p.json")

    kept = sos("build", "-t", "prod", "--plan", "p.json", "--out", "build")
    assert kept.exit_code == 0, kept.output
    assert kept.stderr.startswith("Skipping 1 deletion: pass --allow-delete to write them.\n")
    assert "destructiveChanges.xml" not in tree(project / "build")

    dropped = sos("build", "-t", "prod", "--plan", "p.json", "--out", "build", "--allow-delete")
    assert dropped.exit_code == 0, dropped.output
    assert "<members>Opportunity.Old_Notes__c</members>" in (project / "build/destructiveChanges.xml").read_text()
    assert "  deleted            1 (destructiveChanges.xml)\n" in dropped.stdout

    (project / "blueprint.yaml").write_text(BLUEPRINT.replace("label: Pain", "label: Pain points"))
    stale = sos("build", "-t", "prod", "--plan", "p.json", "--out", "build")
    assert stale.exit_code == 1
    assert stale.stderr == ("error: p.json was made from another version of the blueprint; run `sos plan` again "
                            "[plan-blueprint]\n")


@pytest.mark.parametrize(("fmt", "command"), [
    ("mdapi", "sf project deploy start --metadata-dir 'my build'"),
    ("source", "cd 'my build' && sf project deploy start --manifest manifest/package.xml"),
])
def test_the_deploy_command_is_quoted_for_the_shell(project: Path, fmt: str, command: str) -> None:
    result = sos("build", "--target", "prod", "--layout", fmt, "--out", "my build")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"Deploy with: {command}\n")
