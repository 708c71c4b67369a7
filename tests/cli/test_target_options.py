"""Each backend declares its targets' options (sos/backends/<type>/options.schema.json); sos.yaml is checked
against them, and `sos init` writes them into the schema editors complete sos.yaml from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli
from sos.resources import load_schema

ROOT = Path(__file__).resolve().parents[2]
SALESFORCE_OPTIONS = json.loads((ROOT / "sos/backends/salesforce/options.schema.json").read_text(encoding="utf-8"))


def test_the_project_schema_takes_salesforce_options_from_the_backend() -> None:
    core = json.loads((ROOT / "schemas/project.schema.json").read_text(encoding="utf-8"))["$defs"]["Target"]
    assert sorted(SALESFORCE_OPTIONS["properties"]) == ["api_version", "auth", "domain", "instance_url", "org",
                                                        "take_over_lead_assignment"]
    assert set(core["properties"]) & set(SALESFORCE_OPTIONS["properties"]) == set()
    target = load_schema("project")["$defs"]["Target"]
    branch = next(b["then"] for b in target["allOf"] if b["if"]["properties"]["type"]["const"] == "salesforce")
    assert list(branch["properties"]) == ["type", "org", "instance_url", "domain", "api_version", "auth",
                                          "take_over_lead_assignment", "description", "allow_delete", "protected"]
    assert {key: target["properties"][key] for key in SALESFORCE_OPTIONS["properties"]} == \
        SALESFORCE_OPTIONS["properties"]


@pytest.mark.parametrize(("target", "expected"), [
    pytest.param("{type: salesforce, org: acme, path: x.db}",
                 ["sos.yaml:3:39: error: unknown key 'path' in targets.prod [unknown-key]",
                  "  fix: did you mean 'auth'?"], id="unknown-key"),
    pytest.param("{type: salesforce, instance_url: http://x}",
                 ["sos.yaml:3:42: error: targets.prod.instance_url: 'http://x' does not have the expected form "
                  "[schema-pattern]"], id="pattern"),
    pytest.param("{type: pipedrive, company_domain: acme, portal_id: 5}",
                 ["sos.yaml:3:49: error: unknown key 'portal_id' in targets.prod [unknown-key]",
                  "  fix: allowed keys: type, company_domain, token_env, api_url, description, allow_delete, "
                  "protected"],
                 id="hubspot-option-on-pipedrive"),
    pytest.param("{type: hubspot, portal_id: '62515'}",
                 ["sos.yaml:3:36: error: targets.prod.portal_id must be a whole number [wrong-type]"],
                 id="hubspot-portal-id"),
    pytest.param("{type: local, org: acme}",
                 ["sos.yaml:3:23: error: unknown key 'org' in targets.prod [unknown-key]",
                  "  fix: allowed keys: type, path, description, allow_delete, protected"],
                 id="option-of-another-type"),
])
def test_a_target_is_checked_against_its_backends_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          target: str, expected: list[str]) -> None:
    (tmp_path / "sos.yaml").write_text(f"sos: 1\ntargets:\n  prod: {target}\n", encoding="utf-8")
    (tmp_path / "blueprint.yaml").write_text("sos: 1\nname: t\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith(("sos.yaml:3:", "  fix:"))] == expected


def test_init_offers_each_backends_example_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "zeta", "--starter", "smb-bant"]).exit_code == 0
    written = (tmp_path / "zeta/sos.yaml").read_text(encoding="utf-8")
    # each CRM sos plans and applies (no backend yet: no example), with the client's name
    assert "  # salesforce_prod:\n  #   type: salesforce\n  #   org: zeta-prod\n" in written
    assert ("  # hubspot_prod:\n  #   type: hubspot\n  #   token_env: ZETA_HUBSPOT_TOKEN\n  #   portal_id: 62515\n"
            in written)
    assert "  # pipedrive_prod:\n  #   type: pipedrive\n  #   company_domain: zeta\n" \
           "  #   token_env: ZETA_PIPEDRIVE_API_TOKEN\n" in written
    uncommented = re.sub(r"^  # (\w+_prod:|  )", r"  \1", written, flags=re.M).replace("default_target: sandbox\n", "")
    (tmp_path / "zeta/sos.yaml").write_text(uncommented + "default_target: sandbox\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "zeta")
    result = CliRunner().invoke(cli, ["validate"])
    # valid for every CRM; each lint warns of what its CRM holds otherwise (HubSpot: a lookup left out, a rounded
    # probability; Pipedrive: what the starter's checkboxes and required fields become there)
    headlines = [line for line in result.stderr.splitlines() if not line.startswith(" ")]
    assert result.exit_code == 0
    assert {line.rsplit(" ", 1)[-1] for line in headlines} == {
        "[hs-lookup]", "[hs-probability]", "[placeholder-domain]", "[pd-checkbox]", "[pd-standard-required]",
        "[pd-checkbox-required]", "[pd-closed-required]"}
    assert all(": warning: " in line for line in headlines)
