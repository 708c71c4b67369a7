"""Faults the emulator injects on demand, seen through the backend: each ends in a retry or a clear message.

No test sleeps: the backend's `sleep` is a recorder, so the backoff it would have waited is asserted instead.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from sos.backends.base import ApplyUnknown
from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.client import DAILY_LIMIT_FIX, MAX_POLLS, classify, poll_waits
from sos.backends.salesforce.names import rule_api_name
from sos.cli import cli
from sos.errors import SosError
from sos.model.resources import Address, Kind, Model
from sos.engine import desired_model
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL, Recorder, plan_for
from tests.emulators.salesforce import SalesforceEmulator

MakeProject = Callable[..., Project]
MakeBackend = Callable[..., SalesforceBackend]
RULE = Address(Kind.RULE, "opportunity", "close_date_not_past")


def oauth_env(emulator: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for the OAuth username-password flow, instead of an access token."""
    creds = emulator.credentials
    monkeypatch.delenv("SF_ACCESS_TOKEN", raising=False)
    for name, value in (("SF_USERNAME", creds.username), ("SF_PASSWORD", creds.password),
                        ("SF_CONSUMER_KEY", creds.consumer_key), ("SF_CONSUMER_SECRET", creds.consumer_secret)):
        monkeypatch.setenv(name, value)


# -- expired sessions ---------------------------------------------------------------------------


def test_expired_session_logs_in_again_once(emulator: SalesforceEmulator, make_project: MakeProject,
                                            backend_for: MakeBackend, recorder: Recorder,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL, token=False)
    oauth_env(emulator, monkeypatch)
    backend = backend_for(project, session=emulator.login_session())
    plan = plan_for(project, backend)
    assert emulator.calls["oauth_token"] == 1
    emulator.invalidate_sessions()                 # every session id stops working, as after a real expiry
    emulator.calls.clear()
    result = backend.apply(plan, desired_model(project))
    assert result.ok, result.failed
    assert emulator.calls == {"retrieve": 2, "oauth_token": 1, "checkRetrieveStatus": 1, "deploy": 1,
                              "checkDeployStatus": 1, "userinfo": 1, "query": 2, "create": 1}
    assert "Salesforce session expired; logging in again…" in recorder.lines


def test_session_refused_twice_is_a_clear_error(emulator: SalesforceEmulator, make_project: MakeProject,
                                               backend_for: MakeBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL, token=False)
    oauth_env(emulator, monkeypatch)
    emulator.faults.expire_session(times=2, operations={"retrieve"})
    with pytest.raises(SosError) as caught:
        backend_for(project, session=emulator.login_session()).read(plan_model(project))
    error = caught.value.diagnostics[0]
    assert error.message == ("Salesforce refused the session again right after logging in again (HTTP 500 "
                             "INVALID_SESSION_ID: Session expired or invalid); check that the user may use the API")
    assert emulator.calls == {"oauth_token": 2, "retrieve": 2}


