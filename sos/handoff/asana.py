"""Asana, through the official client (PyPI `asana` 5.x): a project per deal, in the handoff's team, made from its
project template when it names one. The deal's marker is the last line of the project's notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sos.errors import SosError
from sos.handoff.tools import Order, Retryable, retry_after

DEFAULT_URL = "https://app.asana.com/api/1.0"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class AsanaTool:
    def __init__(self, token: str, api_url: str = DEFAULT_URL) -> None:
        import asana
        from urllib3.util.retry import Retry

        configuration = asana.Configuration()
        configuration.access_token = token
        configuration.host = api_url
        # The client's own retries sleep on the wall clock and skip POSTs; deliver() retries every call instead.
        configuration.retry_strategy = Retry(total=False)
        client = asana.ApiClient(configuration)
        self.projects = asana.ProjectsApi(client)
        self.templates = asana.ProjectTemplatesApi(client)

    def find(self, order: Order) -> str | None:
        team = order.settings["team"]
        pages = self._call(self.projects.get_projects_for_team, team,
                           {"opt_fields": "name,notes,permalink_url", "limit": 100})
        for project in self._call(list, pages):
            if str(project.get("notes") or "").endswith(order.marker):
                return str(project["permalink_url"])
        return None

    def create(self, order: Order) -> str:
        notes = "\n".join([*(f"{label}: {value}" for label, value in order.details), "", order.marker])
        team = order.team or order.settings["team"]
        body: dict[str, Any] = {"name": order.name, "notes": notes}
        if order.assignee:
            body["owner"] = order.assignee
        template = order.settings.get("template")
        if template is None:
            made = self._call(self.projects.create_project_for_team, {"data": body}, team,
                              {"opt_fields": "permalink_url"})
            return str(made["permalink_url"])
        job = self._call(self.templates.instantiate_project, template,
                         {"body": {"data": {"name": order.name, "team": team}}})
        gid = job["new_project"]["gid"]
        made = self._call(self.projects.update_project, {"data": body}, gid, {"opt_fields": "permalink_url"})
        return str(made["permalink_url"])

    def _call(self, method: Any, *args: Any) -> Any:
        from asana.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(*args)
        except ApiException as error:
            if error.status in RETRY_STATUSES:
                raise Retryable(f"Asana answered {error.status}", retry_after(_headers(error))) from None
            raise SosError(f"Asana refused the handoff: {error.status} {_message(error.body)}",
                           "handoff-refused") from None
        except HTTPError as error:
            raise Retryable(f"Asana did not answer ({type(error).__name__})") from None


def _headers(error: Any) -> Mapping[str, str]:
    return dict(error.headers or {})


def _message(body: object) -> str:
    import json

    try:
        return "; ".join(e["message"] for e in json.loads(body or b"{}")["errors"])   # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError):
        return ""
