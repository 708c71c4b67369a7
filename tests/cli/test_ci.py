"""sos ci github: the workflow a client repository runs, checked against GitHub's workflow schema (SchemaStore's
github-workflows.json, as vendored by check-jsonschema), its report schedules against zoneinfo, its secrets against
what each backend reads, and its bad input against located errors."""

from __future__ import annotations

import datetime
import importlib.resources
import json
import os
import shlex
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from sos import __version__
from sos.blueprint.schema import load_schema
from sos.ci.github import DRIFT_CRON, HANDOFF_CRON, REPORT_COMMANDS
from sos.cli import cli

WORKFLOW = Path(".github/workflows/sos.yml")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REPORTS = """\
cadences:
  monday_review:
    schedule: {every: monday, at: "09:00", timezone: Europe/Berlin}
    action: {report: pipeline_review}
  friday_forecast:
    schedule: {every: friday, at: "15:00", timezone: America/New_York}
    action: {report: forecast}
  hygiene:
    schedule: {every: weekday, at: "08:30", timezone: Australia/Sydney}
    action: {report: data_hygiene}
  first_touch:
    trigger: {record_created: lead}
    action: {create_task: {assign_to: owner, subject: Call them, due_in_hours: 4}}
"""
TARGETS = """\
sos: 1
targets:
  sandbox: {type: local}
  sf_cli: {type: salesforce, org: acme-prod, protected: true}
  sf_env: {type: salesforce, auth: env}
  sf_domain: {type: salesforce, auth: env, domain: acme.my}
  hs: {type: hubspot, token_env: ACME_HUBSPOT_TOKEN}
  hs_default: {type: hubspot}
  pd: {type: pipedrive, company_domain: acme}
  pd_named: {type: pipedrive, company_domain: acme, token_env: ACME_PD}
  gh: {type: hubspot, token_env: GITHUB_HS}
default_target: hs
"""
# What each kind of target reads its credentials from (the backends' auth modules and docs/ci.md).
SECRETS = {
    "sf_cli": ["SF_AUTH_URL"],
    "sf_env": ["SF_CONSUMER_KEY", "SF_CONSUMER_SECRET", "SF_DOMAIN"],
    "sf_domain": ["SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"],
    "hs": ["ACME_HUBSPOT_TOKEN"],
    "hs_default": ["HUBSPOT_ACCESS_TOKEN"],
    "pd": ["PIPEDRIVE_API_TOKEN"],
    "pd_named": ["ACME_PD"],
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A client repository with report cadences in three time zones and a target of every kind."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sos.yaml").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "blueprint.yaml").write_text("sos: 1\nname: acme\n" + REPORTS, encoding="utf-8")
    return tmp_path


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def workflow(root: Path) -> dict[str, Any]:
    return workflow_at(root / WORKFLOW)


def workflow_at(path: Path) -> dict[str, Any]:
    # YAML 1.2, as GitHub reads it: `on` is a key, not the boolean PyYAML's YAML 1.1 makes of it.
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def github_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "github-workflows.json").read_text(encoding="utf-8"))
    return schema


def schema_errors(data: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(github_schema())
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(data)]


@pytest.mark.parametrize("target", sorted(SECRETS))
def test_the_workflow_is_valid_for_github_and_names_each_kinds_secrets(
        client: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS[target]:
        monkeypatch.setenv(name, f"secret-value-of-{name}")
    result = sos("ci", "github", "--target", target)
    assert result.exit_code == 0, result.output
    text = (client / WORKFLOW).read_text(encoding="utf-8")
    data = workflow(client)
    assert schema_errors(data) == []
    secrets = {name: value for name, value in data["env"].items() if name != "SOS_TARGET"}
    assert secrets == {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS[target]}
    said = result.output[result.output.index("Create these repository secrets"):]
    assert [line.split(":")[0].strip() for line in said.splitlines()[1:] if line.startswith("  ")] == SECRETS[target]
    assert "secret-value-of" not in text + result.output
    assert data["env"]["SOS_TARGET"] == target
    for job in data["jobs"].values():
        assert f'pip install "sos-crm=={__version__}"' in [step.get("run") for step in job["steps"]]
        for step in job["steps"]:
            if "run" in step:      # every script is shell that bash parses
                check = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True)
                assert check.returncode == 0, (step["run"], check.stderr)


def test_schema_validation_catches_a_broken_workflow(client: Path) -> None:
    assert sos("ci", "github").exit_code == 0
    data = workflow(client)
    data["jobs"]["apply"]["concurrency"] = {"cancel-in-progress": False}    # a group is required
    del data["jobs"]["drift"]["runs-on"]
    assert len(schema_errors(data)) == 2


