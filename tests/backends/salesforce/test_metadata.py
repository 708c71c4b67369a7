"""Model → Metadata API files → Model (sos.backends.salesforce: names, marks, build, retrieve, source), checked
against the WSDL and the emulator.

Deploys and retrieves go through simple-salesforce over real HTTPS to the emulator
(conftest.py), which validates every file against the WSDL's schema as Salesforce does.
"""

from __future__ import annotations

import io
import re
import textwrap
import zipfile
from functools import cache
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
from lxml import etree

from sos.backends.salesforce.lower import HELD_KINDS, build_package, flows
from sos.backends.salesforce.marks import ownership_mark, split_description, with_mark
from sos.backends.salesforce.names import developer_name, process_api_name, rule_api_name
from sos.backends.salesforce.package import Package
from sos.backends.salesforce.read import LiveOrg, parse_retrieved, retrieve_members
from sos.backends.salesforce.source import to_source_format
from sos.blueprint.load import load_blueprint
from sos.model.compile import compile_model
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Action, Change
from sos.plan.diff import diff
from tests.backends.salesforce.conftest import ACME, REPO, STARTERS
from tests.backends.salesforce.staff import staff_model
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.schema import load_schema

CASES = [*STARTERS, "acme"]
MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"mt": MD}
FILE_TYPES = {"objects": "CustomObject", "standardValueSets": "StandardValueSet", "permissionsets": "PermissionSet",
              "flows": "Flow", "assignmentRules": "AssignmentRules", "notificationtypes": "CustomNotificationType"}
SOURCE_TYPES = {"fields": "CustomField", "validationRules": "ValidationRule", "businessProcesses": "BusinessProcess",
                "recordTypes": "RecordType", "standardValueSets": "StandardValueSet",
                "permissionsets": "PermissionSet", "flows": "Flow", "assignmentRules": "AssignmentRules",
                "notificationtypes": "CustomNotificationType"}
DEVELOPER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")


# A small blueprint, for deploys that must succeed.
SMALL = """\
sos: 1
name: small
fields:
  opportunity:
    pain: {type: long_text, label: Pain, help: What breaks if they do nothing?}
    loss_reason: {type: picklist, values: [Price, Timing, No decision]}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 21, require: [pain]}
      - {key: evaluation, label: Evaluation, probability: 40, forecast: best_case, max_days: 30}
      - {key: commit, label: Commit, probability: 80, forecast: commit}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost, require: [loss_reason]}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: qualified, label: Qualified, converted: true}
"""




# -- helpers ----------------------------------------------------------------------------


def compile_text(tmp_path: Path, text: str) -> Model:
    path = tmp_path / "blueprint.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    blueprint, diagnostics = load_blueprint(path)
    assert blueprint is not None, [d.headline() for d in diagnostics]
    return compile_model(blueprint)


@cache
def desired_of(case: str) -> Model:
    blueprint, diagnostics = load_blueprint(ACME if case == "acme" else REPO / "blueprints" / f"{case}.yaml")
    assert blueprint is not None, [d.headline() for d in diagnostics]
    return compile_model(blueprint)


def creates(desired: Model) -> list[Change]:
    return list(diff(desired, Model(), target="prod", target_type="salesforce", supported=HELD_KINDS).changes)


def full_package(desired: Model, **options: Any) -> Package:
    return build_package(desired, creates(desired), None, allow_delete=False, **options)


def held(model: Model) -> dict[str, tuple[dict[str, Any], bool]]:
    """What an offline package holds: a cadence's flow that names a user or queue needs the org's ids."""
    return {str(r.address): (dict(r.attrs), r.managed) for r in model
            if r.address.kind in HELD_KINDS and (r.address.kind is not Kind.AUTOMATION
                                                 or flows.held(r) and not flows.names_people(r))}


def schema_errors(body: bytes, type_name: str) -> list[str]:
    root = etree.fromstring(body)
    if type_name == "Package" and root.find(f"{{{MD}}}version") is None:
        etree.SubElement(root, f"{{{MD}}}version").text = "63.0"   # destructiveChanges.xml may omit it (§4.1)
    return [e.message for e in load_schema().validate(root, type_name, strict_order=True)]


def file_type(name: str) -> str:
    return "Package" if name.endswith(".xml") and "/" not in name else FILE_TYPES[name.split("/", 1)[0]]


@pytest.fixture(scope="module")
def client(running: SalesforceEmulator) -> Any:
    sf = running.client()
    assert sf.mdapi is not None  # load the WSDL once for the module
    return sf


@pytest.fixture
def sf(client: Any, emulator: SalesforceEmulator) -> Iterator[Any]:
    yield client


