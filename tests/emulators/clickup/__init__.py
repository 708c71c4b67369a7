"""An emulated ClickUp API v2 (https://api.clickup.com/api/v2): the calls `sos handoff run` makes.

Built from ClickUp's API reference (developer.clickup.com/reference: Create Task `POST /list/{list_id}/task`, Get
Tasks `GET /list/{list_id}/task` with `tags[]`, Get Authorized Teams (Workspaces) `GET /team`) and its pages on
authentication (a personal token `pk_…` sent as the Authorization header, no "Bearer") and rate limits
(developer.clickup.com/docs/rate-limits: a 429 carries X-RateLimit-Limit, X-RateLimit-Remaining and
X-RateLimit-Reset, a Unix time; no Retry-After). Errors are `{"err": message, "ECODE": code}`. Tags are kept in
lower case, and assignees are user ids (numbers), as ClickUp keeps them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.pmtool import ApiError, PmToolEmulator, Request, Route

EPOCH = 1_796_000_000      # the emulator's clock (seconds), moved by tests, never the wall clock
ECODES = {400: "INPUT_005", 401: "OAUTH_025", 404: "ITEM_015", 429: "APP_002", 500: "ISE_001"}


@dataclass
class Task:
    id: str
    name: str
    list: str
    markdown_description: str = ""
    tags: list[str] = field(default_factory=list)
    assignees: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://app.clickup.com/t/{self.id}"


class ClickUpEmulator(PmToolEmulator):
    """ClickUp behind http://127.0.0.1:PORT/api/v2: a workspace with a list "Onboarding" and members; `tasks` holds
    what was created, `now` is its clock."""

    name = "clickup"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, access_token: str = "pk_4321_CLICKUPFIXTURE") \
            -> None:
        self.access_token = access_token
        super().__init__(host=host, port=port)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v2"

    def reset(self) -> None:
        super().reset()
        self.now = float(EPOCH)
        self._ids = itertools.count(1)
        self.list = "901817138679"
        self.members = {81942673: ("priya@acme.io", "Priya Patel"), 81942674: ("sam@acme.io", "Sam Lee")}
        self.tasks: list[Task] = []

    def clock(self) -> float:
        return self.now

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        return "token" if headers.get("Authorization") == self.access_token else None

    def error_body(self, status: int, message: str, field: str | None) -> Any:
        return {"err": message, "ECODE": ECODES.get(status, "ISE_001")}

    def rate_limited(self, retry_after: int) -> tuple[Any, dict[str, str]]:
        return {"err": "Rate limit reached", "ECODE": ECODES[429]}, {
            "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(self.now) + retry_after)}

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/v2/team", self._teams),
            Route("GET", "/api/v2/list/{list_id}/task", self._tasks),
            Route("POST", "/api/v2/list/{list_id}/task", self._create_task),
        ]

    def _teams(self, request: Request) -> tuple[int, Any]:
        return 200, {"teams": [{"id": "9011000001", "name": "Acme", "members": [
            {"user": {"id": user, "username": name, "email": email, "role": 3}}
            for user, (email, name) in self.members.items()]}]}

    def _list(self, list_id: str) -> str:
        if list_id != self.list:
            raise ApiError(404, "List not found")
        return list_id

    def _tasks(self, request: Request) -> tuple[int, Any]:
        self._list(request.params["list_id"])
        tag = request.query.get("tags[]")
        found = [t for t in self.tasks if tag is None or tag in t.tags]
        return 200, {"tasks": [{"id": t.id, "name": t.name, "url": t.url, "tags": [{"name": x} for x in t.tags]}
                               for t in found], "last_page": True}

    def _create_task(self, request: Request) -> tuple[int, Any]:
        list_id = self._list(request.params["list_id"])
        body = request.body if isinstance(request.body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Task name invalid")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or any(not isinstance(t, str) for t in tags):
            raise ApiError(400, "Tags must be an array of strings")
        assignees = body.get("assignees", [])
        if not isinstance(assignees, list) or any(a not in self.members for a in assignees):
            raise ApiError(400, "Assignees must be members of the workspace")
        task = Task(f"86a{next(self._ids):05d}", name, list_id, str(body.get("markdown_description", "")),
                    [t.lower() for t in tags], list(assignees))
        self.tasks.append(task)
        return 200, {"id": task.id, "name": task.name, "url": task.url, "list": {"id": list_id},
                     "tags": [{"name": t} for t in task.tags], "assignees": [{"id": a} for a in task.assignees]}
