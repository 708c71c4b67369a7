"""An emulated Jira Cloud platform REST API v3: the calls `sos handoff run` makes, as strict as Jira.

Built from Atlassian's OpenAPI description of the Jira Cloud platform REST API v3
(https://dac-static.atlassian.com/cloud/jira/platform/swagger-v3.v3.json: createIssue, getIssue,
searchAndReconsileIssuesUsingJqlPost, findUsers, getCurrentUser) and its documented conventions: basic auth with an
account's email and API token; errors as `{"errorMessages": [...], "errors": {field: message}}`; a v3 description
must be an Atlassian Document Format document (a plain string is refused); labels cannot contain spaces; an
assignee is named by `accountId` (Cloud has no usernames); `POST /rest/api/3/search/jql` pages with
`nextPageToken` and says `isLast`; a 429 carries `Retry-After` in seconds (developer.atlassian.com, "Rate
limiting"). The JQL it reads is the subset sos writes: `project = KEY AND labels = "label"`.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.pmtool import ApiError, PmToolEmulator, Request, Route

ISSUE_TYPES = ("Task", "Epic", "Story", "Bug")
JQL_CLAUSE = re.compile(r'\s*(project|labels)\s*=\s*("([^"]*)"|[A-Za-z0-9_\-]+)\s*', re.IGNORECASE)


@dataclass
class Issue:
    id: str
    key: str
    project: str
    summary: str
    issue_type: str
    description: dict[str, Any] | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None


class JiraEmulator(PmToolEmulator):
    """Jira Cloud behind http://127.0.0.1:PORT, a project DEL ("Delivery") and users; `issues` holds what was
    created, `calls` counts each operation."""

    name = "jira"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, email: str = "ops@acme.io",
                 api_token: str = "jira-api-token-fixture") -> None:
        self.email, self.api_token = email, api_token
        super().__init__(host=host, port=port)

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def access_token(self) -> str:
        return self.api_token

    def reset(self) -> None:
        super().reset()
        self._ids = itertools.count(10001)
        self.projects: dict[str, str] = {"DEL": "Delivery"}
        self.counters: dict[str, itertools.count[int]] = {"DEL": itertools.count(1)}
        self.users: dict[str, tuple[str, str]] = {      # accountId → (email, display name)
            "5b10a2844c20165700ede21g": ("priya@acme.io", "Priya Patel"),
            "5b10ac8d82e05b22cc7d4ef5": ("sam@acme.io", "Sam Lee"),
        }
        self.issues: list[Issue] = []

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        wanted = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return self.email if headers.get("Authorization") == f"Basic {wanted}" else None

    def error_body(self, status: int, message: str, field: str | None) -> Any:
        return {"errorMessages": [] if field else [message], "errors": {field: message} if field else {}}

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/rest/api/3/myself", self._myself),
            Route("GET", "/rest/api/3/user/search", self._find_users),
            Route("POST", "/rest/api/3/issue", self._create_issue),
            Route("GET", "/rest/api/3/issue/{issue}", self._get_issue),
            Route("POST", "/rest/api/3/search/jql", self._search, reads_only=True),
        ]

    def browse_url(self, issue: Issue) -> str:
        return f"{self.base_url}/browse/{issue.key}"

    def _myself(self, request: Request) -> tuple[int, Any]:
        return 200, {"accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "emailAddress": request.user,
                     "active": True, "accountType": "atlassian"}

    def _find_users(self, request: Request) -> tuple[int, Any]:
        query = request.query.get("query", "").lower()
        if not query and not request.query.get("accountId"):
            raise ApiError(400, "One of 'query' or 'accountId' is required.")
        return 200, [{"accountId": account, "emailAddress": email, "displayName": name, "active": True,
                      "accountType": "atlassian"}
                     for account, (email, name) in self.users.items()
                     if query and (query in email.lower() or query in name.lower())
                     or request.query.get("accountId") == account]

    def _create_issue(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise ApiError(400, "Issue must have fields.")
        project = self._project(fields.get("project"))
        issue_type = self._issue_type(fields.get("issuetype"))
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise ApiError(400, "You must specify a summary of the issue.", "summary")
        if len(summary) > 255 or "\n" in summary:
            raise ApiError(400, "Summary must be less than 255 characters and on one line.", "summary")
        description = fields.get("description")
        if description is not None and not _is_adf(description):
            raise ApiError(400, "Operation value must be an Atlassian Document (see the Atlassian Document "
                           "Format)", "description")
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or not x or " " in x for x in labels):
            raise ApiError(400, "The label can't contain spaces.", "labels")
        assignee = fields.get("assignee")
        account = None
        if assignee is not None:
            account = (assignee.get("id") or assignee.get("accountId")) if isinstance(assignee, dict) else None
            if account not in self.users:
                raise ApiError(400, "Specified user does not exist or you do not have required permissions",
                               "assignee")
        unknown = set(fields) - {"project", "issuetype", "summary", "description", "labels", "assignee", "duedate"}
        if unknown:
            name = sorted(unknown)[0]
            raise ApiError(400, f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown.",
                           name)
        issue = Issue(str(next(self._ids)), f"{project}-{next(self.counters[project])}", project, summary,
                      issue_type, description, list(labels), account)
        self.issues.append(issue)
        return 201, {"id": issue.id, "key": issue.key, "self": f"{self.base_url}/rest/api/3/issue/{issue.id}"}

    def _project(self, ref: object) -> str:
        key = ref.get("key") if isinstance(ref, dict) else None
        if key not in self.projects:
            raise ApiError(400, "Specify a valid project ID or key", "project")
        return str(key)

    def _issue_type(self, ref: object) -> str:
        name = ref.get("name") if isinstance(ref, dict) else None
        if name not in ISSUE_TYPES:
            raise ApiError(400, "Specify a valid issue type", "issuetype")
        return str(name)

    def _view(self, issue: Issue) -> dict[str, Any]:
        assignee = None if issue.assignee is None else {"accountId": issue.assignee,
                                                        "displayName": self.users[issue.assignee][1]}
        return {"id": issue.id, "key": issue.key, "self": f"{self.base_url}/rest/api/3/issue/{issue.id}",
                "fields": {"summary": issue.summary, "labels": issue.labels, "assignee": assignee,
                           "issuetype": {"name": issue.issue_type}, "project": {"key": issue.project},
                           "description": issue.description}}

    def _get_issue(self, request: Request) -> tuple[int, Any]:
        for issue in self.issues:
            if request.params["issue"] in (issue.id, issue.key):
                return 200, self._view(issue)
        raise ApiError(404, "Issue does not exist or you do not have permission to see it.")

    def _search(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        wanted = _read_jql(str(body.get("jql", "")))
        limit = body.get("maxResults", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 5000:
            raise ApiError(400, "maxResults must be between 1 and 5000.")
        token = body.get("nextPageToken")
        start = int(token) if isinstance(token, str) and token.isdigit() else 0
        found = [i for i in self.issues if all(
            (i.project == value) if name == "project" else (value in i.labels) for name, value in wanted)]
        page = found[start:start + limit]
        answer: dict[str, Any] = {"issues": [self._view(i) for i in page], "isLast": start + limit >= len(found)}
        if not answer["isLast"]:
            answer["nextPageToken"] = str(start + limit)
        return 200, answer


def _read_jql(jql: str) -> list[tuple[str, str]]:
    """`project = DEL AND labels = "x"` → [("project", "DEL"), ("labels", "x")]; what it cannot read is refused as
    Jira refuses JQL it cannot parse (a 400 naming the query)."""
    clauses = []
    for part in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE) if jql.strip() else []:
        found = JQL_CLAUSE.fullmatch(part)
        if found is None:
            raise ApiError(400, f"Error in the JQL Query: the query '{jql}' could not be parsed.")
        clauses.append((found.group(1).lower(), found.group(3) if found.group(3) is not None else found.group(2)))
    if not clauses:
        raise ApiError(400, "Unbounded JQL queries are not allowed here. Please add a search restriction.")
    return clauses


def _is_adf(value: object) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1 and \
        isinstance(value.get("content"), list)