def deploy(sf: Any, package: Package) -> tuple[str, list[str]]:
    """Deploy through simple-salesforce; (status, ["fullName: problem", ...])."""
    started = sf.deploy(io.BytesIO(package.zip_bytes()), sandbox=False)
    for _ in range(20):
        status = sf.checkDeployStatus(started["asyncId"])
        if status["state"] not in ("Pending", "InProgress", "Queued"):
            break
    raw = sf.mdapi._retrieve_deploy_result(started["asyncId"])
    problems = [f"{f.findtext('mt:fullName', None, NS)}: {f.findtext('mt:problem', None, NS)}"
                for f in raw.findall("mt:details/mt:componentFailures", NS)]
    return status["state"], problems


def retrieve(sf: Any, desired: Model) -> LiveOrg:
    async_id, _ = sf.mdapi.retrieve("sos", unpackaged=retrieve_members(desired))
    for _ in range(20):
        if sf.mdapi.check_retrieve_status(async_id)[0] == "Succeeded":
            break
    _, _, _, data = sf.mdapi.retrieve_zip(async_id)
    archive = zipfile.ZipFile(io.BytesIO(data))
    return parse_retrieved({name: archive.read(name) for name in archive.namelist()}, desired)


def stage_rows(sf: Any) -> dict[str, bool]:
    rows = sf.query("SELECT ApiName, IsActive FROM OpportunityStage ORDER BY SortOrder")["records"]
    return {row["ApiName"]: row["IsActive"] for row in rows}


def replan(desired: Model, live: LiveOrg) -> list[Change]:
    """The plan against `live` of what an offline package holds (the cadences no flow runs are the backend's read's
    to hide; those naming people are left out offline)."""
    wanted = Model()
    for resource in desired:
        if resource.address.kind is not Kind.AUTOMATION or flows.held(resource) and not flows.names_people(resource):
            wanted.add(resource)
    return list(diff(wanted, live.model, target="prod", target_type="salesforce", supported=HELD_KINDS).changes)


# -- names and marks --------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [
    pytest.param("close_date_not_past", "Sos_Close_Date_Not_Past", id="plain"),
    pytest.param("q3_push", "Sos_Q3_Push", id="digits"),
    pytest.param("new_business__proposal__required", r"Sos_New_Business_Proposal_[0-9a-f]{6}", id="stage-rule"),
    pytest.param("new_business__solution_validation__required", r"Sos_New_Business_Solution_[0-9a-f]{6}",
                 id="stage-rule-shortened-at-a-word"),
    pytest.param("a_rule_whose_key_is_much_longer_than_forty", r"Sos_A_Rule_Whose_Key_Is_Much_[0-9a-f]{6}",
                 id="too-long"),
    pytest.param("odd__key", r"Sos_Odd_Key_[0-9a-f]{6}", id="double-underscore"),
])
def test_rule_api_names(key: str, expected: str) -> None:
    name = rule_api_name(key)
    assert re.fullmatch(expected, name), name
    assert len(name) <= 40 and DEVELOPER_NAME.match(name)
    assert rule_api_name(key) == name                       # stable


def test_lossy_names_never_collide_with_plain_ones() -> None:
    assert rule_api_name("new_business__proposal__required") != rule_api_name("new_business_proposal")
    assert rule_api_name("a__b") != rule_api_name("a_b")
    assert process_api_name("new_business") == "New_Business"
    assert developer_name(["X" * 50], "x") == "X" * 33 + "_" + developer_name(["X" * 50], "x")[-6:]


@pytest.mark.parametrize(("human", "entries"), [
    pytest.param("", [(Address(Kind.FIELD, "opportunity", "pain"), {})], id="mark-only"),
    pytest.param("Why it exists.\nTwo lines.", [(Address(Kind.RULE, "lead", "x"), {})], id="with-text"),
    pytest.param("Shared (stage).", [(Address(Kind.STAGE, "a", "won"), {"max_days": 3}),
                                     (Address(Kind.STAGE, "b", "won"), {})], id="shared-value"),
    pytest.param("x", [(Address(Kind.FIELD, "lead", "y"), {"api_names": {"*": "Y; (z)__c"}, "default": False})],
                 id="extras-with-separators"),
])
def test_marks_round_trip(human: str, entries: list[tuple[Address, dict[str, Any]]]) -> None:
    text = with_mark(human, ownership_mark(entries))
    assert split_description(text) == (human, entries, False)
    assert split_description(text.replace("\n", "\r\n")) == (human.replace("\n", "\r\n"), entries, False)


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"),
    pytest.param("Open - Not Contacted", id="plain"),
    pytest.param("mentions sos: managed (field lead.x) in passing", id="not-on-its-own-line"),
    pytest.param("sos: managed (field lead.x", id="unclosed"),
    pytest.param("sos: managed (widget lead.x)", id="unknown-kind"),
])
def test_texts_without_a_mark(text: str) -> None:
    assert split_description(text) == (text, None, False)


