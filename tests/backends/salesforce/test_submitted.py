"""A deploy Salesforce accepted, then lost sight of while polling: submitted, may still complete, never "failed".

The session expires, the rate limit never lifts, or the connection drops, each only *after* the deploy is
submitted. Salesforce runs the deploy anyway (the emulator's `finish_deploys`), so sos names the deploy, records
the outcome as unknown, and `sos apply --resume ID` (or the next plan) finds out what happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from sos.backends.base import ApplyUnknown
from sos.backends.salesforce.backend import SalesforceBackend
from sos.cli import cli
from sos.history import read_history
from sos.engine import apply_plan, desired_model
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL, plan_for
from tests.emulators.salesforce import SalesforceEmulator

FIX = ("run `sos apply --resume {id}` to wait for it and record its outcome (or see it in Setup → Deployment "
       "Status); `sos plan` shows what the org holds now")


def lost_because(emulator: SalesforceEmulator, fault: str) -> str:
    """Schedule `fault` for the deploy's status checks only; what sos then says it could not learn the outcome for."""
    if fault == "session-expired":
        emulator.faults.expire_session(times=1, operations={"checkDeployStatus"})
        return ("the Salesforce access token has expired or is not valid (Salesforce answered HTTP 500 "
                "INVALID_SESSION_ID: Session expired or invalid)")
    if fault == "rate-limited":
        emulator.faults.rate_limit(times=100, status=429, operations={"checkDeployStatus"})
        return ("Salesforce is refusing requests for now (HTTP 429 REQUEST_LIMIT_EXCEEDED: Too many requests. Retry "
                "after a while.); gave up after 6 tries over 62 s")
    emulator.faults.drop_connection(times=1, operations={"checkDeployStatus"})
    return f"could not reach Salesforce at {emulator.instance_url} during checkDeployStatus: ConnectionError"


