"""`HubSpotEmulator`: a strict, stateful HubSpot API on http://127.0.0.1, in a background thread.

    with HubSpotEmulator() as emulator:
        hs = emulator.client()                   # hubspot.HubSpot pointed at the emulator (reference §2-3)
        hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
        emulator.calls                           # Counter({'GET /crm/v3/pipelines/{objectType}': 1})

Plain HTTP: the client takes the emulator's URL as `host=` and `base_url=`, scheme included (reference §2-3).
Every call is checked in HubSpot's order as far as it is known: the route, the Bearer token (401), injected
faults, the portal's rate limits (429), the token's scopes (403), then the handler's own rules.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import pipelines, properties, records
from ..serving import Served, path_pattern
from .errors import ApiError, invalid
from .faults import Fault, Faults
from .limits import TIERS, Clock, Limits, ManualClock, rate_limit_body
from .portal import OBJECT_TYPES, PIPELINE_TYPES, RECORD_TYPES, Portal, iso
from .request import Reply, Request

PORTAL_ID = 62515
USER_ID = 1234567
APP_ID = 456789
# Every scope the emulated API checks, granted to the default token ("oauth" comes with every private app).
ALL_SCOPES = frozenset({"oauth", "tickets", "crm.objects.owners.read"}
                       | {f"crm.{kind}.{t}.{access}" for kind in ("schemas", "objects") for t in OBJECT_TYPES
                          for access in ("read", "write")})
OWNERS_LIMIT = 500   # UNVERIFIED: the owners spec gives `limit` no maximum; 500 is the figure integrations quote
JSON_TYPE = "application/json;charset=utf-8"
Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    scope: str | None        # "schemas.read" | "schemas.write" | "objects.read" | "objects.write" | "oauth" |
    #                          "crm.objects.owners.read" | None
    types: tuple[str, ...]   # the objectType values the route serves
    write: bool

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def search(self) -> bool:
        return self.template.endswith("/search")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = path_pattern(self.template).fullmatch(path) if method == self.method else None
        return found.groupdict() if found else None


@dataclass
class Token:
    portal_id: int
    scopes: frozenset[str]


class HubSpotEmulator(Served):
    """One or more emulated portals behind an HTTP server on 127.0.0.1.

    Knobs: `tier` (free/starter/professional/enterprise: burst and daily limits, deal pipeline cap), `latency_ms`
    (added to every call, for benchmarks), `clock` (rate-limit windows and timestamps; a `ManualClock` by default).
    State: `portal` (seed records with `seed`), `faults`, `calls` (per endpoint), `call_log`, `internal_errors`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tier: str = "starter", latency_ms: float = 0,
                 clock: Clock | None = None, portal_id: int = PORTAL_ID, access_token: str | None = None,
                 quiet: bool = True) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {sorted(TIERS)}")
        self.host, self.port, self.tier, self.latency_ms, self.quiet = host, port, tier, latency_ms, quiet
        self.clock: Clock = clock or ManualClock()
        self.portal_id = portal_id
        self.access_token = access_token or new_token()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.call_log: list[str] = []
        self.internal_errors: list[str] = []
        self._lock = threading.RLock()
        self.routes = _routes(self)
        self.reset()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> HubSpotEmulator:
        self.run_server(ThreadingHTTPServer((self.host, self.port), type("Handler", (_Handler,), {"emulator": self})),
                   "hubspot-emulator")
        return self


    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """A fresh seeded portal, the default token with every scope, no faults, no counted calls."""
        with self._lock:
            self.portals: dict[int, Portal] = {}
            self.limits: dict[int, Limits] = {}
            self.tokens: dict[str, Token] = {}
            self.portal = self._portal(self.portal_id)
            self.tokens[self.access_token] = Token(self.portal_id, ALL_SCOPES)
            self.faults.clear()
            self.calls.clear()
            self.call_log.clear()
            self.internal_errors.clear()

    def add_token(self, scopes: Iterable[str] = ALL_SCOPES, *, portal_id: int | None = None) -> str:
        """A new private-app token with these scopes, for this portal (a new empty portal if the id is new)."""
        token = new_token()
        with self._lock:
            self._portal(portal_id or self.portal_id)
            self.tokens[token] = Token(portal_id or self.portal_id, frozenset(scopes))
        return token

    def revoke_token(self, token: str) -> None:
        """The token stops working, as when a private app's token is rotated."""
        with self._lock:
            self.tokens.pop(token, None)

    def seed(self, object_type: str, values: Iterable[Mapping[str, Any]]) -> list[str]:
        """Records created as the API would create them (the same checks), without counting calls; their ids."""
        with self._lock:
            return [records.store(self.portal, object_type, dict(v))["id"] for v in values]

    def limits_of(self, portal_id: int | None = None) -> Limits:
        return self.limits[portal_id or self.portal_id]

    def client(self, access_token: str | None = None, **kwargs: Any) -> Any:
        """A `hubspot.HubSpot` client pointed at the emulator (generated APIs and `api_request`)."""
        from hubspot import HubSpot

        return HubSpot(access_token=access_token or self.access_token, host=self.api_url, base_url=self.api_url,
                       **kwargs)

    def _portal(self, portal_id: int) -> Portal:
        if portal_id not in self.portals:
            burst, daily = TIERS[self.tier]
            self.portals[portal_id] = Portal(portal_id, self.clock, tier=self.tier)
            self.limits[portal_id] = Limits(self.clock, burst, daily)
        return self.portals[portal_id]

    # -- request handling (called from server threads) ---------------------------------

    def serve(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) \
            -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(raw_path)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            # The generated client repeats list parameters (`properties=a&properties=b`); others join them by commas.
            query[key] = f"{query[key]},{value}" if key in query else value
        for route in self.routes:
            params = route.match(method, parts.path)
            if params is not None:
                break
        else:
            self._record(f"{method} (unknown)")
            return _reply(404, ApiError(404, "OBJECT_NOT_FOUND", f"No route for {method} {parts.path}").body())
        self._record(route.operation)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            try:
                return self._answer(route, params, query, headers, body)
            except Exception:   # the emulator's own bug: report it, never echo the request
                self.internal_errors.append(traceback.format_exc())
                return _reply(500, ApiError(500, "INTERNAL_ERROR", "An internal error occurred").body())

    def _answer(self, route: Route, params: dict[str, str], query: dict[str, str], headers: Mapping[str, str],
                body: bytes) -> tuple[int, bytes, dict[str, str]]:
        token = self.tokens.get(_bearer(headers) or "")
        if token is None:
            return _reply(401, _unauthenticated(_bearer(headers)).body())
        fault = self.faults.take(route.operation, route.write)
        if fault is not None:
            return _fault_reply(fault)
        limits = self.limits[token.portal_id]
        policy = limits.take(route.search)
        if policy is not None:
            return _reply(429, rate_limit_body(policy), {} if route.search else limits.headers())
        extra = {} if route.search else limits.headers()
        try:
            request = self._request(route, params, query, token, body)
            status, payload = route.handler(request)
        except ApiError as error:
            return _reply(error.status, error.body(), extra)
        return _reply(status, payload, extra)

    def _request(self, route: Route, params: dict[str, str], query: dict[str, str], token: Token,
                 body: bytes) -> Request:
        object_type = params.get("objectType", params.get("fromObjectType"))   # an association's: its source's
        if object_type is not None and object_type not in route.types:
            raise invalid(f"Unable to infer object type from: {object_type}", field="objectType")
        missing = _missing_scopes(route, object_type, token.scopes)
        if missing:
            raise ApiError(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this "
                           "call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                           errors=[{"message": "One or more of the following scopes are required.",
                                    "context": {"requiredGranularScopes": missing}}],
                           links={"scopes": "https://developers.hubspot.com/scopes"})
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            raise invalid("Invalid input JSON: the body is not JSON", code="INVALID_JSON") from None
        return Request(self.portals[token.portal_id], params, query, parsed)

    def _record(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.call_log.append(operation)

    # -- account and token endpoints ----------------------------------------------------

    def account_details(self, req: Request) -> Reply:
        """GET /account-info/v3/details (developers.hubspot.com/docs/api-reference/latest/account/
        account-information/get-account-details: every field below is `required`)."""
        return 200, {"portalId": req.portal.portal_id, "accountType": "STANDARD", "timeZone": "UTC",
                     "companyCurrency": "USD", "additionalCurrencies": [], "utcOffset": "+00:00",
                     "utcOffsetMilliseconds": 0, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"}

    def daily_usage(self, req: Request) -> Reply:
        """GET /account-info/v3/api-usage/daily/private-apps (the account information guide)."""
        limits = self.limits[req.portal.portal_id]
        now = self.clock()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return 200, [{"name": "api-calls-daily", "usageLimit": limits.daily_max, "currentUsage": limits.daily_used,
                      "collectedAt": iso(now), "fetchStatus": "SUCCESS",
                      "resetsAt": iso(midnight + timedelta(days=1))}]

    def owners(self, req: Request) -> Reply:
        """GET /crm/v3/owners/ (the owners spec's path; the owners guide: each owner's id — what hubspot_owner_id
        holds —, email, name and userId — what a property version's updatedByUserId holds); `limit` (default 100)
        and `after` paging."""
        limit = records.page_limit(req.query.get("limit", "100"), OWNERS_LIMIT)
        start = records.page_start(req.query.get("after", "0"))
        owners = [o for o in req.portal.owners if o["archived"] == req.flag("archived")]
        reply: dict[str, Any] = {"results": owners[start:start + limit]}
        if start + limit < len(owners):
            reply["paging"] = {"next": {"after": str(start + limit)}}
        return 200, reply

    def token_info(self, req: Request) -> Reply:
        """POST /oauth/v2/private-apps/get/access-token-info {"tokenKey": ...} → {userId, hubId, appId, scopes}
        (developers.hubspot.com/docs/api/private-apps). HubSpot lets NA tokens call it without the header:
        UNVERIFIED for every region, so the Bearer header is required here (stricter)."""
        key = req.json_object().get("tokenKey")
        if not key:
            raise invalid("tokenKey is required", field="tokenKey", code="REQUIRED_FIELD")
        token = self.tokens.get(key)
        if token is None:
            # UNVERIFIED: the status HubSpot answers an unknown tokenKey with.
            raise _unauthenticated(key)
        return 200, {"userId": USER_ID, "hubId": token.portal_id, "appId": APP_ID, "scopes": sorted(token.scopes)}


def new_token() -> str:
    """A private-app token in HubSpot's shape (`pat-na1-` and a UUID)."""
    return f"pat-na1-{uuid.uuid4()}"


def _missing_scopes(route: Route, object_type: str | None, granted: frozenset[str]) -> list[str]:
    """The scopes any one of which the route needs, if the token has none of them (else []).

    From HubSpot's OpenAPI specs (PublicApiSpecs/CRM/{Properties,Pipelines,Deals,...}/v3): schema reads accept
    crm.schemas.T.read or crm.objects.T.read/write; schema writes crm.schemas.T.write; record reads
    crm.objects.T.read; record writes crm.objects.T.write; tickets pipelines `tickets` too."""
    if route.scope is None:
        return []
    if route.scope in ("oauth", "crm.objects.owners.read"):
        accepted = [route.scope]
    elif object_type == "tasks":   # the tasks guide: "crm.objects.contacts.read, crm.objects.contacts.write"
        accepted = ["crm.objects.contacts.read", "crm.objects.contacts.write"] if route.scope == "objects.read" \
            else ["crm.objects.contacts.write"]
    else:
        kind, access = route.scope.split(".")
        accepted = [f"crm.{kind}.{object_type}.{access}"]
        if route.scope == "schemas.read":
            accepted += [f"crm.objects.{object_type}.read", f"crm.objects.{object_type}.write"]
        if object_type == "tickets":
            accepted.append("tickets")
    return [] if granted & set(accepted) else accepted


def _unauthenticated(token: str | None) -> ApiError:
    if not token:
        # HubSpot's wording for a call without credentials.
        return ApiError(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports "
                        "OAuth 2.0 authentication and you can find more details at "
                        "https://developers.hubspot.com/docs/methods/auth/oauth-overview")
    return ApiError(401, "INVALID_AUTHENTICATION", "The access token is not valid for any account. Check the "
                    "private app's access token.")


def _fault_reply(fault: Fault) -> tuple[int, bytes, dict[str, str]]:
    if fault.kind == "rate_limit":
        return _reply(429, rate_limit_body(fault.policy))
    if fault.kind == "expired_token":
        # UNVERIFIED: the category an expired or rotated token gets (EXPIRED_AUTHENTICATION is OAuth's).
        return _reply(401, ApiError(401, "EXPIRED_AUTHENTICATION", "The access token used to make this call has "
                                    "expired.").body())
    # UNVERIFIED: the body of a 5xx (HubSpot documents the statuses, not their bodies).
    return _reply(fault.status, ApiError(fault.status, "INTERNAL_ERROR", "The service is temporarily unavailable. "
                                         "Try again later.").body())


def _reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) \
        -> tuple[int, bytes, dict[str, str]]:
    if payload is None:
        return status, b"", dict(headers or {})
    return status, json.dumps(payload).encode(), {"Content-Type": JSON_TYPE, **(headers or {})}


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    return value[len("Bearer "):].strip() if value.startswith("Bearer ") else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubSpotEmulator/1.0"
    emulator: HubSpotEmulator

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.title(): v for k, v in self.headers.items()}
        status, payload, reply_headers = self.emulator.serve(self.command, self.path, headers, body)
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.emulator.quiet:
            # Request line and status only: headers (and so tokens) are never logged.
            super().log_message(format, *args)


