"""Which handler answers which path, what each call costs, and which OAuth scopes reach it.

Paths: v2 under `/api/v2`, v1 under `/v1` (api.pipedrive.com) and `/api/v1` (the company domain), reference §2.
Scopes: reference §2 (`deals:read`, `deals:full`, `admin`, `deal-fields:full`) and Pipedrive's OAuth scope list
(`contacts:read`, `contacts:full`, `leads:read`, `leads:full`, `base`); which scope opens person/organization
field writes is UNVERIFIED (`admin` here, as for deal fields).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import field_api, history, labels, pipelines, records
from .account import Account
from .limits import COSTS, STAGE_LIST_COST
from .paging import Reply, Request

Handler = Callable[[Account, Request], Reply]
READ_DEALS = frozenset({"deals:read", "deals:full", "admin"})
READ_CONTACTS = frozenset({"contacts:read", "contacts:full", "admin"})
FIELD_RESOURCES = {"deal": "dealFields", "person": "personFields", "organization": "organizationFields"}
RECORD_RESOURCES = {"deal": "deals", "person": "persons", "organization": "organizations"}


@dataclass(frozen=True)
class Route:
    method: str
    version: int
    template: str                  # e.g. "/stages/{id}"
    handler: Handler | None        # None: /users/me, answered by the server
    scopes: frozenset[str]         # any one of them opens the route to an OAuth token
    cost: int

    @property
    def operation(self) -> str:
        """The name calls are counted under: `GET /api/v2/stages/{id}`."""
        return f"{self.method} {'/api/v2' if self.version == 2 else '/v1'}{self.template}"

    def match(self, method: str, version: int, path: str) -> tuple[str, ...] | None:
        if method != self.method or version != self.version:
            return None
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "([^/]+)", re.escape(self.template)) + "$"
        found = re.match(pattern, path)
        return found.groups() if found else None


def _bind(handler: Callable[[Account, str, Request], Reply], entity: str) -> Handler:
    return lambda account, request: handler(account, entity, request)


def _cost(method: str, version: int, template: str) -> int:
    if method == "GET":
        if version == 2 and template == "/stages":
            return STAGE_LIST_COST
        return COSTS[(version, "get" if template.endswith("}") else "list")]   # as the client counts
    return COSTS[(version, "delete" if method == "DELETE" else "write")]


def _crud(version: int, resource: str, handlers: tuple[Handler, ...], read: frozenset[str],
          write: frozenset[str], key: str = "{id}") -> list[Route]:
    listing, getting, adding, updating, deleting = handlers
    update_method = "PATCH" if version == 2 else "PUT"
    rows = [("GET", f"/{resource}", listing, read), ("GET", f"/{resource}/{key}", getting, read),
            ("POST", f"/{resource}", adding, write), (update_method, f"/{resource}/{key}", updating, write),
            ("DELETE", f"/{resource}/{key}", deleting, write)]
    return [Route(m, version, t, h, s, _cost(m, version, t)) for m, t, h, s in rows]


def _field_routes(entity: str) -> list[Route]:
    resource = FIELD_RESOURCES[entity]
    read = READ_DEALS | {"deal-fields:full"} if entity == "deal" else READ_CONTACTS
    write = frozenset({"admin", "deal-fields:full"} if entity == "deal" else {"admin"})
    handlers = tuple(_bind(h, entity) for h in (field_api.list_fields, field_api.get_field,
                                                          field_api.add_field, field_api.update_field,
                                                          field_api.delete_field))
    options = [Route(m, 2, f"/{resource}/{{code}}/options", _bind(h, entity), write, _cost(m, 2, "/{x}"))
               for m, h in (("POST", field_api.add_options), ("PATCH", field_api.update_options),
                            ("DELETE", field_api.delete_options))]
    return [*_crud(2, resource, handlers, read, write, "{code}"), *options, *_crud(1, resource, handlers, read, write)]


def _record_routes(entity: str) -> list[Route]:
    read = READ_DEALS if entity == "deal" else READ_CONTACTS
    write = frozenset({"deals:full"} if entity == "deal" else {"contacts:full"})
    handlers = tuple(_bind(h, entity) for h in (records.list_records, records.get_record,
                                                          records.add_record, records.update_record,
                                                          records.delete_record))
    return _crud(2, RECORD_RESOURCES[entity], handlers, read, write)


def _build() -> list[Route]:
    admin = frozenset({"admin"})
    table = [Route("GET", 1, "/users/me", None, frozenset({"base"}), COSTS[(1, "get")])]
    table += _crud(2, "pipelines", (pipelines.list_pipelines, pipelines.get_pipeline, pipelines.add_pipeline,
                                    pipelines.update_pipeline, pipelines.delete_pipeline), READ_DEALS, admin)
    table += _crud(2, "stages", (pipelines.list_stages, pipelines.get_stage, pipelines.add_stage,
                                 pipelines.update_stage, pipelines.delete_stage), READ_DEALS, admin)
    # v1 pipeline and stage writes were removed (SDK v32.0.0, reference §2): only the legacy reads remain.
    table += [Route("GET", 1, t, h, READ_DEALS, _cost("GET", 1, t))
              for t, h in (("/pipelines", pipelines.list_pipelines), ("/pipelines/{id}", pipelines.get_pipeline),
                           ("/stages", pipelines.list_stages), ("/stages/{id}", pipelines.get_stage))]
    for entity in FIELD_RESOURCES:
        table += _field_routes(entity) + _record_routes(entity)
    leads_read, leads_write = frozenset({"leads:read", "leads:full", "admin"}), frozenset({"leads:full", "admin"})
    table += [Route(m, 1, t, h, s, _cost(m, 1, t)) for m, t, h, s in (
        ("GET", "/leadLabels", labels.list_labels, leads_read),
        ("POST", "/leadLabels", labels.create_label, leads_write),
        ("PATCH", "/leadLabels/{id}", labels.update_label, leads_write),
        ("DELETE", "/leadLabels/{id}", labels.delete_label, leads_write),
        ("GET", "/leads", history.list_leads, leads_read),
        ("GET", "/users", history.list_users, frozenset({"users:read", "admin"})),
        ("GET", "/deals/{id}/changelog", history.list_changelog, frozenset({"recents:read"})))]
    activities_read = frozenset({"activities:read", "activities:full", "admin"})
    table.append(Route("GET", 2, "/activities", history.list_activities, activities_read,
                       _cost("GET", 2, "/activities")))
    return table


ROUTES = _build()


def find(method: str, version: int, path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        ids = route.match(method, version, path)
        if ids is not None:
            return route, ids
    return None
