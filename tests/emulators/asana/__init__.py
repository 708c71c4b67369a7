"""An emulated Asana API (https://app.asana.com/api/1.0): the calls `sos handoff run` makes, as strict as Asana.

Built from Asana's OpenAPI description (github.com/Asana/openapi, defs/asana_oas.yaml, as generated into the
official Python client `asana` 5.x: asana/api/projects_api.py, project_templates_api.py, jobs_api.py,
users_api.py; and Asana/node-asana docs/ProjectTemplateInstantiateProjectRequest.md), and Asana's documented
errors (developers.asana.com/docs/errors): every error is `{"errors": [{"message": ..., "help": ...}]}` (a 500 adds
`phrase`), a 429 carries `Retry-After` in seconds, request bodies are wrapped in `{"data": ...}`, lists page with
`limit` (1 to 100) and an `offset` token and answer `next_page` (null on the last page).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.pmtool import ApiError, PmToolEmulator, Request, Route

HELP = ("For more information on API status codes and how to handle them, read the docs on errors: "
        "https://developers.asana.com/docs/errors")
PROJECT_FIELDS = ("name", "notes", "owner", "team", "permalink_url", "archived", "created_at")


@dataclass
class User:
    gid: str
    email: str
    name: str


@dataclass
class Project:
    gid: str
    name: str
    team: str
    notes: str = ""
    owner: str | None = None
    archived: bool = False
    template: str | None = None      # the project template it was made from

    def view(self, emulator: AsanaEmulator, fields: set[str]) -> dict[str, Any]:
        full = {"gid": self.gid, "resource_type": "project", "name": self.name, "notes": self.notes,
                "archived": self.archived, "permalink_url": f"https://app.asana.com/0/{self.gid}/list",
                "team": {"gid": self.team, "resource_type": "team", "name": emulator.teams[self.team]},
                "owner": None if self.owner is None else emulator.compact_user(self.owner)}
        shown = {"gid", "resource_type", "name"} | (fields or set(full))
        return {k: v for k, v in full.items() if k in shown}


@dataclass
class State:
    workspace: str = "1100000000000001"
    teams: dict[str, str] = field(default_factory=dict)            # gid → name
    users: dict[str, User] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)   # gid → (name, team gid)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


class AsanaEmulator(PmToolEmulator):
    """Asana behind http://127.0.0.1:PORT/api/1.0, one workspace with a team "Delivery", a project template
    "Client onboarding" in it, and users. `projects` holds what was created; `calls` counts each operation."""

    name = "asana"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, access_token: str = "2/1100/asana-pat-fixture") \
            -> None:
        self.access_token = access_token
        super().__init__(host=host, port=port)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/1.0"

    def reset(self) -> None:
        super().reset()
        self._gids = itertools.count(1200000000000001)
        self.state = State()
        self.team = self.add_team("Delivery")
        self.template = self.new_gid()
        self.state.templates[self.template] = ("Client onboarding", self.team)
        for name, email in (("Priya Patel", "priya@acme.io"), ("Sam Lee", "sam@acme.io")):
            self.add_user(name, email)

    def new_gid(self) -> str:
        return str(next(self._gids))

    def add_team(self, name: str) -> str:
        gid = self.new_gid()
        self.state.teams[gid] = name
        return gid

    def add_user(self, name: str, email: str) -> str:
        gid = self.new_gid()
        self.state.users[gid] = User(gid, email, name)
        return gid

    def add_project(self, name: str, notes: str = "") -> str:
        """A project already in the team (made by hand, or by a run that died before it linked it back)."""
        project = Project(self.new_gid(), name, self.team, notes)
        self.state.projects[project.gid] = project
        return project.gid

    @property
    def teams(self) -> dict[str, str]:
        return self.state.teams

    @property
    def projects(self) -> list[Project]:
        return list(self.state.projects.values())

    def compact_user(self, gid: str) -> dict[str, str]:
        return {"gid": gid, "resource_type": "user", "name": self.state.users[gid].name}

    # -- the API ---------------------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        value = headers.get("Authorization") or ""
        return "me" if value == f"Bearer {self.access_token}" else None

    def error_body(self, status: int, message: str, field: str | None) -> Any:
        error = {"message": f"{field}: {message}" if field else message, "help": HELP}
        if status >= 500:
            error["phrase"] = "6 sad squid snuggle softly"
        return {"errors": [error]}

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/1.0/users/{user_gid}", self._get_user),
            Route("GET", "/api/1.0/teams/{team_gid}/projects", self._team_projects),
            Route("POST", "/api/1.0/teams/{team_gid}/projects", self._create_project),
            Route("GET", "/api/1.0/projects/{project_gid}", self._get_project),
            Route("PUT", "/api/1.0/projects/{project_gid}", self._update_project),
            Route("POST", "/api/1.0/project_templates/{project_template_gid}/instantiateProject", self._instantiate),
            Route("GET", "/api/1.0/jobs/{job_gid}", self._get_job),
        ]

    def _user(self, ref: object, field: str | None = None) -> str:
        """A user reference as Asana takes one: "me", an email or a gid."""
        text = str(ref)
        if text == "me":
            return next(iter(self.state.users))
        for user in self.state.users.values():
            if text in (user.gid, user.email):
                return user.gid
        raise ApiError(400 if field else 404, f"Not a recognized ID: {text}", field)

    def _get_user(self, request: Request) -> tuple[int, Any]:
        gid = self._user(request.params["user_gid"])
        user = self.state.users[gid]
        return 200, {"data": {"gid": gid, "resource_type": "user", "name": user.name, "email": user.email}}

    def _team(self, gid: str) -> str:
        if gid not in self.state.teams:
            raise ApiError(404, f"Not a recognized ID: {gid}", "team")
        return gid

    def _team_projects(self, request: Request) -> tuple[int, Any]:
        team = self._team(request.params["team_gid"])
        limit = _limit(request.query.get("limit"))
        fields = _opt_fields(request.query, PROJECT_FIELDS)
        wanted = request.query.get("archived")
        found = [p for p in self.state.projects.values() if p.team == team
                 and (wanted is None or str(p.archived).lower() == wanted)]
        start = _offset(request.query.get("offset"), len(found))
        page = found[start:start + limit] if limit else found
        next_page = None
        if limit is not None and start + limit < len(found):
            path = f"/teams/{team}/projects?limit={limit}&offset=o{start + limit}"
            next_page = {"offset": f"o{start + limit}", "path": path, "uri": self.api_url + path}
        return 200, {"data": [p.view(self, fields) for p in page], "next_page": next_page}

    def _create_project(self, request: Request) -> tuple[int, Any]:
        team = self._team(request.params["team_gid"])
        data = _data(request.body)
        _only(data, ("name", "notes", "owner", "public", "privacy_setting", "color", "default_view", "due_on",
                     "start_on", "archived"))
        owner = self._user(data["owner"], "owner") if data.get("owner") is not None else None
        project = Project(self.new_gid(), _text(data, "name", required=False), team, _text(data, "notes"), owner)
        self.state.projects[project.gid] = project
        return 201, {"data": project.view(self, _opt_fields(request.query, PROJECT_FIELDS))}

    def _project(self, gid: str) -> Project:
        project = self.state.projects.get(gid)
        if project is None:
            raise ApiError(404, f"Not a recognized ID: {gid}", "project")
        return project

    def _get_project(self, request: Request) -> tuple[int, Any]:
        project = self._project(request.params["project_gid"])
        return 200, {"data": project.view(self, _opt_fields(request.query, PROJECT_FIELDS))}

    def _update_project(self, request: Request) -> tuple[int, Any]:
        project = self._project(request.params["project_gid"])
        data = _data(request.body)
        _only(data, ("name", "notes", "owner", "public", "privacy_setting", "color", "due_on", "start_on",
                     "archived"))
        if "owner" in data:
            project.owner = self._user(data["owner"], "owner") if data["owner"] is not None else None
        project.name = _text(data, "name") or project.name
        project.notes = _text(data, "notes") if "notes" in data else project.notes
        return 200, {"data": project.view(self, _opt_fields(request.query, PROJECT_FIELDS))}

    def _instantiate(self, request: Request) -> tuple[int, Any]:
        gid = request.params["project_template_gid"]
        if gid not in self.state.templates:
            raise ApiError(404, f"Not a recognized ID: {gid}", "project_template")
        data = _data(request.body)
        _only(data, ("name", "team", "public", "privacy_setting", "is_strict", "requested_dates", "requested_roles"))
        name = _text(data, "name", required=True)
        team = self._team(str(data["team"])) if data.get("team") is not None else self.state.templates[gid][1]
        project = Project(self.new_gid(), name, team, template=gid)
        self.state.projects[project.gid] = project
        job = {"gid": self.new_gid(), "resource_type": "job", "resource_subtype": "instantiate_project",
               "status": "succeeded", "new_project": {"gid": project.gid, "resource_type": "project",
                                                      "name": project.name},
               "new_task": None, "new_project_template": None}
        self.state.jobs[job["gid"]] = job
        return 201, {"data": job}

    def _get_job(self, request: Request) -> tuple[int, Any]:
        job = self.state.jobs.get(request.params["job_gid"])
        if job is None:
            raise ApiError(404, f"Not a recognized ID: {request.params['job_gid']}", "job")
        return 200, {"data": job}


def _data(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ApiError(400, "Missing input", "data")
    return body["data"]


def _only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise ApiError(400, "Unknown property", key)


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(400, "Missing input", key)
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "Value is not a string", key)
    return value


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise ApiError(400, "Must be between 1 and 100", "limit")
    return int(text)


def _offset(text: str | None, size: int) -> int:
    if text is None:
        return 0
    if not text.startswith("o") or not text[1:].isdigit() or int(text[1:]) > size:
        raise ApiError(400, "Your pagination token is invalid.", "offset")
    return int(text[1:])


def _opt_fields(query: Mapping[str, str], known: tuple[str, ...]) -> set[str]:
    fields = {f for f in query.get("opt_fields", "").split(",") if f}
    for name in fields:
        if name.split(".")[0] not in known:
            raise ApiError(400, f"No field named {name} on type project", "opt_fields")
    return fields
