"""Issue 15's "done when", end to end: a consultant's five-client portfolio in one folder.

Two clients start from built-in starters (smb-bant, b2b-saas-meddicc), three from a private starter `consult@1` in
the portfolio's starter library (sos-portfolio.yaml); each sets its own vars. The tests show `sos status`'s table,
that an edit to the private starter changes no client until `sos upgrade`, that `sos starters impact` names the
clients an edit changes, that a renamed stage keeps its deals on the sandbox and on Salesforce (the emulator), and
that pre-commit runs this repository's hooks over the portfolio.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.project import load_project
from tests.backends.salesforce.staff import staff
from tests.emulators.salesforce import SalesforceEmulator

ROOT = Path(__file__).resolve().parents[2]
CONSULT = """\
sos: 1
name: consult
description: Our services motion, version 1
extends: [starter:smb-bant]
fields:
  opportunity:
    engagement_type: {type: picklist, label: Engagement type, values: [Retainer, Project]}
"""
CLIENTS = {"alpha": "smb-bant", "bravo": "b2b-saas-meddicc", "charlie": "consult@1", "delta": "consult@1",
           "echo": "consult@1"}
# A stage of smb-bant (so of consult@1), renamed by charlie: the starter's stage removed, added under its new key.
RENAME = """\
remove:
  stages:
    new_business: [demo]
pipelines:
  new_business:
    stages:
      - key: product_demo
        renamed_from: demo
        label: Product demo
        probability: 25
        after: discovery_call
        require: [demo_date, decision_maker]
"""


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def client_vars(name: str, starter: str) -> dict[str, Any]:
    """Each client's own time zone and team, at its own domain (no placeholder address is left)."""
    domain = f"{name}.io"
    own = {"timezone": "Europe/Berlin" if name in ("alpha", "charlie") else "America/Chicago",
           "partner_manager": f"partners@{domain}"}
    if starter == "b2b-saas-meddicc":
        return {**own, "vp_sales": f"vp@{domain}", "emea_territory_team": [f"emea1@{domain}", f"emea2@{domain}"]}
    return {**own, "demo_requests_team": [f"ae1@{domain}", f"ae2@{domain}"],
            "catch_all_team": [f"sdr1@{domain}", f"sdr2@{domain}"]}


@pytest.fixture(scope="module")
def salesforce() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        yield emulator


@pytest.fixture
def portfolio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The portfolio folder: a starter library with consult@1, five clients with their vars."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "sos-portfolio.yaml").write_text("starters: [library]\n", encoding="utf-8")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "consult@1.yaml").write_text(CONSULT, encoding="utf-8")
    for name, starter in CLIENTS.items():
        assert sos("init", f"clients/{name}", "--starter", starter, "--name", name).exit_code == 0
        with (tmp_path / "clients" / name / "blueprint.yaml").open("a", encoding="utf-8") as out:
            out.write(yaml.safe_dump({"vars": client_vars(name, starter)}, sort_keys=False))
    return tmp_path


APPLIED = ("alpha", "charlie", "delta")


@pytest.fixture
def applied(portfolio: Path) -> Path:
    """The portfolio with three clients applied to their sandboxes, two not yet."""
    for name in APPLIED:
        assert sos_in(name, "apply", "--auto-approve").exit_code == 0
    return portfolio


def sos_in(client: str, *args: str) -> Result:
    """`sos -C clients/CLIENT …`, back in the portfolio folder after (-C moves the process)."""
    here = os.getcwd()
    try:
        return sos("-C", f"clients/{client}", *args)
    finally:
        os.chdir(here)