# -- what the package holds -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_file_is_valid_against_the_wsdl(case: str) -> None:
    package = full_package(desired_of(case))
    for name, body in package.files.items():
        assert schema_errors(body, file_type(name)) == [], name
    for name, body in to_source_format(package).items():
        if name.endswith("-meta.xml"):
            folder = name.split("/")[-2]
            assert schema_errors(body, SOURCE_TYPES[folder]) == [], name
        elif name.endswith(".xml"):
            assert schema_errors(body, "Package") == [], name


@pytest.mark.parametrize("case", CASES)
def test_parse_gives_back_the_model(case: str) -> None:
    desired = desired_of(case)
    package = full_package(desired)
    live = parse_retrieved(package.files)
    assert held(live.model) == held(desired)
    made = {(c.type, c.full_name) for c in package.components}
    assert {("ValidationRule", live.names[r.address]) for r in live.model.of_kind(Kind.RULE)} <= made
    assert {("CustomField", live.names[r.address]) for r in live.model.of_kind(Kind.FIELD)} <= made


def test_blueprint_attributes_map_to_salesforce(tmp_path: Path) -> None:
    desired = compile_text(tmp_path, SMALL + textwrap.dedent("""\
        rules:
          close_date_not_past:
            object: opportunity
            when: stage.is_open
            require: close_date >= today()
            message: Open deals need a close date today or later.
            description: """ + "x" * 300 + "\n"))
    package = full_package(desired)
    stages = package.files["standardValueSets/OpportunityStage.standardValueSet"].decode()
    assert "<forecastCategory>Forecast</forecastCategory>" in stages          # commit is Salesforce's Forecast
    assert "<forecastCategory>BestCase</forecastCategory>" in stages
    assert '{"max_days": 21}' in stages
    opportunity = package.files["objects/Opportunity.object"].decode()
    assert "<length>32768</length>" in opportunity and "<visibleLines>3</visibleLines>" in opportunity
    assert "CASE(StageName,\n    'Discovery', IF(Sos_Days_In_Stage__c &gt; 21, 1, 0),\n" \
           "    'Evaluation', IF(Sos_Days_In_Stage__c &gt; 30, 1, 0),\n    0) = 1" in opportunity
    rule = re.search(r"<validationRules>\s*<fullName>Sos_Close_Date_Not_Past</fullName>.*?</validationRules>",
                     opportunity, re.DOTALL)
    assert rule is not None
    description = re.search(r"<description>(.*?)</description>", rule[0], re.DOTALL)
    assert description is not None and len(description[1]) == 255 and "…\n\nsos: managed (rule" in description[1]
    live = parse_retrieved(package.files)
    assert live.model.resources[Address(Kind.RULE, "opportunity", "close_date_not_past")].attrs["description"] == \
        "x" * 300                                                           # the whole text, from the comment


def test_stage_shared_by_pipelines_is_one_value(tmp_path: Path) -> None:
    renewal = """\
      renewal:
        stages:
          - {key: discovery, label: Discovery, probability: 10, max_days: 7}
          - {key: won, label: Closed Won, probability: 100, outcome: won}
          - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
    """
    desired = compile_text(tmp_path, SMALL.replace("lead_statuses:", textwrap.indent(textwrap.dedent(renewal), "  ")
                                                   + "lead_statuses:"))
    package = full_package(desired)
    stages = package.files["standardValueSets/OpportunityStage.standardValueSet"].decode()
    assert stages.count("<fullName>Discovery</fullName>") == 1
    assert 'sos: managed (stage new_business.discovery {"max_days": 21}; stage renewal.discovery ' \
           '{"max_days": 7})' in stages
    opportunity = package.files["objects/Opportunity.object"].decode()
    assert "CASE(RecordType.DeveloperName,\n    'New_Business', CASE(StageName," in opportunity
    for name, body in package.files.items():
        assert schema_errors(body, file_type(name)) == [], name
    assert held(parse_retrieved(package.files).model) == held(desired)


