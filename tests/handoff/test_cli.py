"""`sos handoff run` as a user runs it: the dry run, the credentials it needs and never prints, a tool that refuses,
and the plan that shows the link field."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from sos.cli import cli
from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator
from tests.handoff.conftest import add_deals, sandbox

SINCE = ["--since", "2026-11-01"]   # the deals in the window entered their stage on 2026-12-01, the old one in Sept.


def invoke(args: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=environ, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_dry_run_names_what_it_would_create_and_creates_nothing(client: Path, asana: AsanaEmulator,
                                                                 jira: JiraEmulator) -> None:
    add_deals(client)
    code, out, err = invoke(["handoff", "run", "--dry-run", *SINCE], {})   # no credentials needed to look
    assert (code, out) == (0, "2 would be handed off (dry run: nothing created).\n")
    assert err.splitlines() == ["delivery: would create 'Globex — Globex rollout' in asana",
                                "ticket: would create 'Onboard Globex' in jira"]
    assert asana.projects == [] and jira.issues == []
    assert sum(asana.calls.values()) + sum(jira.calls.values()) == 0


def test_missing_credentials_are_named_and_no_secret_is_printed(client: Path, jira: JiraEmulator,
                                                                environ: dict[str, str]) -> None:
    add_deals(client)
    partial = {k: v for k, v in environ.items() if k != "ASANA_TOKEN"}
    code, out, err = invoke(["handoff", "run", *SINCE], partial)
    assert code == 1
    assert err.splitlines()[0] == ("error: `sos handoff run` needs ASANA_TOKEN (a personal access token or service "
                                   "account token) in the environment [handoff-credentials]")
    assert jira.api_token not in out + err
    deals = sandbox(client).records("opportunity", today=datetime.date(2026, 12, 5))
    assert [d["delivery_link"] for d in deals].count(None) == 3   # nothing claimed: the rollout, the open, the old


def test_a_refused_token_fails_the_deal_releases_its_claim_and_exits_1(client: Path, asana: AsanaEmulator,
                                                                       jira: JiraEmulator,
                                                                       environ: dict[str, str]) -> None:
    ids = add_deals(client)
    wrong = {**environ, "ASANA_TOKEN": "2/1100/not-the-token-at-all"}
    code, out, err = invoke(["handoff", "run", "--only", "delivery", *SINCE], wrong)
    assert code == 1
    assert out == "0 handed off, 0 already had one, 1 failed.\n"
    assert "failed: delivery: Globex rollout: Asana refused the handoff: 401 Not Authorized" in err.splitlines()
    assert "not-the-token-at-all" not in out + err
    row = sandbox(client).stored_row("opportunity", ids["Globex rollout"])
    assert row is not None and row["delivery_link"] is None        # the next run tries it again
    assert jira.calls == {} and asana.projects == []
    # With the right token, the next run hands it off.
    code, out, _ = invoke(["handoff", "run", "--only", "delivery", *SINCE], environ)
    assert (code, out) == (0, "1 handed off, 0 already had one, 0 failed.\n")
    assert [p.name for p in asana.projects] == ["Globex — Globex rollout"]


def test_a_handoff_the_blueprint_lacks_is_named_with_its_handoffs(client: Path, environ: dict[str, str]) -> None:
    code, _, err = invoke(["handoff", "run", "--only", "delivry"], environ)
    assert code == 1
    assert err.splitlines()[:2] == ["error: the blueprint has no handoff 'delivry' [handoff-unknown]",
                                    "  fix: did you mean 'delivery'?"]


def test_a_crm_target_is_refused_at_its_line_until_its_deals_can_be_claimed(client: Path,
                                                                         environ: dict[str, str]) -> None:
    (client / "sos.yaml").write_text("blueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\n"
                                     "  prod: {type: hubspot, token_env: HS_TOKEN}\ndefault_target: sandbox\n",
                                     encoding="utf-8")
    code, _, err = invoke(["handoff", "run", "--target", "prod"], environ)
    assert code == 1
    assert err.splitlines()[0] == ("sos.yaml:4:9: error: target 'prod' has type 'hubspot': `sos handoff run` "
                                   "cannot read and claim its deals yet [handoff-target]")
    assert "  fix: docs/handoff.md says which types of target it runs on" in err.splitlines()


def test_validate_counts_the_handoffs(client: Path) -> None:
    code, out, _ = invoke(["validate"], {})
    assert (code, out) == (0, "blueprint.yaml is valid: 2 fields, 1 pipeline, 0 rules, 0 cadences, 0 routes, "
                              "2 handoffs\n")


def test_the_plan_adds_each_link_field_and_says_who_runs_the_handoffs(client: Path) -> None:
    (client / ".sos" / "sandbox.db").unlink()
    code, out, _ = invoke(["plan"], {})
    assert code == 0
    assert "+ field.opportunity.delivery_link" in out and "+ field.opportunity.ticket_link" in out
    assert ("2 handoffs in the blueprint are not applied: `sos handoff run` creates them in the project-management "
            "tool and writes each link back on the deal, into the handoff's link field (a url field)") in out


def test_a_saved_plan_carries_the_handoffs_and_matches_the_plan_schema(client: Path) -> None:
    (client / ".sos" / "sandbox.db").unlink()
    code, _, _ = invoke(["plan", "-o", "plan.json"], {})
    assert code == 0
    saved = json.loads((client / "plan.json").read_text(encoding="utf-8"))
    assert [r["address"] for r in saved["desired"] if r["address"].startswith("handoff.")] == [
        "handoff.opportunity.delivery", "handoff.opportunity.ticket"]
    schema = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(saved)] == []
    code, out, _ = invoke(["apply", "plan.json", "--auto-approve"], {})
    assert (code, out.splitlines()[-1]) == (0, "Apply complete: 8 added, 0 changed, 0 deleted.")
