"""The Asana and Jira emulators are as strict as the tools (each module's docstring names its sources): tested
through Asana's official client and requests over HTTP, each started on its own as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import asana as asana_client
import pytest
import requests
from asana.rest import ApiException
from urllib3.util.retry import Retry

from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator


@pytest.fixture(scope="module")
def asana() -> Iterator[AsanaEmulator]:
    with AsanaEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraEmulator]:
    with JiraEmulator() as emulator:
        yield emulator


def projects_api(emulator: AsanaEmulator, token: str | None = None) -> Any:
    configuration = asana_client.Configuration()
    configuration.access_token = token or emulator.access_token
    configuration.host = emulator.api_url
    configuration.retry_strategy = Retry(total=False)
    return asana_client.ProjectsApi(asana_client.ApiClient(configuration))


def refusal(call: Any, *args: Any) -> tuple[int, Any, str | None]:
    with pytest.raises(ApiException) as caught:
        call(*args)
    return caught.value.status, json.loads(caught.value.body), (caught.value.headers or {}).get("Retry-After")


HELP = ("For more information on API status codes and how to handle them, read the docs on errors: "
        "https://developers.asana.com/docs/errors")


def test_asana_refuses_a_bad_token_an_unknown_owner_and_unknown_properties(asana: AsanaEmulator) -> None:
    asana.reset()
    api = projects_api(asana)
    assert refusal(projects_api(asana, "2/1/wrong").create_project_for_team, {"data": {"name": "x"}}, asana.team,
                   {}) == (401, {"errors": [{"message": "Not Authorized", "help": HELP}]}, None)
    assert refusal(api.create_project_for_team, {"data": {"name": "x", "owner": "nobody@acme.io"}}, asana.team,
                   {})[:2] == (400, {"errors": [{"message": "owner: Not a recognized ID: nobody@acme.io",
                                                 "help": HELP}]})
    assert refusal(api.create_project_for_team, {"data": {"name": "x", "deal": 1}}, asana.team, {})[1] == \
        {"errors": [{"message": "deal: Unknown property", "help": HELP}]}
    assert refusal(api.create_project_for_team, {"name": "x"}, asana.team, {})[1]["errors"][0]["message"] == \
        "data: Missing input"
    assert asana.projects == []


def test_asana_pages_a_teams_projects_and_says_when_to_come_back(asana: AsanaEmulator) -> None:
    asana.reset()
    api = projects_api(asana)
    for name in ("A", "B", "C"):
        api.create_project_for_team({"data": {"name": name}}, asana.team, {})
    pages = list(api.get_projects_for_team(asana.team, {"limit": 2, "opt_fields": "name"}))
    assert [p["name"] for p in pages] == ["A", "B", "C"]
    assert asana.calls["GET /api/1.0/teams/{team_gid}/projects"] == 2     # two pages of at most 2
    assert refusal(api.get_projects_for_team(asana.team, {"limit": 101}).__next__)[1]["errors"][0]["message"] == \
        "limit: Must be between 1 and 100"
    asana.faults.rate_limit(retry_after=30)
    status, body, wait = refusal(api.get_project, asana.projects[0].gid, {})
    assert (status, wait, body["errors"][0]["message"]) == (
        429, "30", "You have made too many requests recently. Please, be chill.")
    asana.faults.server_error(status=500)
    status, body, _ = refusal(api.get_project, asana.projects[0].gid, {})
    assert status == 500 and set(body["errors"][0]) == {"message", "help", "phrase"}


def jira_call(emulator: JiraEmulator, method: str, path: str, auth: tuple[str, str] | None = None,
              **kwargs: Any) -> requests.Response:
    return requests.request(method, emulator.api_url + path, auth=auth or (emulator.email, emulator.api_token),
                            timeout=10, **kwargs)


def issue(**fields: Any) -> dict[str, Any]:
    return {"fields": {"project": {"key": "DEL"}, "issuetype": {"name": "Task"}, "summary": "Onboard Globex",
                       **fields}}


def test_jira_refuses_a_plain_description_labels_with_spaces_and_unknown_users(jira: JiraEmulator) -> None:
    jira.reset()
    refused = [jira_call(jira, "POST", "/rest/api/3/issue", json=issue(**fields)) for fields in (
        {"description": "plain text"}, {"labels": ["two words"]}, {"assignee": {"id": "nobody"}},
        {"issuetype": {"name": "Saga"}}, {"summary": ""})]
    assert [(r.status_code, r.json()) for r in refused] == [
        (400, {"errorMessages": [], "errors": {"description": "Operation value must be an Atlassian Document (see "
                                                              "the Atlassian Document Format)"}}),
        (400, {"errorMessages": [], "errors": {"labels": "The label can't contain spaces."}}),
        (400, {"errorMessages": [], "errors": {"assignee": "Specified user does not exist or you do not have "
                                                           "required permissions"}}),
        (400, {"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}}),
        (400, {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}),
    ]
    wrong = jira_call(jira, "POST", "/rest/api/3/issue", auth=(jira.email, "wrong"), json=issue())
    assert (wrong.status_code, wrong.json()) == (401, {"errorMessages": ["Not Authorized"], "errors": {}})
    assert jira.issues == []


def test_jira_finds_issues_by_label_page_by_page_and_refuses_jql_it_cannot_read(jira: JiraEmulator) -> None:
    jira.reset()
    for label in ("a", "b", "a"):
        made = jira_call(jira, "POST", "/rest/api/3/issue", json=issue(labels=[label]))
        assert made.status_code == 201
    first = jira_call(jira, "POST", "/rest/api/3/search/jql", json={"jql": 'project = DEL AND labels = "a"',
                                                                    "maxResults": 1}).json()
    assert ([i["key"] for i in first["issues"]], first["isLast"]) == (["DEL-1"], False)
    second = jira_call(jira, "POST", "/rest/api/3/search/jql", json={
        "jql": 'project = DEL AND labels = "a"', "maxResults": 1, "nextPageToken": first["nextPageToken"]}).json()
    assert ([i["key"] for i in second["issues"]], second["isLast"]) == (["DEL-3"], True)
    bad = jira_call(jira, "POST", "/rest/api/3/search/jql", json={"jql": "summary ~ Globex"})
    assert bad.status_code == 400 and bad.json()["errorMessages"] == [
        "Error in the JQL Query: the query 'summary ~ Globex' could not be parsed."]
    jira.faults.rate_limit(retry_after=5)
    limited = jira_call(jira, "GET", "/rest/api/3/myself")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "5")


@pytest.mark.parametrize("module", ["asana", "jira", "clickup"])
def test_each_emulator_starts_on_its_own(module: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", f"tests.emulators.{module}", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith("api_url: ") and second.startswith("access_token: ")
        url = first.split(": ", 1)[1].strip()
        path = {"asana": "/users/me", "jira": "/rest/api/3/myself", "clickup": "/team"}[module]
        answer = requests.get(url + path, timeout=10)
        assert answer.status_code == 401      # up, and it wants the token it printed
    finally:
        process.terminate()
        process.wait(timeout=10)
