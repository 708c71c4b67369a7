"""`sos validate` reports what a Salesforce deploy would refuse, for every salesforce target, at the blueprint line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.blueprint.resolve import display_path
from sos.cli import cli

PROJECT = "sos: 1\nblueprint: blueprint.yaml\ntargets:\n  prod: {type: salesforce, org: acme}\n"
LOCAL_ONLY = "sos: 1\nblueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\n"
PIPELINE = """\
    sos: 1
    name: acme
    fields:
      opportunity:
        loss_reason: {type: %(type)s, values: [%(values)s]}
    pipelines:
      new_business:
        object: opportunity
        description: "%(description)s"
        stages:
          - {key: discovery, label: Discovery, probability: 10%(stage)s}
          - {key: won, label: Closed Won, probability: 100, outcome: won%(won)s}
          - {key: lost, label: Closed Lost, probability: 0, outcome: lost%(lost)s}
    lead_statuses:
      - {key: new, label: New, default: true%(status)s}
      - {key: qualified, label: Qualified, converted: true}
"""
VALID = {"type": "picklist", "values": "Price, Timing", "description": "New deals", "stage": "", "won": "",
         "lost": "", "status": ""}


def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: str = PROJECT, **changes: str) -> list[str]:
    (tmp_path / "sos.yaml").write_text(project, encoding="utf-8")
    (tmp_path / "blueprint.yaml").write_text(textwrap.dedent(PIPELINE % {**VALID, **changes}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == (1 if "error:" in result.stderr else 0), result.output
    return [line for line in result.stderr.splitlines() if ": error: " in line or line.startswith("  fix: ")]


def validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Result:
    """`sos validate` of blueprint `text` in a project whose one target is a Salesforce org."""
    (tmp_path / "sos.yaml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "blueprint.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(cli, ["validate"])


@pytest.mark.parametrize(("changes", "expected"), [
    pytest.param({"description": "x" * 206}, [
        "blueprint.yaml:7:3: error: pipeline opportunity.new_business has a 206-character description; with sos's "
        "ownership mark (50 characters) Salesforce keeps 255 [salesforce-description]",
        "  fix: shorten `description:` to at most 205 characters"], id="business-process-description"),
    pytest.param({"stage": ", description: " + "d" * 211}, [
        "blueprint.yaml:11:9: error: stage new_business.discovery has a 211-character description; with sos's "
        "ownership mark (45 characters) Salesforce keeps 255 [salesforce-description]",
        "  fix: shorten `description:` to at most 210 characters"], id="stage-description-with-mark"),
    pytest.param({"stage": ", max_days: 21, description: " + "d" * 194}, [
        "blueprint.yaml:11:9: error: stage new_business.discovery has a 194-character description; with sos's "
        "ownership mark (62 characters) Salesforce keeps 255 [salesforce-description]",
        "  fix: shorten `description:` to at most 193 characters"], id="stage-mark-carries-max-days"),
    pytest.param({"status": ", description: " + "s" * 219}, [
        "blueprint.yaml:15:5: error: lead status new has a 219-character description; with sos's ownership mark "
        "(37 characters) Salesforce keeps 255 [salesforce-description]",
        "  fix: shorten `description:` to at most 218 characters"], id="lead-status-description"),
    pytest.param({"type": "multi_picklist", "values": "Price, 'Timing;Budget'"}, [
        "blueprint.yaml:5:5: error: field opportunity.loss_reason has the value 'Timing;Budget', which contains ';' "
        "[salesforce-picklist-semicolon]",
        "  fix: write it without ';', e.g. 'Timing,Budget'"], id="semicolon"),
    pytest.param({"values": ", ".join(f"v{n}" for n in range(1001))}, [
        "blueprint.yaml:5:5: error: field opportunity.loss_reason has 1001 values; Salesforce allows 1000 per "
        "picklist [salesforce-picklist-size]",
        "  fix: drop unused values, or make it a text field"], id="too-many-values"),
    pytest.param({"values": "Price, " + "p" * 256}, [
        "blueprint.yaml:5:5: error: field opportunity.loss_reason has a value of 256 characters "
        f"('{'p' * 30}…'); Salesforce allows 255 [salesforce-picklist-value-length]",
        "  fix: shorten it to 255 characters"], id="value-too-long"),
    pytest.param({"won": ", forecast: commit"}, [
        "blueprint.yaml:12:9: error: won stage new_business.won has forecast 'commit'; Salesforce keeps won stages "
        "in forecast category 'closed' (Closed) [salesforce-forecast]",
        "  fix: set `forecast: closed` or leave `forecast:` out"], id="won-forecast"),
    pytest.param({"lost": ", forecast: pipeline"}, [
        "blueprint.yaml:13:9: error: lost stage new_business.lost has forecast 'pipeline'; Salesforce keeps lost "
        "stages in forecast category 'omitted' (Omitted) [salesforce-forecast]",
        "  fix: set `forecast: omitted` or leave `forecast:` out"], id="lost-forecast"),
    pytest.param({"stage": ", forecast: closed"}, [
        "blueprint.yaml:11:9: error: open stage new_business.discovery has forecast 'closed'; Salesforce keeps "
        "that category for won stages [salesforce-forecast]",
        "  fix: use pipeline, best_case, commit or omitted"], id="open-stage-closed-forecast"),
])
def test_validate_reports_what_salesforce_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  changes: dict[str, str], expected: list[str]) -> None:
    assert validate(tmp_path, monkeypatch, **changes) == expected


def test_limits_hold_to_the_character(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at_limit = {"description": "x" * 205, "stage": ", max_days: 21, description: " + "d" * 193,
                "values": ", ".join(f"v{n}" for n in range(999)) + ", " + "p" * 255}
    assert validate(tmp_path, monkeypatch, **at_limit) == []
    over = {**at_limit, "description": "x" * 206}
    assert [line.split(": error: ")[0] for line in validate(tmp_path, monkeypatch, **over)] == \
        ["blueprint.yaml:7:3", "  fix: shorten `description:` to at most 205 characters"]


def test_only_salesforce_targets_are_held_to_its_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert validate(tmp_path, monkeypatch, project=LOCAL_ONLY, description="x" * 300) == []
    both = LOCAL_ONLY + PROJECT.split("targets:\n")[1] + "default_target: sandbox\n"
    assert len(validate(tmp_path, monkeypatch, project=both, description="x" * 300)) == 2


def test_plan_refuses_before_reading_the_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    validate(tmp_path, monkeypatch, won=", forecast: commit")
    result = CliRunner().invoke(cli, ["plan"])   # the org `acme` is never asked: no sf CLI, no network
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "blueprint.yaml:12:9: error: won stage new_business.won has forecast 'commit'; Salesforce keeps won stages "
        "in forecast category 'closed' (Closed) [salesforce-forecast]")


@pytest.mark.parametrize(("section", "where"), [
    pytest.param("fields:\n  opportunity:\n    {key}: {{type: text}}\n", "5:5: error: key '{key}'", id="map-key"),
    pytest.param("lead_statuses:\n  - {{key: {key}, label: New, default: true, converted: true}}\n",
                 "4:11: error: lead_statuses[0].key", id="list-key"),
])
def test_a_long_key_says_the_limit_and_a_name_that_fits(tmp_path: Path, section: str, where: str) -> None:
    key = "qualified_by_the_regional_sales_director_of_emea"
    path = tmp_path / "blueprint.yaml"
    path.write_text("sos: 1\nname: acme\n" + section.format(key=key), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (f"{display_path(path)}:{where.format(key=key)} is 48 characters; keys allow at most 40 "
                        "[key-too-long]")
    assert lines[-3:-1] == ["  why: CRM API names are made from keys, and some CRMs allow only 40 characters",
                            "  fix: rename it to 'qualified_by_the_regional_sales_director', or another name of at "
                            "most 40 characters"]



LEAD_RULE = """\
rules:
  lead_has_name:
    object: lead
    require: not is_blank(name)
    message: Leads need a name.