def test_sf_cli_targets_log_the_cli_in_from_the_auth_url(client: Path) -> None:
    assert sos("ci", "github", "--target", "sf_cli").exit_code == 0
    for job in workflow(client)["jobs"].values():
        login = next(step["run"] for step in job["steps"] if step.get("name") == "Log in to sf_cli")
        assert "sf org login sfdx-url --sfdx-url-file" in login and "--alias acme-prod" in login
        assert '"$SF_AUTH_URL"' in login


def test_pull_requests_plan_into_one_comment_and_merges_apply_a_fresh_saved_plan(client: Path) -> None:
    assert sos("ci", "github", "--target", "sf_cli", "--branch", "trunk").exit_code == 0
    data = workflow(client)
    assert data["on"]["pull_request"] == {"branches": ["trunk"]} and data["on"]["push"] == {"branches": ["trunk"]}
    plan, apply, drift = (data["jobs"][name] for name in ("plan", "apply", "drift"))
    script = next(step["run"] for step in plan["steps"] if step.get("name") == "Plan and comment")
    assert "sos plan --target \"$SOS_TARGET\" --format markdown --detailed-exitcode" in script
    assert "--method PATCH" in script and 'startswith(\\"$marker\\")' in script and "<!-- sos plan:" in script
    assert plan["permissions"]["pull-requests"] == "write"
    run = apply["steps"][-2]["run"]
    assert run.index("--out plan.json") < run.index("sos apply plan.json --target \"$SOS_TARGET\" --auto-approve")
    assert apply["concurrency"] == {"group": "sos-apply-sf_cli", "cancel-in-progress": False}
    assert apply["environment"] == "sf_cli"       # protected: a reviewer of that environment stands for typing it
    assert "environment" not in plan and "environment" not in drift
    assert "Target 'sf_cli' is protected" in sos("ci", "github", "--target", "sf_cli").output
    assert drift["if"] == f"github.event_name == 'workflow_dispatch' || github.event.schedule == '{DRIFT_CRON}'"
    assert "--detailed-exitcode" in drift["steps"][-1]["run"] and drift["permissions"]["issues"] == "write"


def test_an_unprotected_target_applies_without_an_environment(client: Path) -> None:
    assert sos("ci", "github", "--target", "pd").exit_code == 0
    assert "environment" not in workflow(client)["jobs"]["apply"]


def utc_runs(cron: str, around: datetime.date) -> list[datetime.datetime]:
    """The UTC times `cron` (minute hour * * days) fires in the week starting `around` (read as cron reads it)."""
    minute, hour, _, _, days = cron.split()
    if days == "*":
        wanted = set(range(7))
    elif "-" in days:
        low, high = (int(d) for d in days.split("-"))
        wanted = set(range(low, high + 1))
    else:
        wanted = {int(days)}
    week = [around + datetime.timedelta(days=n) for n in range(7)]
    return [datetime.datetime(d.year, d.month, d.day, int(hour), int(minute), tzinfo=datetime.UTC)
            for d in week if (d.weekday() + 1) % 7 in wanted]      # cron: 0 is Sunday


# (cadence, its local days, its time, its zone): summer and winter as each hemisphere has them.
CASES = [
    ("monday_review", {"monday"}, "09:00", "Europe/Berlin"),
    ("friday_forecast", {"friday"}, "15:00", "America/New_York"),
    ("hygiene", {"monday", "tuesday", "wednesday", "thursday", "friday"}, "08:30", "Australia/Sydney"),
]


@pytest.mark.parametrize(("key", "days", "at", "zone"), CASES)
def test_report_jobs_run_at_their_local_time_in_summer_and_an_hour_early_in_winter(
        client: Path, key: str, days: set[str], at: str, zone: str) -> None:
    result = sos("ci", "github")
    assert result.exit_code == 0, result.output
    data = workflow(client)
    job = data["jobs"][f"report_{key}"]
    cron = job["if"].split("'")[1]
    assert {"cron": cron} in data["on"]["schedule"]
    local = zoneinfo.ZoneInfo(zone)
    hour, minute = (int(part) for part in at.split(":"))
    for week in (datetime.date(2026, 1, 12), datetime.date(2026, 7, 13)):   # mid-January, mid-July
        runs = [moment.astimezone(local) for moment in utc_runs(cron, week)]
        assert {DAYS[moment.weekday()] for moment in runs} == days
        daylight = {bool(moment.dst()) for moment in runs}
        assert len(daylight) == 1
        expected = (hour, minute) if daylight.pop() else (hour - 1, minute)
        assert {(moment.hour, moment.minute) for moment in runs} == {expected}
    assert f"in standard time it runs at {hour - 1:02d}:{minute:02d} local, an hour early" in result.output
    command = REPORT_COMMANDS[{"monday_review": "pipeline_review", "friday_forecast": "forecast",
                               "hygiene": "data_hygiene"}[key]]
    said = next(line.strip() for line in result.output.splitlines() if line.strip().startswith(f"{key} "))
    assert said.startswith(f"{key} (sos {command}): {at} {zone}")
    comment = (client / WORKFLOW).read_text(encoding="utf-8")
    assert comment.count(f"# {key} (sos {command}): {at} {zone}") == 2      # beside its cron, and on its job
    step = job["steps"][-2]
    assert f'sos {command} --target "$SOS_TARGET" --format markdown > {key}.md' in step["run"]
    assert f'cat {key}.md >> "$GITHUB_STEP_SUMMARY"' in step["run"]
    assert job["steps"][-1]["with"] == {"name": key, "path": f"{key}.md"} and job["steps"][-1]["if"] == "always()"