def test_expired_access_token_says_how_to_get_a_new_one(emulator: SalesforceEmulator, make_project: MakeProject,
                                                        backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    emulator.faults.expire_session(times=1)
    with pytest.raises(SosError) as caught:
        backend_for(project).read(plan_model(project))
    error = caught.value.diagnostics[0]
    assert error.message == ("the Salesforce access token has expired or is not valid (Salesforce answered HTTP 500 "
                             "INVALID_SESSION_ID: Session expired or invalid)")
    assert error.code == "sf-session-expired"
    assert error.fix.startswith("get a new access token (for example `sf org display --target-org ALIAS --json`")
    assert "SF_ACCESS_TOKEN" in error.fix and emulator.access_token not in str(caught.value)
    assert emulator.calls == {"retrieve": 1}


def test_sf_cli_session_is_asked_for_again(emulator: SalesforceEmulator, make_project: MakeProject,
                                          backend_for: MakeBackend, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With `org: ALIAS`, connecting again runs `sf org display` again (the CLI renews the token itself)."""
    log = tmp_path / "sf-calls.log"
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "sf"
    answer = {"status": 0, "result": {"accessToken": emulator.access_token, "instanceUrl": emulator.instance_url}}
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write('display\\n')\n"
                      f"print({json.dumps(json.dumps(answer))})\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    project = make_project(SMALL, token=False, options=", org: acme-prod")
    emulator.faults.expire_session(times=1, operations={"checkRetrieveStatus"})
    backend_for(project).read(plan_model(project))
    assert log.read_text() == "display\ndisplay\n"
    assert emulator.calls == {"retrieve": 1, "checkRetrieveStatus": 2}


# -- rate limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_then_success(emulator: SalesforceEmulator, make_project: MakeProject, backend_for: MakeBackend,
                                 recorder: Recorder, status: int) -> None:
    project = make_project(SMALL)
    emulator.faults.rate_limit(times=2, status=status, operations={"retrieve"})
    backend_for(project).read(plan_model(project))
    assert recorder.sleeps == [2.0, 4.0]
    assert emulator.calls == {"retrieve": 3, "checkRetrieveStatus": 1}
    code = "SERVER_UNAVAILABLE" if status == 503 else "REQUEST_LIMIT_EXCEEDED"
    assert recorder.lines[0].startswith(f"Salesforce is limiting requests (HTTP {status} {code}: ")
    assert recorder.lines[0].endswith("retrying in 2 s…")


def test_unavailable_while_polling_a_deploy(emulator: SalesforceEmulator, make_project: MakeProject,
                                            backend_for: MakeBackend, recorder: Recorder) -> None:
    project = make_project(SMALL)
    backend = backend_for(project)
    plan = plan_for(project, backend)
    emulator.faults.rate_limit(times=1, status=503, operations={"checkDeployStatus"})
    assert backend.apply(plan, desired_model(project)).ok
    assert emulator.calls["checkDeployStatus"] == 2 and recorder.sleeps == [2.0]


def test_rate_limit_that_does_not_lift(emulator: SalesforceEmulator, make_project: MakeProject,
                                      backend_for: MakeBackend, recorder: Recorder) -> None:
    project = make_project(SMALL)
    emulator.faults.rate_limit(times=50, status=429)
    with pytest.raises(SosError) as caught:
        backend_for(project).read(plan_model(project))
    error = caught.value.diagnostics[0]
    assert error.message == ("Salesforce is refusing requests for now (HTTP 429 REQUEST_LIMIT_EXCEEDED: Too many "
                             "requests. Retry after a while.); gave up after 6 tries over 62 s")
    assert error.fix.startswith("wait a few minutes and run the command again")
    assert recorder.sleeps == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert emulator.calls == {"retrieve": 6}


def test_daily_limit_is_final_at_once(emulator: SalesforceEmulator, make_project: MakeProject,
                                      backend_for: MakeBackend, recorder: Recorder) -> None:
    """TotalRequests Limit exceeded (the emulator's 403 fault, answered by SOAP as a fault at HTTP 500) is the org's
    daily allowance: it lifts over hours, so sos stops at the first refusal and says so."""
    project = make_project(SMALL)
    emulator.faults.rate_limit(times=50, status=403)
    with pytest.raises(SosError) as caught:
        backend_for(project).read(plan_model(project))
    error = caught.value.diagnostics[0]
    assert error.code == "sf-daily-limit"
    assert error.message == ("the org's daily API allowance is used up (Salesforce answered HTTP 500 "
                             "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.)")
    assert "rolling 24 hours" in error.why
    assert error.fix == DAILY_LIMIT_FIX
    for words in ("rolling window", "does not reset at midnight", "Setup → Company Information", "`sos targets`"):
        assert words in error.fix
    assert recorder.sleeps == [] and recorder.lines == []
    assert emulator.calls == {"retrieve": 1}


def test_daily_limit_used_up_in_sos_targets(emulator: SalesforceEmulator, make_project: MakeProject,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`sos targets` (with the real sleep) answers at once: one refused call, no backoff."""
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    emulator.daily_api_max = 0
    try:
        result = CliRunner().invoke(cli, ["targets"])
    finally:
        emulator.daily_api_max = 15000
    assert result.exit_code == 1
    assert result.stdout == ("* prod         salesforce  unreachable: the org's daily API allowance is used up "
                             "(Salesforce answered HTTP 403 REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.) "
                             "[sf-daily-limit]\n")
    assert emulator.calls == {"limits": 1}


@pytest.mark.parametrize(("status", "body", "kind"), [
    pytest.param(403, {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}, "daily",
                 id="daily-allowance"),
    pytest.param(403, {"errorCode": "REQUEST_LIMIT_EXCEEDED",
                       "message": "ConcurrentPerOrgLongTxn Limit exceeded."}, "rate", id="concurrent-requests"),
    pytest.param(429, {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests."}, "rate", id="429"),
    pytest.param(503, {"errorCode": "SERVER_UNAVAILABLE", "message": "Try again later."}, "rate", id="503"),
])
def test_which_limits_are_retried(status: int, body: dict[str, str], kind: str) -> None:
    from simple_salesforce.exceptions import SalesforceError

    error = SalesforceError("https://example.my.salesforce.com/services/data/v63.0/limits", status, "limits",
                            json.dumps([body]).encode())
    assert classify(error) == (kind, f"HTTP {status} {body['errorCode']}: {body['message']}")


# -- deploys -----------------------------------------------------------------------------------------


def test_component_failure_names_the_blueprint_line(emulator: SalesforceEmulator, make_project: MakeProject,
                                                    backend_for: MakeBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)             # origins are shown relative to the working directory
    backend = backend_for(project)
    plan = plan_for(project, backend)
    emulator.faults.fail_component(f"Opportunity.{rule_api_name('close_date_not_past')}",
                                   "Field CloseDate is not writeable by this formula")
    result = backend.apply(plan, desired_model(project))
    assert not result.ok
    assert result.failed[RULE] == ("blueprint.yaml:15: Salesforce rejected rule close_date_not_past: Field CloseDate "
                                   "is not writeable by this formula")
    others = {a: m for a, m in result.failed.items() if a != RULE}
    assert set(others) == {c.address for c in plan.changes} - {RULE}
    assert set(others.values()) == {"not applied: rolled back because another component failed"}
    # Nothing was applied: rollbackOnError.
    assert emulator.org.of_type("CustomField") == [] and emulator.org.of_type("ValidationRule") == []
    assert plan_for(project, backend_for(project)).changes == plan.changes


def test_stalled_deploy_names_the_deploy(emulator: SalesforceEmulator, make_project: MakeProject,
                                        backend_for: MakeBackend, recorder: Recorder) -> None:
    project = make_project(SMALL)
    backend = backend_for(project)
    plan = plan_for(project, backend)
    emulator.faults.stall_deploys()
    emulator.calls.clear()
    with pytest.raises(ApplyUnknown) as caught:
        backend.apply(plan, desired_model(project))
    error = caught.value.diagnostics[0]
    deploy_id = caught.value.job
    assert deploy_id.startswith("0Af")
    assert error.message == (f"deploy {deploy_id} was submitted to Salesforce and may still complete, but sos could "
                             f"not learn its outcome: it had not finished after {MAX_POLLS} status checks")
    assert error.fix.startswith(f"run `sos apply --resume {deploy_id}` to wait for it and record its outcome")
    assert emulator.calls["checkDeployStatus"] == MAX_POLLS
    assert recorder.sleeps == [poll_waits()(n) for n in range(1, MAX_POLLS)]
    assert max(recorder.sleeps) == 10.0 and sum(recorder.sleeps) < 20 * 60


# -- helpers -------------------------------------------------------------------------------------------


def plan_model(project: Project) -> Model:
    return desired_model(project)