"""


@pytest.mark.parametrize(("project", "expected"), [(PROJECT, 1), (LOCAL_ONLY, 0)])
def test_a_rule_a_formula_cannot_say_fails_at_validate_at_its_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    project: str, expected: int) -> None:
    """A lead's Name is a compound field, which validation rule formulas cannot read (reference §7): found at
    `sos validate` for a Salesforce target, with the caret on `name`, not at build or apply time on the rule's key.
    The local sandbox reads it, so a project with no Salesforce target is valid."""
    text = textwrap.dedent(PIPELINE % VALID) + LEAD_RULE
    (tmp_path / "sos.yaml").write_text(project, encoding="utf-8")
    (tmp_path / "blueprint.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == expected, result.output
    lines = text.splitlines()
    line = next(n for n, written in enumerate(lines, 1) if "not is_blank(name)" in written)
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [f"blueprint.yaml:{line}:{lines[line - 1].index('name)') + 1}: error: a Salesforce validation "
                      "rule cannot read a lead's Name (a compound field) [unsupported]"][:expected]


NAMES = """\
    sos: 1
    name: acme
    fields:
      opportunity:
        why_now: {type: text, label: Why now - the compelling event behind the deal}
        partner: {type: text, api_name: {salesforce: Implementation_Partner_Primary_Contact_Name__c}}
        legacy: {type: text, api_name: LegacyField}
        this_key_is_forty_characters_long_ok_xyz: {type: text}
        region: {type: text, api_name: {salesforce: Zone__c}}
        zone: {type: text}