def test_offline_value_sets_say_what_they_replace() -> None:
    package = full_package(desired_of("smb-bant"))
    assert [d.headline() for d in package.notes] == [
        "warning: standardValueSets/OpportunityStage.standardValueSet lists only the blueprint's 7 stage values; "
        "deploying it deactivates every other stage value in the org (and fails if records use one) "
        "[value-set-replaces]",
        "warning: standardValueSets/LeadStatus.standardValueSet lists only the blueprint's 5 lead status values; "
        "deploying it deactivates every other lead status value in the org (and fails if records use one) "
        "[value-set-replaces]"]
    assert "standardValueSets/OpportunityStage.standardValueSet" not in \
        full_package(desired_of("smb-bant"), value_sets=False).files


def test_deletions_only_with_allow_delete(tmp_path: Path) -> None:
    before = compile_text(tmp_path, SMALL)
    live = parse_retrieved(full_package(before).files)
    after = compile_text(tmp_path, SMALL.replace("    pain: {type: long_text, label: Pain, help: What breaks if they "
                                                 "do nothing?}\n", "").replace(", require: [pain]", ""))
    changes = replan(after, live)
    assert {(c.action, str(c.address)) for c in changes} == {
        (Action.DELETE, "field.opportunity.pain"),
        (Action.DELETE, "stage_requirement.new_business.discovery")}
    kept = build_package(after, changes, live, allow_delete=False)
    assert "destructiveChanges.xml" not in kept.files and not kept.components
    dropped = build_package(after, changes, live, allow_delete=True)
    assert [(c.type, c.full_name) for c in dropped.components if c.deleted] == [
        ("CustomField", "Opportunity.Pain__c"), ("ValidationRule", "Opportunity." + rule_api_name(
            "new_business__discovery__required"))]
    assert schema_errors(dropped.files["destructiveChanges.xml"], "Package") == []
    assert b"Pain__c" not in dropped.files["permissionsets/Sos_Managed_Fields.permissionset"]


def test_a_stage_rule_an_earlier_sos_made_is_read_as_its_requirement(tmp_path: Path) -> None:
    """Earlier versions marked the rule made from a stage's `require` as
    `rule opportunity.<pipeline>__<stage>__required` and kept its `when`/`require` text in the formula's comment. The
    org's rule is read as that stage requirement, with its fields and stages, enforced on every save as it was: the
    plan updates its `enforce` only, rewriting the rule under its own name (nothing created beside it, nothing
    deleted)."""
    desired = compile_text(tmp_path, SMALL)
    files = dict(full_package(desired).files)
    old = files["objects/Opportunity.object"].decode()
    old = re.sub(r"stage_requirement new_business\.discovery\)", "rule opportunity.new_business__discovery__required)",
                 old)
    stages = desired.resources[Address.parse("stage_requirement.new_business.discovery")].attrs["stages"]
    when = "stage in [" + ", ".join(f"'{s}'" for s in stages) + "]"
    old = re.sub(r'/\* sos: rule new_business\.discovery\nfields: "pain"\nstages: "[a-z_ ]+"\nenforce: "[a-z_]+" \*/',
                 f"/* sos: rule opportunity.new_business__discovery__required\\nwhen: \"{when}\"\\n"
                 "require: \"not is_blank(pain)\" */", old)
    assert "stage_requirement new_business.discovery" not in old and "__required\nwhen:" in old
    files["objects/Opportunity.object"] = old.encode()
    live = parse_retrieved(files)
    changes = replan(desired, live)
    assert [(c.action, str(c.address)) for c in changes] == [
        (Action.UPDATE, "stage_requirement.new_business.discovery")]
    before, after = changes[0].before or {}, changes[0].after or {}
    # the fields and stages read back from its `when`/`require` text are the requirement's; only `enforce` moves:
    # an earlier sos's rule bit on every save, and the default for a stage's `require` is now on_stage_change
    assert {k: v for k, v in before.items() if k != "enforce"} == {k: v for k, v in after.items() if k != "enforce"}
    assert (before["enforce"], after["enforce"]) == ("always", "on_stage_change")
    package = build_package(desired, changes, live, allow_delete=False)
    assert [(c.type, c.full_name) for c in package.components if c.type == "ValidationRule"] == [
        ("ValidationRule", "Opportunity." + rule_api_name("new_business__discovery__required"))]


# -- against the emulator ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_each_package_deploys_but_for_its_permission_set(sf: Any, emulator: SalesforceEmulator, case: str) -> None:
    staff_model(emulator, desired_of(case))
    state, problems = deploy(sf, full_package(desired_of(case)))
    assert (state, problems) == ("Succeeded", [])