def test_a_day_crossed_into_utc_moves_the_cron_day(client: Path) -> None:
    (client / "blueprint.yaml").write_text("sos: 1\nname: acme\ncadences:\n  early:\n    schedule: {every: monday, "
                                           'at: "00:30", timezone: Asia/Tokyo}\n    action: {report: forecast}\n',
                                           encoding="utf-8")
    assert sos("ci", "github").exit_code == 0
    cron = workflow(client)["jobs"]["report_early"]["if"].split("'")[1]
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    for week in (datetime.date(2026, 1, 12), datetime.date(2026, 7, 13)):    # Tokyo keeps one offset all year
        assert [(m.weekday(), m.hour, m.minute) for m in (r.astimezone(tokyo) for r in utc_runs(cron, week))] == [
            (0, 0, 30)]


def test_a_blueprint_without_report_cadences_gets_no_report_jobs(client: Path) -> None:
    (client / "blueprint.yaml").write_text("sos: 1\nname: acme\n" + REPORTS.split("  first_touch:")[0].split(
        "  monday_review:")[0] + "  first_touch:" + REPORTS.split("  first_touch:")[1], encoding="utf-8")
    assert sos("ci", "github").exit_code == 0
    data = workflow(client)
    assert sorted(data["jobs"]) == ["apply", "drift", "plan"]
    assert data["on"]["schedule"] == [{"cron": DRIFT_CRON}]