"""


def validate_names(folder: Path, project: str | None) -> list[str]:
    """`sos validate` of the NAMES blueprint in `folder`, under a sos.yaml holding `project` (None: no sos.yaml)."""
    folder.mkdir()
    if project is not None:
        (folder / "sos.yaml").write_text(project, encoding="utf-8")
    (folder / "blueprint.yaml").write_text(textwrap.dedent(NAMES), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(folder / "blueprint.yaml")])
    return [line.replace(f"{display_path(folder)}/", "") for line in result.stderr.splitlines()
            if ": error: " in line or line.startswith("  fix: ")]


def test_a_salesforce_target_holds_field_names_and_labels_to_salesforce_rules(tmp_path: Path) -> None:
    assert validate_names(tmp_path / "sf", PROJECT) == [
        "blueprint.yaml:5:34: error: field opportunity.why_now has a 46-character label; Salesforce allows 40 "
        "[label-too-long]",
        "  fix: shorten the label and put the rest in `help:`",
        "blueprint.yaml:6:5: error: field opportunity.partner becomes Salesforce API name "
        "'Implementation_Partner_Primary_Contact_Name__c': it is 43 characters before __c; Salesforce allows 40 "
        "[api-name]",
        "  fix: shorten the key or set `api_name:` for salesforce",
        "blueprint.yaml:7:5: error: field opportunity.legacy becomes Salesforce API name 'LegacyField': "
        "custom field names end in __c [api-name]",
        "  fix: shorten the key or set `api_name:` for salesforce",
        "blueprint.yaml:10:5: error: fields opportunity.region and opportunity.zone both become Salesforce field "
        "'Zone__c' [api-name-collision]",
        "  fix: rename one of them or set a distinct `api_name:`",
    ]


@pytest.mark.parametrize("project", [pytest.param(LOCAL_ONLY, id="local-target"), pytest.param(None, id="no-sos-yaml")])
def test_without_a_salesforce_target_no_salesforce_name_rules(tmp_path: Path, project: str | None) -> None:
    assert validate_names(tmp_path / "p", project) == []


PRIOR_OWNER_RULE = """\
rules:
  owner_kept_in_commit:
    object: opportunity
    when: stage == 'won' and not is_new()
    require: prior(owner) == 'rep@example.com'
    message: Only the rep who built the deal can commit it.