@pytest.mark.parametrize("case", CASES)
def test_each_full_package_deploys(sf: Any, emulator: SalesforceEmulator, case: str) -> None:
    staff_model(emulator, desired_of(case))
    assert deploy(sf, full_package(desired_of(case))) == ("Succeeded", [])


def test_the_org_keeps_its_other_stage_values(sf: Any, emulator: SalesforceEmulator, tmp_path: Path) -> None:
    """The value-set trap: stages the blueprint does not name stay active after `apply`'s package."""
    emulator.org.seed_opportunities({"Prospecting": 2, "Negotiation/Review": 1})
    before = list(stage_rows(sf))
    desired = compile_text(tmp_path, SMALL)
    live = retrieve(sf, desired)
    changes = replan(desired, live)
    unmanaged = {str(r.address) for r in live.model if not r.managed}
    assert unmanaged == {"stage.new_business.won", "stage.new_business.lost"}   # the org's own Closed Won/Lost
    package = build_package(desired, changes, live, allow_delete=False)
    assert [d.code for d in package.notes] == ["default-status"]      # no value-set-replaces: the org's values stay
    stages = package.files["standardValueSets/OpportunityStage.standardValueSet"].decode()
    assert "<isActive>false</isActive>" not in stages
    assert deploy(sf, package) == ("Succeeded", [])
    rows = stage_rows(sf)
    assert [name for name, active in rows.items() if active] == [
        "Discovery", "Evaluation", "Commit", "Closed Won", "Closed Lost",
        *[name for name in before if name not in ("Closed Won", "Closed Lost")]]

    # Dropping a stage sos made deactivates it, but only with allow_delete.
    smaller = compile_text(tmp_path, SMALL.replace(
        "      - {key: commit, label: Commit, probability: 80, forecast: commit}\n", ""))
    live = retrieve(sf, smaller)
    changes = replan(smaller, live)
    assert (Action.DELETE, "stage.new_business.commit") in {(c.action, str(c.address)) for c in changes}
    kept = build_package(smaller, changes, live, allow_delete=False)
    assert "sos: managed (stage new_business.commit)" in \
        kept.files["standardValueSets/OpportunityStage.standardValueSet"].decode()
    assert deploy(sf, kept) == ("Succeeded", [])
    assert stage_rows(sf)["Commit"] is True
    dropped = build_package(smaller, changes, live, allow_delete=True)
    assert deploy(sf, dropped) == ("Succeeded", [])
    rows = stage_rows(sf)
    assert rows["Commit"] is False and rows["Prospecting"] is True and rows["Discovery"] is True


def test_a_new_lead_default_takes_over_from_the_orgs(sf: Any, tmp_path: Path) -> None:
    desired = compile_text(tmp_path, SMALL)
    live = retrieve(sf, desired)
    package = build_package(desired, replan(desired, live), live, allow_delete=False)
    assert [d.headline().split(": ", 1)[1] for d in package.notes] == [
        "warning: lead status 'New' becomes the default instead of 'Open - Not Contacted' [default-status]"]
    note = package.notes[0]
    assert note.span is not None and (Path(note.span.file).name, note.span.line) == ("blueprint.yaml", 16)
    assert SMALL.splitlines()[15].strip() == "- {key: new, label: New, default: true}"   # the status that takes over
    assert deploy(sf, package) == ("Succeeded", [])
    statuses = sf.query("SELECT ApiName, IsDefault FROM LeadStatus")["records"]
    assert {s["ApiName"] for s in statuses if s["IsDefault"]} == {"New"}
    values = retrieve(sf, desired).lead_status_values
    assert [(v["fullName"], v.get("isActive", True)) for v in values] == [
        ("New", True), ("Qualified", True), ("Open - Not Contacted", True), ("Working - Contacted", True),
        ("Closed - Converted", True), ("Closed - Not Converted", True)]


@pytest.mark.parametrize("case", ["smb-bant", "acme"])
def test_deploy_then_retrieve_plans_nothing(sf: Any, emulator: SalesforceEmulator, case: str) -> None:
    desired = desired_of(case)
    staff_model(emulator, desired)
    assert deploy(sf, full_package(desired))[0] == "Succeeded"
    assert replan(desired, retrieve(sf, desired)) == []


def test_deploy_then_retrieve_gives_back_every_held_resource(sf: Any, emulator: SalesforceEmulator) -> None:
    desired = desired_of("acme")
    staff_model(emulator, desired)
    assert deploy(sf, full_package(desired))[0] == "Succeeded"
    live = retrieve(sf, desired)
    assert held(live.model) == held(desired)
    rebuilt = build_package(desired, [], live, allow_delete=False)
    assert [(c.type, c.full_name) for c in rebuilt.components] == []