def test_a_blueprint_with_handoffs_gets_a_handoff_job(client: Path) -> None:
    assert "handoff" not in workflow_text_of(client)["jobs"]
    with (client / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write("pipelines:\n  sales:\n    label: Sales\n    object: opportunity\n    stages:\n"
                  "      - {key: open, label: Open, probability: 10, forecast: pipeline}\n"
                  "      - {key: won, label: Won, probability: 100, forecast: closed, outcome: won}\n"
                  "      - {key: lost, label: Lost, probability: 0, forecast: omitted, outcome: lost}\n"
                  "handoffs:\n  delivery:\n    stage: won\n    tool: jira\n    project: DEL\n"
                  "    issue_type: Task\n")
    data = workflow_text_of(client)
    assert schema_errors(data) == []
    job = data["jobs"]["handoff"]
    assert job["if"] == f"github.event.schedule == '{HANDOFF_CRON}'"
    assert {"cron": HANDOFF_CRON} in data["on"]["schedule"]
    assert job["steps"][-1]["run"] == 'sos handoff run --target "$SOS_TARGET"'


def workflow_text_of(client: Path) -> dict[str, Any]:
    result = sos("ci", "github", "--target", "hs")
    assert result.exit_code == 0, result.output
    return workflow(client)


def test_every_report_the_language_accepts_has_a_command() -> None:
    accepted = load_schema("blueprint")["$defs"]["Action"]["properties"]["report"]["enum"]
    assert sorted(REPORT_COMMANDS) == sorted(accepted)


@pytest.mark.parametrize(("written", "wrong", "said"), [
    ("forecast}", "weekly_digest}", "cadences.friday_forecast.action.report: 'weekly_digest' is not allowed here "
                                    "[bad-value]"),
    ("America/New_York", "America/New_Yrok", "cadence 'friday_forecast' is scheduled in unknown time zone "
                                             "'America/New_Yrok' [unknown-timezone]"),
])
def test_an_unknown_report_or_time_zone_is_refused_at_its_line(client: Path, written: str, wrong: str,
                                                               said: str) -> None:
    text = "sos: 1\nname: acme\n" + REPORTS.replace(written, wrong)
    (client / "blueprint.yaml").write_text(text, encoding="utf-8")
    line = next(n for n, line in enumerate(text.splitlines(), 1) if wrong in line)
    column = text.splitlines()[line - 1].index(wrong) + 1
    result = sos("ci", "github")
    assert (result.exit_code, result.output.splitlines()[0]) == (1, f"blueprint.yaml:{line}:{column}: error: {said}")
    assert sos("validate").output.splitlines()[0] == result.output.splitlines()[0]
    assert not (client / WORKFLOW).exists()


@pytest.mark.parametrize(("target", "first_line"), [
    ("prd", "sos.yaml:1:1: error: unknown target 'prd' [unknown-target]"),
    ("sandbox", "sos.yaml:3:12: error: target 'sandbox' is the local sandbox, kept in this machine's .sos folder: a CI "
                "runner starts without it [ci-target]"),
    ("gh", "sos.yaml:11:7: error: target 'gh' reads its credentials from GITHUB_HS, and GitHub allows no secret named "
           "GITHUB_… [ci-secret-name]"),
])
def test_a_target_ci_cannot_use_is_a_located_error(client: Path, target: str, first_line: str) -> None:
    result = sos("ci", "github", "--target", target)
    assert (result.exit_code, result.output.splitlines()[0]) == (1, first_line)
    assert not (client / WORKFLOW).exists()


def test_a_local_target_is_told_which_targets_ci_can_reach(client: Path) -> None:
    fix = sos("ci", "github", "--target", "sandbox").output.splitlines()[-1]
    targets = YAML(typ="safe").load(TARGETS)["targets"]
    reachable = [name for name, spec in targets.items() if spec["type"] != "local"]
    assert fix == f"  fix: pass --target {' or '.join(reachable)}"


def test_check_says_whether_the_file_is_up_to_date(client: Path) -> None:
    missing = sos("ci", "github", "--check")
    assert (missing.exit_code, missing.output) == (1, f"{WORKFLOW} does not exist; run `sos ci github` to write it\n")
    assert sos("ci", "github").exit_code == 0
    fresh = sos("ci", "github", "--check")
    assert (fresh.exit_code, fresh.output) == (0, f"{WORKFLOW} is up to date.\n")
    path = client / WORKFLOW
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:5] + ["# edited by hand\n", "# twice\n"] + lines[6:]), encoding="utf-8")
    stale = sos("ci", "github", "--check")
    assert (stale.exit_code, stale.output) == (
        1, f"{WORKFLOW} is out of date: 1 line to add and 2 to remove; run `sos ci github` and commit it\n")
    assert sos("ci", "github", "--check", "--target", "pd").exit_code == 1     # another target, another file


def test_pull_requests_check_the_workflow_is_up_to_date(client: Path) -> None:
    assert sos("ci", "github", "--target", "pd", "--branch", "trunk", "--out", "ci/sos flow.yml").exit_code == 0
    step = workflow_at(client / "ci" / "sos flow.yml")["jobs"]["plan"]["steps"][-1]
    assert step["name"] == "This workflow is up to date"
    args = shlex.split(step["run"].replace('"$SOS_TARGET"', "pd"))
    assert args[:3] == ["sos", "ci", "github"]
    assert (sos(*args[1:]).exit_code, sos(*args[1:]).output) == (0, "ci/sos flow.yml is up to date.\n")
    outside = sos("ci", "github", "--out", str(client.parent / "elsewhere.yml"))
    assert outside.exit_code == 1 and "is outside the client repository" in outside.output


def run_step(root: Path, job: str, step: str, *, exit_code: int, plan: str) -> subprocess.CompletedProcess[str]:
    """Run step `step` of job `job` of the written workflow as GitHub would (`bash -e`, the workflow's, job's and
    step's env), with `sos` a stand-in that prints `plan` and exits `exit_code`, and `gh` the fake in fake_gh.py."""
    data = workflow(root)
    found = next(s for s in data["jobs"][job]["steps"] if s.get("name") == step)
    bin_folder = root / "bin"
    bin_folder.mkdir(exist_ok=True)
    (bin_folder / "sos").write_text(f"#!/bin/sh\n[ {exit_code} = 1 ] && echo 'error: HubSpot said no' >&2\n"
                                    f"cat \"$FAKE_PLAN\"\nexit {exit_code}\n", encoding="utf-8")
    (bin_folder / "gh").write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name('fake_gh.py')} "
                                   '"$@"\n', encoding="utf-8")
    for name in ("sos", "gh"):
        (bin_folder / name).chmod(0o755)
    (root / "plan-text.md").write_text(plan, encoding="utf-8")
    env = {**data["env"], **{k: v for k, v in found.get("env", {}).items() if "${{" not in v},
           "PATH": f"{bin_folder}:{os.environ['PATH']}", "FAKE_PLAN": str(root / "plan-text.md"),
           "FAKE_GH_STATE": str(root / "github.json"), "GITHUB_REPOSITORY": "acme/client", "PR": "7",
           "GITHUB_STEP_SUMMARY": str(root / "summary.md"), "GITHUB_REF_NAME": "main",
           "GITHUB_SHA": "abc123"}
    return subprocess.run(["bash", "-e", "-c", found["run"]], cwd=root, env=env, capture_output=True, text=True,
                          timeout=60)