"""


def test_a_prior_value_a_formula_cannot_read_fails_at_validate(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """is_new() and PRIORVALUE are fine in a validation rule, but a prior owner has no username to compare with
    (sos names users by username): `sos validate` says so for a Salesforce target, at `prior`."""
    text = textwrap.dedent(PIPELINE % VALID) + PRIOR_OWNER_RULE
    result = validated(tmp_path, monkeypatch, text)
    assert result.exit_code == 1, result.output
    lines = text.splitlines()
    line = next(n for n, written in enumerate(lines, 1) if "prior(owner)" in written)
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [f"blueprint.yaml:{line}:{lines[line - 1].index('prior(') + 1}: error: a Salesforce formula "
                      "cannot read the prior value of a user here [unsupported]"]


def test_a_notify_message_longer_than_a_notification_holds_is_refused(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom notification's body holds 750 characters (Actions Developer Guide, "Custom Notification Actions"):
    a longer message is refused where it is written."""
    cadence = textwrap.dedent(PIPELINE % VALID) + (
        "cadences:\n  commit_alert:\n    trigger: {stage_entered: discovery}\n"
        "    action: {notify: {message: %s}}\n")
    (tmp_path / "sos.yaml").write_text(PROJECT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lines = (cadence % "m").splitlines()
    line = next(n for n, written in enumerate(lines, 1) if "message: " in written)
    column = lines[line - 1].index("message: ") + len("message: ") + 1
    for length, expected in ((750, []), (751, [
            f"blueprint.yaml:{line}:{column}: error: cadence commit_alert has a 751-character message; a Salesforce "
            "notification holds 750 [sf-notification-too-long]", "  fix: shorten the message"])):
        (tmp_path / "blueprint.yaml").write_text(cadence % ("m" * length), encoding="utf-8")
        result = CliRunner().invoke(cli, ["validate"])
        assert [line for line in result.stderr.splitlines() if ": error: " in line or line.startswith("  fix: ")] \
            == expected, result.output


CADENCES = """\
cadences:
  first_touch:
    trigger: {record_created: lead}
    action: {create_task: {subject: Call, due_in_days: 1}}
  weekly_review:
    schedule: {every: monday, at: "09:00", timezone: UTC}
    action: {report: pipeline_review}
  stale_big:
    trigger: {stage_age_over: 10}
    when: amount > 50000
    action: {create_task: {subject: Unstick it}}
  stale_alert:
    trigger: {stage_age_over: 10}
    action: {notify: {message: A deal is stuck.}}
  deal_desk:
    trigger: {stage_entered: discovery}
    action: {create_task: {subject: Price it, assign_to: {queue: deal_desk}}}
"""


def test_each_cadence_salesforce_does_not_run_is_named_where_it_is_written(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox runs every cadence; a Salesforce target runs those a Flow can (docs/salesforce.md, "Cadences as
    Flows"): a schedule runs from CI, a first touch is a Flow. Each other one gets a warning at its key."""
    text = textwrap.dedent(PIPELINE % VALID) + CADENCES
    result = validated(tmp_path, monkeypatch, text)
    assert result.exit_code == 0, result.output
    lines = text.splitlines()

    def at(key: str) -> str:
        line = lines.index(f"  {key}:") + 1
        return f"blueprint.yaml:{line}:3: warning: cadence {key} is not applied to Salesforce: "

    assert [line for line in result.stderr.splitlines() if "[sf-cadence-not-run]" in line] == [
        at("stale_big") + "its `when` would be read as the deal enters the stage, not on the day the task is due "
                          "[sf-cadence-not-run]",
        at("stale_alert") + "a stale deal's flow creates a task; it sends no notification [sf-cadence-not-run]",
        at("deal_desk") + "a Salesforce task is owned by a user, never by a queue [sf-cadence-not-run]"]