@pytest.mark.parametrize("fault", ["session-expired", "rate-limited", "connection-dropped"])
def test_a_deploy_lost_while_polling_is_unknown_then_resumed(
        emulator: SalesforceEmulator, make_project: Callable[..., Project],
        backend_for: Callable[..., SalesforceBackend], monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    project = make_project(SMALL)
    backend = backend_for(project)
    plan = plan_for(project, backend)
    lost = lost_because(emulator, fault)
    with pytest.raises(ApplyUnknown) as caught:
        apply_plan(project, backend, plan, desired_model(project))
    [deploy_id] = emulator.metadata.deploys
    assert caught.value.job == deploy_id and deploy_id.startswith("0Af")
    error = caught.value.diagnostics[0]
    assert (error.code, error.message, error.fix) == (
        "sf-deploy-unknown", f"deploy {deploy_id} was submitted to Salesforce and may still complete, but sos could "
        f"not learn its outcome: {lost}", FIX.format(id=deploy_id))
    [entry] = read_history(project.state_dir)
    assert (entry["outcome"], entry["job"], entry["error"]) == ("unknown", deploy_id, error.message)

    emulator.faults.clear()
    emulator.finish_deploys()                    # Salesforce ran the deploy all the same
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is not None
    monkeypatch.chdir(project.root)
    planned = CliRunner().invoke(cli, ["plan"])               # the next plan shows the truth, and the loose end
    assert "No changes. The CRM matches the blueprint." in planned.stdout
    assert planned.stderr.splitlines()[-3:] == [
        f"warning: the last apply to target 'prod' ({entry['at']}) was submitted as {deploy_id}, and its outcome is "
        "not known yet [apply-unknown]",
        "  why: it may still complete; until it does, the CRM may change under this plan",
        f"  fix: run `sos apply --resume {deploy_id}` to wait for it and record its outcome"]

    emulator.calls.clear()
    resumed = CliRunner().invoke(cli, ["apply", "--resume", deploy_id])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout == f"deploy {deploy_id} succeeded: 11 components deployed\n"
    assert emulator.calls == {"checkDeployStatus": 1}
    last = read_history(project.state_dir)[-1]
    assert (last["outcome"], last["job"], last["plan_digest"]) == ("applied", deploy_id, entry["plan_digest"])
    assert "apply-unknown" not in CliRunner().invoke(cli, ["plan"]).stderr


def test_the_cli_says_submitted_and_names_the_deploy(emulator: SalesforceEmulator,
                                                     make_project: Callable[..., Project],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    lost = lost_because(emulator, "connection-dropped")
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    [deploy_id] = emulator.metadata.deploys
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-3:] == [
        f"error: deploy {deploy_id} was submitted to Salesforce and may still complete, but sos could not learn its "
        f"outcome: {lost} [sf-deploy-unknown]",
        "  why: Salesforce runs a deploy it accepted to its end whether or not sos is still asking",
        "  fix: " + FIX.format(id=deploy_id)]
    assert "failed" not in result.stderr
    history = json.loads(CliRunner().invoke(cli, ["history", "--format", "json"]).stdout)
    assert [(e["outcome"], e.get("job")) for e in history] == [("unknown", deploy_id)]
    assert f" unknown {deploy_id}: deploy {deploy_id} was submitted" in CliRunner().invoke(cli, ["history"]).stdout


def test_a_resumed_deploy_that_failed_is_recorded_as_failed(emulator: SalesforceEmulator,
                                                            make_project: Callable[..., Project],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    lost_because(emulator, "connection-dropped")
    assert CliRunner().invoke(cli, ["apply", "--auto-approve"]).exit_code == 1
    [deploy_id] = emulator.metadata.deploys
    emulator.faults.fail_component("Opportunity.Competitor__c", "Field label too long")
    emulator.finish_deploys()
    resumed = CliRunner().invoke(cli, ["apply", "--resume", deploy_id])
    assert resumed.exit_code == 1
    assert resumed.stderr.splitlines()[1].startswith(f"error: deploy {deploy_id} failed, so none of it was applied: "
                                                     "CustomField Opportunity.Competitor__c: Field label too long; ")
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is None
    assert [e["outcome"] for e in read_history(project.state_dir)] == ["unknown", "failed"]


def test_resume_of_an_id_no_apply_submitted(emulator: SalesforceEmulator, make_project: Callable[..., Project],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["apply", "--resume", "0AfXX0000000001"])
    assert result.exit_code == 1
    assert result.stderr == ("error: no apply in this project's history submitted 0AfXX0000000001; `sos history` lists "
                             "past applies and the id of each whose outcome is unknown [unknown-job]\n")
    assert emulator.calls == {}


def test_a_validation_lost_while_polling_suggests_validating_again(emulator: SalesforceEmulator,
                                                                   make_project: Callable[..., Project],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    lost_because(emulator, "connection-dropped")
    result = CliRunner().invoke(cli, ["plan", "--validate"])
    [deploy_id] = emulator.metadata.deploys
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"  fix: see validation {deploy_id} in Setup → Deployment Status, or "
                                              "run `sos plan --validate` again")
    assert read_history(project.state_dir) == []


def test_ctrl_c_while_polling_a_submitted_deploy_names_it(emulator: SalesforceEmulator,
                                                          make_project: Callable[..., Project],
                                                          backend_for: Callable[..., SalesforceBackend],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands in the wait between two status checks: the deploy goes on in Salesforce all the same."""
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    backend = backend_for(project)

    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    backend.client.sleep = ctrl_c
    monkeypatch.setattr("sos.engine.open_backend", lambda target, root: backend)
    emulator.deploy_polls = 3                                # not done at the first status check
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    [deploy_id] = emulator.metadata.deploys
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (f"Interrupted. {deploy_id} was submitted and may still complete: "
                                              f"`sos apply --resume {deploy_id}` waits for it and records its "
                                              "outcome.")
    [entry] = read_history(project.state_dir)
    assert (entry["outcome"], entry["job"]) == ("unknown", deploy_id)
    emulator.finish_deploys()
    resumed = CliRunner().invoke(cli, ["apply", "--resume", deploy_id])   # its own backend: done at the first check
    assert resumed.exit_code == 0, resumed.output
    assert [e["outcome"] for e in read_history(project.state_dir)] == ["unknown", "applied"]
