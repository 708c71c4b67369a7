"""ClickUp, over its REST API v2 with requests (ClickUp publishes no Python client): a task per deal, in the
handoff's list. The deal's marker is a tag (ClickUp keeps tags in lower case), by which the list's tasks are
filtered. ClickUp says when to come back as X-RateLimit-Reset, a Unix time, rather than Retry-After."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sos.errors import SosError
from sos.handoff.tools import MAX_WAIT_SECONDS, Order, Retryable

DEFAULT_URL = "https://api.clickup.com/api/v2"
RETRY_STATUSES = (429, 500, 502, 503, 504)
TIMEOUT_SECONDS = 30


class ClickUpTool:
    def __init__(self, token: str, api_url: str = DEFAULT_URL, *, clock: Callable[[], float] = time.time) -> None:
        import requests

        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self.session = requests.Session()
        self.session.headers["Authorization"] = token     # ClickUp takes the token as it is, no "Bearer"

    def find(self, order: Order) -> str | None:
        found = self._call("GET", f"/list/{order.settings['list']}/task",
                           params={"tags[]": order.marker.lower(), "include_closed": "true"})
        tasks = found.get("tasks") or []
        return str(tasks[0]["url"]) if tasks else None

    def create(self, order: Order) -> str:
        body: dict[str, Any] = {"name": order.name, "tags": [order.marker.lower()],
                                "markdown_description": "\n".join(f"**{label}:** {value}"
                                                                  for label, value in order.details if value)}
        if order.assignee:
            body["assignees"] = [self._user(order.assignee)]
        made = self._call("POST", f"/list/{order.settings['list']}/task", json=body)
        return str(made["url"])

    def _user(self, email: str) -> int:
        for team in self._call("GET", "/team").get("teams", []):
            for member in team.get("members", []):
                user = member.get("user") or {}
                if str(user.get("email", "")).lower() == email.lower():
                    return int(user["id"])
        raise SosError(f"ClickUp has no member {email} to assign the task to (assign the handoff to an address "
                       "that is a member of the workspace)", "handoff-refused")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        try:
            response = self.session.request(method, self.api_url + path, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as error:
            raise Retryable(f"ClickUp did not answer ({type(error).__name__})") from None
        if response.status_code in RETRY_STATUSES:
            raise Retryable(f"ClickUp answered {response.status_code}", self._wait(response.headers))
        if response.status_code >= 400:
            try:
                why = str(response.json().get("err", ""))
            except ValueError:
                why = ""
            raise SosError(f"ClickUp refused the handoff: {response.status_code} {why}", "handoff-refused")
        return response.json()

    def _wait(self, headers: Any) -> float | None:
        reset = headers.get("X-RateLimit-Reset")
        if reset is None or not str(reset).isdigit():
            return None
        return min(max(float(reset) - self.clock(), 0.0), MAX_WAIT_SECONDS)
