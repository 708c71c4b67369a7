"""`PipedriveEmulator`: a strict, stateful Pipedrive API (v1 and v2 on one port) on http://127.0.0.1, in a thread.

    with PipedriveEmulator() as emulator:
        session = requests.Session()
        session.headers["x-api-token"] = emulator.api_token
        session.get(f"{emulator.api_url}/api/v2/stages", params={"pipeline_id": 1}).json()
        emulator.calls            # Counter({'GET /api/v2/stages': 1})
        emulator.tokens_spent     # 5

Plain HTTP: clients take a configurable base URL (reference/pipedrive.md §2), so no TLS is needed to reach it.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import traceback
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

from . import routes
from .account import Account
from ..serving import Served
from .errors import ApiError, bad_request, gateway
from .faults import WRITE_METHODS, Faults
from .limits import Clock, ManualClock, RateLimits, Refusal
from .paging import Request

PREFIXES = (("/api/v2", 2), ("/api/v1", 1), ("/v1", 1))
JSON = {"Content-Type": "application/json"}
QUERY_TOKEN = re.compile(r"api_token=[^&\s]*")
Answer = tuple[int, bytes, dict[str, str]]


class PipedriveEmulator(Served):
    """One primary company (`account`, `api_token`, `company_domain`) and any others added with `add_company`.

    Knobs: `limits` (daily token budget, burst window; `RateLimits`), `account.open_deals_limit` and
    `account.custom_fields_limit` (plan caps). State: `accounts`, `faults`, `calls` (per operation),
    `costs` (tokens per operation), `call_log`, `internal_errors`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
                 company_domain: str = "acme", api_token: str | None = None, quiet: bool = True, **limits: Any) -> None:
        self.host = host
        self.port = port
        self.quiet = quiet
        self.clock: Clock = clock or ManualClock()
        self.company_domain = company_domain
        self.api_token = api_token or secrets.token_hex(20)
        self._limit_settings = limits
        self.limits = RateLimits(self.clock, **limits)
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.costs: Counter[str] = Counter()
        self.call_log: list[str] = []
        self.internal_errors: list[str] = []
        self._lock = threading.RLock()
        self.reset()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> PipedriveEmulator:
        self.run_server(ThreadingHTTPServer((self.host, self.port), type("Handler", (_Handler,), {"emulator": self})),
                   "pipedrive-emulator")
        return self


    @property
    def api_url(self) -> str:
        """The base URL a client puts in front of `/v1/...` and `/api/v2/...`."""
        return f"http://{self.host}:{self.port}"

    @property
    def account(self) -> Account:
        return self._tokens[self.api_token][0]

    @property
    def tokens_spent(self) -> int:
        return sum(self.costs.values())

    def reset(self) -> None:
        """A fresh primary company, no other company, no OAuth token, no faults, no counted calls or tokens."""
        with self._lock:
            account = Account(self.clock, company_id=1, domain=self.company_domain, name="Acme Inc.")
            self._tokens: dict[str, tuple[Account, frozenset[str] | None]] = {self.api_token: (account, None)}
            self.limits = RateLimits(self.clock, **self._limit_settings)
            self.faults.clear()
            self.calls.clear()
            self.costs.clear()
            self.call_log.clear()
            self.internal_errors.clear()

    def add_company(self, domain: str) -> tuple[Account, str]:
        """Another company, with its own API token: a token "for another company" (reference §2)."""
        with self._lock:
            account = Account(self.clock, company_id=len(self._tokens) + 1, domain=domain, name=domain.title())
            token = secrets.token_hex(20)
            self._tokens[token] = (account, None)
            return account, token

    def oauth_token(self, scopes: set[str], account: Account | None = None) -> str:
        """An OAuth access token (`Authorization: Bearer`) holding only these scopes (plus `base`)."""
        token = secrets.token_hex(24)
        with self._lock:
            self._tokens[token] = (account or self.account, frozenset(scopes) | {"base"})
        return token

    def revoke(self, token: str) -> None:
        """The token stops working, as when a user regenerates it in Settings."""
        with self._lock:
            self._tokens.pop(token, None)

    # -- one request --------------------------------------------------------------------

    def serve(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        token, is_api_token = _token(headers, params)
        params.pop("api_token", None)
        version, path = _version(parts.path)
        found = routes.find(method, version, path) if version else None
        operation = found[0].operation if found else f"{method} {parts.path}"
        with self._lock:
            self.calls[operation] += 1
            self.call_log.append(operation)
            holder = self._tokens.get(token or "")
        scheduled = self.faults.take(method, operation) if holder else None
        # The gateway answers a missing or bad token, an unknown path and a wrong method alike (reference §3,
        # UNVERIFIED for paths and methods), marked `x-401-by-gw`.
        if holder is None or found is None or (scheduled and scheduled.kind == "unauthorized"):
            return 401, _json(gateway(401, "unauthorized access")), {**JSON, "x-401-by-gw": "true"}
        assert token is not None
        account, scopes = holder
        route, ids = found
        if scopes is not None and not scopes & route.scopes:
            return 403, _json(gateway(403, "Scope and URL mismatch")), JSON
        with self._lock:
            refusal: Refusal | None
            if scheduled and scheduled.kind in ("burst", "daily"):
                refusal = self.limits.refusal(daily=scheduled.kind == "daily")
            else:
                refusal = self.limits.admit(token, account.domain, route.cost,
                                            is_api_token and method in WRITE_METHODS - {"DELETE"})
            limit_headers = self.limits.headers(token, is_api_token)
            if refusal is not None:
                return 429, _json({**gateway(429, refusal.message), "data": None, "additional_data": None}), {
                    **JSON, **limit_headers, "Retry-After": str(refusal.retry_after)}
            self.costs[operation] += route.cost
            if scheduled and scheduled.kind == "server":
                return scheduled.status, _json(ApiError(scheduled.status, "Internal server error").body()), {
                    **JSON, **limit_headers}
            status, payload = self._run(account, route, Request(method, version, params, None, ids), body,
                                        headers)
        return status, payload, {**JSON, **limit_headers}

    def _run(self, account: Account, route: routes.Route, request: Request, body: bytes,
             headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            request.body = _parse_body(body, headers, request.version)
            if route.handler is None:
                return 200, _json({"success": True, "data": _me(account), "additional_data": None})
            reply = route.handler(account, request)
            return reply.status, _json({"success": True, "data": reply.data, "additional_data": reply.additional_data})
        except ApiError as error:
            return error.status, _json(error.body())
        except Exception:  # the emulator's own bug: recorded for the test, never echoed
            self.internal_errors.append(traceback.format_exc())
            return 500, _json(ApiError(500, "Internal server error").body())


def _me(account: Account) -> dict[str, Any]:
    # Fields from the SDK's GetCurrentUserResponse (v1 base-user + company_id/company_name/company_domain).
    return {**account.user, "company_id": account.company_id, "company_name": account.company_name,
            "company_domain": account.domain, "company_country": "US", "default_currency": "USD", "locale": "en_US",
            "lang": 1, "timezone_name": "UTC", "timezone_offset": "+00:00", "active_flag": True, "is_you": True,
            "is_deleted": False, "role_id": 1, "has_created_company": True}


def _token(headers: Mapping[str, str], params: dict[str, str]) -> tuple[str | None, bool]:
    """(token, whether it is an API token rather than OAuth). The SDK prefers the API token when both are sent."""
    if headers.get("x-api-token"):
        return headers["x-api-token"], True
    if params.get("api_token"):
        return params["api_token"], True
    bearer = headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        return bearer[len("Bearer "):].strip(), False
    return None, False


def _version(path: str) -> tuple[int, str]:
    for prefix, version in PREFIXES:
        if path.startswith(prefix + "/"):
            return version, path[len(prefix):].rstrip("/") or "/"
    return 0, path


def _parse_body(body: bytes, headers: Mapping[str, str], version: int) -> Any:
    if not body:
        return {}
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    if content_type == "application/x-www-form-urlencoded" and version == 1:
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if content_type != "application/json":
        raise bad_request("Content-Type must be application/json")   # UNVERIFIED wording
    try:
        return json.loads(body)
    except ValueError:
        raise bad_request("The request body is not valid JSON") from None


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PipedriveEmulator/1.0"
    emulator: PipedriveEmulator

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle and delayed ACKs add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request_headers = CaseInsensitiveDict(self.headers.items())
        status, payload, headers = self.emulator.serve(self.command, self.path, request_headers, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.emulator.quiet:
            # The request line and status only: tokens in headers are never logged; a query token is masked.
            super().log_message(format, *(QUERY_TOKEN.sub("api_token=***", str(a)) for a in args))
