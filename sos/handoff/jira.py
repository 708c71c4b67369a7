"""Jira Cloud, over its REST API v3 with requests: an issue per deal, in the handoff's project. The deal's marker
is a label, which a JQL search finds again.

Plain requests, not the `jira` package: that client targets any base URL but speaks REST v2 by default, fetches
server info and field metadata before it creates anything, and retries on the wall clock; the four calls sos
makes are clearer said directly, and deliver() owns the retries."""

from __future__ import annotations

from typing import Any

from sos.errors import SosError
from sos.handoff.tools import Order, Retryable, retry_after

RETRY_STATUSES = (429, 500, 502, 503, 504)
TIMEOUT_SECONDS = 30


class JiraTool:
    def __init__(self, site: str, email: str, token: str) -> None:
        import requests

        self.site = site.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (email, token)
        self.session.headers["Accept"] = "application/json"

    def find(self, order: Order) -> str | None:
        jql = f'project = {order.settings["project"]} AND labels = "{order.marker}"'
        found = self._call("POST", "/rest/api/3/search/jql", json={"jql": jql, "fields": ["summary"],
                                                                   "maxResults": 1})
        issues = found.get("issues") or []
        return f"{self.site}/browse/{issues[0]['key']}" if issues else None

    def create(self, order: Order) -> str:
        fields: dict[str, Any] = {
            "project": {"key": order.settings["project"]},
            "issuetype": {"name": order.settings.get("issue_type", "Task")},
            "summary": order.name[:255],
            "description": _document(order.details),
            "labels": [order.marker],
        }
        if order.assignee:
            fields["assignee"] = {"id": self._account(order.assignee)}
        made = self._call("POST", "/rest/api/3/issue", json={"fields": fields})
        return f"{self.site}/browse/{made['key']}"

    def _account(self, email: str) -> str:
        users = self._call("GET", "/rest/api/3/user/search", params={"query": email})
        for user in users:
            if str(user.get("emailAddress", "")).lower() == email.lower():
                return str(user["accountId"])
        raise SosError(f"Jira has no user {email} to assign the issue to (assign the handoff to an address that "
                       "has a Jira account)", "handoff-refused")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        try:
            response = self.session.request(method, self.site + path, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as error:
            raise Retryable(f"Jira did not answer ({type(error).__name__})") from None
        if response.status_code in RETRY_STATUSES:
            raise Retryable(f"Jira answered {response.status_code}", retry_after(response.headers))
        if response.status_code >= 400:
            raise SosError(f"Jira refused the handoff: {response.status_code} {_message(response)}",
                           "handoff-refused")
        return response.json()


def _document(details: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The fields as an Atlassian Document Format document (REST v3 takes no plain text): one paragraph each."""
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": f"{label}: ", "marks": [{"type": "strong"}]},
                                          {"type": "text", "text": value}]}
        for label, value in details if value]}


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return "; ".join([*body.get("errorMessages", []), *(f"{k}: {v}" for k, v in body.get("errors", {}).items())])