def _routes(emulator: HubSpotEmulator) -> list[Route]:
    props, pipes, objs = "/crm/v3/properties/{objectType}", "/crm/v3/pipelines/{objectType}", \
        "/crm/v3/objects/{objectType}"
    p, o, t = OBJECT_TYPES, RECORD_TYPES, PIPELINE_TYPES

    return [
        Route("GET", "/account-info/v3/details", emulator.account_details, "oauth", (), False),
        Route("GET", "/account-info/v3/api-usage/daily/private-apps", emulator.daily_usage, "oauth", (), False),
        Route("POST", "/oauth/v2/private-apps/get/access-token-info", emulator.token_info, None, (), False),
        Route("GET", "/crm/v3/owners/", emulator.owners, "crm.objects.owners.read", (), False),
        Route("GET", f"{props}/groups", properties.list_groups, "schemas.read", p, False),
        Route("POST", f"{props}/groups", properties.create_group, "schemas.write", p, True),
        Route("GET", f"{props}/groups/{{groupName}}", properties.get_group, "schemas.read", p, False),
        Route("PATCH", f"{props}/groups/{{groupName}}", properties.update_group, "schemas.write", p, True),
        Route("DELETE", f"{props}/groups/{{groupName}}", properties.archive_group, "schemas.write", p, True),
        Route("POST", f"{props}/batch/create", properties.batch_create, "schemas.write", p, True),
        Route("POST", f"{props}/batch/read", properties.batch_read, "schemas.read", p, False),
        Route("POST", f"{props}/batch/archive", properties.batch_archive, "schemas.write", p, True),
        Route("GET", props, properties.list_properties, "schemas.read", p, False),
        Route("POST", props, properties.create_property, "schemas.write", p, True),
        Route("GET", f"{props}/{{propertyName}}", properties.get_property, "schemas.read", p, False),
        Route("PATCH", f"{props}/{{propertyName}}", properties.update_property, "schemas.write", p, True),
        Route("DELETE", f"{props}/{{propertyName}}", properties.archive_property, "schemas.write", p, True),
        Route("GET", pipes, pipelines.list_pipelines, "schemas.read", t, False),
        Route("POST", pipes, pipelines.create_pipeline, "schemas.write", t, True),
        Route("GET", f"{pipes}/{{pipelineId}}", pipelines.get_pipeline, "schemas.read", t, False),
        Route("PATCH", f"{pipes}/{{pipelineId}}", pipelines.update_pipeline, "schemas.write", t, True),
        Route("PUT", f"{pipes}/{{pipelineId}}", pipelines.replace_pipeline, "schemas.write", t, True),
        Route("DELETE", f"{pipes}/{{pipelineId}}", pipelines.archive_pipeline, "schemas.write", t, True),
        Route("GET", f"{pipes}/{{pipelineId}}/stages", pipelines.list_stages, "schemas.read", t, False),
        Route("POST", f"{pipes}/{{pipelineId}}/stages", pipelines.create_stage, "schemas.write", t, True),
        Route("GET", f"{pipes}/{{pipelineId}}/stages/{{stageId}}", pipelines.get_stage, "schemas.read", t, False),
        Route("PATCH", f"{pipes}/{{pipelineId}}/stages/{{stageId}}", pipelines.update_stage, "schemas.write", t,
              True),
        Route("PUT", f"{pipes}/{{pipelineId}}/stages/{{stageId}}", pipelines.replace_stage, "schemas.write", t,
              True),
        Route("DELETE", f"{pipes}/{{pipelineId}}/stages/{{stageId}}", pipelines.archive_stage, "schemas.write", t,
              True),
        Route("POST", f"{objs}/search", records.search, "objects.read", o, False),
        Route("POST", f"{objs}/batch/read", records.batch_read, "objects.read", o, False),
        Route("POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", records.read_associations,
              "objects.read", o, False),
        Route("GET", objs, records.list_records, "objects.read", o, False),
        Route("POST", objs, records.create_record, "objects.write", o, True),
        Route("GET", f"{objs}/{{objectId}}", records.get_record, "objects.read", o, False),
        Route("PATCH", f"{objs}/{{objectId}}", records.update_record, "objects.write", o, True),
        Route("DELETE", f"{objs}/{{objectId}}", records.archive_record, "objects.write", o, True),
    ]