def plan_json(client: str) -> dict[str, Any]:
    result = sos_in(client, "plan", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_status_shows_one_row_per_client(applied: Path) -> None:
    rows = json.loads(sos("status", "--format", "json").stdout)
    assert [row["client"] for row in rows] == [f"clients/{name}" for name in CLIENTS]
    for row in rows:
        name = row["client"].removeprefix("clients/")
        summary = plan_json(name)["summary"]             # what a plan of that client says, asked separately
        done = name in APPLIED
        assert (row["target"], row["add"], row["change"], row["delete"], row["drift"]) == (
            "sandbox", summary["create"], summary["update"], summary["delete"], 0)
        assert (row["add"] == 0) == done and (row["last_apply"] or {}).get("outcome") == ("applied" if done else None)
    table = sos("status").stdout.splitlines()
    assert table[0].split()[:6] == ["client", "target", "add", "change", "delete", "drift"]
    assert [line.split()[:3] for line in table[1:]] == [[r["client"], "sandbox", "(local)"] for r in rows]


def test_a_starter_edit_changes_no_client_until_it_upgrades(applied: Path) -> None:
    before = {name: plan_json(name)["changes"] for name in CLIENTS}
    with (applied / "library" / "consult@1.yaml").open("a", encoding="utf-8") as out:
        out.write("    referral_source: {type: text, label: Referral source}\n")

    impact = sos("starters", "impact", "consult@1")
    assert impact.stdout.splitlines() == [f"clients/{name}: changes on `sos upgrade`"
                                          for name in ("charlie", "delta", "echo")]
    for name in ("alpha", "bravo"):                       # the built-in starters' clients plan as before
        assert plan_json(name)["changes"] == before[name]
    refused = sos_in("charlie", "plan")
    assert (refused.exit_code, refused.stderr.splitlines()[0]) == (
        1, "sos.lock:1:1: error: starter:consult@1 changed since this client locked it [starter-changed]")

    upgraded = sos_in("charlie", "upgrade")
    assert upgraded.exit_code == 0 and "+ field.opportunity.referral_source" in upgraded.stdout
    after = plan_json("charlie")["changes"]
    assert [(c["action"], c["address"]) for c in after] == [("create", "field.opportunity.referral_source")]
    refused = sos_in("delta", "plan")                      # delta has not upgraded: it still refuses
    assert refused.exit_code == 1 and "[starter-changed]" in refused.stderr


def sandbox_stages(client: Path) -> Counter[str]:
    with sqlite3.connect(client / ".sos" / "sandbox.db") as connection:
        return Counter(dict(connection.execute("SELECT stage, count(*) FROM opportunity GROUP BY stage")))


def on_salesforce(client: Path, salesforce: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch, *,
                  default: bool = False) -> None:
    """Give the client a target `prod` on the (reset) emulated org, its default if `default`; the org gets the
    people the client's routes name."""
    salesforce.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", salesforce.ca_file)
    monkeypatch.setenv("SF_ACCESS_TOKEN", salesforce.access_token)
    monkeypatch.setenv("SF_INSTANCE_URL", salesforce.instance_url)
    project = yaml.safe_load((client / "sos.yaml").read_text(encoding="utf-8"))
    project["targets"]["prod"] = {"type": "salesforce", "instance_url": salesforce.instance_url,
                                  "api_version": "63.0"}
    if default:
        project["default_target"] = "prod"
    (client / "sos.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    staff(salesforce, load_project(client / "sos.yaml"))


def test_a_renamed_stage_keeps_its_deals_on_the_sandbox_and_on_salesforce(
        portfolio: Path, salesforce: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    charlie = portfolio / "clients" / "charlie"
    on_salesforce(charlie, salesforce, monkeypatch)
    salesforce.deploy_polls = salesforce.retrieve_polls = 1
    monkeypatch.chdir(charlie)
    for target in ("sandbox", "prod"):
        result = sos("apply", "--target", target, "--auto-approve")
        assert result.exit_code == 0, result.output
    assert sos("sandbox", "seed", "--deals", "40").exit_code == 0
    salesforce.org.seed_opportunities({"Demo": 4, "Discovery call": 2})
    on_sandbox = sandbox_stages(charlie)
    assert on_sandbox["demo"] > 0                         # the seed put deals in the stage renamed

    with (charlie / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write(RENAME)
    for target in ("sandbox", "prod"):
        plan = json.loads(sos("plan", "--target", target, "--format", "json").stdout)
        stage = next(c for c in plan["changes"] if c["address"] == "stage.new_business.product_demo")
        assert (stage["action"], stage["renamed_from"]) == ("update", "stage.new_business.demo")
        assert plan["summary"]["delete"] == 0 and plan["summary"]["create"] == 0
        applied = sos("apply", "--target", target, "--auto-approve")
        assert applied.exit_code == 0, applied.stderr

    on_sandbox["product_demo"] = on_sandbox.pop("demo")
    assert sandbox_stages(charlie) == on_sandbox
    deals = Counter(str(r["StageName"]) for r in salesforce.org.records["Opportunity"].values())
    assert deals == {"Demo": 4, "Discovery call": 2}      # the value deals hold is kept ...
    labels = {v.full_name: v.label for v in salesforce.org.value_set("OpportunityStage")}
    assert labels["Demo"] == "Product demo"               # ... and shown under the new label
    for target in ("sandbox", "prod"):              # (Salesforce's own Closed Won and Lost stay unmanaged)
        again = sos("plan", "--target", target, "--format", "json")
        assert json.loads(again.stdout)["changes"] == [] and "[rename-done]" in again.stderr


def test_pre_commit_validates_and_formats_the_portfolio(portfolio: Path) -> None:
    """pre-commit (from PyPI) runs this repository's two hooks, as `repo: local` hooks (no network): each the
    entry and file pattern .pre-commit-hooks.yaml gives it, run by the sos of this environment."""
    sos_command = Path(sys.executable).parent / "sos"
    hooks = []
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")):
        entry = shlex.split(hook["entry"])
        hooks.append({**hook, "language": "system", "entry": shlex.join([str(sos_command), *entry[1:]])})
    (portfolio / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}),
                                                       encoding="utf-8")
    alpha = portfolio / "clients" / "alpha" / "blueprint.yaml"
    alpha.write_text("name: alpha\nsos: 1\nextends:   [starter:smb-bant]\n", encoding="utf-8")   # out of layout
    env = {**os.environ, "PRE_COMMIT_HOME": str(portfolio / ".pre-commit-home"), "GIT_CONFIG_GLOBAL": os.devnull}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=portfolio, env=env, capture_output=True, text=True, timeout=120)

    assert run("git", "init", "-q").returncode == 0 and run("git", "add", "-A").returncode == 0
    first = run(sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert first.returncode == 1, first.stdout               # sos fmt rewrote alpha's blueprint: pre-commit fails
    assert [line.split("...")[0] + ":" + line.rsplit(".", 1)[-1] for line in first.stdout.splitlines()
            if line.startswith("sos ")] == ["sos validate:Passed", "sos fmt:Failed"]
    assert alpha.read_text(encoding="utf-8") == "sos: 1\nname: alpha\nextends: [starter:smb-bant]\n"
    run("git", "add", "-A")
    second = run(sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert second.returncode == 0, second.stdout


def test_status_reads_a_client_on_a_crm_beside_the_sandboxes(
        applied: Path, salesforce: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # A client whose default target is a CRM is read on the pool while the sandboxes are read on the main thread
    # (sos/cli/status.py): every row still says what that client's own plan says.
    on_salesforce(applied / "clients" / "bravo", salesforce, monkeypatch, default=True)
    rows = {row["client"]: row for row in json.loads(sos("status", "--format", "json").stdout)}
    assert list(rows) == [f"clients/{name}" for name in CLIENTS]
    for name in CLIENTS:
        row, summary = rows[f"clients/{name}"], plan_json(name)["summary"]
        assert (row["target"], row["type"]) == (("prod", "salesforce") if name == "bravo" else ("sandbox", "local"))
        assert (row["add"], row["change"], row["delete"]) == (summary["create"], summary["update"], summary["delete"])
    assert rows["clients/bravo"]["add"] > 0 and rows["clients/alpha"]["add"] == 0