def github_state(root: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((root / "github.json").read_text(encoding="utf-8"))
    return state


def test_the_plan_is_one_comment_edited_on_each_push(client: Path) -> None:
    assert sos("ci", "github").exit_code == 0
    (client / "github.json").write_text(json.dumps({"comments": [{"id": 1, "issue": 7, "body": "LGTM"}]}))
    first = run_step(client, "plan", "Plan and comment", exit_code=2, plan="## Plan: 1 to add\n")
    assert first.returncode == 0, first.stderr      # changes (2) are a good plan
    posted = github_state(client)["comments"][1]
    assert posted["body"] == "<!-- sos plan: hs -->\n## Plan: 1 to add\n"
    second = run_step(client, "plan", "Plan and comment", exit_code=0, plan="## No changes\n")
    assert second.returncode == 0, second.stderr
    comments = github_state(client)["comments"]
    assert [(c["id"], c["body"]) for c in comments] == [
        (1, "LGTM"), (posted["id"], "<!-- sos plan: hs -->\n## No changes\n")]
    failed = run_step(client, "plan", "Plan and comment", exit_code=1, plan="")
    assert failed.returncode == 1
    comments = github_state(client)["comments"]
    assert len(comments) == 2 and comments[1]["body"].startswith("<!-- sos plan: hs -->\n**sos plan failed**")
    assert "error: HubSpot said no" in comments[1]["body"]
    assert "error: HubSpot said no" in (client / "summary.md").read_text(encoding="utf-8")


def test_drift_opens_one_issue_and_closes_it_when_gone(client: Path) -> None:
    assert sos("ci", "github").exit_code == 0
    for night in ("~ stage renamed\n", "~ stage renamed\n- rule gone\n"):
        done = run_step(client, "drift", "Check for drift", exit_code=2, plan=night)
        assert done.returncode == 0, done.stderr
    [issue] = github_state(client)["issues"]
    assert issue["state"] == "open" and issue["title"] == "sos: target hs drifted from the blueprint"
    assert issue["body"].startswith("<!-- sos drift: hs -->\n") and issue["body"].endswith("- rule gone\n")
    assert run_step(client, "drift", "Check for drift", exit_code=0, plan="").returncode == 0
    state = github_state(client)
    assert [i["state"] for i in state["issues"]] == ["closed"]
    assert [c["body"] for c in state["comments"]] == ["The CRM matches the blueprint again."]
    assert run_step(client, "drift", "Check for drift", exit_code=1, plan="").returncode == 1
    assert len(github_state(client)["issues"]) == 1


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def test_a_shared_history_is_committed_after_each_apply(client: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    (client / "sos.yaml").write_text(TARGETS + "history: repository\n", encoding="utf-8")
    assert sos("ci", "github").exit_code == 0
    apply = workflow(client)["jobs"]["apply"]
    assert apply["permissions"] == {"contents": "write"}
    origin = tmp_path_factory.mktemp("origin")
    git(origin, "init", "--quiet", "--bare", "--initial-branch=main")
    git(client, "init", "--quiet", "--initial-branch=main")
    git(client, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "start")
    git(client, "remote", "add", "origin", str(origin))
    git(client, "push", "--quiet", "origin", "main")
    (client / "history").mkdir()
    (client / "history" / "2026-12-05T03-00-00Z.json").write_text('{"target": "hs"}\n', encoding="utf-8")
    done = run_step(client, "apply", "Commit the apply's record in history/", exit_code=0, plan="")
    assert done.returncode == 0, done.stderr
    assert git(origin, "log", "--format=%s", "main").splitlines() == ["sos: record the apply to hs of abc123", "start"]
    assert git(origin, "show", "--name-only", "--format=", "main").split() == ["history/2026-12-05T03-00-00Z.json"]
    again = run_step(client, "apply", "Commit the apply's record in history/", exit_code=0, plan="")
    assert again.returncode == 0 and len(git(origin, "log", "--format=%s", "main").splitlines()) == 2
